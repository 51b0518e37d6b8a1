"""Thermo-optic response of a guided mode to a temperature field (thermal ⊗ mode co-simulation).

First order (the pipeline's main path).  For a mode of a waveguide with frozen (non-
dispersive) indices n(x, z) and a small index change Δn(x, z) = dn/dT(material) · ΔT(x, z),

    Δn_eff = n_g ∫ n Δn |E|² dA / ∫ n² |E|² dA,

from Δβ = ω ∫ Δε |E|² dA / (4 P) with P = v_g · ½∫ ε|E|² dA (electric = magnetic energy
for a guided mode at fixed ω).  The n_g here is the group index at *frozen* material
indices (≈ 4.05 for a 500×220 nm strip, not the dispersive 4.18): ``½∫ε|E|²`` is the
energy without the material-dispersion term.  Pass the mode of a frozen cross-section
(``CrossSection.at(λ)``) to :func:`thermo_optic_kernel`; the tests confirm that this n_g
matches a re-solved mode and the dispersive one overestimates by ~3 %.

Discretization.  Each field sample is the centre of a pixel bounded by the midpoints to
its neighbours; every material's area fraction in the pixel is exact (rectangles), so
n², n dn/dT are pixel averages and core faces are not staircased.  ΔT (smooth) is taken
at the pixel centre.

Cross-check (independent path).  :func:`resolve_heated` re-solves the mode on the heated
index map with Tidy3D's *local* mode solver: every material region is a
``td.CustomMedium`` whose permittivity (n_m + dn/dT_m ΔT)² is sampled from the temperature
field, on the same grid as a cold solve; Δn_eff = n_eff(hot) − n_eff(cold) on one grid.

Frames: the mode solver's (x, z) equals the thermal solver's (x, y) with the same origin
(z = 0 at the BOX top / core bottom); all lengths µm, temperatures K.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import xarray as xr

from pipeline.errors import SolverError, SpecError
from pipeline.materials import T_REF, Material
from pipeline.modes.cross_section import CrossSection
from pipeline.solver_process import run_task, separate_interpreter
from pipeline.specs import SolverSpec, quantity

#: A temperature field: ΔT [K] at points (x, z) [µm] (e.g. ``ThermalSolution.interpolate``).
TemperatureField = Callable[[np.ndarray, np.ndarray], np.ndarray]


class ThermoOpticSolverSpec(SolverSpec):
    """Settings of the thermal (scikit-fem) + mode (MPB / Tidy3D) co-simulation."""

    solver: ClassVar[str] = "thermo_optic"
    #: bump when this backend's numerics change (see SolverSpec.numerics_versions)
    numerics_versions: ClassVar[dict[str, int]] = {"skfem-thermal": 1, "mpb-modes": 1, "tidy3d-modes": 1}
    version_packages: ClassVar[tuple[str, ...]] = ("scikit-fem", "meep", "tidy3d", "numpy", "scipy")

    thermal_max_cell: float = quantity(0.05, "um", "largest FEM cell inside the heater/core region", gt=0, le=2.0)
    thermal_growth: float = quantity(1.2, "1", "geometric growth of FEM cells away from it", gt=1.0, le=2.0)
    lateral_extent: float = quantity(500.0, "um", "adiabatic side walls this far beyond the outermost heater",
                                     gt=10.0, le=5000.0)
    mode_solver: Literal["mpb", "tidy3d"] = quantity("mpb", "1", "mode solver of the first-order path")
    mode_resolution: float = quantity(48.0, "1/um", "mode-solver resolution (px/um)", ge=8, le=256)
    mode_margin: float = quantity(1.0, "um", "cladding around the core in the mode window (x and z)", gt=0.3, le=4)
    check_resolution: float = quantity(40.0, "1/um", "Tidy3D resolution of the heated re-solve check", ge=8, le=256)


def cell_edges(c: np.ndarray) -> np.ndarray:
    """Pixel edges [µm] around sample positions ``c`` (midpoints; end pixels symmetric)."""
    c = np.asarray(c, dtype=float)
    if c.size < 2:
        raise SpecError(f"need at least two grid points, got {c.size}.")
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _overlap(edges: np.ndarray, a: float, b: float) -> np.ndarray:
    """Fraction of each pixel [edges[i], edges[i+1]] inside [a, b]."""
    lo, hi = edges[:-1], edges[1:]
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / (hi - lo)


def material_fractions(cs: CrossSection, x: np.ndarray, z: np.ndarray) -> list[tuple[Material, np.ndarray]]:
    """``[(material, area fraction (x, z))]`` of every region of ``cs`` in each pixel (sum = 1)."""
    xe, ze = cell_edges(x), cell_edges(z)
    out: list[tuple[Material, np.ndarray]] = []
    core_total = np.zeros((len(x), len(z)))
    core_below = np.zeros_like(core_total)
    for c in cs.cores:
        fx = _overlap(xe, *c.x_span)
        frac = np.outer(fx, _overlap(ze, *c.z_span))
        core_below += np.outer(fx, _overlap(ze, c.z_span[0], min(c.z_span[1], 0.0)))
        core_total += frac
        out.append((c.material, frac))
    rest = 1.0 - core_total
    if cs.substrate is not None:
        sub = np.outer(np.ones(len(x)), _overlap(ze, -np.inf, 0.0)) - core_below
        out.append((cs.substrate, sub))
        rest = rest - sub
    out.append((cs.cladding, rest))
    return out


@dataclass(frozen=True)
class ThermoOpticKernel:
    """Δn_eff = Σ weight · ΔT over the mode grid (first order); ``weight`` in 1/K."""

    wavelength: float  # µm
    neff: float
    ng: float  # group index at frozen material indices
    x: np.ndarray  # µm
    z: np.ndarray  # µm
    weight: np.ndarray  # (x, z) 1/K
    intensity: np.ndarray  # |E|² (x, z), arbitrary scale
    energy_density: np.ndarray  # pixel area × n² |E|², normalised to sum 1

    def dneff(self, delta_T: np.ndarray) -> np.ndarray:
        """First-order Δn_eff for ΔT [K] on the grid (last two axes x, z; leading axes kept)."""
        return np.einsum("...ij,ij->...", np.asarray(delta_T, dtype=float), self.weight)

    @property
    def dneff_dT_uniform(self) -> float:
        """dn_eff/dT [1/K] for a uniform temperature rise."""
        return float(self.weight.sum())

    def energy_fraction_above(self, z0: float, n_clad: float) -> float:
        """Fraction of ∫ n²|E|² dA above the plane z = z0 [µm] (z0 may lie beyond the grid:
        the evanescent tail is extended as exp(−2γ z), γ = k0 √(n_eff² − n_clad²), from the
        row half-way between the core top and the window edge)."""
        k0 = 2 * np.pi / self.wavelength
        gamma = k0 * np.sqrt(max(self.neff**2 - n_clad**2, 0.0))
        rows = self.energy_density.sum(axis=0)
        if z0 <= self.z[-1]:
            return float(rows[self.z >= z0].sum())
        top = int(np.argmax(rows)) + (len(self.z) - int(np.argmax(rows))) // 2
        dz = float(np.mean(np.diff(self.z)))
        # Σ rows above z_ref, continued analytically beyond z0
        return float(rows[top] / dz * np.exp(-2 * gamma * (z0 - self.z[top])) / (2 * gamma))


def thermo_optic_kernel(cs: CrossSection, modes: xr.Dataset, *, wavelength_index: int = 0, mode: int = 0,
                        temperature_K: float = T_REF) -> ThermoOpticKernel:
    """The first-order kernel of mode ``mode`` of ``modes`` (from ``solve_modes(...,
    fields=True)`` of the frozen cross-section ``cs.at(λ)``), with dn/dT and indices of the
    materials of ``cs`` at λ and ``temperature_K`` [K]."""
    if "Ex" not in modes:
        raise SpecError("modes has no fields. Fix: solve_modes(..., fields=True).")
    sel = modes.isel(wavelength=wavelength_index, mode=mode)
    lam, neff, ng = float(sel.wavelength), float(sel.neff), float(sel.ng)
    if not (np.isfinite(neff) and np.isfinite(ng)):
        raise SolverError(f"mode {mode} at {lam} um is not guided (n_eff = {neff}, n_g = {ng}).")
    x, z = np.asarray(modes.x.values, float), np.asarray(modes.z.values, float)
    inten = sum(np.abs(np.asarray(sel[c].values)) ** 2 for c in ("Ex", "Ey", "Ez"))
    area = np.outer(np.diff(cell_edges(x)), np.diff(cell_edges(z)))
    n2 = np.zeros_like(inten)
    ndn = np.zeros_like(inten)
    for mat, frac in material_fractions(cs, x, z):
        n = float(mat.index(lam, temperature_K))
        n2 += frac * n * n
        ndn += frac * n * mat.dn_dT
    den = float(np.sum(area * n2 * inten))
    return ThermoOpticKernel(wavelength=lam, neff=neff, ng=ng, x=x, z=z, weight=ng * area * ndn * inten / den,
                             intensity=inten, energy_density=area * n2 * inten / den)


def sample(field: TemperatureField, x: np.ndarray, z: np.ndarray, offsets: Sequence[float] = (0.0,)) -> np.ndarray:
    """ΔT [K] on the grid (x, z) shifted by each lateral offset: shape (offset, x, z).

    ``offsets[k]`` = d evaluates ΔT at (x + d, z), i.e. for a waveguide centred at x = d."""
    xx, zz = np.meshgrid(np.asarray(x, float), np.asarray(z, float), indexing="ij")
    d = np.asarray(offsets, dtype=float)[:, None, None]
    vals = np.asarray(field((xx[None] + d).ravel(), np.broadcast_to(zz[None], (d.shape[0],) + zz.shape).ravel()))
    vals = vals.reshape((d.shape[0],) + xx.shape)
    if not np.all(np.isfinite(vals)):
        raise SolverError("temperature field is undefined on part of the mode grid. "
                          "Fix: enlarge the thermal domain so that it covers the mode window.")
    return vals


def resolve_heated(cs: CrossSection, wavelength: float, field: TemperatureField, *, scales: Sequence[float] = (1.0,),
                   resolution: float = 40.0, margin: float = 1.0, temperature_K: float = T_REF) -> dict[str, object]:
    """Re-solve the fundamental mode on the heated index map (Tidy3D local solver).

    Returns ``{"neff_cold", "dneff" (one per scale of ΔT), "grid_points"}``: Δn_eff =
    n_eff(n_m + dn/dT_m · s · ΔT) − n_eff(n_m) on one grid (see module doc)."""
    from pipeline.modes.tidy3d_backend import heated_neffs, quarter_offset_nodes

    x0, x1, z0, z1 = cs.bounds()
    xb = [x0 - margin, x1 + margin] + [e for c in cs.cores for e in c.x_span]
    zb = [z0 - margin, z1 + margin] + [e for c in cs.cores for e in c.z_span]
    if cs.substrate is not None and z0 - margin < 0 < z1 + margin:
        zb.append(0.0)
    nx, nz = quarter_offset_nodes(xb, resolution), quarter_offset_nodes(zb, resolution)
    xs = np.unique(np.concatenate([nx, 0.5 * (nx[1:] + nx[:-1]), xb]))
    zs = np.unique(np.concatenate([nz, 0.5 * (nz[1:] + nz[:-1]), zb]))
    dT = sample(field, xs, zs)[0]
    grids = {"nx": nx, "nz": nz, "xs": xs, "zs": zs, "dT": dT}
    scales = [0.0] + [float(s) for s in scales]
    if separate_interpreter():
        task = {"kind": "heated_modes", "cross_section": cs.model_dump(mode="json"), "wavelength": float(wavelength),
                "scales": scales, "temperature_K": float(temperature_K),
                **{k: np.asarray(v).tolist() for k, v in grids.items()}}
        neffs = np.asarray(run_task(task, label="Tidy3D heated mode re-solve")["neff"])
    else:
        neffs = heated_neffs(cs, float(wavelength), scales=scales, temperature_K=float(temperature_K), **grids)
    return {"neff_cold": float(neffs[0]), "dneff": neffs[1:] - neffs[0], "grid_points": (len(nx), len(nz))}

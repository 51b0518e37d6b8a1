"""Coupled waveguides: supermodes, coupling length, and the classical effective-index method.

Coupling length (full vectorial).  The two TE-like supermodes of a coupled pair
(te_fraction > 0.5, highest n_eff: even and odd) give L_c = λ / (2 Δn),
Δn = n_even − n_odd: the length for complete power transfer between identical guides.

Effective index method (EIM, classical).  Each core's vertical slab (substrate | core |
cladding) is solved for its fundamental slab-TE mode (E along x, parallel to the
layers) giving n_slab; the cross-section collapses to a lateral 1D profile n(x) = n_slab
in the cores, the background index elsewhere.  That profile is what a 2D FDTD uses
(in-plane E, H_z: TM of the lateral slab problem); its supermodes give the 2D coupling
length.  The classical EIM overestimates coupling (L_c too short, ~35 % at 200 nm gap
for 500×220 nm Si): compare with :func:`converged_coupling_length`.

Slab modes are found exactly: a 2×2 transfer matrix of (ψ, ψ'/p), p = 1 (TE) or n² (TM),
from the decaying left cladding to the right one; roots bracketed on a fine n_eff scan
and polished with Brent's method.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Sequence

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from pipeline.errors import SolverError, SpecError
from pipeline.materials import T_REF
from pipeline.modes.cross_section import CrossSection, coupled_strips
from pipeline.modes.solver import DEFAULT_MARGIN, solve_modes

#: Settings of :func:`converged_coupling_length` (see benchmarks/results/mode_convergence.txt).
CONVERGED_RESOLUTIONS = (64, 96)
CONVERGED_MARGIN = (1.5, 1.0)


def _slab_residual(neff: np.ndarray, indices: Sequence[float], thicknesses: Sequence[float],
                   k0: float, pol: str) -> np.ndarray:
    n = np.asarray(indices, dtype=float)
    p = np.ones_like(n) if pol == "TE" else n**2
    beta2 = (k0 * neff) ** 2
    g_left = np.sqrt(beta2 - (k0 * n[0]) ** 2)
    g_right = np.sqrt(beta2 - (k0 * n[-1]) ** 2)
    psi = np.ones_like(neff, dtype=complex)
    phi = (g_left / p[0]).astype(complex)
    for ni, pi, d in zip(n[1:-1], p[1:-1], thicknesses):
        kap = np.sqrt((k0 * ni) ** 2 - beta2 + 0j)
        c, sn = np.cos(kap * d), np.sin(kap * d)
        s = np.where(np.abs(kap) > 1e-12, sn / np.where(kap == 0, 1, kap), d)
        psi, phi = c * psi + pi * s * phi, (-kap * sn / pi) * psi + c * phi
        scale = np.maximum(np.abs(psi), np.abs(phi))
        psi, phi = psi / scale, phi / scale
    return np.real(phi + g_right / p[-1] * psi)


def slab_modes(indices: Sequence[float], thicknesses: Sequence[float], wavelength: float,
               pol: Literal["TE", "TM"] = "TE", scan: int = 20000) -> np.ndarray:
    """Guided-mode effective indices (descending) of a 1D multilayer slab.

    ``indices`` = [left cladding, layer 1, …, layer k, right cladding], ``thicknesses``
    [µm] of the k inner layers, ``wavelength`` [µm].  TE: E parallel to the layers."""
    if pol not in ("TE", "TM"):
        raise SpecError(f"pol = {pol!r}: must be 'TE' or 'TM'.")
    if len(indices) != len(thicknesses) + 2 or min(thicknesses, default=1) <= 0:
        raise SpecError(f"thicknesses = {list(thicknesses)!r}: need len(indices) - 2 = "
                        f"{len(indices) - 2} values > 0 um.")
    k0 = 2 * np.pi / wavelength
    lo, hi = max(indices[0], indices[-1]), max(indices)
    if hi <= lo:
        return np.array([])
    grid = np.linspace(lo, hi, scan)[1:-1] if scan > 2 else np.array([])
    f = _slab_residual(grid, indices, thicknesses, k0, pol)
    roots = []
    for i in np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) < 0)[0]:
        fun = lambda x: float(_slab_residual(np.array([x]), indices, thicknesses, k0, pol)[0])  # noqa: E731
        roots.append(brentq(fun, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-14))
    return np.sort(np.array(roots))[::-1]


@dataclass(frozen=True)
class EIMProfile:
    """Lateral index profile of the classical EIM at one wavelength [µm]:
    ``n(x) = core_indices[i]`` for ``x_spans[i][0] < x < x_spans[i][1]``, else ``n_background``."""

    wavelength: float
    x_spans: tuple[tuple[float, float], ...]
    core_indices: tuple[float, ...]
    n_background: float

    def index(self, x: np.ndarray) -> np.ndarray:
        """n(x) [1] at positions x [µm]."""
        x = np.asarray(x, dtype=float)
        out = np.full(x.shape, self.n_background)
        for (a, b), n in zip(self.x_spans, self.core_indices):
            out[(x > a) & (x < b)] = n
        return out

    def lateral_modes(self, pol: Literal["TE", "TM"] = "TM") -> np.ndarray:
        """2D effective indices (descending) of the lateral slab problem; TM = in-plane E
        (the 2D FDTD TE/H_z polarization of TE-like 3D modes)."""
        order = np.argsort([a for a, _ in self.x_spans])
        spans = [self.x_spans[i] for i in order]
        idx, th = [self.n_background], []
        for j, i in enumerate(order):
            a, b = spans[j]
            if j > 0:
                idx.append(self.n_background)
                th.append(a - spans[j - 1][1])
            idx.append(self.core_indices[i])
            th.append(b - a)
        idx.append(self.n_background)
        return slab_modes(idx, th, self.wavelength, pol)


def eim_profile(cross_section: CrossSection, wavelength: float, temperature_K: float = T_REF) -> EIMProfile:
    """Classical EIM: each core's vertical slab (fundamental slab-TE mode) → lateral profile."""
    cs = cross_section.at(wavelength, temperature_K)
    below = cs.substrate if cs.substrate is not None else cs.cladding
    n_bg = cs.background_index(wavelength)
    n_cores = []
    for i, c in enumerate(cs.cores):
        n_lo = below.n if c.z_bottom <= 0 else cs.cladding.n
        modes = slab_modes([n_lo, c.material.n, cs.cladding.n], [c.thickness], wavelength, "TE")
        if modes.size == 0:
            raise SolverError(f"EIM: the vertical slab of cores[{i}] (thickness {c.thickness} um) "
                              f"guides no mode at {wavelength} um.")
        n_cores.append(float(modes[0]))
    return EIMProfile(wavelength=float(wavelength), x_spans=tuple(c.x_span for c in cs.cores),
                      core_indices=tuple(n_cores), n_background=n_bg)


def eim_coupling_length(width: float = 0.5, thickness: float = 0.22, gap: float = 0.2,
                        wavelength: float = 1.55, **strip_kw) -> float:
    """2D coupling length [µm] of a symmetric coupler from the classical EIM profile."""
    prof = eim_profile(coupled_strips(width, thickness, gap, **strip_kw), wavelength)
    n = prof.lateral_modes("TM")
    if n.size < 2:
        raise SolverError(f"EIM: fewer than two lateral supermodes at gap {gap} um.")
    return wavelength / (2 * (n[0] - n[1]))


def pick_te_pair(neff: np.ndarray, te_fraction: np.ndarray) -> tuple[float, float]:
    """(n_even, n_odd): the two highest-n_eff modes with te_fraction > 0.5 (no symmetry
    check: for asymmetric pairs, whose supermodes are neither even nor odd)."""
    ok = np.nonzero((te_fraction > 0.5) & np.isfinite(neff))[0]
    if ok.size < 2:
        raise SolverError(f"need two TE-like supermodes, found {ok.size} "
                          f"(n_eff {np.round(neff, 5).tolist()}, te_fraction {np.round(te_fraction, 3).tolist()}). "
                          "Fix: raise num_modes or the resolution.")
    sel = ok[np.argsort(-neff[ok])[:2]]
    return float(neff[sel[0]]), float(neff[sel[1]])


def mirror_plane(cross_section: CrossSection) -> float | None:
    """x [µm] of the vertical mirror plane of a pair of identical cores side by side, or
    None if the cross-section has no such symmetry."""
    cores = sorted(cross_section.cores, key=lambda c: c.x_center)
    if len(cores) != 2:
        return None
    a, b = cores
    same = (abs(a.width - b.width) < 1e-9 and abs(a.thickness - b.thickness) < 1e-9
            and abs(a.z_bottom - b.z_bottom) < 1e-9 and a.material == b.material)
    return 0.5 * (a.x_span[0] + b.x_span[1]) if same else None


def mirror_parity(ex: np.ndarray, x: np.ndarray, x_mirror: float) -> np.ndarray:
    """Parity of each mode's E_x under x → 2·x_mirror − x: Re ∫E_x E_x*(mirrored) / ∫|E_x|²,
    +1 for an even (symmetric) supermode, −1 for an odd one. ``ex``: (mode, x, z) on grid ``x`` [µm]."""
    ex = np.asarray(ex)
    xm = 2 * x_mirror - np.asarray(x, dtype=float)
    out = np.full(ex.shape[0], np.nan)
    for m, e in enumerate(ex):
        if not np.all(np.isfinite(e)):
            continue
        interp = lambda part: np.stack([np.interp(xm, x, col, left=0.0, right=0.0) for col in part.T], axis=1)  # noqa: E731
        mirrored = interp(e.real) + 1j * interp(e.imag)
        norm = np.sum(np.abs(e) ** 2)
        out[m] = float(np.real(np.sum(e * np.conj(mirrored))) / norm) if norm > 0 else np.nan
    return out


def pick_supermodes(neff: np.ndarray, te_fraction: np.ndarray, parity: np.ndarray,
                    min_parity: float = 0.9) -> tuple[float, float]:
    """(n_even, n_odd) of a symmetric pair: the highest-n_eff TE-like mode whose E_x is even
    (parity > ``min_parity``) and the highest TE-like one whose E_x is odd (< −``min_parity``).

    Classifying by symmetry rather than by rank catches a solve that returned the same
    supermode twice or missed one (Δn then comes out orders of magnitude off)."""
    te_like = (te_fraction > 0.5) & np.isfinite(neff) & np.isfinite(parity)
    found = {}
    for name, sel in (("even", te_like & (parity > min_parity)), ("odd", te_like & (parity < -min_parity))):
        idx = np.nonzero(sel)[0]
        if idx.size == 0:
            raise SolverError(
                f"no {name} TE-like supermode among the solved modes (n_eff {np.round(neff, 5).tolist()}, "
                f"te_fraction {np.round(te_fraction, 3).tolist()}, mirror parity {np.round(parity, 3).tolist()}). "
                "Fix: raise num_modes or the resolution.")
        found[name] = float(neff[idx[np.argmax(neff[idx])]])
    return found["even"], found["odd"]


def supermode_indices(ds: xr.Dataset, cross_section: CrossSection) -> tuple[float, float]:
    """(n_even, n_odd) at the first wavelength of a :func:`solve_modes` result: by mirror
    symmetry (needs ``fields=True``) for a symmetric pair, else by rank (:func:`pick_te_pair`)."""
    neff, te = ds.neff.values[0], ds.te_fraction.values[0]
    plane = mirror_plane(cross_section)
    if plane is None or "Ex" not in ds:
        return pick_te_pair(neff, te)
    parity = mirror_parity(ds.Ex.values[0], ds.x.values, plane)
    return pick_supermodes(neff, te, parity)


def coupling_length(cross_section: CrossSection, wavelength: float = 1.55, *, solver: str = "mpb",
                    resolution: float | None = None, num_modes: int = 4,
                    margin: tuple[float, float] = DEFAULT_MARGIN,
                    temperature_K: float = T_REF, attempts: int = 2) -> dict[str, float]:
    """Full-vectorial coupling length of a two-core cross-section at ``wavelength`` [µm].

    For a symmetric pair the supermodes are told apart by their mirror symmetry
    (:func:`pick_supermodes`); if a solve does not return one even and one odd TE-like
    supermode it is repeated with two more modes (``attempts`` solves in all) before
    :class:`SolverError` is raised.
    Returns {"n_even", "n_odd", "delta_n", "coupling_length_um"}."""
    symmetric = mirror_plane(cross_section) is not None
    for attempt in range(attempts):
        ds = solve_modes(cross_section, wavelength, num_modes=num_modes + 2 * attempt, solver=solver,
                         resolution=resolution, margin=margin, temperature_K=temperature_K,
                         group_index=False, fields=symmetric)
        try:
            n_e, n_o = supermode_indices(ds, cross_section)
            break
        except SolverError:
            if attempt == attempts - 1:
                raise
    return {"n_even": n_e, "n_odd": n_o, "delta_n": n_e - n_o,
            "coupling_length_um": wavelength / (2 * (n_e - n_o))}


def converged_coupling_length(width: float = 0.5, thickness: float = 0.22, gap: float = 0.2,
                              wavelength: float = 1.55, *,
                              resolutions: tuple[int, int] = CONVERGED_RESOLUTIONS,
                              order: float = 2.0) -> dict[str, float]:
    """Converged L_c [µm] of a symmetric Si-in-SiO2 strip coupler (MPB, subpixel averaging).

    Δn is solved at two resolutions r1 < r2 [px/µm] and Richardson-extrapolated
    assuming error ∝ r^-``order`` (MPB on geometry-aligned grids converges at second
    order); ``error_estimate`` = |L_c(extrapolated) − L_c(r2)| / L_c.  Measured for
    500×220 nm at 1.55 µm (benchmarks/results/mode_convergence.txt): the defaults agree
    with the 96/128 px/µm extrapolation within 0.13 % for gaps 0.20–0.30 µm (estimate
    ≤ 0.22 %); ~22 s per call on one core, cached per argument set.
    Returns {"coupling_length_um", "delta_n", "error_estimate", "coupling_length_r2_um"}."""
    return dict(_converged(float(width), float(thickness), float(gap), float(wavelength),
                           tuple(resolutions), float(order)))


@lru_cache(maxsize=256)
def _converged(width: float, thickness: float, gap: float, wavelength: float,
               resolutions: tuple[int, int], order: float) -> dict[str, float]:
    cs = coupled_strips(width, thickness, gap)
    r1, r2 = resolutions
    d1 = coupling_length(cs, wavelength, resolution=r1, margin=CONVERGED_MARGIN)["delta_n"]
    d2 = coupling_length(cs, wavelength, resolution=r2, margin=CONVERGED_MARGIN)["delta_n"]
    w = (r2 / r1) ** order
    dn = (w * d2 - d1) / (w - 1)
    lc = wavelength / (2 * dn)
    lc2 = wavelength / (2 * d2)
    return {"coupling_length_um": lc, "delta_n": dn, "error_estimate": abs(lc - lc2) / lc,
            "coupling_length_r2_um": lc2}

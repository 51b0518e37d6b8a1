"""Tidy3D backend: the *local* finite-difference mode solver
(``tidy3d.plugins.mode.ModeSolver(...).solve()``; never the cloud).

Tidy3D's local solver has no subpixel averaging, so the grid is built here to be
geometry-aligned: along x and z every core edge and the substrate top are grid lines,
and each interval between them is split into equal steps of at most 1/``resolution`` µm.
The grid does not depend on the wavelength, so finite differences in λ (group index)
see the same discretization.  The window is bounded by PEC walls ``margin`` µm beyond
the cores.  TE fraction: Tidy3D's ``pol_fraction.te`` (∫|E_x|² / ∫(|E_x|²+|E_z|²)
with the grid's area weights; plane normal y).
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from pipeline.modes.cross_section import CrossSection
from pipeline.modes.solver import RawModes, quiet

C0_UM_PER_S = 299792458.0e6


def _import():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with quiet():
            import tidy3d as td
            from tidy3d.plugins.mode import ModeSolver
    td.config.logging_level = "ERROR"
    logging.getLogger("tidy3d").setLevel(logging.ERROR)
    return td, ModeSolver


def aligned_steps(breaks: list[float], resolution: float) -> np.ndarray:
    """Grid steps [µm] covering sorted ``breaks`` with a grid line on every break point."""
    pts = sorted(set(round(b, 9) for b in breaks))
    steps: list[float] = []
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, math.ceil(round((b - a) * resolution, 6)))
        steps.extend([(b - a) / n] * n)
    return np.asarray(steps)


def solve(cs: CrossSection, wavelength: float, *, num_modes: int, resolution: float,
          margin: tuple[float, float], grid_wavelength: float, fields: bool = False) -> RawModes:
    """Solve one wavelength [µm] of a constant-index cross-section (see module doc)."""
    td, ModeSolver = _import()
    x0, x1, z0, z1 = cs.bounds()
    xa, xb, za, zb = x0 - margin[0], x1 + margin[0], z0 - margin[1], z1 + margin[1]
    xbreaks = [xa, xb] + [e for c in cs.cores for e in c.x_span]
    zbreaks = [za, zb] + [e for c in cs.cores for e in c.z_span]
    if cs.substrate is not None and za < 0 < zb:
        zbreaks.append(0.0)
    dx, dz = aligned_steps(xbreaks, resolution), aligned_steps(zbreaks, resolution)
    center = (0.5 * (xa + xb), 0.0, 0.5 * (za + zb))
    size = (xb - xa, 1.0, zb - za)
    structures = []
    if cs.substrate is not None:
        depth = 2.0 * (size[2] + abs(center[2])) + 1.0
        structures.append(td.Structure(geometry=td.Box(center=(0, 0, -0.5 * depth), size=(td.inf, td.inf, depth)),
                                       medium=td.Medium(permittivity=cs.substrate.n**2)))
    for c in cs.cores:
        structures.append(td.Structure(
            geometry=td.Box(center=(c.x_center, 0, c.z_bottom + 0.5 * c.thickness), size=(c.width, td.inf, c.thickness)),
            medium=td.Medium(permittivity=c.material.n**2)))
    grid = td.GridSpec(grid_x=td.CustomGrid(dl=tuple(dx)), grid_y=td.UniformGrid(dl=0.1),
                       grid_z=td.CustomGrid(dl=tuple(dz)))
    with quiet():
        sim = td.Simulation(center=center, size=size, grid_spec=grid, structures=structures,
                            medium=td.Medium(permittivity=cs.cladding.n**2), run_time=1e-12)
        spec = td.ModeSpec(num_modes=num_modes, target_neff=cs.max_index(wavelength), precision="double")
        solver = ModeSolver(simulation=sim, plane=td.Box(center=center, size=(size[0], 0, size[2])),
                            mode_spec=spec, freqs=[C0_UM_PER_S / wavelength])
        data = solver.solve()
    neff = np.asarray(data.n_eff.values).reshape(-1)[:num_modes]
    te = np.asarray(data.pol_fraction.te.values).reshape(-1)[:num_modes]
    order = np.argsort(-neff)
    raw = RawModes(neff=neff[order].astype(float), te_fraction=te[order].astype(float))
    if fields:
        comps = {}
        for name in ("Ex", "Ey", "Ez"):
            arr = data.field_components[name].isel(f=0).squeeze("y", drop=True)
            comps[name] = np.asarray(arr.transpose("mode_index", "x", "z").values)[order]
        raw.x = np.asarray(data.field_components["Ex"].x.values)
        raw.z = np.asarray(data.field_components["Ex"].z.values)
        from pipeline.modes.mpb_backend import _normalised  # pure numpy helper

        raw.fields = _normalised(comps)
    return raw

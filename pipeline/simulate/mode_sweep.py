"""Run the strip-waveguide mode sweep (:mod:`devices.waveguide_model`) and store it: per
(δw, δt) point of :func:`~devices.waveguide_model.points`, three TE0 mode solves (at
``T_REF`` with n_g, and at T_REF ± ``temperature_step``) → the pure
:func:`~devices.waveguide_model.extract`, inside ``DeviceCache.get_or_compute``.
"""

from __future__ import annotations

import xarray as xr

import devices.waveguide_model as wm
from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.modes.spec import ModeSolverSpec


def solve_point(spec: wm.WaveguideModelSpec, solver: ModeSolverSpec, dw: float, dt: float) -> dict:
    """The three mode solves of one (δw, δt) [µm] → :func:`devices.waveguide_model.point_quantities`."""
    import numpy as np

    from pipeline.modes import solve_modes

    cs, kw = wm.cross_section(spec, dw, dt), wm.mode_options(solver)
    lams = np.asarray(spec.band.wavelengths())
    hot_k, cold_k = wm.temperatures(spec)
    base = solve_modes(cs, lams, **kw)
    hot = solve_modes(cs, lams, temperature_K=hot_k, group_index=False, **kw)
    cold = solve_modes(cs, lams, temperature_K=cold_k, group_index=False, **kw)
    return wm.point_quantities(spec, base, hot, cold)


def compute(spec: wm.WaveguideModelSpec, solver: ModeSolverSpec) -> tuple[xr.Dataset, dict, dict]:
    """Every point's solves → the entry's (dataset, provenance, checks)."""
    from pipeline.progress import item_progress

    points, results = wm.points(spec), {}
    with item_progress("waveguide_model", "point", "solved", len(points), headline=f"{len(points)} (dw, dt) points, "
                       "3 mode solves each", bar_title="waveguide modes") as advance:
        for p in points:
            results[p] = solve_point(spec, solver, *p)
            advance(f"dw={p[0]:+g} dt={p[1]:+g} um")
    return wm.extract(spec, solver, results)


def simulate(device: wm.WaveguideModelSpec, solver: ModeSolverSpec | None = None, *, cache: DeviceCache,
             overwrite: bool = False) -> tuple[CacheEntry, bool]:
    """The mode-solver sweep through ``cache``: ``(CacheEntry, cached)``."""
    solver = solver or ModeSolverSpec()
    if not isinstance(solver, ModeSolverSpec):
        raise SpecError(f"solver spec {type(solver).__name__}: waveguide_model needs a ModeSolverSpec "
                        "(solver = 'mode_solver').")
    return cache.get_or_compute(device, solver, lambda: compute(device, solver), overwrite=overwrite)

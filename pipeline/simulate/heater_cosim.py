"""Run the thermo-optic phase shifter's co-simulation and store it: build
(:func:`devices.phase_shifter.build`, pure) → the solver calls (steady heat solves,
:mod:`pipeline.thermal`; TE0 mode solves and the heated re-solve, :mod:`pipeline.modes`,
:mod:`pipeline.thermo_optic`) → extract (:func:`devices.phase_shifter.extract`, pure), all
inside ``DeviceCache.get_or_compute`` (a failed run caches nothing).
"""

from __future__ import annotations

import xarray as xr

import devices.phase_shifter as ps
from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.thermo_optic import ThermoOpticSolverSpec


def run(spec: ps.PhaseShifterSpec, solver: ThermoOpticSolverSpec, plan: ps.CoSimPlan) -> ps.CoSimRun:
    """Every solver call of the co-simulation of ``plan`` (module doc)."""
    from pipeline.modes import solve_modes
    from pipeline.thermal import solve_steady_state
    from pipeline.thermo_optic import resolve_heated, thermo_optic_kernel

    cs, T, kw, ic = plan.cross_section, spec.ambient_temperature, plan.mode_options, plan.centre
    heat = solve_steady_state(plan.isolated)  # ΔT per 1 W/m
    kernels, ng = [], []
    for lam in plan.wavelengths:
        kernels.append(thermo_optic_kernel(cs, solve_modes(cs.at(lam), lam, fields=True, **kw), temperature_K=T))
        ng.append(float(solve_modes(cs, lam, **kw).ng[0, 0]))
    powers = ps.sweep_powers(plan, heat, tuple(kernels))
    lam_c = plan.wavelengths[ic]
    resolved = resolve_heated(cs, lam_c, heat.interpolate, scales=powers[1:] / (spec.heater_length * 1e-6),
                              resolution=solver.check_resolution, margin=solver.mode_margin, temperature_K=T)
    uniform = {sign: solve_modes(cs, lam_c, group_index=False,
                                 **{**kw, "temperature_K": T + sign * ps.UNIFORM_STEP_K}) for sign in (1, -1)}
    row = tuple(solve_steady_state(problem) for problem in plan.row)
    return ps.CoSimRun(heat, tuple(kernels), tuple(ng), powers, resolved, float(uniform[1].neff[0, 0]),
                       float(uniform[-1].neff[0, 0]), row)


def compute(spec: ps.PhaseShifterSpec, solver: ThermoOpticSolverSpec) -> tuple[xr.Dataset, dict, dict]:
    """build → run → extract: the entry's (dataset, provenance, checks)."""
    plan = ps.build(spec, solver)
    return ps.extract(spec, solver, plan, run(spec, solver, plan))


def simulate(device: ps.PhaseShifterSpec, solver: ThermoOpticSolverSpec | None = None, *,
             cache: DeviceCache, overwrite: bool = False) -> tuple[CacheEntry, bool]:
    """The co-simulation through ``cache``: ``(CacheEntry, cached)``."""
    solver = solver or ThermoOpticSolverSpec()
    if not isinstance(solver, ThermoOpticSolverSpec):
        raise SpecError(f"solver spec {type(solver).__name__}: the phase shifter needs a ThermoOpticSolverSpec "
                        "(solver = 'thermo_optic').")
    return cache.get_or_compute(device, solver, lambda: compute(device, solver), overwrite=overwrite)


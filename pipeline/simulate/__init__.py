"""One entry point for every device: (device spec, solver spec) → cached, checked entry.

The dispatcher is the only place that pairs a device family with the code that runs it:
Meep solver specs go through the generic FDTD engine, handed the family's ``layout(spec)``
and ``LOSSLESS`` (:mod:`pipeline.fdtd.simulate` never looks a device up); the co-simulations
of :data:`COSIMULATIONS` are run here (build and extract are the device module's pure
functions; the solver calls and the cache are in :mod:`pipeline.simulate.heater_cosim`,
:mod:`pipeline.simulate.mode_sweep`).  Families not yet split that way keep their module's
own ``simulate``.
"""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.specs import DeviceSpec, SolverSpec, all_subclasses

#: Solvers served by the generic FDTD engine (devices that declare a ``layout``).
FDTD_SOLVERS = ("meep2d", "meep3d")
#: Device families whose (non-FDTD) run is driven here: family → "module:function".
COSIMULATIONS: dict[str, str] = {
    "phase_shifter": "pipeline.simulate.heater_cosim:simulate",
    "waveguide_model": "pipeline.simulate.mode_sweep:simulate",
}


def _runner(family: str) -> Any:
    module, name = COSIMULATIONS[family].split(":")
    return getattr(importlib.import_module(module), name)


def simulate(device: DeviceSpec, solver: SolverSpec, *, cache: DeviceCache | None = None,
             overwrite: bool = False, **execution: Any) -> tuple[CacheEntry, bool]:
    """Simulate ``device`` with ``solver`` or read it from ``cache``; returns ``(entry, cached)``.

    ``execution`` holds flags that never enter the key (e.g. ``timeout_s``)."""
    import devices

    cache = cache if cache is not None else DeviceCache()
    module = devices.module_for(device)
    if solver.solver in FDTD_SOLVERS:
        if not hasattr(module, "layout"):
            raise SpecError(f"device {device.device!r} is not an FDTD device; use solver "
                            f"{default_solver(device.device)!r}.")
        from pipeline.fdtd import simulate as fdtd

        return fdtd.simulate(device, solver, layout=module.layout(device), lossless=module.LOSSLESS,
                             cache=cache, overwrite=overwrite, **execution)
    if device.device in COSIMULATIONS:
        return _runner(device.device)(device, solver, cache=cache, overwrite=overwrite)
    own = getattr(module, "simulate", None)
    if own is None:
        raise SpecError(f"device {device.device!r} cannot be simulated with solver {solver.solver!r}.")
    return own(device, solver, cache=cache, overwrite=overwrite)


def figures_of_merit(entry: CacheEntry, *, cache: DeviceCache | None = None, simulate_missing: bool = True,
                     **execution: Any) -> dict[str, Any]:
    """The device family's figures of merit for a cached entry.  A family that needs
    companion entries (the coupler's L_c from a second length, the MZI's coupler) names them
    with ``companions(spec) -> {name: DeviceSpec}``; they are read from ``cache`` — or, with
    ``simulate_missing`` (the default), simulated with the entry's solver — and handed to the
    family's pure ``figures_of_merit(entry, companions={name: entry})``.  Figures whose
    companion is missing are left out."""
    import devices

    module = devices.module_for(entry.device_spec)
    fom = getattr(module, "figures_of_merit", None)
    if fom is None:
        return {}
    wanted = getattr(module, "companions", None)
    if wanted is None:
        return dict(fom(entry))
    cache = cache if cache is not None else DeviceCache(entry.path.parents[1])
    found = {}
    for name, device in wanted(entry.device_spec).items():
        other = (simulate(device, entry.solver_spec, cache=cache, **execution)[0] if simulate_missing
                 else cache.get(device, entry.solver_spec))
        if other is not None:
            found[name] = other
    return dict(fom(entry, companions=found))


def solver_spec_class(name: str) -> type[SolverSpec]:
    """The SolverSpec subclass whose ``solver`` is ``name`` (e.g. meep2d, meep3d, thermo_optic)."""
    import devices  # noqa: F401  (imports every solver spec the devices use)
    import pipeline.fdtd.specs  # noqa: F401
    import pipeline.modes.spec  # noqa: F401
    import pipeline.thermo_optic  # noqa: F401

    found = {c.solver: c for c in all_subclasses(SolverSpec)
             if c.__module__.startswith(("pipeline", "devices")) and c.solver != SolverSpec.solver}
    if name not in found:
        raise SpecError(f"solver = {name!r} is unknown. Fix: use one of {sorted(found)}.")
    return found[name]


def default_solver(device_family: str) -> str:
    """The solver a device family is simulated with unless told otherwise."""
    import devices

    return getattr(devices.get(device_family), "DEFAULT_SOLVER", "meep2d")


def default_solver_settings(device_family: str, solver: str) -> dict:
    """Solver-spec fields a family sets for its default solver (e.g. the photodetector's
    50 px/µm, the resolution of its library entries); {} for any other solver."""
    import devices

    if solver != default_solver(device_family):
        return {}
    return dict(getattr(devices.get(device_family), "DEFAULT_SOLVER_SETTINGS", {}))

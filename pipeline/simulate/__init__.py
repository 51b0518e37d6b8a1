"""One entry point for every device: (device spec, solver spec) → cached, checked entry.

The device's module may define its own ``simulate`` (co-simulations such as the
thermo-optic phase shifter); Meep solver specs go through the generic FDTD engine.
"""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.specs import DeviceSpec, SolverSpec, all_subclasses

#: Solvers served by the generic FDTD engine (devices that declare a ``layout``).
FDTD_SOLVERS = ("meep2d", "meep3d")


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
        fdtd = importlib.import_module("pipeline.fdtd.simulate")
        return fdtd.simulate(device, solver, cache=cache, overwrite=overwrite, **execution)
    own = getattr(module, "simulate", None)
    if own is None:
        raise SpecError(f"device {device.device!r} cannot be simulated with solver {solver.solver!r}.")
    return own(device, solver, cache=cache, overwrite=overwrite)


class _CompanionMissing(Exception):
    """A companion entry is not cached and simulating it was not allowed."""


def figures_of_merit(entry: CacheEntry, *, cache: DeviceCache | None = None, simulate_missing: bool = True,
                     **execution: Any) -> dict[str, Any]:
    """The device family's figures of merit for a cached entry. Families that need a
    companion simulation (the coupler's L_c from a second length) get it through the
    same cache and solver; with ``simulate_missing=False`` only a cached companion is
    used, and the figures that need it are left out."""
    import devices

    fom = getattr(devices.module_for(entry.device_spec), "figures_of_merit", None)
    if fom is None:
        return {}
    cache = cache if cache is not None else DeviceCache(entry.path.parents[1])

    def companion(device: DeviceSpec) -> CacheEntry:
        if not simulate_missing:
            found = cache.get(device, entry.solver_spec)
            if found is None:
                raise _CompanionMissing(device)
            return found
        return simulate(device, entry.solver_spec, cache=cache, **execution)[0]

    try:
        return dict(fom(entry, simulate_companion=companion))
    except _CompanionMissing:
        return dict(fom(entry))


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

"""One entry point for every device: (device spec, solver spec) → cached, checked entry.

The device's module may define its own ``simulate`` (co-simulations such as the
thermo-optic phase shifter); Meep solver specs go through the generic FDTD engine.
"""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.specs import DeviceSpec, SolverSpec


def simulate(device: DeviceSpec, solver: SolverSpec, *, cache: DeviceCache | None = None,
             overwrite: bool = False, **execution: Any) -> tuple[CacheEntry, bool]:
    """Simulate ``device`` with ``solver`` or read it from ``cache``; returns ``(entry, cached)``.

    ``execution`` holds flags that never enter the key (e.g. ``timeout_s``)."""
    import devices

    cache = cache if cache is not None else DeviceCache()
    module = devices.module_for(device)
    own = getattr(module, "simulate", None)
    if solver.solver in ("meep2d", "meep3d") and (own is None or getattr(module, "USES_FDTD_ENGINE", False)):
        fdtd = importlib.import_module("pipeline.fdtd.simulate")
        return fdtd.simulate(device, solver, cache=cache, overwrite=overwrite, **execution)
    if own is None:
        raise SpecError(f"device {device.device!r} cannot be simulated with solver {solver.solver!r}.")
    return own(device, solver, cache=cache, overwrite=overwrite)


def figures_of_merit(entry: CacheEntry) -> dict[str, Any]:
    """The device family's figures of merit for a cached entry."""
    import devices

    fom = getattr(devices.module_for(entry.device_spec), "figures_of_merit", None)
    return dict(fom(entry)) if fom is not None else {}

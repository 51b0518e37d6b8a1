"""Device families: name → module. Importing this package never imports meep.

Each module defines a spec class (a frozen :class:`~pipeline.specs.DeviceSpec` with units on
every field), ``layout(spec)`` (its FDTD geometry and ports as pure data, see
:mod:`pipeline.fdtd.layout`), ``LOSSLESS`` (whether unitarity is expected) and
``figures_of_merit(entry, **kw)`` — pure: it reads only the entries it is handed; a family
that needs other entries names them with ``companions(spec) -> {name: DeviceSpec}`` and gets
them as ``figures_of_merit(entry, companions={name: entry})`` from
:func:`pipeline.simulate.figures_of_merit`.  Runs and cache access belong to
:mod:`pipeline.simulate` (still to move there: the own ``simulate`` of ring_modulator,
ring_coupler and pn_phase_shifter).  Importing the package registers
every spec class so that cache entries can be re-validated (``pipeline.specs.spec_from_json``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pipeline.errors import SpecError
from pipeline.fdtd import specs as _solver_specs  # noqa: F401  (registers the Meep solver specs)
from pipeline.modes import spec as _mode_specs  # noqa: F401  (registers the mode-solver spec)
from pipeline.specs import DeviceSpec

#: device family name → module
DEVICES: dict[str, str] = {
    "waveguide": "devices.waveguide",
    "directional_coupler": "devices.directional_coupler",
    "phase_shifter": "devices.phase_shifter",
    "crossing": "devices.crossing",
    "mmi": "devices.mmi",
    "photodetector": "devices.photodetector",
    "waveguide_model": "devices.waveguide_model",
    "mzi": "devices.mzi",
    "ring_modulator": "devices.ring_modulator",
    "ring_coupler": "devices.ring_coupler",
    "pn_phase_shifter": "devices.pn_phase_shifter",
}


def get(name: str) -> ModuleType:
    """The module of device family ``name``."""
    if name not in DEVICES:
        raise SpecError(f"unknown device {name!r}. Fix: use one of: {', '.join(DEVICES)} (`photoprop device list`).")
    return importlib.import_module(DEVICES[name])


def module_for(spec: DeviceSpec) -> ModuleType:
    """The module that defines ``spec``'s family."""
    return get(spec.device)


def spec_class(name: str) -> type[DeviceSpec]:
    """The spec class of device family ``name`` (the module's DeviceSpec with ``device == name``)."""
    module = get(name)
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, DeviceSpec) and obj.device == name:
            return obj
    raise SpecError(f"device module {module.__name__} defines no DeviceSpec with device = {name!r}.")


def field_table(name: str) -> list[dict[str, str]]:
    """``[{field, unit, default, description}]`` of a family's spec (for ``device list``)."""
    cls = spec_class(name)
    units = cls.units()
    rows = []
    for fname, info in cls.model_fields.items():
        default = info.default
        text = default.model_dump_json() if hasattr(default, "model_dump_json") else repr(default)
        rows.append({"field": fname, "unit": units.get(fname, ""), "default": text,
                     "description": info.description or ""})
    return rows


for _name in DEVICES:
    get(_name)

__all__ = ["DEVICES", "field_table", "get", "module_for", "spec_class"]

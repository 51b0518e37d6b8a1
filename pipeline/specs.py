"""Frozen, strict specification models with units.

Every device, solver and workflow spec derives from :class:`Spec`:
frozen, unknown fields forbidden, NaN/inf rejected. Validation failures are
re-raised as :class:`~pipeline.errors.SpecError` whose message names the field,
the value given and how to fix it.

Declare fields with :func:`quantity` so that each carries its unit::

    class CouplerSpec(DeviceSpec):
        gap: float = quantity(0.2, "um", "edge-to-edge gap between the cores", gt=0)
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import SpecError

#: Bump when the meaning or layout of stored data changes for every solver; it enters every
#: cache key (a change of one backend's numerics bumps ``SolverSpec.numerics_versions``
#: instead). 2: 2D calibration through the grid-aligned MPB of pipeline.modes.
SCHEMA_VERSION = 2


def quantity(default: Any, unit: str, description: str, **constraints: Any) -> Any:
    """A pydantic field with a physical unit (``"um"``, ``"W"``, ``"K"``, ``"dB"``, ``"1"``...)."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **constraints)


def _describe_constraint(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err.get("type", "")
    if kind == "greater_than":
        return f"a value > {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"a value >= {ctx.get('ge')}"
    if kind == "less_than":
        return f"a value < {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"a value <= {ctx.get('le')}"
    if kind == "finite_number":
        return "a finite number (not NaN or infinity)"
    if kind == "extra_forbidden":
        return "no such field"
    return "a valid value"


class Spec(BaseModel):
    """Base of all specs: frozen, strict about unknown fields, finite numbers only."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise SpecError(self._format_errors(exc)) from None

    @classmethod
    def _format_errors(cls, exc: ValidationError) -> str:
        lines = [f"invalid {cls.__name__}:"]
        fields = cls.model_fields
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(model)"
            value = err.get("input")
            name = str(err["loc"][0]) if err["loc"] else ""
            info = fields.get(name)
            unit = ""
            if info is not None and isinstance(info.json_schema_extra, dict):
                unit = f" {info.json_schema_extra.get('unit', '')}".rstrip()
            if err.get("type") == "extra_forbidden":
                valid = ", ".join(fields)
                lines.append(
                    f"  {loc} = {value!r}: unknown field. Fix: remove it or use one of: {valid}."
                )
                continue
            if err.get("type") == "value_error" and name == "":
                lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
                continue
            msg = err["msg"].removeprefix("Value error, ")
            desc = f" ({info.description})" if info is not None and info.description else ""
            fix = f"set {loc} to {_describe_constraint(err)}{unit}{desc}"
            if err.get("type") == "value_error":
                lines.append(f"  {loc} = {value!r}{unit}: {msg}")
            else:
                lines.append(f"  {loc} = {value!r}{unit}: {msg}. Fix: {fix}.")
        return "\n".join(lines)

    def canonical_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace, type tag included) for hashing."""
        payload = {"type": type(self).__name__, **self.model_dump(mode="json")}
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def units(cls) -> dict[str, str]:
        """Unit of every field, from its declaration."""
        out = {}
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            out[name] = str(extra.get("unit", ""))
        return out


class WavelengthBand(Spec):
    """A band of equally spaced wavelengths [µm]."""

    start: float = quantity(1.50, "um", "shortest wavelength", gt=0)
    stop: float = quantity(1.60, "um", "longest wavelength", gt=0)
    points: int = quantity(21, "1", "number of wavelengths", ge=1, le=10001)

    @model_validator(mode="after")
    def _ordered(self) -> "WavelengthBand":
        if self.stop < self.start:
            raise ValueError(
                f"wavelength band reversed: start = {self.start} um > stop = {self.stop} um. "
                f"Fix: swap them (start={self.stop}, stop={self.start})."
            )
        if self.stop == self.start and self.points != 1:
            raise ValueError(
                f"zero-width band (start = stop = {self.start} um) with points = {self.points}. "
                "Fix: set points=1 or widen the band."
            )
        return self

    @property
    def center(self) -> float:
        """Centre wavelength [µm]."""
        return 0.5 * (self.start + self.stop)

    def wavelengths(self) -> "list[float]":
        """The sampled wavelengths [µm], ascending."""
        import numpy as np

        return list(np.linspace(self.start, self.stop, self.points))


class DeviceSpec(Spec):
    """Base of every device specification. ``device`` names the family (cache folder)."""

    device: ClassVar[str] = "device"


class SolverSpec(Spec):
    """Base of every solver specification (resolution, PML, run time ...). Never mixed
    into the device spec; execution flags (paths, workers, overwrite) never live here."""

    solver: ClassVar[str] = "solver"
    #: ``{backend: integer}`` of every numerical backend the solver uses; it enters the cache
    #: key. Bump a backend's number when its numerics change (discretisation, extraction,
    #: de-embedding, a solver upgrade that changes results beyond the rebuild tolerance):
    #: that invalidates exactly the entries made with it.
    numerics_versions: ClassVar[dict[str, int]] = {}
    #: Python distributions whose installed versions (in the solver interpreter) are recorded
    #: in each entry's provenance: recorded and compared, never hashed into the key.
    version_packages: ClassVar[tuple[str, ...]] = ()


def all_subclasses(cls: type) -> list[type]:
    """Every (indirect) subclass of ``cls`` defined so far."""
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(all_subclasses(sub))
    return out


#: Spec type name → ``"module:Class"`` of every spec stored in library entries and compact-model
#: files (read back by :func:`spec_from_json`).  A lazy registry: the module is imported only
#: when a spec of that type is read, so this base module imports no device or solver module.
#: A new device family or solver adds its spec classes here (tests/test_specs_registry.py
#: checks the table against the classes the code defines).
SPEC_TYPES: dict[str, str] = {
    # devices
    "WaveguideSpec": "devices.waveguide:WaveguideSpec",
    "DirectionalCouplerSpec": "devices.directional_coupler:DirectionalCouplerSpec",
    "PhaseShifterSpec": "devices.phase_shifter:PhaseShifterSpec",
    "CrossingSpec": "devices.crossing:CrossingSpec",
    "MMISpec": "devices.mmi:MMISpec",
    "PhotodetectorSpec": "devices.photodetector:PhotodetectorSpec",
    "PhotodetectorElectricalSpec": "devices.photodetector_electrical:PhotodetectorElectricalSpec",
    "WaveguideModelSpec": "devices.waveguide_model:WaveguideModelSpec",
    "MZISpec": "devices.mzi:MZISpec",
    "PNPhaseShifterSpec": "devices.pn_phase_shifter:PNPhaseShifterSpec",
    "RingCouplerSpec": "devices.ring_coupler:RingCouplerSpec",
    "RingModulatorSpec": "devices.ring_modulator:RingModulatorSpec",
    "ImportedLayoutSpec": "pipeline.interop.gdsfactory_spec:ImportedLayoutSpec",  # a GDS cell / gdsfactory component
    # compact-model sweeps
    "CouplerSweepSpec": "devices.coupler_model:CouplerSweepSpec",
    "PhotodetectorSweepSpec": "devices.photodetector_model:PhotodetectorSweepSpec",
    "OffsetSweepSpec": "devices.offset_model:OffsetSweepSpec",
    "CrossingSweepSpec": "devices.crossing_model:CrossingSweepSpec",
    "MMISweepSpec": "devices.mmi_model:MMISweepSpec",
    "PNShifterSweepSpec": "devices.pn_phase_shifter_model:PNShifterSweepSpec",
    # solvers
    "MeepSpec": "pipeline.fdtd.specs:MeepSpec",
    "Meep2DSpec": "pipeline.fdtd.specs:Meep2DSpec",
    "Meep3DSpec": "pipeline.fdtd.specs:Meep3DSpec",
    "ModeSolverSpec": "pipeline.modes.spec:ModeSolverSpec",
    "ThermoOpticSolverSpec": "pipeline.thermo_optic:ThermoOpticSolverSpec",
    "PNSolverSpec": "devices.pn_phase_shifter:PNSolverSpec",
    "RingCircuitSpec": "devices.ring_modulator:RingCircuitSpec",
    # nested parts
    "Material": "pipeline.materials:Material",
    "Core": "pipeline.modes.cross_section:Core",
    "CrossSection": "pipeline.modes.cross_section:CrossSection",
    "Rect": "pipeline.thermal.geometry:Rect",
    "ThermalProblem": "pipeline.thermal.geometry:ThermalProblem",
    "ImportedPort": "pipeline.interop.gdsfactory_spec:ImportedPort",
    "ImportedMirror": "pipeline.interop.gdsfactory_spec:ImportedMirror",
}


#: Packages imported by name (last resort of :func:`spec_class`) whose import registers spec
#: classes not (yet) listed in :data:`SPEC_TYPES` (``devices`` imports every family).
SPEC_PROVIDERS: tuple[str, ...] = ("devices",)


def _defined(type_name: str) -> type[Spec] | None:
    return next((sub for sub in all_subclasses(Spec) if sub.__name__ == type_name), None)


def spec_class(type_name: str) -> type[Spec]:
    """The Spec subclass called ``type_name``: one already defined, else imported by name
    from :data:`SPEC_TYPES`, else after importing the :data:`SPEC_PROVIDERS`; unknown names
    list what exists."""
    import importlib

    found = _defined(type_name)
    if found is not None:
        return found
    if type_name in SPEC_TYPES:
        module, cls_name = SPEC_TYPES[type_name].split(":")
        return getattr(importlib.import_module(module), cls_name)
    for provider in SPEC_PROVIDERS:
        importlib.import_module(provider)
        found = _defined(type_name)
        if found is not None:
            return found
    raise SpecError(f"unknown spec type {type_name!r}: no such device or solver spec is installed "
                    f"(known: {', '.join(sorted(SPEC_TYPES))}). Fix: register it in pipeline.specs.SPEC_TYPES.")


def spec_from_json(text: str) -> Spec:
    """Re-validate a spec from its canonical JSON (raises SpecError if no longer valid)."""
    payload = json.loads(text)
    if not isinstance(payload, dict) or "type" not in payload:
        raise SpecError(f"spec JSON has no 'type' tag: {text[:80]!r}")
    cls = spec_class(payload.pop("type"))
    return cls(**payload)

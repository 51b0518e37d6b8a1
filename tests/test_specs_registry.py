"""pipeline.specs.SPEC_TYPES, the lazy name → "module:Class" registry spec_from_json reads
specs back by: complete, exact, and importing a spec's module only on demand."""

import importlib
import subprocess
import sys

import pipeline.specs as specs


def test_every_registered_name_is_its_class():
    for name, ref in specs.SPEC_TYPES.items():
        module, cls_name = ref.split(":")
        cls = getattr(importlib.import_module(module), cls_name)
        assert cls.__name__ == name and issubclass(cls, specs.Spec), ref


def test_every_device_and_solver_spec_is_registered():
    import devices
    import devices.coupler_model  # noqa: F401
    import devices.crossing_model  # noqa: F401
    import devices.mmi_model  # noqa: F401
    import devices.photodetector_model  # noqa: F401
    import pipeline.fdtd.specs, pipeline.modes.cross_section, pipeline.thermal.geometry  # noqa: F401,E401

    modules = {"devices.waveguide", "devices.directional_coupler", "devices.phase_shifter", "devices.crossing",
               "devices.mmi", "devices.photodetector", "devices.photodetector_electrical", "devices.waveguide_model",
               "devices.mzi", "devices.coupler_model", "devices.photodetector_model", "devices.offset_model",
               "devices.crossing_model", "devices.mmi_model", "pipeline.fdtd.specs", "pipeline.modes.spec",
               "pipeline.modes.cross_section", "pipeline.thermal.geometry", "pipeline.thermo_optic",
               "pipeline.materials"}
    defined = {c.__name__ for c in specs.all_subclasses(specs.Spec) if c.__module__ in modules}
    missing = sorted(defined - set(specs.SPEC_TYPES))
    assert not missing, f"add these spec classes to pipeline.specs.SPEC_TYPES: {missing}"


def test_spec_from_json_imports_the_module_on_demand():
    code = ("import sys, pipeline.specs as s\n"
            "assert 'devices' not in sys.modules and 'devices.mmi' not in sys.modules\n"
            "spec = s.spec_from_json('{\"type\": \"MMISpec\"}')\n"
            "assert type(spec).__module__ == 'devices.mmi'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_type_lists_what_exists():
    import pytest

    from pipeline.errors import SpecError

    with pytest.raises(SpecError, match="known: .*MMISpec"):
        specs.spec_class("NoSuchSpec")

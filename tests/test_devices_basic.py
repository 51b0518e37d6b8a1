"""Fast tests without meep: device specs, layouts, registry, extraction maths, checks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import devices
from devices.directional_coupler import DirectionalCouplerSpec
from devices.waveguide import WaveguideSpec
from pipeline.cache import cache_key
from pipeline.errors import CheckError, PhotopropWarning, SpecError
from pipeline.fdtd import Meep2DSpec, Meep3DSpec, build, checks, extract, slab
from pipeline.fdtd.coupling import coupling_length
from pipeline.fdtd.layout import Layout, Mirror, Port, Rect
from pipeline.smatrix import make_smatrix


def test_registry_lists_families_with_units():
    assert {"waveguide", "directional_coupler"} <= set(devices.DEVICES)
    assert devices.spec_class("waveguide") is WaveguideSpec
    rows = {r["field"]: r for r in devices.field_table("directional_coupler")}
    assert rows["gap"]["unit"] == "um" and rows["gap"]["default"] == "0.2"
    assert {"gap", "coupling_length", "width", "thickness", "bend_radius", "band"} <= set(rows)
    with pytest.raises(SpecError, match="unknown device 'ring'"):
        devices.get("ring")
    from pipeline.simulate import solver_spec_class

    with pytest.raises(SpecError, match=r"'meep9d' is unknown. Fix: use one of \['meep2d', 'meep3d', 'mode_solver', 'pn_depletion', 'ring_circuit', "
                                        r"'thermo_optic'\]"):
        solver_spec_class("meep9d")


def test_importing_devices_and_pipeline_does_not_import_meep():
    code = "import devices, pipeline.fdtd.simulate, pipeline.cli.device_cmd, sys; print('meep' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (DirectionalCouplerSpec, {"gap": -0.1}, "gap"),
        (DirectionalCouplerSpec, {"port_separation": 0.6}, "port_separation"),
        (DirectionalCouplerSpec, {"bend_radius": 0.1}, "bend_radius"),
        (WaveguideSpec, {"length": float("nan")}, "length"),
        (WaveguideSpec, {"colour": "red"}, "colour"),
        (Meep2DSpec, {"resolution": 2}, "resolution"),
        (Meep2DSpec, {"source_offset": 0.2, "monitor_offset": 0.5}, "source_offset"),
        (Meep2DSpec, {"timeout_s": 10}, "timeout_s"),  # an execution flag, never a spec field
        (Meep2DSpec, {"material_model": "magic"}, "material_model"),
    ],
)
def test_bad_specs_raise_spec_error_naming_the_field(cls, kwargs, field):
    with pytest.raises(SpecError, match=field):
        cls(**kwargs)


def test_solver_spec_changes_key_but_device_defaults_are_stable():
    d = DirectionalCouplerSpec()
    assert cache_key(d, Meep2DSpec()) != cache_key(d, Meep2DSpec(resolution=40))
    assert cache_key(d, Meep2DSpec()) != cache_key(d, Meep3DSpec())
    assert cache_key(d, Meep2DSpec()) == cache_key(DirectionalCouplerSpec(), Meep2DSpec())


def test_coupler_layout_ports_and_symmetry():
    spec = DirectionalCouplerSpec(gap=0.2, coupling_length=4.0, port_separation=2.0)
    lay = devices.get("directional_coupler").layout(spec)
    p = {q.name: q for q in lay.ports}
    assert (p["o1"].x < 0 and p["o1"].y < 0 and p["o1"].direction == "-x")
    assert (p["o2"].x < 0 and p["o2"].y > 0 and p["o3"].x > 0 and p["o3"].y > 0 and p["o4"].y < 0)
    assert p["o3"].y - p["o4"].y == pytest.approx(2.0)
    assert build.source_ports(lay, True) == ["o1"]
    assert build.source_ports(lay, False) == ["o1", "o2", "o3", "o4"]


def _two_mode_layout() -> Layout:
    """Four ports, TE1 (odd) at all of them, mirrored in y: a[0]/b[0] even, others odd."""
    ports = (Port("a", -1, -1, "-x", 1.0, 1), Port("b", -1, 1, "-x", 1.0, 1),
             Port("c", 1, 1, "+x", 1.0, 1), Port("d", 1, -1, "+x", 1.0, 1))
    return Layout(shapes=(Rect(0, 0, 2, 3),), ports=ports, bbox=(-1, 1, -1.5, 1.5), thickness=0.22, core_width=1.0,
                  symmetries=(Mirror("y", 0.0, (("a", "b"), ("d", "c"))), Mirror("x", 0.0, (("a", "d"), ("b", "c")))))


def test_symmetry_fill_sign_rule_for_odd_modes():
    lay = _two_mode_layout()
    col_a = {"a": np.array([0.1]), "b": np.array([0.2j]), "c": np.array([0.3]), "d": np.array([0.4 + 0.1j])}
    full = extract.fill_by_symmetry({"a": col_a}, lay)
    # y-mirror: a<->b, d<->c, TE1 at both ends: s_i s_j = (-1)(-1) = +1 for every entry
    assert full["b"]["b"] == col_a["a"] and full["b"]["c"] == col_a["d"] and full["b"]["a"] == col_a["b"]
    assert full["d"]["a"] == col_a["d"] and full["c"]["b"] == col_a["d"]  # x-mirror then y-mirror
    # mixed parity: port b carries TE0 -> entries between an odd and an even port flip sign
    ports = list(lay.ports)
    ports[1] = Port("b", -1, 1, "-x", 1.0, 0)
    mixed = Layout(lay.shapes, tuple(ports), lay.bbox, lay.thickness, lay.core_width, lay.symmetries)
    m = Mirror("y", 0.0, (("a", "b"),))
    assert m.sign(mixed.port("a")) * m.sign(mixed.port("b")) == -1
    assert Mirror("x", 0.0, (("a", "d"),)).sign(mixed.port("a")) == 1  # x-mirror never flips the profile


def _raw(source: str, coeffs: dict[str, tuple[complex, complex]], kx: float) -> dict:
    mons = {p: {"plus": [[c[0].real, c[0].imag]], "minus": [[c[1].real, c[1].imag]], "kx": [kx]}
            for p, c in coeffs.items()}
    return {"source_port": source, "monitors": mons}


def test_de_embedding_to_port_planes():
    """A lossless line of length L between planes, monitors d outside: S21 = exp(+i beta L)."""
    beta, length, d = 10.0, 3.0, 0.5
    lay = build.reference_layout(Port("in", 0, 0, "-x", 0.5), length=length)
    a_mon = 0.7 * np.exp(0.3j)                       # incident at the input monitor
    b_mon = a_mon * np.exp(1j * beta * (length + 2 * d))  # after the line and both offsets
    raw = _raw("in", {"in": (a_mon, 0j), "out": (b_mon, 0j)}, beta / (2 * np.pi))
    col = extract.column(raw, lay, d)
    assert col["out"][0] == pytest.approx(np.exp(1j * beta * length))
    # a reflection 0.1 at the input plane: seen at the monitor after 2d more path
    raw = _raw("in", {"in": (a_mon, 0.1 * a_mon * np.exp(2j * beta * d)), "out": (b_mon, 0j)}, beta / (2 * np.pi))
    assert extract.column(raw, lay, d)["in"][0] == pytest.approx(0.1)


def test_coupling_length_from_supermode_phase():
    lc, wl = 40.0, np.array([1.5, 1.55, 1.6])
    dbeta = np.pi / lc

    def coupler(length: float) -> object:
        th = dbeta * length / 2 + 0.2  # bends add 0.2 rad of coupling
        s = np.zeros((3, 4, 4), complex)
        bar, cross = np.cos(th) * np.exp(0.4j), 1j * np.sin(th) * np.exp(0.4j)
        for i, j, v in [(3, 0, bar), (2, 0, cross), (2, 1, bar), (3, 1, cross)]:
            s[:, i, j] = s[:, j, i] = v
        return make_smatrix(s, wl, ["o1", "o2", "o3", "o4"])

    got = coupling_length(coupler(2.0), 2.0, coupler(12.0), 12.0)
    assert got == pytest.approx(lc, rel=1e-9)
    assert coupling_length(coupler(2.0), 2.0, coupler(12.0), 12.0, prior_um=35.0) == pytest.approx(lc)


def test_slab_solver_matches_mpb_reference_numbers():
    """Two 0.5 um slabs (n 2.8031 in 1.444), gap 0.2 um, Hz polarization, 1.55 um: MPB (res 64,
    run while writing this module) gave n_even 2.46448, n_odd 2.43057."""
    ne, no = slab.pair_neffs(1.55, 0.5, 0.2, 2.8031, 1.444)
    assert ne == pytest.approx(2.46448, abs=3e-4) and no == pytest.approx(2.43057, abs=3e-4)


def test_checks_strict_raises_and_lenient_warns():
    wl = np.array([1.55])
    bad = make_smatrix(np.array([[[0.0, 1.1], [0.2, 0.0]]]), wl, ["a", "b"])  # gain and non-reciprocal
    c = checks.evaluate(bad, final_decay=1e-7, decay_by=1e-6, by_symmetry=False)
    assert not c["passed"] and c["reciprocity_error"] == pytest.approx(0.9) and len(c["failures"]) >= 3
    with pytest.raises(CheckError, match="reciprocity"):
        checks.enforce(c, strict=True, label="test")
    with pytest.warns(PhotopropWarning, match="passivity"):
        checks.enforce(c, strict=False, label="test")

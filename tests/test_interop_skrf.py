"""scikit-rf adapter (pipeline.interop.skrf_networks) with the shipped library: Networks of
entries and compact models (ports, frequency, z0, S_ij order); an ``skrf.circuit.Circuit``
of the MZI equals ``pipeline.circuit.compose`` to 1e-12; Touchstone round trips unchanged;
out-of-range requests raise ExtrapolationError. Never simulates."""

from __future__ import annotations

import numpy as np
import pytest

skrf = pytest.importorskip("skrf")

from pipeline.circuit import Netlist, compose  # noqa: E402
from pipeline.errors import ConventionError, ExtrapolationError  # noqa: E402
from pipeline.interop import skrf_networks as sn  # noqa: E402
from pipeline.interop.sax_models import smatrix  # noqa: E402
from pipeline.smatrix import interp_wavelength  # noqa: E402
from pipeline.touchstone import C_UM_HZ  # noqa: E402

WL = np.array([1.51, 1.537, 1.55, 1.583])
POWERS = (0.0, 0.004, 0.011, 0.023)  # heater powers [W]
PORTS = {"o1": "c1,o1", "o2": "c1,o2", "o3": "c2,o3", "o4": "c2,o4"}
CONNECTIONS = (("c1,o3", "top,o1"), ("top,o2", "c2,o2"), ("c1,o4", "bot,o1"), ("bot,o2", "c2,o1"))


def mzi(library, c1, c2, wl, power):
    return Netlist({"c1": c1, "c2": c2, "top": smatrix("phase_shifter", wl, library, power_w=power),
                    "bot": smatrix("waveguide", wl, library, length=100.0, dw=0.005)}, CONNECTIONS, PORTS)


@pytest.fixture(scope="module")
def entry(library):
    return library.entries("directional_coupler")[0]


def test_network_of_an_entry(entry):
    s = entry.smatrix
    net = sn.entry_network(entry)
    assert net.port_names == ["o1", "o2", "o3", "o4"] and np.all(np.diff(net.f) > 0)
    assert np.allclose(net.f, np.sort(C_UM_HZ / s.wavelength.values), rtol=1e-15)
    assert np.all(net.z0 == sn.Z0_OHM)
    # s[f, i, j] = S[port_out=i, port_in=j]; ascending frequency = descending wavelength
    assert np.array_equal(net.s[:, 2, 0], s.sel(port_out="o3", port_in="o1").values[::-1])
    back = sn.smatrix_from_network(net)
    assert np.array_equal(back.values, s.values) and np.allclose(back.wavelength, s.wavelength, rtol=1e-15)
    rf = sn.network(s, time_convention="exp(+jwt)")
    assert np.array_equal(rf.s, np.conj(net.s))


def test_mzi_circuit_matches_pipeline_circuit(library, entry):
    worst = 0.0
    for c1, c2, wl in ((smatrix("coupler", WL, library), smatrix("coupler", WL, library, dw=0.012, dt=-0.004), WL),
                       (interp_wavelength(entry.smatrix, WL),) * 2 + (WL,)):
        for power in POWERS:
            net = mzi(library, c1, c2, wl, power)
            ref = compose(net).values
            for convention in ("exp(-iwt)", "exp(+jwt)"):
                got = sn.circuit_smatrix(net, time_convention=convention)
                assert list(got.port_in.values) == list(PORTS)
                worst = max(worst, float(np.abs(got.values - ref).max()))
    assert worst <= 1e-12, worst


def test_compact_model_network(library):
    net = sn.compact_model_network("mmi", WL, library, dw=0.01)
    s = smatrix("mmi", WL, library, dw=0.01)
    assert np.array_equal(sn.smatrix_from_network(net).values, s.values)
    assert net.nports == 4 and net.name == "mmi"


def test_touchstone_round_trip_unchanged(entry, tmp_path):
    s = entry.smatrix
    back = sn.read_touchstone(sn.write_touchstone(s, tmp_path / "dc.s4p"))
    assert float(np.abs(back.values - s.values).max()) <= 1e-15
    assert np.allclose(back.wavelength, s.wavelength, rtol=1e-14, atol=0)
    # a Network written by scikit-rf itself and read back
    sn.network(s, time_convention="exp(+jwt)").write_touchstone(str(tmp_path / "rf"), form="ri")
    rf = sn.smatrix_from_network(skrf.Network(str(tmp_path / "rf.s4p")), time_convention="exp(+jwt)")
    assert float(np.abs(rf.values - s.values).max()) <= 1e-15 and list(rf.port_in.values) == list(s.port_in.values)


def test_errors_are_clear(library, entry):
    with pytest.raises(ExtrapolationError, match="outside the simulated band"):
        sn.entry_network(entry, wavelength=[1.55, 1.7])
    with pytest.raises(ExtrapolationError, match="outside the swept range"):
        sn.compact_model_network("coupler", [1.4], library)
    with pytest.raises(ConventionError, match="time_convention"):
        sn.network(entry.smatrix, time_convention="exp(+iwt)")

"""Connection-matrix composition against closed-form circuits."""

import numpy as np
import pytest

from pipeline.circuit import Netlist, compose
from pipeline.errors import SpecError
from pipeline.smatrix import make_smatrix

WL = np.linspace(1.54, 1.56, 201)


def waveguide(length_um, neff=2.4, loss_db_per_cm=3.0):
    """Two-port straight guide: exp(+i 2π n L / λ) (exp(-iωt) convention) with loss."""
    amp = 10 ** (-loss_db_per_cm * length_um * 1e-4 / 20)
    t = amp * np.exp(1j * 2 * np.pi * neff * length_um / WL)
    s = np.zeros((WL.size, 2, 2), complex)
    s[:, 0, 1] = s[:, 1, 0] = t
    return make_smatrix(s, WL, ["o1", "o2"])


def coupler(kappa2):
    t, k = np.sqrt(1 - kappa2), np.sqrt(kappa2)
    m = np.zeros((4, 4), complex)
    m[2, 0] = m[0, 2] = m[3, 1] = m[1, 3] = t
    m[3, 0] = m[0, 3] = m[2, 1] = m[1, 2] = 1j * k
    return make_smatrix(np.broadcast_to(m, (WL.size, 4, 4)), WL, ["o1", "o2", "o3", "o4"])


def test_cascade_adds_phase_and_loss():
    net = Netlist({"a": waveguide(10), "b": waveguide(25)}, [("a,o2", "b,o1")], {"in": "a,o1", "out": "b,o2"})
    s = compose(net)
    np.testing.assert_allclose(s.sel(port_out="out", port_in="in").values,
                               waveguide(35).sel(port_out="o2", port_in="o1").values, rtol=1e-12)
    assert np.allclose(s.sel(port_out="in", port_in="in"), 0)


def test_ring_resonator_matches_all_pass_formula():
    kappa2, length = 0.05, 60.0
    net = Netlist({"dc": coupler(kappa2), "ring": waveguide(length)},
                  [("dc,o4", "ring,o1"), ("ring,o2", "dc,o2")], {"in": "dc,o1", "through": "dc,o3"})
    s = compose(net).sel(port_out="through", port_in="in").values
    loop = waveguide(length).sel(port_out="o2", port_in="o1").values  # a e^{iφ}
    t = np.sqrt(1 - kappa2)
    expected = (t - loop) / (1 - t * loop)
    np.testing.assert_allclose(s, expected, rtol=1e-10, atol=1e-12)
    assert np.abs(s).min() < 0.9 < np.abs(s).max()  # a resonance lies in the band


def test_mzi_from_couplers_is_unitary_when_lossless():
    net = Netlist({"c1": coupler(0.5), "arm_top": waveguide(10.0, loss_db_per_cm=0),
                   "arm_bot": waveguide(10.2, loss_db_per_cm=0), "c2": coupler(0.5)},
                  [("c1,o3", "arm_top,o1"), ("c1,o4", "arm_bot,o1"), ("arm_top,o2", "c2,o1"), ("arm_bot,o2", "c2,o2")],
                  {"i1": "c1,o1", "i2": "c1,o2", "o1": "c2,o3", "o2": "c2,o4"})
    s = compose(net).sel(port_in=["i1", "i2"], port_out=["o1", "o2"]).values
    gram = np.conj(np.swapaxes(s, -1, -2)) @ s
    assert np.abs(gram - np.eye(2)).max() < 1e-12
    # cross-port power of an MZI: cos²(Δφ/2) with Δφ = 2π n ΔL / λ
    dphi = 2 * np.pi * 2.4 * 0.2 / WL
    np.testing.assert_allclose(np.abs(s[:, 1, 0]) ** 2, np.cos(dphi / 2) ** 2, atol=1e-12)


def test_bad_netlists_are_named():
    with pytest.raises(SpecError, match="no instance port 'a,o3'"):
        compose(Netlist({"a": waveguide(1)}, [("a,o3", "a,o1")], {"x": "a,o2"}))
    with pytest.raises(SpecError, match="neither connected nor circuit ports"):
        compose(Netlist({"a": waveguide(1)}, [], {"x": "a,o2"}))

"""The composed MZI (two cached FDTD 3-dB couplers + analytic arms) vs an FDTD run of the
whole MZI in one cell (issue 5), plus fast tests of the MZI device spec / layout and of
the composition on its own against closed forms.

Independent references of the fast tests: the even TM (Hz) mode of a symmetric slab from
its closed-form dispersion relation tan(h d/2) = (n₁²/n₂²) q/h, solved here by bisection
(not by the pipeline's transfer-matrix solver), and the closed-form transfer of an MZI of
two lossless couplers (t, iκ): S[o3,o1] = iκt (e^{iφu} + e^{iφl}), S[o4,o1] = t² e^{iφl} − κ² e^{iφu}.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from solvers import needs_solver
from scipy.optimize import brentq

import devices
from devices.directional_coupler import DirectionalCouplerSpec
from devices.mzi import MZISpec, coupler_length, heated_medium, layout
from pipeline.cache import DeviceCache
from pipeline.circuit import mzi as cmzi
from pipeline.errors import CacheError, SpecError
from pipeline.fdtd import Meep2DSpec, build
from pipeline.fdtd.layout import Polygon, Rect
from pipeline.fdtd.material2d import Medium
from pipeline.smatrix import make_smatrix

#: The shipped library (read only; never written by these tests).
SHIPPED = Path(__file__).resolve().parents[1] / "cache"
#: Stated tolerance on |S|² of every transmission, over the band: the largest excess loss of
#: ONE shipped 3-dB coupler in the band (0.0304 at 1.50 µm, rounded). That is the power the coupler's
#: FDTD entry discards (radiated by its bends, or non-guided near field at its port planes)
#: and whose fate the two models treat differently: the composition drops it at each
#: coupler, the whole-MZI run lets part of it reach the second coupler. The other
#: differences are smaller: heated-section numerical dispersion (~0.5 % of β at 30 px/µm:
#: ≤ 0.016 rad at π, ≤ 0.008 in |S|²), end reflections of the heated section (≤ 3e-4) and
#: the coupler geometry's registration on the grid along x.
TOL = 0.03
#: A switch: at the centre wavelength the bar (phase 0) or cross (phase π) port is ≥ 20 dB
#: below the other in both models (the composed MZI predicts 37 dB and 30 dB+).
EXTINCTION_DB = 20.0
TRANSMISSIONS = [(o, i) for i in ("o1", "o2", "o3", "o4") for o in ("o1", "o2", "o3", "o4")
                 if (i in ("o1", "o2")) != (o in ("o1", "o2"))]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _p(s, o: str, i: str) -> np.ndarray:
    return np.abs(s.sel(port_out=o, port_in=i).values) ** 2


@pytest.fixture(scope="module")
def coupler():
    entry = DeviceCache(SHIPPED).get(MZISpec().coupler_spec(), Meep2DSpec())
    assert entry is not None, "the shipped library lacks the 3-dB coupler (gap 0.2, L 16.5)"
    return entry


# -- spec and layout -------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "field"), [
    ({"heated_length": 13.0, "arm_length": 12.0}, "heated_length"),
    ({"port_separation": 0.6}, "port_separation"),
    ({"delta_n_core": 0.5}, "delta_n_core"),
    ({"arm_length": 0.0}, "arm_length"),
    ({"heater": "TiN"}, "heater"),
])
def test_bad_mzi_specs_name_the_field(kwargs, field):
    with pytest.raises(SpecError, match=field):
        MZISpec(**kwargs)


def test_mzi_is_registered_and_uses_the_shipped_coupler(coupler):
    assert devices.spec_class("mzi") is MZISpec
    assert MZISpec().coupler_spec() == DirectionalCouplerSpec(gap=0.2, coupling_length=16.5)
    assert coupler.path.parent.parent == SHIPPED
    wl = coupler.smatrix.wavelength.values
    k = int(np.argmin(np.abs(wl - 1.55)))
    assert _p(coupler.smatrix, "o3", "o1")[k] == pytest.approx(0.5, abs=0.02)  # 3 dB at the centre
    loss = 1 - _p(coupler.smatrix, "o3", "o1") - _p(coupler.smatrix, "o4", "o1")
    assert loss.max() == pytest.approx(TOL, abs=0.005)  # the basis of the stated tolerance (0.0304 at 1.50 um)
    assert MZISpec(delta_n_core=0.0186).equivalent_delta_t_k == pytest.approx(100.0)


def test_mzi_layout_is_two_couplers_and_a_heated_arm():
    spec = MZISpec(arm_length=12.0, heated_length=10.0, delta_n_core=0.05)
    lay = layout(spec, core=Medium(eps_inf=8.0))
    lc = coupler_length(spec)
    p = {q.name: q for q in lay.ports}
    assert p["o1"].x == pytest.approx(-(6.0 + lc)) and p["o3"].x == pytest.approx(6.0 + lc)
    assert (p["o1"].y, p["o2"].y, p["o3"].y, p["o4"].y) == (-1.0, 1.0, 1.0, -1.0)
    assert build.source_ports(lay, True) == ["o1", "o2"]  # x mirror only: the heater breaks y
    (name, med), = lay.media
    assert name == "heated" and math.sqrt(med.eps_inf) == pytest.approx(math.sqrt(8.0) + 0.05, abs=1e-12)
    rects = [s for s in lay.shapes if isinstance(s, Rect) and abs(s.sx - 16.5) > 1e-9]
    heated = [r for r in rects if r.material == "heated"]
    assert len(heated) == 1 and (heated[0].x, heated[0].y, heated[0].sx) == (0.0, 1.0, 10.0)
    assert sum(r.sx for r in rects if r.y == 1.0) == pytest.approx(12.0)  # upper arm covered once
    assert sum(r.sx for r in rects if r.y == -1.0) == pytest.approx(12.0)
    # the couplers are the coupler device's own shapes, shifted by ∓(arm + coupler)/2
    c = devices.get("directional_coupler").layout(spec.coupler_spec())
    polys = [s for s in lay.shapes if isinstance(s, Polygon)]
    cpolys = [s for s in c.shapes if isinstance(s, Polygon)]
    dx = 0.5 * (12.0 + lc)
    assert len(polys) == 2 * len(cpolys)
    np.testing.assert_allclose(np.array(polys[0].vertices) + [dx, 0], np.array(cpolys[0].vertices), atol=1e-12)
    np.testing.assert_allclose(np.array(polys[len(cpolys)].vertices) - [dx, 0], np.array(cpolys[0].vertices),
                               atol=1e-12)


def test_heated_medium_refuses_dispersive_core():
    with pytest.raises(SpecError, match="dispersive"):
        heated_medium(Medium(eps_inf=7.0, sigma=1.0, f0=2.0), 0.01)


# -- composition on its own -------------------------------------------------------------------------

def _tm_even_neff(lam: float, d: float, n1: float, n2: float) -> float:
    """Closed-form even TM (Hz) mode of a symmetric slab: tan(h d/2) = (n1/n2)² q/h."""
    k0 = 2 * math.pi / lam

    def f(n: float) -> float:
        h, q = k0 * math.sqrt(n1**2 - n**2), k0 * math.sqrt(n**2 - n2**2)
        return math.tan(h * d / 2) - (n1 / n2) ** 2 * q / h

    # fundamental: h d/2 in (0, π/2)
    n_lo = math.sqrt(max(n1**2 - (math.pi / (k0 * d)) ** 2, n2**2)) + 1e-12
    return brentq(f, n_lo, n1 - 1e-12, xtol=1e-14)


def test_arm_neff_and_heater_phase_match_the_closed_form_slab():
    n_core, n_clad, lam = 2.8356, 1.1542, 1.55
    got = cmzi.guide_neff([1.50, 1.55, 1.60], 0.5, n_core, n_clad)
    want = [_tm_even_neff(w, 0.5, n_core, n_clad) for w in (1.50, 1.55, 1.60)]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert 2.3 < got[1] < 2.6  # the calibrated guide mimics the 3D strip (n_eff ≈ 2.44)
    dn = 0.04
    ph = cmzi.heater_phase(lam, 0.5, n_core, n_clad, dn, 10.0)[0]
    want_ph = 2 * math.pi * (_tm_even_neff(lam, 0.5, n_core + dn, n_clad) - want[1]) * 10.0 / lam
    assert ph == pytest.approx(want_ph, rel=1e-7)
    assert cmzi.delta_n_for_phase(math.pi, lam, 0.5, n_core, n_clad, 10.0) == pytest.approx(
        brentq(lambda x: cmzi.heater_phase(lam, 0.5, n_core, n_clad, x, 10.0)[0] - math.pi, 0.01, 0.2), abs=1e-9)


def _ideal_coupler(kappa2: float, wl: np.ndarray):
    t, k = math.sqrt(1 - kappa2), 1j * math.sqrt(kappa2)
    v = np.zeros((wl.size, 4, 4), complex)
    idx = {"o1": 0, "o2": 1, "o3": 2, "o4": 3}
    for a, b, x in (("o1", "o4", t), ("o1", "o3", k), ("o2", "o3", t), ("o2", "o4", k)):
        v[:, idx[b], idx[a]] = v[:, idx[a], idx[b]] = x
    return make_smatrix(v, wl, ["o1", "o2", "o3", "o4"]), t, k


def test_composition_matches_the_closed_form_mzi():
    wl = np.array([1.50, 1.55, 1.60])
    c, t, k = _ideal_coupler(0.3, wl)
    n_core, n_clad, dn = 2.8356, 1.1542, 0.03
    s = cmzi.mzi_smatrix(c, width=0.5, arm_length=12.0, heated_length=10.0, delta_n_core=dn,
                         n_core=n_core, n_clad=n_clad)
    neff = np.array([_tm_even_neff(w, 0.5, n_core, n_clad) for w in wl])
    nh = np.array([_tm_even_neff(w, 0.5, n_core + dn, n_clad) for w in wl])
    phi_l = 2 * np.pi * neff * 12.0 / wl
    phi_u = 2 * np.pi * (neff * 2.0 + nh * 10.0) / wl
    np.testing.assert_allclose(s.sel(port_out="o3", port_in="o1").values,
                               1j * k.imag * t * (np.exp(1j * phi_u) + np.exp(1j * phi_l)), atol=1e-9)
    np.testing.assert_allclose(s.sel(port_out="o4", port_in="o1").values,
                               t**2 * np.exp(1j * phi_l) - abs(k) ** 2 * np.exp(1j * phi_u), atol=1e-9)
    v = s.values
    np.testing.assert_allclose(np.conj(np.swapaxes(v, 1, 2)) @ v, np.broadcast_to(np.eye(4), v.shape), atol=1e-9)


def test_composed_mzi_from_the_shipped_couplers_switches(coupler):
    before = _sha(coupler.path)
    wl = coupler.smatrix.wavelength.values
    k = int(np.argmin(np.abs(wl - 1.55)))
    n_core, n_clad, _ = cmzi.entry_indices(coupler)
    s0, used = cmzi.compose_mzi_from_cache(MZISpec(), Meep2DSpec(), DeviceCache(SHIPPED))
    assert used.key == coupler.key
    kc, tb = _p(coupler.smatrix, "o3", "o1")[k], _p(coupler.smatrix, "o4", "o1")[k]
    assert _p(s0, "o3", "o1")[k] == pytest.approx(4 * kc * tb, abs=0.01)  # two 3-dB couplers: cross
    assert _p(s0, "o4", "o1")[k] < 0.01
    dn = cmzi.delta_n_for_phase(math.pi, float(wl[k]), 0.5, float(n_core[k]), float(n_clad[k]), 10.0)
    spi, _ = cmzi.compose_mzi_from_cache(MZISpec(delta_n_core=round(dn, 5)), Meep2DSpec(), DeviceCache(SHIPPED))
    assert _p(spi, "o3", "o1")[k] < 0.01 and _p(spi, "o4", "o1")[k] > 0.97  # phase π: bar
    for s in (s0, spi):
        v = s.values
        assert np.abs(v - np.swapaxes(v, 1, 2)).max() < 0.02  # reciprocal as its parts
        assert np.linalg.svd(v, compute_uv=False).max() <= 1.0 + 2e-3  # passive
    assert _sha(coupler.path) == before


def test_composition_refuses_the_wrong_coupler_or_a_missing_one(coupler, tmp_path):
    with pytest.raises(SpecError, match="not the MZI's coupler"):
        cmzi.compose_mzi_from_entries(MZISpec(gap=0.25), coupler)
    with pytest.raises(CacheError, match="library build"):
        cmzi.compose_mzi_from_cache(MZISpec(), Meep2DSpec(), DeviceCache(tmp_path))
    with pytest.raises(SpecError, match="heated_length"):
        cmzi.mzi_smatrix(coupler.smatrix, width=0.5, arm_length=5.0, heated_length=6.0, delta_n_core=0.0,
                         n_core=2.8, n_clad=1.15)


def test_figures_of_merit_of_an_mzi_entry(coupler, tmp_path):
    """The figure-of-merit arithmetic on an entry holding the composed S-matrix itself (so
    the comparison with the composition must give 0) and the coupler's media + a heater."""
    from pipeline.cache import CacheEntry

    wl = coupler.smatrix.wavelength.values
    n_core, n_clad, _ = cmzi.entry_indices(coupler)
    dn = round(cmzi.delta_n_for_phase(math.pi / 2, 1.55, 0.5, float(n_core[5]), float(n_clad[5]), 10.0), 5)
    spec = MZISpec(delta_n_core=dn)
    composed = cmzi.compose_mzi_from_entries(spec, coupler)
    media = dict(coupler.provenance["material_model"])
    media["heated_medium"] = {"eps_inf": (math.sqrt(media["core_medium"]["eps_inf"]) + dn) ** 2, "sigma": 0.0,
                              "f0": 1.0}
    entry = CacheEntry(key="0" * 64, path=tmp_path / "x.h5", data=composed.to_dataset(name="S"), device_spec=spec,
                       solver_spec=Meep2DSpec(), provenance={"material_model": media})
    fom = devices.get("mzi").figures_of_merit(entry, companions={"coupler": coupler})
    assert fom["composed_max_abs_dpower"] == pytest.approx(0.0, abs=1e-12)
    assert fom["phase_difference_rad"] == pytest.approx(math.pi / 2, abs=1e-3)
    k = int(np.argmin(np.abs(wl - 1.55)))
    assert fom["power_cross"] == pytest.approx(_p(composed, "o3", "o1")[k], rel=1e-9)
    assert fom["power_cross"] + fom["power_bar"] == pytest.approx(10 ** (-fom["excess_loss_db"] / 10), rel=1e-9)
    assert fom["equivalent_delta_t_k"] == pytest.approx(dn / 1.86e-4)

# -- the whole MZI by FDTD -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.meep
@pytest.mark.parametrize("phase_pi", [0.0, 0.5, 1.0])
def test_whole_mzi_fdtd_agrees_with_the_composed_mzi(phase_pi, coupler, tmp_path):
    """One FDTD cell holding coupler – arms – coupler (3–4 min per phase on one core,
    11 min for all three on the shared 2-core machine:
    ~30 s MPB calibration once per process, two 85 s source-port runs) vs the composition of
    the SAME shipped coupler entry (read from cache/, unchanged, never recomputed) with
    exact-slab arms: every transmission |S|² within TOL over the band (see TOL for why
    0.03), and at phases 0 / π the switch extinction ≥ 20 dB at 1.55 µm in both."""
    needs_solver("meep")
    from pipeline.simulate import simulate

    before = _sha(coupler.path)
    wl = coupler.smatrix.wavelength.values
    k = int(np.argmin(np.abs(wl - 1.55)))
    n_core, n_clad, _ = cmzi.entry_indices(coupler)
    dn = round(cmzi.delta_n_for_phase(phase_pi * math.pi, float(wl[k]), 0.5, float(n_core[k]),
                                      float(n_clad[k]), 10.0), 5)
    spec = MZISpec(delta_n_core=dn)
    work = DeviceCache(tmp_path / "lib")
    entry, cached = simulate(spec, Meep2DSpec(), cache=work)
    assert not cached and entry.checks["passed"], entry.checks.get("failures")
    assert [p.name for p in (tmp_path / "lib").iterdir() if p.is_dir()] == ["mzi"]  # no coupler recomputed
    composed, used = cmzi.compose_mzi_from_cache(spec, Meep2DSpec(), DeviceCache(SHIPPED))
    assert used.key == coupler.key and _sha(coupler.path) == before
    # both simulations saw the same 2D media; the heater is the stated Δn
    f_core, _, f_heated = cmzi.entry_indices(entry)
    assert np.abs(f_core - n_core).max() < 1e-4
    np.testing.assert_allclose(f_heated - f_core, dn, atol=1e-9)
    worst = max(float(np.abs(_p(entry.smatrix, o, i) - _p(composed, o, i)).max()) for o, i in TRANSMISSIONS)
    assert worst <= TOL, f"max |d|S|^2| = {worst:.4f} at phase {phase_pi} pi"
    mzi = devices.get("mzi")
    fom = mzi.figures_of_merit(entry, companions={"coupler": DeviceCache(SHIPPED).get(
        mzi.companions(spec)["coupler"], Meep2DSpec())})
    assert fom["composed_max_abs_dpower"] >= worst and fom["coupler_key"] == coupler.key
    assert fom["phase_difference_rad"] == pytest.approx(phase_pi * math.pi, abs=2e-3)
    for s in (entry.smatrix, composed):
        cross, bar = _p(s, "o3", "o1")[k], _p(s, "o4", "o1")[k]
        if phase_pi == 0.0:
            assert 10 * np.log10(cross / bar) >= EXTINCTION_DB
        elif phase_pi == 1.0:
            assert 10 * np.log10(bar / cross) >= EXTINCTION_DB
        else:
            assert cross == pytest.approx(0.5, abs=0.1) and bar == pytest.approx(0.5, abs=0.1)

"""Directional-coupler compact model: extraction on synthetic couplers (exact), the model fitted
to the FDTD sweep of the device library (physics trends, reciprocity, passivity, stored
accuracy vs held-out FDTD), and (slow) its L_c sensitivities vs 3D MPB supermodes."""

import json

import numpy as np
import pytest

import devices.coupler_model as cm
from pipeline.errors import CacheError, ExtrapolationError, SpecError
from pipeline.smatrix import make_smatrix, max_singular_value, reciprocity_error

LAM = np.linspace(1.50, 1.60, 11)


# -- synthetic couplers: the extraction and fit must be exact ----------------------------------
def _true_params(lam, dw, dt):
    """Smooth (quadratic) supermode parameters of a made-up but realistic coupler."""
    z = (lam - 1.55) / 0.05
    x, y = dw / 0.02, dt / 0.01
    return {"log_dn": np.log(0.0205) + 0.19 * z - 0.05 * x + 0.03 * y + 0.01 * x * z - 0.004 * z ** 2,
            "dphi0": 0.17 + 0.02 * z - 0.01 * x,
            "n_mean": 2.456 - 0.025 * z + 0.035 * x + 0.04 * y - 0.002 * x ** 2 + 0.001 * z ** 2,
            "phi_mean0": -172.0 - 3.1 * z + 0.6 * x + 0.5 * y + 0.02 * z ** 2,
            "log_amp_even": -0.005 + 0.001 * z - 0.001 * x,
            "log_amp_odd": -0.008 - 0.002 * z}


def _synthetic_sweep(sweep):
    out = {}
    for role, dw, dt, length in sweep.runs():
        sb, sc = cm.rebuild(LAM, length, _true_params(LAM, dw, dt))
        out[(role, dw, dt, length)] = make_smatrix(cm.assemble(sb, sc), LAM, list(cm.PORTS))
    return out


@pytest.fixture(scope="module")
def synthetic():
    sweep = cm.CouplerSweepSpec()
    # the branch prior (each geometry's own strip n_eff) deliberately off by 0.03 (< λ/(2ΔL) = 0.0775)
    prior = {pt: float(_true_params(1.55, *pt)["n_mean"]) + 0.03 for pt in sweep.points() + sweep.points(holdout=True)}
    return sweep, cm.fit(sweep, _synthetic_sweep(sweep), prior)


def test_fit_recovers_synthetic_parameters_exactly(synthetic):
    sweep, model = synthetic
    for dw, dt in [(0.0, 0.0), (0.013, -0.007), (-0.02, 0.01)]:
        got = model.parameters(wavelength=LAM, dw=dw, dt=dt)
        true = _true_params(LAM, dw, dt)
        for q in cm.QUANTITIES:
            if q == "phi_mean0":  # defined modulo 2π (with dphi0 in its branch)
                d = np.angle(np.exp(1j * (got[q] - true[q])))
            else:
                d = got[q] - true[q]
            assert np.abs(d).max() < 1e-9, q
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["holdout_max_abs_dkappa2"] < 1e-12 and acc["holdout_max_phase_error_rad"] < 1e-9
    assert acc["holdout_max_lc_rel_error"] < 1e-10


def test_extract_pair_matches_pipeline_coupling_length(synthetic):
    from pipeline.fdtd.coupling import coupling_length

    sweep, _ = synthetic
    runs = _synthetic_sweep(sweep)
    s1, s2 = runs[("fit", 0.02, 0.0, 16.5)], runs[("fit", 0.02, 0.0, 26.5)]
    p = cm.extract_pair(s1, 16.5, s2, 26.5, 2.45)
    np.testing.assert_allclose(p["lc"], coupling_length(s1, 16.5, s2, 26.5), rtol=1e-12)
    np.testing.assert_allclose(p["lc"], LAM / (2 * np.exp(_true_params(LAM, 0.02, 0.0)["log_dn"])), rtol=1e-12)


def test_length_step_beyond_coupling_length_is_refused():
    sb, sc = cm.rebuild(LAM, 0.0, _true_params(LAM, 0.0, 0.0))
    s1 = make_smatrix(cm.assemble(sb, sc), LAM, list(cm.PORTS))
    sb, sc = cm.rebuild(LAM, 45.0, _true_params(LAM, 0.0, 0.0))  # ΔL = 45 µm > L_c ≈ 38 µm
    s2 = make_smatrix(cm.assemble(sb, sc), LAM, list(cm.PORTS))
    with pytest.raises(SpecError, match="smaller length step"):
        cm.extract_pair(s1, 0.0, s2, 45.0, 2.45)


def test_sweep_spec_definition_and_errors():
    sw = cm.CouplerSweepSpec()
    assert len(sw.runs()) == 20 and sw.units()["dw"] == "um"
    d = sw.device(0.02, -0.01, 26.5)  # fixed pitch: gap − δw
    assert (d.width, d.thickness, d.gap, d.coupling_length) == (0.52, 0.21, 0.18, 26.5)
    assert d.width + d.gap == pytest.approx(sw.width + sw.gap)
    with pytest.raises(SpecError, match="coupling_lengths"):
        cm.CouplerSweepSpec(coupling_lengths=(20.0, 10.0))
    with pytest.raises(SpecError, match="dw"):
        cm.CouplerSweepSpec(dw=(0.0, 0.01))
    with pytest.raises(SpecError, match="dw"):
        cm.CouplerSweepSpec(dw=(-0.02, 0.0, 0.25))


def test_missing_sweep_entries_name_the_fix(tmp_path):
    from pipeline.library import Library

    with pytest.raises(CacheError, match="run_sweep"):
        Library(tmp_path).fit("coupler", write=False)


# -- the model of the device library's FDTD sweep -------------------------------------------------
@pytest.fixture(scope="module")
def model():
    from pipeline.cache import DeviceCache
    from pipeline.fdtd.specs import Meep2DSpec

    cache = DeviceCache()
    sweep = cm.CouplerSweepSpec()
    shipped = cm.model_path(cache).exists() or all(
        cache.get(sweep.device(*run[1:]), Meep2DSpec()) is not None for run in sweep.runs())
    if not shipped:
        pytest.skip(f"coupler sweep not in the device library {cache.root}: "
                    "run `.venv/bin/python benchmarks/bench_coupler_model.py` with that cache")
    from pipeline.library import Library

    return Library(cache).model("coupler")


def test_stored_model_roundtrip(model, tmp_path):
    path = tmp_path / "m.nc"
    model.dataset.to_netcdf(path, engine="h5netcdf")
    again = cm.CouplerModel.load(path)
    kw = dict(wavelength=LAM, dw=0.007, dt=-0.004, model=None)
    np.testing.assert_allclose(cm.power_coupling(**{**kw, "model": again}), cm.power_coupling(**{**kw, "model": model}))
    assert len(json.loads(again.dataset.attrs["entries"])) == 20


def test_physics_trends_of_fdtd_model(model):
    # thicker Si: tighter vertical confinement, less evanescent overlap -> longer L_c, less coupling at L = 16.5
    dt = np.linspace(-0.01, 0.01, 9)
    assert np.all(np.diff(cm.coupling_length_um(wavelength=1.55, dt=dt, model=model)) > 0)
    assert np.all(np.diff(cm.power_coupling(wavelength=1.55, dt=dt, model=model)) < 0)
    # wider guides at FIXED PITCH: confinement (longer L_c) competes with the narrower gap (shorter L_c);
    # the gap wins (3D MPB: dL_c/ddw = -23 um/um, benchmarks/results/coupler_model.txt) -> shorter L_c,
    # more coupling at L = 16.5 < L_c
    dw = np.linspace(-0.02, 0.02, 9)
    assert np.all(np.diff(cm.coupling_length_um(wavelength=1.55, dw=dw, model=model)) < 0)
    assert np.all(np.diff(cm.power_coupling(wavelength=1.55, dw=dw, model=model)) > 0)
    # longer wavelength -> less confinement -> shorter L_c, stronger coupling at fixed L
    assert np.all(np.diff(cm.coupling_length_um(wavelength=LAM, model=model)) < 0)
    assert np.all(np.diff(cm.power_coupling(wavelength=LAM, model=model)) > 0)
    # the nominal design is the shipped 3-dB coupler; L_c within 5 % of converged 3D MPB (37.91 um)
    assert cm.power_coupling(wavelength=1.55, model=model) == pytest.approx(0.5, abs=0.03)
    assert float(cm.coupling_length_um(wavelength=1.55, model=model)) == pytest.approx(37.91, rel=0.05)


def test_rebuilt_smatrix_reciprocal_passive_and_loss_consistent(model):
    rng = np.random.default_rng(0)
    dw, dt = rng.uniform(-0.02, 0.02, 50), rng.uniform(-0.01, 0.01, 50)
    s = cm.coupler(wavelength=LAM, dw=dw, dt=dt, model=model)
    assert s.dims == ("instance", "wavelength", "port_out", "port_in")
    assert float(reciprocity_error(s).max()) == 0.0
    assert float(max_singular_value(s).max()) <= 1.0 + 1e-12
    out = (np.abs(s) ** 2).sum("port_out").sel(port_in="o1").values  # (instance, wavelength)
    loss = cm.excess_loss_db(wavelength=LAM[None, :], dw=dw[:, None], dt=dt[:, None], model=model)
    np.testing.assert_allclose(1 - out, 1 - 10 ** (-loss / 10), atol=1e-12)
    assert 0 <= loss.min() and loss.max() < 0.3  # bends: small radiation loss
    np.testing.assert_allclose(
        np.abs(s.sel(port_out="o3", port_in="o1").values) ** 2,
        cm.power_coupling(wavelength=LAM[None, :], dw=dw[:, None], dt=dt[:, None], model=model), rtol=1e-12)


def test_scalar_call_and_extrapolation_errors(model):
    s = cm.coupler(wavelength=1.55, model=model)
    assert s.dims == ("wavelength", "port_out", "port_in") and s.attrs["coupling_length_um"] == 16.5
    with pytest.raises(ExtrapolationError, match="dw"):
        cm.power_coupling(dw=0.05, model=model)
    with pytest.raises(ExtrapolationError, match="wavelength"):
        cm.coupler(wavelength=1.65, model=model)
    with pytest.raises(SpecError, match="coupling_length"):
        cm.coupler(coupling_length=-1.0, model=model)


def test_accuracy_vs_held_out_fdtd_is_stored_and_small(model):
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert "holdout_dkappa2" in model.dataset and model.dataset.holdout_dw.size >= 1
    # measured (benchmarks/results/coupler_model.txt): |dkappa2| <= 0.012, L_c 0.9 %, phase 0.18 rad (the
    # phase error is ~2*pi*dn*L/lambda with dn ~ 1e-3: the 30 px/um FDTD's n_mean scatter between
    # geometries, which a smooth model cannot follow); bounds with margin for a rebuild
    assert acc["holdout_max_abs_dkappa2"] < 0.02
    assert acc["holdout_max_phase_error_rad"] < 0.25
    assert acc["holdout_max_lc_rel_error"] < 0.02


def test_monte_carlo_fast_path(model):
    import time

    rng = np.random.default_rng(1)
    n = 100_000
    t0 = time.perf_counter()
    k2 = cm.power_coupling(wavelength=1.55, dw=rng.normal(0, 0.007, n).clip(-0.02, 0.02),
                           dt=rng.normal(0, 0.004, n).clip(-0.01, 0.01), model=model)
    assert time.perf_counter() - t0 < 1.0 and k2.shape == (n,)
    assert 0.35 < k2.mean() < 0.65 and 0 < k2.std() < 0.1


# -- independent physics: 3D full-vectorial supermodes (MPB) -------------------------------------
def _secants(model):
    from pipeline.modes.coupling import converged_coupling_length

    sw = cm.CouplerSweepSpec()
    mpb = lambda w, t: converged_coupling_length(sw.width + w, sw.thickness + t, sw.gap - w)["coupling_length_um"]  # noqa
    fdtd = lambda w, t: float(cm.coupling_length_um(wavelength=1.55, dw=w, dt=t, model=model))  # noqa
    return {"w": ((fdtd(0.02, 0) - fdtd(-0.02, 0)) / 0.04, (mpb(0.02, 0) - mpb(-0.02, 0)) / 0.04),
            "t": ((fdtd(0, 0.01) - fdtd(0, -0.01)) / 0.02, (mpb(0, 0.01) - mpb(0, -0.01)) / 0.02)}


@pytest.mark.slow
def test_lc_thickness_sensitivity_agrees_with_3d_supermodes(model):
    """dL_c/dδt of the FDTD compact model vs converged 3D MPB supermodes of the same
    perturbed cross-sections (secant over ±10 nm). Measured: 276 vs 264 um/um (+4.5 %)."""
    fdtd, mpb = _secants(model)["t"]
    assert fdtd == pytest.approx(mpb, rel=0.3)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "measured dL_c/ddw (fixed pitch) -55 um/um from 2D FDTD at 30 px/um vs -23 um/um from 3D MPB: width and "
    "gap effects nearly cancel (L_c changes only 2.4 % over +-20 nm) and the FDTD's L_c scatters by ~3 % "
    "between geometries (exact 2D slab modes with the same calibrated indices give -27.3 um/um); "
    "lengths 16.5/56.5 um instead of 16.5/26.5 give the same -54.5 um/um, so it is the 30 px/um "
    "discretization, not phase noise; closing the gap to 30 % needs ~3x finer FDTD grids for the width sweep"))
def test_lc_width_sensitivity_agrees_with_3d_supermodes(model):
    fdtd, mpb = _secants(model)["w"]
    assert fdtd == pytest.approx(mpb, rel=0.3)

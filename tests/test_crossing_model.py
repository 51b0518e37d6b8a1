"""Crossing compact model: the amplitude/phase table on synthetic data (closed form), the
shipped model against the held-out FDTD run (δw = +10 nm) and the crossing's own figures
of merit, reciprocity, passivity and input validation."""

import json

import numpy as np
import pytest
import xarray as xr

import devices.crossing_model as xm
from pipeline.errors import ExtrapolationError
from pipeline.smatrix import make_smatrix, max_singular_value, reciprocity_error

LAM = np.linspace(1.50, 1.60, 11)


def _synthetic(dw, lam):
    """S with ln|S| quadratic in δw and phase linear in λ, quadratic in δw (exactly
    representable by the table), reciprocal."""
    i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    a = -1.5 - 0.2 * (i + j) + 3.0 * dw - 40.0 * dw**2  # sigma_max < 1: passive
    ph = (5.0 + 0.7 * (i + j)) - 60.0 * (lam[:, None, None] - 1.55) + 25.0 * dw + 300 * dw**2 * (i + j)
    return np.exp(a + 1j * ph)


def test_table_is_exact_for_its_function_class():
    nodes = [-0.02, 0.0, 0.02]
    table = xm.OffsetTable.from_smatrices(nodes, [make_smatrix(_synthetic(w, LAM), LAM, list(xm.PORTS))
                                                  for w in nodes], xm.PORTS)
    lam = np.array([1.503, 1.5471, 1.598])
    for w in (-0.013, 0.004, 0.0177):
        got = table.evaluate(lam, w)
        assert np.max(np.abs(got - _synthetic(w, lam))) < 1e-10


@pytest.fixture(scope="module")
def shipped():
    from pipeline.cache import DeviceCache

    cache = DeviceCache()
    path = xm.model_path(cache)
    assert path.exists(), f"the shipped model {path.name} is missing: build_model() and commit it"
    return xm.CrossingModel.load(path), cache


def _direct(cache, dw):
    entry = cache.get(xm.CrossingSweepSpec().device(dw), xm.default_solver())
    return entry, entry.smatrix.sel(port_out=list(xm.PORTS), port_in=list(xm.PORTS)).transpose(
        "wavelength", "port_out", "port_in").values


def test_held_out_run(shipped):
    model, cache = shipped
    _, s = _direct(cache, 0.01)
    m = model.smatrix(LAM, 0.01)
    p_m, p_d = np.abs(m[:, 2, 0]) ** 2, np.abs(s[:, 2, 0]) ** 2
    assert np.max(np.abs(10 * np.log10(p_m / p_d))) < 0.05  # insertion loss [dB]
    xt_m = 10 * np.log10(np.maximum(np.abs(m[:, 1, 0]) ** 2, np.abs(m[:, 3, 0]) ** 2))
    xt_d = 10 * np.log10(np.maximum(np.abs(s[:, 1, 0]) ** 2, np.abs(s[:, 3, 0]) ** 2))
    assert np.max(np.abs(xt_m - xt_d)) < 3.0  # crosstalk at ~−40 dB [dB]
    assert np.max(np.abs(np.angle(m[:, 2, 0] / s[:, 2, 0]))) < 0.05  # through phase [rad]
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["holdout_max_abs_ds"] == pytest.approx(np.abs(m - 0.5 * (s + np.swapaxes(s, -1, -2)))
                                                      .max(), rel=1e-6, abs=1e-12)


def test_nodes_and_device_figures(shipped):
    model, cache = shipped
    import devices.crossing as dev

    for dw in (-0.02, 0.0, 0.02):
        entry, s = _direct(cache, dw)
        sym = 0.5 * (s + np.swapaxes(s, -1, -2))
        assert np.max(np.abs(model.smatrix(LAM, dw) - sym)) < 1e-9
        fom = dev.figures_of_merit(entry)
        assert xm.insertion_loss_db(wavelength=1.55, dw=dw, model=model) == pytest.approx(
            fom["insertion_loss_db"], abs=0.01)
        assert xm.crosstalk_db(wavelength=1.55, dw=dw, model=model) == pytest.approx(fom["crosstalk_db"], abs=0.5)


def test_reciprocal_passive_and_shaped(shipped):
    model, _ = shipped
    lam = np.linspace(1.5, 1.6, 37)
    s = xm.crossing(wavelength=lam, dw=np.linspace(-0.02, 0.02, 9), model=model)
    assert s.dims == ("instance", "wavelength", "port_out", "port_in") and s.sizes["instance"] == 9
    assert float(reciprocity_error(s).max()) < 1e-12
    assert float(max_singular_value(s).max()) <= 1.0 + 1e-12
    one = xm.crossing(wavelength=1.55, model=model)
    assert one.dims == ("wavelength", "port_out", "port_in") and isinstance(one, xr.DataArray)
    # wider guides: the IL trend between nodes is monotone interpolation of the FDTD trend
    il = xm.insertion_loss_db(wavelength=1.55, dw=np.array([-0.02, 0.0, 0.02]), model=model)
    assert np.all(np.isfinite(il)) and np.all(il > 0)


def test_errors(shipped):
    model, _ = shipped
    with pytest.raises(ExtrapolationError, match="dw = 0.03"):
        xm.crossing(dw=0.03, model=model)
    with pytest.raises(ExtrapolationError, match="wavelength = 1.45"):
        xm.insertion_loss_db(wavelength=1.45, model=model)
    with pytest.raises(ValueError, match="dw"):
        xm.CrossingSweepSpec(dw=(0.0, 0.02))
    assert sorted(s.width for s in xm.library_specs()) == [0.48, 0.5, 0.51, 0.52]


def test_wavelength_interpolation_on_a_coarser_grid(shipped):
    """Tabulate every other simulated wavelength (20 nm apart) and predict the omitted ones:
    the error bounds the interpolation error of the 10-nm table."""
    _, cache = shipped
    nodes = [-0.02, 0.0, 0.02]
    full = [cache.get(xm.CrossingSweepSpec().device(w), xm.default_solver()).smatrix for w in nodes]
    table = xm.OffsetTable.from_smatrices(nodes, [s.isel(wavelength=slice(0, None, 2)) for s in full], xm.PORTS)
    lam_mid = LAM[1::2]
    for w, s in zip(nodes, full):
        d = s.sel(port_out=list(xm.PORTS), port_in=list(xm.PORTS)).transpose("wavelength", "port_out",
                                                                              "port_in").values[1::2]
        m = table.evaluate(lam_mid, w)
        assert np.max(np.abs(np.abs(m[:, 2, 0]) ** 2 - np.abs(d[:, 2, 0]) ** 2)) < 0.01
        assert np.max(np.abs(np.angle(m[:, 2, 0] / d[:, 2, 0]))) < 0.05


def test_passive_projection_closed_form():
    """U diag(1.3, 0.4) Vh -> U diag(1, 0.4) Vh (then the reciprocal part); passive S unchanged."""
    rng = np.random.default_rng(1)
    q1, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
    s = q1 @ np.diag([1.3, 0.4]) @ q1.T  # complex symmetric (Takagi form)
    got = xm.passive(s)
    assert np.allclose(got, q1 @ np.diag([1.0, 0.4]) @ q1.T, atol=1e-12)
    ok = 0.9 * q1 @ q1.T
    assert np.array_equal(xm.passive(ok), ok)

"""Crossing compact model: the amplitude/phase table and the passivity projection on
closed forms, the shipped model against the held-out FDTD runs and the crossing's own
figures of merit, λ interpolation on a coarser grid, reciprocity, passivity, validation."""

import json

import numpy as np
import pytest
import xarray as xr

import devices.crossing_model as xm
from pipeline.errors import ExtrapolationError, SpecError
from pipeline.smatrix import make_smatrix, max_singular_value, reciprocity_error

LAM = np.linspace(1.50, 1.60, 11)
GRID = [(a, b) for a in (-0.02, 0.0, 0.02) for b in (-0.01, 0.0, 0.01)]


def _synthetic(dw, dt, lam):
    """S with ln|S| and phase quadratic in (δw, δt) per node axis, phase linear and falling
    in λ (exactly representable by the table), reciprocal and passive (σ_max < 1)."""
    i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    a = -1.5 - 0.2 * (i + j) + 3.0 * dw - 40.0 * dw**2 + 2.0 * dt - 90 * dt**2 + 100 * dw * dt
    ph = ((5.0 + 0.7 * (i + j)) - 60.0 * (np.asarray(lam)[:, None, None] - 1.55) + 25.0 * dw
          + 300 * dw**2 * (i + j) - 40 * dt + 900 * dt**2 * dw / 0.02)
    return np.exp(a + 1j * ph)


def test_table_is_exact_for_its_function_class():
    table = xm.OffsetTable.from_smatrices(
        {(a, b): make_smatrix(_synthetic(a, b, LAM), LAM, list(xm.PORTS)) for a, b in GRID}, xm.PORTS)
    lam = np.array([1.503, 1.5471, 1.598])
    for w, t in ((-0.013, 0.004), (0.004, -0.0092), (0.0177, 0.01)):
        assert np.max(np.abs(table.evaluate(lam, w, t) - _synthetic(w, t, lam))) < 1e-10


def test_table_refuses_an_incomplete_grid_and_a_rising_phase():
    sm = {(a, b): make_smatrix(_synthetic(a, b, LAM), LAM, list(xm.PORTS)) for a, b in GRID}
    with pytest.raises(SpecError, match="full grid"):
        xm.OffsetTable.from_smatrices({k: v for k, v in sm.items() if k != (0.0, 0.0)}, xm.PORTS)
    strong = {k: make_smatrix(0.9 * np.eye(4)[None] * np.exp(1j * 40 * (LAM - 1.5))[:, None, None], LAM,
                              list(xm.PORTS)) for k in GRID}  # phase rising with λ: aliased or non-physical
    with pytest.raises(SpecError, match="too coarse"):
        xm.OffsetTable.from_smatrices(strong, xm.PORTS)


def test_passive_projection_closed_form():
    """U diag(1.3, 0.4) Uᵀ -> U diag(1, 0.4) Uᵀ (complex symmetric, Takagi form); passive S unchanged."""
    rng = np.random.default_rng(1)
    q1, _ = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
    assert np.allclose(xm.passive(q1 @ np.diag([1.3, 0.4]) @ q1.T), q1 @ np.diag([1.0, 0.4]) @ q1.T, atol=1e-12)
    ok = 0.9 * q1 @ q1.T
    assert np.array_equal(xm.passive(ok), ok)


@pytest.fixture(scope="module")
def shipped(load_shipped):
    return load_shipped(xm.FAMILY)


def _direct(cache, dw, dt):
    entry = cache.get(xm.CrossingSweepSpec().device(dw, dt), xm.default_solver())
    return entry, xm.direct_values(entry.smatrix)


@pytest.mark.parametrize("point", [(0.01, 0.0), (0.01, -0.005)])
def test_held_out_runs(shipped, point):
    model, cache = shipped
    _, s = _direct(cache, *point)
    m = model.smatrix(LAM, *point)
    p_m, p_d = np.abs(m[:, 2, 0]) ** 2, np.abs(s[:, 2, 0]) ** 2
    assert np.max(np.abs(10 * np.log10(p_m / p_d))) < 0.05  # insertion loss [dB]
    xt_m = 10 * np.log10(np.maximum(np.abs(m[:, 1, 0]) ** 2, np.abs(m[:, 3, 0]) ** 2))
    xt_d = 10 * np.log10(np.maximum(np.abs(s[:, 1, 0]) ** 2, np.abs(s[:, 3, 0]) ** 2))
    assert np.max(np.abs(xt_m - xt_d)) < 3.0  # crosstalk at ~−40 dB [dB]
    assert np.max(np.abs(np.angle(m[:, 2, 0] / s[:, 2, 0]))) < 0.1  # through phase [rad]
    assert np.max(np.abs(m - s)) < 0.03
    stored = json.loads(model.dataset.attrs["accuracy"])["holdout_max_abs_ds"]
    assert stored >= np.max(np.abs(m - s)) - 1e-12


def test_nodes_and_device_figures(shipped):
    model, cache = shipped
    import devices.crossing as dev

    for dw, dt in GRID:
        entry, s = _direct(cache, dw, dt)
        sym = 0.5 * (s + np.swapaxes(s, -1, -2))
        assert np.max(np.abs(model.smatrix(LAM, dw, dt) - sym)) < 5e-3  # exact up to the passivity projection
        fom = dev.figures_of_merit(entry)
        assert xm.insertion_loss_db(wavelength=1.55, dw=dw, dt=dt, model=model) == pytest.approx(
            fom["insertion_loss_db"], abs=0.02)
        assert xm.crosstalk_db(wavelength=1.55, dw=dw, dt=dt, model=model) == pytest.approx(
            fom["crosstalk_db"], abs=0.5)


def test_wavelength_interpolation_on_a_coarser_grid(shipped):
    """Tabulate every other simulated wavelength (20 nm apart) and predict the omitted ones:
    the error bounds the interpolation error of the 10-nm table."""
    _, cache = shipped
    full = {p: cache.get(xm.CrossingSweepSpec().device(*p), xm.default_solver()).smatrix for p in GRID}
    table = xm.OffsetTable.from_smatrices({p: s.isel(wavelength=slice(0, None, 2)) for p, s in full.items()},
                                          xm.PORTS)
    for p, s in full.items():
        d = xm.direct_values(s)[1::2]
        m = table.evaluate(LAM[1::2], *p)
        assert np.max(np.abs(np.abs(m[:, 2, 0]) ** 2 - np.abs(d[:, 2, 0]) ** 2)) < 0.01
        assert np.max(np.abs(np.angle(m[:, 2, 0] / d[:, 2, 0]))) < 0.05


def test_reciprocal_passive_and_shaped(shipped):
    model, _ = shipped
    lam = np.linspace(1.5, 1.6, 37)
    s = xm.crossing(wavelength=lam, dw=np.linspace(-0.02, 0.02, 9)[:, None], dt=np.array([-0.01, 0.003, 0.01]),
                    model=model)
    assert s.dims == ("instance", "wavelength", "port_out", "port_in") and s.sizes["instance"] == 27
    assert float(reciprocity_error(s).max()) < 1e-12
    assert float(max_singular_value(s).max()) <= 1.0 + 1e-12
    one = xm.crossing(wavelength=1.55, model=model)
    assert one.dims == ("wavelength", "port_out", "port_in") and isinstance(one, xr.DataArray)


def test_errors(shipped):
    model, _ = shipped
    with pytest.raises(ExtrapolationError, match="dw = 0.03"):
        xm.crossing(dw=0.03, model=model)
    with pytest.raises(ExtrapolationError, match="dt = -0.02"):
        xm.crosstalk_db(dt=-0.02, model=model)
    with pytest.raises(ExtrapolationError, match="wavelength = 1.45"):
        xm.insertion_loss_db(wavelength=1.45, model=model)
    with pytest.raises(ValueError, match="dw"):
        xm.CrossingSweepSpec(dw=(0.0, 0.02))
    with pytest.raises(ValueError, match="dt"):
        xm.CrossingSweepSpec(dt=(0.01, 0.0, -0.01))
    specs = xm.library_specs()
    assert len(specs) == 11 and {(s.width, s.thickness) for s in specs} >= {(0.51, 0.215), (0.48, 0.23)}


def test_branch_prior_resolves_phase_steps_beyond_pi():
    """A path whose phase moves by 4 rad per thickness node (> π, like the MMI's): the
    nearest-branch alignment aliases it, the core-index prior Δφ ≈ −λ φ' Δn / n_g does not."""
    length, n_g, lam_c = 20.0, 4.2, LAM[5]
    n_core = {(a, b): 2.835 + 5.0 * b for a, b in GRID}  # dn_core/dt = 5 /µm (2D cores: ~3.5)

    def s(a, b):  # one strong through path, phase 2π (n_core + n_g − 2.835) L / λ (dφ/dλ ∝ n_g)
        ph = 2 * np.pi * (n_core[(a, b)] * length / LAM) + 2 * np.pi * (n_g - 2.835) * length * (1 / LAM)
        m = np.zeros((LAM.size, 4, 4), complex)
        m[:, 2, 0] = m[:, 0, 2] = 0.9 * np.exp(1j * ph)
        return m

    sm = {p: make_smatrix(s(*p), LAM, list(xm.PORTS)) for p in GRID}
    good = xm.OffsetTable.from_smatrices(sm, xm.PORTS, core_index=n_core, group_index=n_g)
    bad = xm.OffsetTable.from_smatrices(sm, xm.PORTS)
    step = 2 * np.pi * 5.0 * 0.01 * length / lam_c
    assert step > np.pi
    # the tabulated phase step between thickness nodes at the band centre
    assert good.phase[1, 2, 5, 2, 0] - good.phase[1, 1, 5, 2, 0] == pytest.approx(step, abs=1e-9)
    assert abs(bad.phase[1, 2, 5, 2, 0] - bad.phase[1, 1, 5, 2, 0] - step) == pytest.approx(2 * np.pi, abs=1e-9)

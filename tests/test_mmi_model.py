"""MMI compact model: the shipped model against the held-out FDTD runs, the MMI's own
figures of merit at the nodes, self-imaging theory (outputs in quadrature), reciprocity,
passivity, the coarse-grid refusal and input validation."""

import json

import numpy as np
import pytest

import devices.mmi_model as mm
from pipeline.errors import ExtrapolationError, SpecError
from pipeline.smatrix import max_singular_value, reciprocity_error

LAM = np.linspace(1.50, 1.60, 11)
GRID = [(a, b) for a in (-0.02, 0.0, 0.02) for b in (-0.01, 0.0, 0.01)]
IMBALANCE_TOL, LOSS_TOL, PHASE_TOL = 0.2, 0.05, 0.05  # dB, dB, rad


@pytest.fixture(scope="module")
def shipped(load_shipped):
    return load_shipped(mm.FAMILY)


def _direct(cache, dw, dt):
    entry = cache.get(mm.MMISweepSpec().device(dw, dt), mm.default_solver())
    return entry, entry.smatrix.sel(port_out=list(mm.PORTS), port_in=list(mm.PORTS)).transpose(
        "wavelength", "port_out", "port_in").values


@pytest.mark.parametrize("point", [(0.01, 0.0), (0.01, -0.005)])
def test_held_out_runs(shipped, point):
    model, cache = shipped
    _, s = _direct(cache, *point)
    m = model.smatrix(LAM, *point)
    s31, s41, m31, m41 = s[:, 2, 0], s[:, 3, 0], m[:, 2, 0], m[:, 3, 0]
    imb = 10 * np.log10(np.abs(m31 / m41) ** 2) - 10 * np.log10(np.abs(s31 / s41) ** 2)
    loss = 10 * np.log10((np.abs(s31) ** 2 + np.abs(s41) ** 2) / (np.abs(m31) ** 2 + np.abs(m41) ** 2))
    dphase = np.angle((m31 / m41) / (s31 / s41))
    assert np.max(np.abs(imb)) < IMBALANCE_TOL
    assert np.max(np.abs(loss)) < LOSS_TOL
    assert np.max(np.abs(dphase)) < PHASE_TOL
    # the common phase carries the FDTD's n_eff scatter between geometries (~1e-3 over the
    # ~40 um path): ~0.1 rad, hence max |dS| ~ 0.08 while the 2x2 figures are tight
    assert np.max(np.abs(np.angle(m31 / s31))) < 0.2
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["holdout_max_abs_imbalance_error_db"] >= np.max(np.abs(imb)) - 1e-9


def test_nodes_match_the_device_figures(shipped):
    import devices.mmi as dev

    model, cache = shipped
    for dw, dt in GRID:
        entry, s = _direct(cache, dw, dt)
        # exact at the nodes up to the passivity projection (the FDTD's own sigma_max - 1 <= ~3e-3)
        assert np.max(np.abs(model.smatrix(LAM, dw, dt) - 0.5 * (s + np.swapaxes(s, -1, -2)))) < 5e-3
        fom = dev.figures_of_merit(entry)
        assert mm.imbalance_db(dw=dw, dt=dt, model=model) == pytest.approx(fom["imbalance_db"], abs=0.03)
        assert mm.excess_loss_db(dw=dw, dt=dt, model=model) == pytest.approx(fom["excess_loss_db"], abs=0.02)
        assert np.degrees(mm.phase_difference(dw=dw, dt=dt, model=model)) == pytest.approx(
            fom["phase_difference_deg"], abs=1.0)


def test_self_imaging_quadrature_and_passivity(shipped):
    model, _ = shipped
    lam = np.linspace(1.5, 1.6, 21)
    dw, dt = np.linspace(-0.02, 0.02, 9)[:, None, None], np.array([-0.01, 0.0, 0.01])[None, :, None]
    # general-interference 2x2 MMI: the two images are 90° apart (Soldano & Pennings 1995)
    dphi = np.degrees(np.abs(mm.phase_difference(wavelength=lam, dw=dw, dt=dt, model=model)))
    assert np.all(np.abs(dphi - 90) < 10)
    s = mm.mmi(wavelength=lam, dw=dw[:, :, 0], dt=dt[:, :, 0], model=model)
    assert s.dims == ("instance", "wavelength", "port_out", "port_in") and s.sizes["instance"] == 27
    assert float(reciprocity_error(s).max()) < 1e-12
    assert float(max_singular_value(s).max()) <= 1.0 + 1e-12


def test_coarse_wavelength_grid_is_refused(shipped):
    """Every other wavelength (20 nm): the MMI's through phase moves by ~5.7 rad per step and
    aliases on unwrapping; the table detects the non-physical rising phase."""
    _, cache = shipped
    full = {p: cache.get(mm.MMISweepSpec().device(*p), mm.default_solver()).smatrix.isel(
        wavelength=slice(0, None, 2)) for p in GRID}
    with pytest.raises(SpecError, match="too coarse"):
        mm.OffsetTable.from_smatrices(full, mm.PORTS)


def test_errors(shipped):
    model, _ = shipped
    with pytest.raises(ExtrapolationError, match="dw = -0.025"):
        mm.mmi(dw=-0.025, model=model)
    with pytest.raises(ExtrapolationError, match="dt = 0.011"):
        mm.imbalance_db(dt=0.011, model=model)
    with pytest.raises(ValueError, match="dw"):
        mm.MMISweepSpec(dw=(0.02, 0.0, -0.02))
    specs = mm.library_specs()
    assert len(specs) == 11 and sorted({s.mmi_width for s in specs}) == [2.48, 2.5, 2.51, 2.52]

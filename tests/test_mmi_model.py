"""MMI compact model: the shipped model against the held-out FDTD run (δw = +10 nm), the
MMI's own figures of merit at the nodes, self-imaging theory (outputs in quadrature),
reciprocity, passivity and input validation."""

import json

import numpy as np
import pytest

import devices.mmi_model as mm
from pipeline.errors import ExtrapolationError, SpecError
from pipeline.smatrix import max_singular_value, reciprocity_error

LAM = np.linspace(1.50, 1.60, 11)


@pytest.fixture(scope="module")
def shipped():
    from pipeline.cache import DeviceCache

    cache = DeviceCache()
    path = mm.model_path(cache)
    assert path.exists(), f"the shipped model {path.name} is missing: build_model() and commit it"
    return mm.MMIModel.load(path), cache


def _direct(cache, dw):
    entry = cache.get(mm.MMISweepSpec().device(dw), mm.default_solver())
    return entry, entry.smatrix.sel(port_out=list(mm.PORTS), port_in=list(mm.PORTS)).transpose(
        "wavelength", "port_out", "port_in").values


def test_held_out_run(shipped):
    model, cache = shipped
    _, s = _direct(cache, 0.01)
    m = model.smatrix(LAM, 0.01)
    s31, s41, m31, m41 = s[:, 2, 0], s[:, 3, 0], m[:, 2, 0], m[:, 3, 0]
    imb = 10 * np.log10(np.abs(m31 / m41) ** 2) - 10 * np.log10(np.abs(s31 / s41) ** 2)
    loss = 10 * np.log10((np.abs(s31) ** 2 + np.abs(s41) ** 2) / (np.abs(m31) ** 2 + np.abs(m41) ** 2))
    dphase = np.angle((m31 / m41) / (s31 / s41))
    assert np.max(np.abs(imb)) < IMBALANCE_TOL
    assert np.max(np.abs(loss)) < LOSS_TOL
    assert np.max(np.abs(dphase)) < PHASE_TOL
    # the common phase carries the FDTD's n_eff scatter between geometries (~1e-3 over the
    # ~40 um path): ~0.1 rad, hence max |dS| ~ 0.075 while the 2x2 figures are tight
    assert np.max(np.abs(np.angle(m31 / s31))) < 0.15
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["holdout_max_abs_imbalance_error_db"] == pytest.approx(np.max(np.abs(imb)), rel=1e-6)


IMBALANCE_TOL, LOSS_TOL, PHASE_TOL = 0.2, 0.05, 0.05  # dB, dB, rad


def test_nodes_match_the_device_figures(shipped):
    import devices.mmi as dev

    model, cache = shipped
    for dw in (-0.02, 0.0, 0.02):
        entry, s = _direct(cache, dw)
        # exact at the nodes up to the passivity projection (the FDTD's own sigma_max - 1 <= 3.2e-3)
        assert np.max(np.abs(model.smatrix(LAM, dw) - 0.5 * (s + np.swapaxes(s, -1, -2)))) < 5e-3
        fom = dev.figures_of_merit(entry)
        assert mm.imbalance_db(dw=dw, model=model) == pytest.approx(fom["imbalance_db"], abs=0.02)
        assert mm.excess_loss_db(dw=dw, model=model) == pytest.approx(fom["excess_loss_db"], abs=0.01)
        assert np.degrees(mm.phase_difference(dw=dw, model=model)) == pytest.approx(
            fom["phase_difference_deg"], abs=1.0)


def test_self_imaging_quadrature_and_passivity(shipped):
    model, _ = shipped
    lam = np.linspace(1.5, 1.6, 21)
    dw = np.linspace(-0.02, 0.02, 9)
    # general-interference 2x2 MMI: the two images are 90° apart (Soldano & Pennings 1995)
    dphi = np.degrees(np.abs(mm.phase_difference(wavelength=lam[None, :], dw=dw[:, None], model=model)))
    assert np.all(np.abs(dphi - 90) < 10)
    s = mm.mmi(wavelength=lam, dw=dw, model=model)
    assert s.dims == ("instance", "wavelength", "port_out", "port_in")
    assert float(reciprocity_error(s).max()) < 1e-12
    assert float(max_singular_value(s).max()) <= 1.0 + 1e-12


def test_errors(shipped):
    model, _ = shipped
    with pytest.raises(ExtrapolationError, match="dw = -0.025"):
        mm.mmi(dw=-0.025, model=model)
    with pytest.raises(ValueError, match="dw"):
        mm.MMISweepSpec(dw=(0.02, 0.0, -0.02))
    assert sorted(s.mmi_width for s in mm.library_specs()) == [2.48, 2.5, 2.51, 2.52]


def test_coarse_wavelength_grid_is_refused(shipped):
    """Every other wavelength (20 nm): the MMI's through phase moves by ~5.7 rad per step and
    aliases on unwrapping; the table detects the non-physical rising phase."""
    _, cache = shipped
    nodes = [-0.02, 0.0, 0.02]
    full = [cache.get(mm.MMISweepSpec().device(w), mm.default_solver()).smatrix.isel(wavelength=slice(0, None, 2))
            for w in nodes]
    with pytest.raises(SpecError, match="too coarse"):
        mm.OffsetTable.from_smatrices(nodes, full, mm.PORTS)

"""Strip-waveguide compact model (devices.waveguide_model) against independent references."""

import numpy as np
import pytest

import devices.waveguide_model as wm
from pipeline.errors import ExtrapolationError, SpecError

#: Converged MPB (extrapolated in resolution) TE0 of 500×220 nm Si at 1.55 µm,
#: benchmarks/results/mode_convergence.txt (Tidy3D agrees to 0.14 %).
NEFF_CONVERGED, NG_CONVERGED = 2.4458, 4.184


@pytest.fixture(scope="module")
def model():
    from pipeline.library import Library

    return Library().model("waveguide")


def test_shipped_model_matches_converged_mode_solver(model):
    # The library sweep runs at 48 px/µm: n_eff within 0.5 %, n_g within 1 % of the converged values.
    assert wm.neff(wavelength=1.55, model=model) == pytest.approx(NEFF_CONVERGED, rel=5e-3)
    assert wm.group_index(wavelength=1.55, model=model) == pytest.approx(NG_CONVERGED, rel=1e-2)


def test_held_out_accuracy_is_stored_and_small(model):
    err = model.held_out_errors()
    assert err["neff"] < 2e-3 and err["ng"] < 5e-3 and err["dneff_dT"] < 5e-6


def test_group_index_consistent_with_fitted_dispersion(model):
    # n_g = n_eff − λ dn_eff/dλ: the fitted n_g and the derivative of the fitted n_eff agree.
    lam, h = 1.55, 1e-3
    dn = (wm.neff(wavelength=lam + h, model=model) - wm.neff(wavelength=lam - h, model=model)) / (2 * h)
    assert wm.neff(wavelength=lam, model=model) - lam * dn == pytest.approx(
        wm.group_index(wavelength=lam, model=model), abs=0.02)


@pytest.mark.meep
def test_thermo_optic_response_matches_first_order_perturbation(model):
    """dn_eff/dT of the sweep (full re-solve at T ± 10 K) against DESIGN.md's first-order
    formula n_g ∫ n dn/dT |E|² / ∫ n²|E|² on a separately solved field (frozen materials)."""
    from pipeline.modes import solve_modes, strip
    from pipeline.thermo_optic import thermo_optic_kernel

    cs = strip(0.5, 0.22)
    k = thermo_optic_kernel(cs, solve_modes(cs.at(1.55), 1.55, num_modes=1, resolution=32, fields=True))
    assert model.evaluate("dneff_dT", wavelength=1.55) == pytest.approx(k.dneff_dT_uniform, rel=0.03)
    # and the physical range: between the cladding's and the core's dn/dT, weighted by n_g/n_eff
    assert 0.95e-5 < k.dneff_dT_uniform < 1.86e-4 * 4.2 / 2.44


@pytest.mark.meep
def test_model_predicts_an_independent_solve(model):
    from pipeline.modes import solve_modes, strip

    dw, dt = -0.007, 0.004
    direct = solve_modes(strip(0.5 + dw, 0.22 + dt), 1.53, num_modes=1, resolution=48)
    assert wm.neff(wavelength=1.53, dw=dw, dt=dt, model=model) == pytest.approx(float(direct.neff[0, 0]), abs=2e-3)
    assert wm.group_index(wavelength=1.53, dw=dw, dt=dt, model=model) == pytest.approx(float(direct.ng[0, 0]),
                                                                                     abs=5e-3)


def test_transmission_loss_and_phase(model):
    t = wm.transmission(length=1e4, wavelength=1.55, loss_db_per_cm=2.0, model=model)
    assert abs(t) ** 2 == pytest.approx(10 ** -0.2, rel=1e-12)
    # a 1 K rise adds 2π L dn_eff/dT / λ of phase
    dphi = np.angle(wm.transmission(length=100.0, temperature_offset=1.0, model=model)
                    / wm.transmission(length=100.0, model=model))
    assert dphi == pytest.approx(2 * np.pi * 100 * model.evaluate("dneff_dT", wavelength=1.55) / 1.55, rel=1e-9)
    s = wm.waveguide(length=50.0, wavelength=[1.53, 1.55, 1.57], model=model)
    assert s.dims == ("wavelength", "port_out", "port_in")
    np.testing.assert_allclose(s.sel(port_out="o2", port_in="o1"), s.sel(port_out="o1", port_in="o2"))


def test_bad_input_is_named(model):
    with pytest.raises(ExtrapolationError, match="dw"):
        wm.neff(dw=0.05, model=model)
    with pytest.raises(SpecError, match="length"):
        wm.transmission(length=-1.0, model=model)
    with pytest.raises(SpecError, match="width_offsets"):
        wm.WaveguideModelSpec(width_offsets=(0.0, 0.01))

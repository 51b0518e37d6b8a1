"""Static phase errors of a die and the lab's phase calibration: arm offsets from the
fabrication field (pipeline.chip.arm_offsets), heater efficiency spread, drift, ADC
quantisation, and the heater-sweep calibration (pipeline.chip.phase_calibration) — each
against an independent calculation."""

import numpy as np
import pytest

from finite_difference import fd_grad
from pipeline.chip import arm_offsets as ao
from pipeline.chip import neuron as nr
from pipeline.chip import phase_calibration as pc
from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.drift import PhaseDrift
from pipeline.chip.impairments import REALISTIC, impairments
from pipeline.library import Library

LIB = Library()

#: Noise-free realistic die: every static error on, nothing random per reading.
CLEAN = impairments("realistic", detector_noise=False, laser_rin=None, phase_noise=0, adc_bits=0, phase_drift=0)


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _batch(seed=0, n=32):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n, 2))
    return x, rng.uniform(0.2, 0.8, (n, 1))


# -- arm offsets from the fabrication field ------------------------------------------------------

def test_arm_difference_matches_a_discretised_gaussian_field():
    """var(w̄₁ − w̄₂) of the closed form + quadrature against the covariance of a field
    discretised along both arms (exponential kernel, 301 points per arm)."""
    for length, sep, ell in ((300.0, 10.0, 1000.0), (100.0, 5.0, 50.0), (500.0, 40.0, 2000.0)):
        x = np.linspace(0, length, 301)
        pts = np.r_[np.c_[x, 0 * x], np.c_[x, 0 * x + sep]]
        k = np.exp(-np.linalg.norm(pts[:, None] - pts[None], axis=-1) / ell)
        w = np.r_[np.full(301, 1 / 301), np.full(301, -1 / 301)]
        brute = float(w @ k @ w)
        assert abs(2 * ao.correlation_difference(length, sep, ell) / brute - 1) < 0.01, (length, sep, ell)
    assert ao.correlation_difference(300, 10, 0) == 0.0  # a white field averages out


def test_arm_offset_spread_follows_the_waveguide_model_sensitivity():
    """σ(φ₀) over many MZIs = 2π L/λ · √((∂n/∂w σ_δw)² + (∂n/∂t σ_δt)²) with the
    sensitivities by central differences of the waveguide compact model (χ² band)."""
    from devices import waveguide_model as wm

    n = 4000
    phi = ao.arm_phase_offsets(REALISTIC, np.zeros(n), np.zeros(n), length_um=300, separation_um=10,
                               wavelength_um=1.55, rng=np.random.default_rng(1), library=LIB)
    s_w, s_t = ao.arm_difference_sigma(REALISTIC, 300, 10)
    h = 1e-3
    m = LIB.model("waveguide")
    dn_dw = (wm.neff(dw=h, model=m) - wm.neff(dw=-h, model=m)) / (2 * h)
    dn_dt = (wm.neff(dt=h, model=m) - wm.neff(dt=-h, model=m)) / (2 * h)
    expected = 2 * np.pi * 300 / 1.55 * np.hypot(dn_dw * s_w, dn_dt * s_t)
    assert 0.4 < expected < 1.2  # of order 1 rad: what makes uncalibrated MZIs unusable
    assert abs(phi.std() / expected - 1) < 0.05, (phi.std(), expected)
    fixed = ao.arm_phase_offsets(REALISTIC.scaled(arm_phase_sigma=0.3), np.zeros(n), np.zeros(n), length_um=300,
                                 separation_um=10, wavelength_um=1.55, rng=np.random.default_rng(1), library=LIB)
    assert abs(fixed.std() / 0.3 - 1) < 0.05


def test_temperature_offset_acts_through_the_arms_differential_dneff_dT():
    """φ₀(ΔT) − φ₀(0) = 2π L/λ ΔT [dn/dT(arm 1) − dn/dT(arm 2)] (the model's dn_eff/dT at
    each arm's offsets): nonzero for unequal arms, zero for equal ones."""
    from devices import waveguide_model as wm

    args = dict(length_um=300, separation_um=10, wavelength_um=1.55)
    dw, dt = np.full(200, 0.004), np.full(200, -0.002)
    base = ao.arm_phase_offsets(REALISTIC, dw, dt, rng=np.random.default_rng(2), library=LIB, **args)
    warm = ao.arm_phase_offsets(REALISTIC.scaled(temperature_offset=10.0), dw, dt, rng=np.random.default_rng(2),
                                library=LIB, **args)
    s_w, s_t = ao.arm_difference_sigma(REALISTIC, 300, 10)
    rng = np.random.default_rng(2)
    z_w, z_t = rng.standard_normal(200), rng.standard_normal(200)
    model = LIB.model("waveguide")
    d1 = model.evaluate("dneff_dT", wavelength=1.55, dw=dw + s_w * z_w / 2, dt=dt + s_t * z_t / 2)
    d2 = model.evaluate("dneff_dT", wavelength=1.55, dw=dw - s_w * z_w / 2, dt=dt - s_t * z_t / 2)
    np.testing.assert_allclose(warm - base, 2 * np.pi * 300 / 1.55 * 10.0 * (d1 - d2), rtol=0, atol=1e-11)
    assert np.abs(warm - base).max() > 1e-4
    same = REALISTIC.scaled(width_sigma=0, thickness_sigma=0)
    assert np.all(ao.arm_phase_offsets(same.scaled(temperature_offset=10.0), dw, dt, rng=np.random.default_rng(2),
                                       library=LIB, **args) == 0)


def test_die_arm_offsets_and_efficiencies_change_the_realised_weights():
    arch = AttenuatorArchitecture()
    p = np.random.default_rng(0).uniform(-0.9, 0.9, arch.n_params)
    err = {}
    for name, imp in (("none", CLEAN.scaled(arm_phase_sigma=0, heater_efficiency_sigma=0)), ("all", CLEAN)):
        die = arch.sample_die(imp.scaled(thermal_crosstalk_scale=0), 3)
        die.program(p)
        err[name] = np.sqrt(np.mean((die.realised_weights() - p) ** 2))
        assert die.to_dataset().arm_offset.attrs["units"] == "rad"
    assert err["none"] < 0.03 and err["all"] > 0.2, err


# -- phase calibration -----------------------------------------------------------------------------

def test_sweep_fit_is_exact_noise_free_and_its_scatter_matches_the_predicted_sigma():
    rng = np.random.default_rng(1)
    p_pi = 0.0235
    powers = pc.sweep_powers(p_pi)
    n = 600
    off, eff, amp = rng.uniform(-np.pi, np.pi, n), 1 + 0.05 * rng.standard_normal(n), rng.uniform(0.3, 1.2, n)
    w = 0.2 - amp[:, None] * np.cos(off[:, None] + eff[:, None] * np.pi / p_pi * powers)
    fit = pc.fit_sweep(w, powers, p_pi)
    np.testing.assert_allclose(np.angle(np.exp(1j * (fit["offset"] - off))), 0, atol=1e-9)
    np.testing.assert_allclose(fit["efficiency"], eff, atol=1e-9)
    np.testing.assert_allclose(fit["amplitude"], amp, rtol=1e-9)
    sigma = 0.02
    fit = pc.fit_sweep(w + sigma * rng.standard_normal(w.shape), powers, p_pi)
    s_off, s_eff = pc.predicted_sigma(amp, sigma, off, eff, powers, p_pi)
    z_off = np.angle(np.exp(1j * (fit["offset"] - off))) / s_off
    z_eff = (fit["efficiency"] - eff) / s_eff
    assert 0.9 < z_off.std() < 1.1 and 0.9 < z_eff.std() < 1.1, (z_off.std(), z_eff.std())


def test_lab_calibration_recovers_offsets_and_efficiencies_exactly_on_a_noise_free_die():
    """Any couplers, losses, detector gains, DAC grid and crosstalk: the sweep reads MZI m
    with every other heater off.  Except the output-bias MZIs: their read-out (bias channel
    alone on the output node) also carries the dark hidden neurons' modulator leakage
    through the neighbouring layer-2 MZIs, which the swept heater's crosstalk modulates
    (the same bias as the crosstalk calibration's, pipeline.chip.crosstalk_calibration)."""
    die = AttenuatorArchitecture(n_out=2).lab_calibrated().sample_die(CLEAN, 4)
    a = die.architecture
    off, eff = die.phase_truth()
    bias = np.zeros(a.n_params, bool)
    bias[a.n1 + a.n_hidden::a.n_hidden + 1] = True
    e_off = np.abs(np.angle(np.exp(1j * (die.offset_measured - off))))
    e_eff = np.abs(die.efficiency_measured - eff)
    assert e_off[~bias].max() < 1e-7 and e_eff[~bias].max() < 1e-7
    assert e_off[bias].max() < 2e-3 and e_eff[bias].max() < 2e-3
    p = np.random.default_rng(0).uniform(-0.9, 0.9, die.architecture.n_params)
    die.program(p)
    # what remains of the weight error is the couplers' (not 3 dB) and the DAC grid
    assert np.sqrt(np.mean((die.realised_weights() - p) ** 2)) < 0.03


def test_lab_calibration_on_a_noisy_die_meets_its_predicted_accuracy():
    """Errors of φ̂₀ and ε̂ on a noisy die (3 µW per channel: the detector noise matters) vs
    predicted_sigma with σ_w measured from repeated readings of the same die; N = 16 vs 256
    readings per sweep point shrink the errors by ≈ 4."""
    imp = impairments("realistic", optical_power=3e-6, phase_drift=0, thermal_crosstalk_scale=0)
    arch = AttenuatorArchitecture(phase_calibration=True, gain_calibration=False)
    rms = {}
    for n in (16, 256):
        die = AttenuatorArchitecture(phase_calibration=True, gain_calibration=False,
                                     calibration_samples=n).sample_die(imp, 2)
        off, eff = die.phase_truth()
        e_off = np.angle(np.exp(1j * (die.offset_measured - off)))
        e_eff = die.efficiency_measured - eff
        # σ_w of one averaged point from the die's own readings, per MZI (heaters off)
        sig = np.array([die._read_mzi(np.zeros((400, arch.n_params)), m, 1)[0].std() for m in range(arch.n1)])
        w = np.array([die._read_mzi(np.outer(pc.sweep_powers(die.p_pi) * (np.arange(arch.n_params) == m)
                                             .max(), np.eye(arch.n_params)[m]), m, 256)[0]
                      for m in range(arch.n1)])
        fit = pc.fit_sweep(w, die._quantise(pc.sweep_powers(die.p_pi)), die.p_pi)
        s_off, s_eff = pc.predicted_sigma(fit["amplitude"], sig / np.sqrt(n), off[:arch.n1], eff[:arch.n1],
                                          pc.sweep_powers(die.p_pi), die.p_pi)
        r_off = np.sqrt(np.mean((e_off[:arch.n1] / s_off) ** 2))
        r_eff = np.sqrt(np.mean((e_eff[:arch.n1] / s_eff) ** 2))
        assert 0.6 < r_off < 1.5 and 0.6 < r_eff < 1.5, (n, r_off, r_eff)
        rms[n] = np.sqrt(np.mean(e_off[:arch.n1] ** 2))
    assert 2.5 < rms[16] / rms[256] < 6.5, rms


def test_phase_calibration_counts_its_readings():
    arch = AttenuatorArchitecture(gain_calibration=False, phase_calibration=True, calibration_samples=8)
    die = arch.sample_die("realistic", 0)
    n1, n2 = arch.n1, arch.n_params - arch.n1
    per_mzi = np.r_[np.ones(n1), np.tile(np.r_[np.full(arch.n_hidden, 2), 1], arch.n_out)]
    assert die.calibration_measurements == 8 * pc.SWEEP_POINTS * per_mzi.sum()
    assert die.measurements == 0 and n2 == arch.n_out * (arch.n_hidden + 1)


# -- the in-situ gradient with phase errors ------------------------------------------------------------

@pytest.mark.parametrize("label, knobs, phase_cal, check", [
    ("arm offsets, uncalibrated", dict(heater_efficiency_sigma=0), False, lambda r: r < 1e-7),
    ("offsets + efficiency, phase-calibrated", {}, True, lambda r: r < 1e-7),
    # the slope steps are ε off when nobody measured ε: a bias of ~1 %, as on a real chip
    ("offsets + efficiency, uncalibrated", {}, False, lambda r: r > 3e-3),
])
def test_noise_free_insitu_gradient_is_the_die_gradient(label, knobs, phase_cal, check):
    """FD of the die's own loss (no crosstalk, gains exact for one output: tests/test_attenuator.py)."""
    imp = CLEAN.scaled(thermal_crosstalk_scale=0, modulator_bias_sigma=0, detector_gain_sigma=0, dac_bits=0, **knobs)
    arch = AttenuatorArchitecture(phase_calibration=phase_cal)
    die = arch.sample_die(imp, 4)
    x, t = _batch()
    p = arch.init_params(np.random.default_rng(1))
    die.program(p)
    g = die.insitu_gradient(x, t)[1]
    g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
    assert np.linalg.norm(g_fd) > 1e-3
    assert check(rel(g, g_fd)), (label, rel(g, g_fd))


# -- drift and ADC ------------------------------------------------------------------------------------

def test_drift_is_a_random_walk_in_readings():
    spec = REALISTIC.scaled(phase_drift=0.02, reading_time=1e-3)
    d = PhaseDrift(spec, 20000, np.random.default_rng(0))
    d.advance_hours(4.0)
    assert abs(d.phase.std() / (0.02 * 2.0) - 1) < 0.03
    d.start_clock(100)
    before = d.phase.copy()
    d.update(100 + 3_600_000)  # 3.6e6 readings × 1 ms = 1 h
    assert abs((d.phase - before).std() / 0.02 - 1) < 0.03 and d.hours == pytest.approx(5.0)
    d.update(50)  # a smaller total does not move time backwards
    assert d.hours == pytest.approx(5.0)


def test_die_drifts_after_its_calibration_and_while_it_is_used():
    arch = AttenuatorArchitecture()
    die = arch.sample_die(impairments("realistic", phase_drift=0.1, calibration_age=4.0), 0)
    assert 0.1 < die.drift.phase.std() < 0.35  # σ = 0.1 √4 = 0.2 rad over 33 MZIs
    still = arch.sample_die(impairments("realistic", phase_drift=0.0), 0)
    assert np.all(still.drift.phase == 0)


def test_adc_quantises_readings_to_its_lsb_and_clips_at_the_rails():
    r = np.linspace(-1.5, 1.5, 1001)
    q = nr.quantise(r, 1.0, 4)
    lsb = 2 / 16
    np.testing.assert_allclose(q / lsb, np.round(q / lsb), atol=1e-12)
    assert q.max() == 1.0 and q.min() == -1.0 and np.max(np.abs(q - r)[np.abs(r) < 1]) <= lsb / 2 + 1e-12
    assert nr.quantise(r, 1.0, 0) is not None and np.all(nr.quantise(r, 1.0, 0) == r)
    arch = AttenuatorArchitecture()
    x, _ = _batch()
    coarse = arch.sample_die(impairments("ideal", adc_bits=3), 0)
    fine = arch.sample_die(impairments("ideal"), 0)
    p = arch.init_params(np.random.default_rng(0))
    for d in (coarse, fine):
        d.program(p)
    y_c, y_f = coarse.infer(x), fine.infer(x)
    assert len(np.unique(np.round(y_c / (2 / 8), 9))) <= 9 and np.abs(y_c - y_f).max() > 1e-3

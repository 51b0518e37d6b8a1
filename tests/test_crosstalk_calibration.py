"""Thermal-crosstalk calibration of the attenuator die (pipeline.chip.crosstalk_calibration):
Ĉ measured from the die's own readings is exact noise-free and scatters as 1/√N with noise;
heater powers Ĉ⁻¹ P_target realise the target phases and remove the crosstalk bias of the
in-situ gradient."""

import functools
import subprocess
import sys

import numpy as np
import pytest

from finite_difference import fd_grad
from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import impairments

#: The attenuator with crosstalk calibration on (it is off by default); an explicit
#: ``crosstalk_calibration=False`` still overrides it.
CalibratedArchitecture = functools.partial(AttenuatorArchitecture, crosstalk_calibration=True)

QUIET = dict(detector_noise=False, laser_rin=None, phase_noise=0.0)
#: Realistic dies need the per-MZI phase calibration too (arm offsets, heater efficiencies):
#: the lab's full calibration, as AttenuatorArchitecture.lab_calibrated() sets it.
LabArchitecture = functools.partial(CalibratedArchitecture, phase_calibration=True)
#: Arm offsets, heater efficiency spread and drift off: tests of the crosstalk alone, whose
#: preconditions (θ = 0 at rest, no heater below 0 after Ĉ⁻¹) assume nominal arms.
NO_PHASE_ERRORS = dict(arm_phase_sigma=0.0, heater_efficiency_sigma=0.0, phase_drift=0.0)


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_phasor_of_three_readings_at_any_known_steps():
    rng = np.random.default_rng(0)
    a, b, th = rng.uniform(-1, 1, 50), rng.uniform(0.1, 2, 50), rng.uniform(-np.pi, np.pi, 50)
    for steps in ([0, np.pi / 2, np.pi], [0, 1.3, 2.9], [0, 0.5 * np.pi * (1 + 3e-4), np.pi * (1 - 2e-4)]):
        s = np.repeat(np.array(steps)[:, None], 50, 1)
        z = xc.phasor(a - b * np.cos(th + s), s)
        np.testing.assert_allclose(z, b * np.exp(1j * th), rtol=0, atol=1e-12)
    w = a - b * np.cos(th + np.array([0, np.pi / 2, np.pi])[:, None])
    np.testing.assert_allclose(xc.phasor(w), b * np.exp(1j * th), rtol=0, atol=1e-12)  # closed form


@pytest.mark.parametrize("knobs", [
    dict(thermal_crosstalk_scale=3.0),
    # DAC steps, losses and detector gain spread change the readings, not the estimate
    dict(thermal_crosstalk_scale=1.0, dac_bits=12, insertion_loss_scale=1.0, propagation_loss=2.0,
         detector_gain_sigma=0.02)])
def test_noise_free_die_measures_its_crosstalk_exactly(knobs):
    arch = CalibratedArchitecture(n_out=2)
    die = arch.sample_die(impairments("ideal", **knobs), 1)
    assert die.crosstalk[1, 0] > 0.02
    np.testing.assert_allclose(die.crosstalk_measured, die.crosstalk, rtol=0, atol=1e-9)
    np.testing.assert_allclose(die.heater_response(), die.crosstalk, rtol=1e-12)  # design wavelength
    assert die.summary()["crosstalk_calibration_error_max"] < 1e-9


def test_realistic_noise_free_die_leaves_only_the_documented_bias():
    """Off-nominal couplers and modulators: the output-bias read-out also carries the dark
    hidden neurons' modulator leakage through their (crosstalk-moved) MZIs — below 1e-5."""
    die = LabArchitecture().sample_die(impairments("realistic", adc_bits=0, **QUIET), 1)
    err = np.abs(die.crosstalk_measured - die.heater_response())
    assert err.max() < 1e-5
    assert err[:die.architecture.n1, :die.architecture.n1].max() < 1e-9  # layer 1: exact


def test_compensated_phases_equal_targets():
    arch = CalibratedArchitecture()
    imp = impairments("ideal", thermal_crosstalk_scale=3.0)
    die = arch.sample_die(imp, 1)
    p = np.random.default_rng(2).uniform(0.0, 0.99, arch.n_params)  # θ ≥ π/2: no heater below 0
    die.program(p)
    assert np.all(np.linalg.solve(die.crosstalk_measured, die.target_power) > 0)
    np.testing.assert_allclose(die.phases(), np.arccos(-p), rtol=0, atol=1e-9)
    np.testing.assert_allclose(die.realised_weights(), p, rtol=0, atol=1e-9)
    raw = CalibratedArchitecture(crosstalk_calibration=False).sample_die(imp, 1)
    raw.program(p)
    assert np.max(np.abs(raw.realised_weights() - p)) > 0.3  # what the calibration removed
    # realistic die (noise, DAC, couplers): the realised-weight error shrinks several-fold
    err = {}
    for cal in (True, False):
        d = LabArchitecture(crosstalk_calibration=cal, phase_calibration=cal).sample_die("realistic", 5)
        d.program(p)
        err[cal] = np.sqrt(np.mean((d.realised_weights() - p) ** 2))
    assert err[True] < 0.2 * err[False], err


def test_a_heater_that_would_need_negative_power_stays_off_and_the_rest_stay_exact():
    """θ = 0 (w = −1) beside heaters at 2π/3: Ĉ⁻¹ P_target < 0.  The heater stays off (its
    phase is its neighbours' heat) and the others are re-solved: their phases stay exact."""
    arch = CalibratedArchitecture()
    die = arch.sample_die(impairments("ideal", thermal_crosstalk_scale=1.0), 0)
    p = np.full(arch.n_params, 0.5)
    p[10] = -1.0
    die.program(p)
    assert (die.crosstalk_measured @ np.eye(arch.n_params)[10]) @ die.target_power > 0  # heated
    assert np.linalg.solve(die.crosstalk_measured, die.target_power)[10] < 0
    assert die.heater_power[10] == 0.0
    others = np.arange(arch.n_params) != 10
    np.testing.assert_allclose(die.phases()[others], np.arccos(-p)[others], rtol=0, atol=1e-9)
    heat = die.phases()[10]
    assert 0.05 < heat < 0.3 and die.realised_weights()[10] > -1 + 1e-3


def test_compensation_holds_out_of_range_heaters_at_the_bound_and_the_rest_exact():
    n, p_max = 12, 2.0
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    c = np.eye(n) + 0.25 * np.exp(-d) * (d > 0)  # strong crosstalk
    t = np.random.default_rng(4).uniform(0, 1.1 * p_max, (200, n))
    p = xc.compensate(np.linalg.inv(c), t, p_max)
    assert p.min() >= 0 and p.max() <= p_max
    held = (p == 0) | (p == p_max)
    assert held.any(1).mean() > 0.5 and (p == 0).any() and (p == p_max).any()
    np.testing.assert_allclose(np.where(held, 0, p @ c.T - t), 0, atol=1e-12)
    assert xc.compensate(None, t, p_max) is t


def test_noise_of_c_hat_falls_as_stated():
    """Module doc: σ(Ĉ_mk) ≈ √(3σ_r² + 2σ_φ²) / (π d_k √N), d_k = 2 off the diagonal; σ_r
    (one reading's noise / the MZI's fringe amplitude, heaters off) measured on the die.
    Layer-1 off-diagonal entries at 10 µW, N = 16 and 256."""
    imp = impairments("realistic", optical_power=1e-5, thermal_crosstalk_scale=3.0, **NO_PHASE_ERRORS)  # θ = 0 at rest
    arch = CalibratedArchitecture(n_hidden=3, gain_calibration=False)
    n1 = arch.n1
    die = arch.sample_die(imp, 0)
    quiet = arch.sample_die(imp.scaled(**QUIET), 0)
    die.set_crosstalk_estimate(None)
    sig = []
    for m in range(n1):
        w, _ = die._read_mzi(np.zeros((2000, arch.n_params)), m, 1)
        hp = np.zeros((2, arch.n_params))
        hp[1, m] = quiet.p_pi
        wq, _ = quiet._read_mzi(hp, m, 1)
        sig.append(np.std(w) / (0.5 * abs(wq[1] - wq[0])))  # θ from 0 to π: 2B
    sigma_r = np.sqrt(np.mean(np.square(sig)))
    off = ~np.eye(n1, dtype=bool)
    err = {}
    for n in (16, 256):
        d = CalibratedArchitecture(n_hidden=3, gain_calibration=False, calibration_samples=n).sample_die(imp, 0)
        e = (d.crosstalk_measured - d.heater_response())[:n1, :n1][off]
        err[n] = np.sqrt(np.mean(e ** 2))
        predicted = np.sqrt(3 * sigma_r ** 2 + 2 * imp.phase_noise ** 2) / (2 * np.pi * np.sqrt(n))
        assert 0.7 < err[n] / predicted < 1.4, (n, err[n], predicted)
    assert 2.5 < err[16] / err[256] < 6.5, err
    assert err[256] > 1e-5  # the noise is really there


def test_readings_are_counted():
    """3 (n + 1) settings per MZI of each n-heater row, N readings each; a backward read-out
    is two passes.  Any sizes (here two outputs), gain calibration off."""
    ni, nh, no, n = 2, 3, 2, 8
    arch = CalibratedArchitecture(n_in=ni, n_hidden=nh, n_out=no, gain_calibration=False, calibration_samples=n)
    die = arch.sample_die("realistic", 0)
    n1, n2 = nh * (ni + 1), no * (nh + 1)
    assert die.calibration_measurements == n * 3 * ((n1 + 1) * n1 + (n2 + 1) * (2 * no * nh + no))
    assert die.measurements == 0
    off = CalibratedArchitecture(n_in=ni, n_hidden=nh, n_out=no, gain_calibration=False,
                                 crosstalk_calibration=False).sample_die("realistic", 0)
    assert off.calibration_measurements == 0 and off.crosstalk_measured is None


def test_dataset_and_summary_carry_the_measured_matrix():
    die = LabArchitecture().sample_die("realistic", 2)
    ds = die.to_dataset()
    assert ds.crosstalk_measured.dims == ("heater_out", "heater_in") and ds.attrs["crosstalk_calibration"] == 1
    np.testing.assert_array_equal(ds.crosstalk_measured.values, die.crosstalk_measured)
    err = die.summary()["crosstalk_calibration_error_max"]
    assert 1e-5 < err < 5e-3  # 100 µW, N = 64: rms 2e-4 (layer 1) … 6e-4 (layer-2 diagonal)
    assert die.summary()["weight_error_rms"] < 0.05
    off = CalibratedArchitecture(crosstalk_calibration=False).sample_die("realistic", 2)
    assert np.isnan(off.to_dataset().crosstalk_measured).all() and off.to_dataset().attrs["crosstalk_calibration"] == 0
    assert "crosstalk_calibration_error_max" not in off.summary() and off.summary()["weight_error_rms"] > 0.1


def test_readings_lost_in_the_noise_leave_the_die_uncompensated():
    """At 0.1 µW per channel Ĉ is implausible (module doc): Ĉ = I, the die is left uncompensated
    and its readings stay finite (it does not train at this power: the main job's sweep)."""
    assert not xc.plausible(np.array([[1.0, 0.7], [0.0, 1.0]])) and not xc.plausible(np.diag([1.0, 3.0]))
    assert not xc.plausible(np.array([[1.0, np.nan], [0.0, 1.0]])) and xc.plausible(np.eye(2) + 0.03)
    arch = CalibratedArchitecture()
    die = arch.sample_die(impairments("realistic", optical_power=1e-7), 0)
    np.testing.assert_array_equal(die.crosstalk_measured, np.eye(arch.n_params))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (16, 2))
    die.program(arch.init_params(rng))
    assert np.all(np.isfinite(die.insitu_gradient(x, (x[:, :1] > 0.5).astype(float))[1]))


def test_calibration_removes_the_crosstalk_bias_of_the_insitu_gradient():
    """thermal_crosstalk_scale = 3, 1 mW per channel (detector noise negligible), realistic
    otherwise.  The die's true gradient: FD of ``true_loss`` on its noise-free twin using the
    same Ĉ.  Weights in [−0.7, 0.99] (no heater below 0 after Ĉ⁻¹), output weights lowered
    by 0.4 so that the uncompensated die's output (its crosstalk raises every layer-2 weight
    by ~0.4) is not saturated either (init rng 3; rngs 1, 2, 4 give 0.991–0.996 vs
    0.71–0.74, rngs 0 and 5 leave both outputs nearly saturated).  Uncompensated, the slope steps miss the neighbours'
    phases; compensated, the cosine is that of the same die without crosstalk."""
    arch0 = CalibratedArchitecture()
    rng = np.random.default_rng(3)
    p = np.clip(arch0.init_params(rng, scheme="hyperplane"), -0.7, 0.99)
    p[arch0.n1:-1] = np.clip(p[arch0.n1:-1] - 0.4, -0.7, 0.99)
    x = rng.uniform(0, 1, (64, 2))
    t = (x[:, :1] + x[:, 1:] > 1).astype(float)
    quiet = dict(dac_bits=0, **QUIET)
    cos = {}
    for cal, scale in ((True, 3.0), (False, 3.0), (True, 0.0)):
        arch = CalibratedArchitecture(crosstalk_calibration=cal)
        imp = impairments("realistic", optical_power=1e-3, thermal_crosstalk_scale=scale, **NO_PHASE_ERRORS)
        die, ref = arch.sample_die(imp, 1), arch.sample_die(imp.scaled(**quiet), 1)
        if cal:
            ref.set_crosstalk_estimate(die.crosstalk_measured)
            assert np.all(np.linalg.solve(die.crosstalk_measured, die.target_powers(p)) > 0)
        g_true = fd_grad(lambda q: ref.true_loss(q, x, t), p)
        assert np.linalg.norm(g_true) > 0.05  # outputs in their active range
        die.program(p)
        cos[cal, scale] = cosine(die.insitu_gradient(x, t)[1], g_true)
    assert cos[True, 3.0] > 0.99 and cos[False, 3.0] < 0.8, cos
    assert abs(cos[True, 3.0] - cos[True, 0.0]) < 0.003, cos


def test_import_pipeline_does_not_import_meep():
    code = ("import sys, pipeline, pipeline.chip.attenuator, pipeline.chip.crosstalk_calibration; "
            "print(any(m.split('.')[0] in ('meep', 'tidy3d') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- projection onto the realisable set (heater-cannot-cool) ------------------------------------------

def _near_minus_one(arch, rng):
    """Weights in [−1, 1] with every fourth one at −1: beside heated neighbours, their
    compensated heaters would need P < 0."""
    p = rng.uniform(-1, 1, arch.n_params)
    p[::4] = -1.0
    return p


def test_realisable_targets_are_what_compensate_realises_and_a_fixed_point():
    """The pure function: Ĉ compensate(T) on the held heaters, T itself elsewhere (bit for
    bit); its output needs no heater outside the bounds and maps to itself."""
    n, p_max = 12, 2.0
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    c = np.eye(n) + 0.25 * np.exp(-d) * (d > 0)
    c_inv = np.linalg.inv(c)
    t = np.random.default_rng(4).uniform(0, 1.1 * p_max, (200, n))
    r = xc.realisable(c_inv, t, p_max)
    p = xc.compensate(c_inv, t, p_max)
    held = (p == 0) | (p == p_max)
    assert held.any(1).mean() > 0.5 and (p == 0).any() and (p == p_max).any()
    np.testing.assert_array_equal(r[~held], t[~held])
    np.testing.assert_allclose(r, p @ c.T, rtol=0, atol=1e-12)  # what the powers realise
    unconstrained = r @ c_inv.T
    tol = 1e-9 * p_max
    assert unconstrained.min() >= -tol and unconstrained.max() <= p_max + tol  # no bound hit
    np.testing.assert_allclose(xc.realisable(c_inv, r, p_max), r, rtol=0, atol=1e-12)
    assert xc.realisable(None, t, p_max) is t


def test_project_params_moves_only_held_weights_onto_what_the_die_realises():
    """Noise-free die (ideal couplers, no DAC steps, crosstalk ×1): the projected weights are
    realised exactly, compensate holds no heater outside 0 … 2 P_π for them, the projection
    is idempotent, and weights whose heaters are in range come back bit for bit."""
    arch = CalibratedArchitecture()
    die = arch.sample_die(impairments("ideal", thermal_crosstalk_scale=1.0), 0)
    p = _near_minus_one(arch, np.random.default_rng(5))
    q = die.project_params(p)
    unconstrained = die.target_powers(p) @ die._crosstalk_inverse.T
    held = unconstrained < 0
    assert held.sum() >= 3
    np.testing.assert_array_equal(q[~held], p[~held])  # reachable: unchanged
    assert np.all(q[held] > p[held]) and np.all(q[held] < -0.9)  # up to the neighbours' heat
    np.testing.assert_allclose(die.project_params(q), q, rtol=0, atol=1e-12)  # idempotent
    unconstrained = die.target_powers(q) @ die._crosstalk_inverse.T
    assert unconstrained.min() > -1e-9 * die.p_pi and unconstrained.max() < 2 * die.p_pi
    die.program(q)
    np.testing.assert_allclose(die.realised_weights(), q, rtol=0, atol=1e-9)
    die.program(p)
    assert np.max(np.abs(die.realised_weights() - p)) > 0.01  # what the projection removes
    reachable = np.random.default_rng(2).uniform(0.0, 0.99, arch.n_params)  # θ ≥ π/2: no heater below 0
    np.testing.assert_array_equal(die.project_params(reachable), reachable)


def test_project_params_on_a_realistic_die_uses_only_what_the_controller_knows():
    """Noisy realistic die: the projection depends on Ĉ (not the true C) and the nominal P_π;
    the held weights still land within the calibration's error of what the die realises."""
    arch = CalibratedArchitecture()
    die = arch.sample_die("realistic", 1)
    p = _near_minus_one(arch, np.random.default_rng(6))
    q = die.project_params(p)
    assert np.any(q != p)
    np.testing.assert_allclose(die.project_params(q), q, rtol=0, atol=1e-12)
    twin = arch.sample_die("realistic", 1)
    twin.crosstalk = 2 * twin.crosstalk  # the hidden truth changes, the projection does not
    np.testing.assert_array_equal(twin.project_params(p), q)


def test_projection_is_the_identity_without_crosstalk_calibration(monkeypatch):
    """crosstalk_calibration=False: project_params returns the parameters bit for bit, and
    in-situ training is bit-identical to a loop without projection."""
    from pipeline.chip.attenuator_die import AttenuatorDie
    from pipeline.training import algorithms as alg, datasets

    arch = CalibratedArchitecture(crosstalk_calibration=False)
    die = arch.sample_die("realistic", 2)
    p = _near_minus_one(arch, np.random.default_rng(7))
    np.testing.assert_array_equal(die.project_params(p), p)
    data = datasets.load("moons", n_samples=60)
    cfg = alg.TrainConfig(epochs=3)
    with_projection = alg.train_insitu(arch.sample_die("realistic", 2), data, cfg)
    monkeypatch.delattr(AttenuatorDie, "project_params")
    without = alg.train_insitu(arch.sample_die("realistic", 2), data, cfg)
    np.testing.assert_array_equal(with_projection.trajectory, without.trajectory)
    np.testing.assert_array_equal(with_projection.metrics["train_loss"], without.metrics["train_loss"])


@pytest.mark.parametrize("train", ["insitu", "forward-only"])
def test_training_keeps_the_parameters_on_the_realisable_set(train):
    """With crosstalk calibration, every recorded parameter vector of in-situ and
    forward-only training is a fixed point of the die's projection; offline is not projected."""
    from pipeline.training import algorithms as alg, datasets

    arch = CalibratedArchitecture()
    data = datasets.load("moons", n_samples=60)
    cfg = alg.TrainConfig(epochs=4, learning_rate=0.05)
    die = arch.sample_die("realistic", 2)
    fn = alg.train_insitu if train == "insitu" else alg.train_forward_only
    traj = fn(die, data, cfg).trajectory
    for p in traj:
        np.testing.assert_allclose(die.project_params(p), p, rtol=0, atol=1e-12)
    ideal = alg.train_ideal(arch, data, cfg)
    np.testing.assert_array_equal(alg.train_offline(die, data, cfg, ideal=ideal).trajectory, ideal.trajectory)

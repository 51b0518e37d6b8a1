"""The ``mesh`` architecture and its dies: ideal die = ideal model, in-situ (Hughes)
gradients = finite differences of the die's own loss, impairments act as stated."""

import numpy as np
import pytest

from pipeline.chip.impairments import IDEAL, REALISTIC
from pipeline.chip.interface import Architecture, Die
from pipeline.chip.mesh_network import MeshNetwork, MeshNetworkSpec
from pipeline.errors import SpecError


@pytest.fixture(scope="module")
def arch():
    return MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=3))


@pytest.fixture(scope="module")
def problem(arch):
    rng = np.random.default_rng(0)
    return arch.init_params(rng), rng.uniform(0, 1, (12, 2)), rng.uniform(0, 0.5, (12, 2))


def fd(f, p, h=1e-6):
    out = []
    for i in range(p.size):
        e = np.zeros(p.size)
        e[i] = h
        out.append((f(p + e) - f(p - e)) / (2 * h))
    return np.array(out)


def test_protocols(arch):
    die = arch.sample_die(IDEAL, 0)
    assert isinstance(arch, Architecture) and isinstance(die, Die)


def test_ideal_die_equals_ideal_model(arch, problem):
    p, x, t = problem
    die = arch.sample_die(IDEAL, 3)
    die.program(p)
    assert np.abs(die.infer(x) - arch.ideal_forward(p, x)).max() < 1e-12
    assert abs(die.true_loss(p, x, t) - arch.ideal_loss_and_grad(p, x, t)[0]) < 1e-12


def test_ideal_gradient_matches_finite_differences(arch, problem):
    p, x, t = problem
    loss, grad = arch.ideal_loss_and_grad(p, x, t)
    num = fd(lambda q: 0.5 * np.mean(np.sum((arch.ideal_forward(q, x) - t) ** 2, 1)), p)
    assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max()


def test_insitu_gradient_on_lossless_noise_free_die_equals_fd_of_its_loss(arch, problem):
    p, x, t = problem
    die = arch.sample_die(IDEAL, 1)
    die.program(p)
    loss, grad = die.insitu_gradient(x, t)
    num = fd(lambda q: die.true_loss(q, x, t), p)
    assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max()
    assert abs(loss - die.true_loss(p, x, t)) < 1e-12
    assert die.measurements > 3 * 2 * arch.k * x.shape[0] * 3


def test_realistic_die_differs_and_its_measured_gradient_tracks_the_truth(arch, problem):
    p, x, t = problem
    die = arch.sample_die(REALISTIC.scaled(optical_power=1e-3, dac_bits=0), 2)  # continuous: FD is defined
    die.program(p)
    assert abs(die.true_loss(p, x, t) - arch.ideal_loss_and_grad(p, x, t)[0]) > 1e-4
    _, grad = die.insitu_gradient(x, t)
    true = fd(lambda q: die.true_loss(q, x, t), p, h=1e-4)
    cos = grad @ true / np.linalg.norm(grad) / np.linalg.norm(true)
    assert 0.95 < cos < 0.9999  # biased by loss, noise, tap gains, crosstalk, but informative


def test_noise_falls_with_optical_power(arch, problem):
    p, x, t = problem
    spread = []
    for power in (1e-6, 1e-3):
        die = arch.sample_die(IDEAL.scaled(detector_noise=True, optical_power=power), 4)
        die.program(p)
        spread.append(np.std([die.infer(x)[0, 0] for _ in range(30)]))
    assert spread[0] > 30 * spread[1] > 0


def test_thermal_crosstalk_shifts_phases_as_its_matrix_says():
    from devices.phase_shifter import crosstalk_matrix

    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=1))
    die = arch.sample_die(IDEAL.scaled(thermal_crosstalk_scale=1.0), 0)
    p = np.zeros(arch.n_params)
    p[0] = np.pi  # MZI 0 (column 0, modes 0-1) theta; MZI 1 (column 0, modes 2-3) is its row neighbour
    phases = die.realised_phases(die.heater_powers(p), noise=False)
    x = crosstalk_matrix(2, 2 * arch.spec.mode_pitch, model=die.library.model("phase_shifter"))[1, 0]
    assert arch.layout.column[1] == 0 and arch.layout.modes[1] == 2
    assert np.isclose(phases[0, 0, 1], np.pi * x, rtol=1e-12) and np.isclose(phases[0, 0, 0], np.pi)


def test_dataset_has_named_dims_and_units(arch):
    ds = arch.sample_die(REALISTIC, 5).to_dataset()
    assert ds["dw"].dims == ("layer", "mzi", "coupler") and ds["dw"].attrs["units"] == "um"
    assert ds.attrs["architecture"] == "mesh" and 0.4 < float(ds["kappa2"].mean()) < 0.6


def test_bad_input_is_refused(arch):
    with pytest.raises(SpecError, match="scaled to"):
        arch.encode(np.array([[0.2, 1.5]]))
    with pytest.raises(SpecError, match="params has shape"):
        arch.ideal_forward(np.zeros(3), np.zeros((1, 2)))
    with pytest.raises(SpecError, match="n_in"):
        MeshNetworkSpec(n_modes=3, n_in=3)


def test_task_sized_architecture_for_the_training_registry():
    from pipeline.chip.mesh_network import MeshArchitecture

    a = MeshArchitecture(n_in=4, n_out=3, n_layers=2)
    assert (a.spec.n_modes, a.n_in, a.n_out, a.n_params) == (5, 4, 3, 2 * 2 * 10)
    rng = np.random.default_rng(1)
    y = a.ideal_forward(a.init_params(rng), rng.uniform(0, 1, (6, 4)))
    assert y.shape == (6, 3) and np.all(y >= 0)


# -- measured activation derivative, per-pass phase noise, phase errors, lab calibration ------
PHASE_ERRORS = IDEAL.scaled(arm_phase_sigma=0.6, heater_efficiency_sigma=0.03)


def test_insitu_gradient_with_measured_derivative_equals_fd_on_a_die_with_phase_errors(arch, problem):
    """Noise-free, lossless die with MZI arm offsets and P_pi spread, lab-calibrated (exact
    without noise): the in-situ gradient (derivative modulator read by a coherent receiver)
    equals central differences of the die's own loss; uncalibrated with offsets only too."""
    p, x, t = problem
    for a, imp in ((arch.lab_calibrated(), PHASE_ERRORS), (arch, IDEAL.scaled(arm_phase_sigma=0.6))):
        die = a.sample_die(imp, 6)
        assert np.abs(die.offset).max() > 0.3
        die.program(p)
        loss, grad = die.insitu_gradient(x, t)
        num = fd(lambda q: die.true_loss(q, x, t), p)
        assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max()
        assert abs(loss - die.true_loss(p, x, t)) < 1e-12


def test_calibrated_noise_free_die_reproduces_the_ideal_model(arch, problem):
    p, x, _ = problem
    die = arch.lab_calibrated().sample_die(PHASE_ERRORS, 7)
    die.program(p)
    assert np.abs(die.infer(x) - arch.ideal_forward(p, x)).max() < 1e-7
    raw = arch.sample_die(PHASE_ERRORS, 7)
    raw.program(p)
    assert np.abs(raw.infer(x) - arch.ideal_forward(p, x)).max() > 1e-2
    n, n_l = arch.spec.n_modes, arch.spec.n_layers
    pairs = sum(len(ks) * (len(ks) - 1) for ks in die._rows)  # ordered same-row pairs: crosstalk sweeps
    assert die.calibration_measurements == (4 * 12 * 2 * arch.k + 2 * 12 * 2 * pairs + n * n) * 64 * n_l


def test_calibration_recovers_offsets_and_efficiencies_to_the_noise_model():
    """Noisy die with 50:50 couplers (the calibration's model): detector noise, ADC, DAC,
    phase noise, RIN, tap gain spread.  Noise model (mesh_calibration doc): per setting the
    ratio noise is σ_r = σ_I(P_t)/(R P_t √N) at the smallest tap power P_t (≈ 1 % × 100 µW ×
    0.25 here), σ(θ0) ≈ 2√2 σ_r/√M; offsets (layers ≥ 1: every input lit, no gauge freedom)
    must lie within 5 σ at the largest error, efficiencies within 5 σ/π."""
    from devices import photodetector_electrical as pde
    from pipeline.chip.mesh_calibration import CAL_POINTS

    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=2)).lab_calibrated()
    imp = PHASE_ERRORS.scaled(detector_noise=True, adc_bits=12, dac_bits=12, phase_noise=0.002, laser_rin=-150,
                              detector_gain_sigma=0.02)
    die = arch.sample_die(imp, 0)
    p_t = 0.01 * imp.optical_power * 0.25
    r = die.detector.responsivity
    sigma_r = np.sqrt(pde.noise_variance(p_t, bandwidth=imp.measurement_bandwidth, spec=die.detector)) / (
        r * p_t * np.sqrt(arch.spec.calibration_samples))
    sigma = 2 * np.sqrt(2) * sigma_r / np.sqrt(CAL_POINTS)
    c = die.calibration
    err = np.angle(np.exp(1j * (c.offset - die.offset)))[1:]
    true_eff = die.efficiency * die.dphase_dpower / die.dphase_dpower_nominal
    assert 0.005 < sigma < 0.03
    assert np.abs(err).max() < 5 * sigma and np.abs(c.efficiency - true_eff)[1:].max() < 5 * sigma / np.pi
    assert np.abs(err[0, 0]).max() > 1e-4  # noise does act


def test_calibration_fits_couplers_and_crosstalk_on_a_noise_free_realistic_die(arch):
    """Realistic dies 0 and 4 with detector noise, RIN, phase noise and drift off (ADC, DAC,
    losses, crosstalk, modulator bias and detector gain errors on): the fitted coupler
    splittings and row crosstalk match the die's, and the calibrated die reproduces the
    ideal model far better than the coupler-blind calibration did.  Mean over 10 parameter
    sets of max |y_die − y_ideal| (50 inputs), die 0 / 4: coupler-blind sweep fit (50:50
    model, upstream at 50:50, no crosstalk step) 0.65 / 1.08; this calibration 0.43 / 0.36
    (0.19 / 0.33 with modulator bias and detector gain errors off: what is left of the mesh
    — coupler-loss spread between MZIs, states out of reach of the couplers)."""
    imp = REALISTIC.scaled(detector_noise=False, laser_rin=None, phase_noise=0, phase_drift=0)
    x = np.random.default_rng(1).uniform(0, 1, (50, 2))
    for seed, bound in ((0, 0.5), (4, 0.45)):
        die = arch.lab_calibrated().sample_die(imp, seed)
        c = die.calibration
        assert np.abs(c.kappa2 - 0.5).max() > 0.03  # the couplers are off 50:50 …
        assert np.abs(c.kappa2 - die.kappa2).max() < 3e-3  # … and fitted
        for ks, xt in zip(die._rows, die._xt):
            assert np.abs(c.crosstalk[:, :, ks[:, None], ks[None, :]] - xt).max() < 2e-3
        err = []
        for j in range(10):
            p = arch.init_params(np.random.default_rng(100 + j))
            die.program(p)
            err.append(np.abs(die.infer(x) - arch.ideal_forward(p, x)).max())
        assert np.mean(err) < bound


def test_calibrated_programming_realises_the_ideal_mzis_up_to_output_phases():
    """The calibrated model at the programmed phases equals the ideal mesh up to a phase per
    output: exactly for 50:50 couplers, within the reach of couplers at κ² 0.45 ± 0.01."""
    from pipeline.chip import mesh_calibration as mc

    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=1))
    lay, k = arch.layout, arch.k
    for k2, tol in ((0.5, 1e-12), (0.45, 0.1)):
        kappa2 = k2 + (k2 != 0.5) * 0.01 * np.random.default_rng(0).standard_normal((1, k, 2))
        cal = mc.MeshCalibration(np.zeros((1, 2, k)), np.ones((1, 2, k)), 0, kappa2=np.broadcast_to(kappa2, (1, k, 2)))
        err = []
        for j in range(20):
            p = arch.init_params(np.random.default_rng(j))
            q = mc.model_phases(cal, lay, np.stack([np.stack(tp) for tp in arch.split(p)]))
            t = mc.model_mzis(cal.kappa2[0], q[0, 0], q[0, 1])
            u = np.eye(4, dtype=complex)
            for kk in range(k):
                m = lay.modes[kk]
                u[m:m + 2] = t[kk] @ u[m:m + 2]
            ui = arch._ideal.matrix(*arch.split(p)[0])
            err.append(np.abs(np.abs(u) ** 2 - np.abs(ui) ** 2).max())
            if k2 == 0.5:
                assert np.allclose(q[0], np.mod(np.stack(arch.split(p)[0]), 2 * np.pi), atol=1e-9)
        assert max(err) < tol and (k2 == 0.5 or np.mean(err) < 0.01)


def test_phase_noise_is_drawn_per_optical_pass(arch, problem):
    p, x, t = problem
    die = arch.sample_die(IDEAL.scaled(phase_noise=0.01), 0)
    die.program(p)
    draws = []
    die.realised_phases = (lambda f: lambda *a, **k: draws.append(1) or f(*a, **k))(die.realised_phases)
    die.insitu_gradient(x, t)
    assert len(draws) == 1 + 3 * arch.spec.n_layers  # forward, then adjoint, TR, sum per layer


def test_phase_drift_grows_with_readings():
    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=1))
    die = arch.sample_die(IDEAL.scaled(phase_drift=0.01, calibration_age=1.0, reading_time=1.0), 0)
    d0 = die.drift.copy()
    assert 0.001 < np.std(d0) < 0.05
    die.measurements += 3600 * 99  # 99 h of readings: σ 0.01·√100 = 0.1 rad
    die.realised_phases(die.powers, noise=False)
    assert 0.03 < np.std(die.drift - d0) < 0.3


def test_library_detector_responsivity():
    die = MeshNetwork().sample_die(IDEAL, 0)
    assert die.detector.responsivity == pytest.approx(die.detector_figures.responsivity_a_per_w)
    assert 0.8 < die.detector.responsivity < 1.0


def _ideal_moons_accuracy(seed, epochs):
    from pipeline.training import algorithms as alg, datasets
    from pipeline.chip.mesh_network import MeshArchitecture

    a = MeshArchitecture(2, 1)
    cfg = alg.TrainConfig(seed=seed, epochs=epochs, learning_rate=a.default_learning_rate)
    data = datasets.load("moons", n_samples=300, low=cfg.target_low, high=cfg.target_high)
    run = alg.train_ideal(a, data, cfg)
    return run.final["test_accuracy"], run.metrics["train_loss"]


def test_ideal_model_trains_on_moons_with_the_defaults():
    """Defaults (gain π, Adam 0.05 rad): ≥ 97 % on moons, training loss falls ≥ 4× (60 epochs;
    seed 2 needs more: 96 % at 60, the slow test runs 200 epochs over ten seeds)."""
    for seed in (0, 1):
        acc, loss = _ideal_moons_accuracy(seed, 60)
        assert acc >= 0.97 and loss[-1] < loss[0] / 4


@pytest.mark.slow
def test_ideal_model_reaches_97_percent_on_moons_over_ten_seeds():
    accs = [_ideal_moons_accuracy(seed, 200)[0] for seed in range(10)]
    assert min(accs) >= 0.97

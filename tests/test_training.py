"""Training: optimiser closed forms, history files, registry errors, and the algorithms on
the attenuator architecture (ideal reaches >= 90 % on moons over init seeds, insitu on an
ideal die tracks ideal — dead-neuron counts included — measurement counts grow).  The ideal
reference itself (ideal-best, dead neurons, init, seeds): tests/test_ideal_reference.py."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from pipeline.errors import SpecError
from pipeline.training import algorithms as alg
from pipeline.training import history, run


# -- optimiser and loss: closed forms ------------------------------------------------------

def test_adam_first_step_is_lr_times_sign():
    cfg = alg.TrainConfig(learning_rate=0.1, lr_decay=0.0)
    opt = alg.Optimizer(cfg, 3)
    p = opt.step(np.zeros(3), np.array([2.0, -1e-3, 5.0]), 0.0)
    np.testing.assert_allclose(p, [-0.1, 0.1, -0.1], rtol=1e-4)


def test_momentum_matches_recursion_and_decay():
    cfg = alg.TrainConfig(optimizer="momentum", learning_rate=0.1, beta1=0.5, lr_decay=0.5)
    opt = alg.Optimizer(cfg, 1)
    p = opt.step(np.zeros(1), np.ones(1), 0.0)        # v = 1, lr 0.1
    p = opt.step(p, np.ones(1), 1.0)                  # v = 1.5, lr 0.05
    np.testing.assert_allclose(p, [-0.1 - 0.05 * 1.5])


def test_mse_matches_interface_definition():
    y, t = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]])
    assert alg.mse(y, t) == pytest.approx(((1 + 4) / 2 + (1 + 1) / 2) / 2)


def test_config_rejects_bad_values():
    with pytest.raises(SpecError, match="learning_rate"):
        alg.TrainConfig(learning_rate=-1)
    with pytest.raises(SpecError, match="optimizer"):
        alg.TrainConfig(optimizer="lbfgs")


# -- registry and options -----------------------------------------------------------------

def test_parse_algorithms():
    assert run.parse_algorithms("all") == list(alg.ALGORITHMS)
    assert run.parse_algorithms("insitu, ideal,insitu") == ["insitu", "ideal"]
    assert {"ideal-best", "offline-calibrated"} <= set(run.parse_algorithms("all"))
    with pytest.raises(SpecError, match=r"--algorithm = 'insitu,sgd'.*unknown \['sgd'\].*Fix"):
        run.parse_algorithms("insitu,sgd")


def test_unknown_architecture_lists_choices():
    with pytest.raises(SpecError, match=r"architecture = 'lattice'.*attenuator"):
        run.architecture("lattice", 2, 1)


# -- history --------------------------------------------------------------------------------

def _fake_run(name, epochs, offset):
    e = np.arange(epochs + 1, dtype=float)
    metrics = {k: e + offset for k in alg.METRICS}
    return alg.AlgorithmRun(name, metrics, np.full(5, offset), np.zeros((epochs + 1, 5)))


def test_history_roundtrip_and_padding(tmp_path):
    runs = [_fake_run("ideal", 4, 0.0), _fake_run("insitu", 2, 10.0)]
    h = history.build(runs, {"dataset": "moons", "impairments": {"phase_noise": 0.002}, "seed": 3})
    assert h["test_accuracy"].dims == ("algorithm", "epoch")
    assert h.sizes == {"algorithm": 2, "epoch": 5, "param": 5}
    assert np.isnan(h["train_loss"].sel(algorithm="insitu", epoch=4))
    assert float(h["wall_s"].sel(algorithm="insitu", epoch=2)) == 12.0
    arr = history.as_metric_array(h)
    assert arr.dims == ("metric", "algorithm", "epoch") and arr.sizes["metric"] == len(alg.METRICS)
    path = history.write(h, tmp_path / "sub" / "h.nc")
    back = history.read(path)
    assert back.attrs["dataset"] == "moons" and back.attrs["seed"] == 3
    assert '"phase_noise": 0.002' in back.attrs["impairments"]
    np.testing.assert_array_equal(back["measurements"].values, h["measurements"].values)
    assert list(back["algorithm"].values) == ["ideal", "insitu"]


# -- the algorithms on the attenuator architecture ----------------------------------------------

@pytest.fixture(scope="module")
def moons():
    from pipeline.training import datasets

    cfg = alg.TrainConfig()  # the targets run.train uses (0.2 / 0.8)
    return datasets.load("moons", low=cfg.target_low, high=cfg.target_high)


@pytest.fixture(scope="module")
def attenuator():
    return run.architecture("attenuator", 2, 1)


def test_ideal_reaches_90_percent_on_moons(attenuator, moons):
    """Init seeds 0–9 (measured: 97.0 ± 3.5 %, min 90.0 %; the former hyperplane init gave
    92.9 ± 6.5 %, min 83 %, with seeds 5, 7, 9 below 90 %)."""
    acc = []
    for s in range(10):
        r = alg.train_ideal(attenuator, moons, alg.TrainConfig(seed=s))
        acc.append(r.metrics["test_accuracy"][-1])
        assert r.metrics["train_loss"][-1] < 0.5 * r.metrics["train_loss"][0], s
        assert np.all(r.metrics["measurements"] == 0)
        # the recorded accuracy is the ideal model's, recomputed independently here
        y = attenuator.ideal_forward(r.params, moons.x_test)
        assert np.mean((y[:, 0] > 0.5) == moons.labels_test) == r.metrics["test_accuracy"][-1]
    assert min(acc) >= 0.88 and np.mean(acc) >= 0.95, np.round(acc, 3)


def test_insitu_on_ideal_die_tracks_ideal(attenuator, moons):
    cfg = alg.TrainConfig(epochs=4, batch_size=10)
    ideal = alg.train_ideal(attenuator, moons, cfg)
    die = attenuator.sample_die("ideal", 0)
    ins = alg.train_insitu(die, moons, cfg)
    np.testing.assert_allclose(ins.trajectory, ideal.trajectory, atol=1e-6)
    np.testing.assert_allclose(ins.metrics["train_loss"], ideal.metrics["train_loss"], rtol=1e-5)
    np.testing.assert_array_equal(ins.metrics["test_accuracy"], ideal.metrics["test_accuracy"])
    # the die's dead-neuron count (its internal state) is the ideal model's
    np.testing.assert_array_equal(ins.metrics["dead_neurons"], ideal.metrics["dead_neurons"])
    # offline on the ideal die deploys exactly the ideal model
    off = alg.train_offline(attenuator.sample_die("ideal", 0), moons, cfg, ideal=ideal)
    np.testing.assert_allclose(off.metrics["test_loss"], ideal.metrics["test_loss"], rtol=1e-9)


def test_measurement_counts(attenuator, moons):
    cfg = alg.TrainConfig(epochs=3, batch_size=20, spsa_samples=2)
    die = attenuator.sample_die("realistic", 1)
    start = die.measurements  # a die may have read detectors for its calibration
    ins = alg.train_insitu(die, moons, cfg)
    m = ins.metrics["measurements"]
    assert m[0] == 0 and np.all(np.diff(m) > 0)
    np.testing.assert_array_equal(np.diff(m), np.diff(m)[0])      # same batches every epoch
    # the die's counter = training reads + evaluation reads
    assert die.measurements - start == m[-1] + ins.metrics["eval_measurements"][-1]
    # forward-only: 2 * spsa_samples infer passes over the training split per epoch
    die2 = attenuator.sample_die("realistic", 1)
    before = die2.measurements
    die2.program(np.zeros(attenuator.n_params))
    die2.infer(moons.x_train)
    per_pass = die2.measurements - before
    fo = alg.train_forward_only(die2, moons, cfg)
    np.testing.assert_array_equal(np.diff(fo.metrics["measurements"]), 2 * cfg.spsa_samples * per_pass)


def test_spsa_estimate_is_unbiased(attenuator, moons):
    die = attenuator.sample_die("ideal", 0)
    p = attenuator.init_params(np.random.default_rng(0))  # an init with a non-zero gradient
    x, t = moons.x_train[:40], moons.t_train[:40]
    g_true = attenuator.ideal_loss_and_grad(p, x, t)[1]
    g = alg.spsa_gradient(die, p, x, t, perturbation=1e-3, samples=400, rng=np.random.default_rng(0))
    cos = g @ g_true / np.linalg.norm(g) / np.linalg.norm(g_true)
    # error of the mean of K Rademacher estimates ~ sqrt(n / K) |g|: expect cos ~ 0.96
    assert cos > 0.9
    assert np.linalg.norm(g) / np.linalg.norm(g_true) == pytest.approx(1.0, abs=0.3)


def test_shape_mismatch_names_the_fix(attenuator):
    from pipeline.training import datasets

    iris = datasets.load("iris")
    with pytest.raises(SpecError, match=r"n_in = 2, n_out = 1.*4 features and 3 outputs.*n_in=4, n_out=3"):
        alg.train_ideal(attenuator, iris, alg.TrainConfig(epochs=1))


def test_train_returns_a_typed_result_and_save_writes_the_files(tmp_path):
    res = run.train("circles", "attenuator", "ideal,insitu", "realistic", seed=2, config=alg.TrainConfig(epochs=2))
    assert isinstance(res, run.TrainResult) and not any(tmp_path.iterdir())  # training writes nothing
    with pytest.raises(FrozenInstanceError):
        res.history = None
    with pytest.raises(TypeError):
        res.runs["x"] = None  # read-only mapping
    assert res.algorithms == ["ideal", "insitu"] and res.dies["ideal"] is None and res.die is res.dies["insitu"]
    assert res.final["insitu"]["test_accuracy"] == float(res.history["test_accuracy"].sel(algorithm="insitu")[-1])
    assert res.die_summary["p_pi_mw"] > 0
    paths = res.save(tmp_path)
    assert set(paths) == {"history", "curves", "decision_boundaries"}
    h = history.read(paths["history"])
    assert h.sizes["algorithm"] == 2 and h.sizes["epoch"] == 3
    assert h.attrs["architecture"] == "attenuator" and h.attrs["seed"] == 2
    assert h.attrs["config.epochs"] == 2 and h.attrs["impairments.optical_power"] == res.die.impairments.optical_power
    for key in ("curves", "decision_boundaries"):
        assert (tmp_path / paths[key].split("/")[-1]).stat().st_size > 10_000
    s = res.summary(paths)
    assert s == run.summary(res, paths) and s["paths"] == paths
    assert s["algorithm"] == "insitu" and s["measurements"] == int(h["measurements"].sel(algorithm="insitu")[-1])
    assert set(res.save(tmp_path / "no_plots", plots_wanted=False)) == {"history"}


# -- the main claim over many dies, as computed verdicts (make test-slow) ----------------------------

def _study(dataset, calibration, dies=range(10)):
    """Final test accuracy (seed × algorithm) of ideal / insitu / offline-calibrated on
    realistic dies, separate init and split seeds per die (as the main job)."""
    import xarray as xr

    names = ["ideal", "insitu", "offline-calibrated"]
    acc = np.full((len(dies), len(names)), np.nan)
    for i, die in enumerate(dies):
        res = run.train(dataset, "attenuator", ",".join(names), "realistic", seed=die, init_seed=1000 + die,
                        split_seed=die, calibration=calibration)
        acc[i] = [res.runs[n].metrics["test_accuracy"][-1] for n in names]
    return xr.DataArray(acc, dims=("seed", "algorithm"), coords={"seed": list(dies), "algorithm": names})


@pytest.mark.slow
@pytest.mark.parametrize("dataset", [
    pytest.param("moons", marks=pytest.mark.xfail(strict=True, reason=(
        "moons, lab-calibrated dies 0-9: insitu - ideal = -2.5 [-5.7, -0.2] points (not within +-2); insitu "
        "95.0 %, worst die 82 % (a hidden neuron dies during in-situ training on 4 of 10 dies); "
        "benchmarks/results/training.txt"))),
    "circles", "xor"])
def test_insitu_matches_ideal_on_lab_calibrated_realistic_dies(dataset):
    """The paper's claim as a two-sided verdict: on lab-calibrated realistic dies the in-situ
    accuracy is within ±2 points of the ideal model's (bootstrap 95 % interval of the paired
    per-die difference inside the margin) and every die reaches 90 %."""
    from pipeline.training import verdicts as vd

    acc = _study(dataset, "lab")
    diff = vd.paired_difference(acc, "insitu", "ideal")
    verdict = vd.equivalence_verdict(diff, 0.02)
    assert verdict.passed and float(acc.sel(algorithm="insitu").min()) >= 0.90, (diff.to_dict(), acc.values)


def test_mesh_architecture_through_the_registry():
    from pipeline.training import datasets

    data = datasets.load("xor", n_samples=120)
    arch = run.architecture("mesh", data.n_features, data.n_outputs)
    assert (arch.n_in, arch.n_out) == (2, 1)
    cfg = alg.TrainConfig(epochs=3)
    ideal = alg.train_ideal(arch, data, cfg)
    ins = alg.train_insitu(arch.sample_die("ideal", 0), data, cfg)
    np.testing.assert_allclose(ins.trajectory, ideal.trajectory, atol=1e-6)
    assert ins.metrics["measurements"][-1] > 0

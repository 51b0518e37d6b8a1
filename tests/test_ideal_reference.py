"""The ideal reference: dead-neuron counts (ideal model and die), the active-range init,
``ideal-best`` (restart selection by final training loss), ``offline-calibrated`` and the
separate die / init / split seeds.  Slow tests (``make test-slow``) print the distributions
over init seeds that the docstring of ``AttenuatorArchitecture.init_params`` quotes."""

from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.errors import SpecError
from pipeline.training import algorithms as alg
from pipeline.training import datasets, history, run

CFG = alg.TrainConfig()  # the defaults (targets 0.2 / 0.8, 200 epochs) are what run.train uses


def _data(name):
    return datasets.load(name, low=CFG.target_low, high=CFG.target_high)


def _hand_built(arch):
    """Hidden neurons (z1 = w·x + b over x ∈ [0, 1]²): 0 all-negative weights (z1 <= −0.1:
    dead), 1 normal (z1 ∈ [0.1, 0.9]), 2 saturated (z1 >= 1.1: dead), 3 a plane through the
    data (active on one side: alive), the rest normal."""
    w1 = np.tile([0.4, 0.4, 0.1], (arch.n_hidden, 1))
    w1[0] = [-0.5, -0.4, -0.1]
    w1[1] = [0.5, 0.3, 0.1]
    w1[2] = [0.5, 0.6, 1.0]
    w1[3] = [1.0, -1.0, 0.0]
    w2 = np.full(arch.shape2, 0.1)
    return np.concatenate([w1.ravel(), w2.ravel()])


def test_dead_neurons_on_hand_built_parameters():
    arch = AttenuatorArchitecture()
    x = np.random.default_rng(0).uniform(0, 1, (200, 2))
    p = _hand_built(arch)
    assert arch.dead_neurons(p, x) == 2
    z1 = arch._ideal(p, x)["z1"]
    assert np.all(z1[:, 0] < 0) and np.all(z1[:, 2] > 1) and np.any((z1[:, 3] > 0) & (z1[:, 3] < 1))
    # a noise-free ideal die reads the same pre-activations and counts the same neurons
    die = arch.sample_die("ideal", 0)
    assert die.dead_neurons(p, x) == 2
    alive = p.copy()
    alive[:3] = [0.5, 0.3, 0.1]
    assert arch.dead_neurons(alive, x) == die.dead_neurons(alive, x) == 1
    assert die.measurements == arch.sample_die("ideal", 0).measurements  # a diagnostic: no readings counted


def test_active_init_starts_every_neuron_inside_the_active_range():
    arch = AttenuatorArchitecture()
    g = np.linspace(0, 1, 21)
    box = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    inside, old_inside = [], []
    for s in range(50):
        z1 = arch._ideal(arch.init_params(np.random.default_rng(s)), box)["z1"]
        inside.append(np.mean((z1 >= 0) & (z1 <= arch.full_scale)))
        z1 = arch._ideal(arch.init_params(np.random.default_rng(s), scheme="hyperplane"), box)["z1"]
        old_inside.append(np.mean(z1 > 0))
    assert min(inside) == 1.0  # every neuron, every point of the input box
    assert 0.4 < np.mean(old_inside) < 0.6  # the old init: planes through the data, half the box at z <= 0
    with pytest.raises(SpecError, match=r"init scheme = 'xavier'.*Fix"):
        arch.init_params(np.random.default_rng(0), scheme="xavier")


def test_ideal_best_selects_the_lowest_final_training_loss():
    arch, data = AttenuatorArchitecture(), _data("moons")
    cfg = alg.TrainConfig(epochs=15, ideal_restarts=4, seed=2)
    best = alg.train_ideal_best(arch, data, cfg)
    ex = best.extra
    assert best.algorithm == "ideal-best" and len(ex["restart_train_loss"]) == 4
    assert ex["restart_seed"][0] == 2 and len(set(ex["restart_seed"])) == 4
    assert ex["restart_seed"] == alg.restart_seeds(2, 4)  # deterministic
    k = ex["selected_restart"]
    assert all(ex["restart_train_loss"][k] <= loss for loss in ex["restart_train_loss"])
    # the deployed run is that restart, re-trained independently here
    again = alg.train_ideal(arch, data, alg.TrainConfig(**{**cfg.model_dump(), "seed": ex["restart_seed"][k]}))
    np.testing.assert_array_equal(best.trajectory, again.trajectory)
    assert best.metrics["train_loss"][-1] == ex["restart_train_loss"][k]
    assert best.metrics["test_accuracy"][-1] == ex["restart_test_accuracy"][k]
    # restart 0 is the plain ideal run
    first = alg.train_ideal(arch, data, cfg)
    assert first.metrics["train_loss"][-1] == ex["restart_train_loss"][0]
    # in the history: the restarts over a `restart` dim, NaN for algorithms without restarts
    h = history.build([first, best], {"dataset": "moons"})
    assert h["restart_test_accuracy"].dims == ("algorithm", "restart") and h.sizes["restart"] == 4
    assert h["restart_test_accuracy"].attrs["units"] == "1"
    np.testing.assert_array_equal(h["restart_train_accuracy"].sel(algorithm="ideal-best"), ex["restart_train_accuracy"])
    assert np.isnan(h["restart_train_loss"].sel(algorithm="ideal")).all()
    assert int(h["selected_restart"].sel(algorithm="ideal-best")) == k
    assert h["dead_neurons"].attrs["units"] == "1"  # a count of neurons (UDUNITS: dimensionless)


def _die_state(die):
    return die.realised_weights(die.heater_powers(np.zeros(die.architecture.n_params)))


def test_die_init_and_split_seeds_are_separate():
    cfg = alg.TrainConfig(epochs=1)
    base = run.train("moons", "attenuator", "ideal,offline", seed=3, config=cfg)
    same = run.train("moons", "attenuator", "ideal,offline", seed=3, init_seed=3, config=cfg)
    np.testing.assert_array_equal(base.runs["ideal"].trajectory, same.runs["ideal"].trajectory)
    # init_seed: other initial parameters, same die, same data
    other = run.train("moons", "attenuator", "ideal,offline", seed=3, init_seed=4, config=cfg)
    assert not np.allclose(base.runs["ideal"].trajectory[0], other.runs["ideal"].trajectory[0])
    np.testing.assert_array_equal(_die_state(base.die), _die_state(other.die))
    np.testing.assert_array_equal(base.data.x_train, other.data.x_train)
    assert other.history.attrs["init_seed"] == 4 and other.history.attrs["seed"] == 3
    # seed (die) with init_seed fixed: same init, other die
    die4 = run.train("moons", "attenuator", "ideal,offline", seed=4, init_seed=3, config=cfg)
    np.testing.assert_array_equal(base.runs["ideal"].trajectory[0], die4.runs["ideal"].trajectory[0])
    assert not np.allclose(_die_state(base.die), _die_state(die4.die))
    # split_seed: the same samples split differently; same init, same die
    split = run.train("moons", "attenuator", "ideal,offline", seed=3, split_seed=1, config=cfg)
    a, b = base.data, split.data
    assert not np.array_equal(a.labels_test, b.labels_test) or not np.allclose(a.x_test, b.x_test)
    assert a.x_train.shape == b.x_train.shape and b.meta["split_seed"] == 1 and b.meta["data_seed"] == 0
    np.testing.assert_array_equal(base.runs["ideal"].trajectory[0], split.runs["ideal"].trajectory[0])
    np.testing.assert_array_equal(_die_state(base.die), _die_state(split.die))
    with pytest.raises(SpecError, match=r"calibration = 'factory'.*Fix.*readout"):
        run.train("moons", "attenuator", "ideal", calibration="factory", config=cfg)


def test_offline_calibrated_and_lab_calibration():
    cfg = alg.TrainConfig(epochs=2)
    res = run.train("moons", "attenuator", "ideal,offline,offline-calibrated,insitu", seed=1, config=cfg)
    dies, runs = res.dies, res.runs
    assert dies["ideal"] is None and dies["offline"] is res.die and dies["insitu"] is not dies["offline"]
    for attr in ("kappa2", "arm_offset", "heater_efficiency"):  # the same chip (each has drifted on its own)
        np.testing.assert_array_equal(getattr(dies["offline"], attr), getattr(dies["insitu"], attr))
    assert dies["offline-calibrated"].architecture.spec.phase_calibration
    assert not dies["offline"].architecture.spec.phase_calibration
    np.testing.assert_array_equal(runs["offline-calibrated"].trajectory, runs["ideal"].trajectory)
    dead = res.history["dead_neurons"]
    assert np.all(np.isfinite(dead)) and np.all((dead >= 0) & (dead <= 8))
    lab = run.train("moons", "attenuator", "insitu", seed=1, config=cfg, calibration="lab")
    assert lab.dies["insitu"].architecture.spec.crosstalk_calibration
    # an architecture without a lab calibration model is named with the fix
    with pytest.raises(SpecError, match=r"architecture = 'toy'.*lab_calibrated.*Fix: use calibration='readout'"):
        run.lab_die(SimpleNamespace(name="toy"), lab.die.impairments, 0)


def test_mesh_records_nan_dead_neurons():
    data = datasets.load("xor", n_samples=60)
    arch = run.architecture("mesh", data.n_features, data.n_outputs)
    r = alg.train_ideal(arch, data, alg.TrainConfig(epochs=1))
    assert np.isnan(r.metrics["dead_neurons"]).all() != hasattr(arch, "dead_neurons")
    assert np.isnan(alg.dead_counter(SimpleNamespace(), data)(np.zeros(3)))  # any model without the method


# -- distributions over init seeds (make test-slow) ------------------------------------------------

def _stats(values):
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f} ± {v.std():.1f} % (min {v.min():.1f})"


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["moons", "circles"])
def test_ideal_best_reaches_97_percent_over_init_seeds(dataset):
    """ideal-best (5 restarts) over init seeds 0–9; the mean ≥ 97 % and no seed < 93 %."""
    arch, data = AttenuatorArchitecture(), _data(dataset)
    acc = [alg.train_ideal_best(arch, data, alg.TrainConfig(seed=s)).metrics["test_accuracy"][-1] for s in range(10)]
    print(f"\n{dataset} ideal-best, init seeds 0-9: {_stats(acc)}")
    assert np.mean(acc) >= 0.97 and min(acc) >= 0.93, _stats(acc)


def _ideal_runs(dataset, scheme, seeds):
    arch = AttenuatorArchitecture()
    init = arch.init_params
    arch.init_params = lambda rng: init(rng, scheme=scheme)
    return [alg.train_ideal(arch, _data(dataset), alg.TrainConfig(seed=s)) for s in seeds]


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["moons", "circles", "xor"])
def test_init_measurement(dataset):
    """The numbers in ``init_params``' docstring: ideal, init seeds 0–19, both schemes
    (``pytest -m slow -s tests/test_ideal_reference.py -k init_measurement`` prints them)."""
    out = {}
    for scheme in ("hyperplane", "active"):
        runs = _ideal_runs(dataset, scheme, range(20))
        acc, tr = [r.metrics["test_accuracy"][-1] for r in runs], [r.metrics["train_accuracy"][-1] for r in runs]
        start = [int(r.metrics["dead_neurons"][0]) for r in runs]
        end = [int(r.metrics["dead_neurons"][-1]) for r in runs]
        out[scheme] = (acc, end, start)
        print(f"\n{dataset} {scheme}: test {_stats(acc)}, train {_stats(tr)}; dead neurons at start {start}, "
              f"at the end {end} (mean {np.mean(end):.2f})")
    (acc_old, dead_old, start_old), (acc_new, dead_new, start_new) = out["hyperplane"], out["active"]
    assert max(start_old) == max(start_new) == 0
    assert np.mean(acc_new) >= np.mean(acc_old) - 0.002 and np.mean(dead_new) < 0.5 * np.mean(dead_old)

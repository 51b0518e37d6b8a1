"""Training: optimiser closed forms, history files, registry errors, and the algorithms on
the attenuator architecture (ideal reaches >= 90 % on moons, insitu on an ideal die tracks
ideal, measurement counts grow)."""

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

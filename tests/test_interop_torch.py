"""The die as a torch autograd.Function / nn.Module (pipeline.interop.torch_die): backward
is die.vjp (bit for bit on a realistic die), the ideal die gives the analytic gradient, a
broken backward (dy sign flipped) fails that check, and torch.optim trains a die."""

import numpy as np
import pytest

from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import IDEAL
from pipeline.errors import SpecError
from broken_dies import FlippedVjpDie

torch = pytest.importorskip("torch")


def rel(a, b):
    return float(np.abs(np.asarray(a) - b).max() / np.abs(b).max())


@pytest.fixture(scope="module")
def problem():
    arch = AttenuatorArchitecture(n_in=2, n_hidden=4, n_out=2)
    rng = np.random.default_rng(0)
    return arch, arch.clip_params(arch.init_params(rng)), rng.uniform(0, 1, (9, 2)), rng.uniform(0.2, 0.8, (9, 2))


def _mse_grad(die, p, x, t):
    from pipeline.interop.torch_die import die_apply

    q = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    y = die_apply(die, q, torch.as_tensor(x))
    (0.5 * ((y - torch.as_tensor(t)) ** 2).sum(1).mean()).backward()
    return q.grad.numpy()


def test_torch_grad_on_ideal_die_is_the_analytic_gradient(problem):
    arch, p, x, t = problem
    ideal = arch.ideal_loss_and_grad(p, x, t)[1]
    assert rel(_mse_grad(arch.sample_die(IDEAL, 0), p, x, t), ideal) < 1e-10
    assert rel(_mse_grad(FlippedVjpDie(arch.sample_die(IDEAL, 0)), p, x, t), ideal) > 1.9


def test_torch_grad_is_die_vjp_on_a_realistic_die(problem):
    from pipeline.interop.torch_die import die_layer

    arch, p, x, t = problem
    a, b = arch.sample_die("realistic", 3), arch.sample_die("realistic", 3)
    layer = die_layer(a, p)
    w = np.random.default_rng(1).uniform(-1, 1, (9, 2)) / 9
    (torch.as_tensor(w) * layer(x)).sum().backward()
    b.program(p)
    b.infer(x)
    b.program(p)
    assert np.array_equal(layer.params.grad.numpy(), b.vjp(x, w)[0])
    assert a.measurements == b.measurements
    with pytest.raises(SpecError, match="input gradient"):
        layer(torch.zeros((2, 2), dtype=torch.float64, requires_grad=True))


@pytest.mark.slow  # 18 s; torch's gradient = the die's vjp is the fast test above
def test_torch_optim_trains_a_die():
    """torch.optim (Adam) with a cross-entropy loss through a realistic die (the example's torch
    variant): the die learns moons well above chance, and the run is the optax run of the same
    die (same semantics of forward, backward and schedule; tests/test_interop_jax.py)."""
    pytest.importorskip("optax")
    from workflows.examples.train_die_optax import _setup, train_optax, train_torch

    die, data, cfg = _setup("moons", 1, 150, 10, "adam")
    out = train_torch(die, data, cfg, "cross_entropy")
    assert out["test_accuracy"][-1] >= 0.75 and out["train_loss"][-1] < 0.5 * out["train_loss"][0]
    ref = train_optax(die.architecture.sample_die("realistic", 1), data, cfg, "cross_entropy")
    for k in ("train_loss", "test_accuracy"):
        np.testing.assert_allclose(out[k], ref[k], rtol=1e-9)

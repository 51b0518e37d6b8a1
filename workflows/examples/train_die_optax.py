"""Train a die from JAX with optax (and from PyTorch with torch.optim) through its in-situ
backward pass, with a loss photoprop's own trainer does not have: cross-entropy.

    python -m workflows.examples.train_die_optax            # optax, cross-entropy, moons
    python -m workflows.examples.train_die_optax --torch    # torch.optim (needs torch)

The loop is ``photoprop train``'s (:func:`pipeline.training.algorithms._train`): the same
initial parameters, shuffled batches, learning-rate decay lr·(1 − decay·epoch fraction),
clip and ``project_params`` after every step, and the same per-epoch evaluation (program,
``infer`` on both splits: MSE to the targets and accuracy from the readings).  Only the
gradient differs: ``jax.grad`` (or ``loss.backward()``) of the chosen loss through
:func:`pipeline.interop.jax_die.die_function` — ``die.infer`` forward, ``die.vjp`` backward.
With ``loss="mse"`` and ``optimizer="momentum"`` it is photoprop's in-situ algorithm run by
optax (tests/test_interop_jax.py compares the two over dies).

Cross-entropy of the outputs y ∈ [0, ~1]: logits = ``temperature`` · (y − mid) with mid the
decision level (binary: sigmoid / BCE on the single output; several outputs: softmax).
``temperature`` 8 is a design choice: the sigmoid spans 0.02 … 0.98 over the outputs' range.
Its gradients are ~8× the MSE's, so the default optimiser is Adam (scale-free); SGD with
momentum at photoprop's step 0.02 drives the hidden neurons out of their active range.
Die seed 1 by default: die 0 of the realistic attenuator starts with its hidden layer dark
on moons and stays there under every loss and optimiser tried (MSE and cross-entropy, Adam
and momentum, photoprop train too).
"""

from __future__ import annotations

import argparse

import numpy as np

from pipeline.errors import SpecError
from pipeline.training import algorithms as alg
from pipeline.training import datasets

TEMPERATURE = 8.0


def fraction(step, n: int, batch_size: int, epochs: int):
    """The epoch fraction of optimiser step ``step`` (0-based), as ``photoprop train`` forms it."""
    per_epoch = -(-n // batch_size)
    return (step // per_epoch + (step % per_epoch) * batch_size / n) / epochs


def _loss_fn(name: str, xp, lse, data, temperature: float):
    """loss(y, t, labels) in the array module ``xp`` (jax.numpy or torch); ``lse(z)`` the
    row-wise log-sum-exp."""
    mid = 0.5 * (data.low + data.high)
    if name == "mse":
        return lambda y, t, lab: 0.5 * ((y - t) ** 2).sum(1).mean()
    if name != "cross_entropy":
        raise SpecError(f"loss = {name!r}: unknown. Fix: 'mse' or 'cross_entropy'.")
    if data.n_outputs == 1:
        def bce(y, t, lab):
            z = temperature * (y[:, 0] - mid)
            return (xp.logaddexp(0.0 * z, z) - lab * z).mean()  # −[l log σ(z) + (1 − l) log(1 − σ(z))]
        return bce
    eye = np.eye(data.n_outputs)

    def ce(y, t, lab):
        z = temperature * y
        return (lse(z) - (z * xp.asarray(eye[np.asarray(lab, int)])).sum(1)).mean()
    return ce


def _record(rows: dict, die, data, params: np.ndarray) -> None:
    die.program(params)
    y_tr, y_te = die.infer(data.x_train), die.infer(data.x_test)
    for k, v in (("train_loss", alg.mse(y_tr, data.t_train)), ("test_loss", alg.mse(y_te, data.t_test)),
                 ("train_accuracy", data.accuracy(y_tr, data.labels_train)),
                 ("test_accuracy", data.accuracy(y_te, data.labels_test))):
        rows.setdefault(k, []).append(float(v))


def _initial(die, cfg: alg.TrainConfig):
    arch = die.architecture
    project = getattr(die, "project_params", lambda p: p)
    realisable = lambda p: project(arch.clip_params(p))  # noqa: E731
    return realisable, realisable(arch.init_params(np.random.default_rng(cfg.seed)))


def train_optax(die, data, cfg: alg.TrainConfig, loss: str = "cross_entropy",
                temperature: float = TEMPERATURE) -> dict[str, np.ndarray]:
    """Train ``die`` on ``data`` with optax (``cfg.optimizer``: ``momentum`` → ``optax.sgd``,
    ``adam`` → ``optax.adam``) through the JAX adapter; per-epoch metrics (module doc)."""
    import jax
    import jax.numpy as jnp
    import optax

    from pipeline.interop.jax_die import die_function

    jax.config.update("jax_enable_x64", True)
    n = len(data.x_train)
    schedule = lambda k: cfg.learning_rate * (1.0 - cfg.lr_decay * fraction(k, n, cfg.batch_size, cfg.epochs))  # noqa: E731
    opt = (optax.sgd(schedule, momentum=cfg.beta1) if cfg.optimizer == "momentum"
           else optax.adam(schedule, b1=cfg.beta1, b2=cfg.beta2, eps=1e-8))
    f, lossf = die_function(die), _loss_fn(loss, jnp, lambda z: jax.nn.logsumexp(z, axis=1), data, temperature)
    grad = jax.grad(lambda p, x, t, lab: lossf(f(p, x), t, lab))

    @jax.jit  # one trace per batch shape; the die's callbacks run once per call
    def step(p, state, x, t, lab):
        updates, state = opt.update(grad(p, x, t, lab), state, p)
        return optax.apply_updates(p, updates), state

    realisable, params = _initial(die, cfg)
    state, rng, rows = opt.init(jnp.asarray(params)), np.random.default_rng(cfg.seed), {}
    _record(rows, die, data, params)
    for _ in range(cfg.epochs):
        order = rng.permutation(n)
        for b in range(0, n, cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            new, state = step(jnp.asarray(params), state, data.x_train[idx], data.t_train[idx], data.labels_train[idx])
            params = realisable(np.asarray(new))
        _record(rows, die, data, params)
    return {k: np.asarray(v) for k, v in rows.items()} | {"params": params}


def train_torch(die, data, cfg: alg.TrainConfig, loss: str = "cross_entropy",
                temperature: float = TEMPERATURE) -> dict[str, np.ndarray]:
    """:func:`train_optax` with torch.optim (``momentum`` → SGD, ``adam`` → Adam) through
    :func:`pipeline.interop.torch_die.die_layer`."""
    import torch

    from pipeline.interop.torch_die import die_layer

    realisable, params = _initial(die, cfg)
    layer, n = die_layer(die, params), len(data.x_train)
    opt = (torch.optim.SGD(layer.parameters(), lr=cfg.learning_rate, momentum=cfg.beta1)
           if cfg.optimizer == "momentum" else
           torch.optim.Adam(layer.parameters(), lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), eps=1e-8))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - cfg.lr_decay * fraction(k, n, cfg.batch_size,
                                                                                          cfg.epochs))
    lossf = _loss_fn(loss, torch, lambda z: torch.logsumexp(z, 1), data, temperature)
    rng, rows = np.random.default_rng(cfg.seed), {}
    _record(rows, die, data, params)
    for _ in range(cfg.epochs):
        order = rng.permutation(n)
        for b in range(0, n, cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            opt.zero_grad()
            lossf(layer(data.x_train[idx]), torch.as_tensor(data.t_train[idx]),
                  torch.as_tensor(data.labels_train[idx], dtype=torch.float64)).backward()
            opt.step()
            sched.step()
            layer.project_()
        _record(rows, die, data, layer.params.detach().numpy().copy())
    return {k: np.asarray(v) for k, v in rows.items()} | {"params": layer.params.detach().numpy().copy()}


def _setup(dataset: str, seed: int, n_samples: int, epochs: int, optimizer: str):
    from pipeline.training.run import architecture

    cfg = alg.TrainConfig(epochs=epochs, seed=seed, optimizer=optimizer)
    data = datasets.load(dataset, n_samples=n_samples, low=cfg.target_low, high=cfg.target_high)
    arch = architecture("attenuator", data.n_features, data.n_outputs)
    return arch.sample_die("realistic", seed), data, cfg


def main(epochs: int = 30, seed: int = 1, n_samples: int = 150, dataset: str = "moons", loss: str = "cross_entropy",
         optimizer: str = "adam") -> dict[str, np.ndarray]:
    """optax on realistic attenuator die ``seed``: per-epoch metrics (printed at the end)."""
    die, data, cfg = _setup(dataset, seed, n_samples, epochs, optimizer)
    out = train_optax(die, data, cfg, loss)
    print(f"optax {optimizer}, {loss}, {dataset}: test accuracy {out['test_accuracy'][0]:.3f} -> "
          f"{out['test_accuracy'][-1]:.3f} after {epochs} epochs ({die.measurements} readings)")
    return out


def main_torch(epochs: int = 30, seed: int = 1, n_samples: int = 150, dataset: str = "moons",
               loss: str = "cross_entropy", optimizer: str = "adam") -> dict[str, np.ndarray]:
    """torch.optim on realistic attenuator die ``seed`` (needs torch)."""
    die, data, cfg = _setup(dataset, seed, n_samples, epochs, optimizer)
    out = train_torch(die, data, cfg, loss)
    print(f"torch {optimizer}, {loss}, {dataset}: test accuracy {out['test_accuracy'][0]:.3f} -> "
          f"{out['test_accuracy'][-1]:.3f} after {epochs} epochs ({die.measurements} readings)")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--torch", action="store_true", help="torch.optim instead of optax")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--loss", default="cross_entropy", choices=["cross_entropy", "mse"])
    args = ap.parse_args()
    (main_torch if args.torch else main)(epochs=args.epochs, seed=args.seed, loss=args.loss)

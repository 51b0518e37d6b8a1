"""Training algorithms: ``ideal``, ``ideal-best``, ``offline``, ``offline-calibrated``,
``insitu`` and ``forward-only``.

* ``ideal``: the ideal digital model with exact gradients
  (:meth:`Architecture.ideal_loss_and_grad`) from one initialisation (``TrainConfig.seed``).
* ``ideal-best``: the best the digital model can do — ``ideal`` from
  ``TrainConfig.ideal_restarts`` initialisations (:func:`restart_seeds`); the restart with
  the lowest final TRAINING loss is deployed and its history is the run's (test accuracy
  never enters the choice).  ``extra`` keeps every restart's seed and final train/test
  loss and accuracy.
* ``offline``: the ``ideal`` trajectory programmed onto the impaired die
  (``die.program``) and read with ``die.infer`` — today's common practice.
* ``offline-calibrated``: the same ``ideal`` trajectory on the lab-calibrated die
  (``run.train`` builds it with ``arch.lab_calibrated()``) — what labs deploy.
* ``insitu``: on-chip backpropagation; every step programs the die and takes
  ``die.insitu_gradient`` (forward and backward light, noisy detectors) for one batch.
* ``forward-only``: perturbative in-situ training by simultaneous perturbation (SPSA;
  J. C. Spall, IEEE Trans. Autom. Control 37, 332 (1992); used on chip by
  S. Bandyopadhyay et al., Nat. Photon. 18, 1335 (2024)): two loss readings per random
  ±1 perturbation of all parameters, from ``die.infer`` only.

Algorithms act on a die only through ``program`` / ``infer`` / ``insitu_gradient`` and its
``measurements`` counter.  All updates use Adam (D. P. Kingma & J. Ba, ICLR 2015) or SGD
with momentum on the flat parameter vector, followed by ``arch.clip_params``; Adam's
per-parameter normalisation makes the step size insensitive to the gradient's overall
scale, which loss-induced bias of the in-situ gradient changes.  On a die that has
``project_params`` (``insitu`` and ``forward-only``), the clipped parameters — the initial
ones and after every update — are then projected onto what the die's programming can
realise (the attenuator die with crosstalk calibration: a weight whose compensated heater
would need negative power goes to the value its neighbours' heat gives it, instead of
drifting on into a range where it no longer responds); ``ideal`` and ``offline`` train the
ideal model and are not projected.

Each run records, per epoch (epoch 0 = initial parameters): train/test loss (MSE,
``mean_b Σ_o (y − t)² / 2``) and accuracy — on the ideal model for ``ideal``, read from the
die with ``infer`` otherwise — detector readings used for training (cumulative, without
the evaluation reads, which are counted separately), training wall time [s] and the
number of dead hidden neurons (z1 outside the activation's active range (0, full_scale)
for every training sample: ``arch.dead_neurons`` for the ideal model, ``die.dead_neurons``
— the die's noise-free internal state, a simulation diagnostic — otherwise; NaN when the
architecture or die has no such method).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from pydantic import model_validator

from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity
from pipeline.training.datasets import TrainingData

ALGORITHMS = ("ideal", "ideal-best", "offline", "offline-calibrated", "insitu", "forward-only")
#: Algorithms that train the ideal digital model (no die involved).
IDEAL = ("ideal", "ideal-best")
METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "measurements",
           "eval_measurements", "wall_s", "dead_neurons")


class TrainConfig(Spec):
    """Optimiser and schedule of a training run (shared by all algorithms).

    Defaults tuned on realistic attenuator dies (benchmarks/bench_training.py): Adam, step
    0.02 decaying linearly to 5 % of it, batches of 10, 200 epochs.  The strong decay
    matters: with noisy in-situ gradients a constant step leaves the boundary jittering
    by several accuracy points from epoch to epoch."""

    epochs: int = quantity(200, "1", "passes over the training split", ge=1, le=100000)
    batch_size: int = quantity(10, "1", "samples per gradient step", ge=1, le=100000)
    optimizer: Literal["adam", "momentum"] = quantity("adam", "1", "update rule: adam | momentum (SGD)")
    learning_rate: float = quantity(0.02, "1", "step size in weight units", gt=0, le=10)
    lr_decay: float = quantity(0.95, "1", "learning rate multiplied by (1 - lr_decay * epoch / epochs) "
                               "(linear decay; 0 = constant)", ge=0, le=1)
    beta1: float = quantity(0.9, "1", "Adam first-moment decay / SGD momentum", ge=0, lt=1)
    beta2: float = quantity(0.999, "1", "Adam second-moment decay", ge=0, lt=1)
    spsa_perturbation: float = quantity(0.05, "1", "forward-only: perturbation amplitude (weight units)",
                                        gt=0, le=1)
    spsa_samples: int = quantity(2, "1", "forward-only: perturbations averaged per step", ge=1, le=1000)
    target_low: float = quantity(0.2, "1", "MSE target of 'off' outputs (class 0 / not this class)", ge=0, le=1)
    target_high: float = quantity(0.8, "1", "MSE target of 'on' outputs; targets inside the activation's active "
                                  "range keep its derivative from vanishing at saturation", ge=0, le=1)
    seed: int = quantity(0, "1", "initial parameters and batch order", ge=0)
    ideal_restarts: int = quantity(5, "1", "ideal-best: initialisations trained (seeds from restart_seeds); the "
                                   "one with the lowest final training loss is deployed", ge=1, le=1000)

    @model_validator(mode="after")
    def _targets_ordered(self) -> "TrainConfig":
        if not self.target_low < self.target_high:
            raise ValueError(f"target_low = {self.target_low} >= target_high = {self.target_high}. Fix: choose "
                             "target_low < target_high (e.g. 0.2 and 0.8).")
        return self


@dataclass
class AlgorithmRun:
    """Per-epoch metrics (arrays over epochs 0..E), final parameters and the trajectory."""

    algorithm: str
    metrics: dict[str, np.ndarray]
    params: np.ndarray
    trajectory: np.ndarray  # (epochs + 1, n_params)
    extra: dict = field(default_factory=dict)

    @property
    def final(self) -> dict[str, float]:
        return {k: float(v[-1]) for k, v in self.metrics.items()}


class Optimizer:
    """Adam or SGD with momentum on a flat vector, with a linear learning-rate decay."""

    def __init__(self, cfg: TrainConfig, n: int) -> None:
        self.cfg, self.m, self.v, self.k = cfg, np.zeros(n), np.zeros(n), 0

    def step(self, params: np.ndarray, grad: np.ndarray, epoch_fraction: float) -> np.ndarray:
        c = self.cfg
        lr = c.learning_rate * (1.0 - c.lr_decay * epoch_fraction)
        self.k += 1
        if c.optimizer == "adam":
            self.m = c.beta1 * self.m + (1 - c.beta1) * grad
            self.v = c.beta2 * self.v + (1 - c.beta2) * grad ** 2
            mhat = self.m / (1 - c.beta1 ** self.k)
            vhat = self.v / (1 - c.beta2 ** self.k)
            return params - lr * mhat / (np.sqrt(vhat) + 1e-8)
        self.m = c.beta1 * self.m + grad
        return params - lr * self.m


def mse(y: np.ndarray, t: np.ndarray) -> float:
    """The interface's loss: ``mean_b Σ_o (y − t)² / 2``."""
    return float(0.5 * np.mean(np.sum((np.asarray(y) - t) ** 2, axis=1)))


def _check(arch, data: TrainingData) -> None:
    if arch.n_in != data.n_features or arch.n_out != data.n_outputs:
        raise SpecError(f"architecture {arch.name}: n_in = {arch.n_in}, n_out = {arch.n_out} but dataset "
                        f"{data.name} has {data.n_features} features and {data.n_outputs} outputs. Fix: build the "
                        f"architecture with n_in={data.n_features}, n_out={data.n_outputs}.")


class _Recorder:
    """Collects the per-epoch metrics of one run."""

    def __init__(self, data: TrainingData, evaluate: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, int]],
                 dead: Callable[[np.ndarray], float] | None = None):
        self.data, self.evaluate = data, evaluate
        self.dead = dead if dead is not None else (lambda p: np.nan)
        self.rows: dict[str, list[float]] = {k: [] for k in METRICS}
        self.traj: list[np.ndarray] = []
        self.eval_reads = 0

    def record(self, params: np.ndarray, measurements: int, wall_s: float) -> None:
        y_tr, y_te, reads = self.evaluate(params)
        self.eval_reads += reads
        d = self.data
        for key, value in (("train_loss", mse(y_tr, d.t_train)), ("test_loss", mse(y_te, d.t_test)),
                           ("train_accuracy", d.accuracy(y_tr, d.labels_train)),
                           ("test_accuracy", d.accuracy(y_te, d.labels_test)),
                           ("measurements", measurements), ("eval_measurements", self.eval_reads),
                           ("wall_s", wall_s), ("dead_neurons", self.dead(params))):
            self.rows[key].append(float(value))
        self.traj.append(np.array(params, dtype=float))

    def run(self, name: str, params: np.ndarray, **extra) -> AlgorithmRun:
        return AlgorithmRun(name, {k: np.asarray(v) for k, v in self.rows.items()}, np.array(params),
                            np.vstack(self.traj), dict(extra))


def dead_counter(model, data: TrainingData) -> Callable[[np.ndarray], float]:
    """Dead hidden neurons over the training split for parameters p: ``model.dead_neurons``
    (an architecture: ideal model; a die: its noise-free state), NaN without the method."""
    if not hasattr(model, "dead_neurons"):
        return lambda p: np.nan
    return lambda p: float(model.dead_neurons(p, data.x_train))


def _die_evaluator(die, data: TrainingData):
    def evaluate(params):
        before = die.measurements
        die.program(params)
        y_tr, y_te = die.infer(data.x_train), die.infer(data.x_test)
        return y_tr, y_te, die.measurements - before
    return evaluate


def _train(name: str, arch, data: TrainingData, cfg: TrainConfig,
           grad_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
           evaluate, reads: Callable[[], int], progress: Callable[[int], None] | None,
           project: Callable[[np.ndarray], np.ndarray] | None = None,
           dead: Callable[[np.ndarray], float] | None = None) -> AlgorithmRun:
    """The common loop: shuffled mini-batches, optimiser step, clip (then ``project``, the
    die's realisable set, if given), record each epoch."""
    rng = np.random.default_rng(cfg.seed)
    if project is None:
        project = lambda p: p  # noqa: E731
    params = project(arch.clip_params(arch.init_params(np.random.default_rng(cfg.seed))))
    opt = Optimizer(cfg, params.size)
    rec = _Recorder(data, evaluate, dead)
    n = data.x_train.shape[0]
    wall, start_reads = 0.0, reads()
    rec.record(params, 0, 0.0)
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        for b in range(0, n, cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            g = grad_fn(params, data.x_train[idx], data.t_train[idx])
            params = project(arch.clip_params(opt.step(params, g, (epoch + b / n) / cfg.epochs)))
        wall += time.perf_counter() - t0
        rec.record(params, reads() - start_reads - rec.eval_reads, wall)  # evaluation reads excluded
        if progress is not None:
            progress(1)
    return rec.run(name, params)


def train_ideal(arch, data: TrainingData, cfg: TrainConfig, progress=None) -> AlgorithmRun:
    """Exact-gradient training of the ideal digital model."""
    _check(arch, data)

    def evaluate(p):
        return arch.ideal_forward(p, data.x_train), arch.ideal_forward(p, data.x_test), 0

    return _train("ideal", arch, data, cfg, lambda p, x, t: arch.ideal_loss_and_grad(p, x, t)[1],
                  evaluate, lambda: 0, progress, dead=dead_counter(arch, data))


def restart_seeds(seed: int, restarts: int) -> list[int]:
    """Init/batch-order seeds of ``ideal-best``'s restarts: ``seed`` itself first (restart 0
    is the ``ideal`` run), then ``SeedSequence((seed, k)).generate_state(1)[0]`` for
    k = 1 … restarts − 1 (deterministic, distinct streams)."""
    return [int(seed)] + [int(np.random.SeedSequence((int(seed), k)).generate_state(1)[0])
                          for k in range(1, restarts)]


def train_ideal_best(arch, data: TrainingData, cfg: TrainConfig, progress=None,
                     first: AlgorithmRun | None = None) -> AlgorithmRun:
    """``ideal`` from ``cfg.ideal_restarts`` initialisations; the restart with the lowest final
    training loss (ties: the earlier one) is returned, named ``ideal-best``.  ``first``: an
    already trained ``ideal`` run with ``cfg`` (restart 0), reused.  ``extra``: per restart
    ``restart_seed``, ``restart_train_loss``, ``restart_train_accuracy``,
    ``restart_test_accuracy`` (lists) and the chosen index ``selected_restart``.
    ``progress`` receives 1/restarts per restart epoch (``epochs`` in total)."""
    _check(arch, data)
    seeds = restart_seeds(cfg.seed, cfg.ideal_restarts)
    step = None if progress is None else (lambda n: progress(n / len(seeds)))
    runs = []
    for k, s in enumerate(seeds):
        if k == 0 and first is not None:
            runs.append(first)
            if step is not None:
                step(cfg.epochs)
            continue
        runs.append(train_ideal(arch, data, TrainConfig(**{**cfg.model_dump(), "seed": s}), step))
    final = {key: [float(r.metrics[key][-1]) for r in runs]
             for key in ("train_loss", "train_accuracy", "test_accuracy")}
    best = int(np.argmin(final["train_loss"]))
    r = runs[best]
    extra = {"restart_seed": seeds, "selected_restart": best,
             **{f"restart_{key}": v for key, v in final.items()}}
    return AlgorithmRun("ideal-best", dict(r.metrics), r.params.copy(), r.trajectory.copy(), extra)


def train_offline(die, data: TrainingData, cfg: TrainConfig, ideal: AlgorithmRun | None = None,
                  progress=None, name: str = "offline") -> AlgorithmRun:
    """The ideal trajectory (trained here unless given) programmed onto ``die`` epoch by epoch
    (``name``: ``offline``, or ``offline-calibrated`` on a lab-calibrated die)."""
    arch = die.architecture
    _check(arch, data)
    if ideal is None:
        ideal = train_ideal(arch, data, cfg)
    rec = _Recorder(data, _die_evaluator(die, data), dead_counter(die, data))
    for e, p in enumerate(ideal.trajectory):
        rec.record(p, 0, float(ideal.metrics["wall_s"][e]))
        if progress is not None and e:
            progress(1)
    return rec.run(name, ideal.params)


def train_insitu(die, data: TrainingData, cfg: TrainConfig, progress=None) -> AlgorithmRun:
    """On-chip backpropagation: program, ``die.insitu_gradient`` per batch, update."""
    arch = die.architecture
    _check(arch, data)

    def grad(p, x, t):
        die.program(p)
        return die.insitu_gradient(x, t)[1]

    return _train("insitu", arch, data, cfg, grad, _die_evaluator(die, data), lambda: die.measurements, progress,
                  getattr(die, "project_params", None), dead_counter(die, data))


def spsa_gradient(die, params: np.ndarray, x: np.ndarray, t: np.ndarray, perturbation: float, samples: int,
                  rng: np.random.Generator) -> np.ndarray:
    """SPSA gradient estimate from ``die.infer`` readings only (2 × ``samples`` batch reads):
    g = mean_k (L(p + cδ_k) − L(p − cδ_k)) / (p⁺ − p⁻) with δ_k ∈ {±1}ⁿ; the denominator
    is the realised step after ``clip_params`` (2cδ without clipping).  Unbiased to O(c²)."""
    arch = die.architecture
    g = np.zeros_like(params, dtype=float)
    for _ in range(samples):
        delta = rng.choice((-1.0, 1.0), size=params.size)
        plus = arch.clip_params(params + perturbation * delta)
        minus = arch.clip_params(params - perturbation * delta)
        die.program(plus)
        l_plus = mse(die.infer(x), t)
        die.program(minus)
        l_minus = mse(die.infer(x), t)
        step = plus - minus
        g += (l_plus - l_minus) / np.where(np.abs(step) > 1e-12, step, np.inf)
    return g / samples


def train_forward_only(die, data: TrainingData, cfg: TrainConfig, progress=None) -> AlgorithmRun:
    """Forward-only in-situ training with :func:`spsa_gradient` (no backward light)."""
    arch = die.architecture
    _check(arch, data)
    rng = np.random.default_rng(cfg.seed + 7919)  # perturbations independent of the batch order

    def grad(p, x, t):
        return spsa_gradient(die, p, x, t, cfg.spsa_perturbation, cfg.spsa_samples, rng)

    return _train("forward-only", arch, data, cfg, grad, _die_evaluator(die, data),
                  lambda: die.measurements, progress, getattr(die, "project_params", None), dead_counter(die, data))

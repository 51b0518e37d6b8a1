"""The attenuator die's in-situ training step, batched (:meth:`AttenuatorDie.insitu_gradient`).

What is read is :mod:`pipeline.chip.attenuator_readout`'s on-chip backpropagation, step by
step the same readings: the forward pass of the batch, its two-pass backward pass, and
the slopes' three-point phase steps (layer 1 forward, layer 2 backward, output biases
forward; :meth:`AttenuatorReadout._slopes`).  Done pass by pass that is five forward /
backward passes and some 30 small random draws per step, each a Python-level numpy call
sequence; here the three forward passes run as ONE forward over the stacked rows (batch,
layer-1 step configurations, bias step configurations) and the two backward passes as ONE
backward (batch, layer-2 step configurations).

Same numbers, bit for bit (tests/test_attenuator_step.py against the pass-by-pass
reference): every standard normal of the step is drawn in one call from the die's reading
stream, in the pass-by-pass order (numpy's ``Generator.standard_normal`` fills
sequentially, so one draw of n₁ + n₂ values is the draws of n₁ then n₂), and handed to
each row where the pass-by-pass step would have drawn it — the draw plan is recorded once
per batch size by running the passes with a recorder; the phases of each pass are
computed with the same products as there (per pass, not on the stacked rows), as are the
crossings' leak products; all other arithmetic is row-wise.  So noise variances,
quantisation, drift and the reading counts (``measurements``) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip.attenuator_readout import _STEPS, _weight_slope


class _Recorder:
    """A ``noise`` source that records the draws a pass makes (zeros returned)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def __call__(self, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        self.calls.append((kind, tuple(shape)))
        return np.zeros(shape)


class _Drawn(dict):
    """A ``noise`` source of pre-drawn normals by kind."""

    def __call__(self, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        return self[kind]


@dataclass
class StepPlan:
    """Per batch size ``nb``: the stacked rows and the draw plan of one step."""

    nb: int
    n_s1: int                       # layer-1 step configurations (3 (n_in + 1))
    a0_steps: np.ndarray            # (n_s1 + 3, n_in + 1) channels lit of the forward step rows
    delta_steps: np.ndarray         # (3 n_out, n_out) backward light of the layer-2 step rows
    weights: tuple[np.ndarray, ...]  # step multipliers (configs, n_params) of the three step groups
    total: int                      # normals per step
    perm: np.ndarray                # flat draw → gathered order
    forward: list[tuple[str, tuple[int, ...], int, int]]   # kind, shape, start, stop in the gathered vector
    backward: list[tuple[str, tuple[int, ...], int, int]]
    fsegments: list[slice]
    bsegments: list[slice]


def _group_weights(n_params: int, groups: list[np.ndarray]) -> np.ndarray:
    """(3·len(groups), n_params): the phase-step multiplier 0, ½, 1 of each config's stepped heaters
    (:meth:`AttenuatorReadout._step_configs`: rows 3g … 3g + 2 step group g)."""
    w = np.zeros((3 * len(groups), n_params))
    for g, idx in enumerate(groups):
        for k, st in enumerate(_STEPS):
            w[3 * g + k, idx] = st
    return w


def plan(die, nb: int) -> StepPlan:
    """The :class:`StepPlan` of ``die`` for batches of ``nb`` (cached on the die)."""
    cache = die.__dict__.setdefault("_step_plans", {})
    if nb in cache:
        return cache[nb]
    a = die.architecture
    ni, nh, no, npar = a.n_in, a.n_hidden, a.n_out, a.n_params
    idx1, idx2 = die._mzi_index()
    n_s1, dfs = 3 * (ni + 1), 0.5 * np.pi / die.fs
    a0_steps = np.concatenate([np.repeat(np.eye(ni + 1), 3, 0), np.zeros((3, ni + 1))])
    delta_steps = np.repeat(np.eye(no), 3, 0) * dfs
    # the pass-by-pass order of the draws: F(nb), B(nb), F(n_s1), B(3 no), F(3)
    passes = [("f", nb), ("b", nb), ("f", n_s1), ("b", 3 * no), ("f", 3)]
    recorded, offset = [], 0
    for kind, n in passes:
        rec = _Recorder()
        if kind == "f":
            die._forward(None, np.zeros((n, ni + 1)), True, noise=rec, phases=np.zeros((n, npar)))
        else:
            die._backward(None, np.zeros((n, no)), True, noise=rec, phases=np.zeros((n, npar)))
        where = {}
        for k, shape in rec.calls:
            size = int(np.prod(shape))
            where[k] = (shape, offset + np.arange(size).reshape(shape))
            offset += size
        recorded.append((kind, where))
    perm, start = [], 0
    layout: dict[str, list] = {"f": [], "b": []}
    for kind in ("f", "b"):
        mine = [w for k, w in recorded if k == kind]
        for k in mine[0]:
            idx = np.concatenate([w[k][1] for w in mine])
            perm.append(idx.ravel())
            layout[kind].append((k, idx.shape, start, start + idx.size))
            start += idx.size
    bounds = lambda ns: [slice(s, s + n) for s, n in zip(np.cumsum([0] + ns[:-1]), ns)]  # noqa: E731
    p = StepPlan(nb=nb, n_s1=n_s1, a0_steps=a0_steps, delta_steps=delta_steps,
                 weights=tuple(_group_weights(npar, g) for g in (list(idx1.T), list(idx2), [idx2[:, nh]])),
                 total=offset, perm=np.concatenate(perm) if perm else np.zeros(0, int),
                 forward=layout["f"], backward=layout["b"],
                 fsegments=bounds([nb, n_s1, 3]), bsegments=bounds([nb, 3 * no]))
    cache[nb] = p
    return p


def _noise(p: StepPlan, rng: np.random.Generator) -> tuple[_Drawn, _Drawn]:
    g = rng.standard_normal(p.total)[p.perm] if p.total else np.zeros(0)
    return tuple(_Drawn({k: g[s:e].reshape(shape) for k, shape, s, e in lay}) for lay in (p.forward, p.backward))


def insitu_gradient(die, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and in-situ gradient of ``die`` for one batch (module doc; the readings of
    :meth:`AttenuatorReadout._forward`, ``_backward`` and ``_slopes`` pass by pass)."""
    a = die.architecture
    ni, nh, no, npar = a.n_in, a.n_hidden, a.n_out, a.n_params
    a0 = die._inputs(x)
    nb = len(a0)
    t = a.check_t(t, nb)
    p = plan(die, nb)
    dfs = 0.5 * np.pi / die.fs
    # the slopes' step configurations (target powers, through Ĉ⁻¹ when calibrated), per group
    base = np.asarray(die.target_power, float)
    size = die._step_sizes(base)
    q = die._quantise(base)
    hp1, hp2, hp3 = (die._apply(q + w * size) for w in p.weights)
    th = np.broadcast_to(die.phases(die.heater_power), (nb, npar))
    nf, nbk = _noise(p, die._rng)
    # one forward: the batch, layer-1 step rows, bias step rows
    fw = die._forward(None, np.concatenate([a0, p.a0_steps]), True, noise=nf,
                      phases=np.concatenate([th, die.phases(hp1), die.phases(hp3)]), segments=p.fsegments)
    y, dy = fw["y"][:nb], fw["dy"][:nb]
    e = y - t
    loss = float(0.5 * np.mean(np.sum(e * e, axis=1)))
    d2 = e * dy
    # one backward: the batch's δ, layer-2 step rows
    bw = die._backward(None, np.concatenate([d2, p.delta_steps]), True, noise=nbk,
                       phases=np.concatenate([th, die.phases(hp2)]))
    d1 = bw[:nb] * fw["dh"][:nb]
    die.measurements += nb * (2 * no + 2 * nh + 2 * nh)
    a1 = np.concatenate([fw["h"][:nb], np.ones((nb, 1))], 1)
    grad_w = np.concatenate([(d1.T @ a0).ravel(), (d2.T @ a1).ravel()]) / nb
    # the slopes (AttenuatorReadout._slopes)
    w1 = fw["z1"][nb:nb + p.n_s1].reshape(ni + 1, 3, nh).transpose(1, 2, 0)
    w2 = np.empty((3, no, nh + 1))
    w2[:, :, :nh] = (bw[nb:] / dfs).reshape(no, 3, nh).transpose(1, 0, 2)
    w2[:, :, nh] = fw["z2"][nb + p.n_s1:]
    die.measurements += 3 * (ni + 1) * nh + 3 * no * 2 * nh + 3 * no
    z = xc.phasor(np.concatenate([w1.reshape(3, -1), w2.reshape(3, -1)], 1), np.pi / die.p_pi * np.outer(_STEPS, size))
    theta = np.arccos(-np.clip(die.params / die.weight_scale, -1.0, 1.0))
    return loss, grad_w * (_weight_slope(z, theta) / die.weight_scale)

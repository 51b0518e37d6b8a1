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
quantisation, drift and the reading counts (``measurements``) are unchanged.  The fused
passes (:func:`_forward`, :func:`_backward`) evaluate every reading with the same operations
in the same order as the pass-by-pass methods, several reads side by side (h|dh, y|dy, the
backward's two passes), so they too agree bit for bit.  The step configurations of all
three groups are compensated (Ĉ⁻¹, :func:`crosstalk_calibration.compensate`) in one call;
the compensation agrees with the row-by-row one up to rounding, below the heater DAC's LSB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import neuron as nr
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
    weights: np.ndarray             # step multipliers (configs, n_params): layer-1, layer-2 and bias step groups
    total: int                      # normals per step
    perm: np.ndarray                # flat draw → gathered order
    forward: list[tuple[str, tuple[int, ...], int, int]]   # kind, shape, start, stop in the gathered vector
    backward: list[tuple[str, tuple[int, ...], int, int]]
    fsegments: list[slice]
    bsegments: list[slice]
    reads: dict[str, tuple]         # per fused read: (extra dark variance, ADC LSB, ADC full scale) per column


def _group_weights(n_params: int, groups: list[np.ndarray]) -> np.ndarray:
    """(3·len(groups), n_params): the phase-step multiplier 0, ½, 1 of each config's stepped heaters
    (:meth:`AttenuatorReadout._step_configs`: rows 3g … 3g + 2 step group g)."""
    w = np.zeros((3 * len(groups), n_params))
    for g, idx in enumerate(groups):
        for k, st in enumerate(_STEPS):
            w[3 * g + k, idx] = st
    return w


def _read_constants(die) -> dict[str, tuple]:
    """Per read of the batched passes, per column: the node's extra dark-current variance, the
    ADC's LSB and full scale — the numbers :meth:`AttenuatorReadout._read` forms per call
    (``n_det``, ``full_scale`` as :meth:`~AttenuatorReadout._forward` / ``_backward`` pass them)."""
    a, imp = die.architecture, die.impairments
    ni, nh, no = a.n_in, a.n_hidden, a.n_out
    r, p0, tap, bits = die.det.responsivity, imp.optical_power, a.spec.layout.monitor_tap, imp.adc_bits
    fs2 = r * p0 * (1 - tap) / no
    reads = {"z1": [(2 * (ni + 1), (ni + 1) * r * p0 / nh)], "hdh": [(1, r * p0 * tap)] * nh + [(2, r * p0)] * nh,
             "z2": [(2 * (nh + 1), (nh + 1) * fs2)], "ydy": [(1, r * p0)] * no + [(2, r * p0)] * no,
             "b01": [(no, r * p0 * no / nh)]}
    out = {}
    for k, cols in reads.items():
        extra = [die._node_noise._dark_unit * (np.asarray(n) - 1) for n, _ in cols]
        lsb = [2.0 * np.asarray(fs, float) / 2 ** bits if bits else None for _, fs in cols]
        fs = [fs for _, fs in cols]
        vec = (lambda v: v[0]) if len(cols) == 1 else np.array  # noqa: E731
        out[k] = (vec(extra), None if not bits else vec(lsb), vec(fs))
    return out


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
    # the fused kinds of the batched passes: (name, parts, how) — parts drawn pass by pass, joined
    # along the columns ("cols": the fused reads h|dh, y|dy) or stacked ("stack": the two backward passes)
    fused = {"f": [("phase", ["phase"], "cols"), ("laser1", ["laser1"], "cols"), ("z1", ["z1"], "cols"),
                   ("laser2", ["laser2"], "cols"), ("hdh", ["h", "dh"], "cols"), ("z2", ["z2"], "cols"),
                   ("ydy", ["y", "dy"], "cols")],
             "b": [("laser", ["laser"], "cols"), ("phase01", ["phase0", "phase1"], "stack"),
                   ("b01", ["b0", "b1"], "stack")]}
    perm, start = [], 0
    layout: dict[str, list] = {"f": [], "b": []}
    for kind in ("f", "b"):
        mine = [w for k, w in recorded if k == kind]
        seen = set().union(*mine)
        for name, parts, how in fused[kind]:
            if not any(q in seen for q in parts):
                continue
            assert all(q in w for q in parts for w in mine), (name, parts)
            if how == "cols":
                idx = np.concatenate([np.concatenate([w[q][1] for q in parts], 1) for w in mine])
            else:
                idx = np.concatenate([np.stack([w[q][1] for q in parts]) for w in mine], 1)
            perm.append(idx.ravel())
            layout[kind].append((name, idx.shape, start, start + idx.size))
            start += idx.size
        assert seen <= {q for _, parts, _ in fused[kind] for q in parts}, seen
    bounds = lambda ns: [slice(s, s + n) for s, n in zip(np.cumsum([0] + ns[:-1]), ns)]  # noqa: E731
    p = StepPlan(reads=_read_constants(die), nb=nb, n_s1=n_s1, a0_steps=a0_steps, delta_steps=delta_steps,
                 weights=np.concatenate([_group_weights(npar, g) for g in (list(idx1.T), list(idx2), [idx2[:, nh]])]),
                 total=offset, perm=np.concatenate(perm) if perm else np.zeros(0, int),
                 forward=layout["f"], backward=layout["b"],
                 fsegments=bounds([nb, n_s1, 3]), bsegments=bounds([nb, 3 * no]))
    cache[nb] = p
    return p


def _noise(p: StepPlan, rng: np.random.Generator) -> tuple[_Drawn, _Drawn]:
    g = rng.standard_normal(p.total)[p.perm] if p.total else np.zeros(0)
    return tuple(_Drawn({k: g[s:e].reshape(shape) for k, shape, s, e in lay}) for lay in (p.forward, p.backward))


_SHIFTS = np.array([0.0, 0.5 * np.pi, -0.5 * np.pi])  # f, d₊, d₋ modulators (neuron.modulator_transmissions)


def _read(die, consts: tuple, mean: np.ndarray, photo: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    """:meth:`AttenuatorReadout._read` (noisy) of several reads side by side (per-column constants)."""
    extra, lsb, fs = consts
    out = mean
    if z is not None:
        nn = die._node_noise
        t = nn.terms
        var = t.two_q * (t.responsivity * (photo / nn.responsivity) + t.dark_current) * t.bandwidth + extra + t.thermal
        out = mean + np.sqrt(var) * z
    if lsb is not None:
        out = nr._clip(np.rint(out / lsb) * lsb, -fs, fs)
    return out


def _modulators(z: np.ndarray, a: np.ndarray, b: np.ndarray, bias: np.ndarray, fs: float) -> np.ndarray:
    """:func:`neuron.modulator_transmissions` (f, d₊, d₋ on the last axis)."""
    theta = np.pi * nr._clip(z / fs, 0.0, 1.0)
    return a[:, None] - b[:, None] * np.cos(theta[..., None] + _SHIFTS + bias)


def _launched(die, a: np.ndarray, leak: np.ndarray, n_dest: int, segments: list[slice]) -> np.ndarray:
    """:meth:`AttenuatorReadout._launched`, (nb, 1, C) where nothing leaks (adding the zero leak
    changes no bit), so that the products before the destination axis are taken once."""
    if die.crossing_leak == 0 or not leak.any():
        return a[:, None, :]
    return die._launched(a, leak, n_dest, segments)


def _forward(die, p: StepPlan, phases: np.ndarray, a0: np.ndarray, nz: dict) -> dict[str, np.ndarray]:
    """:meth:`AttenuatorReadout._forward` (noisy) of the stacked rows, the reads h|dh and y|dy fused."""
    a, imp = die.architecture, die.impairments
    ni, nh, no, n1 = a.n_in, a.n_hidden, a.n_out, a.n1
    nb, r, p0, tap = len(a0), die.det.responsivity, imp.optical_power, a.spec.layout.monitor_tap
    if "phase" in nz:
        phases = phases + imp.phase_noise * nz["phase"]
    tp = die.mzi_a - die.mzi_b * np.cos(phases)
    tm = 1 - tp
    gf, rin = die.gain_forward, imp.laser_rin is not None
    one = np.ones((nb, 1))
    pw = (p0 * (1 + die._rin_sigma * nz["laser1"] if rin else one)[:, :, None]
          * _launched(die, a0, die._leak1, nh, p.fsegments) / nh * die._eta_fwd[:n1].reshape(nh, ni + 1))
    rpw = r * pw
    ip = rpw * tp[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 0].reshape(nh, ni + 1)
    im = rpw * tm[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 1].reshape(nh, ni + 1)
    z1 = _read(die, p.reads["z1"], (ip - im).sum(-1), (ip + im).sum(-1), nz.get("z1")) / (r * p0 / nh)
    z1 = z1 * die.cal_node[:nh]
    sup = p0 * (1 + die._rin_sigma * nz["laser2"] if rin else one)
    m = (_modulators(z1, die.mod_a[:nh], die.mod_b[:nh], die.mod_bias[:nh], die.fs) if die.neuron.kind == "mzm"
         else die.neuron.stacked(z1, slice(0, nh)))
    er, gd, rsup = die._eta_read[:nh], die.gain_derivative[:nh], r * sup
    imon = rsup * tap * m[..., 0] * er * die.gain_readout[:nh]
    idp, idm = rsup * m[..., 1] * er * gd[:, 0], rsup * m[..., 2] * er * gd[:, 1]
    out = _read(die, p.reads["hdh"], np.concatenate([imon, idp - idm], 1), np.concatenate([imon, idp + idm], 1),
                nz.get("hdh"))
    h = out[:, :nh] / (r * p0 * tap) * die.cal_readout[:nh]
    dh = die.neuron.derivative_scale * (out[:, nh:] / (r * p0)) * die.cal_derivative[:nh]
    a1 = np.concatenate([m[..., 0], one], 1) * (sup * (1 - tap))
    rpw2 = r * (_launched(die, a1, die._leak2, no, p.fsegments) / no * die._eta_fwd[n1:].reshape(no, nh + 1))
    ip2 = rpw2 * tp[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 0].reshape(no, nh + 1)
    im2 = rpw2 * tm[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 1].reshape(no, nh + 1)
    fs2 = r * p0 * (1 - tap) / no
    z2 = _read(die, p.reads["z2"], (ip2 - im2).sum(-1), (ip2 + im2).sum(-1), nz.get("z2")) / fs2 * die.cal_node[nh:]
    mo = (_modulators(z2, die.mod_a[nh:], die.mod_b[nh:], die.mod_bias[nh:], die.fs) if die.neuron.kind == "mzm"
          else die.neuron.stacked(z2, slice(nh, None)))
    eo, go = die._eta_read[nh:], die.gain_derivative[nh:]
    iy = rsup * mo[..., 0] * eo * die.gain_readout[nh:]
    idp, idm = rsup * mo[..., 1] * eo * go[:, 0], rsup * mo[..., 2] * eo * go[:, 1]
    out = _read(die, p.reads["ydy"], np.concatenate([iy, idp - idm], 1), np.concatenate([iy, idp + idm], 1),
                nz.get("ydy"))
    y = out[:, :no] / (r * p0) * die.cal_readout[nh:]
    dy = die.neuron.derivative_scale * (out[:, no:] / (r * p0)) * die.cal_derivative[nh:]
    return {"z1": z1, "h": h, "dh": dh, "z2": z2, "y": y, "dy": dy}


def _backward(die, p: StepPlan, phases: np.ndarray, delta: np.ndarray, nz: dict) -> np.ndarray:
    """:meth:`AttenuatorReadout._backward` (noisy) of the stacked rows, its two passes side by side."""
    a, imp = die.architecture, die.impairments
    nh, no, n1 = a.n_hidden, a.n_out, a.n1
    nb, r, p0 = len(delta), die.det.responsivity, imp.optical_power
    dfs = 0.5 * np.pi / die.fs
    mag = nr._clip(die.cal_source * np.abs(delta) / dfs, 0.0, 1.0)
    pos = (delta > 0)[:, :, None]
    laser = 1 + die._rin_sigma * nz["laser"] if "laser" in nz else np.ones((nb, 1))
    pw = (p0 * laser * mag)[:, :, None] / nh * die._eta_bwd
    th = phases[:, n1:]
    if "phase01" in nz:
        th = th + imp.phase_noise * nz["phase01"][..., n1:]
    tp = (die.mzi_a[n1:] - die.mzi_b[n1:] * np.cos(th)).reshape(-1, nb, no, nh + 1)[..., :nh]
    t = np.where(np.stack([pos, ~pos]), tp, 1 - tp)
    cur = r * (pw * t * die.gain_backward).reshape(2 * nb, no, nh).sum(1).reshape(2, nb, nh)
    out = _read(die, p.reads["b01"], cur, cur, nz.get("b01"))
    return (out[0] - out[1]) / (r * p0 / (dfs * nh)) * die.cal_backward


def insitu_gradient(die, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and in-situ gradient of ``die`` for one batch, MSE: :func:`backprop` with the error
    light e = y − t (module doc; the readings of :meth:`AttenuatorReadout._forward`,
    ``_backward`` and ``_slopes`` pass by pass)."""
    a0 = die._inputs(x)
    t = die.architecture.check_t(t, len(a0))
    _, e, grad = backprop(die, a0, lambda y: y - t)
    loss = float(0.5 * (np.add.reduce(np.add.reduce(e * e, axis=1)) / len(a0)))  # 0.5 mean_b Σ_o e², as np.mean
    return loss, grad


def backprop(die, a0: np.ndarray, error) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One on-chip backpropagation of the batch ``a0`` ((nb, n_in + 1) inputs, bias channel
    lit): the forward pass, the error light e = ``error(y)`` ((nb, n_out), from the pass's
    output readings y) sent backward, the slopes.  Returns (y, e, Σ_b eᵀ ∂y/∂params / nb
    in weight units) — :meth:`AttenuatorDie.vjp` with e = nb · dy."""
    a = die.architecture
    ni, nh, no, npar = a.n_in, a.n_hidden, a.n_out, a.n_params
    nb = len(a0)
    p = plan(die, nb)
    dfs = 0.5 * np.pi / die.fs
    # the slopes' step configurations (target powers, through Ĉ⁻¹ when calibrated), per group
    base = np.asarray(die.target_power, float)
    q = die._quantise(base)
    size = die._step_sizes_on_grid(q)
    hp = die._apply(q + p.weights * size)  # all step configurations in one compensation
    hp1, hp2, hp3 = hp[:p.n_s1], hp[p.n_s1:p.n_s1 + 3 * a.n_out], hp[p.n_s1 + 3 * a.n_out:]
    # the die's phases (AttenuatorChip.phases), per pass as there, written into the stacked rows
    off, k, eff, ct = die.arm_offset + die.drift.phase, die.dphase_dpower, die.heater_efficiency, die.crosstalk.T
    ph, phb = np.empty((nb + p.n_s1 + 3, npar)), np.empty((nb + 3 * no, npar))
    ph[:nb] = phb[:nb] = off + k * ((die.heater_power * eff) @ ct)
    np.add(off, k * ((hp1 * eff) @ ct), out=ph[nb:nb + p.n_s1])
    np.add(off, k * ((hp3 * eff) @ ct), out=ph[nb + p.n_s1:])
    np.add(off, k * ((hp2 * eff) @ ct), out=phb[nb:])
    nf, nbk = _noise(p, die._rng)
    # one forward: the batch, layer-1 step rows, bias step rows
    fw = _forward(die, p, ph, np.concatenate([a0, p.a0_steps]), nf)
    y, dy = fw["y"][:nb], fw["dy"][:nb]
    e = error(y)
    d2 = e * dy
    # one backward: the batch's δ, layer-2 step rows
    bw = _backward(die, p, phb, np.concatenate([d2, p.delta_steps]), nbk)
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
    theta = np.arccos(-nr._clip(die.params / die.weight_scale, -1.0, 1.0))
    return y, e, grad_w * (_weight_slope(z, theta) / die.weight_scale)

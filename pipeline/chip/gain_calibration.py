"""Gain calibration of the attenuator die (``AttenuatorSpec.gain_calibration``,
:meth:`AttenuatorDie.calibrate`, at ``sample_die``).  Without it ~2 dB of path loss shrinks every effective weight, the
activation gain and the outputs by ~0.63 (weights clip at ±1: lost capacity).  As in a lab,
each node's transimpedance / driver gain and each readout's ADC full scale are set once,
with known light, from averaged noisy readings (``calibration_samples`` = N per setting,
detector noise, RIN and phase noise included; own noise stream), counted separately in
``calibration_measurements`` (not in ``measurements``; with the crosstalk calibration's),
after the crosstalk calibration, so its settings are pre-compensated:

1. hidden node j: the layer-1 phase step (channel i alone) gives B_ji = G η_ji 2b_ji ĝ_ji
   (path transmission η, MZI b, mean pair responsivity ĝ); gain 1 / mean_i B_ji;
2. hidden monitor: drive at the rails (all weights of the layer ±1, inputs lit, z clipped
   at 0 and full scale), gain = nominal swing / read swing [σ(z_hi) − σ(z_lo)] / (h_hi − h_lo)
   → h = f / (2b η_r g_r cos β_f) · η_r g_r = f/(2b) for bias error β_f = 0;
3. output node o: layer-2 phase step of column j with the hidden neurons at the high rail,
   per unit monitored activation: B̃_oj = B_oj / h_j (bias column: / 1); gain 1 / mean_j B̃_oj;
4. output readout: as 2, on the output rails;
5. derivative pairs: drive bisected per node to z ≈ fs/2 (7 settings), gain =
   σ'(z) / pair reading; with β = 0 and matched detectors the pair then reads
   π sin θ /(2fs) = ∂(f/2b)/∂z — the derivative of the calibrated readout, exactly;
6. backward: row phase steps with output o's light give the backward slopes B^b_oj;
   M_oj = B̃_oj (calibrated) / B^b_oj is what the backward reading of path (o, j) must be
   multiplied by to equal the forward's ∂z_o/∂h_j.  One gain per backward node j (G_b)
   and per backward source o (S_o, an attenuation: max_o S_o = 1) is fitted, additively in
   log: log S_o + log G_b(j) = row mean + column mean − grand mean of log M.

A gain whose estimate is not finite or outside 0.1–10 (readings lost in the detector noise,
e.g. 0.3 µW per channel) stays at its nominal 1.  What remains is the spread *between* paths of one node (coupler and crossing loss, detector
gain spread, bias errors, thermal crosstalk), which in-situ training absorbs.  Closed forms
(noise-free; tests): on a die whose M is additive in log — any die with one output, and any
lossless die with equal detectors and no bias errors — the in-situ gradient equals the FD
gradient of the die's own loss, *including* forward/backward loss asymmetry; with n_out > 1
on the optical-crossing layout the layer-2 ratio in-situ / true is 10^(ρ/10),
ρ = −2·IL·(j − j̄)(o − ō) dB (the non-additive part of the crossing count, test doc).
N = 64: 16 320 readings for the default 2-8-1 die, + 147 840 for the crosstalk calibration
(in-situ training on 200 samples with batches of 10 reads ~9 600 per epoch).

With the phase calibration (``AttenuatorSpec.phase_calibration``) the per-MZI fringe
amplitudes of steps 1 and 3, relative to their node's mean, also set the die's
``weight_scale`` (plausible range ``WEIGHT_SCALE_RANGE``; :mod:`pipeline.chip.attenuator`,
"Phase calibration").
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import neuron as nr

_BISECTIONS = 6  # bisection steps of the calibration's mid-drive search
#: Plausible calibrated gains (loss budgets of a few dB, source attenuation); outside it —
#: a calibration reading lost in the detector noise — the node keeps its nominal gain 1.
GAIN_RANGE = (0.1, 10.0)
#: Plausible per-MZI weight scales (path-to-path spread of one node); outside: nominal 1.
WEIGHT_SCALE_RANGE = (0.5, 2.0)


def amplitude(w: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """B of w = A − B cos(θ + φ) from readings at phase steps ``steps`` (axis 0; default 0,
    π/2, π: |((w₂ − w₀)/2, w₁ − (w₀ + w₂)/2)|): the modulus of :func:`crosstalk_calibration.phasor`."""
    z = xc.phasor(w, steps)
    return np.hypot(z.real, z.imag)



def calibrate_gains(die) -> None:
    """Per-node gain calibration with known light (module doc): sets
    ``cal_node``, ``cal_readout``, ``cal_derivative`` (hidden then output neurons),
    ``cal_backward`` (hidden) and ``cal_source`` (outputs) from averaged noisy readings,
    counted in ``calibration_measurements``.  Uses its own noise stream, so a die's
    training noise does not depend on whether it was calibrated."""
    a = die.architecture
    ni, nh, no, n1, nw = a.n_in, a.n_hidden, a.n_out, a.n1, a.n_params
    n, fs, dfs = a.spec.calibration_samples, die.fs, 0.5 * np.pi / die.fs
    idx1, idx2 = die._mzi_index()
    base = die.target_powers(np.zeros(nw))
    lit = np.ones((1, ni + 1))

    def fwd(hp: np.ndarray, a0: np.ndarray) -> dict[str, np.ndarray]:  # (config, sample, node)
        out = die._forward(np.repeat(hp, n, 0), np.repeat(a0, n, 0), True)
        return {k: v.reshape(len(hp), n, -1) for k, v in out.items()}

    def setting(w1: float, w2: float) -> np.ndarray:  # every weight of a layer the same (target powers)
        return die.target_powers(np.r_[np.full(n1, w1), np.full(nw - n1, w2)])[None]

    def two_point(z: np.ndarray, reading: np.ndarray) -> np.ndarray:  # nominal swing / read swing
        act, rd = die.neuron.activation(z).mean(1), reading.mean(1)
        return (act[0] - act[1]) / (rd[0] - rd[1])

    def mid_drive(k: int, params: Callable[[np.ndarray], np.ndarray], node: str, pair: str) -> np.ndarray:
        lo, hi = -np.ones(k), np.ones(k)
        for it in range(_BISECTIONS + 1):
            m = 0.5 * (lo + hi)
            out = fwd(die.heater_powers(params(m))[None], lit)
            below = out[node][0].mean(0) < 0.5 * fs
            lo, hi = np.where(below, m, lo), np.where(below, hi, m)
        return die.neuron.activation_derivative(out[node][0]).mean(0) / out[pair][0].mean(0)

    for g in (die.cal_node, die.cal_readout, die.cal_derivative, die.cal_backward, die.cal_source):
        g[:] = 1.0
    rng, die._rng = die._rng, np.random.default_rng([die.seed, 2])
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # lost readings → nominal gain, below
            # 1. hidden nodes: layer-1 phase steps (channel i alone) → mean full scale per node
            z1 = fwd(die._step_configs(base, list(idx1.T)), np.repeat(np.eye(ni + 1), 3, 0))["z1"].mean(1)
            b1 = amplitude(z1.reshape(ni + 1, 3, nh).transpose(1, 2, 0), die._step_phases(base)[:, idx1])
            die.cal_node[:nh] = 1 / b1.mean(1)
            scale1 = b1 * die.cal_node[:nh, None]  # each MZI's fringe relative to its node's mean
            # 2. hidden monitors: drive at the rails (all layer weights ±1, inputs lit)
            rails = die._apply(np.concatenate([setting(1.0, 1.0), setting(-1.0, -1.0)]))
            r = fwd(rails, np.repeat(lit, 2, 0))
            die.cal_readout[:nh] = two_point(r["z1"], r["h"])
            h_hi = die.cal_readout[:nh] * r["h"][0].mean(0)
            # 3. output nodes: layer-2 column phase steps, hidden neurons at the high rail
            hp = die._step_configs(setting(1.0, 0.0)[0], list(idx2.T))
            z2 = fwd(hp, np.repeat(lit, len(hp), 0))["z2"].mean(1)
            b2 = (amplitude(z2.reshape(nh + 1, 3, no).transpose(1, 2, 0),
                             die._step_phases(setting(1.0, 0.0)[0])[:, idx2]) / np.r_[h_hi, 1.0])
            die.cal_node[nh:] = 1 / b2.mean(1)
            b2 = b2 * die.cal_node[nh:, None]
            scale2 = b2.copy()
            # 4. output readouts at the rails
            r = fwd(rails, np.repeat(lit, 2, 0))
            die.cal_readout[nh:] = two_point(r["z2"], r["y"])
            # 5. derivative pairs at mid drive z ≈ full_scale/2 (the derivative's peak), found
            #    per node by bisecting its row's common weight on the node reading (7 settings)
            die.cal_derivative[:nh] = mid_drive(nh, lambda m: np.r_[np.repeat(m, ni + 1), np.zeros(nw - n1)],
                                                 "z1", "dh")
            die.cal_derivative[nh:] = mid_drive(no, lambda m: np.r_[np.ones(n1), np.repeat(m, nh + 1)], "z2", "dy")
            # 6. backward: row phase steps with output o's light → per-path backward slopes;
            #    source × node gains fitted (in log) to forward slope / backward slope
            hp, delta = die._step_configs(base, list(idx2)), np.repeat(np.eye(no), 3, 0) * dfs
            bb = die._backward(np.repeat(hp, n, 0), np.repeat(delta, n, 0), True).reshape(3 * no, n, nh).mean(1)
            b_bwd = amplitude((bb / dfs).reshape(no, 3, nh).transpose(1, 0, 2), die._step_phases(base)[:, idx2[:, :nh]])
            with np.errstate(divide="ignore", invalid="ignore"):
                log_m = np.log(b2[:, :nh] / b_bwd)
            if np.all(np.isfinite(log_m)):
                row, col = log_m.mean(1), log_m.mean(0)
                die.cal_source[:] = np.exp(row - row.max())
                die.cal_backward[:] = np.exp(col - log_m.mean() + row.max())
    finally:
        die._rng = rng
    # readings lost in the noise (very low optical power): keep the nominal gain there
    for g in (die.cal_node, die.cal_readout, die.cal_derivative, die.cal_backward, die.cal_source):
        g[~(np.isfinite(g) & (g > GAIN_RANGE[0]) & (g < GAIN_RANGE[1]))] = 1.0
    if a.spec.phase_calibration:  # the lab's per-MZI weight scale (module doc, "Phase calibration")
        scale = np.concatenate([scale1.ravel(), scale2.ravel()])
        ok = np.isfinite(scale) & (scale > WEIGHT_SCALE_RANGE[0]) & (scale < WEIGHT_SCALE_RANGE[1])
        die.weight_scale = np.where(ok, scale, 1.0)
        die.program(die.params)
    die.calibration_measurements += n * (3 * (ni + 1) * nh + 4 * nh + 3 * (nh + 1) * no + 4 * no
                                          + (_BISECTIONS + 2) * (nh + no) + 6 * no * nh)


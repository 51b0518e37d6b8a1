"""What the ``attenuator`` die reads (:mod:`pipeline.chip.attenuator_chip` is the chip): light
through the weight MZIs onto their detector nodes, the neurons' monitors and derivative
pairs, the two-pass backward readings and the three-point phase steps of the slopes —
each reading with its detector noise, RIN, phase noise and ADC.

A reading is one ADC sample of one detector node (a balanced pair or summed node counts
once); ``measurements`` counts them.  Every reading is quantised by the ADC (``adc_bits``)
over its node's largest nominal signal.

On-chip backpropagation (``insitu_gradient``, :mod:`pipeline.chip.attenuator_die`), what is read:

1. forward pass: output detectors (y), each neuron's derivative pair (one balanced node,
   df/dz), hidden monitors (h); the hidden/output node currents carry their detector noise
   into the modulators' drive;
2. δ_o = (y_o − t_o) · f'_o (readings) encodes the backward light P_b·|δ_o|/δ_fs
   (δ_fs = π/(2 fs), clipped at 1) for output o, fanned out to the MZIs (o, j) and injected
   backwards.  Sign by port choice, two passes: pass 1 injects into the *cross* output
   where δ_o > 0 and into the *bar* output where δ_o < 0, pass 2 the other port.  Each
   MZI's second input port (unused forward) holds a backward photodiode; by reciprocity it
   receives T_bar (cross injection) or T_cross (bar injection), and the backward diodes of
   neuron j share one node, so pass 1 − pass 2 = Σ_o δ_o w_oj;
3. δ_j = (Σ_o δ_o w_oj) · f'_j (on-chip derivative); weight gradients dL/dw = mean_b δ ⊗ a
   are formed in the readout electronics from the per-neuron backward readings and the
   per-channel forward readings (inputs x are set, hidden h are monitor readings);
4. conversion to parameter units: dL/dp = w'(p) · dL/dw with w = A − B cos θ_tot.  The
   phasor z = B e^{iθ_tot} is measured in situ by a three-point phase step of each MZI
   (heater + 0, ±P_π/2, ±P_π, down where the DAC has no room up; the phasor from the steps
   actually applied, :func:`crosstalk_calibration.phasor`), forward with one input channel
   lit (layer 1), backward with one output's light (layer 2), and on the output node with
   only the bias channel lit (output biases); then w'(p) = B sin θ_tot / sin θ
   = Re(z e^{−iθ}) + Im(z e^{−iθ}) cot θ for the programmed θ = arccos(−p) (cot clipped at
   ±20): exactly B where the die realises the nominal phase (the former |z|), and exact
   with arm offsets (θ_tot = θ + φ₀; tests/test_phase_errors.py).  The steps are on target ("virtual") powers, applied through Ĉ⁻¹ when
   the crosstalk is calibrated, so a step moves only its own MZIs' phases.  Exact for any
   coupler splitting; DAC steps, wavelength offsets, noise, loss — and crosstalk when not
   calibrated — bias it as on a real chip.
"""

from __future__ import annotations

import numpy as np

from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import neuron as nr
from pipeline.chip.attenuator_chip import AttenuatorChip

_STEPS = np.array([0.0, 0.5, 1.0])  # phase-step heater increments [P_π]

#: Largest |cot θ| used by the slope conversion (sin θ ≥ 0.05: |w| ≤ 0.9987), a design choice
#: that bounds the gradient's magnification where the nominal map p → θ is singular.
_COT_MAX = 20.0


def _weight_slope(z: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """dw/dp of MZIs read as w = A − B cos θ_tot with phasor z = B e^{iθ_tot} (phase steps)
    and programmed at θ = arccos(−p): w'(p) = B sin θ_tot / sin θ = Re(z e^{−iθ})
    + Im(z e^{−iθ}) cot θ (exactly B where the die realises the nominal phase, θ_tot = θ;
    cot θ clipped at ±``_COT_MAX``)."""
    u = z * np.exp(-1j * theta)
    with np.errstate(divide="ignore"):
        cot = nr._clip(np.cos(theta) / np.sin(theta), -_COT_MAX, _COT_MAX)
    return u.real + u.imag * cot


class AttenuatorReadout(AttenuatorChip):
    """An :class:`AttenuatorChip` with its detector readings (module doc)."""

    # -- light and detection ------------------------------------------------------------------
    # ``noise``: where the standard normals of a reading come from — None: drawn from the die's
    # reading stream now (``self._rng``); a callable ``noise(kind, shape)``: pre-drawn
    # (:mod:`pipeline.chip.attenuator_step`, the batched training step, which draws the same
    # numbers in the same order).  ``kind`` names the draw within one pass.
    def _normal(self, noise, kind: str, shape: tuple[int, ...]) -> np.ndarray:
        return self._rng.standard_normal(shape) if noise is None else noise(kind, shape)

    def _phase_reads(self, heater_power: np.ndarray, nb: int, noisy: bool, noise=None, kind: str = "phase",
                     phases: np.ndarray | None = None) -> np.ndarray:
        """Phases (nb, n_params) [rad] of one read: the die's (``phases``, else at ``heater_power``)
        plus ``phase_noise`` per reading when ``noisy``."""
        th = phases if phases is not None else np.broadcast_to(self.phases(heater_power),
                                                                (nb, self.architecture.n_params))
        if noisy and self.impairments.phase_noise > 0:
            th = th + self.impairments.phase_noise * self._normal(noise, kind, th.shape)
        return th

    def _laser(self, nb: int, noisy: bool, noise=None, kind: str = "laser") -> np.ndarray:
        """Laser power factor per sample (1 + RIN), shape (nb, 1)."""
        rin = self.impairments.laser_rin
        if not noisy or rin is None:
            return np.ones((nb, 1))
        return 1 + self._rin_sigma * self._normal(noise, kind, (nb, 1))

    def _launched(self, a: np.ndarray, leak: np.ndarray, n_dest: int, segments=None) -> np.ndarray:
        """(nb, n_dest, C) power entering each MZI of a layer, in units of its channel's
        per-branch power: the channel's own ``a`` (nb, C) plus the light leaked into the
        path at its crossings, Σ_c' X m[d, c, c'] a_c' (``leak`` (n_dest·C, C)).  ``segments``:
        row blocks whose leak products are taken separately (the batched step: the same
        products, bit for bit, as when each block is a pass of its own)."""
        nb, c = a.shape
        own = np.broadcast_to(a[:, None, :], (nb, n_dest, c))
        if self.crossing_leak == 0:
            return own
        if segments is None or not leak.any():
            return own + (a @ leak.T).reshape(nb, n_dest, c)
        return own + np.concatenate([a[s] @ leak.T for s in segments]).reshape(nb, n_dest, c)

    def _read(self, mean: np.ndarray, photo: np.ndarray, n_det: int, noisy: bool, full_scale: float,
              noise=None, kind: str = "read") -> np.ndarray:
        """One reading [A] per element (noise if ``noisy`` and detector noise is on), quantised
        by the ADC (``adc_bits``) over ±``full_scale`` [A] — the node's largest nominal signal —
        when ``noisy`` (noise-free calls are the simulation's truth, not readings).  The noise is
        :func:`neuron.read_node`'s, with the die's precomputed node model
        (:class:`neuron.NodeNoise`)."""
        if not noisy:
            return np.asarray(mean, float)
        out = np.asarray(mean, float)
        if self.impairments.detector_noise:
            out = out + self._node_noise.sigma(photo, n_det) * self._normal(noise, kind, out.shape)
        return nr.quantise(out, full_scale, self.impairments.adc_bits)

    def _forward(self, heater_power: np.ndarray, a0: np.ndarray, noisy: bool,
                 layer1_only: bool = False, noise=None, phases: np.ndarray | None = None,
                 segments=None) -> dict[str, np.ndarray]:
        """Forward pass for channel fractions ``a0`` (nb, n_in + 1); readings normalised
        (``layer1_only``: just the hidden nodes' readings z1).  ``phases`` (nb, n_params): the
        die's phases per row instead of those at ``heater_power``; ``noise``, ``segments``:
        the batched step's (see :meth:`_normal`, :meth:`_launched`)."""
        a = self.architecture
        ni, nh, no, n1 = a.n_in, a.n_hidden, a.n_out, a.n1
        nb, r, p0 = len(a0), self.det.responsivity, self.impairments.optical_power
        tap = a.spec.layout.monitor_tap
        tp = nr.bar(self._phase_reads(heater_power, nb, noisy, noise, "phase", phases), self.mzi_a, self.mzi_b)
        tm = 1 - tp
        gf = self.gain_forward
        # layer 1: balanced pairs of neuron j summed on its node
        pw = (p0 * self._laser(nb, noisy, noise, "laser1")[:, :, None] * self._launched(a0, self._leak1, nh, segments)
              / nh * self._eta_fwd[:n1].reshape(nh, ni + 1))
        ip = r * pw * tp[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 0].reshape(nh, ni + 1)
        im = r * pw * tm[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 1].reshape(nh, ni + 1)
        z1 = self._read((ip - im).sum(-1), (ip + im).sum(-1), 2 * (ni + 1), noisy, (ni + 1) * r * p0 / nh,
                        noise, "z1") / (r * p0 / nh)
        z1 = z1 * self.cal_node[:nh]
        if layer1_only:
            return {"z1": z1}
        # hidden modulators on fresh supply light: monitor tap, derivative pair, next layer
        sup = p0 * self._laser(nb, noisy, noise, "laser2")
        f, dp, dm = self.neuron.transmissions(z1, slice(0, nh))
        er, gd = self._eta_read[:nh], self.gain_derivative[:nh]
        imon = r * sup * tap * f * er * self.gain_readout[:nh]
        h = self._read(imon, imon, 1, noisy, r * p0 * tap, noise, "h") / (r * p0 * tap) * self.cal_readout[:nh]
        idp, idm = r * sup * dp * er * gd[:, 0], r * sup * dm * er * gd[:, 1]
        dh = self.neuron.derivative_scale * (self._read(idp - idm, idp + idm, 2, noisy, r * p0, noise, "dh") / (r * p0))
        dh = dh * self.cal_derivative[:nh]
        # layer 2
        a1 = np.concatenate([f, np.ones((nb, 1))], 1) * (sup * (1 - tap))
        pw2 = self._launched(a1, self._leak2, no, segments) / no * self._eta_fwd[n1:].reshape(no, nh + 1)
        ip2 = r * pw2 * tp[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 0].reshape(no, nh + 1)
        im2 = r * pw2 * tm[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 1].reshape(no, nh + 1)
        fs2 = r * p0 * (1 - tap) / no
        z2 = (self._read((ip2 - im2).sum(-1), (ip2 + im2).sum(-1), 2 * (nh + 1), noisy, (nh + 1) * fs2, noise, "z2")
              / fs2 * self.cal_node[nh:])
        fo, dpo, dmo = self.neuron.transmissions(z2, slice(nh, None))
        eo, go = self._eta_read[nh:], self.gain_derivative[nh:]
        iy = r * sup * fo * eo * self.gain_readout[nh:]
        y = self._read(iy, iy, 1, noisy, r * p0, noise, "y") / (r * p0) * self.cal_readout[nh:]
        idp, idm = r * sup * dpo * eo * go[:, 0], r * sup * dmo * eo * go[:, 1]
        dy = self.neuron.derivative_scale * (self._read(idp - idm, idp + idm, 2, noisy, r * p0, noise, "dy") / (r * p0))
        dy = dy * self.cal_derivative[nh:]
        return {"z1": z1, "h": h, "dh": dh, "z2": z2, "y": y, "dy": dy}

    def _forward_bias_only(self, heater_power: np.ndarray, noisy: bool) -> np.ndarray:
        """Output-node readings with all inputs and the hidden bias dark (hidden neurons at
        f(0)): the output bias MZIs' normalised weights (+ extinction leakage)."""
        a = self.architecture
        return self._forward(heater_power, np.zeros((len(heater_power), a.n_in + 1)), noisy)["z2"]

    def _backward(self, heater_power: np.ndarray, delta: np.ndarray, noisy: bool, noise=None,
                  phases: np.ndarray | None = None) -> np.ndarray:
        """Two-pass backward readings of the hidden nodes, normalised: Σ_o δ_o w_oj
        (``phases``, ``noise``: as in :meth:`_forward`)."""
        a = self.architecture
        nh, no, n1 = a.n_hidden, a.n_out, a.n1
        nb, r, p0 = len(delta), self.det.responsivity, self.impairments.optical_power
        dfs = 0.5 * np.pi / self.fs
        mag = nr._clip(self.cal_source * np.abs(delta) / dfs, 0.0, 1.0)
        pos = (delta > 0)[:, :, None]
        pw = (p0 * self._laser(nb, noisy, noise, "laser") * mag)[:, :, None] / nh * self._eta_bwd  # (nb, no, nh)
        reads = []
        for k, first in enumerate((True, False)):
            tp = nr.bar(self._phase_reads(heater_power, nb, noisy, noise, f"phase{k}", phases),
                        self.mzi_a, self.mzi_b)[:, n1:]
            tp = tp.reshape(nb, no, nh + 1)[:, :, :nh]
            t = np.where(pos == first, tp, 1 - tp)
            cur = r * (pw * t * self.gain_backward).sum(1)
            reads.append(self._read(cur, cur, no, noisy, r * p0 * no / nh, noise, f"b{k}"))
        return (reads[0] - reads[1]) / (r * p0 / (dfs * nh)) * self.cal_backward

    def _read_mzi(self, heater_power: np.ndarray, m: int, n: int) -> tuple[np.ndarray, int]:
        """Mean of ``n`` noisy readings of MZI m at each heater setting (configs, n_params) [W],
        lit and read as the slope measurement (:meth:`_slopes`) reads it: layer 1 (j, i) by
        hidden node j with channel i alone; layer 2 (o, j) by backward node j with output o's
        light; output bias (o, n_hidden) by output node o with the bias channel alone.
        Returns the means and the detector readings per sample (backward: two passes)."""
        a, imp = self.architecture, self.impairments
        quiet = not imp.detector_noise and imp.laser_rin is None and imp.phase_noise == 0
        hp = np.repeat(np.asarray(heater_power, float), 1 if quiet else n, 0)  # noise-free: n equal readings
        if m < a.n1:
            j, i = divmod(m, a.n_in + 1)
            a0 = np.repeat(np.eye(a.n_in + 1)[i:i + 1], len(hp), 0)
            w, reads = self._forward(hp, a0, True, layer1_only=True)["z1"][:, j], 1
        else:
            o, j = divmod(m - a.n1, a.n_hidden + 1)
            if j < a.n_hidden:
                dfs = 0.5 * np.pi / self.fs
                delta = np.repeat(np.eye(a.n_out)[o:o + 1], len(hp), 0) * dfs
                w, reads = self._backward(hp, delta, True)[:, j] / dfs, 2
            else:
                w, reads = self._forward_bias_only(hp, True)[:, o], 1
        return w.reshape(len(heater_power), -1).mean(1), reads

    # -- phase steps: the slopes dw/dp (module doc, step 4) --------------------------------------
    def _mzi_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat MZI indices: layer 1 (n_hidden, n_in + 1), layer 2 (n_out, n_hidden + 1)."""
        a = self.architecture
        return (np.arange(a.n1).reshape(a.shape1),
                a.n1 + np.arange(a.n_params - a.n1).reshape(a.shape2))

    def _step_sizes(self, base: np.ndarray) -> np.ndarray:
        """Signed phase-step size [W, target units] of every heater at target powers ``base``:
        +P_π where the applied power stays within the DAC's 2 P_π, else −P_π where the heater
        has that much to give, else the larger room (×0.99) in its direction — as the
        controller predicts it from its calibration (efficiency ε̂, or Ĉ's diagonal)."""
        return self._step_sizes_on_grid(self._quantise(np.asarray(base, float)))

    def _step_sizes_on_grid(self, q: np.ndarray) -> np.ndarray:
        """:meth:`_step_sizes` of target powers ``q`` already on the DAC grid."""
        eff = (np.diagonal(self.crosstalk_measured) if self.crosstalk_measured is not None
               else self.efficiency_measured if self.efficiency_measured is not None else 1.0)
        up, down = 2 * self.p_pi * eff - q, q
        return np.where(up >= self.p_pi, self.p_pi, np.where(down >= self.p_pi, -self.p_pi,
                                                             np.where(up >= down, 0.99 * up, -0.99 * down)))

    def _step_phases(self, base: np.ndarray) -> np.ndarray:
        """(3, n_params) nominal phase steps [rad] of :meth:`_step_configs` at ``base``."""
        return np.pi / self.p_pi * np.outer(_STEPS, self._step_sizes(base))

    def _step_configs(self, base: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
        """(3·len(groups), n_params) applied heater powers [W]: target powers ``base`` (on the
        DAC grid) with group g's heaters stepped by 0, ½, 1 × :meth:`_step_sizes` (rows
        3g … 3g + 2: 0, ±P_π/2, ±P_π where the DAC allows), applied by :meth:`_apply` (through
        Ĉ⁻¹ if the crosstalk is calibrated: only the group's phases move)."""
        base = np.asarray(base, float)
        size = self._step_sizes(base)
        hp = np.repeat(self._quantise(base)[None], 3 * len(groups), 0)  # base on the DAC grid
        for g, idx in enumerate(groups):
            for k, st in enumerate(_STEPS):
                hp[3 * g + k, idx] += st * size[idx]
        return self._apply(hp)

    def _slopes(self, noisy: bool = True) -> np.ndarray:
        """In-situ three-point phase-step measurement of dw/dp of every MZI (module doc, step 4)."""
        a = self.architecture
        ni, nh, no = a.n_in, a.n_hidden, a.n_out
        base, dfs = self.target_power, 0.5 * np.pi / self.fs
        idx1, idx2 = self._mzi_index()
        # layer 1: channel i lit, heaters (·, i) stepped; node j reads MZI (j, i)
        z1 = self._forward(self._step_configs(base, list(idx1.T)), np.repeat(np.eye(ni + 1), 3, 0), noisy)["z1"]
        w1 = z1.reshape(ni + 1, 3, nh).transpose(1, 2, 0)
        # layer 2, hidden columns: backward light of output o only, heaters (o, ·) stepped
        w2 = np.empty((3, no, nh + 1))
        b = self._backward(self._step_configs(base, list(idx2)), np.repeat(np.eye(no), 3, 0) * dfs, noisy) / dfs
        w2[:, :, :nh] = b.reshape(no, 3, nh).transpose(1, 0, 2)
        # layer 2, bias column: only the output bias channel lit, output nodes read
        w2[:, :, nh] = self._forward_bias_only(self._step_configs(base, [idx2[:, nh]]), noisy)
        self.measurements += 3 * (ni + 1) * nh + 3 * no * 2 * nh + 3 * no
        z = xc.phasor(np.concatenate([w1.reshape(3, -1), w2.reshape(3, -1)], 1), self._step_phases(base))
        theta = np.arccos(-np.clip(self.params / self.weight_scale, -1.0, 1.0))
        return _weight_slope(z, theta) / self.weight_scale

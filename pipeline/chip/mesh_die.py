"""One ``mesh`` die as training algorithms see it (:class:`pipeline.chip.interface.Die`): the
chip (:mod:`pipeline.chip.mesh_chip`), lab-calibrated if its spec says so
(:mod:`pipeline.chip.mesh_calibration`), its detector readings and the procedures run on
them — the forward pass and on-chip backpropagation.

Readings: direct detection (output, activation and tap detectors: shot, thermal and dark
noise, laser RIN, ``adc_bits`` over each reading's full scale — N inputs at 1; taps 4N) and
coherent (homodyne) receivers for complex fields (quadrature noise, ADC per quadrature).

Forward: every layer's mesh at its realised phases (one phase-noise draw per optical pass);
between layers each mode's power is read by its activation detector and drives the
activation modulator (nominal γ, β + the modulator's own bias error).

Backward on chip, per layer from the last: adjoint field at the mesh outputs g = 2 (dL/dp)·z
(z read by coherent detection during the forward pass); the Hughes procedure
(:func:`pipeline.circuit.mesh_gradients.hughes_gradients`) measures dL/dθ, dL/dφ from tap
intensities and the adjoint field X_adj at the mesh inputs (coherent detection); then
dL/da' = 2 Re X_adj, and dL/dp of the previous layer = dL/da' × (derivative modulator's
reading).  The lab multiplies the two electrically.  The measured quantities are
derivatives w.r.t. the *realised* phases; they are returned as the gradient w.r.t. the
programmed ones (what a lab does), so thermal crosstalk biases them as it would on a chip.
Phase noise is drawn per optical pass (forward; adjoint, time-reversed and interference pass
of every layer separately); the activation derivative is read on chip (derivative modulator
at β + π/2 + its own bias error, field read by a coherent receiver: noise, ADC) and scaled
by the nominal γ.

``lab_calibrated()`` (:mod:`pipeline.chip.mesh_network`): dies measure every MZI's offsets,
heater efficiencies and couplers, each heater row's crosstalk and each layer's transmission
(:func:`mesh_calibration.calibrate`) and program through them.

WDM dies (``wdm_channels`` W > 1): sample b of a batch travels on channel b mod W through
every layer (its activation detector and modulator are the channel's); each layer is one
stacked mesh (:attr:`MeshChip.channel_hardware`) at the channels' realised phases.  The
Hughes procedure runs on all channels at once (each channel's adjoint and X_adj through a
demultiplexer) and the broadband taps read the channels' power sum
(:mod:`pipeline.circuit.mesh_spectral_gradients`), so the measured gradient is the sum over
the realised phases of each channel.  The lab calibration runs at λ_die.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from devices import photodetector_electrical as pde
from pipeline import units_attrs
from pipeline.chip import mesh_calibration as mc
from pipeline.chip import neuron as nr
from pipeline.chip.impairments import ImpairmentSpec
from pipeline.chip.mesh_chip import MeshChip
from pipeline.circuit.mesh_gradients import hughes_gradients
from pipeline.errors import SpecError


class MeshDie(MeshChip):
    """One fabricated ``mesh`` chip (module doc): implements pipeline.chip.interface.Die."""

    def __init__(self, architecture, impairments: ImpairmentSpec, seed: int, library) -> None:
        super().__init__(architecture, impairments, seed, library)
        s = architecture.spec
        if s.lab_calibration:
            self.calibration = mc.calibrate(self, s.calibration_samples)
            self.calibration_measurements = self.calibration.readings
            self.layer_gain = self.calibration.layer_gain

    def to_dataset(self) -> xr.Dataset:
        """The die as data (:meth:`MeshChip.to_dataset`) with units and long_name on every
        variable and coordinate, the impairments and the architecture spec also as structured
        ``impairments.*`` / ``spec.*`` attributes (:mod:`pipeline.units_attrs`)."""
        return units_attrs.annotate(super().to_dataset(),
                                    specs={"impairments": self.impairments, "spec": self.architecture.spec})

    # -- detection ------------------------------------------------------------------------
    def _adc(self, v: np.ndarray, full_scale: float, count: int) -> np.ndarray:
        """Quantise readings (sums of ``count``) with ``adc_bits`` over ±``full_scale`` (of one
        reading); a sum of count > 1 dithered readings gets the equivalent error,
        step·√(count/12)·N(0, 1)."""
        bits = self.impairments.adc_bits
        if not bits:
            return v
        if count == 1:
            return nr.quantise(v, full_scale, bits)
        step = 2 * full_scale / 2 ** bits
        return v + step * np.sqrt(count / 12) * self._rng.standard_normal(np.shape(v))

    def read_direct(self, p_norm: np.ndarray, gain: np.ndarray | float, fraction: float = 1.0, count: int = 1,
                    full_scale: float | None = None) -> np.ndarray:
        """Read normalised powers (sum of ``count`` samples each) with a detector chain:
        current → (I − count·I_dark)/(R·fraction·P_opt), ADC over ``full_scale`` (normalised
        power of one sample; default all N inputs at 1)."""
        imp = self.impairments
        p_w = np.clip(p_norm, 0, None) * imp.optical_power * fraction
        if not imp.detector_noise and imp.laser_rin is None and not imp.adc_bits:
            return gain * p_norm
        r, bw = self.detector.responsivity, imp.measurement_bandwidth
        mean = gain * r * p_w
        var = np.zeros_like(mean)
        if imp.detector_noise:
            var = count * pde.noise_variance(p_w / count, bandwidth=bw, spec=self.detector)
        if imp.laser_rin is not None:  # lower bound Σp² ≥ (Σp)²/count for a batch sum
            var = var + mean ** 2 / count * 10 ** (imp.laser_rin / 10) * bw
        i = mean + np.sqrt(var) * self._rng.standard_normal(mean.shape)
        fs = self.full_scale if full_scale is None else full_scale
        return self._adc(i / (r * imp.optical_power * fraction), fs, count)

    def _coherent(self, field: np.ndarray) -> np.ndarray:
        """Homodyne read of complex amplitudes (LO power = optical_power): quadrature noise
        σ = sqrt(σ_I²(P_opt)) / (2 R P_opt) in normalised field units; each quadrature
        ADC-quantised over ±√N."""
        imp = self.impairments
        if imp.detector_noise:
            sig = np.sqrt(pde.noise_variance(imp.optical_power, bandwidth=imp.measurement_bandwidth,
                                             spec=self.detector)) / (2 * self.detector.responsivity * imp.optical_power)
            field = field + sig * (self._rng.standard_normal(field.shape) + 1j * self._rng.standard_normal(field.shape))
        fs = np.sqrt(self.full_scale)
        return self._adc(field.real, fs, 1) + 1j * self._adc(field.imag, fs, 1)

    # -- forward pass ----------------------------------------------------------------------
    def _phases(self, powers: np.ndarray, noise: bool) -> np.ndarray:
        """Realised phases of one optical pass: per channel on a WDM die."""
        return self.realised_phases(powers, noise, channels=self.n_channels > 1)

    def _run(self, phases: np.ndarray, x: np.ndarray, noisy: bool):
        arch, s = self.architecture, self.architecture.spec
        a, fields = arch.encode(x), []
        mats = self._matrices(phases)
        if phases.ndim == 4:  # WDM: sample b through channel b mod W
            pick = (np.arange(a.shape[1]) % self.n_channels, slice(None), np.arange(a.shape[1]))
        for i, u in enumerate(mats):
            z = u @ a if u.ndim == 2 else np.matmul(u, a)[pick].T
            fields.append((a, z))
            if i < len(mats) - 1:
                p = np.abs(z) ** 2
                if noisy:
                    p = self.read_direct(p, self.gain["activation"][i][:, None])
                p = p * self.layer_gain[i]
                a = arch.activation(p, s.activation_bias + self.bias_error[0, i][:, None]).astype(complex)
                fields[-1] = fields[-1] + (p,)
        y = np.abs(fields[-1][1][:arch.n_out]).T ** 2
        return y, fields, mats

    def infer(self, x: np.ndarray) -> np.ndarray:
        y, _, _ = self._run(self._phases(self.powers, True), x, True)
        self.measurements += y.size
        return self.read_direct(y, self.gain["output"][None, :]) * self.layer_gain[-1]

    def true_loss(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
        y, _, _ = self._run(self._phases(self.heater_powers(params), False), x, False)
        y = y * self.layer_gain[-1]
        return float(0.5 * np.mean(np.sum((y - self.architecture.check_t(t, y.shape)) ** 2, 1)))

    # -- on-chip backpropagation -------------------------------------------------------------
    def insitu_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """MSE loss of the readings and on-chip gradient: :meth:`_backprop` with the adjoint
        dL/dy = (y − t)/B of the pass's own output readings y."""
        checked = []

        def dl_dy(y: np.ndarray) -> np.ndarray:
            checked.append(self.architecture.check_t(t, y.shape))
            return (y - checked[0]) / y.shape[0]

        y, grad = self._backprop(x, dl_dy)
        return float(0.5 * np.mean(np.sum((y - checked[0]) ** 2, 1))), grad

    def vjp(self, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, dict]:
        """Vector–Jacobian product dyᵀ ∂y/∂params of the die's outputs y = infer(x) at the
        programmed phases, measured on chip by the procedure of :meth:`insitu_gradient` (a new
        forward pass of ``x`` with its coherent and derivative reads, the adjoint field
        g = 2 dy·z injected per layer, the Hughes tap readings; noise and readings as there):
        insitu_gradient(x, t) is this with dy = (y − t)/B of its own readings y.  ``dy``:
        (B, n_out) output gradient, injected as it is (no gain: the adjoint field scales with
        dy).  Returns dyᵀ ∂y/∂phases (n_params,), per rad of the programmed phases, and
        ``{"y": the pass's readings (B, n_out), "readings": detector readings taken}``."""
        dy = np.asarray(dy, float)
        if dy.ndim != 2 or dy.shape[1] != self.architecture.n_out or not np.all(np.isfinite(dy)):
            raise SpecError(f"dy has shape {dy.shape} (or is not finite): need finite (batch, "
                            f"n_out={self.architecture.n_out}) output gradients. Fix: pass dL/dy of infer(x).")
        if len(dy) != len(np.asarray(x)):
            raise SpecError(f"dy has {len(dy)} rows for a batch x of {len(np.asarray(x))}. "
                            "Fix: one dL/dy row per sample of x.")
        before = self.measurements
        y, grad = self._backprop(x, lambda y: dy)
        return grad, {"y": y, "readings": self.measurements - before}

    def _backprop(self, x: np.ndarray, dl_dy) -> tuple[np.ndarray, np.ndarray]:
        """One on-chip backpropagation of the batch ``x`` (module doc): the forward pass, the
        adjoint ``dl_dy(y)`` ((B, n_out), from its output readings y) sent back layer by layer.
        Returns (y, Σ_b dl_dyᵀ ∂y/∂phases)."""
        arch, s = self.architecture, self.architecture.spec
        phases = self._phases(self.powers, True)  # the forward pass (all layers, their taps)
        y_true, fields, mats = self._run(phases, x, True)
        y = self.read_direct(y_true, self.gain["output"][None, :]) * self.layer_gain[-1]
        adj = dl_dy(y)
        b = y.shape[0]
        self.measurements += y.size
        derivs = [self._derivative(i, fields[i][2]) for i in range(s.n_layers - 1)]  # read in the forward pass
        dl_dp = np.zeros((s.n_modes, b))
        dl_dp[:arch.n_out] = adj.T
        grads = [None] * s.n_layers
        for i in range(s.n_layers - 1, -1, -1):
            a, z = fields[i][:2]
            z_read = self._coherent(z)
            self.measurements += 2 * z.size
            g = 2 * dl_dp * self.layer_gain[i] * z_read
            gain = self.gain["taps"][i]

            def read(p: np.ndarray, count: int, gain: np.ndarray = gain) -> np.ndarray:
                return self.read_direct(p, gain[None], s.tap_fraction, count, full_scale=4 * self.full_scale)

            if self.n_channels > 1:  # every channel's fields on its own wavelength (zero elsewhere)
                mask = self.channel_masks(b)[:, None, :]
                passes = [self._phases(self.powers, True)[:, i] for _ in range(3)]  # adjoint, TR, sum
                m = hughes_gradients(self.channel_hardware[i], phases[:, i, 0], phases[:, i, 1], mask * a,
                                     mask * g, read=read, read_adjoint=self._coherent,
                                     pass_phases=[(q[:, 0], q[:, 1]) for q in passes])
                adjoint_inputs = (mask * m.adjoint_inputs).sum(0)
            else:
                passes = [self.realised_phases(self.powers, True)[i] for _ in range(3)]  # adjoint, TR, sum
                m = hughes_gradients(self.hardware[i], phases[i, 0], phases[i, 1], a, g, read=read,
                                     read_adjoint=self._coherent, pass_phases=[(q[0], q[1]) for q in passes])
                adjoint_inputs = m.adjoint_inputs
            self.measurements += m.readings_taken + 2 * a.size
            grads[i] = np.concatenate([m.theta, m.phi])
            if i:
                dl_dp = 2 * adjoint_inputs.real * derivs[i - 1]
        return y, np.concatenate(grads)

    def _derivative(self, gap: int, p_read: np.ndarray) -> np.ndarray:
        """da'/dp of layer gap ``gap`` as read on chip: the derivative modulator (same drive,
        bias β + π/2 + its own error) transmits cos(γ p + β + ε'); its field is read by a
        coherent receiver (noise, ADC) and scaled by the nominal γ."""
        s = self.architecture.spec
        field = np.sin(s.activation_gain * p_read + s.activation_bias + np.pi / 2
                       + self.bias_error[1, gap][:, None]).astype(complex)
        self.measurements += 2 * field.size
        return s.activation_gain * self._coherent(field).real

"""The ``mesh`` architecture (Pai et al., Science 380, 398 (2023) style): coherent N-mode
Clements meshes with opto-electronic activations between them, trained by in-situ
backpropagation (Hughes et al., Optica 5, 864 (2018)).

Encoding.  Features x ∈ [0, 1]^n_in set real field amplitudes of modes 0…n_in−1 (power
x² in units of ``optical_power``); mode n_in carries a constant bias amplitude 1; other
modes are dark.

Layer ℓ: z = U_ℓ a (U_ℓ the mesh's N×N transfer, no output phase screen: every output
is detected, so it would not matter).  Between layers, *detect and re-emit*: each mode's
light is fully detected, p = |z|² (normalised to ``optical_power``), and the photocurrent
drives a push-pull Mach-Zehnder modulator on fresh supply light of amplitude 1:

    a' = sin(γ p + β),   da'/dp = γ cos(γ p + β),

γ = ``activation_gain`` [rad per unit normalised power], β = ``activation_bias``.  A
push-pull MZM of half-wave voltage V_π transmits the field sin(πV/(2V_π)); with V = G·R·P_opt·p,
γ = π G R P_opt/(2 V_π).  Default γ = π: R = 0.96 A/W (library 10 µm Ge detector, below),
P_opt = 100 µW, V_π = 5 V (4 mm depletion MZM at 2 V·cm, pipeline.chip.neuron) → a 104 kΩ
transimpedance.  Chosen by measurement (ideal model, TrainConfig defaults, Adam, seeds 0–4,
test accuracy): γ = π/2 (≈ 0.6 rad of swing over the data) moons 0.876 ± 0.012 at step
0.02, 0.904 ± 0.047 at 0.05; γ = π moons 0.994 ± 0.008 / 0.998 ± 0.004, circles 0.996 ±
0.005 (0.02); 3π/2 no better.  Phases are in rad: the recommended Adam step
``DEFAULT_LEARNING_RATE`` = 0.05 rad (architecture attribute ``default_learning_rate``);
init uniform in [0, 2π).  Chosen
over Williamson et al.'s (IEEE JSTQE 26, 7700412 (2020)) tap-and-modulate activation
because its backward pass is simple on chip: the derivative is produced by a second
modulator driven by the same photocurrent and biased a quarter period away (β + π/2,
giving cos), the way Ashtiani & Idjadi (arXiv 2307.10179) produce activation
derivatives.  Output: detected powers y = |z_L|² of modes 0…n_out−1.  Loss: MSE of
:mod:`pipeline.chip.interface`, L = mean_b Σ_o (y − t)²/2.

Backward on chip, per layer from the last: adjoint field at the mesh outputs g = 2 (dL/dp)·z
(z read by coherent detection during the forward pass); the Hughes procedure
(:func:`pipeline.circuit.mesh_gradients.hughes_gradients`) measures dL/dθ, dL/dφ from tap
intensities and the adjoint field X_adj at the mesh inputs (coherent detection); then
dL/da' = 2 Re X_adj, and dL/dp of the previous layer = dL/da' × (derivative modulator's
reading).  The lab multiplies the two electrically.  The measured quantities are
derivatives w.r.t. the *realised* phases; they are returned as the gradient w.r.t. the
programmed ones (what a lab does), so thermal crosstalk biases them as it would on a chip.

The die: MZIs from the coupler compact model (κ² shifted from 50:50 by the model's change
with the sampled width/thickness offsets and the wavelength offset; excess loss scaled by
``insertion_loss_scale``), heater insertion loss from the phase-shifter model, propagation
loss over ``column_length``; phases programmed as heater powers with the nominal dφ/dP
(DAC over 0…2P_π), realised through the thermal crosstalk matrix of each heater row at
``2·mode_pitch`` and the actual dφ/dP at the operating wavelength, with static arm offsets,
per-heater efficiency spread and drift (:mod:`pipeline.chip.mesh_calibration`); phase noise
drawn per optical pass (forward; adjoint, time-reversed and interference pass of every
layer separately); the activation derivative is read on chip (derivative modulator at
β + π/2 + its own bias error, field read by a coherent receiver: noise, ADC) and scaled by
the nominal γ; detectors (output, taps, activation, coherent receivers) from
:mod:`devices.photodetector_electrical` with the library Ge detector's responsivity
(:func:`pipeline.chip.library_figures.detector_figures`), per-detector gain errors, laser RIN
on direct readings, ``adc_bits`` over each reading's full scale (N inputs at 1; taps 4N).
``lab_calibrated()``: dies measure every MZI's offsets, heater efficiencies and couplers,
each heater row's crosstalk and each layer's transmission (mesh_calibration) and program through them.  Taps: weak monitors reading ``tap_fraction`` of the light
(not removed from the waveguide, as with Pai's imaging of grating-scattered light).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from pipeline.chip import library_figures as lf
from pipeline.chip import mesh_calibration as mc
from pipeline.chip import neuron as nr
from pipeline.chip.drift import PhaseDrift
from pipeline.chip.impairments import ImpairmentSpec, impairments as make_impairments, sample_fabrication
from pipeline.circuit.mesh import MeshHardware, MeshLayout, column_groups, coupler_matrix, mesh_layout
from pipeline.circuit.mesh_gradients import hughes_gradients, mesh_gradients
from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity

NOMINAL_WAVELENGTH_UM = 1.55
DEFAULT_LEARNING_RATE = 0.05  # rad


class MeshNetworkSpec(Spec):
    """Sizes, activation and layout of a ``mesh`` network (module doc)."""

    n_modes: int = quantity(4, "1", "modes per Clements mesh", ge=2, le=64)
    n_layers: int = quantity(3, "1", "number of meshes (activations between them)", ge=1, le=8)
    n_in: int = quantity(2, "1", "input features (mode n_in is the bias mode)", ge=1)
    n_out: int = quantity(2, "1", "detected output modes", ge=1)
    activation_gain: float = quantity(np.pi, "rad", "modulator phase per unit normalised detected power "
                                      "(module doc: the numbers giving pi)", gt=0, le=20)
    activation_bias: float = quantity(0.0, "rad", "modulator bias phase beta", ge=-np.pi, le=np.pi)
    mode_pitch: float = quantity(25.0, "um", "waveguide pitch (heater rows: 2 x pitch)", gt=0, le=500)
    column_length: float = quantity(300.0, "um", "length of one MZI column (2 couplers, 2 heaters, bends)", gt=0)
    tap_fraction: float = quantity(0.01, "1", "power fraction read by each phase-shifter tap monitor", gt=0, le=0.5)
    arm_length: float = quantity(150.0, "um", "length of an MZI's internal arms (theta shifter)", gt=0)
    arm_separation: float = quantity(10.0, "um", "centre distance of an MZI's internal arms", gt=0)
    detector_ge_length: float = quantity(10.0, "um", "Ge length of the library photodetector (responsivity)", gt=0)
    detector_collection_efficiency: float = quantity(0.8, "1", "electrons per photon absorbed in the Ge "
                                                     "(pipeline.chip.library_figures: source)", gt=0, le=1)
    lab_calibration: bool = quantity(False, "1", "measure every MZI's phase offsets and heater efficiencies "
                                     "on the die before use and program through them (mesh_calibration)")
    calibration_samples: int = quantity(64, "1", "readings averaged per calibration setting", ge=1, le=100000)

    def model_post_init(self, _: object) -> None:
        if self.n_in + 1 > self.n_modes or self.n_out > self.n_modes:
            raise SpecError(f"n_in = {self.n_in}, n_out = {self.n_out}, n_modes = {self.n_modes}: need "
                            f"n_in + 1 <= n_modes (bias mode) and n_out <= n_modes. Fix: raise n_modes.")


def _activation(p: np.ndarray, gain: float, bias: np.ndarray | float) -> np.ndarray:
    return np.sin(gain * p + bias)


@dataclass
class MeshNetwork:
    """The architecture: ideal digital model (ideal 50:50 couplers, lossless)."""

    spec: MeshNetworkSpec = field(default_factory=MeshNetworkSpec)
    name: str = "mesh"
    #: Adam step [rad] for the phases (module doc: measured); pipeline.training may use it
    default_learning_rate: float = DEFAULT_LEARNING_RATE

    def __post_init__(self) -> None:
        self.layout: MeshLayout = mesh_layout(self.spec.n_modes)
        self.n_in, self.n_out = self.spec.n_in, self.spec.n_out
        self.k = self.layout.n_mzi
        self.n_params = 2 * self.k * self.spec.n_layers
        self._ideal = MeshHardware.ideal(self.layout)

    # -- parameters: per layer [theta (K), phi (K)] --------------------------------------
    def split(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        p = np.asarray(params, float)
        if p.shape != (self.n_params,):
            raise SpecError(f"params has shape {p.shape}, expected ({self.n_params},) = 2 x {self.k} MZIs x "
                            f"{self.spec.n_layers} layers (theta then phi per layer, rad).")
        return [(p[2 * i * self.k:(2 * i + 1) * self.k], p[(2 * i + 1) * self.k:(2 * i + 2) * self.k])
                for i in range(self.spec.n_layers)]

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0, 2 * np.pi, self.n_params)

    def clip_params(self, params: np.ndarray) -> np.ndarray:
        """Phases wrapped to [0, 2π) (heaters cover 0…2P_π)."""
        return np.mod(np.asarray(params, float), 2 * np.pi)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """(N, B) input amplitudes: features, bias mode = 1, others dark."""
        x = np.asarray(x, float)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise SpecError(f"x has shape {x.shape}: expected (batch, n_in={self.n_in}) features in [0, 1].")
        if np.any(x < -1e-9) or np.any(x > 1 + 1e-9):
            raise SpecError(f"x spans {x.min():.3g}..{x.max():.3g}: features must be scaled to [0, 1] "
                            "(pipeline.training.datasets scaling rule).")
        a = np.zeros((self.spec.n_modes, x.shape[0]), complex)
        a[:self.n_in] = x.T
        a[self.n_in] = 1.0
        return a

    def _forward(self, mats: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
        """Outputs (B, n_out) and per layer (input amplitudes, output fields)."""
        a, fields = self.encode(x), []
        for i, u in enumerate(mats):
            z = u @ a
            fields.append((a, z))
            if i < len(mats) - 1:
                a = _activation(np.abs(z) ** 2, self.spec.activation_gain, self.spec.activation_bias).astype(complex)
        return np.abs(fields[-1][1][:self.n_out]).T ** 2, fields

    def ideal_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        mats = [self._ideal.matrix(th, ph) for th, ph in self.split(params)]
        return self._forward(mats, x)[0]

    def ideal_loss_and_grad(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        phases = self.split(params)
        y, fields = self._forward([self._ideal.matrix(th, ph) for th, ph in phases], x)
        t = _targets(t, y.shape)
        b = y.shape[0]
        dl_dp = np.zeros((self.spec.n_modes, b))
        dl_dp[:self.n_out] = (y - t).T / b
        grads = [None] * len(phases)
        for i in range(len(phases) - 1, -1, -1):
            a, z = fields[i]
            g = 2 * dl_dp * z
            th, ph = phases[i]
            gr = mesh_gradients(self._ideal, th, ph, None, a, g)
            grads[i] = np.concatenate([gr.theta, gr.phi])
            if i:
                u = self._ideal.matrix(th, ph)
                dl_da = (u.conj().T @ g).real
                pa = np.abs(fields[i - 1][1]) ** 2
                dl_dp = dl_da * self.spec.activation_gain * np.cos(self.spec.activation_gain * pa
                                                                   + self.spec.activation_bias)
        return float(0.5 * np.mean(np.sum((y - t) ** 2, 1))), np.concatenate(grads)

    def lab_calibrated(self) -> "MeshNetwork":
        """The same network with the lab calibration on (``lab_calibration``): its dies measure
        every MZI's θ/φ offsets and heater efficiencies before use (:mod:`mesh_calibration`).
        Same seed, same fabricated chip."""
        new = copy.copy(self)
        new.spec = self.spec.model_copy(update={"lab_calibration": True})
        return new

    def sample_die(self, impairments: object = "realistic", seed: int = 0) -> "MeshDie":
        spec = impairments if isinstance(impairments, ImpairmentSpec) else make_impairments(impairments)
        return MeshDie(self, spec, int(seed))


def _targets(t: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    t = np.asarray(t, float)
    if t.shape != shape:
        raise SpecError(f"targets t have shape {t.shape}, expected {shape} (batch, n_out).")
    return t


class MeshDie:
    """One fabricated ``mesh`` chip (module doc): implements pipeline.chip.interface.Die."""

    def __init__(self, architecture: MeshNetwork, impairments: ImpairmentSpec, seed: int) -> None:
        from devices import coupler_model, phase_shifter
        from devices.photodetector_electrical import PhotodetectorElectricalSpec

        self.architecture, self.impairments, self.seed, self.measurements = architecture, impairments, seed, 0
        arch, imp, s = architecture, impairments, architecture.spec
        rng = np.random.default_rng(seed)
        self._rng = np.random.default_rng([seed, 1])
        lay, k, n_l = arch.layout, arch.k, s.n_layers
        self.wavelength = NOMINAL_WAVELENGTH_UM + imp.wavelength_offset * 1e-3
        # fabrication: two couplers per MZI at their layout positions
        x_pos = (np.arange(n_l)[:, None] * (lay.n_columns + 1) + lay.column[None, :]) * s.column_length
        pos = np.stack([np.repeat(x_pos[..., None], 2, -1) + np.array([0.25, 0.75]) * s.column_length,
                        np.broadcast_to((lay.modes + 0.5)[None, :, None] * s.mode_pitch, (n_l, k, 2))], -1)
        dw, dt = sample_fabrication(imp, pos.reshape(-1, 2), rng)
        self.dw, self.dt = dw.reshape(n_l, k, 2), dt.reshape(n_l, k, 2)
        ideal_die = imp.width_sigma == imp.thickness_sigma == imp.die_width_offset == imp.die_thickness_offset == 0 \
            and imp.wavelength_offset == 0
        if ideal_die:
            self.kappa2 = np.full((n_l, k, 2), 0.5)
        else:
            k0 = coupler_model.power_coupling(wavelength=NOMINAL_WAVELENGTH_UM)
            self.kappa2 = np.clip(0.5 + coupler_model.power_coupling(wavelength=self.wavelength, dw=self.dw,
                                                                     dt=self.dt) - k0, 0.0, 1.0)
        self.coupler_loss_db = (imp.insertion_loss_scale * coupler_model.excess_loss_db(
            wavelength=self.wavelength, dw=self.dw, dt=self.dt)) if imp.insertion_loss_scale else np.zeros_like(self.dw)
        ps = phase_shifter.default_model()
        self.heater_loss_db = imp.insertion_loss_scale * ps.insertion_loss_db
        self.dphase_dpower_nominal = float(phase_shifter.phase(wavelength=NOMINAL_WAVELENGTH_UM, power_w=1.0))
        self.dphase_dpower = float(phase_shifter.phase(wavelength=self.wavelength, power_w=1.0))
        self.p_pi = np.pi / self.dphase_dpower_nominal
        self.column_loss_db = imp.propagation_loss * s.column_length * 1e-4
        cpl = coupler_matrix(self.kappa2, 10 ** (-self.coupler_loss_db / 20))
        th_arm = np.tile([10 ** (-self.heater_loss_db / 20), 1.0], (k, 1)).astype(complex)
        cols = np.full(lay.n_columns, 10 ** (-self.column_loss_db / 20), complex)
        ones = np.ones(lay.n, complex)
        self.hardware = [MeshHardware(lay, cpl[i, :, 0], cpl[i, :, 1], th_arm, th_arm.copy(), ones, ones, cols)
                         for i in range(n_l)]
        # thermal crosstalk per heater row (MZIs of one column, every second mode)
        self._rows = [ks for ks in column_groups(lay)]
        self._xt = [lf.heater_crosstalk(len(ks), 2 * s.mode_pitch, imp.thermal_crosstalk_scale) for ks in self._rows]
        # activation modulators (main, derivative) bias errors; detector gains
        self.bias_error = imp.modulator_bias_sigma * rng.standard_normal((2, max(n_l - 1, 0), lay.n))
        self.gain = {name: 1 + imp.detector_gain_sigma * rng.standard_normal(shape) for name, shape in
                     (("output", (s.n_out,)), ("activation", (max(n_l - 1, 0), lay.n)),
                      ("taps", (n_l, 2, k)))}
        self.gain["output_taps"] = 1 + imp.detector_gain_sigma * np.random.default_rng([seed, 5]).standard_normal(
            (n_l, k, 2))
        self.detector_figures = lf.detector_figures(float(s.detector_ge_length), self.wavelength,
                                                    float(s.detector_collection_efficiency), lf.cache_root())
        self.detector = PhotodetectorElectricalSpec(wavelength=min(max(self.wavelength, 0.81), 1.99),
                                                    responsivity=self.detector_figures.responsivity_a_per_w)
        self.full_scale = float(lay.n)  # ADC full scale of a power reading: all N inputs at 1
        self.powers = np.zeros((n_l, 2, k))
        self.offset, self.efficiency, drift = mc.phase_errors(self, seed)
        self._drift = PhaseDrift(imp, drift.shape, np.random.default_rng([seed, 6]), initial=drift)
        self.calibration: mc.MeshCalibration | None = None
        self.calibration_measurements = 0
        self.layer_gain = np.ones(n_l)  # detector electronics gain per layer (1: nominal lossless)
        if s.lab_calibration:
            self.calibration = mc.calibrate(self, s.calibration_samples)
            self.calibration_measurements = self.calibration.readings
            self.layer_gain = self.calibration.layer_gain

    # -- programming ----------------------------------------------------------------------
    def heater_powers(self, params: np.ndarray) -> np.ndarray:
        """(layer, theta|phi, K) heater powers [W]: nominal dφ/dP and zero offset, or through
        the lab calibration (mesh_calibration.program_powers); DAC over 0…2.5 P_π (headroom for P_π spread)."""
        phases = np.stack([np.stack(tp) for tp in self.architecture.split(self.architecture.clip_params(params))])
        cal = self.calibration
        if cal is None:
            p = phases / self.dphase_dpower_nominal
        else:
            p = mc.program_powers(cal, self.architecture.layout, phases, self.dphase_dpower_nominal)
        full, bits = 2 * mc.HEADROOM * self.p_pi, self.impairments.dac_bits
        p = np.clip(p, 0, full)
        if bits:
            step = full / (2 ** bits - 1)
            p = np.round(p / step) * step
        return p

    def realised_phases(self, powers: np.ndarray, noise: bool, averaged: int = 1) -> np.ndarray:
        """Phases [rad] (…, layer, θ|φ, K) for heater powers: efficiency, crosstalk, offsets,
        drift (advanced to the readings taken so far), and with ``noise`` one phase-noise draw
        (σ/√averaged: a reading averaged over that many samples)."""
        imp = self.impairments
        ph = powers * self.efficiency * self.dphase_dpower
        out = np.empty_like(ph)
        for ks, xt in zip(self._rows, self._xt):
            out[..., ks] = np.einsum("ij,...j->...i", xt, ph[..., ks])
        self._drift.update(self.measurements)
        out = out + self.offset + self.drift
        if noise and imp.phase_noise:
            out = out + imp.phase_noise / np.sqrt(averaged) * self._rng.standard_normal(out.shape)
        return out

    @property
    def drift(self) -> np.ndarray:
        """Accumulated phase drift [rad] (layer, θ|φ, K) (:class:`pipeline.chip.drift.PhaseDrift`)."""
        return self._drift.phase

    def program(self, params: np.ndarray) -> None:
        self.powers = self.heater_powers(params)

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
        from devices import photodetector_electrical as pde

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
        from devices import photodetector_electrical as pde

        imp = self.impairments
        if imp.detector_noise:
            sig = np.sqrt(pde.noise_variance(imp.optical_power, bandwidth=imp.measurement_bandwidth,
                                             spec=self.detector)) / (2 * self.detector.responsivity * imp.optical_power)
            field = field + sig * (self._rng.standard_normal(field.shape) + 1j * self._rng.standard_normal(field.shape))
        fs = np.sqrt(self.full_scale)
        return self._adc(field.real, fs, 1) + 1j * self._adc(field.imag, fs, 1)

    # -- physics ------------------------------------------------------------------------
    def _matrices(self, phases: np.ndarray) -> list[np.ndarray]:
        return [hw.matrix(phases[i, 0], phases[i, 1]) for i, hw in enumerate(self.hardware)]

    def _run(self, phases: np.ndarray, x: np.ndarray, noisy: bool):
        arch, s = self.architecture, self.architecture.spec
        a, fields = arch.encode(x), []
        mats = self._matrices(phases)
        for i, u in enumerate(mats):
            z = u @ a
            fields.append((a, z))
            if i < len(mats) - 1:
                p = np.abs(z) ** 2
                if noisy:
                    p = self.read_direct(p, self.gain["activation"][i][:, None])
                p = p * self.layer_gain[i]
                a = _activation(p, s.activation_gain, s.activation_bias + self.bias_error[0, i][:, None]
                                ).astype(complex)
                fields[-1] = fields[-1] + (p,)
        y = np.abs(fields[-1][1][:arch.n_out]).T ** 2
        return y, fields, mats

    def infer(self, x: np.ndarray) -> np.ndarray:
        y, _, _ = self._run(self.realised_phases(self.powers, True), x, True)
        self.measurements += y.size
        return self.read_direct(y, self.gain["output"][None, :]) * self.layer_gain[-1]

    def true_loss(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
        y, _, _ = self._run(self.realised_phases(self.heater_powers(params), False), x, False)
        y = y * self.layer_gain[-1]
        return float(0.5 * np.mean(np.sum((y - _targets(t, y.shape)) ** 2, 1)))

    def insitu_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        arch, s = self.architecture, self.architecture.spec
        phases = self.realised_phases(self.powers, True)  # the forward pass (all layers, their taps)
        y_true, fields, mats = self._run(phases, x, True)
        y = self.read_direct(y_true, self.gain["output"][None, :]) * self.layer_gain[-1]
        t = _targets(t, y.shape)
        b = y.shape[0]
        self.measurements += y.size
        derivs = [self._derivative(i, fields[i][2]) for i in range(s.n_layers - 1)]  # read in the forward pass
        dl_dp = np.zeros((s.n_modes, b))
        dl_dp[:arch.n_out] = (y - t).T / b
        grads = [None] * s.n_layers
        for i in range(s.n_layers - 1, -1, -1):
            a, z = fields[i][:2]
            z_read = self._coherent(z)
            self.measurements += 2 * z.size
            g = 2 * dl_dp * self.layer_gain[i] * z_read
            gain = self.gain["taps"][i]

            def read(p: np.ndarray, count: int, gain: np.ndarray = gain) -> np.ndarray:
                return self.read_direct(p, gain[None], s.tap_fraction, count, full_scale=4 * self.full_scale)

            passes = [self.realised_phases(self.powers, True)[i] for _ in range(3)]  # adjoint, TR, sum
            m = hughes_gradients(self.hardware[i], phases[i, 0], phases[i, 1], a, g, read=read,
                                 read_adjoint=self._coherent, pass_phases=[(q[0], q[1]) for q in passes])
            self.measurements += m.readings_taken + 2 * a.size
            grads[i] = np.concatenate([m.theta, m.phi])
            if i:
                dl_dp = 2 * m.adjoint_inputs.real * derivs[i - 1]
        loss = float(0.5 * np.mean(np.sum((y - t) ** 2, 1)))
        return loss, np.concatenate(grads)

    def _derivative(self, gap: int, p_read: np.ndarray) -> np.ndarray:
        """da'/dp of layer gap ``gap`` as read on chip: the derivative modulator (same drive,
        bias β + π/2 + its own error) transmits cos(γ p + β + ε'); its field is read by a
        coherent receiver (noise, ADC) and scaled by the nominal γ."""
        s = self.architecture.spec
        field = np.sin(s.activation_gain * p_read + s.activation_bias + np.pi / 2
                       + self.bias_error[1, gap][:, None]).astype(complex)
        self.measurements += 2 * field.size
        return s.activation_gain * self._coherent(field).real

    def to_dataset(self) -> xr.Dataset:
        s = self.architecture.spec
        lay = self.architecture.layout
        dims = ("layer", "mzi", "coupler")
        ds = xr.Dataset(
            {"dw": (dims, self.dw, {"units": "um", "description": "Si width offset"}),
             "dt": (dims, self.dt, {"units": "um", "description": "Si thickness offset"}),
             "kappa2": (dims, self.kappa2, {"units": "1", "description": "coupler power splitting"}),
             "coupler_loss": (dims, self.coupler_loss_db, {"units": "dB"}),
             "heater_power": (("layer", "shifter", "mzi"), self.powers, {"units": "W"}),
             "activation_bias_error": (("derivative", "layer_gap", "mode"), self.bias_error, {"units": "rad"}),
             "tap_gain": (("layer", "shifter", "mzi"), self.gain["taps"], {"units": "1"}),
             "phase_offset": (("layer", "shifter", "mzi"), self.offset, {"units": "rad"}),
             "heater_efficiency": (("layer", "shifter", "mzi"), self.efficiency, {"units": "1"}),
             "output_gain": (("output",), self.gain["output"], {"units": "1"})},
            coords={"layer": np.arange(s.n_layers), "mzi": np.arange(lay.n_mzi), "coupler": [1, 2],
                    "shifter": ["theta", "phi"], "mzi_mode": ("mzi", lay.modes), "mzi_column": ("mzi", lay.column),
                    "derivative": [False, True]})
        ds.attrs.update(architecture="mesh", seed=self.seed, wavelength_um=self.wavelength,
                        heater_loss_db=self.heater_loss_db, column_loss_db=self.column_loss_db,
                        p_pi_w=self.p_pi, responsivity_a_per_w=self.detector.responsivity,
                        calibration_measurements=self.calibration_measurements, spec=s.canonical_json(), impairments=self.impairments.canonical_json())
        return ds


class MeshArchitecture(MeshNetwork):
    """``mesh`` sized for a task: ``n_in`` features, ``n_out`` outputs, ``n_modes`` defaults
    to max(4, n_in + 1, n_out); other options are :class:`MeshNetworkSpec` fields."""

    def __init__(self, n_in: int = 2, n_out: int = 2, **options: object) -> None:
        n_modes = options.pop("n_modes", max(4, n_in + 1, n_out))
        self.spec = MeshNetworkSpec(n_in=n_in, n_out=n_out, n_modes=n_modes, **options)
        self.name = "mesh"
        self.default_learning_rate = DEFAULT_LEARNING_RATE
        self.__post_init__()

"""The ``attenuator`` architecture (Ashtiani, Idjadi & Kim, Nature 651, 927 (2026)) and its die.

Network.  ``n_in`` inputs + a bias channel → ``n_hidden`` opto-electronic neurons →
``n_out`` neurons (+ a bias channel into the output layer, ``output_bias``).  Parameters:
the signed weights, flat: W1 (n_hidden, n_in + 1) row-major, then W2 (n_out, n_hidden + 1)
(last column = bias).  Ideal model (normalised units, :mod:`pipeline.chip.neuron`):

    z1 = W1 [x; 1],  h = σ(z1),  z2 = W2 [h; 1],  y = σ(z2),  σ(z) = sin²(π/2 clip(z/fs, 0, 1)),
    L = mean_b Σ_o (y − t)²/2,  exact analytic gradients (numpy).

Hardware.  Input channel i carries P0·x_i (P0 = ``optical_power``, bias x = 1) set by an
attenuator, fanned out by a 1×N splitter tree (2×2 MMIs of the device library).  Each
weight is an MZI (coupler – heater – coupler, :mod:`devices.coupler_model`,
:mod:`devices.phase_shifter`) whose bar/cross outputs sit on a balanced photodiode pair,
w = T_bar − T_cross; a neuron's pairs share one node, so currents sum.  The node drives
the neuron's modulators on a fresh supply light P_s = P0.  A 5 % tap on each hidden
neuron's output (``monitor_tap``) feeds a monitor photodiode; the output layer's bias
channel passes an identical tap so its weight is in the same units.  Every reading is
divided by its nominal lossless full scale (R·P/N) and multiplied by its node's calibrated
gain (below; 1 with ``gain_calibration=False``), so the die with ``impairments('ideal')``
reproduces the ideal model exactly.

Programming.  ``program(p)``: θ = arccos(−p) ∈ [0, π] (nominal: 3-dB couplers), target
heater power P = Ψ/π · P_π with Ψ = θ (nominal) or Ψ = (θ − φ̂₀) mod 2π with the phase
calibration (below), applied as Ĉ⁻¹ P with the crosstalk calibration, as P/ε̂ with only the
phase calibration, P itself without; quantised by the DAC over 0..2 P_π.  The die's phases
are φ₀ + drift + dφ/dP(λ) · C (ε P): φ₀ the static arm offset of each MZI
(:mod:`pipeline.chip.arm_offsets`), ε each heater's efficiency (``heater_efficiency_sigma``),
C the heater-row crosstalk matrix at the layout pitch (off-diagonals ×
``thermal_crosstalk_scale``), drift a random walk from the calibration on
(:mod:`pipeline.chip.drift`), plus ``phase_noise`` per reading.  Every reading is quantised
by the ADC (``adc_bits``) over its node's largest nominal signal.

Phase calibration (``AttenuatorSpec.phase_calibration``, :meth:`AttenuatorDie.calibrate_phases`,
first at ``sample_die``; :mod:`pipeline.chip.phase_calibration`).  Each MZI's heater alone is
swept over 0 … 2 P_π (16 DAC steps, N readings each) on the read-out the slope steps use, and
w = A − B cos(φ₀ + εκP) fitted: φ̂₀, ε̂ (exact noise-free but for the output-bias MZIs, whose
read-out carries the dark neurons' leakage; noise as predicted by the fit's Cramér-Rao bound,
tests/test_phase_errors.py).  With it, the gain calibration's per-MZI fringe amplitudes
(relative to their node's mean: path loss, coupler and detector spread between the paths of
one node, e.g. the output bias column's ~0.8 dB less loss than the hidden columns, which have
a modulator) also set a per-MZI weight scale g: θ = arccos(−p/g), so that the realised weight
in node units is p.  ``lab_calibrated()`` switches it on with the crosstalk and gain
calibrations: what a lab does before deploying weights (``offline-calibrated``).  Without it
a realistic die's weights are ~0.5 rms off (σ(φ₀) ≈ 0.6 rad) and part of each MZI's range is
unreachable (Ψ ∈ [0, π] covers θ_tot ∈ [φ₀, φ₀ + π]).

On-chip backpropagation (``insitu_gradient``), what is read:

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

A reading is one ADC sample of one detector node (a balanced pair or summed node counts
once); ``measurements`` counts them.

Gain calibration (``AttenuatorSpec.gain_calibration``, :meth:`AttenuatorDie.calibrate`, at
``sample_die``).  Without it ~2 dB of path loss shrinks every effective weight, the
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

Measured (``TrainConfig(epochs=60, learning_rate=0.03, batch_size=10)``, realistic dies
0–5, test accuracy, mean ± std; gain / crosstalk calibration on or off; ``offline``: the
ideal model's weights programmed on the die; command in benchmarks/bench_gradient_noise.py):

    insitu         gain + xtalk   gain only      xtalk only     neither
    moons          0.930 ± 0.048  0.948 ± 0.027  0.863 ± 0.011  0.875 ± 0.010
    circles        0.998 ± 0.004  0.998 ± 0.004  0.907 ± 0.129  0.917 ± 0.131
    ideal model    offline, gain + xtalk   offline, gain only
    0.912 ± 0.056  0.832 ± 0.088           0.575 ± 0.107     (moons)
    1.000 ± 0.000  0.953 ± 0.066           0.688 ± 0.164     (circles)

In-situ training absorbs the crosstalk's gradient bias: the crosstalk calibration, which
makes the gradient nearly exact (below), does not raise the in-situ accuracies (moons
0.02 lower, within the spread); it is what lets the ideal model's weights transfer
(offline).  The calibrated die trains as a die without thermal crosstalk (moons, dies
0–11, in-situ alone: 0.925 ± 0.044, with ``thermal_crosstalk_scale=0`` 0.924 ± 0.044,
final training losses equal within 3e-4; uncompensated 0.943 ± 0.028).  What the
uncompensated die gains is its start: the neighbours' heat raises the realised initial
weights by ~0.1–0.3 (the calibrated die started from those weights: 0.950 ± 0.029).  Not
the heater-cannot-cool limit (below): projecting the parameters onto the realisable set
changes moons by +0.002 (0.923 without).  Xor, dies 0–11, without crosstalk calibration:
gain-calibrated 0.95, uncalibrated 0.97 — dies 2 and 6 stick at ~0.7, die 6 also
uncalibrated: a training trap with modulator bias errors + thermal crosstalk.

Crosstalk calibration (``AttenuatorSpec.crosstalk_calibration``, off by default — see below;
:meth:`AttenuatorDie.calibrate_crosstalk`, at ``sample_die`` before the gain calibration;
:mod:`pipeline.chip.crosstalk_calibration`, after Milanizadeh et al., J. Lightwave Technol.
37, 1325 (2019)).  Uncompensated, thermal crosstalk biases the in-situ gradient: the slope
step of heater k misses dL/dθ_m·C_mk of its neighbours (bench, die 1, 100 µW: cos 0.75
gain-calibrated / 0.87 not, 0.9996 with crosstalk off), a bias no optical power removes.
The die measures each heater row's response Ĉ from its own readings (MZI m's three-point
phase read-out with and without heater k driven; N readings per setting, 3 (n + 1)
settings per MZI of an n-heater row: 147 840 for the default die; exact noise-free, error
∝ 1/√N: max |Ĉ − C| 1.6e-3 at 100 µW) and applies Ĉ⁻¹ P_target, for programming and for
the slope steps.  Bench (die 1): cos 0.997 gain-calibrated / 0.998 not at 100 µW.  The
rest is the heater-cannot-cool limit: where Ĉ⁻¹ P_target < 0 (weights near −1 beside hot
neighbours; 2 of 33 heaters on die 1 with the data-aware init) the heater stays off, its
weight stays above −1 and no longer follows its parameter (true gradient 0, the in-situ
step still reads a slope); over the other weights cos is 0.9996, as without crosstalk.
In-situ and forward-only training project the parameters onto what the die realises
(:meth:`AttenuatorDie.project_params`: such a weight is set to the value its neighbours'
heat gives it, by Ĉ), so it does not drift on below it where its parameter does nothing.
Off by default: the question the main job asks is whether in-situ training absorbs the
chip's impairments without a calibration per effect (the paper's protocol), and the
per-node gain calibration is the minimum a readout needs.  Switched on it models a lab
controller with crosstalk cancellation, and the offline baseline becomes strong (slow
tests, dies 0–9: circles offline 96.1 %, moons 80.5 %, in-situ 94.9 % with one die at 84 %).

Not calibrated away: below ~3 µW per channel N = 64 is too few for either calibration —
the gain-calibrated die's gradient is then noisier than the uncalibrated one, and Ĉ's
noise (max error 0.05 at 3 µW, 0.14 at 1 µW) costs about as much as the crosstalk it
removes (bench: at 1 µW cos 0.17 with / 0.26 without on the gain-calibrated die; a row
whose Ĉ is implausible, ≲ 0.1 µW, stays uncompensated).

Crossings (:mod:`pipeline.chip.fanout`, rule in :class:`AttenuatorLayout`).  The forward
fan-out of each layer is a planar transpose: the path of channel c to neuron d passes
c·(D − 1 − d) + (C − 1 − c)·d crossings (C channels incl. bias, D neurons), each with the
library crossing's insertion loss × ``insertion_loss_scale`` (in ``loss_forward``), and
leaking the library crosstalk × ``crossing_crosstalk_scale`` of every crossing wire's
launched power onto its detector pair (incoherent).  Backward paths and detector taps
cross nothing, so crossings are non-reciprocal here: the in-situ gradient's layer-2 path
factor becomes η_bwd·η_read/η_fwd (η_fwd now includes the crossings; the slope
calibration absorbs any per-path loss of the calibrated direction), and forward leaks have
no backward counterpart — the measured gradient uses the set inputs / monitored
activations where the die's loss sees inputs + leaked light (the bias, of relative size
X·m, is tested against this closed form).

Detector responsivity (:mod:`pipeline.chip.library_figures`): R = η_c · A(λ) · qλ/(hc) from
the library Ge photodetector of ``detector_ge_length`` (FDTD absorbed fraction A) and the
internal collection efficiency ``detector_collection_efficiency`` (0.8, sourced there):
0.96 A/W for 10 µm Ge at 1550 nm.  ``detector_ge_length = None`` keeps
``detector.responsivity`` as given.

Not modelled: input-attenuator errors, ``temperature_offset`` beyond the arms' differential
dn_eff/dT (:mod:`pipeline.chip.arm_offsets`), the MZM's free-carrier loss, thermal crosstalk beyond the simulated 200 µm
(≤ 1.2e-3), crossing reflections (−30 dB, back towards the splitter trees).
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import numpy as np
import xarray as xr

from devices import phase_shifter as ps
from devices import photodetector_electrical as pde
from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import phase_calibration as pc
from pipeline.chip.arm_offsets import arm_phase_offsets
from pipeline.chip.drift import PhaseDrift
from pipeline.chip import fanout
from pipeline.chip import library_figures as lf
from pipeline.chip.library_figures import DESIGN_WAVELENGTH_UM, _normalised_kappa2, mmi_excess_loss_db
from pipeline.chip.library_figures import design_coupling_length
from pipeline.chip.library_figures import heater_crosstalk as _crosstalk
from pipeline.chip import neuron as nr
from pipeline.chip.impairments import ImpairmentSpec, impairments as _impairments, sample_fabrication
from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity


class AttenuatorLayout(Spec):
    """Geometry of the chip (design numbers of this layout, not physics constants).

    Fan-out and crossings (:mod:`pipeline.chip.fanout`): each layer's C channels (inputs +
    bias; hidden neurons + bias) are split by splitter trees stacked in channel order; the
    weight MZIs sit in one column, neuron-major at ``heater_pitch``; the wires are routed
    in the single Si layer, so the path of channel c to neuron d crosses every wire whose
    order is reversed between the trees and the column — c·(D − 1 − d) + (C − 1 − c)·d
    crossings (D neurons of the layer; 2 inputs + bias → 8 neurons: 0…14 per path, 84 in
    all; a layer with one neuron has none).  Backward light reaches each output's MZIs,
    which are adjacent, from its own tree: no crossings; detectors and taps sit at their
    devices' ports.  Crossings lie inside ``input_routing_length`` /
    ``neuron_routing_length``.

    ``fanout_routing = "metal"`` (default) avoids them: the MZIs sit channel-major (each
    channel's tree feeds its D MZIs directly, no optical crossing) and each neuron's
    balanced pairs are joined by metal interconnect — the summation is electrical anyway,
    and metal lines cross waveguides and each other (two metal layers) without optical
    loss.  ``"optical"`` is the single-node column above, with its crossings.

    Every length here is a design choice of this layout, with its reason: ``heater_pitch``
    20 µm (dense heater rows of thermo-optic meshes, 20–50 µm; the simulated crosstalk at
    this pitch is 0.03, :func:`devices.phase_shifter.crosstalk_matrix`), ``mzi_length``
    300 µm (two couplers of the library design, a 2 µm-wide heater of ~100 µm and bends),
    ``arm_separation`` 10 µm (keeps the unheated arm cool), routing lengths of 1.5 mm and
    ``layer_spacing`` 3 mm (a 2 × 8 × 1 network with detectors and drivers between the
    layers on a ~5 mm die), ``detector_routing_length`` 200 µm, ``monitor_tap`` 5 % (a
    monitor that costs 0.2 dB of the neuron's output)."""

    heater_pitch: float = quantity(20.0, "um", "pitch of neighbouring weight MZIs (heater row)", gt=1.0, le=500.0)
    layer_spacing: float = quantity(3000.0, "um", "x distance between the two layers' MZI columns", gt=0)
    input_routing_length: float = quantity(1500.0, "um", "waveguide from input attenuator to a weight MZI", ge=0)
    mzi_length: float = quantity(300.0, "um", "waveguide length through one weight MZI (its arm length)", ge=0)
    arm_separation: float = quantity(10.0, "um", "centre distance of an MZI's two arms (design choice: the "
                                     "heater on one arm leaves the other cool; sets the arm offsets, arm_offsets)",
                                     gt=0, le=500.0)
    detector_routing_length: float = quantity(200.0, "um", "waveguide from an MZI or modulator to its detector",
                                              ge=0)
    neuron_routing_length: float = quantity(1500.0, "um", "waveguide from a hidden modulator to the next layer", ge=0)
    backward_routing_length: float = quantity(1500.0, "um", "waveguide from a backward source to the MZIs", ge=0)
    monitor_tap: float = quantity(0.05, "1", "power fraction tapped from each hidden neuron to its monitor",
                                  gt=0, lt=0.5)
    fanout_routing: Literal["metal", "optical"] = quantity(
        "metal", "1", "metal: channel-major MZIs, neuron currents joined in metal (no crossings); "
        "optical: neuron-major MZI column reached through waveguide crossings")


class AttenuatorSpec(Spec):
    """Sizes and hardware of an ``attenuator`` network."""

    n_in: int = quantity(2, "1", "input features", ge=1, le=64)
    n_hidden: int = quantity(8, "1", "hidden opto-electronic neurons", ge=1, le=64)
    n_out: int = quantity(1, "1", "output neurons (1 for binary tasks, = classes otherwise)", ge=1, le=64)
    neuron: nr.NeuronSpec = quantity(nr.NeuronSpec(), "-", "activation modulator and driver")
    layout: AttenuatorLayout = quantity(AttenuatorLayout(), "-", "chip geometry")
    detector: pde.PhotodetectorElectricalSpec = quantity(pde.PhotodetectorElectricalSpec(), "-",
                                                         "Ge photodiodes' electrical model; its responsivity is "
                                                         "replaced by the library's unless detector_ge_length is None")
    detector_ge_length: float | None = quantity(10.0, "um", "Ge length of the library photodetector giving the "
                                                "responsivity (None: use detector.responsivity)", gt=0, le=200.0)
    detector_collection_efficiency: float = quantity(0.8, "1", "electrons collected per photon absorbed in the Ge "
                                                     "(library_figures doc: source)", gt=0, le=1.0)
    gain_calibration: bool = quantity(True, "1", "calibrate every node's gain and the backward sources on the "
                                      "die before training (module doc); False: nominal lossless normalisation")
    calibration_samples: int = quantity(64, "1", "readings averaged per calibration setting", ge=1, le=100000)
    crosstalk_calibration: bool = quantity(False, "1", "measure each heater row's thermal crosstalk Ĉ (phase per "
                                           "nominally driven phase) on the die and apply heater powers "
                                           "Ĉ⁻¹ P_target [W] (pipeline.chip.crosstalk_calibration); False: "
                                           "nominal powers, crosstalk uncompensated")
    phase_calibration: bool = quantity(False, "1", "measure every MZI's static arm phase offset and heater "
                                       "efficiency (P_pi) from a heater sweep on the die's own detectors and "
                                       "program through them (pipeline.chip.phase_calibration); False: nominal "
                                       "zero offset and nominal P_pi")


def _check_array(name: str, value: object, shape: tuple, lo: float | None = None, hi: float | None = None,
                 fix: str = "") -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, arr.shape)):
        want = "(" + ", ".join("batch" if s is None else str(s) for s in shape) + ")"
        raise SpecError(f"{name} has shape {arr.shape}: need {want}. Fix: {fix or 'reshape it'}.")
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{name} contains NaN or infinity. Fix: pass finite numbers.")
    tol = 1e-9
    if lo is not None and np.any(arr < lo - tol) or hi is not None and np.any(arr > hi + tol):
        bad = arr[(arr < (lo if lo is not None else -np.inf) - tol) | (arr > (hi if hi is not None else np.inf) + tol)]
        raise SpecError(f"{name} = {bad.ravel()[0]:.6g} is outside [{lo}, {hi}]. Fix: {fix or 'rescale it'}.")
    return np.clip(arr, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)


class AttenuatorArchitecture:
    """The ``attenuator`` network: shapes, parameters, ideal digital model, dies."""

    name = "attenuator"

    def __init__(self, spec: AttenuatorSpec | None = None, **fields: object) -> None:
        self.spec = spec if spec is not None else AttenuatorSpec(**fields)
        if spec is not None and fields:
            raise SpecError(f"pass either spec or fields {sorted(fields)}, not both. Fix: spec.model_copy(update=...).")
        s = self.spec
        self.n_in, self.n_hidden, self.n_out = s.n_in, s.n_hidden, s.n_out
        self.shape1 = (s.n_hidden, s.n_in + 1)
        self.shape2 = (s.n_out, s.n_hidden + 1)
        self.n1 = s.n_hidden * (s.n_in + 1)
        self.n_params = self.n1 + s.n_out * (s.n_hidden + 1)
        self.full_scale = s.neuron.full_scale

    def __repr__(self) -> str:
        return f"AttenuatorArchitecture(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out})"

    def lab_calibrated(self) -> "AttenuatorArchitecture":
        """The same network with the lab's full calibration before use: per-MZI phase offset
        and P_π (heater sweeps), thermal-crosstalk matrix and node gains.  Dies of it with the
        same seed are the same fabricated chips, calibrated."""
        return AttenuatorArchitecture(self.spec.model_copy(update={
            "gain_calibration": True, "crosstalk_calibration": True, "phase_calibration": True}))

    # -- validation ------------------------------------------------------------------------
    def check_params(self, params: object) -> np.ndarray:
        return _check_array("params", params, (self.n_params,), -1.0, 1.0,
                            f"a flat vector of {self.n_params} signed weights in [-1, 1] "
                            f"(W1 {self.shape1} then W2 {self.shape2}); use clip_params")

    def check_x(self, x: object) -> np.ndarray:
        return _check_array("x", x, (None, self.n_in), 0.0, 1.0,
                            f"(batch, {self.n_in}) features scaled to the chip's input range [0, 1]")

    def check_t(self, t: object, batch: int) -> np.ndarray:
        return _check_array("t", t, (batch, self.n_out), fix=f"(batch={batch}, n_out={self.n_out}) targets")

    def split(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(W1, W2) views of a flat parameter vector."""
        return params[:self.n1].reshape(self.shape1), params[self.n1:].reshape(self.shape2)

    # -- the Architecture protocol ---------------------------------------------------------------
    def init_params(self, rng: np.random.Generator, scheme: str = "active") -> np.ndarray:
        """Random initial parameters (weight units) that start every neuron in its active range.

        Why it matters: the activation σ(z) = sin²(π/2 · clip(z/fs, 0, 1)) is flat (σ' = 0)
        for z <= 0 and z >= fs, like the micro-disk/MZM neurons it models (Ashtiani &
        Idjadi, arXiv 2307.10179: a ReLU-like response that is zero below threshold and a
        sigmoid-like one that saturates — both flat at the ends).  A hidden neuron whose
        z1 is outside (0, fs) for every training sample gets zero gradient from every
        sample and never recovers (:meth:`dead_neurons`).  The former init (``scheme =
        "hyperplane"``: each neuron a random plane d·(x − q) = 0 through the data, |d| = 1,
        q uniform in [0.2, 0.8]^n_in; output weights ±1/√n_hidden, output biases in
        [0, 0.25]) starts half the data at z1 <= 0, and training pushes the rest over the
        edge: with it 0–5 of 8 hidden neurons end dead (moons: 2.75 on average).

        ``scheme = "active"`` (default): hidden weights w = fs · s · d / ‖d‖₁ with d
        standard normal (a random direction) and slope s uniform in [0.8, 1.0], so z1 spans
        exactly s·fs over the input box [0, 1]^n_in; the bias puts the box centre at
        z1 = c·fs with c uniform in [s/2, 1 − s/2], so z1 ∈ [0, fs] for EVERY input in the
        box (the plane's zero lies outside the data).  Output weights uniform in
        ±1/√n_hidden; each output bias sets z2 = fs/2 (the activation's steepest point) at
        the box centre: b2 = fs/2 − Σ_j w2_j σ(c_j fs).  Without that output centring the
        output neuron itself started flat on some seeds (moons: 2 of 20 seeds at 50 %).

        Measured (``ideal``, default TrainConfig: 200 epochs, targets 0.2 / 0.8; test accuracy
        mean ± std (min) over init seeds 0–19; dead = hidden neurons dead after training,
        mean over the seeds (range)):

        =======  =========================  ============  ======================  ============
        dataset  hyperplane                 dead          active                  dead
        =======  =========================  ============  ======================  ============
        moons    90.5 ± 10.9 % (50.0)       2.75 (0–5)    97.3 ± 3.1 % (90.0)     0.05 (0–1)
        circles  97.5 ± 10.9 % (50.0)       2.20 (0–4)    100.0 ± 0.0 %           0.05 (0–1)
        xor      97.3 ± 10.9 % (50.0)       1.90 (0–4)    100.0 ± 0.0 %           0 (0–0)
        =======  =========================  ============  ======================  ============

        (Seeds 0–9 on moons: hyperplane 92.9 ± 6.5 % (83), active 97.0 ± 3.5 % (90).)  No neuron starts
        dead with either scheme; the hyperplane init loses them during training.  The rest of
        the active init's spread is local minima, not dead neurons: ``ideal-best`` (5
        restarts) reaches 99.1 ± 0.3 % (min 99.0) on moons and 100.0 ± 0.0 % on circles over
        init seeds 0–9.  Command: ``pytest -m slow -s tests/test_ideal_reference.py`` (about
        2.5 min on one core; ``test_init_measurement`` and
        ``test_ideal_best_reaches_97_percent_over_init_seeds`` print these numbers)."""
        nh, ni, fs = self.n_hidden, self.n_in, self.full_scale
        if scheme == "hyperplane":
            d = rng.standard_normal((nh, ni))
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            q = rng.uniform(0.2, 0.8, (nh, ni))
            w1 = np.concatenate([d, np.clip(-(d * q).sum(1), -1, 1)[:, None]], 1)
            w2 = rng.uniform(-1, 1, self.shape2) / np.sqrt(nh)
            w2[:, -1] = rng.uniform(0, 0.25, self.n_out)
            return np.concatenate([w1.ravel(), w2.ravel()])
        if scheme != "active":
            raise SpecError(f"init scheme = {scheme!r}: unknown. Fix: use 'active' (default) or 'hyperplane'.")
        d = rng.standard_normal((nh, ni))
        d /= np.abs(d).sum(1, keepdims=True)
        s = rng.uniform(0.8, 1.0, nh)
        c = rng.uniform(s / 2, 1 - s / 2)
        w = fs * s[:, None] * d
        w1 = np.clip(np.concatenate([w, (fs * c - 0.5 * w.sum(1))[:, None]], 1), -1, 1)
        w2 = rng.uniform(-1, 1, self.shape2) / np.sqrt(nh)
        w2[:, -1] = np.clip(0.5 * fs - w2[:, :-1] @ nr.activation(fs * c, fs), -1, 1)
        return np.concatenate([w1.ravel(), w2.ravel()])

    def clip_params(self, params: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(params, dtype=float), -1.0, 1.0)

    def _ideal(self, params: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        w1, w2 = self.split(self.check_params(params))
        a0 = np.hstack([self.check_x(x), np.ones((len(x), 1))])
        z1 = a0 @ w1.T
        a1 = np.hstack([nr.activation(z1, self.full_scale), np.ones((len(x), 1))])
        z2 = a1 @ w2.T
        return {"a0": a0, "z1": z1, "a1": a1, "z2": z2, "y": nr.activation(z2, self.full_scale), "w2": w2}

    def ideal_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self._ideal(params, x)["y"]

    def ideal_loss_and_grad(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        c = self._ideal(params, x)
        t = self.check_t(t, len(c["y"]))
        e = c["y"] - t
        loss = float(0.5 * np.mean(np.sum(e * e, axis=1)))
        d2 = e * nr.activation_derivative(c["z2"], self.full_scale) / len(e)
        d1 = (d2 @ c["w2"][:, :-1]) * nr.activation_derivative(c["z1"], self.full_scale)
        return loss, np.concatenate([(d1.T @ c["a0"]).ravel(), (d2.T @ c["a1"]).ravel()])

    def dead_neurons(self, params: np.ndarray, x: np.ndarray) -> int:
        """Hidden neurons of the ideal model that are flat for every sample of ``x``: z1 <= 0
        or z1 >= full_scale, so σ'(z1) = 0 everywhere and no gradient can revive them."""
        z1 = self._ideal(params, x)["z1"]
        return int(np.sum(np.all((z1 <= 0) | (z1 >= self.full_scale), axis=0)))

    def sample_die(self, impairments: ImpairmentSpec | str = "realistic", seed: int = 0) -> "AttenuatorDie":
        return AttenuatorDie(self, _impairments(impairments), int(seed))


_STEPS = np.array([0.0, 0.5, 1.0])  # phase-step heater increments [P_π]
_BISECTIONS = 6  # bisection steps of the calibration's mid-drive search
#: Plausible calibrated gains (loss budgets of a few dB, source attenuation); outside it —
#: a calibration reading lost in the detector noise — the node keeps its nominal gain 1.
_GAIN_RANGE = (0.1, 10.0)
#: Plausible per-MZI weight scales (path-to-path spread of one node); outside: nominal 1.
_WEIGHT_SCALE_RANGE = (0.5, 2.0)


def _amplitude(w: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """B of w = A − B cos(θ + φ) from readings at phase steps ``steps`` (axis 0; default 0,
    π/2, π: |((w₂ − w₀)/2, w₁ − (w₀ + w₂)/2)|): the modulus of :func:`crosstalk_calibration.phasor`."""
    z = xc.phasor(w, steps)
    return np.hypot(z.real, z.imag)


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
        cot = np.clip(np.cos(theta) / np.sin(theta), -_COT_MAX, _COT_MAX)
    return u.real + u.imag * cot


def splitter_stages(n: int) -> int:
    """2×2-MMI stages of a 1×n splitter tree."""
    return int(math.ceil(math.log2(n))) if n > 1 else 0


class AttenuatorDie:
    """One fabricated ``attenuator`` chip (module doc: what is modelled and read)."""

    def __init__(self, architecture: AttenuatorArchitecture, impairments: ImpairmentSpec, seed: int) -> None:
        self.architecture, self.impairments, self.seed, self.measurements = architecture, impairments, seed, 0
        a, imp = architecture, impairments
        s, lay = a.spec, a.spec.layout
        ni, nh, no, n1, nw = a.n_in, a.n_hidden, a.n_out, a.n1, a.n_params
        nn = nh + no
        self.det = s.detector
        self.fs = a.full_scale
        self.wavelength = DESIGN_WAVELENGTH_UM + 1e-3 * imp.wavelength_offset
        self.detector_figures: lf.DetectorFigures | None = None
        if s.detector_ge_length is not None:  # responsivity from the library's Ge photodetector
            self.detector_figures = lf.detector_figures(float(s.detector_ge_length), self.wavelength,
                                                        float(s.detector_collection_efficiency), lf.cache_root())
            self.det = pde.PhotodetectorElectricalSpec(**{
                **s.detector.model_dump(), "responsivity": self.detector_figures.responsivity_a_per_w,
                "wavelength": self.wavelength})
        fab = np.random.default_rng([seed, 0])
        self._rng = np.random.default_rng([seed, 1])
        # layout: weight MZIs in two columns at the heater pitch; each neuron's three modulators
        # beside its column (shared coupler offsets: matched adjacent devices)
        lay_x = np.where(np.arange(nw) < n1, 0.0, lay.layer_spacing)
        lay_y = np.concatenate([np.arange(n1), np.arange(nw - n1)]) * lay.heater_pitch
        self.mzi_xy = np.c_[lay_x, lay_y]
        nx = np.where(np.arange(nn) < nh, 0.5, 1.5) * lay.layer_spacing
        ny = np.concatenate([np.arange(nh) * (ni + 1), np.arange(no) * (nh + 1)]) * lay.heater_pitch
        self.neuron_xy = np.c_[nx, ny]
        ml = s.neuron.modulator_length
        pos = np.concatenate([self.mzi_xy, self.mzi_xy + [lay.mzi_length, 0], self.neuron_xy,
                              self.neuron_xy + [ml, 0]])
        dw, dt = sample_fabrication(imp, pos, fab)
        self.coupling_length = design_coupling_length()
        k2, loss_db = _normalised_kappa2(self.wavelength, dw, dt, self.coupling_length)
        shape = lambda v: (np.stack([v[:nw], v[nw:2 * nw]], 1), np.stack([v[2 * nw:2 * nw + nn], v[2 * nw + nn:]], 1))  # noqa: E731
        (self.dw, self.mod_dw), (self.dt, self.mod_dt) = shape(dw), shape(dt)
        (self.kappa2, self.mod_kappa2), (self.coupler_loss_db, mod_loss_db) = shape(k2), shape(loss_db)
        self.mzi_a, self.mzi_b = nr.mzi_coefficients(self.kappa2[:, 0], self.kappa2[:, 1])
        self.mod_a, self.mod_b = nr.mzi_coefficients(self.mod_kappa2[:, 0], self.mod_kappa2[:, 1])
        self.mod_bias = imp.modulator_bias_sigma * fab.standard_normal((nn, 3))
        # heaters: nominal calibration at the design wavelength, die physics at the laser's
        self.p_pi = float(np.pi / ps.phase(wavelength=DESIGN_WAVELENGTH_UM, power_w=1.0))
        self.dphase_dpower = float(ps.phase(wavelength=self.wavelength, power_w=1.0))
        self.crosstalk = np.zeros((nw, nw))
        self.crosstalk[:n1, :n1] = _crosstalk(n1, lay.heater_pitch, imp.thermal_crosstalk_scale)
        self.crosstalk[n1:, n1:] = _crosstalk(nw - n1, lay.heater_pitch, imp.thermal_crosstalk_scale)
        # static phase errors on their own streams (the draws above stay as they were): arm
        # offsets from the fabrication field (pipeline.chip.arm_offsets), heater efficiency
        # spread (dissipated power per nominal drive), slow drift (pipeline.chip.drift)
        err = np.random.default_rng([seed, 5])
        self.arm_offset = arm_phase_offsets(imp, self.dw.mean(1), self.dt.mean(1), length_um=lay.mzi_length,
                                            separation_um=lay.arm_separation, wavelength_um=self.wavelength, rng=err)
        self.heater_efficiency = 1 + imp.heater_efficiency_sigma * err.standard_normal(nw)
        self.drift = PhaseDrift(imp, nw, np.random.default_rng([seed, 6]))
        # the lab's phase calibration (None: nominal, zero offset and nominal P_pi) and per-MZI
        # weight scale (1: nominal; measured by calibrate() when phase_calibration is on)
        self.offset_measured: np.ndarray | None = None
        self.efficiency_measured: np.ndarray | None = None
        self.weight_scale = np.ones(nw)
        # loss budget [dB]
        il, prop = imp.insertion_loss_scale, imp.propagation_loss * 1e-4
        mmi = mmi_excess_loss_db() * il if il > 0 else 0.0
        heater_il = ps.default_model().insertion_loss_db * il
        mzi_db = prop * lay.mzi_length + il * self.coupler_loss_db.sum(1) + heater_il
        self.modulator_loss_db = prop * ml + il * mod_loss_db.sum(1)
        det = prop * lay.detector_routing_length
        src1 = prop * lay.input_routing_length + splitter_stages(nh) * mmi
        fwd = np.empty(nw)
        fwd[:n1] = src1 + mzi_db[:n1] + det
        f2 = (mzi_db[n1:] + det).reshape(no, nh + 1)
        f2[:, :nh] += (self.modulator_loss_db[:nh] + prop * lay.neuron_routing_length
                       + splitter_stages(no) * mmi)[None, :]
        f2[:, nh] += prop * lay.input_routing_length + splitter_stages(no) * mmi
        fwd[n1:] = f2.ravel()
        # fan-out crossings (pipeline.chip.fanout): loss on each forward path, incoherent leaks
        xing = self.crossing_figures = lf.crossing_figures(self.wavelength, lf.cache_root())
        optical = lay.fanout_routing == "optical"
        self.crossings = np.concatenate([fanout.crossings(ni + 1, nh).ravel(),
                                         fanout.crossings(nh + 1, no).ravel()]) * optical
        self.crossing_loss_db = self.crossings * (il * xing.insertion_loss_db)
        fwd = fwd + self.crossing_loss_db
        self.crossing_leak = imp.crossing_crosstalk_scale * xing.crosstalk
        self._leak1 = self.crossing_leak * optical * fanout.leak_multiplicity(ni + 1, nh).reshape(n1, ni + 1)
        self._leak2 = self.crossing_leak * optical * fanout.leak_multiplicity(nh + 1, no).reshape(nw - n1, nh + 1)
        self.loss_forward_db = fwd
        self.loss_backward_db = (prop * lay.backward_routing_length + splitter_stages(nh) * mmi
                                 + mzi_db[n1:].reshape(no, nh + 1)[:, :nh] + det)
        self.loss_readout_db = self.modulator_loss_db + det
        self._eta_fwd = 10 ** (-fwd / 10)
        self._eta_bwd = 10 ** (-self.loss_backward_db / 10)
        self._eta_read = 10 ** (-self.loss_readout_db / 10)
        # detector responsivity spread
        g = lambda *sh: 1 + imp.detector_gain_sigma * fab.standard_normal(sh)  # noqa: E731
        self.gain_forward, self.gain_backward = g(nw, 2), g(no, nh)
        self.gain_derivative, self.gain_readout = g(nn, 2), g(nn)
        # electronics gains (1: nominal lossless normalisation) until calibrate() sets them
        self.cal_node, self.cal_readout, self.cal_derivative = np.ones(nn), np.ones(nn), np.ones(nn)
        self.cal_backward, self.cal_source = np.ones(nh), np.ones(no)
        self.calibration_measurements = 0
        # measured crosstalk Ĉ, through which heater powers are applied (None: uncompensated)
        self.crosstalk_measured: np.ndarray | None = None
        self._crosstalk_inverse: np.ndarray | None = None
        self.program(np.zeros(nw))
        if s.phase_calibration:
            self.calibrate_phases()
        if s.crosstalk_calibration:
            self.calibrate_crosstalk()
        if s.gain_calibration:
            self.calibrate()
        # first use, calibration_age after the calibration; from now on readings advance the clock
        self.drift.advance_hours(imp.calibration_age)
        self.drift.start_clock(self.measurements)
        self.program(self.params)

    def __repr__(self) -> str:
        return f"AttenuatorDie({self.architecture!r}, seed={self.seed})"

    # -- programming ------------------------------------------------------------------------
    def _quantise(self, power: np.ndarray) -> np.ndarray:
        full = 2 * self.p_pi
        p = np.clip(power, 0.0, full)
        bits = self.impairments.dac_bits
        if bits:
            step = full / (2 ** bits - 1)
            p = np.round(p / step) * step
        return p

    def target_powers(self, params: np.ndarray) -> np.ndarray:
        """Target ("virtual") heater powers [W] for ``params`` in nominal units: θ = arccos(−w)
        (3-dB couplers), less the measured arm offset when phase-calibrated, wrapped into
        [0, 2π): Ψ = (θ − φ̂₀) mod 2π, P = Ψ/π P_π (nominal P_π; no crosstalk)."""
        theta = np.arccos(-np.clip(self.architecture.check_params(params) / self.weight_scale, -1.0, 1.0))
        if self.offset_measured is not None:
            theta = np.mod(theta - self.offset_measured, 2 * np.pi)
        return theta / np.pi * self.p_pi

    def _offset_or_zero(self) -> np.ndarray | float:
        return 0.0 if self.offset_measured is None else self.offset_measured

    def _apply(self, target: np.ndarray) -> np.ndarray:
        """Applied heater powers [W] for target powers (..., n_params): Ĉ⁻¹ P_target if the
        crosstalk is calibrated (:func:`crosstalk_calibration.compensate`; Ĉ's diagonal holds
        each heater's efficiency), else P_target / ε̂ if phase-calibrated; DAC-quantised."""
        if self._crosstalk_inverse is None and self.efficiency_measured is not None:
            target = np.asarray(target, float) / self.efficiency_measured
        return self._quantise(xc.compensate(self._crosstalk_inverse, target, 2 * self.p_pi))

    def heater_powers(self, params: np.ndarray) -> np.ndarray:
        """Applied heater powers [W] for ``params``: target powers, through Ĉ⁻¹ if the
        crosstalk is calibrated, DAC-quantised."""
        return self._apply(self.target_powers(params))

    def program(self, params: np.ndarray) -> None:
        self.drift.update(self.measurements)
        self.params = self.architecture.check_params(params).copy()
        self.target_power = self.target_powers(self.params)
        self.heater_power = self._apply(self.target_power)

    def project_params(self, params: np.ndarray) -> np.ndarray:
        """``params`` moved onto the set the compensated programming can realise, by what the
        controller knows (Ĉ, the DAC range 0 … 2 P_π, nominal P_π;
        :func:`crosstalk_calibration.realisable`): a weight whose heater would need P < 0
        goes to −cos θ_k of the phase its neighbours give it at P = 0 (likewise at the DAC
        top); the others are returned unchanged.  Identity without crosstalk calibration."""
        p = self.architecture.check_params(params)
        if self._crosstalk_inverse is None:
            return p
        target = self.target_powers(p)
        reached = xc.realisable(self._crosstalk_inverse, target, 2 * self.p_pi)
        reached_p = np.clip(-np.cos(np.pi * reached / self.p_pi + self._offset_or_zero()) * self.weight_scale, -1, 1)
        return np.where(reached != target, reached_p, p)

    def phases(self, heater_power: np.ndarray | None = None) -> np.ndarray:
        """The die's MZI phases [rad]: arm offset + drift + dφ/dP · C (ε P) (crosstalk and
        heater efficiency included, no per-read noise)."""
        p = self.heater_power if heater_power is None else np.asarray(heater_power, float)
        return self.arm_offset + self.drift.phase + self.dphase_dpower * ((p * self.heater_efficiency) @ self.crosstalk.T)

    def realised_weights(self, heater_power: np.ndarray | None = None) -> np.ndarray:
        """T_bar − T_cross of every MZI (lossless, noise-free): the weights the die realises."""
        return 2 * nr.bar(self.phases(heater_power), self.mzi_a, self.mzi_b) - 1

    # -- light and detection ------------------------------------------------------------------
    def _phase_reads(self, heater_power: np.ndarray, nb: int, noisy: bool) -> np.ndarray:
        th = np.broadcast_to(self.phases(heater_power), (nb, self.architecture.n_params))
        if noisy and self.impairments.phase_noise > 0:
            th = th + self.impairments.phase_noise * self._rng.standard_normal(th.shape)
        return th

    def _laser(self, nb: int, noisy: bool) -> np.ndarray:
        """Laser power factor per sample (1 + RIN), shape (nb, 1)."""
        rin = self.impairments.laser_rin
        if not noisy or rin is None:
            return np.ones((nb, 1))
        return 1 + np.sqrt(10 ** (rin / 10) * self.impairments.measurement_bandwidth) * self._rng.standard_normal((nb, 1))

    def _launched(self, a: np.ndarray, leak: np.ndarray, n_dest: int) -> np.ndarray:
        """(nb, n_dest, C) power entering each MZI of a layer, in units of its channel's
        per-branch power: the channel's own ``a`` (nb, C) plus the light leaked into the
        path at its crossings, Σ_c' X m[d, c, c'] a_c' (``leak`` (n_dest·C, C))."""
        nb, c = a.shape
        own = np.broadcast_to(a[:, None, :], (nb, n_dest, c))
        if self.crossing_leak == 0:
            return own
        return own + (a @ leak.T).reshape(nb, n_dest, c)

    def _read(self, mean: np.ndarray, photo: np.ndarray, n_det: int, noisy: bool, full_scale: float) -> np.ndarray:
        """One reading [A] per element (noise if ``noisy`` and detector noise is on), quantised
        by the ADC (``adc_bits``) over ±``full_scale`` [A] — the node's largest nominal signal —
        when ``noisy`` (noise-free calls are the simulation's truth, not readings)."""
        rng = self._rng if noisy and self.impairments.detector_noise else None
        out = nr.read_node(mean, photo, n_det, spec=self.det, bandwidth=self.impairments.measurement_bandwidth,
                           rng=rng)
        return nr.quantise(out, full_scale, self.impairments.adc_bits) if noisy else out

    def _forward(self, heater_power: np.ndarray, a0: np.ndarray, noisy: bool,
                 layer1_only: bool = False) -> dict[str, np.ndarray]:
        """Forward pass for channel fractions ``a0`` (nb, n_in + 1); readings normalised
        (``layer1_only``: just the hidden nodes' readings z1)."""
        a = self.architecture
        ni, nh, no, n1 = a.n_in, a.n_hidden, a.n_out, a.n1
        nb, r, p0 = len(a0), self.det.responsivity, self.impairments.optical_power
        tap = a.spec.layout.monitor_tap
        tp = nr.bar(self._phase_reads(heater_power, nb, noisy), self.mzi_a, self.mzi_b)
        tm = 1 - tp
        gf = self.gain_forward
        # layer 1: balanced pairs of neuron j summed on its node
        pw = (p0 * self._laser(nb, noisy)[:, :, None] * self._launched(a0, self._leak1, nh)
              / nh * self._eta_fwd[:n1].reshape(nh, ni + 1))
        ip = r * pw * tp[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 0].reshape(nh, ni + 1)
        im = r * pw * tm[:, :n1].reshape(nb, nh, ni + 1) * gf[:n1, 1].reshape(nh, ni + 1)
        z1 = self._read((ip - im).sum(-1), (ip + im).sum(-1), 2 * (ni + 1), noisy, (ni + 1) * r * p0 / nh) / (r * p0 / nh)
        z1 = z1 * self.cal_node[:nh]
        if layer1_only:
            return {"z1": z1}
        # hidden modulators on fresh supply light: monitor tap, derivative pair, next layer
        sup = p0 * self._laser(nb, noisy)
        f, dp, dm = nr.modulator_transmissions(z1, self.mod_a[:nh], self.mod_b[:nh], self.mod_bias[:nh], self.fs)
        er, gd = self._eta_read[:nh], self.gain_derivative[:nh]
        imon = r * sup * tap * f * er * self.gain_readout[:nh]
        h = self._read(imon, imon, 1, noisy, r * p0 * tap) / (r * p0 * tap) * self.cal_readout[:nh]
        idp, idm = r * sup * dp * er * gd[:, 0], r * sup * dm * er * gd[:, 1]
        dh = nr.onchip_derivative(self._read(idp - idm, idp + idm, 2, noisy, r * p0) / (r * p0), self.fs)
        dh = dh * self.cal_derivative[:nh]
        # layer 2
        a1 = np.concatenate([f, np.ones((nb, 1))], 1) * (sup * (1 - tap))
        pw2 = self._launched(a1, self._leak2, no) / no * self._eta_fwd[n1:].reshape(no, nh + 1)
        ip2 = r * pw2 * tp[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 0].reshape(no, nh + 1)
        im2 = r * pw2 * tm[:, n1:].reshape(nb, no, nh + 1) * gf[n1:, 1].reshape(no, nh + 1)
        fs2 = r * p0 * (1 - tap) / no
        z2 = (self._read((ip2 - im2).sum(-1), (ip2 + im2).sum(-1), 2 * (nh + 1), noisy, (nh + 1) * fs2) / fs2
              * self.cal_node[nh:])
        fo, dpo, dmo = nr.modulator_transmissions(z2, self.mod_a[nh:], self.mod_b[nh:], self.mod_bias[nh:], self.fs)
        eo, go = self._eta_read[nh:], self.gain_derivative[nh:]
        iy = r * sup * fo * eo * self.gain_readout[nh:]
        y = self._read(iy, iy, 1, noisy, r * p0) / (r * p0) * self.cal_readout[nh:]
        idp, idm = r * sup * dpo * eo * go[:, 0], r * sup * dmo * eo * go[:, 1]
        dy = nr.onchip_derivative(self._read(idp - idm, idp + idm, 2, noisy, r * p0) / (r * p0), self.fs)
        dy = dy * self.cal_derivative[nh:]
        return {"z1": z1, "h": h, "dh": dh, "z2": z2, "y": y, "dy": dy}

    def _backward(self, heater_power: np.ndarray, delta: np.ndarray, noisy: bool) -> np.ndarray:
        """Two-pass backward readings of the hidden nodes, normalised: Σ_o δ_o w_oj."""
        a = self.architecture
        nh, no, n1 = a.n_hidden, a.n_out, a.n1
        nb, r, p0 = len(delta), self.det.responsivity, self.impairments.optical_power
        dfs = 0.5 * np.pi / self.fs
        mag = np.clip(self.cal_source * np.abs(delta) / dfs, 0.0, 1.0)
        pos = (delta > 0)[:, :, None]
        pw = (p0 * self._laser(nb, noisy) * mag)[:, :, None] / nh * self._eta_bwd  # (nb, no, nh)
        reads = []
        for first in (True, False):
            tp = nr.bar(self._phase_reads(heater_power, nb, noisy), self.mzi_a, self.mzi_b)[:, n1:]
            tp = tp.reshape(nb, no, nh + 1)[:, :, :nh]
            t = np.where(pos == first, tp, 1 - tp)
            cur = r * (pw * t * self.gain_backward).sum(1)
            reads.append(self._read(cur, cur, no, noisy, r * p0 * no / nh))
        return (reads[0] - reads[1]) / (r * p0 / (dfs * nh)) * self.cal_backward

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
        q = self._quantise(np.asarray(base, float))
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
        """In-situ three-point phase-step measurement of B = dw/dp of every MZI (module doc)."""
        a = self.architecture
        ni, nh, no, n1 = a.n_in, a.n_hidden, a.n_out, a.n1
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

    def calibrate_phases(self) -> None:
        """Measure every MZI's arm offset φ₀ and heater efficiency ε from a heater sweep
        (:mod:`pipeline.chip.phase_calibration`: heater m alone over 0 … 2 P_π in
        ``SWEEP_POINTS`` DAC steps, read as :meth:`_read_mzi` reads it, ``calibration_samples``
        readings per point, own noise stream, counted in ``calibration_measurements``) and
        program through them from now on.  A fit outside the plausible range (its efficiency
        at the scan's edge, or an amplitude below 5× its residual: readings lost in the noise)
        keeps that MZI nominal."""
        a = self.architecture
        n, nw = a.spec.calibration_samples, a.n_params
        self.set_phase_estimate(None, None)
        powers = self._quantise(pc.sweep_powers(self.p_pi))
        w = np.empty((nw, powers.size))
        reads = 0
        rng, self._rng = self._rng, np.random.default_rng([self.seed, 7])
        try:
            for m in range(nw):
                hp = np.zeros((powers.size, nw))
                hp[:, m] = powers
                w[m], per = self._read_mzi(hp, m, n)
                reads += per * n * powers.size
        finally:
            self._rng = rng
        fit = pc.fit_sweep(w, powers, self.p_pi)
        lo, hi = pc.EFFICIENCY_RANGE
        ok = ((fit["efficiency"] > lo + 0.01) & (fit["efficiency"] < hi - 0.01)
              & (fit["amplitude"] > 5 * fit["rms_residual"]))
        self.calibration_measurements += reads
        self.set_phase_estimate(np.where(ok, fit["offset"], 0.0), np.where(ok, fit["efficiency"], 1.0))

    def set_phase_estimate(self, offset: np.ndarray | None, efficiency: np.ndarray | None) -> None:
        """Use measured arm offsets φ̂₀ [rad] and heater efficiencies ε̂ (n_params,) for
        programming (``None``: nominal) and re-program the current weights through them."""
        self.offset_measured = None if offset is None else np.array(offset, float)
        self.efficiency_measured = None if efficiency is None else np.array(efficiency, float)
        self.program(self.params)

    def phase_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`calibrate_phases` estimates: the arm offset (+ drift) wrapped to (−π, π]
        [rad] and the efficiency ε · dφ/dP(λ)/dφ/dP(λ_design) (tests and reference only)."""
        off = np.angle(np.exp(1j * (self.arm_offset + self.drift.phase)))
        return off, self.heater_efficiency * self.dphase_dpower * self.p_pi / np.pi

    def calibrate_crosstalk(self) -> None:
        """Measure each heater row's crosstalk Ĉ on the die (:func:`crosstalk_calibration.measure`,
        ``calibration_samples`` readings per setting, own noise stream, counted in
        ``calibration_measurements``) and pre-compensate with Ĉ⁻¹ from now on."""
        a = self.architecture
        n = a.spec.calibration_samples
        reads = 0

        def read(hp: np.ndarray, m: int) -> np.ndarray:
            nonlocal reads
            w, per = self._read_mzi(hp, m, n)
            reads += per * n * len(hp)
            return w

        self.set_crosstalk_estimate(None)
        rng, self._rng = self._rng, np.random.default_rng([self.seed, 3])
        try:
            c_hat = xc.measure(read, self._step_configs, [np.arange(a.n1), np.arange(a.n1, a.n_params)],
                               a.n_params, self.p_pi, self.efficiency_measured)
        finally:
            self._rng = rng
        self.calibration_measurements += reads
        self.set_crosstalk_estimate(c_hat)

    def set_crosstalk_estimate(self, c_hat: np.ndarray | None) -> None:
        """Use ``c_hat`` (n_params, n_params) as the die's measured crosstalk Ĉ (``None``:
        uncompensated) and re-program the current weights through it."""
        self.crosstalk_measured = None if c_hat is None else np.array(c_hat, float)
        self._crosstalk_inverse = None if c_hat is None else np.linalg.inv(self.crosstalk_measured)
        self.program(self.params)

    def heater_response(self) -> np.ndarray:
        """The die's true heater response in nominal units, (dφ/dP · P_π/π) C: what Ĉ estimates
        (= C at the design wavelength)."""
        return self.dphase_dpower * self.p_pi / np.pi * self.crosstalk * self.heater_efficiency[None, :]

    def calibrate(self) -> None:
        """Per-node gain calibration with known light (module doc, "Gain calibration"): sets
        ``cal_node``, ``cal_readout``, ``cal_derivative`` (hidden then output neurons),
        ``cal_backward`` (hidden) and ``cal_source`` (outputs) from averaged noisy readings,
        counted in ``calibration_measurements``.  Uses its own noise stream, so a die's
        training noise does not depend on whether it was calibrated."""
        a = self.architecture
        ni, nh, no, n1, nw = a.n_in, a.n_hidden, a.n_out, a.n1, a.n_params
        n, fs, dfs = a.spec.calibration_samples, self.fs, 0.5 * np.pi / self.fs
        idx1, idx2 = self._mzi_index()
        base = self.target_powers(np.zeros(nw))
        lit = np.ones((1, ni + 1))

        def fwd(hp: np.ndarray, a0: np.ndarray) -> dict[str, np.ndarray]:  # (config, sample, node)
            out = self._forward(np.repeat(hp, n, 0), np.repeat(a0, n, 0), True)
            return {k: v.reshape(len(hp), n, -1) for k, v in out.items()}

        def setting(w1: float, w2: float) -> np.ndarray:  # every weight of a layer the same (target powers)
            return self.target_powers(np.r_[np.full(n1, w1), np.full(nw - n1, w2)])[None]

        def two_point(z: np.ndarray, reading: np.ndarray) -> np.ndarray:  # nominal swing / read swing
            act, rd = nr.activation(z, fs).mean(1), reading.mean(1)
            return (act[0] - act[1]) / (rd[0] - rd[1])

        def mid_drive(k: int, params: Callable[[np.ndarray], np.ndarray], node: str, pair: str) -> np.ndarray:
            lo, hi = -np.ones(k), np.ones(k)
            for it in range(_BISECTIONS + 1):
                m = 0.5 * (lo + hi)
                out = fwd(self.heater_powers(params(m))[None], lit)
                below = out[node][0].mean(0) < 0.5 * fs
                lo, hi = np.where(below, m, lo), np.where(below, hi, m)
            return nr.activation_derivative(out[node][0], fs).mean(0) / out[pair][0].mean(0)

        for g in (self.cal_node, self.cal_readout, self.cal_derivative, self.cal_backward, self.cal_source):
            g[:] = 1.0
        rng, self._rng = self._rng, np.random.default_rng([self.seed, 2])
        try:
            with np.errstate(divide="ignore", invalid="ignore"):  # lost readings → nominal gain, below
                # 1. hidden nodes: layer-1 phase steps (channel i alone) → mean full scale per node
                z1 = fwd(self._step_configs(base, list(idx1.T)), np.repeat(np.eye(ni + 1), 3, 0))["z1"].mean(1)
                b1 = _amplitude(z1.reshape(ni + 1, 3, nh).transpose(1, 2, 0), self._step_phases(base)[:, idx1])
                self.cal_node[:nh] = 1 / b1.mean(1)
                scale1 = b1 * self.cal_node[:nh, None]  # each MZI's fringe relative to its node's mean
                # 2. hidden monitors: drive at the rails (all layer weights ±1, inputs lit)
                rails = self._apply(np.concatenate([setting(1.0, 1.0), setting(-1.0, -1.0)]))
                r = fwd(rails, np.repeat(lit, 2, 0))
                self.cal_readout[:nh] = two_point(r["z1"], r["h"])
                h_hi = self.cal_readout[:nh] * r["h"][0].mean(0)
                # 3. output nodes: layer-2 column phase steps, hidden neurons at the high rail
                hp = self._step_configs(setting(1.0, 0.0)[0], list(idx2.T))
                z2 = fwd(hp, np.repeat(lit, len(hp), 0))["z2"].mean(1)
                b2 = (_amplitude(z2.reshape(nh + 1, 3, no).transpose(1, 2, 0),
                                 self._step_phases(setting(1.0, 0.0)[0])[:, idx2]) / np.r_[h_hi, 1.0])
                self.cal_node[nh:] = 1 / b2.mean(1)
                b2 = b2 * self.cal_node[nh:, None]
                scale2 = b2.copy()
                # 4. output readouts at the rails
                r = fwd(rails, np.repeat(lit, 2, 0))
                self.cal_readout[nh:] = two_point(r["z2"], r["y"])
                # 5. derivative pairs at mid drive z ≈ full_scale/2 (the derivative's peak), found
                #    per node by bisecting its row's common weight on the node reading (7 settings)
                self.cal_derivative[:nh] = mid_drive(nh, lambda m: np.r_[np.repeat(m, ni + 1), np.zeros(nw - n1)],
                                                     "z1", "dh")
                self.cal_derivative[nh:] = mid_drive(no, lambda m: np.r_[np.ones(n1), np.repeat(m, nh + 1)], "z2", "dy")
                # 6. backward: row phase steps with output o's light → per-path backward slopes;
                #    source × node gains fitted (in log) to forward slope / backward slope
                hp, delta = self._step_configs(base, list(idx2)), np.repeat(np.eye(no), 3, 0) * dfs
                bb = self._backward(np.repeat(hp, n, 0), np.repeat(delta, n, 0), True).reshape(3 * no, n, nh).mean(1)
                b_bwd = _amplitude((bb / dfs).reshape(no, 3, nh).transpose(1, 0, 2), self._step_phases(base)[:, idx2[:, :nh]])
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_m = np.log(b2[:, :nh] / b_bwd)
                if np.all(np.isfinite(log_m)):
                    row, col = log_m.mean(1), log_m.mean(0)
                    self.cal_source[:] = np.exp(row - row.max())
                    self.cal_backward[:] = np.exp(col - log_m.mean() + row.max())
        finally:
            self._rng = rng
        # readings lost in the noise (very low optical power): keep the nominal gain there
        for g in (self.cal_node, self.cal_readout, self.cal_derivative, self.cal_backward, self.cal_source):
            g[~(np.isfinite(g) & (g > _GAIN_RANGE[0]) & (g < _GAIN_RANGE[1]))] = 1.0
        if a.spec.phase_calibration:  # the lab's per-MZI weight scale (module doc, "Phase calibration")
            scale = np.concatenate([scale1.ravel(), scale2.ravel()])
            ok = np.isfinite(scale) & (scale > _WEIGHT_SCALE_RANGE[0]) & (scale < _WEIGHT_SCALE_RANGE[1])
            self.weight_scale = np.where(ok, scale, 1.0)
            self.program(self.params)
        self.calibration_measurements += n * (3 * (ni + 1) * nh + 4 * nh + 3 * (nh + 1) * no + 4 * no
                                              + (_BISECTIONS + 2) * (nh + no) + 6 * no * nh)

    def _forward_bias_only(self, heater_power: np.ndarray, noisy: bool) -> np.ndarray:
        """Output-node readings with all inputs and the hidden bias dark (hidden neurons at
        f(0)): the output bias MZIs' normalised weights (+ extinction leakage)."""
        a = self.architecture
        return self._forward(heater_power, np.zeros((len(heater_power), a.n_in + 1)), noisy)["z2"]

    # -- the Die protocol -----------------------------------------------------------------------
    def _inputs(self, x: np.ndarray) -> np.ndarray:
        x = self.architecture.check_x(x)
        return np.concatenate([x, np.ones((len(x), 1))], 1)

    def infer(self, x: np.ndarray) -> np.ndarray:
        a0 = self._inputs(x)
        self.measurements += len(a0) * self.architecture.n_out
        return self._forward(self.heater_power, a0, True)["y"]

    def insitu_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        a = self.architecture
        a0 = self._inputs(x)
        nb = len(a0)
        t = a.check_t(t, nb)
        fw = self._forward(self.heater_power, a0, True)
        e = fw["y"] - t
        loss = float(0.5 * np.mean(np.sum(e * e, axis=1)))
        d2 = e * fw["dy"]
        d1 = self._backward(self.heater_power, d2, True) * fw["dh"]
        self.measurements += nb * (2 * a.n_out + 2 * a.n_hidden + 2 * a.n_hidden)
        a1 = np.concatenate([fw["h"], np.ones((nb, 1))], 1)
        grad_w = np.concatenate([(d1.T @ a0).ravel(), (d2.T @ a1).ravel()]) / nb
        return loss, grad_w * self._slopes(True)

    def true_loss(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
        a0 = self._inputs(x)
        y = self._forward(self.heater_powers(params), a0, False)["y"]
        e = y - self.architecture.check_t(t, len(a0))
        return float(0.5 * np.mean(np.sum(e * e, axis=1)))

    def true_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Noise-free outputs of this die for ``params`` (tests and reference only)."""
        return self._forward(self.heater_powers(params), self._inputs(x), False)["y"]

    def dead_neurons(self, params: np.ndarray, x: np.ndarray) -> int:
        """Hidden neurons of this die flat for every sample of ``x`` with ``params`` programmed:
        noise-free calibrated node reading z1 <= 0 or >= full_scale (the driver rails, the
        on-chip derivative is 0).  A diagnostic of the simulation's internal state, not a
        lab reading (no detector reads are counted)."""
        z1 = self._forward(self.heater_powers(params), self._inputs(x), False, layer1_only=True)["z1"]
        return int(np.sum(np.all((z1 <= 0) | (z1 >= self.fs), axis=0)))

    def to_dataset(self) -> xr.Dataset:
        """The die: per-MZI fabrication, couplers, heaters, losses, detector gains; per-neuron
        modulators; crosstalk matrix and its measured estimate Ĉ; noise floor (units in attrs)."""
        a, imp = self.architecture, self.impairments
        nh, no, n1, nw = a.n_hidden, a.n_out, a.n1, a.n_params
        layer = np.where(np.arange(nw) < n1, 1, 2)
        neuron = np.concatenate([np.repeat(np.arange(nh), a.n_in + 1), np.repeat(np.arange(no), nh + 1)])
        inp = np.concatenate([np.tile(np.arange(a.n_in + 1), nh), np.tile(np.arange(nh + 1), no)])
        bwd = np.full(nw, np.nan)
        bwd[n1:] = np.concatenate([self.loss_backward_db, np.full((no, 1), np.nan)], 1).ravel()
        gb = np.full(nw, np.nan)
        gb[n1:] = np.concatenate([self.gain_backward, np.full((no, 1), np.nan)], 1).ravel()
        u = lambda v, unit, d=None: (v[0], v[1], {"units": unit, **({"long_name": d} if d else {})})  # noqa: E731
        r, p0, bw = self.det.responsivity, imp.optical_power, imp.measurement_bandwidth
        full_scale_current = r * p0 / nh
        floor = float(np.sqrt(nr.node_noise_variance(0.0, 2 * (a.n_in + 1), spec=self.det, bandwidth=bw)))
        ds = xr.Dataset(
            {"dw": u((("weight", "coupler"), self.dw), "um"), "dt": u((("weight", "coupler"), self.dt), "um"),
             "kappa2": u((("weight", "coupler"), self.kappa2), "1", "coupler power coupling (of transmitted)"),
             "coupler_loss": u((("weight", "coupler"), self.coupler_loss_db), "dB", "library excess loss (unscaled)"),
             "programmed_weight": u((("weight",), self.params), "1"),
             "realised_weight": u((("weight",), self.realised_weights()), "1", "T_bar - T_cross, lossless"),
             "heater_power": u((("weight",), self.heater_power), "W"),
             "phase": u((("weight",), self.phases()), "rad"),
             "arm_offset": u((("weight",), self.arm_offset), "rad", "static phase offset between the MZI's arms"),
             "heater_efficiency": u((("weight",), self.heater_efficiency), "1",
                                    "dissipated power per nominal drive (P_pi,nominal / P_pi)"),
             "phase_drift": u((("weight",), self.drift.phase), "rad", "accumulated drift since the calibration"),
             "arm_offset_measured": u((("weight",), self._nan_or(self.offset_measured)), "rad",
                                      "phase calibration's arm offset (NaN: not calibrated)"),
             "heater_efficiency_measured": u((("weight",), self._nan_or(self.efficiency_measured)), "1",
                                             "phase calibration's heater efficiency (NaN: not calibrated)"),
             "loss_forward": u((("weight",), self.loss_forward_db), "dB", "source to forward detector"),
             "loss_backward": u((("weight",), bwd), "dB", "backward source to backward detector"),
             "crossings": u((("weight",), self.crossings), "1", "waveguide crossings on the forward path"),
             "crossing_loss": u((("weight",), self.crossing_loss_db), "dB", "crossings' share of loss_forward"),
             "crossing_leak": u((("weight",), self._leak_total()), "1",
                                "leaked power entering the path / its own channel's, all channels lit equally"),
             "gain_forward": u((("weight", "side"), self.gain_forward), "1", "relative responsivity"),
             "gain_backward": u((("weight",), gb), "1"),
             "crosstalk": u((("heater_out", "heater_in"), self.crosstalk), "1", "phase per driven phase"),
             "crosstalk_measured": u((("heater_out", "heater_in"), self._crosstalk_or_nan()), "1",
                                     "measured heater response C^ (phase per nominally driven phase; NaN: not "
                                     "calibrated); true value dphase_dpower p_pi / pi * crosstalk"),
             "modulator_kappa2": u((("neuron", "coupler"), self.mod_kappa2), "1"),
             "modulator_extinction": u((("neuron",), 10 * np.log10((self.mod_a + self.mod_b)
                                                                  / np.maximum(self.mod_a - self.mod_b, 1e-300))),
                                       "dB"),
             "modulator_bias_error": u((("neuron", "modulator"), self.mod_bias), "rad"),
             "loss_readout": u((("neuron",), self.loss_readout_db), "dB", "modulator to its detectors"),
             "gain_derivative": u((("neuron", "side"), self.gain_derivative), "1"),
             "gain_readout": u((("neuron",), self.gain_readout), "1", "output detector / hidden monitor"),
             "calibration_gain_node": u((("neuron",), self.cal_node), "1", "weighted-sum node gain (calibrated)"),
             "calibration_gain_readout": u((("neuron",), self.cal_readout), "1", "monitor / output ADC gain"),
             "calibration_gain_derivative": u((("neuron",), self.cal_derivative), "1", "derivative-pair gain"),
             "calibration_gain_backward": u((("neuron",), np.r_[self.cal_backward, self.cal_source]), "1",
                                            "hidden: backward node gain; output: backward source attenuation"),
             "node_noise_floor": u(((), floor), "A", "rms dark + thermal noise of a hidden node"),
             "node_full_scale": u(((), full_scale_current), "A", "hidden node current at z = 1"),
             "relative_noise_floor": u(((), floor / full_scale_current), "1"),
             "nep": u(((), pde.nep(spec=self.det)), "W/Hz^0.5"),
             "responsivity": u(((), self.det.responsivity), "A/W", "detector responsivity at the laser wavelength")},
            coords={"weight": np.arange(nw), "layer": ("weight", layer), "neuron_index": ("weight", neuron),
                    "input_index": ("weight", inp), "x": ("weight", self.mzi_xy[:, 0]),
                    "y": ("weight", self.mzi_xy[:, 1]), "coupler": ["in", "out"], "side": ["+", "-"],
                    "heater_out": np.arange(nw), "heater_in": np.arange(nw),
                    "neuron": np.arange(nh + no), "neuron_layer": ("neuron", np.r_[np.ones(nh, int), np.full(no, 2)]),
                    "modulator": ["f", "d+", "d-"]})
        ds["x"].attrs["units"] = ds["y"].attrs["units"] = "um"
        ds.attrs.update(architecture="attenuator", seed=self.seed, impairments=imp.canonical_json(),
                        spec=a.spec.canonical_json(), wavelength_um=self.wavelength, p_pi_w=self.p_pi,
                        dphase_dpower_rad_per_w=self.dphase_dpower, coupling_length_um=self.coupling_length,
                        measurements=self.measurements, calibration_measurements=self.calibration_measurements,
                        gain_calibration=int(a.spec.gain_calibration), calibration_samples=a.spec.calibration_samples,
                        crosstalk_calibration=int(self.crosstalk_measured is not None),
                        phase_calibration=int(self.offset_measured is not None),
                        crossing_insertion_loss_db=self.crossing_figures.insertion_loss_db,
                        crossing_crosstalk_db=self.crossing_figures.crosstalk_db,
                        crossing_leak_fraction=self.crossing_leak, crossing_entry=self.crossing_figures.key)
        if self.detector_figures is not None:
            d = self.detector_figures
            ds.attrs.update(detector_ge_length_um=d.ge_length_um, detector_absorbed_fraction=d.absorbed_fraction,
                            detector_collection_efficiency=d.collection_efficiency,
                            detector_quantum_limit_a_per_w=d.quantum_limit_a_per_w, detector_entry=d.key)
        return ds

    def _nan_or(self, v: np.ndarray | None) -> np.ndarray:
        return np.full(self.architecture.n_params, np.nan) if v is None else v

    def _crosstalk_or_nan(self) -> np.ndarray:
        return np.full_like(self.crosstalk, np.nan) if self.crosstalk_measured is None else self.crosstalk_measured

    def _leak_total(self) -> np.ndarray:
        """Per forward path: leaked power / own power with every channel at the same power
        (X · crossings on that path)."""
        return np.concatenate([self._leak1.sum(1), self._leak2.sum(1)])

    def summary(self) -> dict[str, float]:
        """Headline numbers of the die (CLI ``chip show``)."""
        ds, a = self.to_dataset(), self.architecture
        out = {"loss_forward_db_mean": float(ds.loss_forward.mean()),
                "loss_forward_db_max": float(ds.loss_forward.max()),
                "kappa2_std": float(ds.kappa2.std()), "kappa2_mean": float(ds.kappa2.mean()),
                "crosstalk_nearest": float(self.crosstalk[1, 0]) if self.architecture.n_params > 1 else 0.0,
                "weight_error_rms": float(np.sqrt(np.mean((ds.realised_weight - ds.programmed_weight) ** 2))),
                "modulator_extinction_db_min": float(ds.modulator_extinction.min()),
                "relative_noise_floor": float(ds.relative_noise_floor), "p_pi_mw": self.p_pi * 1e3,
                "crossings_max": float(ds.crossings.max()), "crossings_total": float(fanout.total_crossings(a.n_in + 1, a.n_hidden)
                                                                   + fanout.total_crossings(a.n_hidden + 1, a.n_out))
                * (a.spec.layout.fanout_routing == "optical"),
                "crossing_loss_db_max": float(ds.crossing_loss.max()),
                "crossing_loss_db_mean": float(ds.crossing_loss.mean()),
                "crossing_leak_max": float(ds.crossing_leak.max()),
                "responsivity_a_per_w": float(self.det.responsivity),
                "calibration_gain_node_mean": float(ds.calibration_gain_node.mean()),
                "calibration_measurements": float(self.calibration_measurements)}
        out["arm_offset_rms"] = float(np.sqrt(np.mean(self.arm_offset ** 2)))
        out["heater_efficiency_std"] = float(np.std(self.heater_efficiency))
        if self.offset_measured is not None:  # only when calibrated (JSON has no NaN)
            off, eff = self.phase_truth()
            out["phase_calibration_offset_error_max"] = float(np.max(np.abs(np.angle(np.exp(
                1j * (self.offset_measured - off))))))
            out["phase_calibration_efficiency_error_max"] = float(np.max(np.abs(self.efficiency_measured - eff)))
        if self.crosstalk_measured is not None:  # only when calibrated (JSON has no NaN)
            out["crosstalk_calibration_error_max"] = float(np.max(np.abs(self.crosstalk_measured
                                                                         - self.heater_response())))
        return out

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

Gain calibration (``AttenuatorSpec.gain_calibration``, :meth:`AttenuatorDie.calibrate`,
:mod:`pipeline.chip.gain_calibration`: the procedure, its readings and its closed forms): each
node's transimpedance / driver gain, each readout's ADC full scale and the backward sources
are set once from averaged readings with known light; with the phase calibration also the
per-MZI weight scale.  Without it ~2 dB of path loss shrinks every effective weight by ~0.63.

What each calibration does to training, over many dies with paired intervals:
benchmarks/bench_training.py (benchmarks/results/training.txt).

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

import numpy as np
import xarray as xr

from devices import phase_shifter as ps
from devices import photodetector_electrical as pde
from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import phase_calibration as pc
from pipeline.chip.arm_offsets import arm_phase_offsets
from pipeline.chip.drift import PhaseDrift
from pipeline.chip import attenuator_report as report
from pipeline.chip.attenuator_spec import AttenuatorLayout, AttenuatorSpec
from pipeline.chip.attenuator_spec import check_array as _check_array
from pipeline.chip import fanout
from pipeline.chip import gain_calibration as gc
from pipeline.chip import library_figures as lf
from pipeline.chip.library_figures import DESIGN_WAVELENGTH_UM, _normalised_kappa2, mmi_excess_loss_db
from pipeline.chip.library_figures import design_coupling_length
from pipeline.chip.library_figures import heater_crosstalk as _crosstalk
from pipeline.chip import neuron as nr
from pipeline.chip.impairments import ImpairmentSpec, impairments as _impairments, sample_fabrication
from pipeline.errors import SpecError

__all__ = ["AttenuatorArchitecture", "AttenuatorDie", "AttenuatorLayout", "AttenuatorSpec", "splitter_stages"]


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
        """Per-node gain calibration with known light (:func:`gain_calibration.calibrate_gains`):
        sets ``cal_node``, ``cal_readout``, ``cal_derivative``, ``cal_backward``, ``cal_source``
        (and ``weight_scale`` with the phase calibration), counted in ``calibration_measurements``."""
        gc.calibrate_gains(self)

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
        """The die: per-MZI fabrication, couplers, heaters, phase errors, losses, detector gains;
        per-neuron modulators; crosstalk matrix and the calibrations' estimates (units in attrs;
        :func:`attenuator_report.die_dataset`)."""
        return report.die_dataset(self)

    def summary(self) -> dict[str, float]:
        """Headline numbers of the die (CLI ``chip show``; :func:`attenuator_report.die_summary`)."""
        return report.die_summary(self)

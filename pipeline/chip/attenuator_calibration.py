"""The lab's calibrations of an ``attenuator`` die, run on its own readings
(:mod:`pipeline.chip.attenuator_readout`) and installed in its controller's tables
(:mod:`pipeline.chip.attenuator_chip`): per-MZI phase offsets and heater efficiencies,
each heater row's thermal crosstalk, each node's gain.  The die runs those its spec asks
for when it is sampled (:meth:`AttenuatorCalibration._calibrate_at_sampling`: phase, then
crosstalk, then gain); ``AttenuatorArchitecture.lab_calibrated()`` switches all three on
(:func:`lab_calibrated_spec`).

Phase calibration (``AttenuatorSpec.phase_calibration``, :meth:`AttenuatorCalibration.calibrate_phases`,
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

Gain calibration (``AttenuatorSpec.gain_calibration``, :meth:`AttenuatorCalibration.calibrate`,
:mod:`pipeline.chip.gain_calibration`: the procedure, its readings and its closed forms): each
node's transimpedance / driver gain, each readout's ADC full scale and the backward sources
are set once from averaged readings with known light; with the phase calibration also the
per-MZI weight scale.  Without it ~2 dB of path loss shrinks every effective weight by ~0.63.

What each calibration does to training, over many dies with paired intervals:
benchmarks/bench_training.py (benchmarks/results/training.txt).

Crosstalk calibration (``AttenuatorSpec.crosstalk_calibration``, off by default — see below;
:meth:`AttenuatorCalibration.calibrate_crosstalk`, at ``sample_die`` before the gain calibration;
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
"""

from __future__ import annotations

import numpy as np

from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip import gain_calibration as gc
from pipeline.chip import phase_calibration as pc
from pipeline.chip.attenuator_readout import AttenuatorReadout
from pipeline.chip.attenuator_spec import AttenuatorSpec


def lab_calibrated_spec(spec: AttenuatorSpec) -> AttenuatorSpec:
    """``spec`` with the lab's full calibration before use: per-MZI phase offset and P_π
    (heater sweeps), thermal-crosstalk matrix and node gains."""
    return spec.model_copy(update={"gain_calibration": True, "crosstalk_calibration": True,
                                   "phase_calibration": True})


class AttenuatorCalibration(AttenuatorReadout):
    """An :class:`AttenuatorReadout` with the lab's calibration procedures (module doc)."""

    def _calibrate_at_sampling(self) -> None:
        """The calibrations the spec asks for, in order: phase, crosstalk, gain."""
        s = self.architecture.spec
        if s.neuron.kind == "ring" and s.neuron.ring.lock:
            self.lock_rings()
        if s.phase_calibration:
            self.calibrate_phases()
        if s.crosstalk_calibration:
            self.calibrate_crosstalk()
        if s.gain_calibration:
            self.calibrate()

    # -- ring neurons: resonance locking ----------------------------------------------------------
    def lock_rings(self) -> None:
        """Lock every ring neuron's heater to its operating point (:meth:`ring_lock.RingNeuronArray.lock`,
        drive at zero) from readings of its own detector — the f ring's monitor (hidden) or
        output readout, the derivative pair's diodes read singly — with the die's detector noise,
        RIN and ADC (full scale the ring's off-resonance level, 1/T_ref of the supply), own noise
        stream, counted in ``calibration_measurements``."""
        a, imp = self.architecture, self.impairments
        n, nh, tap = a.spec.calibration_samples, a.n_hidden, a.spec.layout.monitor_tap
        r, p0, ring = self.det.responsivity, imp.optical_power, a.spec.neuron.ring
        t_ref = self.neuron.op.t_ref

        def read(t: np.ndarray, k: int, m: int) -> np.ndarray:
            j, which = divmod(k, 3)
            scale = tap if (which == 0 and j < nh) else 1.0
            gain = self.gain_readout[j] if which == 0 else self.gain_derivative[j, which - 1]
            mean = r * p0 * scale * self._eta_read[j] * gain * np.repeat(np.asarray(t, float), m)
            sup = np.repeat(self._laser(len(t), True), m)
            x = self._read(mean * sup, mean * sup, 1, True, r * p0 * scale / t_ref)
            return x.reshape(len(t), m).mean(1) / (r * p0 * scale)

        rng, self._rng = self._rng, np.random.default_rng([self.seed, 12])
        try:
            reads = self.neuron.lock(read, n, ring.lock_passes, ring.lock_fine_points)
        finally:
            self._rng = rng
        self.calibration_measurements += reads

    # -- phase offsets and heater efficiencies ---------------------------------------------------
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

    # -- thermal crosstalk -------------------------------------------------------------------------
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

    # -- node gains ----------------------------------------------------------------------------------
    def calibrate(self) -> None:
        """Per-node gain calibration with known light (:func:`gain_calibration.calibrate_gains`):
        sets ``cal_node``, ``cal_readout``, ``cal_derivative``, ``cal_backward``, ``cal_source``
        (and ``weight_scale`` with the phase calibration), counted in ``calibration_measurements``."""
        gc.calibrate_gains(self)

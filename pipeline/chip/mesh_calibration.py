"""Phase errors of a ``mesh`` die and the lab calibration that measures them.

Phase errors (drawn per die, each from its own random stream so the die's other draws are
unchanged; :mod:`pipeline.chip.impairments` gives the knobs and their sources):

* static offsets: the internal θ shifter of an MZI sits between its couplers, so its two
  arms (``arm_length`` long, ``arm_separation`` apart) see different mean widths and
  thicknesses of the fabrication field — :func:`pipeline.chip.arm_offsets.arm_phase_offsets`
  at the MZI's local offsets; the external φ is the phase between the two waveguides
  entering the MZI, drawn the same way over one ``column_length`` at ``mode_pitch``;
* heater efficiency: each heater's dissipated power × (1 + ``heater_efficiency_sigma``·N(0,1)),
  before the thermal crosstalk matrix (P_π spread);
* drift: a random walk of every phase, variance ``phase_drift``² × (``calibration_age`` +
  readings × ``reading_time``/3600 h); the walk advances with the readings the die takes.

Realised phase of heater k (one heater row, crosstalk C):  θ_k = κ(λ) Σ_j C_kj e_j P_j + θ0_k
+ drift_k (+ ``phase_noise`` per optical pass), κ(λ) = dφ/dP at the laser wavelength.

Lab calibration (:func:`calibrate`, ``MeshNetworkSpec.lab_calibration``).  MZI by MZI in the
mesh's order (column by column, i.e. along the Clements diagonals), the procedure of
progressive, model-based mesh calibration (D. A. B. Miller, Photon. Res. 1, 1 (2013) —
self-configuration, each MZI set with its upstream already known; N. C. Harris et al.,
Optica 5, 1623 (2018); Pai et al., Science 380, 398 (2023), who read the power in every
waveguide from scattered light, as the die's tap monitors here):

1. every heater is off but the swept one's (no crosstalk in the sweep): upstream MZIs sit
   at their calibrated unheated state (θ̂0, φ̂0, fitted couplers);
2. the layer's inputs are lit with the probe (one or two input channels at amplitude 1 or
   ½ — layer 0: any of the N input waveguides, each has its grating coupler though the
   network lights only n_in + 1; later layers: the activation modulators driven
   electrically) that the calibrated model says lights *both* inputs of the MZI with a
   power split nearest 0.8 : 0.2 (an equal split cannot tell (θ0, φ0) from
   (θ0 + π, φ0 + π)); (a_m, a_m+1) as that model predicts;
3. four heater sweeps of ``CAL_POINTS`` settings each: θ heater over 0…2P_π (φ off); φ
   heater over 0…2P_π at θ heater P_π/2 and at P_π (one of the two has |sin θ| ≥ 0.7, so
   φ is visible); θ heater over 0…2P_π again at φ heater P_π/2 (another input phase into
   the first coupler: with three sweeps the detector noise of a realistic die left two
   minima of nearly equal cost for some MZIs — κ̂² 0.44 for 0.52, max |κ̂² − κ²| 0.097 /
   0.015 / 0.033 / 0.014 / 0.006 on dies 0–4; with four ≤ 0.006); each setting read
   ``calibration_samples`` times by the two output taps of the MZI (its two output
   waveguides);
4. least-squares fit of r = ρ|T₀·a|²/(ρ|T₀·a|² + |T₁·a|²), T the MZI of the calibrated model
   (:func:`model_mzis`: couplers of power splitting κ₁², κ₂² — fitted, ``KAPPA2_BOUNDS`` —,
   the heater arms' and the couplers' nominal insertion loss of the device library) at
   θ = ê_θ κ_nom P_θ + θ̂0, φ likewise; ρ the taps' gain ratio: 7 parameters θ̂0, ê_θ, φ̂0,
   ê_φ, ρ, κ̂₁², κ̂₂² (grid of starts over θ0, φ0 and κ² ∈ {0.4, 0.5, 0.6}, the best
   ``FIT_STARTS`` refined: the fit has local minima);
5. thermal crosstalk of each heater row (MZIs of one column; Milanizadeh et al., J.
   Lightwave Technol. 37, 1325 (2019), as :mod:`pipeline.chip.crosstalk_calibration`): for
   every MZI k and same-row neighbour n, k's θ sweep (and its φ sweep at the θ of larger
   |sin θ̂|) again with n's θ (φ) heater at P_π: the shift of θ̂0 (φ̂0), fitted alone, is
   R_kn κ_nom ê_n P_π (2 × 12 settings per ordered pair; an N = 4 layer: 8 sweeps);
6. per-layer gain (below, in :func:`calibrate`).

Programming (:func:`program_powers`): the ideal mesh's phases are mapped MZI by MZI to the
calibrated model's (:func:`model_phases`: the internal phase giving the target power
splitting with the fitted couplers, the external phase giving the target relative phase,
tracking the phase error each MZI leaves on its outputs so the next MZI's external phase
absorbs it; the last column's output phases are not detected), then to heater powers
through θ̂0, ê and R̂⁻¹.  Exact on a die with 50:50 couplers; on couplers away from 50:50
a state near full cross / bar may be out of reach (|T₀₀|² ≥ cos²(a₁ + a₂), κ = sin a).

The fitted φ̂0 is the MZI's external phase relative to the calibrated upstream as the model
sees it (the model's output phases are exact up to a phase common to the mesh).  Not in
the model: the spread of coupler excess loss between MZIs, crosstalk between rows.
Measured (noise-free realistic dies, detector noise/RIN/phase noise/drift off; tests): κ̂²
within 1.1e-3 of the die's, R̂ within 3e-4; realistic (noisy) dies 0–4: κ̂² within 0.006.
Noise model (tests, 50:50 couplers): ratio noise σ_r per setting from the taps' detector
noise averaged over N samples; a sinusoid of amplitude ~½ fitted over M points gives
σ(θ̂0) ≈ 2√2 σ_r/√M, σ(ê) ≈ σ(θ̂0)/π (the slope is fitted over 2π).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.chip.arm_offsets import arm_phase_offsets
from pipeline.circuit.mesh import column_groups, coupler_matrix, mzi_matrix

CAL_POINTS = 12  # heater settings per sweep
KAPPA2_BOUNDS = (0.3, 0.7)  # fitted coupler power splittings
FIT_STARTS = 8  # best grid starts refined (the 7-parameter fit has local minima)
HEADROOM = 1.25  # heater DAC full scale 2.5 P_π: every phase in [0, 2π) reachable at P_π +25 %


def phase_errors(die: object, seed: int, wavelength_um: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets [rad], efficiencies [1], initial drift [rad]), each (layer, θ|φ, K) (module doc);
    the arm offsets at ``wavelength_um`` (default the die's: a WDM channel's offsets are the
    same arms evaluated through the waveguide model at that channel)."""
    imp, s = die.impairments, die.architecture.spec
    lam = die.wavelength if wavelength_um is None else wavelength_um
    dw, dt = die.dw.mean(-1), die.dt.mean(-1)  # (layer, K): the MZI's local offsets
    rng = np.random.default_rng([seed, 2])
    theta0 = arm_phase_offsets(imp, dw, dt, length_um=s.arm_length, separation_um=s.arm_separation,
                               wavelength_um=lam, rng=rng, library=die.library)
    phi0 = arm_phase_offsets(imp, dw, dt, length_um=s.column_length, separation_um=s.mode_pitch,
                             wavelength_um=lam, rng=rng, library=die.library)
    eff = 1 + imp.heater_efficiency_sigma * np.random.default_rng([seed, 3]).standard_normal(theta0.shape + (2,))
    drift = imp.phase_drift * np.sqrt(imp.calibration_age) * np.random.default_rng([seed, 4]).standard_normal(
        eff.shape)
    return np.stack([theta0, phi0], 1), np.moveaxis(eff, -1, 1), np.moveaxis(drift, -1, 1)


@dataclass
class MeshCalibration:
    """Fitted offsets θ̂0, φ̂0 [rad] and efficiencies ê [1] (measured κ over nominal κ),
    each (layer, θ|φ, K); coupler power splittings κ̂² (layer, K, 2); ``arm`` the heater
    arms' nominal amplitude transmission (phase-shifter model); ``readings``: detector
    readings taken; ``layer_gain`` (layer,)."""

    offset: np.ndarray
    efficiency: np.ndarray
    readings: int
    layer_gain: np.ndarray | None = None  # electronics gain 1/η̂ of each layer's detectors
    kappa2: np.ndarray | None = None
    arm: float = 1.0
    mzi_amp: float = 1.0  # amplitude transmission of an MZI's two couplers (coupler model, nominal)
    crosstalk: np.ndarray | None = None  # R̂ (layer, θ|φ, K, K): phase of k per nominal phase of heater n


def program_powers(cal: MeshCalibration, lay: object, phases: np.ndarray, kappa: float) -> np.ndarray:
    """Heater powers (layer, θ|φ, K) [W] realising ``phases`` on the calibrated die: the
    calibrated model's phases (:func:`model_phases`) less θ̂0 (mod 2π), pre-compensated for
    the measured crosstalk (R̂ q = target; a heater that would need q < 0 takes its target
    + 2π), over ê κ_nom."""
    t = np.mod(model_phases(cal, lay, phases) - cal.offset, 2 * np.pi)
    if cal.crosstalk is not None:
        q = np.linalg.solve(cal.crosstalk, t[..., None])[..., 0]
        t = np.where(q < 0, t + 2 * np.pi, t)
        t = np.linalg.solve(cal.crosstalk, t[..., None])[..., 0]
    return t / (cal.efficiency * kappa)


def model_mzis(kappa2: np.ndarray, theta: np.ndarray, phi: np.ndarray, arm: float = 1.0,
               mzi_amp: float = 1.0) -> np.ndarray:
    """(…, 2, 2) MZIs of the calibrated model: couplers of power splitting κ² (…, 2), the
    heater arms (upper internal and external) of amplitude transmission ``arm``, the two
    couplers' excess loss ``mzi_amp``."""
    cpl = coupler_matrix(kappa2)  # (…, 2 couplers, 2, 2)
    theta, phi = np.broadcast_arrays(np.asarray(theta, float), np.asarray(phi, float))
    d_t = np.zeros(theta.shape + (2, 2), complex)
    d_t[..., 0, 0], d_t[..., 1, 1] = arm * np.exp(1j * theta), 1
    d_p = np.zeros(phi.shape + (2, 2), complex)
    d_p[..., 0, 0], d_p[..., 1, 1] = arm * np.exp(1j * phi), 1
    return mzi_amp * (cpl[..., 1, :, :] @ d_t @ cpl[..., 0, :, :] @ d_p)


def model_phases(cal: MeshCalibration, lay: object, phases: np.ndarray) -> np.ndarray:
    """Phases (layer, θ|φ, K) to realise on the die so that its calibrated model (fitted
    couplers) equals the ideal mesh at ``phases`` up to an output phase screen (every output
    is detected).  MZI by MZI in mesh order, tracking the model's phase error Δ on each
    waveguide (die field = e^{iΔ} × ideal field): target G = T(θ, φ)·diag(e^{−iΔ}); θ' gives
    G's power splitting (|F₀₀|²/Σ|F·₀|² of the internal stage F is affine in e^{iθ'}:
    closed form, the branch nearest θ), φ' maximises Σ_rows |(T'Gᴴ)_rr|² (closed form); Δ of
    the two outputs becomes arg (T'Gᴴ)_rr.  Exact on 50:50 couplers (θ' = θ, φ' = φ)."""
    if cal.kappa2 is None:
        return phases
    out = np.array(phases, float, copy=True)
    ideal = mzi_matrix(phases[:, 0], phases[:, 1])  # (layer, K, 2, 2)
    for layer in range(phases.shape[0]):
        delta = np.zeros(lay.n)
        for k in range(lay.n_mzi):
            m = lay.modes[k]
            g = ideal[layer, k] * np.exp(-1j * delta[[m, m + 1]])[None, :]
            t = np.abs(g[0, 0]) ** 2 / max(np.abs(g[0, 0]) ** 2 + np.abs(g[1, 0]) ** 2, 1e-30)
            f0 = model_mzis(cal.kappa2[layer, k], 0.0, 0.0, cal.arm)  # internal stage at θ' = 0 …
            f1 = model_mzis(cal.kappa2[layer, k], np.pi / 2, 0.0, cal.arm)  # … and π/2: F = X + Y e^{iθ'}
            # column 0 of F (external phase drops out of the splitting): F_r0(θ) = x_r + y_r e^{iθ}
            y = (f1[:, 0] - f0[:, 0]) / (1j - 1)
            x = f0[:, 0] - y
            # |F00|² − t Σ|F_r0|² = P + Re(Q e^{iθ}) = 0
            w = np.array([1 - t, -t])
            p_ = float(np.sum(w * (np.abs(x) ** 2 + np.abs(y) ** 2)))
            q = complex(np.sum(w * 2 * np.conj(x) * y))
            c = np.clip(-p_ / max(abs(q), 1e-30), -1, 1)
            cands = np.array([np.arccos(c), -np.arccos(c)]) - np.angle(q)
            th = cands[np.argmin(np.abs(np.angle(np.exp(1j * (cands - phases[layer, 0, k])))))]
            fz = model_mzis(cal.kappa2[layer, k], th, 0.0, cal.arm)  # T'(θ', 0); φ' multiplies column 0
            a = fz[:, 0] * np.conj(g[:, 0])
            b = fz[:, 1] * np.conj(g[:, 1])
            ph = float(-np.angle(np.sum(a * np.conj(b))))
            tt = model_mzis(cal.kappa2[layer, k], th, ph, cal.arm)
            delta[[m, m + 1]] = np.angle(np.sum(tt * np.conj(g), 1))
            out[layer, 0, k], out[layer, 1, k] = th, ph
    return np.mod(out, 2 * np.pi)


def _output_taps(die: object, layer: int, powers: np.ndarray, a_in: np.ndarray, samples: int) -> np.ndarray:
    """Readings (settings, K, 2) of the two output taps of every MZI of ``layer`` for heater
    powers (settings, 2, K) and input amplitudes a_in (N,), each averaged over ``samples``
    (phase noise of the average: σ/√samples)."""
    lay, hw = die.architecture.layout, die.hardware[layer]
    full = np.zeros((powers.shape[0],) + die.powers.shape)
    full[:, layer] = powers
    ph = die.realised_phases(full, noise=True, averaged=samples)[:, layer]
    mz = np.stack([hw.mzis(p[0], p[1]) for p in ph])  # (settings, K, 2, 2)
    f = np.broadcast_to(hw.input * a_in, (len(ph), lay.n)).astype(complex).copy()
    out = np.empty((len(ph), lay.n_mzi, 2))
    for c, ks in enumerate(column_groups(lay)):
        top = lay.modes[ks]
        a, b = f[:, top].copy(), f[:, top + 1].copy()
        f[:, top] = mz[:, ks, 0, 0] * a + mz[:, ks, 0, 1] * b
        f[:, top + 1] = mz[:, ks, 1, 0] * a + mz[:, ks, 1, 1] * b
        out[:, ks, 0], out[:, ks, 1] = np.abs(f[:, top]) ** 2, np.abs(f[:, top + 1]) ** 2
        f *= hw.columns[c]
    gain = die.gain["output_taps"][layer][None]
    return die.read_direct(out * samples, gain, die.architecture.spec.tap_fraction, samples) / samples


def _nominal_inputs(lay: object, k: int, upstream: np.ndarray, a_in: np.ndarray, kappa2: np.ndarray,
                    arm: float, mzi_amp: float) -> np.ndarray:
    """Field (2,) at the inputs of MZI k by the calibrated model (couplers κ̂² (K, 2), heater
    arms ``arm``), MZIs of earlier columns at realised phases ``upstream`` (2, K) (others not
    reached)."""
    f = np.asarray(a_in, complex).copy()
    t = model_mzis(kappa2, upstream[0], upstream[1], arm, mzi_amp)
    for ks in column_groups(lay)[:lay.column[k]]:
        top = lay.modes[ks]
        a, b = f[top].copy(), f[top + 1].copy()
        f[top], f[top + 1] = t[ks, 0, 0] * a + t[ks, 0, 1] * b, t[ks, 1, 0] * a + t[ks, 1, 1] * b
    return f[[lay.modes[k], lay.modes[k] + 1]]


def _probe_score(f: np.ndarray) -> float:
    """Prefer both inputs lit with a power split near 0.8 : 0.2 (equal amplitudes leave
    (θ0, φ0) and (θ0 + π, φ0 + π) indistinguishable); one lit input only if nothing else."""
    p = np.abs(f) ** 2
    total = p.sum()
    if total < 1e-9:
        return -1.0
    r = p[0] / total
    return float(total * (r * (1 - r) * abs(2 * r - 1) + 1e-6))


def _fit(p_theta: np.ndarray, p_phi: np.ndarray, a: np.ndarray, ratio: np.ndarray, kappa: float,
         arm: float) -> np.ndarray:
    """[θ0, e_θ, φ0, e_φ, ρ, κ₁², κ₂²] (module doc, step 4)."""
    from scipy.optimize import least_squares

    def model(v: np.ndarray) -> np.ndarray:
        t = model_mzis(v[5:7], v[1] * kappa * p_theta + v[0], v[3] * kappa * p_phi + v[2], arm)
        up, lo = np.abs(t[:, 0] @ a) ** 2, np.abs(t[:, 1] @ a) ** 2
        return v[4] * up / (v[4] * up + lo + 1e-30)

    grid = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    starts = [np.array([t0, 1.0, f0, 1.0, 1.0, k2, k2]) for t0 in grid for f0 in grid for k2 in (0.4, 0.5, 0.6)]
    cost = [np.sum((model(v) - ratio) ** 2) for v in starts]
    lo_b, hi_b = [-np.inf, 0.5, -np.inf, 0.5, 0.5, KAPPA2_BOUNDS[0], KAPPA2_BOUNDS[0]], \
        [np.inf, 1.5, np.inf, 1.5, 2.0, KAPPA2_BOUNDS[1], KAPPA2_BOUNDS[1]]
    sols = [least_squares(lambda v: model(v) - ratio, starts[i], bounds=(lo_b, hi_b), ftol=1e-15, xtol=1e-15,
                          gtol=1e-15) for i in np.argsort(cost)[:FIT_STARTS]]
    return min(sols, key=lambda r: r.cost).x


def _fit_shift(p_theta: np.ndarray, p_phi: np.ndarray, a: np.ndarray, ratio: np.ndarray, kappa: float,
               arm: float, v: np.ndarray, which: int) -> float:
    """Shift of v[which] (θ0: 0, φ0: 2) fitting ``ratio`` with the other parameters fixed."""
    from scipy.optimize import least_squares

    def model(d: np.ndarray) -> np.ndarray:
        u = v.copy()
        u[which] += d[0]
        t = model_mzis(u[5:7], u[1] * kappa * p_theta + u[0], u[3] * kappa * p_phi + u[2], arm)
        up, lo = np.abs(t[:, 0] @ a) ** 2, np.abs(t[:, 1] @ a) ** 2
        return u[4] * up / (u[4] * up + lo + 1e-30) - ratio

    return float(least_squares(model, [0.0], ftol=1e-15, xtol=1e-15, gtol=1e-15).x[0])


def calibrate(die: object, samples: int) -> MeshCalibration:
    """Measure θ̂0, φ̂0, ê of every MZI of every layer of ``die`` (module doc)."""
    arch, lay = die.architecture, die.architecture.layout
    kappa, p_pi, n_l = die.dphase_dpower_nominal, die.p_pi, arch.spec.n_layers
    offset, eff = np.zeros(die.powers.shape), np.ones(die.powers.shape)
    from devices import coupler_model

    kappa2, arm = np.full((n_l, lay.n_mzi, 2), 0.5), float(10 ** (-die.heater_loss_db / 20))
    loss_db = die.impairments.insertion_loss_scale * float(coupler_model.excess_loss_db(wavelength=die.wavelength,
                                                                                    model=die.library.model("coupler")))
    mzi_amp = 10 ** (-2 * loss_db / 20)
    sweep = np.arange(CAL_POINTS) / CAL_POINTS * 2 * p_pi
    readings = 0
    xt = np.broadcast_to(np.eye(lay.n_mzi), (n_l, 2, lay.n_mzi, lay.n_mzi)).copy()
    for layer in range(n_l):
        fits = {}
        lit = np.arange(lay.n)
        eye = np.eye(lay.n)
        probes = [eye[j] for j in lit] + [eye[i] + w * eye[j] for i in lit for j in lit if i != j for w in (1, 0.5)]
        for k in np.lexsort((lay.modes, lay.column)):
            base = np.zeros((2, lay.n_mzi))  # powers: every heater off but the swept one's
            upstream = offset[layer]  # upstream MZIs at their calibrated unheated state (θ̂0, φ̂0)
            fields = [_nominal_inputs(lay, k, upstream, pr, kappa2[layer], arm, mzi_amp) for pr in probes]
            i = int(np.argmax([_probe_score(f) for f in fields]))
            a_in, a = probes[i], fields[i]
            settings = np.repeat(base[None], 4 * CAL_POINTS, 0)
            settings[:CAL_POINTS, 0, k] = sweep
            settings[CAL_POINTS:3 * CAL_POINTS, 1, k] = np.tile(sweep, 2)
            settings[CAL_POINTS:2 * CAL_POINTS, 0, k] = p_pi / 2
            settings[2 * CAL_POINTS:3 * CAL_POINTS, 0, k] = p_pi
            settings[3 * CAL_POINTS:, 0, k], settings[3 * CAL_POINTS:, 1, k] = sweep, p_pi / 2
            r = _output_taps(die, layer, settings, a_in, samples)[:, k]
            readings += r.size * samples
            ratio = r[:, 0] / np.maximum(r.sum(1), 1e-12)
            v = _fit(settings[:, 0, k], settings[:, 1, k], a, ratio, kappa, arm)
            if min(abs(a[0]), abs(a[1])) < 1e-6:  # one input dark: φ acts on no light, keep it nominal
                v[2], v[3] = 0.0, 1.0
            offset[layer, :, k] = np.mod(v[[0, 2]], 2 * np.pi)
            eff[layer, :, k] = v[[1, 3]]
            kappa2[layer, k] = v[5:7]
            fits[k] = (a_in, a, v, settings)
        # crosstalk: MZI k's θ sweep (φ sweep at the θ of larger |sin θ̂|) again with one
        # same-row neighbour n's θ (φ) heater at P_π; the shift of θ̂0 (φ̂0) is R_kn κ ê_n P_π
        for ks in column_groups(lay):
            for k in ks:
                a_in, a, v, settings = fits[k]
                th_fit = v[1] * kappa * np.array([p_pi / 2, p_pi]) + v[0]
                blocks = [slice(0, CAL_POINTS), slice(CAL_POINTS, 2 * CAL_POINTS) if abs(np.sin(th_fit[0])) >=
                          abs(np.sin(th_fit[1])) else slice(2 * CAL_POINTS, 3 * CAL_POINTS)]
                for n in ks:
                    for sh in (0, 1) if n != k else ():
                        if sh and min(abs(a[0]), abs(a[1])) < 1e-6:
                            continue
                        st = settings[blocks[sh]].copy()
                        st[:, sh, n] = p_pi
                        r = _output_taps(die, layer, st, a_in, samples)[:, k]
                        readings += r.size * samples
                        ratio = r[:, 0] / np.maximum(r.sum(1), 1e-12)
                        d = _fit_shift(st[:, 0, k], st[:, 1, k], a, ratio, kappa, arm, v, 2 * sh)
                        xt[layer, sh, k, n] = np.angle(np.exp(1j * d)) / (kappa * eff[layer, sh, n] * p_pi)
    # 6. per-layer gain: each input alone at the calibrated phases of θ = π/2, φ = 0, all N
    #    outputs read; the layer's power transmission η̂ = mean over inputs of Σ outputs, the
    #    activation / output electronics gain set to 1/η̂ (the attenuator's node-gain step)
    die.calibration = MeshCalibration(offset, eff, readings, None, kappa2, arm, mzi_amp, xt)
    half = np.concatenate([np.full(lay.n_mzi, np.pi / 2), np.zeros(lay.n_mzi)])
    die.program(np.tile(half, n_l))
    ph = die.realised_phases(die.powers, noise=True, averaged=samples)
    gain = np.ones(n_l)
    for layer, u in enumerate(die._matrices(ph)):
        out = np.abs(u) ** 2  # (output, input): input j alone
        read = die.read_direct(out * samples, 1.0, 1.0, samples) / samples
        readings += out.size * samples
        eta = float(read.sum(0).mean())
        gain[layer] = 1 / eta if 0.1 < eta < 10 else 1.0
    die.program(np.zeros(arch.n_params))
    return MeshCalibration(offset, eff, readings, gain, kappa2, arm, mzi_amp, xt)

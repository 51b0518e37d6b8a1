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

1. upstream MZIs (earlier columns) are set to 50:50 (θ = π/2, φ = 0) through their
   calibration; the same column's other heaters and all later ones are off (no crosstalk
   into the swept row: the offset is measured with the neighbours off);
2. the layer's inputs are lit with the probe (one or two input channels at amplitude 1 or
   ½ — layer 0: any of the N input waveguides, each has its grating coupler though the
   network lights only n_in + 1; later layers: the activation modulators driven
   electrically) that the calibrated nominal model says lights *both* inputs of the
   MZI with a power split nearest 0.8 : 0.2 (an equal split cannot tell (θ0, φ0) from
   (θ0 + π, φ0 + π)); (a_m, a_m+1) as that model predicts;
3. three heater sweeps of ``CAL_POINTS`` settings each: θ heater over 0…2P_π (φ off); φ
   heater over 0…2P_π at θ heater P_π/2 and at P_π (one of the two has |sin θ| ≥ 0.7, so
   φ is visible); each setting read ``calibration_samples`` times by the two output taps of
   the MZI (its two output waveguides);
4. least-squares fit of r = ρ|T₀·a|²/(ρ|T₀·a|² + |T₁·a|²) (T the nominal 50:50 MZI at
   θ = ê_θ κ_nom P_θ + θ̂0, φ likewise; ρ the taps' gain ratio) for θ̂0, ê_θ, φ̂0, ê_φ, ρ.

The fitted φ̂0 is the MZI's external phase relative to the calibrated upstream *as the
nominal model sees it*: the calibration makes the die equal the nominal mesh exactly on a
die with 50:50 couplers and balanced arms; coupler splitting errors and the heater's
insertion loss (unbalanced arms) bias it (test and module doc of mesh_network: measured).
Noise model (tests): ratio noise σ_r per setting from the taps' detector noise averaged over
N samples; a sinusoid of amplitude ~½ fitted over M points gives σ(θ̂0) ≈ 2√2 σ_r/√M,
σ(ê) ≈ σ(θ̂0)/π (the slope is fitted over 2π).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.chip.arm_offsets import arm_phase_offsets
from pipeline.circuit.mesh import column_groups, mzi_matrix

CAL_POINTS = 12  # heater settings per sweep
HEADROOM = 1.25  # heater DAC full scale 2.5 P_π: every phase in [0, 2π) reachable at P_π +25 %


def phase_errors(die: object, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets [rad], efficiencies [1], initial drift [rad]), each (layer, θ|φ, K) (module doc)."""
    imp, s = die.impairments, die.architecture.spec
    dw, dt = die.dw.mean(-1), die.dt.mean(-1)  # (layer, K): the MZI's local offsets
    rng = np.random.default_rng([seed, 2])
    theta0 = arm_phase_offsets(imp, dw, dt, length_um=s.arm_length, separation_um=s.arm_separation,
                               wavelength_um=die.wavelength, rng=rng)
    phi0 = arm_phase_offsets(imp, dw, dt, length_um=s.column_length, separation_um=s.mode_pitch,
                             wavelength_um=die.wavelength, rng=rng)
    eff = 1 + imp.heater_efficiency_sigma * np.random.default_rng([seed, 3]).standard_normal(theta0.shape + (2,))
    drift = imp.phase_drift * np.sqrt(imp.calibration_age) * np.random.default_rng([seed, 4]).standard_normal(
        eff.shape)
    return np.stack([theta0, phi0], 1), np.moveaxis(eff, -1, 1), np.moveaxis(drift, -1, 1)


@dataclass
class MeshCalibration:
    """Fitted offsets θ̂0, φ̂0 [rad] and efficiencies ê [1] (measured κ over nominal κ),
    each (layer, θ|φ, K); ``readings``: detector readings taken; ``layer_gain`` (layer,)."""

    offset: np.ndarray
    efficiency: np.ndarray
    readings: int
    layer_gain: np.ndarray | None = None  # electronics gain 1/η̂ of each layer's detectors


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


def _nominal_inputs(lay: object, k: int, upstream: np.ndarray, a_in: np.ndarray) -> np.ndarray:
    """Field (2,) at the inputs of MZI k by the nominal model, MZIs of earlier columns at
    realised phases ``upstream`` (2, K) (others not reached)."""
    f = np.asarray(a_in, complex).copy()
    t = mzi_matrix(upstream[0], upstream[1])
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


def _fit(p_theta: np.ndarray, p_phi: np.ndarray, a: np.ndarray, ratio: np.ndarray, kappa: float) -> np.ndarray:
    """[θ0, e_θ, φ0, e_φ, ρ] (module doc, step 4)."""
    from scipy.optimize import least_squares

    def model(v: np.ndarray) -> np.ndarray:
        t = mzi_matrix(v[1] * kappa * p_theta + v[0], v[3] * kappa * p_phi + v[2])
        up, lo = np.abs(t[:, 0] @ a) ** 2, np.abs(t[:, 1] @ a) ** 2
        return v[4] * up / (v[4] * up + lo + 1e-30)

    grid = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    starts = [np.array([t0, 1.0, f0, 1.0, 1.0]) for t0 in grid for f0 in grid]
    best = min(starts, key=lambda v: np.sum((model(v) - ratio) ** 2))
    sol = least_squares(lambda v: model(v) - ratio, best, bounds=([-np.inf, 0.5, -np.inf, 0.5, 0.5],
                                                                  [np.inf, 1.5, np.inf, 1.5, 2.0]))
    return sol.x


def calibrate(die: object, samples: int) -> MeshCalibration:
    """Measure θ̂0, φ̂0, ê of every MZI of every layer of ``die`` (module doc)."""
    arch, lay = die.architecture, die.architecture.layout
    kappa, p_pi, n_l = die.dphase_dpower_nominal, die.p_pi, arch.spec.n_layers
    offset, eff = np.zeros(die.powers.shape), np.ones(die.powers.shape)
    sweep = np.arange(CAL_POINTS) / CAL_POINTS * 2 * p_pi
    readings = 0
    for layer in range(n_l):
        lit = np.arange(lay.n)
        eye = np.eye(lay.n)
        probes = [eye[j] for j in lit] + [eye[i] + w * eye[j] for i in lit for j in lit if i != j for w in (1, 0.5)]
        for k in np.lexsort((lay.modes, lay.column)):
            base = np.zeros((2, lay.n_mzi))  # powers: upstream 50:50, the rest off
            up = lay.column < lay.column[k]
            base[0, up] = np.mod(np.pi / 2 - offset[layer, 0, up], 2 * np.pi) / (eff[layer, 0, up] * kappa)
            base[1, up] = np.mod(0.0 - offset[layer, 1, up], 2 * np.pi) / (eff[layer, 1, up] * kappa)
            upstream = np.where(up, [[np.pi / 2], [0.0]], 0.0)
            fields = [_nominal_inputs(lay, k, upstream, pr) for pr in probes]
            i = int(np.argmax([_probe_score(f) for f in fields]))
            a_in, a = probes[i], fields[i]
            settings = np.repeat(base[None], 3 * CAL_POINTS, 0)
            settings[:CAL_POINTS, 0, k] = sweep
            settings[CAL_POINTS:, 1, k] = np.tile(sweep, 2)
            settings[CAL_POINTS:2 * CAL_POINTS, 0, k] = p_pi / 2
            settings[2 * CAL_POINTS:, 0, k] = p_pi
            r = _output_taps(die, layer, settings, a_in, samples)[:, k]
            readings += r.size * samples
            ratio = r[:, 0] / np.maximum(r.sum(1), 1e-12)
            v = _fit(settings[:, 0, k], settings[:, 1, k], a, ratio, kappa)
            if min(abs(a[0]), abs(a[1])) < 1e-6:  # one input dark: φ acts on no light, keep it nominal
                v[2], v[3] = 0.0, 1.0
            offset[layer, :, k] = np.mod(v[[0, 2]], 2 * np.pi)
            eff[layer, :, k] = v[[1, 3]]
    # 5. per-layer gain: each input alone at the calibrated phases of θ = π/2, φ = 0, all N
    #    outputs read; the layer's power transmission η̂ = mean over inputs of Σ outputs, the
    #    activation / output electronics gain set to 1/η̂ (the attenuator's node-gain step)
    die.calibration = MeshCalibration(offset, eff, readings)
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
    return MeshCalibration(offset, eff, readings, gain)

"""Thermal-crosstalk calibration of a heater row: measure the row's response Ĉ on the die
from its own readings, and pre-compensate the heater powers with Ĉ⁻¹ (M. Milanizadeh,
D. Aguiar, A. Melloni, F. Morichetti, "Canceling thermal cross-talk effects in photonic
integrated circuits", J. Lightwave Technol. 37, 1325 (2019)).

Model.  Heater powers P [W] of a row set the phases θ = κ C P (κ = dφ/dP [rad/W] at the
laser wavelength, C the row's crosstalk matrix, unit diagonal).  Programming assumes the
nominal π/P_π [rad/W]; in those units the row's response is R = (κ P_π/π) C ("phase per
nominally driven phase"), R = C at the design wavelength.  Ĉ estimates R.

Measurement (:func:`measure`), from the row with every heater off, for each MZI m:

1. phase read-out of m: readings w_s of MZI m at three powers of its own heater (the
   die's slope step, ``AttenuatorDie._step_configs``: +0, P_π/2, P_π, DAC-quantised; the
   actual powers give the steps s in nominal phase).  w_s = A − X cos s + Y sin s solves
   for the phasor X + iY = B e^{iθ_m} (:func:`phasor`; any A, B: couplers, loss, gains);
2. the same read-out with heater k alone driven to d_k P_π (d_k = 2, the DAC's top, for
   k ≠ m; d_m = 1, so that m's own steps stay in range), for every heater k of the row:
   Δθ_mk = arg(z_m^k / z_m^0), unwrapped about its nominal value δ_mk π d_m;
3. Ĉ_mk = Δθ_mk / (π d_k) (d_k from the applied DAC power).

Readings: 3 (n + 1) settings per MZI of an n-heater row, each ``calibration_samples`` = N
averaged noisy readings (detector noise, RIN, phase noise).  Exact in the noise-free limit
for any couplers, losses, detector gains and DAC resolution (tests): the read-out steps
are heater m's own, whose diagonal response is 1 in nominal units, and the heaters of the
other row are not driven.  Not exact: a laser off the design wavelength (the read-out
steps are κ/κ_nominal off: max |Ĉ − R| 1.6e-4 at +5 nm, 6.5e-4 at +20 nm), and readings
that carry other MZIs' light (the output-bias read-out also carries the dark hidden
neurons' modulator leakage f(0) through the neighbouring layer-2 MZIs; crossing leaks of
the optical fan-out): 1.5e-6 on a realistic die.

Noise.  With σ_r the rms detector + RIN noise of one reading of MZI m in units of its
fringe amplitude B and σ_φ the phase noise per reading, a phase read-out near θ = 0 or π
(heaters off, or m driven by P_π) has σ_θ² ≈ (1.5 σ_r² + σ_φ²)/N, so

    σ(Ĉ_mk) ≈ √(3 σ_r² + 2 σ_φ²) / (π d_k √N)   ∝ 1/√N

(tested against σ_r measured on the die: within 15 %; N = 16 → 256 shrinks |Ĉ − R| by 4).
Default die at 100 µW: rms 2e-4 in layer 1, up to 6e-4 on the layer-2 diagonal (backward
read-out).  The baseline read-out z_m^0 is shared by row m of Ĉ (correlated errors).

Pre-compensation (:func:`compensate`): the die applies P = Ĉ⁻¹ P_target, within the DAC's
0 … 2 P_π, then quantises.  A heater cannot cool: where Ĉ⁻¹ P_target < 0 (a phase near 0
beside hot neighbours) the heater stays off, its phase is its neighbours' heat, above the
target (its weight cannot reach −1 there, and no longer responds to its own parameter),
and the other heaters are re-solved so that their phases stay exact (likewise at 2 P_π).
Steps on "virtual" heaters (the slope calibration, ``AttenuatorDie._step_configs``) pass
through Ĉ⁻¹ too, so a step of virtual heater k moves only phase k.

Projection (:func:`realisable`): what the compensated programming realises, in target
units, Ĉ P for the compensated powers P — the targets themselves where no heater is held,
a held heater's phase (its neighbours' heat, or the DAC top) otherwise.  The controller
projects its parameters onto this set (``AttenuatorDie.project_params``, in training), so
that a held weight sits where it still responds instead of drifting on below it.

A row whose Ĉ is not finite or implausible (diagonal outside 0.5–2 or an off-diagonal
above 0.5: readings lost in the detector noise) keeps Ĉ = I, no compensation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline.chip.neuron import _clip

#: Plausible diagonal of Ĉ (heater efficiency / nominal) and largest plausible off-diagonal.
_DIAGONAL_RANGE = (0.5, 2.0)
_OFF_DIAGONAL_MAX = 0.5


def phasor(w: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
    """X + iY = B e^{iθ} of readings w_s = A − B cos(θ + s) at phase steps s (axis 0, three
    of them, s₀ = 0 [rad]; default 0, π/2, π: X = (w₂ − w₀)/2, Y = w₁ − (w₀ + w₂)/2)."""
    w = np.asarray(w, float)
    if steps is None:
        return 0.5 * (w[2] - w[0]) + 1j * (w[1] - 0.5 * (w[0] + w[2]))
    s = np.asarray(steps, float)
    # w_s − w_0 = X (1 − cos s) + Y sin s for s = s₁, s₂: a 2×2 solve
    c1, c2, s1, s2 = 1 - np.cos(s[1]), 1 - np.cos(s[2]), np.sin(s[1]), np.sin(s[2])
    d1, d2, det = w[1] - w[0], w[2] - w[0], c1 * s2 - c2 * s1
    return ((d1 * s2 - d2 * s1) + 1j * (c1 * d2 - c2 * d1)) / det


def measure(read: Callable[[np.ndarray, int], np.ndarray],
            step_configs: Callable[[np.ndarray, list[np.ndarray]], np.ndarray],
            rows: list[np.ndarray], n_heaters: int, p_pi: float,
            efficiency: np.ndarray | None = None) -> np.ndarray:
    """Ĉ (n_heaters, n_heaters) [phase per nominally driven phase], block-diagonal over
    ``rows`` (heater indices of each row; other rows' heaters stay off), measured as the
    module doc says.  ``read(hp, m)``: mean noisy reading of MZI m at each heater setting
    ``hp`` (configs, n_heaters) [W]; ``step_configs(base, [[m]])``: ``base`` with heater m
    stepped by +0, P_π/2, P_π (3 configs, DAC-quantised; the actual steps are read off the
    configs); ``efficiency`` (n_heaters,): the heaters' measured efficiencies
    (:mod:`pipeline.chip.phase_calibration`), by which the read-out's own steps are converted
    to phase (None: nominal, 1)."""
    c_hat = np.zeros((n_heaters, n_heaters))
    for row in rows:
        row = np.asarray(row)
        for m in row:
            drive = np.where(row == m, 1.0, 2.0) * p_pi  # heater k's drive while m is read
            bases = np.zeros((len(row) + 1, n_heaters))
            bases[1 + np.arange(len(row)), row] = drive
            hp = np.concatenate([step_configs(b, [np.array([m])]) for b in bases]).reshape(-1, 3, n_heaters)
            w = read(hp.reshape(-1, n_heaters), int(m)).reshape(-1, 3).T  # (step, setting)
            eff_m = 1.0 if efficiency is None else float(efficiency[m])
            z = phasor(w, eff_m * np.pi / p_pi * (hp[:, :, m] - hp[:, :1, m]).T)
            d = hp[1:, 0, row].diagonal() / p_pi  # applied drive of heater k [P_π]
            nominal = np.pi * d * (row == m)
            dtheta = nominal + np.angle(z[1:] / z[0] * np.exp(-1j * nominal))
            c_hat[m, row] = dtheta / (np.pi * d)
        block = c_hat[np.ix_(row, row)]
        if not plausible(block):
            c_hat[np.ix_(row, row)] = np.eye(len(row))
    return c_hat


def plausible(c_hat: np.ndarray) -> bool:
    """False for a row's Ĉ lost in the noise (not finite, diagonal or off-diagonal out of range)."""
    if not np.all(np.isfinite(c_hat)):
        return False
    diag = np.diagonal(c_hat)
    off = c_hat - np.diag(diag)
    return bool(np.all((diag > _DIAGONAL_RANGE[0]) & (diag < _DIAGONAL_RANGE[1]))
                and np.all(np.abs(off) < _OFF_DIAGONAL_MAX))


def compensate(c_hat_inverse: np.ndarray | None, target: np.ndarray, p_max: float,
               cache: dict | None = None) -> np.ndarray:
    """Heater powers [W] that realise target powers ``target`` (..., n) [W] through Ĉ:
    P = Ĉ⁻¹ P_target.  Heaters this puts outside 0 … ``p_max`` (X) are held at the bound
    b and the others' phases kept exact: Ĉ P = P_target + E_X λ (the error λ only on the
    held heaters' phases), so P = Ĉ⁻¹ P_target + (Ĉ⁻¹)_{·X} λ with (Ĉ⁻¹)_{XX} λ = b − P_X;
    repeated until all are in range (rounding, 1e-9 p_max, is clipped).  ``None``:
    uncalibrated, the targets themselves.

    All rows at once: each round fixes every row's newly out-of-range heaters and re-solves
    the rows that have the same held set together, with ((Ĉ⁻¹)_{XX})⁻¹ and (Ĉ⁻¹)_{·X} of
    that set factorised once and kept in ``cache`` (a dict the caller keeps per Ĉ⁻¹; None:
    for this call only).  The same held sets as :func:`compensate_by_row` (the reference),
    the same powers up to rounding (tests: 1e-12 of p_max)."""
    if c_hat_inverse is None:
        return target
    t = np.asarray(target, float)
    out = t.reshape(-1, t.shape[-1]) @ c_hat_inverse.T
    tol = 1e-9 * p_max
    rows = np.flatnonzero(np.any((out < -tol) | (out > p_max + tol), axis=1))
    if rows.size:
        cache = {} if cache is None else cache
        p0 = out[rows]
        p, bound, fixed = p0.copy(), np.zeros(p0.shape), np.zeros(p0.shape, bool)
        while (active := np.flatnonzero(np.any(new := ~fixed & ((p < -tol) | (p > p_max + tol)), axis=1))).size:
            bound[new] = np.where(p[new] > p_max, p_max, 0.0)
            fixed |= new
            sets: dict[bytes, list[int]] = {}
            for i in active:
                sets.setdefault(fixed[i].tobytes(), []).append(i)
            for key, idx in sets.items():
                held = np.flatnonzero(fixed[idx[0]])
                if key not in cache:
                    cache[key] = (np.linalg.inv(c_hat_inverse[np.ix_(held, held)]), c_hat_inverse[:, held].T.copy())
                solve, cols = cache[key]
                b = bound[idx][:, held]
                q = p0[idx] + ((b - p0[idx][:, held]) @ solve.T) @ cols
                q[:, held] = b  # exactly, not up to rounding
                p[idx] = q
        out[rows] = p
    return _clip(out, 0.0, p_max).reshape(t.shape)


def compensate_by_row(c_hat_inverse: np.ndarray | None, target: np.ndarray, p_max: float) -> np.ndarray:
    """:func:`compensate` row by row, solving every held set afresh (the reference of the
    vectorised, factorisation-caching :func:`compensate`; tests).  Heater powers [W] that realise target powers ``target`` (..., n) [W] through Ĉ:
    P = Ĉ⁻¹ P_target.  Heaters this puts outside 0 … ``p_max`` (X) are held at the bound
    b and the others' phases kept exact: Ĉ P = P_target + E_X λ (the error λ only on the
    held heaters' phases), so P = Ĉ⁻¹ P_target + (Ĉ⁻¹)_{·X} λ with (Ĉ⁻¹)_{XX} λ = b − P_X;
    repeated until all are in range (rounding, 1e-9 p_max, is clipped).  ``None``:
    uncalibrated, the targets themselves."""
    if c_hat_inverse is None:
        return target
    t = np.asarray(target, float)
    out = t.reshape(-1, t.shape[-1]) @ c_hat_inverse.T
    tol = 1e-9 * p_max
    done: dict[bytes, np.ndarray] = {}  # rows met before in this call (e.g. the unstepped base of every step group)
    for r in np.flatnonzero(np.any((out < -tol) | (out > p_max + tol), axis=1)):
        key = out[r].tobytes()
        if key in done:
            out[r] = done[key]
            continue
        p0, p = out[r].copy(), out[r]
        bound, fixed = np.zeros_like(p), np.zeros(p.size, bool)
        while np.any(new := ~fixed & ((p < -tol) | (p > p_max + tol))):
            bound[new], fixed = np.where(p[new] > p_max, p_max, 0.0), fixed | new
            held = np.flatnonzero(fixed)
            lam = np.linalg.solve(c_hat_inverse[held[:, None], held], bound[held] - p0[held])
            p[:] = p0 + c_hat_inverse[:, held] @ lam
            p[held] = bound[held]  # exactly, not up to rounding
        done[key] = p.copy()
    return _clip(out, 0.0, p_max).reshape(t.shape)


def realisable(c_hat_inverse: np.ndarray | None, target: np.ndarray, p_max: float,
               compensated: np.ndarray | None = None) -> np.ndarray:
    """Target powers [W] (..., n) that :func:`compensate` realises, as Ĉ predicts: ``target``
    itself (bit for bit) where the heater is inside 0 … ``p_max`` [W], (Ĉ P)_k with
    P = compensate(Ĉ⁻¹, target, p_max) where heater k is held at a bound.  Idempotent, and
    its output needs no heater outside the bounds.  ``None`` (uncalibrated): ``target``.
    ``compensated``: compensate(Ĉ⁻¹, target, p_max) when the caller has it already."""
    if c_hat_inverse is None:
        return target
    t = np.asarray(target, float)
    rows = t.reshape(-1, t.shape[-1])
    p = compensate(c_hat_inverse, rows, p_max) if compensated is None else compensated.reshape(rows.shape)
    held = (p <= 0.0) | (p >= p_max)
    if not held.any():
        return t
    return np.where(held, np.linalg.solve(c_hat_inverse, p.T).T, rows).reshape(t.shape)  # Ĉ P where held

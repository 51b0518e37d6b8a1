"""Per-MZI phase calibration from a heater sweep: the static arm phase offset φ₀ and the
heater efficiency (P_π) of every MZI, read on the die's own detectors — the standard
characterisation of a thermo-optic MZI before use (e.g. W. Bogaerts et al., "Programmable
photonic circuits", Nature 586, 207 (2020); N. C. Harris et al., Opt. Express 22, 10487
(2014)).

Model.  With heater m driven alone to power P [W] (every other heater off), MZI m's
reading (any node that sees only its light, :meth:`AttenuatorDie._read_mzi`) is

    w(P) = A − B cos(φ₀ + ε κ P),        κ = π / P_π,nominal [rad/W],

A, B > 0 set by couplers, loss and detector gains, φ₀ the arm offset (plus the phase the
neighbours' heat gives at P = 0: none here, they are off), ε the heater's efficiency
relative to nominal (ε = P_π,nominal / P_π).  A sweep of K powers over one nominal period,
0 … 2 P_π, each averaged over N readings, is fitted by least squares: for a given ε the
model is linear in (A, X, Y) with w = A + X cos εκP + Y sin εκP, X = −B cos φ₀,
Y = B sin φ₀; ε is found by a grid scan over ``EFFICIENCY_RANGE`` refined by a parabola
through the best three points (:func:`fit_sweep`, vectorised over MZIs).

Accuracy (:func:`predicted_sigma`): the Gauss-Newton covariance of (φ₀, ε) for reading
noise σ_w per averaged point, from the Jacobian ∂w/∂φ₀ = B sin(φ₀ + εκP),
∂w/∂ε = B κP sin(φ₀ + εκP) together with A, B — the Cramér-Rao bound of the fit; the
tests check the die's errors against it.  For K = 16 points over one period this gives
σ(φ₀) ≈ 0.93 σ_w/B and σ(ε) ≈ 0.29 σ_w/B (mean over offsets; a synthetic check of 400 fits
matched it within 4 %).

Exact in the noise-free limit for any couplers, losses, gains and DAC grid (the fit uses the
applied, quantised powers); biased by readings that carry other MZIs' light (crossing
leaks, the output-bias read-out's dark-neuron leakage) and by the laser wavelength (ε then
includes dφ/dP(λ) / dφ/dP(λ_design), which is what programming needs).
"""

from __future__ import annotations

import numpy as np

#: Heater efficiency (P_π,nominal / P_π) scanned by the fit.
EFFICIENCY_RANGE = (0.6, 1.4)
_GRID = 161
#: Sweep points over one nominal period (0 … 2 P_π, endpoint excluded).
SWEEP_POINTS = 16


def sweep_powers(p_pi: float, points: int = SWEEP_POINTS) -> np.ndarray:
    """Nominal sweep powers [W]: ``points`` equally spaced over 0 … 2 P_π (endpoint excluded)."""
    return np.arange(points) * (2.0 * p_pi / points)


def _design(phase: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(phase), np.cos(phase), np.sin(phase)], -1)


def _residuals(w: np.ndarray, powers: np.ndarray, kappa: float, eff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (A, X, Y) and the residual sum of squares of every MZI (rows of ``w``)
    for every efficiency in ``eff`` (grid,): shapes (grid, n, 3), (grid, n)."""
    d = _design(eff[:, None] * kappa * powers[None, :])                     # (grid, K, 3)
    coef = np.linalg.solve(np.einsum("gki,gkj->gij", d, d), np.einsum("gki,nk->gin", d, w))  # (grid, 3, n)
    fit = np.einsum("gki,gin->gnk", d, coef)
    return coef.transpose(0, 2, 1), ((fit - w[None]) ** 2).sum(-1)


def _fit_each(w: np.ndarray, powers: np.ndarray, kappa: float, eff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, X, Y) (n, 3) and residual sum of squares (n,) of each row of ``w`` at its own
    efficiency ``eff`` (n,) and powers ``powers`` (n, K)."""
    d = _design(eff[:, None] * kappa * powers)                     # (n, K, 3)
    coef = np.linalg.solve(np.einsum("nki,nkj->nij", d, d), np.einsum("nki,nk->ni", d, w)[..., None])[..., 0]
    return coef, ((np.einsum("nki,ni->nk", d, coef) - w) ** 2).sum(-1)


def fit_sweep(w: np.ndarray, powers: np.ndarray, p_pi: float) -> dict[str, np.ndarray]:
    """Fit readings ``w`` (n_mzi, K) at applied heater powers ``powers`` (K,) [W] (or
    (n_mzi, K)) to the module's model.  Returns ``offset`` φ₀ [rad] in (−π, π],
    ``efficiency`` ε [1], ``amplitude`` B and ``mean`` A (reading units) and ``rms_residual``.
    ε: grid scan, then parabolic refinement on grids shrinking by 8× (exact to ~1e-9 noise-free)."""
    w = np.atleast_2d(np.asarray(w, float))
    pw = np.broadcast_to(np.asarray(powers, float), w.shape)
    kappa = np.pi / p_pi
    grid = np.linspace(*EFFICIENCY_RANGE, _GRID)
    eff = np.empty(len(w))
    for rows in _same_powers(pw):
        _, rss = _residuals(w[rows], pw[rows[0]], kappa, grid)             # (grid, n)
        eff[rows] = grid[np.clip(np.argmin(rss, 0), 1, _GRID - 2)]
    step = grid[1] - grid[0]
    for _ in range(8):
        r0, r1, r2 = (_fit_each(w, pw, kappa, eff + k * step)[1] for k in (-1, 0, 1))
        curv = r0 - 2 * r1 + r2
        shift = np.where(curv > 0, 0.5 * (r0 - r2) / np.where(curv > 0, curv, 1.0), 0.0)
        eff = eff + np.clip(shift, -1, 1) * step
        step /= 8
    coef, rss = _fit_each(w, pw, kappa, eff)
    a, x, y = coef.T
    return {"offset": np.arctan2(y, -x), "efficiency": eff, "amplitude": np.hypot(x, y), "mean": a,
            "rms_residual": np.sqrt(rss / w.shape[1])}


def _same_powers(pw: np.ndarray) -> list[np.ndarray]:
    """Groups of rows sharing one power sweep (so one design matrix serves them)."""
    groups: dict[bytes, list[int]] = {}
    for i, row in enumerate(pw):
        groups.setdefault(row.tobytes(), []).append(i)
    return [np.array(g) for g in groups.values()]


def predicted_sigma(amplitude: np.ndarray, sigma_w: np.ndarray, offset: np.ndarray, efficiency: np.ndarray,
                    powers: np.ndarray, p_pi: float) -> tuple[np.ndarray, np.ndarray]:
    """1σ of the fitted (φ₀ [rad], ε [1]) for reading noise ``sigma_w`` per averaged sweep
    point (reading units): Gauss-Newton covariance σ_w² (JᵀJ)⁻¹ of the four-parameter model
    (A, B, φ₀, ε) at the given values, per MZI (arrays broadcast over MZIs)."""
    amp, sw, off, eff = (np.atleast_1d(np.asarray(v, float)) for v in (amplitude, sigma_w, offset, efficiency))
    n = np.broadcast(amp, sw, off, eff).shape[0]
    amp, sw, off, eff = (np.broadcast_to(v, (n,)) for v in (amp, sw, off, eff))
    kp = np.pi / p_pi * np.asarray(powers, float)
    s_phi, s_eff = np.empty(n), np.empty(n)
    for i in range(n):
        arg = off[i] + eff[i] * kp
        jac = np.stack([np.ones_like(kp), -np.cos(arg), amp[i] * np.sin(arg), amp[i] * kp * np.sin(arg)], 1)
        cov = sw[i] ** 2 * np.linalg.inv(jac.T @ jac)
        s_phi[i], s_eff[i] = np.sqrt(cov[2, 2]), np.sqrt(cov[3, 3])
    return s_phi, s_eff

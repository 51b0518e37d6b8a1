"""Coupling length of a symmetric 2×2 coupler from two FDTD S-matrices (pure).

For a mirror-symmetric coupler the even and odd supermodes are excited by
(o1 ± o2)/√2 and S_bar ± S_cross = exp(i φ_even/odd), so

    Δφ(L) = arg[(S_bar + S_cross) / (S_bar − S_cross)] = Δβ · L + Δφ_bends.

Two straight-section lengths L1 < L2 (same bends) give Δβ = [Δφ(L2) − Δφ(L1) + 2πm]/(L2 − L1)
(m chosen nearest a prior Δβ if one is given, else |Δβ (L2−L1)| < π) and
L_c = π / |Δβ| — the length for full power transfer, comparable to λ/(2Δn) of a mode
solver. Bends only add Δφ_bends, which cancels.
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def supermode_phase(s: xr.DataArray, *, source: str = "o1", bar: str = "o4", cross: str = "o3") -> np.ndarray:
    """Δφ [rad] per wavelength (wrapped to (−π, π])."""
    sb = np.asarray(s.sel(port_in=source, port_out=bar).values)
    sc = np.asarray(s.sel(port_in=source, port_out=cross).values)
    return np.angle((sb + sc) / (sb - sc))


def coupling_length(s1: xr.DataArray, length1: float, s2: xr.DataArray, length2: float,
                    prior_um: np.ndarray | float | None = None) -> np.ndarray:
    """L_c [µm] per wavelength from couplers with straight sections ``length1`` < ``length2`` [µm]."""
    dl = length2 - length1
    if dl <= 0:
        raise ValueError(f"length2 = {length2} um must exceed length1 = {length1} um")
    d = np.abs(np.angle(np.exp(1j * (supermode_phase(s2) - supermode_phase(s1)))))  # in [0, π]
    if prior_um is None:
        return np.pi * dl / d
    target = np.broadcast_to(np.pi / np.asarray(prior_um, dtype=float) * dl, d.shape)
    out = np.empty_like(d)
    for k, (dk, tk) in enumerate(zip(d, target)):
        m = np.arange(-1, int(tk / (2 * np.pi)) + 3)
        cands = np.abs(np.concatenate([dk + 2 * np.pi * m, -dk + 2 * np.pi * m]))
        out[k] = cands[np.argmin(np.abs(cands - tk))]
    return np.pi * dl / out

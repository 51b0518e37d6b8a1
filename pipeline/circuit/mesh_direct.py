"""Compiled column-by-column sweeps of brick-wall meshes (issue 16): the transfer matrix
C_{L−1} ⋯ C_0 and the tap correlations R_c = P_c R P_cᴴ, for one wavelength or a stack of
them (leading axis W: one compiled call runs every wavelength, no Python loop).

Cheaper than the fused column blocks of :mod:`pipeline.circuit.mesh_kernels` when only U
or only the tap blocks are wanted (no band storage, no block products): an N×N array that
stays in cache, ≈ 1.5 N³ (product) or 4 N³ (taps) multiply-adds per wavelength.  Both
return None without numba (the caller then uses the fused blocks' numpy sweeps).
"""

from __future__ import annotations

import numpy as np

from pipeline.circuit.mesh_kernels import Plan, compiled


def _columns_padded(pl: Plan, t: np.ndarray) -> np.ndarray:
    """MZI matrices t (…, K, 2, 2) per column, padded with identities: (…, L, 2, 2, H)."""
    lead = t.shape[:-3]
    n_columns = int(pl.column.max()) + 1
    tc = np.zeros(lead + (n_columns, 2, 2, (pl.n + 1) // 2), complex)
    tc[..., 0, 0, :] = tc[..., 1, 1, :] = 1
    tc.reshape(lead + (-1,))[..., pl.idxc4] = np.moveaxis(t, -3, -1).reshape(lead + (4, -1))
    return tc


def column_product(pl: Plan, t: np.ndarray) -> np.ndarray | None:
    """C_{L−1} ⋯ C_0: (N, N) for MZI matrices t (K, 2, 2), (W, N, N) for t (W, K, 2, 2);
    None without numba."""
    nb = compiled()
    if nb is None:
        return None
    tc = _columns_padded(pl, t)
    if t.ndim == 3:
        u = np.eye(pl.n, dtype=complex)
        nb.build_direct(u, tc, pl.n, tc.shape[0])
        return u
    u = np.zeros((t.shape[0], pl.n, pl.n), complex)
    u[:, np.arange(pl.n), np.arange(pl.n)] = 1
    nb.build_direct_w(u, tc, pl.n, tc.shape[1])
    return u


def column_powers(pl: Plan, t: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """(…, K, 3): R_c[p, p], R_c[p, p+1], R_c[p+1, p+1] at every MZI for input correlations
    r (…, N, N) (input transmissions included) and MZI matrices t (…, K, 2, 2), by the
    compiled column sweep of the full correlation; None without numba."""
    nb = compiled()
    if nb is None:
        return None
    n, h = pl.n, (pl.n + 1) // 2
    tc = _columns_padded(pl, t)
    n_columns = tc.shape[-4]
    if t.ndim == 3:
        out = np.zeros((n_columns, 3, h), complex)
        nb.taps_direct(np.array(r, complex, order="C"), tc, out, n, n_columns)
        return out.reshape(-1)[pl.idxc3].T
    w = t.shape[0]
    out = np.zeros((w, n_columns, 3, h), complex)
    nb.taps_direct_w(np.array(r, complex, order="C"), tc, out, n, n_columns)
    return np.swapaxes(out.reshape(w, -1)[:, pl.idxc3], 1, 2)

"""Compiled (numba) versions of the band sweeps of :mod:`pipeline.circuit.mesh_kernels`:
the same algorithms on the same plane-layout arrays, one fused pass per local step
instead of several numpy passes and temporaries.  Optional: importing this module fails
without numba and mesh_kernels then uses its numpy sweeps.

Arrays are flattened over (pair slot, block): band storage (w, 2, H·m), padded MZI
matrices per step (2, 2, H·m); a column of parity o mixes the contiguous runs
``x[d, o, 0:P·m]`` (top rows) and ``x[d − 1, 1 − o, o·m : o·m + P·m]`` (bottom rows).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, fastmath=True)
def _step(src, dst, t, o, n, m, lo, hi):
    pc = (n - o) // 2
    run, ob = pc * m, o * m
    t00, t01, t10, t11 = t[0, 0, :run], t[0, 1, :run], t[1, 0, :run], t[1, 1, :run]
    for d in range(lo, hi):
        a, b = src[d, o, :run], src[d - 1, 1 - o, ob:ob + run]
        ad, bd = dst[d, o, :run], dst[d - 1, 1 - o, ob:ob + run]
        for q in range(run):
            x, y = a[q], b[q]
            ad[q] = t00[q] * x + t01[q] * y
            bd[q] = t10[q] * x + t11[q] * y


@njit(cache=True, nogil=True, fastmath=True)
def build_states(states, steps, n, s, m):
    """states[k + 1] ← C_k states[k] for k < s, from states[0] = the identity band.  Every
    entry later read (offsets within k + 2 of the diagonal in state k) is written, so the
    buffer need not be zeroed; rows outside the column's pairs are copied."""
    hm = states.shape[3]
    w = 2 * s + 1
    for d in range(max(0, s - 2), min(w, s + 3)):
        for pl in range(2):
            for q in range(hm):
                states[0, d, pl, q] = 0
    for r in range(n):
        for j in range(m):
            states[0, s, r % 2, (r // 2) * m + j] = 1
    for k in range(s):
        o = k % 2
        for d in (s - k - 2, s - k - 1, s + k + 1, s + k + 2):
            if 0 <= d < w:
                for pl in range(2):
                    for q in range(hm):
                        states[k + 1, d, pl, q] = 0
        _step(states[k], states[k + 1], steps[k], o, n, m, s - k, s + k + 2)
        pc = (n - o) // 2
        for d in range(max(0, s - k - 1), min(w, s + k + 2)):  # state k is defined there
            if o == 1:
                for j in range(m):
                    states[k + 1, d, 0, j] = states[k, d, 0, j]
            if o + 2 * pc < n:
                r = n - 1
                base = (r // 2) * m
                for j in range(m):
                    states[k + 1, d, r % 2, base + j] = states[k, d, r % 2, base + j]
    return hm


@njit(cache=True, nogil=True, fastmath=True)
def reverse(states, abar, steps, grads, n, s, m):
    """Reverse sweep of the gate gradients: grads[k, a, b, q] = Σ_d abar_{k+1}[row a] S_k[row b],
    abar ← Cᵀ abar, for k = s−1 … 0 over the live offsets."""
    for k in range(s - 1, -1, -1):
        o = k % 2
        pc = (n - o) // 2
        run, ob = pc * m, o * m
        t = steps[k]
        t00, t01, t10, t11 = t[0, 0, :run], t[0, 1, :run], t[1, 0, :run], t[1, 1, :run]
        g00, g01, g10, g11 = grads[k, 0, 0, :run], grads[k, 0, 1, :run], grads[k, 1, 0, :run], grads[k, 1, 1, :run]
        for d in range(s - k, s + k + 2):
            a, b = states[k, d, o, :run], states[k, d - 1, 1 - o, ob:ob + run]
            ga, gb = abar[d, o, :run], abar[d - 1, 1 - o, ob:ob + run]
            for q in range(run):
                x, y, u, v = a[q], b[q], ga[q], gb[q]
                g00[q] += u * x
                g01[q] += u * y
                g10[q] += v * x
                g11[q] += v * y
                ga[q] = t00[q] * u + t10[q] * v
                gb[q] = t01[q] * u + t11[q] * v


def warm() -> None:
    """Compile (or load from the cache) every kernel once on a tiny problem."""
    s, m, n = 2, 1, 4
    hm = 2 * m
    states = np.zeros((s + 1, 2 * s + 1, 2, hm), complex)
    steps = np.zeros((s, 2, 2, hm), complex)
    build_states(states, steps, n, s, m)
    reverse(states, np.zeros((2 * s + 1, 2, hm), complex), steps, np.zeros((s, 2, 2, hm), complex), n, s, m)
    taps_direct(np.zeros((n, n), complex), np.zeros((3, 2, 2, 2), complex), np.zeros((3, 3, 2), complex), n, 3)


@njit(cache=True, nogil=True, fastmath=True)
def transfer(a0, a1, u, l, v, w, theta, phi, t, dt_theta, dt_phi, derivatives):
    """MZI matrices t (2, 2, K) (and dT/dθ, dT/dφ) in closed form, one pass:
    T[a, b] = (a0[a,b] u e^{iθ} + a1[a,b] l) e_b with e = (v e^{iφ}, w)."""
    for k in range(theta.size):
        i0 = u[k] * complex(np.cos(theta[k]), np.sin(theta[k]))
        e0 = v[k] * complex(np.cos(phi[k]), np.sin(phi[k]))
        e1 = w[k]
        for a in range(2):
            f0 = a0[a, 0, k] * i0 + a1[a, 0, k] * l[k]
            f1 = a0[a, 1, k] * i0 + a1[a, 1, k] * l[k]
            t[a, 0, k] = f0 * e0
            t[a, 1, k] = f1 * e1
            if derivatives:
                dt_theta[a, 0, k] = a0[a, 0, k] * (1j * i0) * e0
                dt_theta[a, 1, k] = a0[a, 1, k] * (1j * i0) * e1
                dt_phi[a, 0, k] = 1j * f0 * e0
                dt_phi[a, 1, k] = 0


@njit(cache=True, nogil=True, fastmath=True)
def taps_direct(r, tc, out, n, n_columns):
    """Tap sweep column by column on the full correlation: out[c, 0|1|2, i] = R_c[p,p],
    R_c[p,p+1], R_c[p+1,p+1] (p = c mod 2 + 2i), then R ← C_c R C_cᴴ in place; r (N, N),
    tc (L, 2, 2, H) the padded MZI matrices of every column.  4N³ multiply-adds on an N×N
    array that stays in cache: no block products, no band storage."""
    for c in range(n_columns):
        o = c % 2
        pc = (n - o) // 2
        for i in range(pc):
            p = o + 2 * i
            out[c, 0, i] = r[p, p]
            out[c, 1, i] = r[p, p + 1]
            out[c, 2, i] = r[p + 1, p + 1]
        if c == n_columns - 1:
            break
        for i in range(pc):  # R ← C R
            p = o + 2 * i
            t00, t01, t10, t11 = tc[c, 0, 0, i], tc[c, 0, 1, i], tc[c, 1, 0, i], tc[c, 1, 1, i]
            ra, rb = r[p], r[p + 1]
            for q in range(n):
                a, b = ra[q], rb[q]
                ra[q] = t00 * a + t01 * b
                rb[q] = t10 * a + t11 * b
        for q in range(n):  # R ← R Cᴴ
            rq = r[q]
            for i in range(pc):
                p = o + 2 * i
                c00, c01 = tc[c, 0, 0, i].conjugate(), tc[c, 0, 1, i].conjugate()
                c10, c11 = tc[c, 1, 0, i].conjugate(), tc[c, 1, 1, i].conjugate()
                a, b = rq[p], rq[p + 1]
                rq[p] = a * c00 + b * c01
                rq[p + 1] = a * c10 + b * c11


@njit(cache=True, nogil=True, fastmath=True)
def build_direct(u, tc, n, n_columns):
    """U ← C_c U for every column, in place from u = I, each row pair only over the dense
    columns it can reach after c columns (|q − p| ≤ c + 1): ≈ 1.5 N³ multiply-adds on an
    N×N array that stays in cache."""
    for c in range(n_columns):
        o = c % 2
        pc = (n - o) // 2
        for i in range(pc):
            p = o + 2 * i
            t00, t01, t10, t11 = tc[c, 0, 0, i], tc[c, 0, 1, i], tc[c, 1, 0, i], tc[c, 1, 1, i]
            ra, rb = u[p], u[p + 1]
            for q in range(max(0, p - c - 1), min(n, p + c + 3)):
                a, b = ra[q], rb[q]
                ra[q] = t00 * a + t01 * b
                rb[q] = t10 * a + t11 * b


@njit(cache=True, nogil=True, fastmath=True)
def build_direct_w(u, tc, n, n_columns):
    """:func:`build_direct` for every wavelength of a stack: u (W, N, N), tc (W, L, 2, 2, H)."""
    for w in range(u.shape[0]):
        build_direct(u[w], tc[w], n, n_columns)


@njit(cache=True, nogil=True, fastmath=True)
def taps_direct_w(r, tc, out, n, n_columns):
    """:func:`taps_direct` for every wavelength of a stack: r (W, N, N) (overwritten),
    tc (W, L, 2, 2, H), out (W, L, 3, H)."""
    for w in range(r.shape[0]):
        taps_direct(r[w], tc[w], out[w], n, n_columns)

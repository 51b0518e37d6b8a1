"""Fused-column kernels for brick-wall MZI meshes (Clements, Reck): the transfer-matrix
build, the batch-correlation gradient sweep and the tap-power sweep (issue 16).

Layout.  In a brick-wall mesh column c holds MZIs on mode pairs (o + 2i, o + 2i + 1) with
o = c mod 2; missing MZIs (Reck's triangle, odd N) are padded with identities, so a column
acts on the rows of an N×N matrix as one strided even/odd update (views, no fancy-indexed
copies).  The L columns are cut into m blocks of s consecutive columns (s even; s ≈ N/8
with the numpy sweeps, ≈ N/4 with the compiled ones, :func:`block_depth`):

    U = c · D · F_{m−1} ⋯ F_0 · diag(input),      F_j = C_{js+s−1} ⋯ C_{js},

and every F_j is banded (half-bandwidth ≤ s).  All m blocks are built together in band
storage ``S[k][j, i, d] = (C_{js+k−1} ⋯ C_{js})[i, i + d − s]`` (the local prefix states,
k = 0…s, kept for the sweeps): s vectorised strided updates over (m, N/2, 2s) elements.
The products of the F_j are dense BLAS matrix products.  Elementwise work is O(N² s), BLAS
work O(N⁴ / s).

Gradients.  dL/dp = Re tr(dU K), K = x gᴴ.  For a gate in block j, tr(dU K) = tr(dF_j Z_j)
with Z_j = P_j K Q_j (P_j the prefix of block j including the inputs, Q_j its suffix
including the screen): 2m BLAS products.  tr(dF_j Z_j) needs only the band (half-width s)
of Z_j; it is back-propagated through the s local steps of all blocks at once (reverse
mode on the band states), giving ∂/∂T of every MZI (four band dot products per step).

Tap powers.  The batch-summed powers at column c are the 2×2 diagonal blocks of
R_c = P_c R P_cᴴ (R = z zᴴ).  R_j = P_j R P_jᴴ at the block starts costs 2m BLAS products;
within a block Y_k = L_k R_j (L_k the local prefix state) is propagated by strided row
updates on its band (half-width 2s + 1, which shrinks by one per step and stays ≥ s + 1),
and the blocks are Y_k[p, ·] · conj(L_k[q, ·]) over the band.

Storage.  Band arrays use a plane layout (w, 2, ⌈N/2⌉, m) — offset, row parity, row // 2,
block — so an even/odd update is a contiguous run over (pairs × blocks) for every offset,
and every sweep touches only the offsets that can be non-zero at its step (the "live"
band, half-width k + 1 at local step k).  The sweeps run as numpy strided updates or, if
numba is installed, as the compiled loops of :mod:`pipeline.circuit.mesh_numba` (same
arithmetic, one pass per step; ``USE_NUMBA`` / ``PHOTOPROP_NUMBA=0`` choose).  The last
KEEP builds are kept, keyed by (hardware, θ, φ), so a forward pass followed by its
gradient or tap readings at the same phases rebuilds nothing; large buffers are recycled
(fresh allocations of this size page-fault on every call).
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided


@dataclass(frozen=True)
class Plan:
    """Column/block tables of one layout: MZI k sits in block ``blk[k]``, local step
    ``step[k]``, slot ``slot[k]`` (pair index within its column)."""

    n: int
    s: int
    m: int
    pmax: int
    blk: np.ndarray
    step: np.ndarray
    slot: np.ndarray
    column: np.ndarray

    def __post_init__(self) -> None:
        hm = (self.n + 1) // 2 * self.m
        pos = self.slot * self.m + self.blk
        object.__setattr__(self, "hm", hm)  # flat positions in (s, 2·2 | 3, H, m) arrays
        object.__setattr__(self, "idx4", (self.step * 4 * hm + pos)[None, :] + (np.arange(4) * hm)[:, None])
        object.__setattr__(self, "idx3", (self.step * 3 * hm + pos)[None, :] + (np.arange(3) * hm)[:, None])
        h = (self.n + 1) // 2  # per-column padded layout (L, 2, 2, H) / (L, 3, H) of the direct tap sweep
        object.__setattr__(self, "idxc4", (self.column * 4 * h + self.slot)[None, :] + (np.arange(4) * h)[:, None])
        object.__setattr__(self, "idxc3", (self.column * 3 * h + self.slot)[None, :] + (np.arange(3) * h)[:, None])
        eye = np.zeros((self.s, 2, 2, (self.n + 1) // 2, self.m), complex)
        eye[:, 0, 0] = eye[:, 1, 1] = 1
        object.__setattr__(self, "eye", eye)


_PLANS: dict[tuple[int, bool], tuple[object, Plan | None]] = {}

#: Use the compiled sweeps of :mod:`pipeline.circuit.mesh_numba`: None = if numba imports
#: (and the environment variable PHOTOPROP_NUMBA is not "0"), True/False to force.
USE_NUMBA: bool | None = None
_NB: list = []


def compiled():
    """The numba kernels module, or None (numpy sweeps)."""
    if USE_NUMBA is False:
        return None
    if not _NB:
        mod = None
        if USE_NUMBA or os.environ.get("PHOTOPROP_NUMBA", "1") != "0":
            try:
                from pipeline.circuit import mesh_numba as mod
            except ImportError:
                if USE_NUMBA:
                    raise
                mod = None
        _NB.append(mod)
    return _NB[0]


def block_depth(n: int, n_columns: int, fast_sweeps: bool = False) -> int:
    """Columns per fused block (even): balances the O(N² s) band sweeps against the
    O(N⁴/s) block products (measured: s ≈ N/8 with the numpy sweeps, ≈ N/4 compiled)."""
    s = max(2, 2 * int(round(n / (8 if fast_sweeps else 16))))
    return min(s, n_columns + n_columns % 2)


def plan(layout) -> Plan | None:
    """The fused-column plan of ``layout`` or None if it is not a brick wall (some column
    has MZIs off its parity c mod 2 — then the generic path is used)."""
    fast = compiled() is not None
    hit = _PLANS.get((id(layout), fast))
    if hit is not None and hit[0] is layout:
        return hit[1]
    n, modes, col = layout.n, np.asarray(layout.modes), np.asarray(layout.column)
    p = None
    if modes.size and np.all(modes % 2 == col % 2) and np.all(modes + 1 < n):
        slot = (modes - col % 2) // 2
        key = col * n + slot
        if np.unique(key).size == key.size:
            s = block_depth(n, layout.n_columns, fast)
            m = -(-layout.n_columns // s)
            p = Plan(n, s, m, n // 2, col // s, col % s, slot, col)
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[(id(layout), fast)] = (layout, p)
    return p


@dataclass
class Build:
    """Band states ``states`` (s+1, w, 2, H, m) in plane layout (module doc, w = 2s + 1,
    H = ceil(N/2)), dense blocks F (m, N, N) (views into padded storage), left products
    V[j] = F_{m−1} ⋯ F_j (V[m] = None: identity) and the padded MZI matrices per local step
    ``steps`` (s, 2, 2, H, m)."""

    plan: Plan
    states: np.ndarray
    blocks: np.ndarray
    steps: np.ndarray
    pad: np.ndarray
    owner: object = None
    _left: list | None = None

    @property
    def left(self) -> list:
        """V[j] = F_{m−1} ⋯ F_j (m − 1 BLAS products, formed on first use: a tap pass needs none)."""
        if self._left is None:
            m = self.plan.m
            left = [None] * (m + 1)
            v = self.blocks[m - 1]
            left[m - 1] = v if m > 1 else np.ascontiguousarray(v)
            for j in range(m - 2, -1, -1):
                v = v @ self.blocks[j]
                left[j] = v
            self._left = left
        return self._left

    @property
    def product(self) -> np.ndarray:
        return self.left[0]


# Plane layout of band storage: X[d, r mod 2, r // 2, j] = (band of block j)[row r, offset d],
# so that a column's even/odd update is a contiguous (pairs × blocks) run for every offset d.

def _padded(pl: Plan, t: np.ndarray) -> np.ndarray:
    steps = pl.eye.copy()
    steps.reshape(-1)[pl.idx4] = np.moveaxis(t, 0, -1).reshape(4, -1)
    return steps


def _split(x: np.ndarray, o: int, n: int, lo: int = 1, hi: int | None = None) -> tuple[int, np.ndarray, np.ndarray]:
    """(pairs, top rows, bottom rows) of band storage x (w, 2, H, m) for a column of parity o;
    the top rows are taken at offsets lo…hi−1, the bottom rows at lo−1…hi−2 (the same dense
    columns; default: the whole band)."""
    pc = (n - o) // 2
    hi = x.shape[0] if hi is None else hi
    return pc, x[lo:hi, o, :pc], x[lo - 1:hi - 1, 1 - o, o:o + pc]


def _live(s: int, k: int) -> tuple[int, int]:
    """Offsets (lo, hi) of the top-row view that can be non-zero around local step k of a
    block of depth s: the state before step k has half-bandwidth k (rows p, p+1 together span
    dense columns p − k … p + k + 1)."""
    return s - k, s + k + 2


def _rows(src: np.ndarray, dst: np.ndarray, tk: np.ndarray, o: int, n: int, tmp: np.ndarray,
          lo: int = 1, hi: int | None = None) -> None:
    """dst ← C src on band storage (w, 2, H, m) with the column's padded MZIs tk (2, 2, H, m),
    over top-row offsets lo…hi−1 (the rest of dst is left as it is); src may be dst."""
    pc, a, b = _split(src, o, n, lo, hi)
    t00, t01, t10, t11 = tk[0, 0, :pc], tk[0, 1, :pc], tk[1, 0, :pc], tk[1, 1, :pc]
    x = tmp[0, :a.shape[0], :pc]
    if src is dst:
        y = tmp[1, :a.shape[0], :pc]
        np.multiply(a, t10, out=x)
        np.multiply(a, t00, out=a)
        np.multiply(b, t01, out=y)
        a += y
        b *= t11
        b += x
        return
    _, ad, bd = _split(dst, o, n, lo, hi)
    np.multiply(a, t00, out=ad)
    np.multiply(b, t01, out=x)
    ad += x
    np.multiply(a, t10, out=bd)
    np.multiply(b, t11, out=x)
    bd += x
    if o:
        dst[:, 0, 0] = src[:, 0, 0]
    if o + 2 * pc < n:
        dst[:, (n - 1) % 2, (n - 1) // 2] = src[:, (n - 1) % 2, (n - 1) // 2]


def _band(a: np.ndarray, width: int) -> np.ndarray:
    """Band view (…, N, width) of padded dense storage (…, N, N + width − 1): [i, d] ↦ a[i, i + d]."""
    st = a.strides
    return as_strided(a, a.shape[:-1] + (width,), st[:-2] + (st[-2] + st[-1], st[-1]), writeable=True)


def _to_planes(band: np.ndarray) -> np.ndarray:
    """(m, N, w) band → plane layout (w, 2, H, m)."""
    m, n, w = band.shape
    x = _scratch((w, 2, (n + 1) // 2, m))
    x[:, 1, n // 2:] = 0  # the odd plane's spare slot (odd N)
    x[:, 0, :(n + 1) // 2] = band[:, 0::2].transpose(2, 1, 0)
    x[:, 1, :n // 2] = band[:, 1::2].transpose(2, 1, 0)
    return x


def _from_planes(x: np.ndarray, band: np.ndarray) -> None:
    n = band.shape[1]
    band[:, 0::2] = x[:, 0, :(n + 1) // 2].transpose(2, 1, 0)
    band[:, 1::2] = x[:, 1, :n // 2].transpose(2, 1, 0)


def build(pl: Plan, t: np.ndarray) -> Build:
    """Band states, dense blocks and left products for MZI matrices t (K, 2, 2)."""
    n, s, m = pl.n, pl.s, pl.m
    h = (n + 1) // 2
    steps = _padded(pl, t)
    nb = compiled()
    if nb is not None:  # the kernel defines every entry that is read later (recycled buffer)
        states = _scratch((s + 1, 2 * s + 1, 2, h, m))
        nb.build_states(states.reshape(s + 1, 2 * s + 1, 2, h * m), steps.reshape(s, 2, 2, h * m), n, s, m)
    else:
        states = np.zeros((s + 1, 2 * s + 1, 2, h, m), complex)
        states[0, s] = 1
        if n % 2:
            states[0, s, 1, h - 1] = 0  # the odd plane's spare slot
        tmp = np.empty((2, 2 * s, h, m), complex)
        for k in range(s):  # the rest of each state stays zero
            _rows(states[k], states[k + 1], steps[k], k % 2, n, tmp, *_live(s, k))
    pad = _scratch((m, n, n + 2 * s))
    pad.fill(0)
    _from_planes(states[s], _band(pad, 2 * s + 1))
    return Build(pl, states, pad[:, :, s:s + n], steps, pad)


_BUILDS: "OrderedDict[tuple, Build]" = OrderedDict()
_POOL: dict[tuple, list] = {}
KEEP = 4  # builds kept for reuse (a forward, the Hughes passes)


def _scratch(shape: tuple) -> np.ndarray:
    """An uninitialised complex buffer, recycled when one of that shape is free (fresh large
    allocations cost page faults on every call)."""
    free = _POOL.get(shape)
    return free.pop() if free else np.empty(shape, complex)


def _give(*arrays: np.ndarray) -> None:
    """Return buffers no one else holds (this frame, the tuple, the call: refcount ≤ 3)."""
    for a in arrays:
        if sys.getrefcount(a) <= 4 and a.base is None:
            free = _POOL.setdefault(a.shape, [])
            if len(free) < KEEP:
                free.append(a)


def cached_build(key_obj: object, pl: Plan, theta: np.ndarray, phi: np.ndarray, make_t) -> Build:
    """Build for (key_obj, θ, φ), reusing one of the last few (a forward followed by its
    gradient or the Hughes passes rebuilds nothing).  ``make_t()`` gives the MZI matrices.
    A returned build is valid until KEEP further builds (its buffers are then recycled
    unless something else still holds them)."""
    theta, phi = np.asarray(theta, float), np.asarray(phi, float)
    key = (id(key_obj), theta.tobytes(), phi.tobytes())
    hit = _BUILDS.get(key)
    if hit is not None and hit.owner is key_obj:
        _BUILDS.move_to_end(key)
        return hit
    b = build(pl, make_t())
    b.owner = key_obj
    _BUILDS[key] = b
    while len(_BUILDS) > KEEP:
        _, old = _BUILDS.popitem(last=False)
        if sys.getrefcount(old) <= 2:  # nobody else holds the build: recycle its buffers
            st, pad = old.states, old.pad
            old.states = old.pad = old.blocks = old._left = None
            del old
            if compiled() is not None:  # the numpy sweeps rely on zeroed states
                _give(st)
            _give(pad)
    return b


def _dot0(a: np.ndarray, b: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Σ_d a[d] b[d] (sum over the leading band offset)."""
    np.multiply(a, b, out=tmp)
    return tmp.sum(0)


def gate_gradients(b: Build, k_in: np.ndarray, screen: np.ndarray) -> np.ndarray:
    """∂ tr(U K)/∂T_k (K, 2, 2) for every MZI (module doc); ``k_in`` = diag(input)·c·K
    (c the common column transmission), ``screen`` the output screen D (N,)."""
    pl = b.plan
    n, s, m = pl.n, pl.s, pl.m
    zpad = _scratch((m, n + 2 * s, n))
    zpad[:, :s] = 0
    zpad[:, s + n:] = 0
    pk = k_in
    for j in range(m):
        if j:
            pk = b.blocks[j - 1] @ pk
        pks = pk * screen[None, :]
        if j == m - 1:
            zpad[j, s:s + n] = pks
        else:
            np.matmul(pks, b.left[j + 1], out=zpad[j, s:s + n])
    box = [zpad]
    del zpad
    return reverse_sweep(b, box)


def reverse_sweep(b: Build, box: list) -> np.ndarray:
    """∂ tr(F_j Z_j)/∂T_k (K, 2, 2) from the padded blocks Z_j (m, N + 2s, N) handed over in
    ``box`` (a recycled buffer: popped and given back): the reverse sweep over the band
    states of all blocks at once."""
    zpad = box.pop()
    pl = b.plan
    n, s, m = pl.n, pl.s, pl.m
    h = (n + 1) // 2
    st = zpad.strides
    abar = _to_planes(as_strided(zpad, (m, n, 2 * s + 1), (st[0], st[1] + st[2], st[1])))  # Zᵀ band
    _give(zpad)
    del zpad
    grads = np.zeros((s, 2, 2, h, m), complex)
    nb = compiled()
    if nb is not None:
        w = 2 * s + 1
        nb.reverse(b.states.reshape(s + 1, w, 2, h * m), abar.reshape(w, 2, h * m),
                   np.ascontiguousarray(b.steps).reshape(s, 2, 2, h * m), grads.reshape(s, 2, 2, h * m), n, s, m)
        _give(abar)
        return np.moveaxis(grads.reshape(-1)[pl.idx4].reshape(2, 2, -1), -1, 0)
    tmp = np.empty((2, 2 * s, h, m), complex)
    for k in range(s - 1, -1, -1):
        o = k % 2
        lo, hi = _live(s, k)  # abar is needed, and S_k non-zero, only there
        pc, a, bb = _split(b.states[k], o, n, lo, hi)
        _, ga, gb = _split(abar, o, n, lo, hi)
        x = tmp[0, :hi - lo, :pc]
        g = grads[k]
        g[0, 0, :pc] = _dot0(ga, a, x)
        g[0, 1, :pc] = _dot0(ga, bb, x)
        g[1, 0, :pc] = _dot0(gb, a, x)
        g[1, 1, :pc] = _dot0(gb, bb, x)
        _rows(abar, abar, np.swapaxes(b.steps[k], 0, 1), o, n, tmp, lo, hi)  # abar ← Cᵀ abar
    return np.moveaxis(grads.reshape(-1)[pl.idx4].reshape(2, 2, -1), -1, 0)


def block_powers(b: Build, r: np.ndarray) -> np.ndarray:
    """(K, 3): R_c[p, p], R_c[p, p+1], R_c[p+1, p+1] at every MZI (pair p, p+1 in column c)
    for the input correlation r (N, N) (already including the input transmissions; the
    common column transmissions are not applied here).  The numpy sweeps; compiled, the
    direct column sweep :func:`pipeline.circuit.mesh_direct.column_powers` is faster (no
    block products)."""
    pl = b.plan
    n, s, m = pl.n, pl.s, pl.m
    h = 2 * s + 1
    rpad = _scratch((m, n, n + 2 * h))
    rpad[:, :, :h] = 0
    rpad[:, :, h + n:] = 0
    rj = r
    rpad[0, :, h:h + n] = rj
    for j in range(1, m):
        f = b.blocks[j - 1]
        rj = (f @ rj) @ f.conj().T
        rpad[j, :, h:h + n] = rj
    box = [rpad]
    del rpad
    return band_powers(b, box)


def band_powers(b: Build, box: list) -> np.ndarray:
    """(K, 3) tap blocks from the block-start correlations R_j in padded storage rpad
    (m, N, N + 2(2s + 1)) handed over in ``box`` (a recycled buffer: popped and given back):
    the band sweep of all blocks."""
    rpad = box.pop()
    pl = b.plan
    n, s, m = pl.n, pl.s, pl.m
    hh = (n + 1) // 2
    h = 2 * s + 1
    y = _to_planes(_band(rpad, 2 * h + 1))
    _give(rpad)
    del rpad
    out = np.zeros((s, 3, hh, m), complex)
    sc = b.states.conj()
    tmp = np.empty((2, 2 * h, hh, m), complex)
    for k in range(s):
        o = k % 2
        pc = (n - o) // 2
        d = slice(s - k, s + k + 1)  # the support of the rows of S_k (half-bandwidth k)
        w, w1 = slice(h - k, h + k + 1), slice(h - k + 1, h + k + 2)
        x = tmp[0, :2 * k + 1, :pc]
        sp, sq = sc[k, d, o, :pc], sc[k, d, 1 - o, o:o + pc]
        out[k, 0, :pc] = _dot0(y[w, o, :pc], sp, x)
        out[k, 2, :pc] = _dot0(y[w, 1 - o, o:o + pc], sq, x)
        out[k, 1, :pc] = _dot0(y[w1, o, :pc], sq, x)
        if k < s - 1:  # Y_{k+1} is needed within half-bandwidth k + 2 ≤ s + 1 at the later steps
            _rows(y, y, b.steps[k], o, n, tmp, h - 2 * s + k, h + 2 * s - k + 1)
    return out.reshape(-1)[pl.idx3].T

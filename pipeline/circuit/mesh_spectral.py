"""Meshes over a wavelength axis (issue 16): the dispersion of programmed phases, the MZI
matrices and the transfer matrices of all W wavelengths of a :class:`MeshHardware` whose
arrays carry a leading wavelength axis, vectorised over it (compiled: one call for the
stack, :mod:`pipeline.circuit.mesh_direct`; numpy: the fused column blocks of all
wavelengths built together as W·m blocks, :func:`wavelength_plan`).  Gradients and the
Hughes procedure over the axis: :mod:`pipeline.circuit.mesh_spectral_gradients`.

Phase dispersion.  A phase accumulated over a length L by an index contribution n(λ)
(the arm's whole effective index, or the part a heater or a width difference adds) is
φ(λ) = 2π n(λ) L / λ.  To first order about λ0, with the group index of that contribution
n_g = n − λ dn/dλ,

    n(λ) ≈ n(λ0) − (n_g − n(λ0)) (λ − λ0) / λ0,
    φ(λ) = φ(λ0) · (λ0/λ) · [1 − (ν − 1)(λ − λ0)/λ0],      ν = n_g / n(λ0)

(:func:`phase_dispersion`; equivalently φ(λ) = 2π L [n_g/λ − (n_g − n(λ0))/λ0], whose
dφ/dλ = −2π L n_g/λ² is the group delay; the error is second order in λ − λ0).  ν per cause:
a propagation phase ν = n_g/n_eff (waveguide compact model); a heater's thermo-optic phase
δn = (∂n_eff/∂T) ΔT, whose dφ/dP(λ) = 2π L δn(λ)/λ gives ν_T = −λ0 (d/dλ dφ/dP)/(dφ/dP);
a width difference between two arms ν_w = (∂n_g/∂w)/(∂n_eff/∂w).  The result is applied
as ``MeshHardware.phase_scale[w] = φ(λ_w)/φ(λ0)``.
"""

from __future__ import annotations

import numpy as np

from pipeline.circuit import mesh_direct, mesh_kernels
from pipeline.circuit.mesh_kernels import Plan


def phase_dispersion(wavelength: np.ndarray | float, wavelength0: float, index_ratio: np.ndarray | float
                     ) -> np.ndarray:
    """φ(λ)/φ(λ0) = (λ0/λ)·[1 − (ν − 1)(λ − λ0)/λ0] (module doc) for wavelengths [µm] and
    the group-to-phase index ratio ν = n_g/n of the index contribution making the phase."""
    lam, lam0 = np.asarray(wavelength, float), float(wavelength0)
    return (lam0 / lam) * (1.0 - (np.asarray(index_ratio, float) - 1.0) * (lam - lam0) / lam0)


def phases(hw, v: np.ndarray) -> np.ndarray:
    """Realised phases (W, size) [rad]: shared phases (size,) times ``hw.phase_scale``, or
    per-wavelength phases (W, size) as given."""
    v = np.asarray(v, float)
    return v if v.ndim == 2 else hw.phase_scale[:, None] * v[None, :]


def slice_hardware(hw, w: int):
    """hw.at(w), memoised on hw (so the single-wavelength caches keyed by object hit)."""
    memo = hw.__dict__.setdefault("_slices", {})
    if w not in memo:
        memo[w] = hw.at(w)
    return memo[w]


_COUPLERS: dict[int, tuple] = {}


def _coupler_products(hw) -> tuple[np.ndarray, np.ndarray]:
    """C2[a,0]·C1[0,b] and C2[a,1]·C1[1,b] (2, 2, W, K) (cached per hardware object)."""
    c1, c2 = hw.coupler1, hw.coupler2
    hit = _COUPLERS.get(id(hw))
    if hit is not None and hit[0] is hw and np.array_equal(hit[1], c1) and np.array_equal(hit[2], c2):
        return hit[3], hit[4]
    a0 = np.ascontiguousarray(np.moveaxis(c2[..., :, 0, None] * c1[..., None, 0, :], (0, 1), (2, 3)))
    a1 = np.ascontiguousarray(np.moveaxis(c2[..., :, 1, None] * c1[..., None, 1, :], (0, 1), (2, 3)))
    if len(_COUPLERS) > 16:
        _COUPLERS.clear()
    _COUPLERS[id(hw)] = (hw, np.array(c1), np.array(c2), a0, a1)
    return a0, a1


def transfer(hw, theta: np.ndarray, phi: np.ndarray, derivatives: bool = False) -> tuple[np.ndarray, ...]:
    """MZI matrices T (W, K, 2, 2) at the realised phases (:func:`phases`) and, with
    ``derivatives``, dT/dθ_w, dT/dφ_w (closed form of MeshHardware.transfer, per element)."""
    th, ph = phases(hw, theta), phases(hw, phi)
    w, k = th.shape
    a0, a1 = _coupler_products(hw)
    nb = mesh_kernels.compiled()
    if nb is not None:
        out = [np.empty((2, 2, w * k), complex) for _ in range(3 if derivatives else 1)]
        d1, d2 = (out[1], out[2]) if derivatives else (out[0], out[0])
        nb.transfer(a0.reshape(2, 2, -1), a1.reshape(2, 2, -1), hw.internal[..., 0].ravel(),
                    hw.internal[..., 1].ravel(), hw.external[..., 0].ravel(), hw.external[..., 1].ravel(),
                    th.ravel(), ph.ravel(), out[0], d1, d2, derivatives)
        return tuple(np.moveaxis(v.reshape(2, 2, w, k), (0, 1), (2, 3)) for v in out)
    i0 = hw.internal[..., 0] * np.exp(1j * th)
    e = np.stack([hw.external[..., 0] * np.exp(1j * ph), hw.external[..., 1]])
    t = (a0 * i0 + a1 * hw.internal[..., 1]) * e[None]
    if not derivatives:
        return (np.moveaxis(t, (0, 1), (2, 3)),)
    dt_theta = a0 * (1j * i0) * e[None]
    dt_phi = np.zeros_like(t)
    dt_phi[:, 0] = t[:, 0] * 1j
    return tuple(np.moveaxis(v, (0, 1), (2, 3)) for v in (t, dt_theta, dt_phi))


_WPLANS: dict[tuple[int, int], tuple[Plan, Plan]] = {}


#: Columns per fused block with a wavelength axis, as a fraction of the single-wavelength
#: depth (mesh_kernels.block_depth).  The band states of all W wavelengths are held at once
#: (≈ 2 s N W L elements); 0.5 and 0.25 measured no faster at N = 64, W = 32 (shared machine).
DEPTH_FRACTION = 1.0


def wavelength_plan(pl: Plan, w: int) -> Plan:
    """The plan of W copies of a layout side by side: wavelength v's block j is block
    v·m + j of a W·m-block plan (the band sweeps then run over all wavelengths at once),
    with blocks of depth s = DEPTH_FRACTION × the single-wavelength depth (even, ≥ 2)."""
    hit = _WPLANS.get((id(pl), w))
    if hit is not None and hit[0] is pl:
        return hit[1]
    n_columns = int(pl.column.max()) + 1
    s = min(max(2, 2 * int(round(pl.s * DEPTH_FRACTION / 2))), n_columns + n_columns % 2)
    m = -(-n_columns // s)
    off = (np.arange(w)[:, None] * m)
    wp = Plan(pl.n, s, w * m, pl.pmax, (off + (pl.column // s)[None]).ravel(), np.tile(pl.column % s, w),
              np.tile(pl.slot, w), np.tile(pl.column, w))
    if len(_WPLANS) > 16:
        _WPLANS.clear()
    _WPLANS[(id(pl), w)] = (pl, wp)
    return wp


def build(hw, theta: np.ndarray, phi: np.ndarray, t: np.ndarray | None = None) -> "mesh_kernels.Build | None":
    """Fused-column build of all wavelengths (W·m blocks; cached as single builds are) with
    its left products per wavelength: ``left[j]`` (W, N, N), ``product`` (W, N, N) the
    column products; None for a layout that is not a brick wall.  ``t``: the MZI matrices
    (W, K, 2, 2) at these phases if already computed."""
    pl = mesh_kernels.plan(hw.layout)
    if pl is None:
        return None
    th, ph = phases(hw, theta), phases(hw, phi)
    w, k = th.shape
    b = mesh_kernels.cached_build(hw, wavelength_plan(pl, w), th, ph,
                                  lambda: (transfer(hw, th, ph)[0] if t is None else t).reshape(w * k, 2, 2))
    if b._left is None:  # per wavelength (Build.left would chain blocks across wavelengths)
        m, n = b.plan.m // w, pl.n
        blocks = b.blocks.reshape(w, m, n, n)
        left = [None] * (m + 1)
        v = blocks[:, m - 1]
        left[m - 1] = v if m > 1 else np.ascontiguousarray(v)
        for j in range(m - 2, -1, -1):
            v = np.matmul(v, blocks[:, j])
            left[j] = v
        b._left = left
    return b


def matrix(hw, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None = None) -> np.ndarray:
    """(W, N, N) transfer matrices at every wavelength (W = 1: the single-wavelength code
    path on the slice, bit-identical to it)."""
    w, n = hw.n_wavelengths, hw.layout.n
    th, ph = phases(hw, theta), phases(hw, phi)
    psi = np.zeros((w, n)) if output_phases is None else phases(hw, output_phases)
    if w == 1:
        return slice_hardware(hw, 0).matrix(th[0], ph[0], None if output_phases is None else psi[0])[None]
    pl = mesh_kernels.plan(hw.layout)
    u = None
    if pl is not None:
        u = mesh_direct.column_product(pl, transfer(hw, th, ph)[0])  # compiled: one call for the stack
        if u is None:
            u = build(hw, th, ph).product
    if u is None:  # not a brick wall: the generic single-wavelength path per wavelength
        return np.stack([slice_hardware(hw, v).matrix(th[v], ph[v], psi[v]) for v in range(w)])
    return (np.prod(hw.columns, -1)[:, None] * hw.output * np.exp(1j * psi))[:, :, None] * u * hw.input[:, None, :]

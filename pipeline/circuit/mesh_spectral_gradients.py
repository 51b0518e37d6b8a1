"""Phase gradients and the in-situ (Hughes) procedure of a mesh over a wavelength axis
(:mod:`pipeline.circuit.mesh_spectral`), vectorised over it: the fused column blocks of
all W wavelengths are built and reverse-swept together (W·m blocks), the tap sweeps run
as one compiled call for the stack.

Loss.  L = Σ_w L_w(Y_w), Y_w = U_w x_w; adjoint fields g_w (W, N, B) as in
:mod:`pipeline.circuit.mesh_gradients`.  Per-wavelength phases θ_w give ∂L/∂θ_w (W, K);
shared phases θ (K,) realised as c_w θ (c = ``phase_scale``) give the chain rule
dL/dθ = Σ_w c_w ∂L_w/∂θ_w.

In situ.  The wavelengths are mutually incoherent: a (broadband) tap detector reads
Σ_w |field_w|², so the three readings of the procedure are wavelength sums and the
estimate is −(I_sum − I_fwd − I_TR) = Σ_w ∂L_w/∂θ_w — the sum over the *realised*
phases, not weighted by c_w (the procedure cannot see the phase dispersion: a bias of
order (c_w − 1) ≈ Δλ/λ0 relative).  Each wavelength's adjoint is sent and its X_adj read
at the inputs per wavelength (a demultiplexed coherent receiver).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pipeline.circuit import mesh_direct, mesh_kernels
from pipeline.circuit import mesh_gradients as mg
from pipeline.circuit import mesh_spectral as ms
from pipeline.errors import SpecError


def _stack(hw, v: np.ndarray, name: str) -> np.ndarray:
    w, n = hw.n_wavelengths, hw.layout.n
    v = np.asarray(v, complex)
    if v.ndim == 2:
        v = np.broadcast_to(v, (w,) + v.shape)
    if v.ndim != 3 or v.shape[:2] != (w, n):
        raise SpecError(f"{name} has shape {v.shape}: expected (W={w}, N={n}, batch) fields "
                        f"(or (N, batch), the same at every wavelength).")
    return v


def correlations(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """x_w g_wᴴ (W, N, N): one BLAS zgemm per wavelength on the un-conjugated fields
    (a stacked matmul would first copy conj(g), W·N·B elements)."""
    return np.stack([mg.correlate(a, b) for a, b in zip(x, g)])


def grams(z: np.ndarray) -> np.ndarray:
    """z_w z_wᴴ (W, N, N): one BLAS zherk per wavelength."""
    return np.stack([mg.gram(a) for a in z])


def _gate_gradients(b, k_in: np.ndarray, screen: np.ndarray) -> np.ndarray:
    """∂ tr(U_w K_w)/∂T (W·K, 2, 2) of the W·m-block build b, k_in (W, N, N), screen (W, N)."""
    pl = b.plan
    n, s, w = pl.n, pl.s, k_in.shape[0]
    m = pl.m // w
    zpad = mesh_kernels._scratch((pl.m, n + 2 * s, n))
    zpad[:, :s] = 0
    zpad[:, s + n:] = 0
    z4 = zpad.reshape(w, m, n + 2 * s, n)
    blocks = b.blocks.reshape(w, m, n, n)
    pk = k_in
    for j in range(m):  # blocks (not wavelengths): the same loop as one wavelength's
        if j:
            pk = np.matmul(blocks[:, j - 1], pk)
        pks = pk * screen[:, None, :]
        if j == m - 1:
            z4[:, j, s:s + n] = pks
        else:
            np.matmul(pks, b.left[j + 1], out=z4[:, j, s:s + n])
    del z4
    box = [zpad]
    del zpad
    return mesh_kernels.reverse_sweep(b, box)


def mesh_gradients(hw, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None,
                   x: np.ndarray, g: np.ndarray) -> "mg.MeshGradient":
    """dL/dθ, dL/dφ, dL/dψ of L = Σ_w L_w (module doc): (K,)/(N,) for shared phases, (W, K)/
    (W, N) for per-wavelength ones.  x (W, N, B) or (N, B); g (W, N, B)."""
    w, k = hw.n_wavelengths, hw.layout.n_mzi
    shared = [np.ndim(v) == 1 for v in (theta, phi)] + [output_phases is None or np.ndim(output_phases) == 1]
    th, ph = ms.phases(hw, theta), ms.phases(hw, phi)
    psi = np.zeros((w, hw.layout.n)) if output_phases is None else ms.phases(hw, output_phases)
    x, g = _stack(hw, x, "x"), _stack(hw, g, "g")
    if g.shape != x.shape:
        raise SpecError(f"adjoint fields g have shape {g.shape}, must match x {x.shape}.")
    pl = mesh_kernels.plan(hw.layout)
    if w == 1 or pl is None:  # one wavelength (the single-wavelength path, bit-identical) or not a brick wall
        res = [mg.mesh_gradients(ms.slice_hardware(hw, v), th[v], ph[v], psi[v], x[v], g[v]) for v in range(w)]
        d_theta, d_phi, d_psi = (np.stack([getattr(r, f) for r in res]) for f in ("theta", "phi", "output_phases"))
    else:
        t, dth, dph = ms.transfer(hw, th, ph, True)
        b = ms.build(hw, th, ph, t)
        screen = hw.output * np.exp(1j * psi)
        k_in = (np.prod(hw.columns, -1)[:, None] * hw.input)[:, :, None] * correlations(x, g)
        gt = _gate_gradients(b, k_in, screen).reshape(w, k, 2, 2)
        gt, dth, dph = (np.moveaxis(v, (2, 3), (0, 1)) for v in (gt, dth, dph))  # (2, 2, W, K)
        d_theta = (gt * dth).sum((0, 1)).real
        d_phi = (gt[:, 0] * dph[:, 0]).sum(0).real
        d_psi = (1j * screen * np.einsum("wil,wli->wi", b.product, k_in)).real
    c = hw.phase_scale[:, None]
    out = [(c * d).sum(0) if sh else d for d, sh in zip((d_theta, d_phi, d_psi), shared)]
    return mg.MeshGradient(*out)


_WEIGHTS: dict[int, tuple] = {}


def _tap_weights(hw) -> tuple[np.ndarray, ...]:
    """mesh_gradients._tap_weights per wavelength, each (W, K) (cached per hardware object,
    recomputed if its arrays changed)."""
    arrays = (hw.internal, hw.external, hw.coupler1, hw.columns)
    hit = _WEIGHTS.get(id(hw))
    if hit is not None and hit[0] is hw and all(np.array_equal(a, c) for a, c in zip(arrays, hit[1])):
        return hit[2]
    if len(_WEIGHTS) > 16:
        _WEIGHTS.clear()
    weights = _compute_weights(hw)
    _WEIGHTS[id(hw)] = (hw, tuple(np.array(a) for a in arrays), weights)
    return weights


def _compute_weights(hw) -> tuple[np.ndarray, ...]:
    cf = np.concatenate([np.ones((hw.n_wavelengths, 1)), np.cumprod(np.abs(hw.columns) ** 2, -1)[:, :-1]],
                        -1)[:, hw.layout.column]
    u0, v, w = hw.internal[..., 0], hw.external[..., 0], hw.external[..., 1]
    c00, c01 = hw.coupler1[..., 0, 0], hw.coupler1[..., 0, 1]
    return (np.abs(v) ** 2 * cf, np.abs(u0 * c00 * v) ** 2 * cf, np.abs(u0 * c01 * w) ** 2 * cf,
            2 * np.abs(u0) ** 2 * c00 * np.conj(c01) * v * np.conj(w) * cf)


def _block_powers(b, r: np.ndarray) -> np.ndarray:
    """mesh_kernels.block_powers of a W·m-block build for correlations r (W, N, N): (W, K, 3)."""
    pl = b.plan
    n, s, w = pl.n, pl.s, r.shape[0]
    m, h = pl.m // w, 2 * s + 1
    rpad = mesh_kernels._scratch((pl.m, n, n + 2 * h))
    rpad[:, :, :h] = 0
    rpad[:, :, h + n:] = 0
    r4 = rpad.reshape(w, m, n, n + 2 * h)
    blocks = b.blocks.reshape(w, m, n, n)
    rj = r
    r4[:, 0, :, h:h + n] = rj
    for j in range(1, m):
        f = blocks[:, j - 1]
        rj = np.matmul(np.matmul(f, rj), np.conj(np.swapaxes(f, 1, 2)))
        r4[:, j, :, h:h + n] = rj
    del r4
    box = [rpad]
    del rpad
    return mesh_kernels.band_powers(b, box).reshape(w, -1, 3)


def tap_powers(hw, theta: np.ndarray, phi: np.ndarray, zz: np.ndarray) -> np.ndarray:
    """Batch-summed powers (W, 2, K) after every θ (row 0) and φ (row 1) shifter at each
    wavelength, from the input correlations zz (W, N, N)."""
    w, lay = hw.n_wavelengths, hw.layout
    th, ph = ms.phases(hw, theta), ms.phases(hw, phi)
    pl = mesh_kernels.plan(lay)
    if w == 1 or pl is None:
        return np.stack([mg._tap_powers(ms.slice_hardware(hw, v), th[v], ph[v], zz[v]) for v in range(w)])
    r = hw.input[:, :, None] * zz * np.conj(hw.input)[:, None, :]
    blk = mesh_direct.column_powers(pl, ms.transfer(hw, th, ph)[0], r)  # compiled: one call for the stack
    if blk is None:
        blk = _block_powers(ms.build(hw, th, ph), r)
    r00, r01, r11 = np.moveaxis(blk, -1, 0)
    w_phi, w00, w11, w01 = _tap_weights(hw)
    out = np.empty((w, 2, lay.n_mzi))
    out[:, 1] = w_phi * r00.real
    out[:, 0] = w00 * r00.real + w11 * r11.real + (w01 * np.exp(1j * ph) * r01).real
    return out


def hughes_gradients(hw, theta: np.ndarray, phi: np.ndarray, x: np.ndarray, g: np.ndarray, *,
                     read: "mg.Reader | None" = None, u: np.ndarray | None = None,
                     read_adjoint: Callable[[np.ndarray], np.ndarray] | None = None,
                     pass_phases: tuple | None = None) -> "mg.HughesMeasurement":
    """:func:`pipeline.circuit.mesh_gradients.hughes_gradients` at W wavelengths at once
    (module doc): readings (3, 2, K) are wavelength sums (broadband taps), the estimate
    Σ_w ∂L_w/∂θ_w (K,); ``adjoint_inputs`` (W, N, B); ``u`` (W, N, N) if already built."""
    w, k = hw.n_wavelengths, hw.layout.n_mzi
    x, g = _stack(hw, x, "x"), _stack(hw, g, "g")
    if g.shape != x.shape:
        raise SpecError(f"adjoint fields g have shape {g.shape}, must match x {x.shape}.")
    if w == 1:  # the single-wavelength procedure on the slice (bit-identical to it)
        one = lambda th, ph: (ms.phases(hw, th)[0], ms.phases(hw, ph)[0])  # noqa: E731
        m = mg.hughes_gradients(ms.slice_hardware(hw, 0), *one(theta, phi), x[0], g[0], read=read,
                                u=None if u is None else u[0],
                                read_adjoint=None if read_adjoint is None else (lambda a: read_adjoint(a[None])[0]),
                                pass_phases=None if pass_phases is None else [one(*q) for q in pass_phases])
        return mg.HughesMeasurement(m.theta, m.phi, m.readings, m.source_scale, m.readings_taken,
                                    m.adjoint_inputs[None])
    peak = 0.5 * float(np.abs(g).max())
    if peak == 0:
        return mg.HughesMeasurement(np.zeros(k), np.zeros(k), np.zeros((3, 2, k)), 1.0, 0, np.zeros_like(x))
    scale = 1.0 / peak
    passes = ((theta, phi),) * 3 if pass_phases is None else tuple(pass_phases)
    if len(passes) != 3:
        raise SpecError(f"pass_phases has {len(passes)} entries: need 3 (adjoint, time-reversed, interference).")
    for th_p, ph_p in ((theta, phi),) + passes:
        hw.check_phases(th_p, ph_p, None)
    u = hw.matrix(*passes[0]) if u is None else u
    if read_adjoint is None:  # x_TR = i·conj(Uᵀ s·scale) = (i·scale/2) Uᴴ g
        x_tr = np.matmul((0.5j * scale) * np.conj(np.swapaxes(u, 1, 2)), g)
        adjoint_inputs = np.conj(x_tr)
        adjoint_inputs *= 1j / scale
    else:
        x_adj = np.matmul(np.swapaxes(u, 1, 2), np.conj(g) * (0.5 * scale))  # reciprocity: Uᵀ
        x_adj = np.asarray(read_adjoint(x_adj), complex)
        x_tr = 1j * np.conj(x_adj)
        adjoint_inputs = x_adj / scale
    r_x, r_tr = grams(x), grams(x_tr)
    x_tr += x
    r_sum = grams(x_tr)
    exact = np.stack([tap_powers(hw, th_p, ph_p, r).sum(0) for (th_p, ph_p), r in
                      zip(((theta, phi),) + passes[1:], (r_x, r_tr, r_sum))])  # incoherent: Σ over wavelengths
    readings = exact if read is None else np.asarray(read(exact, x.shape[2]))
    grad = -(readings[2] - readings[0] - readings[1]) / scale
    return mg.HughesMeasurement(grad[0], grad[1], readings, scale, 3 * 2 * k * x.shape[2], adjoint_inputs)

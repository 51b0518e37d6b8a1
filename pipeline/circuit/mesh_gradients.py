"""Phase gradients of a (possibly non-ideal) MZI mesh for a whole batch, and a simulation
of the in-situ intensity measurement of them (Hughes et al., Optica 5, 864 (2018)).

Conventions.  Forward fields ``x`` (N, B) enter the mesh, ``Y = U x``.  The loss is a
real function of Y; its *adjoint field* at the output is ``g = ∂L/∂Re Y + i ∂L/∂Im Y``
(N, B) (e.g. ``g = 2 (Y − T)`` for L = Σ|Y − T|²), so that for any parameter p

    dL/dp = Re Σ_b g_bᴴ (dU/dp) x_b = Re tr(dU/dp · x gᴴ).

Exact gradients (:func:`mesh_gradients`).  With U = A_c C_c B_c (C_c the block-diagonal
column c, B_c its prefix including the input transmissions, A_c its suffix including the
output screen), dL/dp = Re tr(dC_c · M_c) with M_c = B_c (x gᴴ) A_c.  One N×N correlation
K = x gᴴ (one matrix product over the batch) is swept through the columns: Q_c = B_c K by
row operations, the suffixes A_c by column operations, and only the 2×2 diagonal blocks
of M_c at each MZI are formed — O(N³) in total, independent of the batch.
:func:`column_sweep_gradients` is the direct per-sample reference (forward fields and
back-propagated adjoint fields stored at every column).

In-situ measurement (:func:`hughes_gradients`).  Adjoint source s = conj(g)/2 = ∂L/∂Y
(Wirtinger) sent backward into the outputs; by reciprocity it arrives at the inputs as
X_adj = Uᵀ s and, at a phase shifter, as A_adj.  With A_fwd the forward field just after
the shifter, dL/dφ = Re(i A_fwd · 2 A_adj) = −2 Im(A_fwd A_adj).  The lab measures X_adj
(coherently) at the inputs and sends the time-reversed copy X_TR = i·conj(X_adj) forward
(the factor i is a fixed phase of the TR source that makes the sign below hold).  On a
lossless mesh (U unitary) X_TR produces the field W = i·conj(A_adj) at every shifter, so
the tap intensities obey

    I_sum − I_fwd − I_TR = |A + W|² − |A|² − |W|² = 2 Re(A conj W) = 2 Im(A A_adj),
    dL/dφ = −(I_sum − I_fwd − I_TR),

with I_fwd from x alone, I_TR from X_TR alone and I_sum from x + X_TR together.  Batch
sums of the readings need only the three input correlations (x xᴴ, X_TR X_TRᴴ and that of
the sum) swept through the columns as R ← C R Cᴴ: O(N³) per pass.

Loss bias (derivation).  Let α be the amplitude transmission from the inputs to a
shifter and β from it to the outputs (losses uniform across modes, so the lossless
fields factor out).  The forward field there is α·A₀; the adjoint arrives as β·A_adj,0,
reaches the inputs as αβ·X_adj,0 and its time reverse re-enters and reaches the shifter
as α·αβ·W₀.  The interference term is therefore α³β = α²·t times the lossless one (t = αβ
the chip's total amplitude transmission): the forward light and the time-reversed adjoint
each pass the loss between the inputs and the shifter, and the adjoint in addition the
whole chip.  For a chip whose loss sits equally at input and output facets (α = β = √t)
every shifter reads t² of the lossless die's true gradient: 1 dB → 10^(−2/20) = 0.794.
For loss spread uniformly over L columns (α = t^(c/L) for column c) the factor is
t^(1 + 2c/L), from t (first column) to t³ (last).  The true gradient of the lossy chip is
t times the lossless one (only the product of forward and adjoint amplitudes matters), so
the procedure is biased by α²: exact only without loss before the shifter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.linalg.blas import zgemm, zherk

from pipeline.circuit import mesh_direct, mesh_kernels, mesh_spectral_gradients
from pipeline.circuit.mesh import MeshHardware, column_groups
from pipeline.errors import SpecError


@dataclass(frozen=True)
class MeshGradient:
    """dL/dθ (K,), dL/dφ (K,) and dL/dψ (N,) [1/rad, loss units]."""

    theta: np.ndarray
    phi: np.ndarray
    output_phases: np.ndarray


def _fields(hw: MeshHardware, x: np.ndarray, g: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    n = hw.layout.n
    x = np.asarray(x, complex)
    if x.ndim != 2 or x.shape[0] != n:
        raise SpecError(f"x has shape {x.shape}: expected (N={n}, batch) input fields. Fix: pass x as (modes, batch).")
    if g is None:
        return x, None
    g = np.asarray(g, complex)
    if g.shape != x.shape:
        raise SpecError(f"adjoint fields g have shape {g.shape}, must match x {x.shape}.")
    return x, g


def _pair(top: np.ndarray) -> tuple[slice | np.ndarray, slice | np.ndarray]:
    """Index of the upper and lower modes of a column's MZIs: strided slices (views, fast)
    when the MZIs sit every second mode, as in Clements and Reck columns."""
    if top.size == 1 or (top.size > 1 and np.all(np.diff(top) == 2)):
        return slice(int(top[0]), int(top[-1]) + 1, 2), slice(int(top[0]) + 1, int(top[-1]) + 2, 2)
    return top, top + 1


def _row_op(r: np.ndarray, t: np.ndarray, top: np.ndarray) -> None:
    """r ← C r in place for the MZIs (t, on rows top, top+1) of one column."""
    i, j = _pair(top)
    a, b = r[i].copy(), r[j]
    r[i] = t[:, 0, 0, None] * a + t[:, 0, 1, None] * b
    r[j] = t[:, 1, 0, None] * a + t[:, 1, 1, None] * b


def _col_op(r: np.ndarray, t: np.ndarray, top: np.ndarray) -> None:
    """r ← r C in place (C the column's block-diagonal matrix)."""
    i, j = _pair(top)
    a, b = r[:, i].copy(), r[:, j]
    r[:, i] = a * t[None, :, 0, 0] + b * t[None, :, 1, 0]
    r[:, j] = a * t[None, :, 0, 1] + b * t[None, :, 1, 1]


def _derivatives(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    """(T, dT/dθ, dT/dφ), each (K, 2, 2)."""
    e, f, t = hw.parts(theta, phi)
    k = hw.layout.n_mzi
    d_int = hw.internal[:, 0] * np.exp(1j * np.asarray(theta, float)) * 1j
    df = hw.coupler2[:, :, 0, None] * d_int[:, None, None] * hw.coupler1[:, None, 0, :]
    dt_theta = df * np.stack([e[:, 0, 0], e[:, 1, 1]], -1)[:, None, :]
    dt_phi = np.zeros((k, 2, 2), complex)
    dt_phi[:, :, 0] = f[:, :, 0] * (1j * e[:, 0, 0])[:, None]
    return t, dt_theta, dt_phi


def mesh_gradients(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None,
                   x: np.ndarray, g: np.ndarray) -> MeshGradient:
    """All dL/dθ, dL/dφ, dL/dψ of a batch from the correlation x gᴴ swept through the
    columns (module doc), O(N³) independent of the batch size.  Brick-wall layouts use the
    fused column blocks of :mod:`pipeline.circuit.mesh_kernels` (BLAS block products and a
    reverse sweep over the band states); other layouts the column-by-column sweep.
    Hardware with a wavelength axis: :func:`pipeline.circuit.mesh_spectral_gradients.mesh_gradients`."""
    hw.check_phases(theta, phi, output_phases)
    if hw.n_wavelengths is not None:
        return mesh_spectral_gradients.mesh_gradients(hw, theta, phi, output_phases, x, g)
    x, g = _fields(hw, x, g)
    b = hw.build(theta, phi)
    if b is None:
        return _swept_gradients(hw, theta, phi, output_phases, x, g)
    n = hw.layout.n
    psi = np.zeros(n) if output_phases is None else np.asarray(output_phases, float)
    _, dth, dph = hw.transfer(theta, phi, True)
    screen = hw.output * np.exp(1j * psi)
    k_in = (np.prod(hw.columns) * hw.input)[:, None] * correlate(x, g)
    gt = mesh_kernels.gate_gradients(b, k_in, screen)  # ∂ tr(U K)/∂T_k
    gt, dth, dph = (np.moveaxis(v, 0, -1) for v in (gt, dth, dph))  # (2, 2, K), K contiguous
    d_theta = (gt * dth).sum((0, 1)).real
    d_phi = (gt[:, 0] * dph[:, 0]).sum(0).real
    d_psi = (1j * screen * np.einsum("il,li->i", b.product, k_in)).real
    return MeshGradient(d_theta, d_phi, d_psi)


def _swept_gradients(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None,
                     x: np.ndarray, g: np.ndarray) -> MeshGradient:
    """mesh_gradients for any layout: Q_c = B_c K by row operations, suffixes stored."""
    lay, n = hw.layout, hw.layout.n
    psi = np.zeros(n) if output_phases is None else np.asarray(output_phases, float)
    t, dth, dph = _derivatives(hw, theta, phi)
    groups = column_groups(lay)
    screen = hw.output * np.exp(1j * psi)
    suffix = np.empty((len(groups), n, n), complex)
    a = np.diag(screen)
    for c in range(len(groups) - 1, -1, -1):  # A_c = A_{c+1} C_{c+1}
        suffix[c] = a
        ks = groups[c]
        if c > 0:
            a = a.copy()
            _col_op(a, t[ks], lay.modes[ks])
    # common column transmissions are scalars: they multiply every M_c by their product
    q = np.prod(hw.columns) * hw.input[:, None] * (x @ g.conj().T)  # Q_0 = B_0 K
    d_theta, d_phi = np.empty(lay.n_mzi), np.empty(lay.n_mzi)
    for c, ks in enumerate(groups):
        top = lay.modes[ks]
        i, j = _pair(top)
        rows = np.stack([q[i], q[j]], 1)  # (k, 2, N)
        cols = np.stack([suffix[c][:, i].T, suffix[c][:, j].T], -1)  # (k, N, 2)
        m = rows @ cols  # diagonal 2×2 blocks of M_c
        d_theta[ks] = np.einsum("kab,kba->k", dth[ks], m).real
        d_phi[ks] = np.einsum("kab,kba->k", dph[ks], m).real
        _row_op(q, t[ks], top)
    d_psi = (1j * screen * np.diag(q)).real
    return MeshGradient(d_theta, d_phi, d_psi)


def column_sweep_gradients(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray,
                           output_phases: np.ndarray | None, x: np.ndarray, g: np.ndarray) -> MeshGradient:
    """Reference: per-sample forward fields stored at every column, adjoint fields
    back-propagated column by column (h_c = A_cᴴ g), dL/dp = Re Σ_b h_cᴴ dT x_c."""
    hw.check_phases(theta, phi, output_phases)
    x, g = _fields(hw, x, g)
    lay, n = hw.layout, hw.layout.n
    psi = np.zeros(n) if output_phases is None else np.asarray(output_phases, float)
    t, dth, dph = _derivatives(hw, theta, phi)
    groups = column_groups(lay)
    xs = [hw.input[:, None] * x]
    for ks in groups:
        nxt = xs[-1].copy()
        _row_op(nxt, t[ks], lay.modes[ks])
        xs.append(hw.columns[len(xs) - 1] * nxt)
    screen = hw.output * np.exp(1j * psi)
    d_psi = (np.sum(np.conj(g) * 1j * screen[:, None] * xs[-1], axis=1)).real
    h = np.conj(screen)[:, None] * g
    d_theta, d_phi = np.empty(lay.n_mzi), np.empty(lay.n_mzi)
    for c in range(len(groups) - 1, -1, -1):
        ks = groups[c]
        top = lay.modes[ks]
        xp = np.stack([xs[c][top], xs[c][top + 1]], 1)  # (k, 2, B)
        hp = np.stack([h[top], h[top + 1]], 1)
        f = hw.columns[c]
        d_theta[ks] = np.einsum("kab,kbB,kaB->k", f * dth[ks], xp, hp.conj()).real
        d_phi[ks] = np.einsum("kab,kbB,kaB->k", f * dph[ks], xp, hp.conj()).real
        _row_op(h, np.conj(np.swapaxes(f * t[ks], 1, 2)), top)  # h_{c-1} = C_cᴴ h_c
        idle = np.setdiff1d(np.arange(n), np.concatenate([top, top + 1]))
        h[idle] *= np.conj(f)
    return MeshGradient(d_theta, d_phi, d_psi)


#: ``read(powers, n_samples)``: batch-summed tap powers (pass, shifter, K) in units of the
#: input power scale → what the detectors report in the same units (noise, gain errors).
Reader = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class HughesMeasurement:
    """Result of the intensity procedure: estimated dL/dθ, dL/dφ (K,), the batch-summed
    readings (pass = fwd | tr | sum, shifter = theta | phi, K) as reported, the adjoint
    source scale (the adjoint was sent as s·scale so that max |s·scale| = 1) and the
    number of single-detector readings taken; ``adjoint_inputs``: the adjoint field at
    the inputs as measured (gradient w.r.t. real input amplitudes: 2 Re X_adj)."""

    theta: np.ndarray
    phi: np.ndarray
    readings: np.ndarray
    source_scale: float
    readings_taken: int
    adjoint_inputs: np.ndarray | None = None  # X_adj = Uᵀ s at the inputs as measured (N, B), units of s


def tap_powers(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Batch-summed powers Σ_b |field|² (2, K) just after each θ shifter (row 0) and φ
    shifter (row 1) for input fields z (N, B), from the correlation z zᴴ swept as R ← C R Cᴴ
    (brick walls: fused column blocks, :func:`pipeline.circuit.mesh_kernels.block_powers`);
    with a wavelength axis z (W, N, B) or (N, B) and powers (W, 2, K) per wavelength."""
    if hw.n_wavelengths is not None:
        z = mesh_spectral_gradients._stack(hw, z, "z")
        return mesh_spectral_gradients.tap_powers(hw, theta, phi, mesh_spectral_gradients.grams(z))
    return _tap_powers(hw, theta, phi, gram(np.asarray(z, complex)))


def correlate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a bᴴ (N, N) of fields a, b (N, B) without conjugating a copy of b (BLAS zgemm on the
    Fortran-ordered transposes: conj(a bᴴ) = conj(a) bᵀ)."""
    a, b = np.ascontiguousarray(a, complex), np.ascontiguousarray(b, complex)
    if a.ndim != 2 or a.shape[1] == 0:
        return a @ b.conj().T
    return zgemm(1.0, a.T, b.T, trans_a=2).conj()


def gram(z: np.ndarray) -> np.ndarray:
    """z zᴴ (N, N) of fields z (N, B): one Hermitian rank-B update (BLAS zherk, half the
    work of a general product)."""
    z = np.ascontiguousarray(z, complex)
    if z.ndim != 2 or z.shape[1] == 0:
        return z @ z.conj().T
    r = zherk(1.0, z.T, trans=2)  # conj(z zᴴ) in the upper triangle (z.T is Fortran-ordered: no copy)
    full = np.triu(r)
    full += np.triu(r, 1).conj().T
    return full.conj()


_WEIGHTS: dict[int, tuple] = {}


def _tap_weights(hw: MeshHardware) -> tuple[np.ndarray, ...]:
    """Phase-independent tap weights: with g = (u e^{iθ} C1[0,0] v e^{iφ}, u e^{iθ} C1[0,1] w) the
    field after the θ shifter is g · (R block) · gᴴ = w00 R00 + w11 R11 + Re(w01 e^{iφ} R01), after
    the φ shifter w_φ R00; each times the column transmissions |f|² passed before the MZI."""
    arrays = (hw.internal, hw.external, hw.coupler1, hw.columns)
    hit = _WEIGHTS.get(id(hw))
    if hit is not None and hit[0] is hw and all(np.array_equal(a, c) for a, c in zip(arrays, hit[1])):
        return hit[2]
    cf = np.concatenate([[1.0], np.cumprod(np.abs(hw.columns) ** 2)[:-1]])[hw.layout.column]
    u0, v, w = hw.internal[:, 0], hw.external[:, 0], hw.external[:, 1]
    c00, c01 = hw.coupler1[:, 0, 0], hw.coupler1[:, 0, 1]
    weights = (np.abs(v) ** 2 * cf, np.abs(u0 * c00 * v) ** 2 * cf, np.abs(u0 * c01 * w) ** 2 * cf,
               2 * np.abs(u0) ** 2 * c00 * np.conj(c01) * v * np.conj(w) * cf)
    if len(_WEIGHTS) > 64:
        _WEIGHTS.clear()
    _WEIGHTS[id(hw)] = (hw, tuple(np.array(a) for a in arrays), weights)
    return weights


def _tap_powers(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray, zz: np.ndarray) -> np.ndarray:
    """tap_powers from the input correlation zz = z zᴴ."""
    lay = hw.layout
    pl = mesh_kernels.plan(lay)
    blk = None
    if pl is not None:
        r = hw.input[:, None] * zz * np.conj(hw.input)[None, :]
        blk = mesh_direct.column_powers(pl, hw.mzis(theta, phi), r)  # compiled: the direct sweep
        if blk is None:
            blk = mesh_kernels.block_powers(hw.build(theta, phi), r)  # numpy: fused column blocks
    if blk is not None:
        r00, r01, r11 = blk.T  # R_c[p,p], R_c[p,p+1], R_c[p+1,p+1]
        w_phi, w00, w11, w01 = _tap_weights(hw)
        out = np.empty((2, lay.n_mzi))
        np.multiply(w_phi, r00.real, out=out[1])
        out[0] = w00 * r00.real
        out[0] += w11 * r11.real
        out[0] += (w01 * np.exp(1j * np.asarray(phi, float)) * r01).real
        return out
    e, f, t = hw.parts(theta, phi)
    r = hw.input[:, None] * zz * np.conj(hw.input)[None, :]
    out = np.empty((2, lay.n_mzi))
    # row 0 of diag(u e^{iθ}, l)·C1·E: the field just after the internal (θ) shifter
    g0 = (hw.internal[:, 0] * np.exp(1j * np.asarray(theta, float)))[:, None] * hw.coupler1[:, 0, :] \
        * np.stack([e[:, 0, 0], e[:, 1, 1]], -1)
    for c, ks in enumerate(column_groups(lay)):
        top = lay.modes[ks]
        blk = np.stack([np.stack([r[top, top], r[top, top + 1]], -1),
                        np.stack([r[top + 1, top], r[top + 1, top + 1]], -1)], 1)  # (k, 2, 2)
        out[1, ks] = (np.abs(e[ks, 0, 0]) ** 2 * blk[:, 0, 0]).real
        out[0, ks] = np.einsum("ka,kab,kb->k", g0[ks], blk, g0[ks].conj()).real
        _row_op(r, t[ks], top)
        _col_op(r, np.conj(np.swapaxes(t[ks], 1, 2)), top)
        r *= abs(hw.columns[c]) ** 2
    return out


def hughes_gradients(hw: MeshHardware, theta: np.ndarray, phi: np.ndarray, x: np.ndarray, g: np.ndarray,
                     *, read: Reader | None = None, u: np.ndarray | None = None,
                     read_adjoint: Callable[[np.ndarray], np.ndarray] | None = None,
                     pass_phases: tuple[tuple[np.ndarray, np.ndarray], ...] | None = None) -> HughesMeasurement:
    """Simulate the in-situ intensity measurement of all dL/dθ, dL/dφ for a batch (module
    doc): forward pass (taps read I_fwd), adjoint pass (s = conj(g)/2 sent backward, X_adj
    measured coherently at the inputs), time-reversed pass X_TR = i·conj(X_adj) (I_TR),
    interference pass x + X_TR (I_sum); dL/dφ = −(I_sum − I_fwd − I_TR) / scale.

    ``x`` (N, B) with |x| ≤ 1 (units of the per-channel input power), ``g`` the adjoint
    field at the outputs; the adjoint source is scaled to the same maximum amplitude and
    the gradient scaled back.  ``read`` turns exact batch-summed powers into readings
    (noise; default exact); ``read_adjoint`` the coherent measurement of X_adj (in units
    of the scaled source, |·| ≤ ~1).  ``u``: the mesh matrix if already built (no output screen),
    for the phases of the adjoint pass.  ``pass_phases``: the realised (θ, φ) of the adjoint,
    time-reversed and interference passes, in that order (each optical pass sees its own
    phase noise); ``theta``, ``phi`` are those of the forward pass.  Default: all equal.
    Hardware with a wavelength axis: :func:`pipeline.circuit.mesh_spectral_gradients.hughes_gradients`."""
    hw.check_phases(theta, phi, None)
    if hw.n_wavelengths is not None:
        return mesh_spectral_gradients.hughes_gradients(hw, theta, phi, x, g, read=read, u=u,
                                                        read_adjoint=read_adjoint, pass_phases=pass_phases)
    x, g = _fields(hw, x, g)
    peak = 0.5 * float(np.abs(g).max())  # max |s|, s = conj(g)/2
    if peak == 0:
        k = hw.layout.n_mzi
        return HughesMeasurement(np.zeros(k), np.zeros(k), np.zeros((3, 2, k)), 1.0, 0, np.zeros_like(x))
    scale = 1.0 / peak
    passes = ((theta, phi),) * 3 if pass_phases is None else tuple(pass_phases)
    if len(passes) != 3:
        raise SpecError(f"pass_phases has {len(passes)} entries: need 3 (adjoint, time-reversed, interference).")
    for th_p, ph_p in passes:
        hw.check_phases(th_p, ph_p, None)
    u = hw.matrix(*passes[0]) if u is None else u
    if read_adjoint is None:  # x_TR = i·conj(Uᵀ s·scale) = (i·scale/2) Uᴴ g: no elementwise pass over the batch
        x_tr = ((0.5j * scale) * u.conj().T) @ g
        adjoint_inputs = np.conj(x_tr)
        adjoint_inputs *= 1j / scale  # X_adj / scale = i·conj(X_TR) / scale
    else:
        x_adj = u.T @ (np.conj(g) * (0.5 * scale))  # reciprocity: the backward transfer is Uᵀ
        x_adj = np.asarray(read_adjoint(x_adj), complex)
        x_tr = 1j * np.conj(x_adj)
        adjoint_inputs = x_adj / scale
    r_x, r_tr = gram(x), gram(x_tr)
    x_tr += x  # the interference pass sends x + x_TR (x_TR no longer needed alone)
    r_sum = gram(x_tr)
    exact = np.stack([_tap_powers(hw, th_p, ph_p, r) for (th_p, ph_p), r in
                      zip(((theta, phi),) + passes[1:], (r_x, r_tr, r_sum))])
    readings = exact if read is None else np.asarray(read(exact, x.shape[1]))
    grad = -(readings[2] - readings[0] - readings[1]) / scale
    return HughesMeasurement(grad[0], grad[1], readings, scale, 3 * 2 * hw.layout.n_mzi * x.shape[1],
                             adjoint_inputs)

"""Feed-forward MZI meshes: rectangular (Clements et al., Optica 3, 1460 (2016)) and
triangular (Reck et al., PRL 73, 58 (1994)) — programming from a target unitary and the
fast transfer-matrix path.

MZI convention (on modes m, m+1, ``exp(-iωt)``): an internal phase θ on the upper arm
between two couplers and an external phase φ on the upper input,

    T(θ, φ) = C₂ · diag(e^{iθ}, 1) · C₁ · diag(e^{iφ}, 1),

with ideal 50:50 couplers C = [[1, i], [i, 1]]/√2 this is
``i e^{iθ/2} [[e^{iφ} sin(θ/2), cos(θ/2)], [e^{iφ} cos(θ/2), −sin(θ/2)]]``:
θ = 0 is the cross state, θ = π the bar state. A mesh applies its MZIs in order to the
input field, then an output phase screen: U = D · T_K ⋯ T_1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.circuit import mesh_direct, mesh_kernels, mesh_spectral
from pipeline.errors import SpecError

IDEAL_COUPLER = np.array([[1, 1j], [1j, 1]]) / np.sqrt(2)


def coupler_matrix(kappa2: np.ndarray | float, amplitude: np.ndarray | float = 1.0) -> np.ndarray:
    """(…, 2, 2) lossy directional coupler of power coupling κ² (…) and field ``amplitude``
    (excess loss): amplitude · [[t, iκ], [iκ, t]], t = √(1 − κ²)."""
    ang = np.arcsin(np.sqrt(np.clip(np.asarray(kappa2, float), 0.0, 1.0)))
    c, s = np.cos(ang), 1j * np.sin(ang)
    return np.asarray(amplitude)[..., None, None] * np.stack([np.stack([c, s], -1), np.stack([s, c], -1)], -2)


def mzi_matrix(theta: np.ndarray | float, phi: np.ndarray | float,
               coupler1: np.ndarray = IDEAL_COUPLER, coupler2: np.ndarray = IDEAL_COUPLER,
               arm_transmission: complex | np.ndarray = 1.0) -> np.ndarray:
    """2×2 transfer matrix (…, 2, 2) of one MZI; ``arm_transmission`` multiplies both arms
    (propagation loss/phase common to the arms)."""
    theta, phi = np.asarray(theta, float), np.asarray(phi, float)
    d_theta = np.zeros(theta.shape + (2, 2), complex)
    d_theta[..., 0, 0], d_theta[..., 1, 1] = np.exp(1j * theta), 1
    d_phi = np.zeros(phi.shape + (2, 2), complex)
    d_phi[..., 0, 0], d_phi[..., 1, 1] = np.exp(1j * phi), 1
    return arm_transmission * (coupler2 @ d_theta @ coupler1 @ d_phi)


@dataclass(frozen=True)
class MeshLayout:
    """Ordered MZIs: ``modes[k]`` is the upper mode m of MZI k (acting on m, m+1),
    ``column[k]`` its column in the physical layout."""

    n: int
    modes: np.ndarray
    column: np.ndarray
    kind: str

    @property
    def n_mzi(self) -> int:
        return int(self.modes.size)

    @property
    def n_columns(self) -> int:
        return int(self.column.max()) + 1 if self.modes.size else 0


def _columns(n: int, modes: list[int]) -> np.ndarray:
    last = np.full(n, -1)
    cols = []
    for m in modes:
        c = max(last[m], last[m + 1]) + 1
        last[m] = last[m + 1] = c
        cols.append(c)
    return np.array(cols, int)


def _null_col(u: np.ndarray, r: int, m: int) -> tuple[float, float]:
    """(θ, φ) such that (U T⁻¹)[r, m] = 0 for T on columns (m, m+1)."""
    a, b = u[r, m], u[r, m + 1]
    theta = 2 * np.arctan2(abs(b), abs(a))
    phi = float(np.angle(a) - np.angle(-b)) if abs(a) > 0 and abs(b) > 0 else 0.0
    return float(theta), phi


def _null_row(u: np.ndarray, m: int, c: int) -> tuple[float, float]:
    """(θ, φ) such that (T U)[m+1, c] = 0 for T on rows (m, m+1)."""
    a, b = u[m, c], u[m + 1, c]
    theta = 2 * np.arctan2(abs(a), abs(b))
    phi = float(np.angle(b) - np.angle(a)) if abs(a) > 0 and abs(b) > 0 else 0.0
    return float(theta), phi


def _embed(t: np.ndarray, n: int, m: int) -> np.ndarray:
    full = np.eye(n, dtype=complex)
    full[m:m + 2, m:m + 2] = t
    return full


def _check_unitary(u: np.ndarray) -> np.ndarray:
    u = np.asarray(u, complex)
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise SpecError(f"target matrix must be square, got shape {u.shape}.")
    err = np.abs(u.conj().T @ u - np.eye(u.shape[0])).max()
    if err > 1e-8:
        raise SpecError(f"target matrix is not unitary (max |UᴴU − I| = {err:.2e}). Fix: a mesh realises "
                        "unitaries only; embed a general matrix by SVD (two meshes and attenuators).")
    return u


def decompose(u: np.ndarray, kind: str = "clements") -> tuple[MeshLayout, np.ndarray, np.ndarray, np.ndarray]:
    """Program a mesh from a unitary: returns ``(layout, theta, phi, output_phases)`` with
    U = diag(e^{i·output_phases}) · T_K(θ_K, φ_K) ⋯ T_1(θ_1, φ_1)."""
    u = _check_unitary(u).copy()
    n = u.shape[0]
    right: list[tuple[int, float, float]] = []  # T applied on the right: U ← U T⁻¹
    left: list[tuple[int, float, float]] = []  # T applied on the left:  U ← T U
    if kind == "clements":
        for i in range(1, n):
            if i % 2 == 1:
                for j in range(i):
                    r, m = n - 1 - j, i - 1 - j
                    th, ph = _null_col(u, r, m)
                    u = u @ _embed(mzi_matrix(th, ph), n, m).conj().T
                    right.append((m, th, ph))
            else:
                for j in range(1, i + 1):
                    m, c = n + j - i - 2, j - 1
                    th, ph = _null_row(u, m, c)
                    u = _embed(mzi_matrix(th, ph), n, m) @ u
                    left.append((m, th, ph))
    elif kind == "reck":
        for r in range(n - 1, 0, -1):
            for m in range(r):
                th, ph = _null_col(u, r, m)
                u = u @ _embed(mzi_matrix(th, ph), n, m).conj().T
                right.append((m, th, ph))
    else:
        raise SpecError(f"mesh kind {kind!r} unknown. Fix: use 'clements' or 'reck'.")
    d = np.diag(u).copy()
    # U = L₁ᴴ⋯L_kᴴ D R_n⋯R_1; move each Lᴴ through D: T(θ,φ)ᴴ D = D' T(θ, arg(d_m/d_{m+1})).
    moved: list[tuple[int, float, float]] = []
    for m, th, ph in reversed(left):
        d1, d2 = d[m], d[m + 1]
        ratio = -np.exp(-1j * th)
        moved.append((m, th, float(np.angle(d1 / d2))))
        d[m], d[m + 1] = ratio * np.exp(-1j * ph) * d2, ratio * d2
    order = right + moved  # applied first to last: R_1 … R_n, T'_k … T'_1
    modes = [m for m, _, _ in order]
    layout = MeshLayout(n=n, modes=np.array(modes, int), column=_columns(n, modes), kind=kind)
    theta = np.array([t for _, t, _ in order])
    phi = np.array([p for _, _, p in order])
    return layout, theta, phi, np.angle(d)


def _mzi_modes(n: int, kind: str) -> list[int]:
    """Upper modes of the MZIs in :func:`decompose`'s order (its index logic without the
    nulling: the order depends on n and kind only)."""
    if kind == "clements":
        right = [i - 1 - j for i in range(1, n, 2) for j in range(i)]
        left = [n + j - i - 2 for i in range(2, n, 2) for j in range(1, i + 1)]
        return right + left[::-1]
    if kind == "reck":
        return [m for r in range(n - 1, 0, -1) for m in range(r)]
    raise SpecError(f"mesh kind {kind!r} unknown. Fix: use 'clements' or 'reck'.")


def mesh_layout(n: int, kind: str = "clements") -> MeshLayout:
    """The MZI order of an n-mode mesh (the order :func:`decompose` produces), in O(N²)."""
    if n < 2:
        raise SpecError(f"mesh size n = {n}: needs n >= 2.")
    modes = _mzi_modes(n, kind)
    return MeshLayout(n=n, modes=np.array(modes, int), column=_columns(n, modes), kind=kind)


def mesh_matrix(layout: MeshLayout, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None = None,
                *, mzis: np.ndarray | None = None) -> np.ndarray:
    """The mesh's N×N transfer matrix, built in O(N³). ``mzis`` (K, 2, 2) overrides the ideal
    MZI matrices (e.g. with coupler errors and loss from device compact models)."""
    n = layout.n
    ts = mzi_matrix(theta, phi) if mzis is None else np.asarray(mzis, complex)
    if ts.shape != (layout.n_mzi, 2, 2):
        raise SpecError(f"expected {layout.n_mzi} MZI matrices of shape (2, 2), got {ts.shape}.")
    pl = mesh_kernels.plan(layout)
    if pl is not None:  # brick wall: compiled column sweep, else fused column blocks (mesh_kernels)
        u = mesh_direct.column_product(pl, ts)
        if u is None:
            u = np.array(mesh_kernels.build(pl, ts).product)
    else:
        u = np.eye(n, dtype=complex)
        for col in range(layout.n_columns):  # MZIs of one column act on disjoint mode pairs
            ks = np.flatnonzero(layout.column == col)
            top, bot = layout.modes[ks], layout.modes[ks] + 1
            a, b = u[top], u[bot]
            t = ts[ks]
            u[top] = t[:, 0, 0, None] * a + t[:, 0, 1, None] * b
            u[bot] = t[:, 1, 0, None] * a + t[:, 1, 1, None] * b
    if output_phases is not None:
        u = np.exp(1j * np.asarray(output_phases))[:, None] * u
    return u


@dataclass(frozen=True)
class MeshHardware:
    """The physical (possibly non-ideal) elements of a mesh, independent of the phases.

    MZI k: ``T_k = C2_k · diag(u_k e^{iθ_k}, l_k) · C1_k · diag(v_k e^{iφ_k}, w_k)`` with
    couplers ``coupler1``/``coupler2`` (K, 2, 2), internal-arm transmissions
    ``internal`` = (u, l) (K, 2) and external-arm transmissions ``external`` = (v, w)
    (K, 2) (complex amplitudes: loss and fixed phase). Output screen
    ``D = diag(output · e^{iψ})`` (N,); ``input`` (N,) transmissions before the first column
    (e.g. input facet loss); ``columns`` (L,) a transmission common to all N waveguides
    after each column (propagation loss over the column's length, idle waveguides
    included): U = D · (f_{L−1} C_{L−1}) ⋯ (f_0 C_0) · diag(input). Defaults: ideal 50:50
    couplers, lossless arms.
    Every element is reciprocal: the backward (adjoint) transfer is the transpose.

    Wavelength axis (optional): every array above may carry a leading axis of W
    wavelengths (``coupler1`` (W, K, 2, 2), …, ``columns`` (W, L)), with ``wavelengths``
    (W,) [µm] and ``phase_scale`` (W,) [1] — the programmed phase realised at each
    wavelength per unit of the phase at the reference wavelength
    (:func:`pipeline.circuit.mesh_spectral.phase_dispersion`; default 1).  Phases are then
    shared (K,) — realised as ``phase_scale[w] · θ`` — or given per wavelength (W, K);
    :meth:`matrix` returns (W, N, N) and gradients/tap readings are vectorised over the
    axis (:mod:`pipeline.circuit.mesh_spectral`)."""

    layout: MeshLayout
    coupler1: np.ndarray
    coupler2: np.ndarray
    internal: np.ndarray
    external: np.ndarray
    output: np.ndarray
    input: np.ndarray
    columns: np.ndarray
    wavelengths: np.ndarray | None = None
    phase_scale: np.ndarray | None = None

    @classmethod
    def ideal(cls, layout: MeshLayout) -> "MeshHardware":
        k = layout.n_mzi
        c = np.broadcast_to(IDEAL_COUPLER, (k, 2, 2)).copy()
        return cls(layout, c, c.copy(), np.ones((k, 2), complex), np.ones((k, 2), complex),
                   np.ones(layout.n, complex), np.ones(layout.n, complex), np.ones(layout.n_columns, complex))

    def __post_init__(self) -> None:
        k, n = self.layout.n_mzi, self.layout.n
        lead = np.shape(self.coupler1)[:-3] if np.ndim(self.coupler1) == 4 else ()
        for name, shape in (("coupler1", (k, 2, 2)), ("coupler2", (k, 2, 2)), ("internal", (k, 2)),
                            ("external", (k, 2)), ("output", (n,)), ("input", (n,)),
                            ("columns", (self.layout.n_columns,))):
            if np.shape(getattr(self, name)) != lead + shape:
                raise SpecError(f"MeshHardware.{name} has shape {np.shape(getattr(self, name))}, expected "
                                f"{lead + shape} for a {n}-mode mesh of {k} MZIs"
                                + (f" at {lead[0]} wavelengths." if lead else "."))
        if not lead:
            if self.wavelengths is not None or self.phase_scale is not None:
                raise SpecError("MeshHardware.wavelengths/phase_scale given without a leading wavelength axis on "
                                "the arrays. Fix: stack the arrays as (W, ...) or drop them.")
            return
        w = lead[0]
        for name in ("wavelengths", "phase_scale"):
            v = getattr(self, name)
            if v is not None and np.shape(v) != (w,):
                raise SpecError(f"MeshHardware.{name} has shape {np.shape(v)}, expected ({w},) (one per wavelength).")
        if self.phase_scale is None:
            object.__setattr__(self, "phase_scale", np.ones(w))

    @property
    def n_wavelengths(self) -> int | None:
        """W for hardware with a wavelength axis, None for the single-wavelength form."""
        return int(np.shape(self.coupler1)[0]) if np.ndim(self.coupler1) == 4 else None

    def at(self, w: int) -> "MeshHardware":
        """The single-wavelength hardware of wavelength ``w`` (its phases: realised ones)."""
        if self.n_wavelengths is None:
            raise SpecError("MeshHardware.at(): this hardware has no wavelength axis.")
        return MeshHardware(self.layout, self.coupler1[w], self.coupler2[w], self.internal[w], self.external[w],
                            self.output[w], self.input[w], self.columns[w])

    def check_phases(self, theta: np.ndarray, phi: np.ndarray, psi: np.ndarray | None) -> None:
        k, n, w = self.layout.n_mzi, self.layout.n, self.n_wavelengths
        for name, v, size in (("theta", theta, k), ("phi", phi, k), ("output_phases", psi, n)):
            if v is not None and np.shape(v) != (size,) and (w is None or np.shape(v) != (w, size)):
                raise SpecError(f"{name} has shape {np.shape(v)}, expected ({size},)"
                                + (f" or ({w}, {size}) (per wavelength)" if w else "") + " for this mesh.")

    def transfer(self, theta: np.ndarray, phi: np.ndarray, derivatives: bool = False) -> tuple[np.ndarray, ...]:
        """MZI matrices T (K, 2, 2) in closed form (no stacked 2×2 products), with
        dT/dθ and dT/dφ if ``derivatives``: T[a, b] = (C2[a,0] u e^{iθ} C1[0,b] + C2[a,1] l C1[1,b]) e_b,
        e = (v e^{iφ}, w)."""
        theta, phi = np.asarray(theta, float), np.asarray(phi, float)
        a0, a1 = _coupler_products(self)  # (2, 2, K): MZIs on the last, contiguous axis
        nb = mesh_kernels.compiled()
        if nb is not None and theta.ndim == 1 and theta.shape == phi.shape == (self.layout.n_mzi,):
            out = [np.empty((2, 2, theta.size), complex) for _ in range(3 if derivatives else 1)]
            d1, d2 = (out[1], out[2]) if derivatives else (out[0], out[0])
            nb.transfer(a0, a1, self.internal[:, 0], self.internal[:, 1], self.external[:, 0],
                        self.external[:, 1], theta, phi, out[0], d1, d2, derivatives)
            return tuple(np.moveaxis(v, -1, 0) for v in out)
        i0 = self.internal[:, 0] * np.exp(1j * theta)
        e = np.empty((2, theta.size), complex)
        np.multiply(self.external[:, 0], np.exp(1j * phi), out=e[0])
        e[1] = self.external[:, 1]
        f = a0 * i0
        f += a1 * self.internal[:, 1]
        t = f * e[None]
        if not derivatives:
            return (np.moveaxis(t, -1, 0),)
        dt_theta = a0 * (1j * i0)
        dt_theta *= e[None]
        dt_phi = np.zeros_like(t)
        dt_phi[:, 0] = t[:, 0] * 1j
        return tuple(np.moveaxis(v, -1, 0) for v in (t, dt_theta, dt_phi))

    def parts(self, theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(E, F, T): external arms diag(v e^{iφ}, w), internal stage F = C2·diag(u e^{iθ}, l)·C1
        and the MZI T = F·E, each (K, 2, 2)."""
        theta, phi = np.asarray(theta, float), np.asarray(phi, float)
        k = self.layout.n_mzi
        e = np.zeros((k, 2, 2), complex)
        e[:, 0, 0], e[:, 1, 1] = self.external[:, 0] * np.exp(1j * phi), self.external[:, 1]
        c2 = self.coupler2 * np.stack([self.internal[:, 0] * np.exp(1j * theta), self.internal[:, 1]], -1)[:, None, :]
        f = c2 @ self.coupler1
        return e, f, f * np.stack([e[:, 0, 0], e[:, 1, 1]], -1)[:, None, :]

    def mzis(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """(K, 2, 2) MZI transfer matrices ((W, K, 2, 2) with a wavelength axis)."""
        if self.n_wavelengths is not None:
            return mesh_spectral.transfer(self, theta, phi)[0]
        return self.transfer(theta, phi)[0]

    def build(self, theta: np.ndarray, phi: np.ndarray) -> "mesh_kernels.Build | None":
        """The fused-column build of this mesh at (θ, φ) (reused from the last few calls),
        or None for a layout that is not a brick wall."""
        pl = mesh_kernels.plan(self.layout)
        if pl is None:
            return None
        return mesh_kernels.cached_build(self, pl, theta, phi, lambda: self.mzis(theta, phi))

    def matrix(self, theta: np.ndarray, phi: np.ndarray, output_phases: np.ndarray | None = None) -> np.ndarray:
        """The N×N mesh transfer matrix (O(N³) build: fused column blocks, mesh_kernels);
        (W, N, N) with a wavelength axis (:func:`pipeline.circuit.mesh_spectral.matrix`)."""
        self.check_phases(theta, phi, output_phases)
        if self.n_wavelengths is not None:
            return mesh_spectral.matrix(self, theta, phi, output_phases)
        psi = np.zeros(self.layout.n) if output_phases is None else np.asarray(output_phases, float)
        pl = mesh_kernels.plan(self.layout)
        u = None if pl is None else mesh_direct.column_product(pl, self.mzis(theta, phi))  # compiled
        if u is None:
            b = self.build(theta, phi)
            u = mesh_matrix(self.layout, theta, phi, mzis=self.mzis(theta, phi)) if b is None else b.product
        return (np.prod(self.columns) * self.output * np.exp(1j * psi))[:, None] * u * self.input[None, :]


_COUPLERS: dict[int, tuple] = {}


def _coupler_products(hw: MeshHardware) -> tuple[np.ndarray, np.ndarray]:
    """Phase-independent C2[a,0]·C1[0,b] and C2[a,1]·C1[1,b] (K, 2, 2) of hw (recomputed
    if its couplers were replaced or changed)."""
    c1, c2 = hw.coupler1, hw.coupler2
    hit = _COUPLERS.get(id(hw))
    if hit is not None and hit[0] is hw and np.array_equal(hit[1], c1) and np.array_equal(hit[2], c2):
        return hit[3], hit[4]
    a0 = np.ascontiguousarray(np.moveaxis(c2[:, :, 0, None] * c1[:, None, 0, :], 0, -1))
    a1 = np.ascontiguousarray(np.moveaxis(c2[:, :, 1, None] * c1[:, None, 1, :], 0, -1))
    if len(_COUPLERS) > 64:
        _COUPLERS.clear()
    _COUPLERS[id(hw)] = (hw, np.array(c1), np.array(c2), a0, a1)
    return a0, a1


def column_groups(layout: MeshLayout) -> list[np.ndarray]:
    """MZI indices of each column (sorted by mode; MZIs of a column act on disjoint mode pairs)."""
    order = np.lexsort((layout.modes, layout.column))  # by column, then by mode
    bounds = np.searchsorted(layout.column[order], np.arange(layout.n_columns + 1))
    return [order[bounds[c]:bounds[c + 1]] for c in range(layout.n_columns)]

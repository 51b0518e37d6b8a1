"""Carriers in a reverse-biased lateral PN junction: nonlinear Poisson on the silicon (scikit-fem).

Cross-section frame (µm): x lateral (rib centred at x = 0), z vertical (z = 0 at the BOX top).
Silicon is the rib (|x| ≤ w/2, 0 ≤ z ≤ h) plus the slab (x_left ≤ x ≤ x_right, 0 ≤ z ≤ t).

Equation, with ψ the electrostatic potential in units of V_t = kT/q:

    −∇·(ε_s ∇ψ) V_t = q (p − n + N_D − N_A),   n = n_i e^(ψ − φ_n),  p = n_i e^(φ_p − ψ).

Under reverse bias the quasi-Fermi levels are flat (negligible current): φ_p = 0 (p contact)
and φ_n = V_R / V_t (n contact) everywhere.  Boundary conditions: ohmic contacts at the slab's
end faces x = x_left (p++) and x = x_right (n++) — ψ fixed at the charge-neutral value
asinh(N/2n_i) + φ — and zero normal field on every other face (the oxide holds no charge and its
field is neglected: ε_ox/ε_Si = 1/3, a fringe correction of the capacitance only).

Discretisation: P1 triangles on a tensor grid aligned with every doping step and silicon face,
uniform ``fine_cell`` in a window around the junction (Debye length 5.8 nm at 5e17 cm⁻³), graded
elsewhere; the carrier term is mass-lumped (nodal quadrature, as a box-method device solver), so
the Jacobian K + M_L (n + p)/L² is symmetric positive definite and the functional is convex:
Newton with a step cap of ``max_step`` V_t converges from the charge-neutral guess; each
voltage starts from the previous one.  Not modelled: Fermi–Dirac statistics and band-gap
narrowing in the p++/n++ contacts (they only pin the contact potential), incomplete ionisation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from pydantic import model_validator

from pipeline.charge.depletion import EPS0, EPS_SI, NI_SI_300K, Q_E, thermal_voltage
from pipeline.errors import SolverError
from pipeline.solver_process import run_task, separate_interpreter
from pipeline.specs import Spec, quantity

#: Density scale of the Newton unknowns [cm⁻³] (keeps p, n of order 1e-7..1e3).
N_SCALE = 1e17


class JunctionProblem(Spec):
    """A lateral PN junction in a rib (lengths µm, densities cm⁻³, voltages V)."""

    rib_width: float = quantity(0.5, "um", "rib width (centred at x = 0)", gt=0)
    rib_height: float = quantity(0.22, "um", "rib height above the BOX", gt=0)
    slab_thickness: float = quantity(0.09, "um", "slab thickness (<= rib_height)", gt=0)
    x_left: float = quantity(-2.25, "um", "p-contact face (slab end)")
    x_right: float = quantity(2.25, "um", "n-contact face (slab end)")
    junction_x: float = quantity(0.0, "um", "metallurgical junction (p for x < it, n above)")
    p_doping: float = quantity(5e17, "cm^-3", "acceptors N_A of the p side", gt=0)
    n_doping: float = quantity(5e17, "cm^-3", "donors N_D of the n side", gt=0)
    p_contact_doping: float = quantity(1e20, "cm^-3", "acceptors of the p++ region", gt=0)
    n_contact_doping: float = quantity(1e20, "cm^-3", "donors of the n++ region", gt=0)
    p_contact_edge: float = quantity(-1.25, "um", "p++ for x <= this")
    n_contact_edge: float = quantity(1.25, "um", "n++ for x >= this")
    temperature_K: float = quantity(300.0, "K", "lattice temperature", gt=200, lt=500)
    intrinsic_density: float = quantity(NI_SI_300K, "cm^-3", "n_i (Sproul & Green 1991 at 300 K)", gt=0)
    eps_r: float = quantity(EPS_SI, "1", "relative permittivity of Si", gt=1)
    reverse_biases: tuple[float, ...] = quantity((0.0, 1.0, 2.0), "V", "reverse biases V_R >= 0 solved, in order")
    fine_cell: float = quantity(0.004, "um", "cell size in the junction window", gt=0, le=0.05)
    fine_halfwidth: float = quantity(0.2, "um", "half-width of the junction window", gt=0)
    max_cell: float = quantity(0.04, "um", "largest lateral cell", gt=0, le=0.5)
    vertical_cell: float = quantity(0.02, "um", "largest vertical cell", gt=0, le=0.2)
    growth: float = quantity(1.15, "1", "geometric growth of cells away from doping steps", gt=1, le=2)
    max_step: float = quantity(3.0, "1", "Newton step cap [V_t]", gt=0)

    @model_validator(mode="after")
    def _order(self) -> "JunctionProblem":
        xs = [self.x_left, self.p_contact_edge, self.junction_x, self.n_contact_edge, self.x_right]
        if any(b <= a for a, b in zip(xs[:-1], xs[1:])):
            raise ValueError(f"x_left < p_contact_edge < junction_x < n_contact_edge < x_right required, got {xs} um. "
                             "Fix: put the junction between the contact regions and the contacts inside the domain.")
        if not (self.x_left < -self.rib_width / 2 and self.rib_width / 2 < self.x_right):
            raise ValueError(f"rib (width {self.rib_width} um) reaches the contacts at {self.x_left}, {self.x_right} um. "
                             "Fix: widen the slab.")
        if self.slab_thickness > self.rib_height:
            raise ValueError(f"slab_thickness = {self.slab_thickness} um > rib_height = {self.rib_height} um. "
                             "Fix: slab_thickness <= rib_height (equal: a uniform slab, the 1D-like case).")
        if not self.reverse_biases or min(self.reverse_biases) < 0:
            raise ValueError(f"reverse_biases = {self.reverse_biases} V: need reverse biases >= 0 (forward bias needs "
                             "the drift-diffusion equations, not modelled). Fix: e.g. (0, 1, 2).")
        return self

    def doping(self, x: np.ndarray) -> np.ndarray:
        """Net doping N_D − N_A [cm⁻³] at lateral positions x [µm]."""
        x = np.asarray(x, float)
        out = np.where(x < self.junction_x, -self.p_doping, self.n_doping)
        out = np.where(x <= self.p_contact_edge, -self.p_contact_doping, out)
        return np.where(x >= self.n_contact_edge, self.n_contact_doping, out)


@dataclass(frozen=True)
class ChargeSolution:
    """Potential and carriers on the mesh nodes, one row per reverse bias."""

    problem: JunctionProblem
    x_um: np.ndarray  # nodes
    z_um: np.ndarray
    triangles: np.ndarray  # (3, n_tri)
    reverse_bias: np.ndarray  # V
    psi: np.ndarray  # (bias, node) V
    n: np.ndarray  # (bias, node) cm⁻³
    p: np.ndarray  # (bias, node) cm⁻³
    charge_n_side: np.ndarray  # (bias,) q ∫_{x > x_j} (p − n + N) dA  [C/m]
    charge_total: np.ndarray  # (bias,) q ∫ (p − n + N) dA  [C/m]
    iterations: np.ndarray  # Newton iterations per bias
    wall_time_s: float

    def interpolate(self, which: str, index: int, x_um: np.ndarray, z_um: np.ndarray) -> np.ndarray:
        """``which`` in ("n", "p") [cm⁻³] at points (log-linear on the triangles; NaN outside Si)."""
        from matplotlib.tri import LinearTriInterpolator, Triangulation

        vals = np.log(np.maximum(getattr(self, which)[index], 1e-30))
        tri = Triangulation(self.x_um, self.z_um, self.triangles.T)
        out = LinearTriInterpolator(tri, vals)(np.asarray(x_um, float), np.asarray(z_um, float))
        return np.exp(np.asarray(np.ma.filled(out, np.nan)))

    def depletion_edges(self, index: int, z_um: float) -> tuple[float, float]:
        """(x_p, x_n) [µm] on the mesh row nearest z: where p = N_A/2 (p side) and n = N_D/2 (n side)."""
        pr = self.problem
        row = np.isclose(self.z_um, self.z_um[np.argmin(np.abs(self.z_um - z_um))])
        order = np.argsort(self.x_um[row])
        x, n, p = self.x_um[row][order], self.n[index][row][order], self.p[index][row][order]
        left = (x > pr.p_contact_edge) & (x <= pr.junction_x)
        right = (x >= pr.junction_x) & (x < pr.n_contact_edge)
        # log-density falls monotonically toward the junction on each side
        xp = float(np.interp(0.0, np.log(p[left] / (pr.p_doping / 2))[::-1], x[left][::-1]))
        xn = float(np.interp(0.0, np.log(n[right] / (pr.n_doping / 2)), x[right]))
        return xp, xn

    def depletion_width(self, index: int, z_um: float) -> float:
        """x_n − x_p [µm] (see :meth:`depletion_edges`)."""
        xp, xn = self.depletion_edges(index, z_um)
        return xn - xp


def grid_lines(lo: float, hi: float, steps: list[float], fine: tuple[float, float], problem: JunctionProblem) -> np.ndarray:
    """Lateral grid lines [µm]: through every point of ``steps``, uniform ``fine_cell`` inside
    ``fine`` (lo, hi of the junction window), graded (``growth``) from ``fine_cell`` at the
    window and doping steps up to ``max_cell``."""
    pts = sorted({lo, hi, *[s for s in steps if lo < s < hi], *[f for f in fine if lo < f < hi]})
    h0, hmax, g = problem.fine_cell, problem.max_cell, problem.growth
    lines = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        if a >= fine[0] - 1e-12 and b <= fine[1] + 1e-12:
            lines.extend(np.linspace(a, b, max(1, int(np.ceil((b - a) / h0 - 1e-9))) + 1)[1:])
            continue
        left, right, pa, pb, ha, hb = [], [], a, b, h0, h0
        while pb - pa > 1.5 * max(ha, hb):
            if ha <= hb:
                pa += ha
                left.append(pa)
                ha = min(ha * g, hmax)
            else:
                pb -= hb
                right.append(pb)
                hb = min(hb * g, hmax)
        lines.extend(left + right[::-1] + [b])
    return np.unique(np.round(np.asarray(lines), 9))


def _lines_z(problem: JunctionProblem) -> np.ndarray:
    def seg(a: float, b: float) -> np.ndarray:
        return np.linspace(a, b, max(2, int(np.ceil((b - a) / problem.vertical_cell - 1e-9)) + 1))

    t, h = problem.slab_thickness, problem.rib_height
    return seg(0.0, t) if np.isclose(t, h) else np.unique(np.concatenate([seg(0.0, t), seg(t, h)]))


def solve_junction(problem: JunctionProblem) -> ChargeSolution:
    """Solve ``problem`` at each of its reverse biases (here, or in the solver interpreter)."""
    if separate_interpreter():
        r = run_task({"kind": "charge", "problem": problem.model_dump(mode="json")}, label="PN-junction Poisson solve")
        return _from_result(problem, r)
    return _solve_here(problem)


_ARRAYS = ("x_um", "z_um", "triangles", "reverse_bias", "psi", "n", "p", "charge_n_side", "charge_total", "iterations")


def _from_result(problem: JunctionProblem, r: dict) -> ChargeSolution:
    return ChargeSolution(problem=problem, **{k: np.asarray(r[k]) for k in _ARRAYS}, wall_time_s=float(r["wall_time_s"]))


def run_charge_task(task: dict) -> dict:
    """Solver-process side of :func:`solve_junction` (see :mod:`pipeline.solver_worker`)."""
    sol = _solve_here(JunctionProblem.model_validate(task["problem"]))
    return {**{k: np.asarray(getattr(sol, k)) for k in _ARRAYS}, "wall_time_s": sol.wall_time_s}


def _solve_here(pr: JunctionProblem) -> ChargeSolution:
    try:
        from scipy.sparse import diags
        from scipy.sparse.linalg import spsolve
        from skfem import Basis, BilinearForm, ElementTriP0, ElementTriP1, LinearForm, MeshTri, asm
        from skfem.helpers import dot, grad
    except ImportError as exc:
        raise SolverError(f"the PN-junction solver needs scikit-fem ({exc}). Fix: `pip install photoprop[solvers]`, "
                          "or set PHOTOPROP_SOLVER_PYTHON to an interpreter that has it.") from exc
    t0 = time.perf_counter()
    w2 = pr.rib_width / 2
    xj = pr.junction_x
    xs = grid_lines(pr.x_left, pr.x_right, [-w2, w2, xj, pr.p_contact_edge, pr.n_contact_edge],
                    (xj - pr.fine_halfwidth, xj + pr.fine_halfwidth), pr)
    mesh = MeshTri.init_tensor(xs, _lines_z(pr))
    cx, cz = mesh.p[:, mesh.t].mean(axis=1)
    oxide = (cz > pr.slab_thickness) & (np.abs(cx) > w2)
    if oxide.any():
        mesh = mesh.remove_elements(np.nonzero(oxide)[0])
    basis = Basis(mesh, ElementTriP1())
    cx = mesh.p[0, mesh.t].mean(axis=0)
    K = asm(BilinearForm(lambda u, v, w: dot(grad(u), grad(v))), basis).tocsr()
    ml = asm(LinearForm(lambda v, w: v), basis)
    dop = basis.with_element(ElementTriP0()).interpolate(pr.doping(cx) / N_SCALE)
    C = asm(LinearForm(lambda v, w: w.c * v), basis, c=dop) / ml  # nodal net doping / N_SCALE
    vt = thermal_voltage(pr.temperature_K)
    lam2 = pr.eps_r * EPS0 * vt / (Q_E * N_SCALE * 1e6) * 1e12  # Debye length² at N_SCALE [µm²]
    ni = pr.intrinsic_density / N_SCALE
    x = mesh.p[0]
    p_dofs = np.nonzero(np.isclose(x, pr.x_left))[0]
    n_dofs = np.nonzero(np.isclose(x, pr.x_right))[0]
    fixed = np.concatenate([p_dofs, n_dofs])
    free = np.setdiff1d(np.arange(x.size), fixed)
    # n-side charge: carriers lumped on the nodes (junction-line nodes count half), doping exact per element
    weight = np.where(np.isclose(x, xj), 0.5, (x > xj).astype(float))
    basis0 = basis.with_element(ElementTriP0())
    area = asm(LinearForm(lambda v, w: v), basis0)
    dop_n = float(np.sum(area * np.where(cx > xj, pr.doping(cx), 0.0)))  # cm⁻³ µm²
    to_c_per_m = 1e6 * 1e-12 * Q_E  # (cm⁻³ → m⁻³) (µm² → m²) q
    out = {k: [] for k in ("psi", "n", "p", "qn", "qt", "it")}
    psi = None
    for vr in pr.reverse_biases:
        phin = vr / vt
        psi_neutral = np.arcsinh(C / (2 * ni)) + np.where(C > 0, phin, 0.0)
        psi = psi_neutral.copy() if psi is None else psi.copy()
        psi[fixed] = psi_neutral[fixed]
        for it in range(1, 301):
            n, p = ni * np.exp(psi - phin), ni * np.exp(-psi)
            F = K @ psi - ml * (p - n + C) / lam2
            J = (K + diags(ml * (p + n) / lam2)).tocsr()
            d = np.zeros_like(psi)
            d[free] = spsolve(J[free][:, free], -F[free])
            big = float(np.max(np.abs(d)))
            psi += d * min(1.0, pr.max_step / big) if big > 0 else 0.0
            if big < 1e-10:
                break
        else:
            raise SolverError(f"Poisson Newton did not converge at V_R = {vr} V (last update {big:.3g} V_t). "
                              "Fix: refine fine_cell or lower max_step.")
        n, p = ni * np.exp(psi - phin), ni * np.exp(-psi)
        rho = ml * (p - n + C) * N_SCALE * 1e6 * 1e-12 * Q_E  # C/m per node (µm² → m², cm⁻³ → m⁻³)
        out["psi"].append(psi * vt)
        out["n"].append(n * N_SCALE)
        out["p"].append(p * N_SCALE)
        out["qn"].append(float(np.sum(weight * ml * (p - n)) * N_SCALE * to_c_per_m + dop_n * to_c_per_m))
        out["qt"].append(float(rho.sum()))
        out["it"].append(it)
    return ChargeSolution(problem=pr, x_um=np.asarray(mesh.p[0]), z_um=np.asarray(mesh.p[1]), triangles=np.asarray(mesh.t),
                          reverse_bias=np.asarray(pr.reverse_biases, float), psi=np.array(out["psi"]),
                          n=np.array(out["n"]), p=np.array(out["p"]), charge_n_side=np.array(out["qn"]),
                          charge_total=np.array(out["qt"]), iterations=np.array(out["it"]),
                          wall_time_s=time.perf_counter() - t0)

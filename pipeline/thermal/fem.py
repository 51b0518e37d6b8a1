"""Steady-state heat equation −∇·(k ∇T) = q on a geometry-aligned triangle mesh (P1, scikit-fem).

Boundary conditions: T = ambient on the bottom (heat sink), −k ∂T/∂n = h (T − ambient)
on the top, adiabatic sides. The mesh lines pass through every rectangle edge, so each
triangle holds one material (no staircasing) and the conductivity jumps are exact.

Energy bookkeeping (:attr:`ThermalSolution.flux_balance`): the heat leaving through the
sink, integrated as −k ∂T/∂n over the bottom facets from the FE gradient, plus the
convective loss of the top, must equal the dissipated power; the residual falls with
mesh refinement, so it measures discretisation error, not round-off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import xarray as xr

from pipeline.errors import SolverError
from pipeline.solver_process import run_task, separate_interpreter
from pipeline.thermal.geometry import ThermalProblem, graded_lines

UM = 1e-6


@dataclass(frozen=True)
class ThermalSolution:
    """Temperature rise on the mesh nodes and the heat-flux bookkeeping."""

    problem: ThermalProblem
    x_um: np.ndarray  # node x [µm]
    y_um: np.ndarray  # node y [µm]
    delta_T: np.ndarray  # node temperature rise over ambient [K]
    triangles: np.ndarray  # (3, n_tri) node indices
    power_in: float  # W/m
    flux_sink: float  # W/m through the bottom, −k ∂T/∂n from the FE gradient (first-order accurate)
    flux_sink_residual: float  # W/m through the bottom, the FE reaction (A·T − b) at the sink nodes
    flux_top: float  # W/m through the top (convection)
    wall_time_s: float

    @property
    def flux_balance(self) -> float:
        """(flux out − power in) / power in, the sink flux from the FE gradient: a measure of
        discretisation error (falls with mesh refinement)."""
        return (self.flux_sink + self.flux_top - self.power_in) / self.power_in if self.power_in else 0.0

    @property
    def source_balance(self) -> float:
        """(reaction flux out − specified power) / specified power: discrete conservation is
        exact, so this checks that the meshed heaters dissipate the specified power."""
        out = self.flux_sink_residual + self.flux_top
        return (out - self.power_in) / self.power_in if self.power_in else 0.0

    def interpolate(self, x_um: np.ndarray, y_um: np.ndarray) -> np.ndarray:
        """Linear (P1) interpolation of ΔT [K] at points [µm]."""
        from matplotlib.tri import LinearTriInterpolator, Triangulation

        tri = Triangulation(self.x_um, self.y_um, self.triangles.T)
        vals = LinearTriInterpolator(tri, self.delta_T)(np.asarray(x_um), np.asarray(y_um))
        return np.asarray(np.ma.filled(vals, np.nan))

    def mean_over(self, x0: float, x1: float, y0: float, y1: float, n: int = 21) -> float:
        """Mean ΔT [K] over a rectangle [µm]."""
        xs, ys = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return float(np.nanmean(self.interpolate(xs, ys)))

    def on_grid(self, x_um: np.ndarray, y_um: np.ndarray) -> xr.DataArray:
        """ΔT [K] on a rectilinear grid, as an xarray DataArray (dims y, x)."""
        xs, ys = np.meshgrid(x_um, y_um)
        return xr.DataArray(self.interpolate(xs, ys), dims=("y", "x"), coords={"x": x_um, "y": y_um},
                            name="delta_T", attrs={"units": "K", "long_name": "temperature rise"})


def solve_steady_state(problem: ThermalProblem) -> ThermalSolution:
    """Solve the steady heat equation for ``problem``; powers in W/m, result ΔT in K.

    Runs here, or in the solver interpreter when one is set (:mod:`pipeline.solver_process`)."""
    if separate_interpreter():
        result = run_task({"kind": "heat", "problem": problem.model_dump(mode="json")}, label="thermal FEM solve")
        return _solution_from_result(problem, result)
    return _solve_here(problem)


_ARRAY_FIELDS = ("x_um", "y_um", "delta_T", "triangles")
_SCALAR_FIELDS = ("power_in", "flux_sink", "flux_sink_residual", "flux_top", "wall_time_s")


def _solution_from_result(problem: ThermalProblem, result: dict) -> ThermalSolution:
    return ThermalSolution(problem=problem, **{k: np.asarray(result[k]) for k in _ARRAY_FIELDS},
                           **{k: float(result[k]) for k in _SCALAR_FIELDS})


def run_heat_task(task: dict) -> dict:
    """Solver-process side of :func:`solve_steady_state` (see :mod:`pipeline.solver_worker`)."""
    sol = _solve_here(ThermalProblem.model_validate(task["problem"]))
    return {**{k: getattr(sol, k) for k in _ARRAY_FIELDS}, **{k: getattr(sol, k) for k in _SCALAR_FIELDS}}


def _solve_here(problem: ThermalProblem) -> ThermalSolution:
    try:
        import skfem  # noqa: F401
    except ImportError as exc:
        raise SolverError(f"the thermal solver needs scikit-fem, which is not importable here ({exc}). Fix: "
                          "`pip install photoprop[solvers]`, or set PHOTOPROP_SOLVER_PYTHON to an interpreter "
                          "that has it.") from exc
    from skfem import (
        Basis,
        BilinearForm,
        ElementTriP0,
        ElementTriP1,
        FacetBasis,
        Functional,
        LinearForm,
        MeshTri,
        asm,
        condense,
        solve,
    )
    from skfem.helpers import dot, grad

    t0 = time.perf_counter()
    xe = [e for r in problem.rects for e in (r.x0, r.x1)]
    ye = [e for r in problem.rects for e in (r.y0, r.y1)]
    xs = graded_lines(problem.x_min, problem.x_max, xe, problem.max_cell, problem.growth)
    ys = graded_lines(problem.y_min, problem.y_max, ye, problem.max_cell, problem.growth)
    mesh = MeshTri.init_tensor(xs * UM, ys * UM).with_boundaries(
        {
            "bottom": lambda x: np.isclose(x[1], problem.y_min * UM),
            "top": lambda x: np.isclose(x[1], problem.y_max * UM),
        }
    )
    basis = Basis(mesh, ElementTriP1())
    basis0 = basis.with_element(ElementTriP0())
    centroid = mesh.p[:, mesh.t].mean(axis=1) / UM
    k = np.full(mesh.t.shape[1], problem.background_conductivity)
    q = np.zeros(mesh.t.shape[1])
    for r in problem.rects:
        inside = (centroid[0] > r.x0) & (centroid[0] < r.x1) & (centroid[1] > r.y0) & (centroid[1] < r.y1)
        k[inside] = r.conductivity
        if r.power_per_length:
            if not inside.any():
                raise SolverError(f"heater {r.name!r} contains no mesh cell. Fix: reduce max_cell.")
            q[inside] = r.power_per_length / r.area_m2
    kf, qf = basis0.interpolate(k), basis0.interpolate(q)

    @BilinearForm
    def conduction(u, v, w):
        return w.k * dot(grad(u), grad(v))

    @LinearForm
    def source(v, w):
        return w.q * v

    A = asm(conduction, basis, k=kf)
    b = asm(source, basis, q=qf)
    top = FacetBasis(mesh, ElementTriP1(), facets=mesh.boundaries["top"])
    if problem.h_top > 0:

        @BilinearForm
        def robin(u, v, w):
            return problem.h_top * u * v

        A = A + asm(robin, top)
    fixed = basis.get_dofs("bottom").all()
    dT = solve(*condense(A, b, D=fixed))
    if not np.all(np.isfinite(dT)):
        raise SolverError("thermal solve returned non-finite temperatures (singular system?).")

    # flux through the sink from the FE gradient (cell-wise k, facet quadrature)
    bottom = FacetBasis(mesh, ElementTriP1(), facets=mesh.boundaries["bottom"])
    kb = bottom.with_element(ElementTriP0()).interpolate(k)

    @Functional
    def outward_flux(w):
        return -w.k * dot(grad(w.T), w.n)

    flux_sink = float(asm(outward_flux, bottom, T=bottom.interpolate(dT), k=kb))
    flux_sink_residual = float(-(A @ dT - b)[fixed].sum())

    @Functional
    def convective(w):
        return problem.h_top * w.T

    flux_top = float(asm(convective, top, T=top.interpolate(dT))) if problem.h_top > 0 else 0.0
    return ThermalSolution(
        problem=problem,
        x_um=mesh.p[0] / UM,
        y_um=mesh.p[1] / UM,
        delta_T=np.asarray(dT),
        triangles=np.asarray(mesh.t),
        power_in=problem.total_power_per_length,
        flux_sink=flux_sink,
        flux_sink_residual=flux_sink_residual,
        flux_top=flux_top,
        wall_time_s=time.perf_counter() - t0,
    )

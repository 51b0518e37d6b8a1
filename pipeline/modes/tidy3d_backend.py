"""Tidy3D backend: the *local* finite-difference mode solver
(``tidy3d.plugins.mode.ModeSolver(...).solve()``; never the cloud).

Tidy3D's local solver has no subpixel averaging: it point-samples ε at the staggered
(Yee) field positions, so a grid line lying exactly on a core face is sampled on either
side by round-off and n_eff jumps by ±3 % between resolutions.  The grid is therefore
built here (``quarter_offset_nodes``): between consecutive interfaces (core faces,
substrate top, window edges) the step is uniform and at most 1/``resolution`` µm, and
every interface sits a quarter step beyond a grid line.  Then each field component sees
every core with its exact width and thickness (node-sampled components shifted by +h/4,
cell-centre-sampled ones by −h/4), and n_eff converges smoothly, first order in h.  The
grid does not depend on λ, so finite differences in λ (group index) see the same
discretization.  The window is bounded by PEC walls ~``margin`` µm beyond the cores.
TE fraction: Tidy3D's ``pol_fraction.te`` (∫|E_x|² / ∫(|E_x|²+|E_z|²) with the grid's
area weights; plane normal y).
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from pipeline.errors import SolverError
from pipeline.modes.cross_section import CrossSection
from pipeline.modes.solver import RawModes, quiet

C0_UM_PER_S = 299792458.0e6


def _import():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with quiet():
            import tidy3d as td
            from tidy3d.plugins.mode import ModeSolver
    try:
        td.config.logging.level = "ERROR"  # tidy3d >= 2.10
    except AttributeError:
        td.config.logging_level = "ERROR"
    logging.getLogger("tidy3d").setLevel(logging.ERROR)
    return td, ModeSolver


def quarter_offset_nodes(breaks: list[float], resolution: float) -> np.ndarray:
    """Grid lines [µm] spanning ``breaks`` (~1/``resolution`` µm apart) with every break
    point a quarter step to the right of a grid line."""
    pts = sorted(set(round(b, 9) for b in breaks))
    nodes: list[float] = []
    h = 1.0 / resolution
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, math.ceil(round((b - a) * resolution, 6)))
        h = (b - a) / n
        nodes.extend(a - 0.25 * h + k * h for k in range(n))
    nodes.append(pts[-1] - 0.25 * h)
    return np.asarray(nodes)


def solve(cs: CrossSection, wavelength: float, *, num_modes: int, resolution: float,
          margin: tuple[float, float], grid_wavelength: float, fields: bool = False) -> RawModes:
    """Solve one wavelength [µm] of a constant-index cross-section (see module doc)."""
    td, ModeSolver = _import()
    x0, x1, z0, z1 = cs.bounds()
    xa, xb, za, zb = x0 - margin[0], x1 + margin[0], z0 - margin[1], z1 + margin[1]
    xbreaks = [xa, xb] + [e for c in cs.cores for e in c.x_span]
    zbreaks = [za, zb] + [e for c in cs.cores for e in c.z_span]
    if cs.substrate is not None and za < 0 < zb:
        zbreaks.append(0.0)
    nx, nz = quarter_offset_nodes(xbreaks, resolution), quarter_offset_nodes(zbreaks, resolution)
    dx, dz = np.diff(nx), np.diff(nz)
    center = (0.5 * (nx[0] + nx[-1]), 0.0, 0.5 * (nz[0] + nz[-1]))
    size = (nx[-1] - nx[0], 1.0, nz[-1] - nz[0])
    structures = []
    if cs.substrate is not None:
        depth = 2.0 * (size[2] + abs(center[2])) + 1.0
        structures.append(td.Structure(geometry=td.Box(center=(0, 0, -0.5 * depth), size=(td.inf, td.inf, depth)),
                                       medium=td.Medium(permittivity=cs.substrate.n**2)))
    for c in cs.cores:
        structures.append(td.Structure(
            geometry=td.Box(center=(c.x_center, 0, c.z_bottom + 0.5 * c.thickness), size=(c.width, td.inf, c.thickness)),
            medium=td.Medium(permittivity=c.material.n**2)))
    grid = td.GridSpec(grid_x=td.CustomGrid(dl=tuple(dx)), grid_y=td.UniformGrid(dl=0.1),
                       grid_z=td.CustomGrid(dl=tuple(dz)))
    log: list[str] = []
    try:
        with quiet() as log, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # tidy3d/numpy internals
            warnings.simplefilter("ignore", FutureWarning)
            sim = td.Simulation(center=center, size=size, grid_spec=grid, structures=structures,
                                medium=td.Medium(permittivity=cs.cladding.n**2), run_time=1e-12)
            spec = td.ModeSpec(num_modes=num_modes, target_neff=cs.max_index(wavelength), precision="double")
            solver = ModeSolver(simulation=sim, plane=td.Box(center=center, size=(size[0], 0, size[2])),
                                mode_spec=spec, freqs=[C0_UM_PER_S / wavelength])
            data = solver.solve()
    except Exception as exc:
        tail = "".join(log).strip()[-800:]
        raise SolverError(f"Tidy3D mode solver failed ({type(exc).__name__}: {exc}) at {wavelength} um, "
                          f"resolution {resolution:g} px/um" + (f"; solver output: {tail}" if tail else "")) from exc
    neff = np.asarray(data.n_eff.values).reshape(-1)[:num_modes]
    te = np.asarray(data.pol_fraction.te.values).reshape(-1)[:num_modes]
    order = np.argsort(-neff)
    raw = RawModes(neff=neff[order].astype(float), te_fraction=te[order].astype(float))
    if fields:
        comps = {}
        for name in ("Ex", "Ey", "Ez"):
            arr = data.field_components[name].isel(f=0).squeeze("y", drop=True)
            comps[name] = np.asarray(arr.transpose("mode_index", "x", "z").values)[order]
        raw.x = np.asarray(data.field_components["Ex"].x.values)
        raw.z = np.asarray(data.field_components["Ex"].z.values)
        from pipeline.modes.mpb_backend import _normalised  # pure numpy helper

        raw.fields = _normalised(comps)
    return raw


def heated_neffs(cs: CrossSection, wavelength: float, *, nx: np.ndarray, nz: np.ndarray, xs: np.ndarray,
                 zs: np.ndarray, dT: np.ndarray, scales: list[float], temperature_K: float) -> np.ndarray:
    """n_eff of the fundamental mode with each material's index n_m + dn/dT_m · s · ΔT, one
    value per scale s (ΔT [K] sampled on ``xs`` × ``zs`` [µm]; solver grid lines ``nx``, ``nz``).
    The physics is described in :func:`pipeline.thermo_optic.resolve_heated`."""
    td, ModeSolver = _import()
    center = (0.5 * (nx[0] + nx[-1]), 0.0, 0.5 * (nz[0] + nz[-1]))
    size = (nx[-1] - nx[0], 1.0, nz[-1] - nz[0])
    grid = td.GridSpec(grid_x=td.CustomGrid(dl=tuple(np.diff(nx))), grid_y=td.UniformGrid(dl=0.1),
                       grid_z=td.CustomGrid(dl=tuple(np.diff(nz))))
    regions = [(cs.cladding, (nx[0], nx[-1], nz[0], nz[-1]))]
    if cs.substrate is not None and nz[0] < 0:
        regions.append((cs.substrate, (nx[0], nx[-1], nz[0], min(0.0, nz[-1]))))
    regions += [(c.material, (*c.x_span, *c.z_span)) for c in cs.cores]

    def neff_for(scale: float) -> float:
        structures = []
        for mat, (a, b, c, d) in regions:
            n = float(mat.index(wavelength, temperature_K)) + mat.dn_dT * scale * dT
            eps = td.SpatialDataArray((n**2)[:, None, :], coords=dict(x=xs, y=[0.0], z=zs))
            structures.append(td.Structure(geometry=td.Box.from_bounds((a, -td.inf, c), (b, td.inf, d)),
                                           medium=td.CustomMedium(permittivity=eps)))
        n_max = max(float(m.index(wavelength, temperature_K)) for m, _ in regions)
        log: list[str] = []
        try:
            with quiet() as log, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sim = td.Simulation(center=center, size=size, grid_spec=grid, structures=structures,
                                    medium=td.Medium(permittivity=float(cs.cladding.index(wavelength, temperature_K)) ** 2),
                                    run_time=1e-12)
                solver = ModeSolver(simulation=sim, plane=td.Box(center=center, size=(size[0], 0, size[2])),
                                    mode_spec=td.ModeSpec(num_modes=1, target_neff=n_max, precision="double"),
                                    freqs=[C0_UM_PER_S / wavelength])
                data = solver.solve()
        except Exception as exc:
            raise SolverError(f"Tidy3D heated re-solve failed ({type(exc).__name__}: {exc}) at {wavelength} um; "
                              f"solver output: {''.join(log)[-400:]}") from exc
        return float(np.asarray(data.n_eff.values).ravel()[0])

    return np.array([neff_for(float(s)) for s in scales])


def run_heated_task(task: dict) -> dict:
    """Solver-process side of :func:`heated_neffs` (see :mod:`pipeline.solver_worker`)."""
    cs = CrossSection.model_validate(task["cross_section"])
    grids = {k: np.asarray(task[k], dtype=float) for k in ("nx", "nz", "xs", "zs", "dT")}
    return {"neff": heated_neffs(cs, task["wavelength"], scales=task["scales"], temperature_K=task["temperature_K"],
                                 **grids)}

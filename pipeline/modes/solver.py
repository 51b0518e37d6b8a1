"""Mode-solver interface: ``solve_modes`` and a lazy registry of backends by name.

Backends (``"mpb"``: MIT MPB via ``meep.mpb``; ``"tidy3d"``: Tidy3D's *local* mode
solver) are imported only when first used, so ``import pipeline.modes`` never imports
meep or tidy3d.

A backend is a callable ``solve(cs, wavelength, *, num_modes, resolution, margin,
grid_wavelength, fields) -> RawModes`` that solves one wavelength [µm] of a
cross-section whose materials are constant indices.

Group index.  n_g = n_eff − λ dn_eff/dλ by a central difference with step ``dlam``
(default 5 nm): the cross-section is re-solved at λ ± dlam with every material index
re-evaluated there, so material dispersion (Si: Li 1980) is included exactly to
O(dlam²).  The grid is the same at all three wavelengths, so discretization errors
largely cancel in the difference.

TE fraction.  te_fraction = ∫|E_x|² dA / ∫(|E_x|² + |E_z|²) dA over the computational
cross-section, x horizontal (along the chip width), z vertical: ≈1 for TE-like
(quasi-TE) modes, ≈0 for TM-like ones.  The longitudinal component E_y is excluded.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np
import xarray as xr

from pipeline.errors import SolverError, SpecError
from pipeline.materials import T_REF
from pipeline.modes.cross_section import CrossSection
from pipeline.solver_process import dataset_from_result, dataset_to_result, run_task, separate_interpreter

#: name -> "module:function" (lazy) or a callable.
_BACKENDS: dict[str, str | Callable[..., "RawModes"]] = {
    "mpb": "pipeline.modes.mpb_backend:solve",
    "tidy3d": "pipeline.modes.tidy3d_backend:solve",
}
#: Default resolution [px/µm] per backend (converged to ~1e-3 in n_eff, see benchmarks).
DEFAULT_RESOLUTION = {"mpb": 64, "tidy3d": 64}
#: Default background margin around the cores' bounding box (x, z) [µm].
DEFAULT_MARGIN = (1.0, 1.0)


@dataclass
class RawModes:
    """One wavelength's result from a backend; modes sorted by descending n_eff.

    Unguided modes carry NaN.  ``fields`` (optional) maps "Ex", "Ey", "Ez" to complex
    arrays (mode, x, z) on the grid ``x``, ``z`` [µm] (cross-section frame)."""

    neff: np.ndarray
    te_fraction: np.ndarray
    x: np.ndarray | None = None
    z: np.ndarray | None = None
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    grid_resolution: tuple[float, float] | None = None  # actual (x, z) px/µm, if adjusted


def register_backend(name: str, target: str | Callable[..., RawModes]) -> None:
    """Register a backend by name: a callable or a lazy ``"module:function"`` string."""
    _BACKENDS[name] = target


def available_backends() -> list[str]:
    """Names of the registered backends (not necessarily importable)."""
    return sorted(_BACKENDS)


def get_backend(name: str) -> Callable[..., RawModes]:
    """The backend callable for ``name``, imported on first use."""
    if name not in _BACKENDS:
        raise SpecError(f"solver = {name!r}: unknown mode-solver backend. "
                        f"Fix: use one of {', '.join(repr(n) for n in available_backends())}.")
    target = _BACKENDS[name]
    if isinstance(target, str):
        mod_name, func_name = target.split(":")
        try:
            target = getattr(importlib.import_module(mod_name), func_name)
        except ImportError as exc:
            raise SolverError(f"mode-solver backend {name!r} is not importable here: {exc}. "
                              "Fix: install its package here, or set PHOTOPROP_SOLVER_PYTHON to an interpreter that "
                              "has it (README, 'Environment'), or use another solver.") from exc
        _BACKENDS[name] = target
    return target  # type: ignore[return-value]


@contextmanager
def quiet() -> Iterator[list[str]]:
    """Silence stdout/stderr at the file-descriptor level (C libraries print there too).

    Yields a list that receives the captured text on exit (for error messages)."""
    captured: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            captured.append(tmp.read().decode(errors="replace"))


def _match(ref: RawModes, other: RawModes) -> np.ndarray:
    """n_eff of ``other`` re-ordered to follow the modes of ``ref`` (nearest n_eff and TE fraction)."""
    out = np.full(ref.neff.shape, np.nan)
    free = set(range(len(other.neff)))
    for i in np.argsort(-np.nan_to_num(ref.neff, nan=-1.0)):
        if np.isnan(ref.neff[i]) or not free:
            continue
        cost = {j: abs(other.neff[j] - ref.neff[i]) + 0.1 * abs(other.te_fraction[j] - ref.te_fraction[i])
                for j in free if not np.isnan(other.neff[j])}
        if cost:
            j = min(cost, key=cost.get)  # type: ignore[arg-type]
            out[i] = other.neff[j]
            free.discard(j)
    return out


def solve_modes(cross_section: CrossSection, wavelengths: float | Sequence[float], *,
                num_modes: int = 2, solver: str = "mpb", resolution: float | None = None,
                margin: tuple[float, float] = DEFAULT_MARGIN, temperature_K: float = T_REF,
                group_index: bool = True, dlam: float = 0.005, fields: bool = False) -> xr.Dataset:
    """Guided modes of ``cross_section`` at ``wavelengths`` [µm].

    Returns a Dataset with dims ("wavelength", "mode") and variables ``neff``, ``ng``
    (NaN if ``group_index`` is False) and ``te_fraction``; with ``fields=True`` also
    complex ``Ex``, ``Ey``, ``Ez`` (wavelength, mode, x, z), each mode normalised to
    max |E| = 1 (E_y is longitudinal).  ``resolution`` is in px/µm (Tidy3D: the grid
    step in the highest-index material), ``margin`` the background padding (x, z) [µm]
    around the cores.  Materials are evaluated at each λ and ``temperature_K`` [K]."""
    lams = np.atleast_1d(np.asarray(wavelengths, dtype=float))
    if lams.ndim != 1 or lams.size == 0 or np.any(~np.isfinite(lams)) or np.any(lams <= 0):
        raise SpecError(f"wavelengths = {wavelengths!r}: need one or more finite values > 0 um.")
    if int(num_modes) != num_modes or num_modes < 1:
        raise SpecError(f"num_modes = {num_modes!r}: must be an integer >= 1.")
    if resolution is not None and not resolution > 0:
        raise SpecError(f"resolution = {resolution!r} px/um: must be > 0 (or None for the default).")
    if len(margin) != 2 or min(margin) < 0:
        raise SpecError(f"margin = {margin!r} um: need two values (x, z) >= 0, e.g. (1.0, 1.0).")
    if not 0 < dlam < 0.05 * lams.min():
        raise SpecError(f"dlam = {dlam!r} um: must be > 0 and small (< 5 % of the wavelength).")
    if isinstance(_BACKENDS.get(solver), str) and separate_interpreter():
        return _solve_in_solver_process(cross_section, lams, num_modes=int(num_modes), solver=solver,
                                        resolution=resolution, margin=margin, temperature_K=temperature_K,
                                        group_index=group_index, dlam=dlam, fields=fields)
    backend = get_backend(solver)
    res = float(resolution if resolution is not None else DEFAULT_RESOLUTION.get(solver, 64))
    grid_lam = float(lams.min() - (dlam if group_index else 0.0))
    kw = dict(num_modes=int(num_modes), resolution=res, margin=tuple(float(m) for m in margin),
              grid_wavelength=grid_lam)

    def run(lam: float, want_fields: bool) -> RawModes:
        cs = cross_section.at(lam, temperature_K)
        try:
            raw = backend(cs, lam, fields=want_fields, **kw)
        except (SolverError, SpecError):
            raise
        except Exception as exc:
            raise SolverError(f"mode solver {solver!r} failed at wavelength {lam} um "
                              f"(resolution {res} px/um): {type(exc).__name__}: {exc}") from exc
        n_bg = cs.background_index(lam)
        raw.neff = np.where(raw.neff > n_bg, raw.neff, np.nan)
        return raw

    n = int(num_modes)
    neff = np.full((lams.size, n), np.nan)
    ng = np.full((lams.size, n), np.nan)
    te = np.full((lams.size, n), np.nan)
    field_arrays: dict[str, np.ndarray] = {}
    coords_xz: tuple[np.ndarray, np.ndarray] | None = None
    grid_res = None
    for i, lam in enumerate(lams):
        raw = run(float(lam), fields)
        grid_res = raw.grid_resolution or grid_res
        m = min(n, raw.neff.size)
        neff[i, :m], te[i, :m] = raw.neff[:m], raw.te_fraction[:m]
        if group_index:
            lo, hi = run(float(lam - dlam), False), run(float(lam + dlam), False)
            dn = (_match(raw, hi) - _match(raw, lo))[:m]
            ng[i, :m] = neff[i, :m] - lam * dn / (2 * dlam)
        if fields and raw.fields:
            coords_xz = (raw.x, raw.z)  # type: ignore[assignment]
            for name, arr in raw.fields.items():
                store = field_arrays.setdefault(name, np.full((lams.size, n) + arr.shape[1:], np.nan + 0j))
                store[i, :m] = arr[:m]
    ds = xr.Dataset(
        {"neff": (("wavelength", "mode"), neff), "ng": (("wavelength", "mode"), ng),
         "te_fraction": (("wavelength", "mode"), te)},
        coords={"wavelength": lams, "mode": np.arange(n)},
    )
    if coords_xz is not None:
        ds = ds.assign_coords(x=coords_xz[0], z=coords_xz[1])
        for name, arr in field_arrays.items():
            ds[name] = (("wavelength", "mode", "x", "z"), arr)
    if grid_res is not None:
        ds.attrs["grid_resolution_xz"] = [float(g) for g in grid_res]
    ds["wavelength"].attrs["units"] = "um"
    ds["neff"].attrs.update(units="1", long_name="effective index")
    ds["ng"].attrs.update(units="1", long_name="group index n_eff - lambda dn_eff/dlambda (with material dispersion)")
    ds["te_fraction"].attrs.update(units="1", long_name="int|Ex|^2 / int(|Ex|^2+|Ez|^2), x horizontal")
    ds.attrs.update(solver=solver, resolution=res, resolution_units="px/um", margin_um=list(kw["margin"]),
                    temperature_K=float(temperature_K), group_index_dlam_um=dlam if group_index else 0.0,
                    cross_section=cross_section.canonical_json())
    return ds


# -- out of process: the same call in the solver interpreter ----------------------------------
def _solve_in_solver_process(cross_section: CrossSection, lams: np.ndarray, **kw: object) -> xr.Dataset:
    task = {"kind": "modes", "cross_section": cross_section.model_dump(mode="json"),
            "wavelengths": [float(x) for x in lams],
            **{k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}}
    result = run_task(task, label=f"mode solve ({kw['solver']})")
    return dataset_from_result(result)


def run_modes_task(task: dict) -> dict:
    """Solver-process side of :func:`solve_modes` (see :mod:`pipeline.solver_worker`)."""
    cs = CrossSection.model_validate(task["cross_section"])
    kw = {k: task[k] for k in ("num_modes", "solver", "resolution", "temperature_K", "group_index", "dlam", "fields")}
    ds = solve_modes(cs, task["wavelengths"], margin=tuple(task["margin"]), **kw)
    return dataset_to_result(ds)

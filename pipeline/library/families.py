"""The compact-model families of the device library and the one recipe that reads them.

Every family is read the same way (:func:`read`): if the family stores a fitted model file
(``<root>/compact_models/<prefix>-<hash>.nc``, the name from the device module's pure
``model_path(cache, sweep, solver)`` — the hash covers the sweep, the solver, the schema,
the model form and every run's cache key), that file is loaded; else the model is fitted in
memory from the sweep's cached entries (:func:`fit`; never simulates).  Families without a
separate model file (the phase shifter, the waveguide sweep) are built from their single
cache entry (``Model.from_entry``).

Adding a family: add a :class:`Family` row to :data:`FAMILIES` (its device module must
provide the sweep spec, ``fit``, the Model class with ``load``/``from_entry``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import CacheError, SpecError


@dataclass(frozen=True)
class Family:
    """One compact-model family: ``module`` its device module; ``kind`` ``"sweep"`` (a fitted
    model over a cached sweep, stored in ``compact_models/``) or ``"entry"`` (one cache entry
    of ``spec``/``solver`` names in ``module``, turned into a model by ``Model.from_entry``)."""

    name: str
    module: str
    kind: str
    model_class: str
    spec: str = ""
    solver: str = ""
    solver_module: str = ""

    def device_module(self) -> Any:
        return importlib.import_module(self.module)


FAMILIES: dict[str, Family] = {
    "coupler": Family("coupler", "devices.coupler_model", "sweep", "CouplerModel"),
    "photodetector": Family("photodetector", "devices.photodetector_model", "sweep", "PhotodetectorModel"),
    "crossing": Family("crossing", "devices.crossing_model", "sweep", "OffsetModel"),
    "mmi": Family("mmi", "devices.mmi_model", "sweep", "OffsetModel"),
    "pn_phase_shifter": Family("pn_phase_shifter", "devices.pn_phase_shifter_model", "sweep", "PNShifterModel"),
    "phase_shifter": Family("phase_shifter", "devices.phase_shifter", "entry", "PhaseShifterModel",
                            "PhaseShifterSpec", "ThermoOpticSolverSpec", "pipeline.thermo_optic"),
    "waveguide": Family("waveguide", "devices.waveguide_model", "entry", "WaveguideModel",
                        "WaveguideModelSpec", "ModeSolverSpec", "pipeline.modes.spec"),
}


def family(name: str) -> Family:
    """The family ``name``; unknown names list what exists."""
    if name not in FAMILIES:
        raise SpecError(f"unknown compact model {name!r}. Fix: use one of: {', '.join(FAMILIES)}.")
    return FAMILIES[name]


def _sweep_and_solver(fam: Family, sweep: Any, solver: Any) -> tuple[Any, Any]:
    mod = fam.device_module()
    return (sweep if sweep is not None else mod.default_sweep(),
            solver if solver is not None else mod.default_solver())


def model_path(cache: Any, name: str, sweep: Any = None, solver: Any = None) -> Path:
    """Where the fitted model of family ``name`` (sweep, solver) is stored in ``cache``."""
    fam = family(name)
    if fam.kind != "sweep":
        raise SpecError(f"compact model {name!r} has no model file: it is built from its cache entry.")
    sweep, solver = _sweep_and_solver(fam, sweep, solver)
    return fam.device_module().model_path(cache, sweep, solver)


def read(cache: Any, name: str) -> Any:
    """The compact model of family ``name`` (default sweep and solver) from ``cache``: its
    stored model file, else fitted in memory from the cached entries; entry families from
    their cache entry.  Never simulates."""
    fam = family(name)
    mod = fam.device_module()
    cls = getattr(mod, fam.model_class)
    if fam.kind == "entry":
        spec = getattr(mod, fam.spec)()
        solver = getattr(importlib.import_module(fam.solver_module), fam.solver)()
        entry = cache.get(spec, solver)
        if entry is None:
            raise CacheError(f"the {name} compact model's entry ({fam.spec}(), {fam.solver}()) is not in the device "
                             f"library {cache.root}. Fix: `photoprop library build --devices "
                             f"{spec.device}`.")
        return cls.from_entry(entry)
    path = model_path(cache, name)
    if path.exists():
        return cls.load(path, name) if fam.model_class == "OffsetModel" else cls.load(path)
    return fit(cache, name, write=False)


# -- fitting from the cached sweep (never simulates) --------------------------------------------
def _sweep_entries(cache: Any, sweep: Any, solver: Any, name: str) -> dict[tuple, Any]:
    entries = {run: cache.get(sweep.device(*run[1:]), solver) for run in sweep.runs()}
    missing = [run for run, e in entries.items() if e is None]
    if missing:
        raise CacheError(f"{len(missing)} of {len(entries)} {name} sweep runs are not in {cache.root} "
                         f"(first: {missing[0]}). Fix: `photoprop library build --devices {name}` "
                         "(or pipeline.library.run_sweep).")
    return entries


def fit(cache: Any, name: str, sweep: Any = None, solver: Any = None, *, write: bool = True) -> Any:
    """Fit family ``name`` from the sweep's cached entries (never simulates) and, with
    ``write``, store it atomically at :func:`model_path`."""
    from pipeline.cache.atomic import write_dataset

    fam = family(name)
    if fam.kind != "sweep":
        raise SpecError(f"compact model {name!r} is not fitted: it is built from its cache entry.")
    mod = fam.device_module()
    sweep, solver = _sweep_and_solver(fam, sweep, solver)
    entries = _sweep_entries(cache, sweep, solver, name)
    if name == "coupler":
        prior = {run[1:3]: mod.neff_centre(e) for run, e in entries.items()}
        model = mod.fit(sweep, {run: e.smatrix for run, e in entries.items()}, prior, provenance={
            "solver_spec": solver.canonical_json(), "cache_root": str(cache.root),
            "entries": {f"{r[0]} dw={r[1]:+g} dt={r[2]:+g} L={r[3]:g}": e.key for r, e in entries.items()}})
    elif name == "photodetector":
        from devices.photodetector import absorbed

        data = {run: np.asarray(absorbed(e).values, dtype=float) for run, e in entries.items()}
        model = mod.fit(sweep, data, provenance={"solver_spec": solver.canonical_json(), "entries": {
            f"{r[0]} ge_length={r[1]:g}": e.key for r, e in entries.items()}})
    elif name == "pn_phase_shifter":  # entry datasets (Δn_eff, α over V × λ) per (δN, δx_j)
        model = mod.fit(sweep, {run: e.data for run, e in entries.items()}, provenance={
            "solver_spec": solver.canonical_json(), "entries": {
                f"{r[0]} dN={r[1]:+g} dxj={r[2]:+g}": e.key for r, e in entries.items()}})
    else:  # offset families (crossing, mmi)
        from devices.offset_model import offset_priors, priors_json

        smatrices = {run: e.smatrix for run, e in entries.items()}
        keys = {f"{r[0]} dw={r[1]:+g} dt={r[2]:+g}": e.key for r, e in entries.items()}
        priors = offset_priors(entries)
        model = mod.fit(sweep, smatrices, provenance={"solver_spec": solver.canonical_json(), "entries": keys,
                                                      "phase_branch_priors": priors_json(priors)}, priors=priors)
    if write:
        write_dataset(model.dataset, model_path(cache, name, sweep, solver))
    return model


def run_sweep(cache: Any, name: str, sweep: Any = None, solver: Any = None, *, progress: Any = print,
              **execution: Any) -> dict[tuple, Any]:
    """Simulate (or read) every run of family ``name``'s sweep serially through ``cache``:
    ``{run: CacheEntry}`` (resumable: cached runs are read)."""
    import time

    from pipeline.simulate import simulate

    fam = family(name)
    sweep, solver = _sweep_and_solver(fam, sweep, solver)
    out = {}
    runs = sweep.runs()
    for i, run in enumerate(runs, 1):
        t0 = time.perf_counter()
        entry, cached = simulate(sweep.device(*run[1:]), solver, cache=cache, **execution)
        out[run] = entry
        if progress:
            progress(f"[{i}/{len(runs)}] {run}: {'cached' if cached else 'computed'} "
                     f"{time.perf_counter() - t0:.1f} s  {entry.key[:12]}")
    return out

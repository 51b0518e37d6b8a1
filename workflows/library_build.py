"""Build the device library with Dask: one task per (device spec, solver spec), each
holding the worker resource ``solver=1`` so a worker runs one solver at a time.

Resumable: entries already in the cache (and verified) are not resubmitted, and each
task goes through ``DeviceCache.get_or_compute`` (a per-key lock), so a crashed or
killed build loses only the entries in flight.

``rebuild`` is how a new solver build is checked against the shipped entries (their keys
do not depend on installed versions): each entry's S is kept in memory, recomputed and
compared — max |S_new − S_old|, also relative to max |S_old|, against
:data:`REBUILD_TOLERANCE` — and the recorded versions before and after are reported.
"""

from __future__ import annotations

import itertools
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.cache import DeviceCache
from pipeline.errors import CacheError, PhotopropError, SpecError
from pipeline.progress import item_progress
from pipeline.simulate import solver_spec_class
from pipeline.specs import DeviceSpec, SolverSpec, spec_from_json

DEFAULT_CONFIG = Path(__file__).with_name("library.toml")


@dataclass(frozen=True)
class BuildItem:
    """One library entry to build."""

    device: DeviceSpec
    solver: SolverSpec

    @property
    def label(self) -> str:
        fields = self.device.model_dump()
        short = ", ".join(f"{k}={v}" for k, v in fields.items() if k in ("gap", "length", "coupling_length"))
        return f"{self.device.device}({short})/{self.solver.solver}"


def load_items(config: Path = DEFAULT_CONFIG, devices_filter: list[str] | None = None) -> list[BuildItem]:
    """Expand the library config into build items (sweeps become one item per value)."""
    import devices

    try:
        doc = tomllib.loads(Path(config).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"library config {config}: {exc}") from exc
    items = []
    for i, entry in enumerate(doc.get("entry", [])):
        for key in ("device", "solver"):
            if key not in entry:
                raise SpecError(f"{config}: [[entry]] #{i + 1} has no {key!r}. Fix: add {key} = \"...\".")
        if devices_filter and entry["device"] not in devices_filter:
            continue
        spec_cls = devices.spec_class(entry["device"])
        solver_cls = solver_spec_class(entry["solver"])
        if "generator" in entry:  # "module:function" returning device specs (e.g. a fab-offset sweep)
            import importlib

            module, func = entry["generator"].split(":")
            for spec in getattr(importlib.import_module(module), func)():
                if not isinstance(spec, spec_cls):
                    raise SpecError(f"{config}: generator {entry['generator']} returned {type(spec).__name__}, "
                                    f"not {spec_cls.__name__}.")
                items.append(BuildItem(spec, solver_cls(**entry.get("solver_spec", {}))))
            continue
        sweep = entry.get("sweep", {})
        names = list(sweep)
        for values in itertools.product(*(sweep[n] for n in names)) if names else [()]:
            fields = {**entry.get("spec", {}), **dict(zip(names, values))}
            items.append(BuildItem(spec_cls(**fields), solver_cls(**entry.get("solver_spec", {}))))
    seen: set[tuple[str, str]] = set()
    unique = []
    for it in items:  # the same spec listed twice (e.g. a sweep through a design point) is built once
        ident = (it.device.canonical_json(), it.solver.canonical_json())
        if ident not in seen:
            seen.add(ident)
            unique.append(it)
    items = unique
    if devices_filter:
        unknown = set(devices_filter) - {it.device.device for it in items}
        if unknown:
            raise SpecError(f"--devices {sorted(unknown)}: not in {config}. Fix: use some of "
                            f"{sorted({e['device'] for e in doc.get('entry', [])})}.")
    return items


#: A rebuilt entry reproduces the one it replaces when max |S_new − S_old| stays below this
#: (amplitude units; identical FDTD runs scatter by ~1e-5, see the closing notes).
REBUILD_TOLERANCE = 1e-3


def _previous(cache: DeviceCache, device: DeviceSpec, solver: SolverSpec) -> tuple[Any, dict[str, str]]:
    """The cached S (a numpy array, in memory before the entry is overwritten) and its
    recorded versions, or (None, {})."""
    from pipeline.cache.provenance import recorded_versions

    try:
        entry = cache.get(device, solver)
    except CacheError:
        return None, {}  # a damaged entry is simply recomputed
    if entry is None or "S" not in entry.data:
        return None, {}
    return entry.smatrix.values.copy(), recorded_versions(entry.data.attrs)


def compare_smatrices(new: Any, old: Any, tolerance: float = REBUILD_TOLERANCE) -> dict[str, Any]:
    """``{"max_abs_dS", "rel_dS", "reproduced", "tolerance"}`` of a rebuilt S against the old one
    (amplitude units; ``rel_dS`` = max |ΔS| / max |S_old|); a shape change never reproduces."""
    import numpy as np

    new, old = np.asarray(new), np.asarray(old)
    if new.shape != old.shape:
        return {"max_abs_dS": float("inf"), "rel_dS": float("inf"), "reproduced": False, "tolerance": tolerance,
                "shape_change": f"{old.shape} -> {new.shape}"}
    diff = float(np.nanmax(np.abs(new - old))) if new.size else 0.0
    scale = float(np.nanmax(np.abs(old))) if old.size else 0.0
    return {"max_abs_dS": diff, "rel_dS": diff / scale if scale > 0 else diff, "reproduced": diff <= tolerance,
            "tolerance": tolerance}


def _build_one(device_json: str, solver_json: str, cache_root: str, overwrite: bool) -> dict[str, Any]:
    """Dask task: simulate one item into the cache (runs on a worker). With ``overwrite``,
    the previous entry's S-matrix is compared with the recomputed one."""
    import warnings

    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
    from pipeline.simulate import simulate

    from pipeline.cache.provenance import drift_text, recorded_versions

    device, solver = spec_from_json(device_json), spec_from_json(solver_json)
    cache = DeviceCache(cache_root)
    previous, old_versions = _previous(cache, device, solver) if overwrite else (None, {})
    t0 = time.perf_counter()
    entry, cached = simulate(device, solver, cache=cache, overwrite=overwrite)
    out = {"key": entry.key, "path": str(entry.path), "cached": cached, "device": entry.device_spec.device,
           "wall_s": round(time.perf_counter() - t0, 2), "solver_wall_s": entry.provenance.get("wall_time_s")}
    if previous is not None and "S" in entry.data:
        out.update(compare_smatrices(entry.smatrix.values, previous))
        new_versions = recorded_versions(entry.data.attrs)
        changed = [{"package": k, "recorded": v, "installed": new_versions.get(k, "absent")}
                   for k, v in sorted(old_versions.items()) if new_versions.get(k) != v]
        out["versions_change"] = drift_text(changed)
    return out


def _is_done(cache: DeviceCache, item: BuildItem) -> bool:
    try:
        return cache.get(item.device, item.solver) is not None
    except CacheError:
        return False


def build_library(items: list[BuildItem], *, cache: DeviceCache | None = None, workers: int | None = 2,
                  scheduler: str | None = None, cluster: str | None = None, cluster_config: Any = None,
                  rebuild: bool = False, progress: bool = True) -> dict[str, Any]:
    """Build ``items`` into ``cache`` on a Dask cluster (:func:`pipeline.execution.open_client`:
    local by default, ``scheduler`` address, or ``cluster`` = slurm|pbs from
    ``cluster_config``); returns a report."""
    from dask.distributed import as_completed
    from pipeline.execution import open_client

    cache = cache or DeviceCache()
    todo = [it for it in items if rebuild or not _is_done(cache, it)]
    report: dict[str, Any] = {"root": str(cache.root), "requested": len(items), "skipped": len(items) - len(todo),
                              "built": [], "failed": [], "tolerance": REBUILD_TOLERANCE}
    if not todo:
        return report
    with open_client(scheduler=scheduler, cluster=cluster, workers=workers, config=cluster_config,
                     resources={"solver": 1}) as client:
        report["dashboard"] = client.dashboard_link
        futures = {client.submit(_build_one, it.device.canonical_json(), it.solver.canonical_json(),
                                 str(cache.root), rebuild, resources={"solver": 1}, key=f"build-{i}-{it.device.device}",
                                 retries=1, pure=False): it for i, it in enumerate(todo)}
        with item_progress("library", "entry", "built", len(futures), enabled=progress,
                           bar_title="building device library",
                           headline=f"{len(futures)} entries to build, {report['skipped']} already in the library") as advance:
            for fut in as_completed(futures):
                item = futures[fut]
                failures = len(report["failed"])
                try:
                    row = {"item": item.label, **fut.result()}
                    report["built"].append(row)
                    if row.get("reproduced") is False:
                        report["failed"].append({"item": item.label, "error": (
                            f"rebuilt entry {row['key'][:12]} differs from the old one by max |dS| = "
                            f"{row['max_abs_dS']:.3g} (relative {row['rel_dS']:.3g}) > tolerance "
                            f"{REBUILD_TOLERANCE:g} (versions {row.get('versions_change', '?')}). Fix: if the new "
                            "build is right, bump the backend's numerics_versions and rebuild; else keep the old "
                            "solver build.")})
                except PhotopropError as exc:
                    report["failed"].append({"item": item.label, "error": str(exc)})
                error = report["failed"][-1]["error"] if len(report["failed"]) > failures else None
                advance(item.label, error)
    return report

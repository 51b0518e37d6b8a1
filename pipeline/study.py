"""A resumable study: a grid of cells, each a dict of parameters, computed by one cell
function on a Dask cluster; every finished cell is its own file, so a killed study resumes
without recomputing anything that finished.

* cell function: a dotted path ``"package.module:function"``, called as ``fn(**params)``
  on a worker, returning an :class:`xarray.Dataset` (the cell's results);
* cell key: sha256 of canonical JSON of ``{params, cell_fn, version}`` (bump ``version``
  when the function's results change meaning); execution options never enter it;
* cell file: ``out_dir/cells/<key>.nc`` — netCDF4/HDF5 (h5netcdf) through
  :func:`pipeline.cache.entry_file.write_entry_file`, with a whole-file sha256 in the HDF5
  user block and a content checksum, written to a temporary file in the same folder,
  fsynced and renamed by the client (one writer) as each cell finishes. A truncated or
  corrupt cell file fails its checksum and is recomputed; temporaries left by a killed
  writer are removed;
* tasks are submitted with ``retries``: a cell whose worker dies (or that raises) is run
  again; the scheduler also reschedules tasks of lost workers;
* :func:`combine_cells` stacks all cells into one Dataset whose dims are the study's
  declared ``dims`` (kept even with one value: a one-seed study still has a ``seed`` dim of
  length 1) and the other parameters that vary over the grid (parameters become
  coordinates; other constant ones scalar coordinates), with ``units``/``long_name`` on every
  coordinate and variable the tables know (:mod:`pipeline.units_attrs`) →
  ``out_dir/results.nc``.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.cache.atomic import fsync_dir
from pipeline.cache.temp import is_stale, temp_path
from pipeline.errors import CacheError, PhotopropError, SpecError
from pipeline.progress import item_progress

#: Bump when the cell file layout or key recipe changes.
STUDY_SCHEMA = 1
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
Scalar = str | int | float | bool


def grid(**axes: Iterable[Scalar]) -> list[dict[str, Scalar]]:
    """All combinations of the axes' values, e.g. ``grid(seed=range(3), sigma=[0, 0.005])``."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def _check_params(params: Mapping[str, Any], index: int) -> dict[str, Scalar]:
    if not isinstance(params, Mapping) or not params:
        raise SpecError(f"cells[{index}] = {params!r}: a cell is a non-empty dict of parameters. "
                        "Fix: e.g. {'seed': 0, 'algorithm': 'insitu'}.")
    out = {}
    for name, value in params.items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_]\w*$", name):
            raise SpecError(f"cells[{index}] parameter name {name!r}: not an identifier. Fix: use e.g. 'phase_noise'.")
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not np.isfinite(value)):
            raise SpecError(f"cells[{index}].{name} = {value!r}: parameters must be finite numbers, strings or "
                            "booleans (they become coordinates). Fix: flatten it into scalar parameters.")
        out[name] = value
    return out


def resolve(cell_fn: str) -> Callable[..., xr.Dataset]:
    """The function named by ``"package.module:function"`` (SpecError if it does not exist)."""
    if not isinstance(cell_fn, str) or not _DOTTED.match(cell_fn):
        raise SpecError(f"cell_fn = {cell_fn!r}: expected 'package.module:function'. "
                        "Fix: e.g. 'workflows.impairment_study:train_cell'.")
    module, name = cell_fn.split(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        raise SpecError(f"cell_fn = {cell_fn!r}: module {exc.name!r} cannot be imported. Fix: install it or "
                        "put its folder on PYTHONPATH (workers need it too).") from exc
    except AttributeError:
        raise SpecError(f"cell_fn = {cell_fn!r}: {module} has no {name!r}. Fix: name an existing function.") from None
    if not callable(fn):
        raise SpecError(f"cell_fn = {cell_fn!r} is not callable. Fix: name a function.")
    return fn


def cell_key(params: Mapping[str, Scalar], cell_fn: str, version: str = "1") -> str:
    """Content key of a cell: sha256 of canonical JSON of parameters, function and version."""
    payload = {"params": dict(params), "cell_fn": cell_fn, "version": str(version), "schema": STUDY_SCHEMA}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def cell_path(out_dir: str | Path, key: str) -> Path:
    return Path(out_dir) / "cells" / f"{key}.nc"


def run_cell(cell_fn: str, params: Mapping[str, Scalar]) -> xr.Dataset:
    """Dask task (runs on a worker): import the cell function and call it."""
    result = resolve(cell_fn)(**params)
    if not isinstance(result, xr.Dataset):
        raise SpecError(f"cell_fn {cell_fn} returned {type(result).__name__} for {dict(params)}: it must return "
                        "an xarray.Dataset. Fix: wrap the results in xr.Dataset({...}).")
    clash = set(params) & (set(result.dims) | set(result.variables))
    if clash:
        raise SpecError(f"cell_fn {cell_fn} returned variables/dims {sorted(clash)} that are also cell "
                        "parameters. Fix: rename them (parameters become coordinates).")
    return result.load()


def write_cell(out_dir: str | Path, key: str, params: Mapping[str, Scalar], cell_fn: str, version: str,
               ds: xr.Dataset) -> Path:
    """Atomically publish a cell file (``ds`` with its attributes and the cell's): temporary
    file in the same folder, fsync, rename."""
    from pipeline.cache.entry_file import write_entry_file

    final = cell_path(out_dir, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)  # .<key>.nc.tmp-<host>-<pid>-<random>
    try:
        write_entry_file(tmp, ds, {**ds.attrs, "photoprop_study_schema": STUDY_SCHEMA, "key": key, "cell_fn": cell_fn,
                                   "version": str(version), "params": json.dumps(dict(params), sort_keys=True)})
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(final.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_cell(path: str | Path) -> tuple[dict[str, Scalar], xr.Dataset]:
    """A verified cell file → (parameters, results); CacheError if truncated or corrupt."""
    from pipeline.cache.entry_file import read_entry_file

    ds = read_entry_file(Path(path))
    if "params" not in ds.attrs or "key" not in ds.attrs:
        raise CacheError(f"{path}: not a photoprop study cell (no 'params'/'key' attribute). Fix: delete it.")
    if ds.attrs["key"] != Path(path).stem:
        raise CacheError(f"{path}: holds cell {ds.attrs['key'][:12]}…, not {Path(path).stem[:12]}…. Fix: delete it.")
    params = json.loads(ds.attrs["params"])
    ds.attrs = {k: v for k, v in ds.attrs.items()
                if k not in ("params", "key", "content_sha256", "photoprop_study_schema")}
    return params, ds


def clean_stale_temporaries(out_dir: str | Path) -> list[Path]:
    """Remove temporaries of writers that no longer run (a killed study); returns them.
    A writer on another host is judged by the temporary's age (:mod:`pipeline.cache.temp`)."""
    folder = Path(out_dir) / "cells"
    removed = []
    for p in sorted(folder.glob(".*.tmp*")) if folder.is_dir() else []:
        if not is_stale(p):
            continue  # a live writer (another study on the same folder) is still writing it
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _status(path: Path) -> str:
    if not path.exists():
        return "missing"
    try:
        read_cell(path)
    except CacheError:
        return "corrupt"
    return "done"


@contextmanager
def _progress(name: str, total: int, cached: int, enabled: bool) -> Iterator[Callable[..., None]]:
    """``advance(params, error=None)`` per finished cell (:func:`pipeline.progress.item_progress`):
    ``[study] cell 12/48 done (seed=3, die=1) 4.2 s`` in a batch log, a bar on a terminal."""
    with item_progress("study", "cell", "done", total, done=cached, enabled=enabled, bar_title=f"study {name}",
                       headline=f"{name}: {total} cells, {cached} already done") as advance:
        yield lambda params, error=None: advance(", ".join(f"{k}={v}" for k, v in params.items()), error)


def run_study(cells: Iterable[Mapping[str, Scalar]], cell_fn: str, out_dir: str | Path, client: Any, *,
              version: str = "1", retries: int = 3, progress: bool = True, combine: bool = True,
              raise_on_failure: bool = True, announce: Callable[[str], None] | None = None,
              dims: Iterable[str] = (), attrs_table: Mapping[str, units_attrs.Attr] | None = None) -> dict[str, Any]:
    """Compute every cell not already in ``out_dir/cells`` on ``client`` (module doc);
    ``dims`` and ``attrs_table``: :func:`combine_cells`.

    Returns a report: ``total``, ``cached``, ``computed``, ``recomputed_corrupt`` (cell
    files that failed verification), ``failed`` (cells whose task failed after
    ``retries``), ``stale_removed``, ``dashboard`` and ``results`` (path of results.nc
    when ``combine``). Failed cells raise a PhotopropError after everything else is
    written, unless ``raise_on_failure=False``."""
    from distributed import as_completed
    from rich.console import Console

    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SpecError(f"retries = {retries!r}: must be an integer >= 0. Fix: e.g. retries=3.")
    resolve(cell_fn)  # fail fast, here, on a bad dotted path
    cell_list = [_check_params(c, i) for i, c in enumerate(cells)]
    keys = [cell_key(p, cell_fn, version) for p in cell_list]
    seen: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k in seen:
            raise SpecError(f"cells[{i}] = {cell_list[i]} repeats cells[{seen[k]}]. Fix: list each cell once.")
        seen[k] = i
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    say = announce or Console(stderr=True).print
    report: dict[str, Any] = {"out_dir": str(out), "total": len(cell_list), "cached": 0, "computed": 0,
                              "recomputed_corrupt": 0, "failed": [], "dashboard": client.dashboard_link,
                              "stale_removed": len(clean_stale_temporaries(out))}
    say(f"Dask dashboard: {client.dashboard_link}")
    todo = []
    for params, key in zip(cell_list, keys):
        status = _status(cell_path(out, key))
        if status == "done":
            report["cached"] += 1
            continue
        if status == "corrupt":
            report["recomputed_corrupt"] += 1
            cell_path(out, key).unlink(missing_ok=True)
        todo.append((params, key))
    futures = {client.submit(run_cell, cell_fn, params, key=f"cell-{key}", retries=retries, pure=False):
               (params, key) for params, key in todo}
    with _progress(out.name, len(cell_list), report["cached"], progress) as advance:
        for fut in as_completed(futures):
            params, key = futures.pop(fut)
            error = None
            try:
                ds = fut.result()
                write_cell(out, key, params, cell_fn, version, ds)
                report["computed"] += 1
            except Exception as exc:  # noqa: BLE001 - reported per cell with its type; the others go on
                error = f"{type(exc).__name__}: {exc}"
                report["failed"].append({"params": params, "key": key, "error": error})
            finally:
                fut.release()
            advance(params, error)
    if combine and len(report["failed"]) < len(cell_list):
        done = [(p, k) for p, k in zip(cell_list, keys) if k not in {f["key"] for f in report["failed"]}]
        report["results"] = str(write_results(out, combine_cells(out, [p for p, _ in done], cell_fn, version,
                                                                  dims=dims, attrs_table=attrs_table)))
    if report["failed"] and raise_on_failure:
        first = report["failed"][0]
        raise PhotopropError(f"study {out}: {len(report['failed'])} of {len(cell_list)} cells failed after "
                             f"{retries} retries (first: {first['params']}: {first['error']}). Finished cells are "
                             "kept; fix the cause and run the study again to compute only the missing ones.")
    return report


def _expand(params: Mapping[str, Scalar], ds: xr.Dataset, varying: list[str]) -> xr.Dataset:
    ds = ds.assign_coords({n: params[n] for n in params if n not in varying})
    return ds.expand_dims({n: [params[n]] for n in varying})


def stacked_dims(names: Iterable[str], loaded_params: list[Mapping[str, Scalar]], dims: Iterable[str] = ()
                 ) -> list[str]:
    """The dims a study's cells stack along: every declared ``dim`` that is a cell parameter
    (kept with one value), then the other parameters of ``names`` that vary between cells."""
    names = list(names)
    keep = [d for d in dims if d in names]
    return keep + [n for n in names if n not in keep and len({json.dumps(p.get(n)) for p in loaded_params}) > 1]


def _common_attrs(parts: list[xr.Dataset]) -> dict[str, Any]:
    """The attributes every part has with the same value (e.g. a spec field not swept)."""
    def same(a: Any, b: Any) -> bool:
        return np.array_equal(a, b) if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) else a == b
    first = parts[0].attrs
    return {k: v for k, v in first.items() if all(k in p.attrs and same(p.attrs[k], v) for p in parts[1:])}


def combine_cells(out_dir: str | Path, cells: Iterable[Mapping[str, Scalar]] | None = None,
                  cell_fn: str | None = None, version: str = "1", *, dims: Iterable[str] = (),
                  attrs_table: Mapping[str, units_attrs.Attr] | None = None) -> xr.Dataset:
    """One Dataset of the given cells (default: every cell file in ``out_dir/cells``); dims
    are the declared ``dims`` (kept even with one value) and the other parameters that vary
    between cells, missing grid points are NaN.  ``units``/``long_name`` from
    :data:`pipeline.units_attrs.ATTRS` and ``attrs_table`` (name → (units, long_name)) where
    a variable or coordinate has none."""
    out = Path(out_dir)
    if cells is None:
        loaded = [read_cell(p) for p in sorted((out / "cells").glob("*.nc"))]
    else:
        if cell_fn is None:
            raise SpecError("combine_cells(cells=...) needs cell_fn (it enters the cell keys). Fix: pass cell_fn.")
        loaded = [read_cell(cell_path(out, cell_key(_check_params(c, i), cell_fn, version)))
                  for i, c in enumerate(cells)]
    if not loaded:
        raise SpecError(f"study {out}: no finished cells to combine. Fix: run the study first.")
    names = list(loaded[0][0])
    for params, _ in loaded:
        if list(params) != names and set(params) != set(names):
            raise SpecError(f"study {out}: cells with different parameter names ({sorted(names)} vs "
                            f"{sorted(params)}). Fix: combine cells of one study only.")
    unknown = [d for d in dims if d not in names]
    if unknown:
        raise SpecError(f"study {out}: dims {unknown} are not cell parameters ({names}). Fix: declare only "
                        "parameters of the cells as dims.")
    varying = stacked_dims(names, [p for p, _ in loaded], dims)
    parts = [_expand(p, ds, varying) for p, ds in loaded]
    attrs = {k: v for k, v in _common_attrs([ds for _, ds in loaded]).items() if k not in ("version",)}
    full = len(loaded) == int(np.prod([len({json.dumps(p[n]) for p, _ in loaded}) for n in varying]))
    if full:  # a complete grid: concatenate the tiles
        combined = xr.combine_by_coords(parts, combine_attrs="drop_conflicts", join="outer")
    else:  # a sparse grid: outer join, NaN where a grid point has no cell
        combined = xr.merge(parts, combine_attrs="drop_conflicts", join="outer", compat="no_conflicts")
    combined = combined.transpose(*varying, ...)
    combined.attrs = {**attrs, "study_cells": len(loaded), "study_dims": json.dumps(varying)}
    return units_attrs.annotate(combined, attrs_table or {})


def write_results(out_dir: str | Path, ds: xr.Dataset) -> Path:
    """Atomically write the combined study to ``out_dir/results.nc`` (h5netcdf)."""
    final = Path(out_dir) / "results.nc"
    tmp = temp_path(final)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final

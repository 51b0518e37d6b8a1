"""Entry points for notebooks: the device library and study results as xarray objects.

    >>> import pipeline
    >>> lib = pipeline.open_library()            # one row per cached entry
    >>> lib.sel(entry=lib.device == "directional_coupler").wall_time_s.sum()
    >>> res = pipeline.open_results("results/demo")   # a run / study folder or its results.nc
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.errors import CacheError, SpecError


def open_library(root: str | Path | None = None) -> xr.Dataset:
    """Index of the device library as a Dataset over dim ``entry`` (coordinate ``key``).

    Variables: ``device``, ``solver``, ``wall_time_s`` [s], ``created`` (UTC), ``size_bytes``,
    ``reciprocity_error``, ``max_singular_value``, ``checks_passed``, ``n_wavelengths``,
    ``wavelength_min``/``wavelength_max`` [µm], ``device_spec``/``solver_spec`` (JSON); units
    and long_name on each (:data:`LIBRARY_ATTRS`).
    Every entry is read through its checksums; a corrupt entry raises
    :class:`~pipeline.errors.CacheError` naming it (``photoprop library verify --repair``
    fixes it).  Open one entry's data with ``pipeline.DeviceCache(root).find(key)``.
    """
    from pipeline.cache import DeviceCache

    cache = DeviceCache(root)
    rows: list[dict] = []
    for path in cache.entry_paths():
        e = cache.read_path(path)
        wl = e.data["wavelength"].values if "wavelength" in e.data.coords else np.array([np.nan])
        attrs = {"provenance": e.provenance, "checks": e.checks,
                 "device_spec": e.device_spec.model_dump_json(), "solver_spec": e.solver_spec.model_dump_json()}
        prov, checks = attrs["provenance"] or {}, attrs["checks"] or {}
        rows.append({
            "key": path.stem, "device": path.parent.name, "solver": str(prov.get("solver", prov.get("engine", ""))),
            "wall_time_s": float(prov.get("wall_time_s", np.nan)), "created": str(prov.get("date_utc", "")),
            "size_bytes": path.stat().st_size,
            "reciprocity_error": float(checks.get("reciprocity_error", np.nan)),
            "max_singular_value": float(checks.get("max_singular_value", np.nan)),
            "checks_passed": bool(checks.get("passed", not checks.get("failures"))),
            "n_wavelengths": int(np.isfinite(wl).sum()),
            "wavelength_min": float(wl.min()), "wavelength_max": float(wl.max()),
            "device_spec": str(attrs["device_spec"]), "solver_spec": str(attrs["solver_spec"]),
        })
    if not rows:
        raise CacheError(f"no entries in the device library at {cache.root}. Fix: `photoprop library build`, or "
                         "point PHOTOPROP_CACHE at a library.")
    keys = [r.pop("key") for r in rows]
    data = {name: ("entry", np.array([r[name] for r in rows])) for name in rows[0]}
    ds = xr.Dataset(data, coords={"key": ("entry", np.array(keys))})
    ds.attrs.update(root=str(cache.root), n_entries=len(keys))
    return units_attrs.annotate(ds, LIBRARY_ATTRS)


#: (units, long_name) of the library index's variables (:func:`open_library`).
LIBRARY_ATTRS: dict[str, tuple[str, str]] = {
    "key": ("1", "entry cache key (sha256)"), "entry": ("1", "library entry"), "device": ("1", "device family"),
    "solver": ("1", "solver"), "wall_time_s": ("s", "solver wall time"), "created": ("1", "creation date (UTC)"),
    "size_bytes": ("byte", "entry file size"), "reciprocity_error": ("1", "max |S - S^T|"),
    "max_singular_value": ("1", "largest singular value of S (passive: <= 1)"),
    "checks_passed": ("1", "physics checks passed"), "n_wavelengths": ("1", "simulated wavelengths"),
    "wavelength_min": ("um", "shortest simulated wavelength"), "wavelength_max": ("um", "longest simulated wavelength"),
    "device_spec": ("1", "device spec (JSON)"), "solver_spec": ("1", "solver spec (JSON)")}


def open_results(path: str | Path) -> xr.Dataset:
    """A run's or study's results: ``path`` is a ``results.nc`` file or the folder holding it."""
    p = Path(path)
    target = p / "results.nc" if p.is_dir() else p
    if not target.is_file():
        hint = (f" Folder {p} holds: {sorted(q.name for q in p.iterdir())[:10]}." if p.is_dir() else "")
        raise SpecError(f"path = {str(path)!r}: no results.nc there.{hint} Fix: pass the folder a "
                        "`photoprop run`/`photoprop study` wrote (its --out), or the .nc file itself.")
    with xr.open_dataset(target, engine="h5netcdf") as ds:
        return ds.load()

"""The device library on disk: ``<root>/<device>/<key>.h5``.

* Writes are atomic: a hidden temporary file in the same folder is written, fsynced
  and hard-linked to its final name (``os.link`` refuses to overwrite, so of two
  writers of one key exactly one publishes), then the folder is fsynced.
* :meth:`DeviceCache.get_or_compute` holds a lock per key (``filelock``: portable,
  works on the shared file systems of clusters that support POSIX locks) while it
  computes, so two processes asking for the same key compute it once.
* A killed writer leaves only a hidden ``.<key>.h5.tmp-<host>-<pid>-<random>`` file,
  never a visible entry; :meth:`DeviceCache.stale_temporaries` finds it (rules in
  :mod:`pipeline.cache.temp`) and ``verify --repair`` removes it.
* Keys hold the physics; the installed versions of the solver interpreter
  (:func:`pipeline.versions.solver_versions`) are recorded in each entry's ``versions``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import xarray as xr

from pipeline.cache.atomic import fsync_dir
from pipeline.cache.entry_file import read_entry_attrs, read_entry_file, write_entry_file
from pipeline import versions as _versions
from pipeline.cache.key import cache_key
from pipeline.cache.temp import is_stale, pid_alive, temp_path
from pipeline.errors import CacheError, SpecError
from pipeline.specs import SCHEMA_VERSION, DeviceSpec, SolverSpec, spec_from_json

ENV_VAR = "PHOTOPROP_CACHE"


#: Where an installed package keeps the shipped library (pyproject's data-files), under sys.prefix.
INSTALLED_LIBRARY = Path("share") / "photoprop" / "cache"


def default_root() -> Path:
    """``$PHOTOPROP_CACHE`` if set; else, running from a source checkout, its ``cache/``
    folder; else the library installed with the package (``<prefix>/share/photoprop/cache``)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "cache").is_dir():
        return checkout / "cache"
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        installed = Path(prefix) / INSTALLED_LIBRARY
        if installed.is_dir():
            return installed
    return checkout / "cache"


@dataclass(frozen=True)
class CacheEntry:
    """A verified entry: its data, the specs that produced it and their provenance."""

    key: str
    path: Path
    data: xr.Dataset
    device_spec: DeviceSpec
    solver_spec: SolverSpec
    provenance: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def smatrix(self) -> xr.DataArray:
        """The entry's S-matrix (variable ``S``)."""
        if "S" not in self.data:
            raise CacheError(f"{self.path}: entry holds no S-matrix (variables: {list(self.data.data_vars)}).")
        return self.data["S"]





class DeviceCache:
    """Content-addressed HDF5 device library rooted at ``root``."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()

    # -- addressing ----------------------------------------------------------------
    def key(self, device: DeviceSpec, solver: SolverSpec) -> str:
        return cache_key(device, solver)

    def path_for(self, device: DeviceSpec | str, key: str) -> Path:
        family = device if isinstance(device, str) else device.device
        return self.root / family / f"{key}.h5"

    def entry_paths(self) -> list[Path]:
        """Visible entries (hidden temporaries and locks excluded), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*/*.h5") if not p.name.startswith("."))

    def find(self, key_prefix: str) -> Path:
        """The entry whose key starts with ``key_prefix`` (unique, ≥ 6 characters)."""
        if len(key_prefix) < 6:
            raise SpecError(f"key prefix {key_prefix!r} is too short. Fix: give at least 6 hex digits.")
        hits = [p for p in self.entry_paths() if p.stem.startswith(key_prefix.lower())]
        if not hits:
            raise CacheError(f"no entry with key {key_prefix!r} in {self.root}. Fix: `photoprop library ls`.")
        if len(hits) > 1:
            raise CacheError(f"key prefix {key_prefix!r} is ambiguous ({len(hits)} entries). Fix: give more digits.")
        return hits[0]

    # -- reading -------------------------------------------------------------------
    def read_path(self, path: Path) -> CacheEntry:
        """Read, verify the checksum and re-validate both specs of the entry at ``path``."""
        ds = read_entry_file(path)
        attrs = ds.attrs
        try:
            device = spec_from_json(attrs["device_spec"])
            solver = spec_from_json(attrs["solver_spec"])
        except (KeyError, SpecError) as exc:
            raise CacheError(f"{path}: stored spec no longer validates ({exc}).") from exc
        if attrs.get("key") != path.stem:
            raise CacheError(f"{path}: file name does not match its stored key {attrs.get('key')!r}.")
        return CacheEntry(
            key=str(attrs["key"]),
            path=path,
            data=ds,
            device_spec=device,  # type: ignore[arg-type]
            solver_spec=solver,  # type: ignore[arg-type]
            provenance=json.loads(attrs.get("provenance", "{}")),
            checks=json.loads(attrs.get("checks", "{}")),
        )

    def get(self, device: DeviceSpec, solver: SolverSpec) -> CacheEntry | None:
        """The verified entry for (device, solver), or None if absent."""
        path = self.path_for(device, self.key(device, solver))
        return self.read_path(path) if path.exists() else None

    # -- writing -------------------------------------------------------------------
    def put(
        self,
        device: DeviceSpec,
        solver: SolverSpec,
        data: xr.Dataset | xr.DataArray,
        *,
        provenance: dict[str, Any] | None = None,
        checks: dict[str, Any] | None = None,
    ) -> Path:
        """Atomically publish an entry. Returns its path. If another writer published
        the same key first, its file is kept (both computed the same content)."""
        if isinstance(data, xr.DataArray):
            data = data.to_dataset(name=data.name or "S")
        key = self.key(device, solver)
        recorded = _versions.solver_versions(solver.version_packages)
        prov = {
            "solver": solver.solver,
            "versions": recorded,
            "solver_python": _versions.solver_python() or sys.executable,
            "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
            **(provenance or {}),
        }
        attrs = {
            "photoprop_schema_version": SCHEMA_VERSION,
            "key": key,
            "device": device.device,
            "device_spec": device.canonical_json(),
            "solver_spec": solver.canonical_json(),
            "versions": recorded,
            "provenance": prov,
            "checks": checks or {},
        }
        return self.publish(self.path_for(device, key), data, attrs)

    def publish(self, final: Path, data: xr.Dataset, attrs: dict[str, Any]) -> Path:
        """Atomically write ``data`` with global ``attrs`` at ``final`` (temporary file,
        fsync, read-back verification, hard link, folder fsync). An existing file is kept."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(final)
        try:
            write_entry_file(tmp, data, attrs)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            read_entry_file(tmp)  # never publish what cannot be read back
            try:
                os.link(tmp, final)
            except FileExistsError:
                pass  # an identical-key entry was published concurrently; keep it
            fsync_dir(final.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return final

    @contextlib.contextmanager
    def lock(self, device: DeviceSpec, key: str) -> Iterator[None]:
        """Exclusive lock on one key across processes (``filelock``; on a cluster, across
        hosts wherever the shared file system honours POSIX locks)."""
        from filelock import FileLock

        folder = self.root / device.device
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(folder / f".{key}.lock"):
            yield

    def get_or_compute(
        self,
        device: DeviceSpec,
        solver: SolverSpec,
        compute: Callable[[], tuple[xr.Dataset | xr.DataArray, dict[str, Any], dict[str, Any]]],
        *,
        overwrite: bool = False,
    ) -> tuple[CacheEntry, bool]:
        """Return ``(entry, cached)``; on a miss call ``compute() -> (data, provenance,
        checks)`` under the key's lock and publish the result. ``overwrite`` (an
        execution flag, not part of the key) recomputes an existing entry."""
        key = self.key(device, solver)
        path = self.path_for(device, key)
        with self.lock(device, key):
            if path.exists() and not overwrite:
                return self.read_path(path), True
            t0 = time.perf_counter()
            data, prov, checks = compute()
            prov = {"wall_time_s": round(time.perf_counter() - t0, 3), **prov}
            if overwrite and path.exists():
                path.unlink()
            self.put(device, solver, data, provenance=prov, checks=checks)
            return self.read_path(path), False

    # -- maintenance ---------------------------------------------------------------
    def stale_temporaries(self) -> list[Path]:
        """Leftover temporaries of killed writers (rules: :mod:`pipeline.cache.temp`)."""
        return sorted(p for p in self.root.glob("*/.*.h5.tmp-*") if is_stale(p))

    def inspect(self, path: Path) -> dict[str, Any]:
        """One entry's status: ``{"path", "key", "device", "status", "error"}``."""
        row: dict[str, Any] = {"path": str(path), "key": path.stem, "device": path.parent.name}
        try:
            self.read_path(path)
            row.update(status="ok", error=None)
        except CacheError as exc:
            row.update(status="corrupt", error=str(exc))
        return row


_pid_alive = pid_alive  # the former name (pipeline.study)


__all__ = ["CacheEntry", "DeviceCache", "default_root", "read_entry_attrs", "ENV_VAR"]

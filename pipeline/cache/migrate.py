"""Re-key a device library written under an older key recipe, without running any solver.

Each entry is re-read (checksums verified), rewritten under its current key by the normal
atomic writer (same data, provenance, checks and recorded versions; only ``key`` changes,
checksums recomputed) and its old file removed. Compact models in ``compact_models/``
are named by a hash over their runs' keys: each one's old name is recomputed with the old
keys, its new name with the new ones, and the file renamed, with the run keys stored in
its ``entries`` attribute rewritten. Idempotent: a second run changes nothing.

The names of compact-model files belong to the library layer: :func:`migrate_library` is
handed them (``model_names``) by :mod:`pipeline.library.migrate`, which is also the command:

    python -m pipeline.library.migrate [ROOT] [--dry-run]     (default: the shipped cache/)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.cache.entry_file import CHECKSUM_ATTR, read_entry_file
from pipeline.cache.key import cache_key
from pipeline.cache.atomic import fsync_dir
from pipeline.cache.store import DeviceCache
from pipeline.cache.temp import temp_path
from pipeline.errors import CacheError, PhotopropError
from pipeline.specs import spec_from_json


class KeysOf:
    """Duck-typed stand-in for a DeviceCache whose ``key`` returns given keys (the old ones)."""

    def __init__(self, root: Path, keys: dict[tuple[str, str], str]) -> None:
        self.root, self._keys = root, keys

    def key(self, device: Any, solver: Any) -> str:
        return self._keys.get((device.canonical_json(), solver.canonical_json()), "absent")


#: ``model_names(path, old, new) -> (old path, new path)`` of the compact model at ``path``
#: under the old keys (``old``, a :class:`KeysOf`) and the current ones (``new``, the cache).
ModelNames = Callable[[Path, "KeysOf", DeviceCache], tuple[Path, Path]]


def stored_specs(path: Path) -> tuple[Any, Any]:
    """(sweep spec, solver spec) recorded in the attributes of the compact-model file ``path``."""
    import h5py

    with h5py.File(path, "r") as f:
        return tuple(spec_from_json(str(f.attrs[k].decode() if isinstance(f.attrs[k], bytes) else f.attrs[k]))
                     for k in ("sweep_spec", "solver_spec"))  # type: ignore[return-value]


def _move_model(src: Path, dst: Path, renames: dict[str, str]) -> None:
    """Copy ``src`` to ``dst`` atomically with the run keys in its ``entries`` attr renamed."""
    import h5py

    tmp = temp_path(dst)
    try:
        shutil.copy2(src, tmp)
        with h5py.File(tmp, "r+") as f:
            if "entries" in f.attrs:
                raw = f.attrs["entries"]
                runs = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
                f.attrs["entries"] = json.dumps({k: renames.get(v, v) for k, v in runs.items()})
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
        fsync_dir(dst.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    if src != dst:
        src.unlink()


def migrate_library(root: Path | str | None = None, *, model_names: ModelNames, dry_run: bool = False
                    ) -> dict[str, Any]:
    """Re-key every entry and compact model under ``root`` (compact-model names from
    ``model_names``); returns ``{"root", "entries": [{"old", "new", "device"}], "models":
    [{"old", "new"}], "unchanged", "errors"}``."""
    cache = DeviceCache(root)
    report: dict[str, Any] = {"root": str(cache.root), "entries": [], "models": [], "unchanged": 0, "errors": []}
    todo = []
    for path in cache.entry_paths():
        try:
            ds = read_entry_file(path)
            device, solver = spec_from_json(ds.attrs["device_spec"]), spec_from_json(ds.attrs["solver_spec"])
        except (PhotopropError, KeyError) as exc:
            report["errors"].append(f"{path}: {exc}. Fix: `photoprop library verify --repair`, then migrate again.")
            continue
        new_key = cache_key(device, solver)  # type: ignore[arg-type]
        if path.stem == new_key:
            report["unchanged"] += 1
            continue
        todo.append((path, ds, device, solver, new_key))
    old_keys = {(d.canonical_json(), s.canonical_json()): p.stem for p, _, d, s, _ in todo}
    renames = {p.stem: k for p, _, _, _, k in todo}
    models = []
    for path in sorted((cache.root / "compact_models").glob("*.nc")):
        try:
            old_path, new_path = model_names(path, KeysOf(cache.root, old_keys), cache)
        except (PhotopropError, ImportError, KeyError, OSError, ValueError) as exc:
            report["errors"].append(f"{path}: cannot recompute its name ({exc}); left as it is.")
            continue
        if old_path.name == path.name and new_path != path:
            models.append((path, new_path))
        elif new_path != path:
            report["errors"].append(f"{path}: its name matches neither the old keys ({old_path.name}) nor the "
                                    f"new ones ({new_path.name}): stale model left as it is.")
    report["entries"] = [{"device": p.parent.name, "old": p.stem, "new": k} for p, _, _, _, k in todo]
    report["models"] = [{"old": a.name, "new": b.name} for a, b in models]
    if dry_run:
        return report
    for path, ds, device, _, new_key in todo:  # new files first: a crash leaves both, never neither
        attrs = {k: v for k, v in ds.attrs.items() if k != CHECKSUM_ATTR}
        attrs["key"] = new_key
        new = cache.publish(cache.path_for(device, new_key), ds, attrs)  # the writer drops ds.attrs
        if read_entry_file(new).attrs["key"] != new_key:
            raise CacheError(f"{new}: holds another key than {new_key}; migration stopped before removing {path}.")
    for src, dst in models:
        _move_model(src, dst, renames)
    for path, *_ in todo:
        path.unlink()
    return report


#: Old name kept for callers of the private class.
_KeysOf = KeysOf

if __name__ == "__main__":
    raise SystemExit("the migrate command is `python -m pipeline.library.migrate [ROOT] [--dry-run]` "
                     "(compact-model names belong to the library layer).")

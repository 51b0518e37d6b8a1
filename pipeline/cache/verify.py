"""Library verification and repair: every entry re-read and checksummed; damaged
entries removed or, when their specs are still readable and a simulator exists,
recomputed; leftover temporaries of killed writers removed. Each entry's recorded solver
versions are compared with the solver interpreter's; ``strict_versions`` makes a
difference a failure."""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import Any

from pipeline.cache.entry_file import read_entry_attrs
from pipeline.cache.provenance import drift_error, drift_text, recorded_versions, version_drift
from pipeline.cache.store import DeviceCache
from pipeline.errors import CacheError, PhotopropError
from pipeline.specs import spec_from_json

#: solver name -> "module:function" with signature f(device, solver, *, cache, overwrite);
#: solvers not listed use the generic dispatcher ``pipeline.simulate:simulate``.
SIMULATORS: dict[str, str] = {}
DEFAULT_SIMULATOR = "pipeline.simulate:simulate"


def _recompute(cache: DeviceCache, path: Path) -> str:
    attrs = read_entry_attrs(path)
    device = spec_from_json(attrs["device_spec"])
    solver = spec_from_json(attrs["solver_spec"])
    target = SIMULATORS.get(getattr(solver, "solver", ""), DEFAULT_SIMULATOR)
    module, func = target.split(":")
    simulate = getattr(importlib.import_module(module), func)
    path.unlink()
    simulate(device, solver, cache=cache, overwrite=True)
    return "recomputed"


def _add_versions(row: dict[str, Any]) -> dict[str, Any]:
    if row["status"] == "ok":
        drift = version_drift(recorded_versions(read_entry_attrs(Path(row["path"]))))
        row.update(versions=drift_text(drift), version_drift=drift)
        if drift:
            row["version_error"] = drift_error(f"{row['device']}/{row['key'][:12]}", drift)
    return row


def verify_library(cache: DeviceCache, *, repair: bool = False, recompute: bool = True,
                   strict_versions: bool = False) -> dict[str, Any]:
    """Check every entry; returns ``{"root", "entries": [rows], "stale_temporaries",
    "version_mismatches", "ok"}``.

    With ``repair``, a corrupt entry is recomputed when possible (``recompute``), else
    removed; stale temporaries are deleted. With ``strict_versions``, an entry whose
    recorded solver versions differ from the solver interpreter's makes ``ok`` False.
    """
    rows = [_add_versions(cache.inspect(p)) for p in cache.entry_paths()]
    mismatched = [r for r in rows if r.get("version_drift")]
    stale = cache.stale_temporaries()
    if repair:
        for row in rows:
            if row["status"] == "ok":
                continue
            path = Path(row["path"])
            action = "removed"
            if recompute:
                try:
                    action = _recompute(cache, path)
                except (PhotopropError, KeyError, ValueError, OSError, ImportError) as exc:
                    row["repair_error"] = str(exc).splitlines()[0]
            if action == "removed":
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            row["action"] = action
        for tmp in stale:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    unresolved = [r for r in rows if r["status"] != "ok" and not r.get("action")]
    return {
        "root": str(cache.root),
        "entries": rows,
        "stale_temporaries": [str(p) for p in stale],
        "stale_removed": bool(repair and stale),
        "version_mismatches": len(mismatched),
        "strict_versions": strict_versions,
        "ok": not unresolved and (repair or not stale) and not (strict_versions and mismatched),
    }

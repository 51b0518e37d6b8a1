"""Content-addressed cache keys.

key = sha256 of the canonical JSON of {device spec, solver spec, schema version,
solver package versions}. Execution flags (paths, overwrite, worker count) are not
part of any spec and so never enter a key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.specs import SCHEMA_VERSION, DeviceSpec, SolverSpec
from pipeline.versions import versions as package_versions


def key_payload(
    device: DeviceSpec, solver: SolverSpec, versions: dict[str, str] | None = None
) -> dict[str, Any]:
    """The exact document that is hashed into the key."""
    if versions is None:
        versions = package_versions(solver.version_packages)
    return {
        "device": json.loads(device.canonical_json()),
        "device_family": device.device,
        "solver": json.loads(solver.canonical_json()),
        "solver_name": solver.solver,
        "schema_version": SCHEMA_VERSION,
        "versions": dict(sorted(versions.items())),
    }


def canonical(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no whitespace, no NaN."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_key(device: DeviceSpec, solver: SolverSpec, versions: dict[str, str] | None = None) -> str:
    """64-hex-digit sha256 key of a (device, solver) pair."""
    return hashlib.sha256(canonical(key_payload(device, solver, versions)).encode()).hexdigest()

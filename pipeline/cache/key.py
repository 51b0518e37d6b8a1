"""Content-addressed cache keys: the physics, never the installation.

key = sha256 of the canonical JSON of {device spec, solver spec, schema version, each
backend's declared numerics version (``SolverSpec.numerics_versions``)}. Installed package
versions are provenance (recorded in each entry's ``versions`` attribute, compared by
``photoprop library verify --strict-versions``), so another Meep build or numpy 2 reads
the same entries. Execution flags (paths, overwrite, worker count) are not part of any
spec and so never enter a key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.errors import SpecError
from pipeline.specs import SCHEMA_VERSION, DeviceSpec, SolverSpec


def numerics_of(solver: SolverSpec) -> dict[str, int]:
    """The solver class's declared ``{backend: numerics version}`` (validated, sorted)."""
    declared = type(solver).numerics_versions
    bad = {k: v for k, v in declared.items() if not (isinstance(k, str) and type(v) is int and v >= 1)}
    if bad:
        raise SpecError(f"{type(solver).__name__}.numerics_versions = {declared!r}: entries {bad!r} are not "
                        "'backend name': positive int. Fix: declare e.g. {\"meep-fdtd\": 1}.")
    return dict(sorted(declared.items()))


def key_payload(device: DeviceSpec, solver: SolverSpec) -> dict[str, Any]:
    """The exact document that is hashed into the key."""
    return {
        "device": json.loads(device.canonical_json()),
        "device_family": device.device,
        "solver": json.loads(solver.canonical_json()),
        "solver_name": solver.solver,
        "schema_version": SCHEMA_VERSION,
        "numerics": numerics_of(solver),
    }


def canonical(payload: dict[str, Any]) -> str:
    """Canonical JSON: sorted keys, no whitespace, no NaN."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cache_key(device: DeviceSpec, solver: SolverSpec) -> str:
    """64-hex-digit sha256 key of a (device, solver) pair."""
    return hashlib.sha256(canonical(key_payload(device, solver)).encode()).hexdigest()


def legacy_cache_key(device: DeviceSpec, solver: SolverSpec, versions: dict[str, str]) -> str:
    """The pre-issue-14 key (installed ``versions`` hashed in, no numerics versions): only for
    migrating old libraries (:mod:`pipeline.cache.migrate`)."""
    payload = {k: v for k, v in key_payload(device, solver).items() if k != "numerics"}
    payload["versions"] = dict(sorted(versions.items()))
    return hashlib.sha256(canonical(payload).encode()).hexdigest()

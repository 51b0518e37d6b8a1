"""Recorded vs installed solver versions of a cache entry.

An entry records the versions of its solver's packages (``SolverSpec.version_packages``)
in the solver interpreter that made it; keys do not depend on them, so an entry made by
another Meep or numpy is read normally and these helpers say so.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline import versions as _versions


def recorded_versions(attrs: dict[str, Any]) -> dict[str, str]:
    """The ``versions`` attribute of an entry (JSON text or dict) as ``{package: version}``."""
    raw = attrs.get("versions", {})
    found = json.loads(raw) if isinstance(raw, str) else raw
    return {str(k): str(v) for k, v in (found or {}).items()}


def version_drift(recorded: dict[str, str]) -> list[dict[str, str]]:
    """``[{"package", "recorded", "installed"}]`` of every recorded package whose version in
    the solver interpreter (:func:`pipeline.versions.solver_versions`) differs."""
    if not recorded:
        return []
    installed = _versions.solver_versions(sorted(recorded))
    return [{"package": p, "recorded": v, "installed": installed.get(p, "not-installed")}
            for p, v in sorted(recorded.items()) if installed.get(p, "not-installed") != v]


def drift_text(drift: list[dict[str, str]]) -> str:
    """``"same"``, or e.g. ``"meep 1.25.0→1.33.0, numpy 1.26.4→2.3.0"`` (recorded→installed)."""
    if not drift:
        return "same"
    return ", ".join(f"{d['package']} {d['recorded']}→{d['installed']}" for d in drift)


def drift_error(where: str, drift: list[dict[str, str]]) -> str:
    """One clear message naming each package, its recorded and its installed version."""
    parts = "; ".join(f"{d['package']} recorded {d['recorded']}, installed {d['installed']}" for d in drift)
    return (f"{where}: made with other solver versions than the solver interpreter's ({parts}). Fix: check "
            "the new build with `photoprop library build --rebuild` and commit the rebuilt entries, or run "
            f"the solvers with the recorded versions (${_versions.SOLVER_PYTHON_ENV}).")

"""Versions of solver packages, found without importing them (meep imports are slow)."""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import re

_VERSION_RE = re.compile(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """Installed version of ``name`` (distribution metadata, else the module's
    ``__version__`` read from its source), or ``"not-installed"``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return "not-installed"
    try:
        with open(spec.origin, encoding="utf-8", errors="replace") as fh:
            match = _VERSION_RE.search(fh.read())
    except OSError:
        match = None
    return match.group(1) if match else "unknown"


def versions(packages: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{package: version}`` for each name."""
    return {p: package_version(p) for p in sorted(packages)}

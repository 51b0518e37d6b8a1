"""Solver backends, looked up by name and imported lazily.

``import pipeline`` never imports meep, mpb or tidy3d: each backend is a
``"module:attribute"`` string resolved on first use. An unknown name's error lists
the known ones and says which are importable here.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from pipeline.errors import SpecError

#: name -> (module that needs to be importable, "module:attribute" of the backend)
BACKENDS: dict[str, tuple[str, str]] = {
    "mpb": ("meep", "pipeline.modes.mpb_backend:solve"),
    "tidy3d": ("tidy3d", "pipeline.modes.tidy3d_backend:solve"),
    "meep2d": ("meep", "pipeline.fdtd.simulate:simulate"),
    "meep3d": ("meep", "pipeline.fdtd.simulate:simulate"),
    "thermo_optic": ("skfem", "devices.phase_shifter:simulate"),
}


def available() -> dict[str, bool]:
    """``{backend: importable}`` without importing anything heavy."""
    return {name: importlib.util.find_spec(req) is not None for name, (req, _) in BACKENDS.items()}


def get_backend(name: str) -> Any:
    """Resolve a backend by name (imports the solver now)."""
    if name not in BACKENDS:
        have = ", ".join(f"{n}{'' if ok else ' (not installed)'}" for n, ok in available().items())
        raise SpecError(f"unknown solver backend {name!r}. Fix: use one of: {have}.")
    requirement, target = BACKENDS[name]
    if importlib.util.find_spec(requirement) is None:
        raise SpecError(
            f"solver backend {name!r} needs the {requirement!r} Python module, which is not importable. "
            "Fix: run `make setup` (installs Debian's python3-meep and the pinned tidy3d)."
        )
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)

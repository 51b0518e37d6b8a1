"""Which solver packages the *solver interpreter* has (pipeline.solver_process).

Tests that run a real solver call ``needs_solver("meep")``: it skips when the solver
interpreter lacks the package — or fails, when ``PHOTOPROP_REQUIRE_SOLVERS=1`` (set by
``make test``), so that a broken solver environment cannot pass as a row of skips."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess

import pytest

from pipeline.solver_process import separate_interpreter, solver_python


@functools.lru_cache(maxsize=None)
def solver_has(module: str) -> bool:
    """True when ``import module`` works in the solver interpreter."""
    if not separate_interpreter():
        return importlib.util.find_spec(module) is not None
    proc = subprocess.run([solver_python(), "-c", f"import {module}"], capture_output=True, timeout=120)
    return proc.returncode == 0


def needs_solver(module: str) -> None:
    """Skip (or, with PHOTOPROP_REQUIRE_SOLVERS=1, fail) unless the solver interpreter has ``module``."""
    if solver_has(module):
        return
    msg = f"the solver interpreter {solver_python()} cannot import {module}"
    if os.environ.get("PHOTOPROP_REQUIRE_SOLVERS") == "1":
        pytest.fail(msg + " (PHOTOPROP_REQUIRE_SOLVERS=1). Fix: `make setup`, or set PHOTOPROP_SOLVER_PYTHON.")
    pytest.skip(msg, allow_module_level=True)

"""Versions of solver packages, found without importing them (meep imports are slow).

:func:`versions` looks in this interpreter; :func:`solver_versions` in the *solver
interpreter* (:mod:`pipeline.solver_process`: ``$PHOTOPROP_SOLVER_PYTHON``, else the one
``make setup`` records) when it is another interpreter than this one (solvers run there:
Debian's python3-meep, a conda env, a container's python), asked once per process through
a subprocess, else this interpreter. Versions are provenance: they are
recorded in each cache entry and compared, never hashed into a key.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap

from pipeline.errors import SolverError


#: names the interpreter that runs the solvers (default: this one)
SOLVER_PYTHON_ENV = "PHOTOPROP_SOLVER_PYTHON"
#: seconds the solver interpreter may take to report its versions
SOLVER_PYTHON_TIMEOUT_S = 60.0

def _version_of(name: str) -> str:
    """Installed version of ``name`` (distribution metadata, else the module's ``__version__``
    read from its source), or ``"not-installed"``. Standard library only: its source is also
    what the solver interpreter runs (:data:`_REMOTE_LOOKUP`)."""
    import importlib.metadata
    import importlib.util
    import re

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
            match = re.search(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", fh.read(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1) if match else "unknown"


#: Run by the solver interpreter with the package names as argv: the same lookup as
#: :func:`package_version`, from its own source (so it needs no photoprop there).
_REMOTE_LOOKUP = (textwrap.dedent(inspect.getsource(_version_of))
                  + "\nimport json, sys\nprint(json.dumps({n: _version_of(n) for n in sys.argv[1:]}))\n")


@functools.lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """Installed version of ``name`` in this interpreter (see :func:`_version_of`)."""
    return _version_of(name)


def versions(packages: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{package: version}`` for each name, in this interpreter."""
    return {p: package_version(p) for p in sorted(packages)}


def solver_python() -> str | None:
    """The solver interpreter (absolute path) when it is not this one, else None. Resolved as
    :func:`pipeline.solver_process.solver_python` does (``$PHOTOPROP_SOLVER_PYTHON``, else
    ``<sys.prefix>/photoprop-solver-python``; inside a solver process: this one). Raises
    SolverError if it names no executable."""
    from pipeline import solver_process

    if not solver_process.separate_interpreter():
        return None
    name = solver_process.solver_python()
    found = shutil.which(os.path.expanduser(name))
    if found is None:
        raise SolverError(f"{SOLVER_PYTHON_ENV} = {name!r}: no such executable interpreter. Fix: set it to the "
                          "python that imports meep (e.g. .venv-solvers/bin/python) or unset it to run solvers "
                          "here.")
    path = os.path.abspath(found)
    return None if path == os.path.abspath(sys.executable) else path


@functools.lru_cache(maxsize=None)
def _interpreter_versions(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    try:
        res = subprocess.run([python, "-c", _REMOTE_LOOKUP, *packages], capture_output=True, text=True,
                             timeout=SOLVER_PYTHON_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise SolverError(f"{SOLVER_PYTHON_ENV} = {python!r} did not report its package versions within "
                          f"{SOLVER_PYTHON_TIMEOUT_S:g} s. Fix: check that `{python} -c 'import sys'` starts.") from None
    except OSError as exc:
        raise SolverError(f"{SOLVER_PYTHON_ENV} = {python!r} cannot be started ({exc}). Fix: point it to a "
                          "working python interpreter.") from exc
    try:
        found = json.loads(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else None
    except (json.JSONDecodeError, IndexError):
        found = None
    if not isinstance(found, dict):
        raise SolverError(f"{SOLVER_PYTHON_ENV} = {python!r} failed to report package versions (exit "
                          f"{res.returncode}: {res.stderr.strip()[-300:]}). Fix: point it to a python >= 3.8.")
    return {str(k): str(v) for k, v in found.items()}


def solver_versions(packages: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{package: version}`` in the solver interpreter (see the module docstring)."""
    python = solver_python()
    if python is None:
        return versions(packages)
    names = tuple(sorted(packages))
    return dict(_interpreter_versions(python, names)) if names else {}


if __name__ == "__main__":  # pragma: no cover  (python -m pipeline.versions meep numpy ...)
    print(json.dumps(solver_versions(sys.argv[1:]), indent=1))

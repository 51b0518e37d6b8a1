"""Solver runs in their own process — and, if set, their own interpreter.

photoprop's core (compact models, dies, training, studies, CLI, notebooks) runs on
current numpy / scipy / xarray. The solvers may not: Debian's compiled ``meep`` needs
numpy < 2, tidy3d 2.10 pins h5netcdf 1.0.2. So every solver run — FDTD, MPB, Tidy3D mode
solves, the thermal FEM — is a *task* (a JSON-able dict) executed by
``python -m pipeline.solver_worker`` in the **solver interpreter**:

1. ``$PHOTOPROP_SOLVER_PYTHON`` if set;
2. else the path written in ``<sys.prefix>/photoprop-solver-python`` (``make setup``
   writes it into the core virtual environment);
3. else the current interpreter.

That interpreter needs photoprop (same version: checked by :data:`PROTOCOL`) and the
solver packages; it shares nothing else with the caller. Arrays in results travel as
one ``.npz`` file, everything else as JSON, so the two sides may run different numpy
and xarray versions. A process that exceeds ``timeout_s``, exits non-zero or writes
no result raises :class:`~pipeline.errors.SolverError` with the last lines of its log;
the process (and its own process group — nothing else) is killed, and nothing is
returned, so nothing can be cached.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import SolverError

ENV_VAR = "PHOTOPROP_SOLVER_PYTHON"
#: Set in the worker's environment: "this process is the solver process; run solvers here".
IN_WORKER_ENV = "PHOTOPROP_IN_SOLVER_PROCESS"
#: File in a virtual environment's prefix naming its solver interpreter (written by ``make setup``).
SETTING_FILE = "photoprop-solver-python"
#: Task/result format version shared by caller and worker; bump when either changes.
PROTOCOL = 1
#: Default wall-clock limit of one solver process [s].
DEFAULT_TIMEOUT_S = 1800.0
_ARRAYS = "arrays.npz"


def solver_python() -> str:
    """The interpreter that runs solver tasks (see the module docstring for the order)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    setting = Path(sys.prefix) / SETTING_FILE
    if setting.is_file():
        text = setting.read_text().strip()
        if text:
            return text
    return sys.executable


def separate_interpreter() -> bool:
    """True when solver tasks run in an interpreter other than this one."""
    if os.environ.get(IN_WORKER_ENV):
        return False
    return os.path.abspath(solver_python()) != os.path.abspath(sys.executable)


def _check_interpreter(python: str) -> None:
    if not (os.path.isfile(python) and os.access(python, os.X_OK)):
        raise SolverError(
            f"{ENV_VAR} = {python!r}: no executable interpreter there. Fix: point it at a Python that has "
            "photoprop and the solver packages installed (e.g. the solver environment `make setup` builds, "
            f".venv-solvers/bin/python), or unset it to run solvers in this interpreter."
        )


def _source_root() -> Path | None:
    """The checkout holding this package, if running from one (so the worker imports the same code)."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "pipeline" / "solver_worker.py").is_file() else None


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(no output)"


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker's own group (start_new_session)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
    proc.wait()


# -- results: arrays in one npz, the rest JSON ---------------------------------------------------
def pack_result(result: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Move every ndarray value of ``result`` (top level) into ``folder/arrays.npz``."""
    arrays = {k: np.asarray(v) for k, v in result.items() if isinstance(v, np.ndarray)}
    out = {k: v for k, v in result.items() if k not in arrays}
    if arrays:
        np.savez(folder / _ARRAYS, **arrays)
        out["__arrays__"] = sorted(arrays)
    return out


def unpack_result(result: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Inverse of :func:`pack_result` (arrays loaded into memory)."""
    names = result.pop("__arrays__", None)
    if names:
        with np.load(folder / _ARRAYS, allow_pickle=False) as npz:
            result.update({n: np.array(npz[n]) for n in names})
    return result


def dataset_to_result(ds: "Any") -> dict[str, Any]:
    """An xarray Dataset as a result dict (arrays ``v:<name>``, structure as JSON)."""
    structure = {"attrs": dict(ds.attrs), "vars": {}, "coords": {}}
    out: dict[str, Any] = {}
    for kind, items in (("coords", ds.coords.items()), ("vars", ds.data_vars.items())):
        for name, var in items:
            structure[kind][str(name)] = {"dims": list(var.dims), "attrs": dict(var.attrs)}
            out[f"v:{name}"] = np.asarray(var.values)
    out["dataset"] = structure
    return out


def dataset_from_result(result: dict[str, Any]) -> "Any":
    """Inverse of :func:`dataset_to_result`."""
    import xarray as xr

    st = result["dataset"]
    coords = {n: xr.Variable(c["dims"], result[f"v:{n}"], c["attrs"]) for n, c in st["coords"].items()}
    data = {n: xr.Variable(v["dims"], result[f"v:{n}"], v["attrs"]) for n, v in st["vars"].items()}
    return xr.Dataset(data, coords=coords, attrs=st["attrs"])


def run_task(task: dict[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S, label: str = "solver") -> dict[str, Any]:
    """Execute ``task`` (``{"kind": ..., ...}``) in a fresh solver process; return its result dict."""
    if not timeout_s > 0:
        raise SolverError(f"timeout_s = {timeout_s!r}: must be > 0 seconds. Fix: pass e.g. timeout_s=600.")
    python = solver_python()
    _check_interpreter(python)
    with tempfile.TemporaryDirectory(prefix="photoprop-solver-") as tmp:
        folder = Path(tmp)
        task_path, result_path, log_path = folder / "task.json", folder / "result.json", folder / "solver.log"
        task_path.write_text(json.dumps({**task, "protocol": PROTOCOL}))
        env = dict(os.environ)
        env["PYTHONWARNINGS"] = "ignore:The value of the smallest subnormal:UserWarning"
        env.setdefault("OMP_NUM_THREADS", "1")
        env[IN_WORKER_ENV] = "1"
        root = _source_root()
        if root is not None:
            env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [python, "-m", "pipeline.solver_worker", str(task_path), str(result_path)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env, cwd=tmp,
            )
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill(proc)
                raise SolverError(
                    f"{label}: no result after the wall-clock limit timeout_s = {timeout_s:g} s; the solver "
                    f"process {proc.pid} was killed and nothing was cached. Fix: raise timeout_s or lower the "
                    f"resolution / band. Last solver output:\n{_tail(log_path)}"
                ) from None
            except BaseException:
                _kill(proc)
                raise
        wall = time.perf_counter() - t0
        if rc != 0 or not result_path.exists():
            raise SolverError(
                f"{label}: the solver process ({python}) exited with code {rc} after {wall:.1f} s and wrote no "
                f"result; nothing was cached. Last solver output:\n{_tail(log_path)}"
            )
        result = unpack_result(json.loads(result_path.read_text()), folder)
    result["process_wall_time_s"] = round(wall, 3)
    return result


__all__ = ["DEFAULT_TIMEOUT_S", "ENV_VAR", "PROTOCOL", "dataset_from_result", "dataset_to_result", "run_task", "separate_interpreter", "solver_python"]

"""Run one solver task in its own process, with a wall-clock timeout.

The task (a JSON-able dict) is written to a temporary folder and executed by
``python -m pipeline.fdtd.worker``; the solver's stdout/stderr go to a log file. A
process that exceeds ``timeout_s``, exits non-zero or writes no result raises
:class:`~pipeline.errors.SolverError` carrying the last lines of that log; the process
(and its own process group — nothing else) is killed. Nothing is returned, so nothing
can be cached.
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

from pipeline.errors import SolverError

#: Default wall-clock limit of one solver process [s].
DEFAULT_TIMEOUT_S = 1800.0


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
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def run_task(task: dict[str, Any], *, timeout_s: float = DEFAULT_TIMEOUT_S, label: str = "solver") -> dict[str, Any]:
    """Execute ``task`` in a fresh worker process and return its result dict."""
    if not timeout_s > 0:
        raise SolverError(f"timeout_s = {timeout_s!r}: must be > 0 seconds. Fix: pass e.g. timeout_s=600.")
    with tempfile.TemporaryDirectory(prefix="photoprop-fdtd-") as tmp:
        folder = Path(tmp)
        task_path, result_path, log_path = folder / "task.json", folder / "result.json", folder / "solver.log"
        task_path.write_text(json.dumps(task))
        env = dict(os.environ)
        env["PYTHONWARNINGS"] = "ignore:The value of the smallest subnormal:UserWarning"
        env.setdefault("OMP_NUM_THREADS", "1")
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        t0 = time.perf_counter()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline.fdtd.worker", str(task_path), str(result_path)],
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
                f"{label}: the solver process exited with code {rc} after {wall:.1f} s and wrote no result; "
                f"nothing was cached. Last solver output:\n{_tail(log_path)}"
            )
        result = json.loads(result_path.read_text())
        result["process_wall_time_s"] = round(wall, 3)
        return result

"""Solver-process entry: ``python -m pipeline.solver_worker TASK.json RESULT.json``.

Runs one task in the solver interpreter (see :mod:`pipeline.solver_process`) and writes
its result: JSON, with arrays in ``arrays.npz`` beside it. Any exception propagates
(non-zero exit, traceback in the log the caller reports)."""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from pathlib import Path

#: task kind -> "module:function" taking the task dict and returning a result dict.
TASKS: dict[str, str] = {
    "fdtd": "pipeline.fdtd.meep_backend:execute",
    "mpb_strip": "pipeline.fdtd.mpb3d:strip_modes",
    "modes": "pipeline.modes.solver:run_modes_task",
    "heat": "pipeline.thermal.fem:run_heat_task",
    "heated_modes": "pipeline.modes.tidy3d_backend:run_heated_task",
    "charge": "pipeline.charge.poisson:run_charge_task",
}


def main(argv: list[str]) -> int:
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
    from pipeline.solver_process import PROTOCOL, pack_result

    task_path, result_path = Path(argv[1]), argv[2]
    task = json.loads(task_path.read_text())
    if task.get("protocol") != PROTOCOL:
        raise RuntimeError(
            f"task protocol {task.get('protocol')!r} but this photoprop speaks {PROTOCOL}: the solver "
            "interpreter has a different photoprop version. Fix: install the same photoprop there."
        )
    kind = task.get("kind")
    if kind not in TASKS:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(sorted(TASKS))}")
    module, func = TASKS[kind].split(":")
    result = getattr(importlib.import_module(module), func)(task)
    packed = pack_result(result, task_path.parent)
    tmp = result_path + ".part"
    with open(tmp, "w") as fh:
        json.dump(packed, fh)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

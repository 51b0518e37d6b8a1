"""Worker process entry: ``python -m pipeline.fdtd.worker TASK.json RESULT.json``.

Runs one task (``kind``: ``"fdtd"`` or ``"mpb_strip"``) and writes its JSON result. Any
exception propagates (non-zero exit, traceback in the log the runner reports)."""

from __future__ import annotations

import json
import sys
import warnings


def main(argv: list[str]) -> int:
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
    task_path, result_path = argv[1], argv[2]
    with open(task_path) as fh:
        task = json.load(fh)
    kind = task.get("kind")
    if kind == "fdtd":
        from pipeline.fdtd.meep_backend import execute

        result = execute(task)
    elif kind == "mpb_strip":
        from pipeline.fdtd.mpb3d import strip_modes

        result = strip_modes(task)
    else:
        raise ValueError(f"unknown task kind {kind!r}")
    tmp = result_path + ".part"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    import os

    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

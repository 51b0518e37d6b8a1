"""Workflow throughput (issue 7), each table from one run:

1. study throughput: the same 12-cell training study (attenuator, moons, 30 epochs,
   ideal/offline/insitu per cell) with 1 and 2 local Dask workers → cells per minute and the
   parallel efficiency (throughput ratio / 2);
2. the main job's wall time (``photoprop run`` on the shipped library, fresh output folder);
3. library build cost: solver core-seconds per device entry, from the provenance each cache
   entry records (every solver task is one single-threaded process, so wall = core time).

    .venv/bin/python benchmarks/bench_workflows.py [--skip-main]

Writes benchmarks/results/workflows.txt.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.execution import open_client  # noqa: E402
from pipeline.study import grid, run_study  # noqa: E402

CELLS = grid(dataset=["moons"], seed=list(range(12)), architecture=["attenuator"],
             algorithms=["ideal,offline,insitu"], epochs=[30])


def study_throughput(workers: int) -> tuple[float, float]:
    """(wall seconds, cells per minute) of the benchmark study on ``workers`` local workers."""
    with tempfile.TemporaryDirectory() as tmp, open_client(workers=workers) as client:
        client.run(lambda: __import__("workflows.cells"))  # imports outside the timing
        t0 = time.perf_counter()
        rep = run_study(CELLS, "workflows.cells:train_cell", Path(tmp) / "s", client, progress=False,
                        announce=lambda _: None)
        wall = time.perf_counter() - t0
    assert rep["computed"] == len(CELLS)
    return wall, 60 * len(CELLS) / wall


def main_job_wall() -> float:
    from workflows.paper import run_main

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_main(Path(tmp) / "paper", progress=False, say=lambda _: None)
        return time.perf_counter() - t0


def library_cost() -> list[tuple[str, int, float, float]]:
    import pipeline

    lib = pipeline.open_library()
    rows = []
    for dev in sorted(set(lib.device.values)):
        t = lib.wall_time_s.where(lib.device == dev, drop=True).values
        rows.append((str(dev), int(t.size), float(np.mean(t)), float(np.sum(t))))
    return rows


def main() -> None:
    lines = [f"python {platform.python_version()}, {__import__('os').cpu_count()} cores", ""]
    w1, r1 = study_throughput(1)
    w2, r2 = study_throughput(2)
    lines += ["study throughput (12 cells: attenuator die, moons, 30 epochs, ideal+offline+insitu each)",
              f"{'workers':>8} {'wall s':>8} {'cells/min':>10} {'speed-up':>9} {'efficiency':>11}",
              f"{1:>8} {w1:>8.1f} {r1:>10.1f} {1.0:>9.2f} {1.0:>11.2f}",
              f"{2:>8} {w2:>8.1f} {r2:>10.1f} {r2 / r1:>9.2f} {r2 / r1 / 2:>11.2f}", ""]
    if "--skip-main" not in sys.argv:
        lines += [f"main job (photoprop run, shipped library, fresh output): {main_job_wall():.1f} s wall "
                  "(target < 600 s)", ""]
    lines += ["library build cost (solver core-seconds per entry, from each entry's provenance)",
              f"{'device':>20} {'entries':>8} {'mean s':>8} {'total s':>9}"]
    for dev, n, mean, total in library_cost():
        lines.append(f"{dev:>20} {n:>8} {mean:>8.1f} {total:>9.1f}")
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "results" / "workflows.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()

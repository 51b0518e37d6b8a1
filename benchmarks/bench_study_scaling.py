"""Study throughput with 1 and 2 Dask workers (issue 16, item 4): parallel efficiency
t1 / (2 t2) of the same study, target >= 85 %.

The study: :func:`pipeline.study.run_study` of ``workflows.cells:train_cell`` cells on a local
cluster (:func:`pipeline.execution.open_client`, one process per worker, one thread each) —
attenuator dies (seed = die) on moons, ``ideal,offline,insitu`` per cell, plus ``mesh`` dies
(4 modes, 3 layers) so that both architectures' cells are in the grid.  Worker imports are done
before the clock starts; everything else (library loading on the workers, cell files, combining
the results) is timed.  The 1-minute load average is printed before and after each measurement:
on a machine whose other jobs already occupy the cores, the efficiency measures the sharing, not
the study engine — the table says so when the load exceeded the free cores.

    .venv/bin/python benchmarks/bench_study_scaling.py --quick   # 4 cells, 5 epochs
    .venv/bin/python benchmarks/bench_study_scaling.py           # 16 cells, 30 epochs

Writes benchmarks/results/study_scaling[_quick].txt.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

TARGET = 0.85
FULL = dict(seeds=8, epochs=30)
QUICK = dict(seeds=2, epochs=5)


def cells(seeds: int, epochs: int) -> list[dict]:
    from pipeline.study import grid

    return (grid(dataset=["moons"], seed=list(range(seeds)), architecture=["attenuator"],
                 algorithms=["ideal,offline,insitu"], epochs=[epochs])
            + grid(dataset=["moons"], seed=list(range(seeds)), architecture=["mesh"],
                   algorithms=["ideal,offline,insitu"], epochs=[epochs]))


def throughput(workers: int, grid_cells: list[dict]) -> dict:
    """Wall time of the study on ``workers`` local workers, with the load average around it."""
    from pipeline.execution import open_client
    from pipeline.study import run_study

    with tempfile.TemporaryDirectory() as tmp, open_client(workers=workers) as client:
        client.run(lambda: __import__("workflows.cells"))  # imports outside the timing
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        rep = run_study(grid_cells, "workflows.cells:train_cell", Path(tmp) / "s", client, progress=False,
                        announce=lambda _: None)
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()[0]
    if rep["computed"] != len(grid_cells):
        raise RuntimeError(f"study computed {rep['computed']} of {len(grid_cells)} cells: {rep['failed'][:1]}")
    return {"workers": workers, "wall": wall, "load0": load0, "load1": load1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small validation configuration")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    conf = QUICK if args.quick else FULL
    grid_cells = cells(**conf)
    r1, r2 = throughput(1, grid_cells), throughput(2, grid_cells)
    eff = r1["wall"] / (2 * r2["wall"])
    n = len(grid_cells)
    cores = os.cpu_count() or 1
    lines = [f"# bench_study_scaling.py{' --quick' if args.quick else ''} — study throughput, 1 vs 2 local Dask workers",
             f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cores} cores; {n} cells (moons, "
             f"{conf['seeds']} attenuator + {conf['seeds']} mesh dies, ideal+offline+insitu, {conf['epochs']} epochs)",
             f"{'workers':>7} {'wall s':>8} {'cells/min':>9} {'load before':>11} {'load after':>10}"]
    for r in (r1, r2):
        lines.append(f"{r['workers']:>7} {r['wall']:>8.1f} {60 * n / r['wall']:>9.1f} {r['load0']:>11.1f} "
                     f"{r['load1']:>10.1f}")
    busy = max(r1["load0"], r2["load0"]) > 1.5  # > what the previous run itself leaves in the 1-min average
    lines.append(f"parallel efficiency t1/(2 t2) = {eff:.2f}  (target >= {TARGET:.2f}: "
                 f"{'met' if eff >= TARGET else 'NOT met'})")
    if busy:
        lines.append(f"# the 1-min load average before the runs was {max(r1['load0'], r2['load0']):.1f} on {cores} "
                     "cores: other jobs shared the cores, so this efficiency is not the engine's (rerun on a quiet "
                     "machine)")
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"study_scaling{'_quick' if args.quick else ''}.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()

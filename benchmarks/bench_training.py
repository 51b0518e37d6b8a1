"""Training on simulated dies, as a resumable study: final test accuracy per dataset,
calibration and algorithm — mean, bootstrap 95 % interval and worst die — and the paired
per-die verdicts (pipeline.training.verdicts): insitu − ideal (two-sided, ± 2 points),
insitu − ideal-best, insitu − offline-calibrated.

Every cell is one die × dataset × calibration, all algorithms on that die with the same
init seed (1000 + die) and split seed (die): several splits, paired within a die.

    .venv/bin/python benchmarks/bench_training.py [--dies 10] [--datasets moons,circles,xor]
        [--calibrations readout,lab] [--algorithms ideal,ideal-best,offline,offline-calibrated,insitu]
        [--architecture attenuator] [--epochs E] [--workers 2] [--out results/bench_training]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import xarray as xr  # noqa: F401  (results are xr.Dataset)

from pipeline.training import verdicts as vd

PAIRS = (("insitu", "ideal"), ("insitu", "ideal-best"), ("insitu", "offline-calibrated"),
         ("offline-calibrated", "ideal"), ("forward-only", "ideal"))


def cells(a: argparse.Namespace) -> list[dict]:
    extra = {"epochs": a.epochs} if a.epochs else {}
    return [{"dataset": d, "seed": s, "init_seed": 1000 + s, "split_seed": s, "calibration": c,
             "architecture": a.architecture, "algorithms": a.algorithms, **extra}
            for d in a.datasets.split(",") for c in a.calibrations.split(",") for s in range(a.dies)]


def table(res: xr.Dataset, margin: float) -> list[str]:
    for dim in ("dataset", "calibration"):  # a parameter that does not vary is a scalar coordinate
        if dim not in res.dims:
            res = res.expand_dims({dim: [res[dim].item()]} if dim in res.coords else {dim: ["-"]})
    acc = res["final_test_accuracy"]
    lines = [f"{'dataset':8s} {'calibration':11s} {'algorithm':19s} {'mean [%]':>8s} {'95 % CI':>14s} "
             f"{'min':>5s} {'dead (end)':>10s}"]
    dead = res["dead_neurons"].isel(epoch=-1) if "dead_neurons" in res else None
    for d in np.atleast_1d(acc["dataset"].values):
        for c in np.atleast_1d(acc["calibration"].values):
            sub = acc.sel(dataset=d, calibration=c)
            for name in sub["algorithm"].values:
                s = vd.algorithm_stats(sub, str(name))
                nd = float(dead.sel(dataset=d, calibration=c, algorithm=name).mean()) if dead is not None else np.nan
                lines.append(f"{d:8s} {c:11s} {name:19s} {100 * s.mean:8.1f} [{100 * s.ci_low:5.1f}, "
                             f"{100 * s.ci_high:5.1f}] {100 * s.min:5.0f} {nd:10.2f}")
            names = set(map(str, sub["algorithm"].values))
            for a_, b_ in PAIRS:
                if {a_, b_} <= names:
                    diff = vd.paired_difference(sub, a_, b_)
                    eq, dv = vd.equivalence_verdict(diff, margin), vd.difference_verdict(diff)
                    lines.append(f"  {d} {c}: {a_} − {b_} = {100 * diff.mean:+.1f} [{100 * diff.ci_low:+.1f}, "
                                 f"{100 * diff.ci_high:+.1f}] points → {eq.verdict} (± {100 * margin:.0f}), "
                                 f"{dv.verdict}")
    return lines


def main() -> None:
    from pipeline.execution import open_client
    from pipeline.study import run_study
    from workflows.paper import combine

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dies", type=int, default=10)
    ap.add_argument("--datasets", default="moons,circles,xor")
    ap.add_argument("--calibrations", default="readout,lab")
    ap.add_argument("--algorithms", default="ideal,ideal-best,offline,offline-calibrated,insitu")
    ap.add_argument("--architecture", default="attenuator")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--margin", type=float, default=0.02, help="equivalence margin (accuracy, 0.02 = 2 points)")
    ap.add_argument("--out", default="results/bench_training", help="study folder (resumable)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    cell_list = cells(a)
    with open_client(workers=a.workers) as client:
        report = run_study(cell_list, "workflows.cells:train_cell", a.out, client, combine=False)
    res = combine(a.out, cell_list)  # per-die init/split seeds as coordinates along ``seed``
    wall = time.perf_counter() - t0
    print(f"{a.architecture}, realistic impairments, dies 0..{a.dies - 1}, init seed 1000 + die, split seed die; "
          f"{report['total']} cells ({report['cached']} reused), wall {wall:.0f} s on {a.workers} workers")
    print("\n".join(table(res, a.margin)))


if __name__ == "__main__":
    main()

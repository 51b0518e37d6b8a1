"""Training on simulated dies: final test accuracy (mean ± std over dies) per dataset and
algorithm, and the issue-6 claims: ``insitu`` ≥ 90 % and within 2 points of ``ideal``;
``offline`` measurably worse (lower mean test accuracy than ``insitu``).

    .venv/bin/python benchmarks/bench_training.py [--dies 10] [--datasets moons,circles]
        [--algorithms ideal,offline,insitu] [--impairments realistic] [--epochs E]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pipeline.training import algorithms as alg
from pipeline.training.run import compare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dies", type=int, default=10)
    ap.add_argument("--datasets", default="moons,circles")
    ap.add_argument("--algorithms", default="ideal,offline,insitu")
    ap.add_argument("--architecture", default="attenuator")
    ap.add_argument("--impairments", default="realistic")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--out", default=None, help="write the table as netCDF here")
    a = ap.parse_args()
    cfg = alg.TrainConfig(**({"epochs": a.epochs} if a.epochs else {}))
    t0 = time.perf_counter()
    res = compare(a.datasets.split(","), list(range(a.dies)), a.algorithms, a.architecture, a.impairments, cfg)
    wall = time.perf_counter() - t0
    print(f"{a.architecture}, {a.impairments} impairments, dies 0..{a.dies - 1}, {cfg.epochs} epochs, "
          f"batch {cfg.batch_size}, lr {cfg.learning_rate} ({cfg.optimizer}); total wall {wall:.0f} s")
    print(f"{'dataset':10s} {'algorithm':13s} {'test acc. [%]':>16s} {'min':>6s} {'train acc. [%]':>16s} "
          f"{'detector reads':>15s} {'wall/run [s]':>12s}")
    for d in res["dataset"].values:
        for name in res["algorithm"].values:
            r = res.sel(dataset=d, algorithm=name)
            te, tr = 100 * r["test_accuracy"].values, 100 * r["train_accuracy"].values
            print(f"{d:10s} {name:13s} {te.mean():9.1f} ± {te.std():4.1f} {te.min():6.1f} {tr.mean():9.1f} ± "
                  f"{tr.std():4.1f} {r['measurements'].values.mean():15.3g} {r['wall_s'].values.mean():12.2f}")
        names = list(res["algorithm"].values)
        if {"ideal", "insitu"} <= set(names):
            ins = 100 * res["test_accuracy"].sel(dataset=d, algorithm="insitu").values
            ide = 100 * res["test_accuracy"].sel(dataset=d, algorithm="ideal").values
            line = (f"  {d}: insitu >= 90 % on {np.sum(ins >= 90)}/{ins.size} dies; mean gap to ideal "
                    f"{ins.mean() - ide.mean():+.1f} points (per die: min {np.min(ins - ide):+.1f})")
            if "offline" in names:
                off = 100 * res["test_accuracy"].sel(dataset=d, algorithm="offline").values
                line += f"; offline - insitu {off.mean() - ins.mean():+.1f} points (worse on " \
                        f"{np.sum(off < ins)}/{off.size} dies)"
            print(line)
    if a.out:
        res.to_netcdf(a.out, engine="h5netcdf")


if __name__ == "__main__":
    main()

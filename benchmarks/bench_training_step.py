"""Cost of one in-situ training step of the attenuator die (issue 16, item 3).

One step is what ``pipeline.training.algorithms.train_insitu`` does per batch: ``die.program(p)``
then ``die.insitu_gradient(x, t)`` (forward + two-pass backward + the slopes' phase steps),
on a realistic die, batch 10.  Cases: the default architecture (2-8-1, moons-sized inputs)
with the readout calibration and lab-calibrated (phase, P_π, crosstalk Ĉ⁻¹ compensation),
and a 4-16-3 die (iris-sized); then the real loop, ``run.train`` insitu on moons (40 epochs,
readout and lab calibration): its recorded training wall time (project, program,
insitu_gradient, Adam; not the per-epoch evaluation) per step.

Usage::

    python benchmarks/bench_training_step.py                  # after only (this tree)
    python benchmarks/bench_training_step.py --before DIR     # also the tree at DIR (a checkout of
                                                              # the reference commit), interleaved
    python benchmarks/bench_training_step.py --json           # one JSON object (used for --before)

With ``--before`` the two trees are measured in turn (before, after, before, after, …) in
separate processes of the same interpreter, one thread each, and the median of the
repeats is quoted, so that a machine shared with other jobs slows both alike.  The table
goes to stdout and to ``benchmarks/results/training_step.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

CASES = {
    "2-8-1 readout": dict(n_in=2, n_hidden=8, n_out=1, lab=False),
    "2-8-1 lab": dict(n_in=2, n_hidden=8, n_out=1, lab=True),
    "4-16-3 readout": dict(n_in=4, n_hidden=16, n_out=3, lab=False),
}
TARGET = 5.0
TRAIN_EPOCHS = 40  # moons (default split), batch 10
RESULTS = Path(__file__).parent / "results" / "training_step.txt"


def measure(steps: int) -> dict[str, float]:
    """ms per in-situ step of every case in this process (best of 3 blocks of ``steps``)."""
    from pipeline.chip.attenuator import AttenuatorArchitecture
    out = {}
    for name, c in CASES.items():
        arch = AttenuatorArchitecture(n_in=c["n_in"], n_hidden=c["n_hidden"], n_out=c["n_out"])
        if c["lab"]:
            arch = arch.lab_calibrated()
        die = arch.sample_die("realistic", 0)
        rng = np.random.default_rng(1)
        p = arch.init_params(rng)
        x = rng.uniform(0, 1, (10, arch.n_in))
        t = rng.uniform(0.2, 0.8, (10, arch.n_out))
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            for k in range(steps):
                die.program(np.clip(p + 0.01 * np.sin(k), -1, 1))
                die.insitu_gradient(x, t)
            best = min(best, (time.perf_counter() - t0) / steps * 1e3)
        out[name] = best
    # the real loop: run.train's insitu on moons, its training wall time (project, program,
    # insitu_gradient, Adam; the per-epoch evaluation is not in it) per step
    from pipeline.training import algorithms as alg
    from pipeline.training import run
    for cal in ("readout", "lab"):
        cfg = alg.TrainConfig(epochs=TRAIN_EPOCHS)
        res = run.train("moons", "attenuator", "insitu", "realistic", seed=0, config=cfg, calibration=cal)
        r = res.runs["insitu"]
        steps = TRAIN_EPOCHS * int(np.ceil(res.data.x_train.shape[0] / cfg.batch_size))
        out[f"train loop {cal}"] = float(np.asarray(r.metrics["wall_s"]).ravel()[-1]) / steps * 1e3
    return out


def _other(tree: str, steps: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": tree}
    res = subprocess.run([sys.executable, __file__, "--json", "--steps", str(steps)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", help="a checkout of the reference commit (measured in a subprocess)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure(args.steps)))
        return
    here = str(Path(__file__).resolve().parents[1])
    before, after = [], []
    for _ in range(args.repeats):
        if args.before:
            before.append(_other(args.before, args.steps))
        after.append(_other(here, args.steps))
    med = lambda runs, k: float(np.median([r[k] for r in runs]))  # noqa: E731
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True).stdout.strip()
    lines = [f"# bench_training_step.py — ms per in-situ step (program + insitu_gradient, batch 10, realistic die)",
             f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, numpy {np.__version__}, one thread, "
             f"median of {args.repeats} interleaved repeats (each best of 3 x {args.steps} steps); after = {rev}"
             + (f", before = tree at {args.before}" if args.before else ""),
             f"{'case':<16} {'before ms':>10} {'after ms':>10} {'ratio':>7}  target >= {TARGET:g}x"]
    for k in after[0]:
        a = med(after, k)
        if args.before:
            b = med(before, k)
            lines.append(f"{k:<16} {b:>10.3f} {a:>10.3f} {b / a:>7.2f}  {'met' if b / a >= TARGET else 'NOT met'}")
        else:
            lines.append(f"{k:<16} {'-':>10} {a:>10.3f} {'-':>7}")
    text = "\n".join(lines)
    print(text)
    if not args.no_save:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()

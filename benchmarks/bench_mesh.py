"""Clements mesh speed: build U from phases (the rebuild after a weight update), forward
U @ X, forward + all phase gradients (batch correlation swept through the columns), the
simulated Hughes intensity procedure (three tap passes), and the per-sample column sweep
— against numpy's U @ X for the same U and X measured in the same run (the reference).

N = 8, 16, 32, 64; batch 1024; complex128; non-ideal MZIs (coupler errors, arm loss).
Target (issue 5): forward within 2× of the reference once the matrices are built.

    .venv/bin/python benchmarks/bench_mesh.py     # writes benchmarks/results/mesh.txt
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from pipeline.circuit.mesh import MeshHardware, mesh_layout
from pipeline.circuit.mesh_gradients import column_sweep_gradients, hughes_gradients, mesh_gradients

BATCH = 1024
TARGET_RATIO = 2.0


def _median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _hardware(n: int, rng: np.random.Generator) -> MeshHardware:
    lay = mesh_layout(n)
    k = lay.n_mzi
    a1, a2 = rng.uniform(0.74, 0.83, k), rng.uniform(0.74, 0.83, k)
    cpl = lambda a: np.stack([np.stack([np.cos(a), 1j * np.sin(a)], -1),  # noqa: E731
                              np.stack([1j * np.sin(a), np.cos(a)], -1)], -2)
    arms = lambda: 0.995 * np.exp(1j * rng.uniform(-0.1, 0.1, (k, 2)))  # noqa: E731
    return MeshHardware(lay, cpl(a1), cpl(a2), arms(), arms(), np.ones(n, complex), np.ones(n, complex),
                        np.full(lay.n_columns, 0.999, complex))


def main() -> str:
    rng = np.random.default_rng(0)
    lines = [__doc__.split("\n\n")[0].replace("\n", " "), "",
             f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, batch {BATCH}, "
             "complex128, median of repeats [ms]", "",
             f"{'N':>3} {'numpy U@X':>10} {'build U':>8} {'forward':>8} {'fwd/ref':>7} {'fwd+grad':>9} "
             f"{'(f+g)/ref':>9} {'hughes':>8} {'col.sweep':>9}"]
    ok = True
    for n in (8, 16, 32, 64):
        hw = _hardware(n, rng)
        k = hw.layout.n_mzi
        th, ph = rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, k)
        x = (rng.normal(size=(n, BATCH)) + 1j * rng.normal(size=(n, BATCH))) / 4
        t = rng.uniform(0, 0.2, (n, BATCH))
        u = hw.matrix(th, ph)
        reps = 200 if n <= 32 else 60
        ref = _median_ms(lambda: np.matmul(u, x), reps)

        def forward():
            return hw_u[0] @ x

        hw_u = [u]
        build = _median_ms(lambda: hw_u.__setitem__(0, hw.matrix(th, ph)), reps)
        fwd = _median_ms(forward, reps)

        def fwd_grad():
            y = hw_u[0] @ x
            g = 2 * (np.abs(y) ** 2 - t) * y / BATCH
            return mesh_gradients(hw, th, ph, None, x, g)

        both = _median_ms(fwd_grad, reps // 2)
        y = u @ x
        g = 2 * (np.abs(y) ** 2 - t) * y / BATCH
        hughes = _median_ms(lambda: hughes_gradients(hw, th, ph, x, g, u=u), max(5, reps // 10))
        sweep = _median_ms(lambda: column_sweep_gradients(hw, th, ph, None, x, g), 5)
        ok &= fwd / ref <= TARGET_RATIO
        lines.append(f"{n:>3} {ref:>10.3f} {build:>8.3f} {fwd:>8.3f} {fwd / ref:>7.2f} {both:>9.3f} "
                     f"{both / ref:>9.1f} {hughes:>8.3f} {sweep:>9.2f}")
    lines += ["", "build U = rebuild cost after a weight update (MZI matrices + column sweep, O(N^3));",
              "forward = U @ X with the built U; fwd+grad = forward, MSE adjoint field and all dL/dtheta, dL/dphi;",
              "hughes = the three simulated tap passes (fwd, TR, sum) + adjoint pass; col.sweep = per-sample "
              "column-by-column reference.",
              f"target forward <= {TARGET_RATIO}x numpy U@X: {'met' if ok else 'NOT met'}"]
    return "\n".join(lines)


if __name__ == "__main__":
    text = main()
    print(text)
    out = Path(__file__).resolve().parent / "results" / "mesh.txt"
    out.write_text(text + "\n")

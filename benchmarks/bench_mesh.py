"""Clements mesh speed against the machine's limit, numpy's U @ X (issue 16, item 1).

For N = 8, 16, 32, 64, 128 (batch 1024, complex128, non-ideal MZIs: coupler errors, arm
loss, column loss), one thread (threadpoolctl), each operation is timed interleaved with
the reference U @ X in the same round, and its ratio is the median over rounds of
(operation time / reference time in that round), so machine load drifting between rounds
cancels. Operations, each from new phases (a weight update):

- forward: build U from the phases + apply it to the batch (``hw.matrix(θ, φ) @ X``);
- gradients: forward, MSE-on-power adjoint field g and all dL/dθ, dL/dφ (``mesh_gradients``);
- hughes: forward, g and the simulated Hughes in-situ procedure (``hughes_gradients``: the
  adjoint pass and the three tap passes fwd / TR / sum, each pass with its own realised
  phases as on a die, so U is rebuilt for the adjoint pass);
- build U alone and the per-sample column sweep (reference gradients) are listed for information.

Targets (issue 16, for N = 64; shown at every N, never loosened): forward <= 3x,
gradients <= 6x, hughes <= 12x.

32 wavelengths (issue 16, item 2): the same operations on a mesh with a wavelength axis
(W = 32 slices, each with its own couplers and arms; shared phases with a dispersion
scale per wavelength; per-wavelength batches X_w (N, 1024)), against the 32-wavelength
limit — the 32 products U_w @ X_w (one stacked matmul) timed in the same rounds.  Targets
(N = 64): forward <= 2x, gradients <= 6x; hughes (broadband taps) listed without a target.

    .venv-core/bin/python benchmarks/bench_mesh.py     # writes benchmarks/results/mesh.txt
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from pipeline.circuit.mesh import MeshHardware, mesh_layout
from pipeline.circuit.mesh_gradients import column_sweep_gradients, hughes_gradients, mesh_gradients

BATCH = 1024
SIZES = (8, 16, 32, 64, 128)
TARGETS = {"forward": 3.0, "gradients": 6.0, "hughes": 12.0}
WDM = 32
WDM_SIZES = (16, 32, 64)
WDM_TARGETS = {"forward": 2.0, "gradients": 6.0, "hughes": None}
WDM_ROUNDS = {16: 30, 32: 20, 64: 12}
ROUNDS = {8: 100, 16: 100, 32: 60, 64: 60, 128: 20}


def _hardware(n: int, rng: np.random.Generator) -> MeshHardware:
    lay = mesh_layout(n)
    k = lay.n_mzi
    a1, a2 = rng.uniform(0.74, 0.83, k), rng.uniform(0.74, 0.83, k)
    cpl = lambda a: np.stack([np.stack([np.cos(a), 1j * np.sin(a)], -1),  # noqa: E731
                              np.stack([1j * np.sin(a), np.cos(a)], -1)], -2)
    arms = lambda: 0.995 * np.exp(1j * rng.uniform(-0.1, 0.1, (k, 2)))  # noqa: E731
    return MeshHardware(lay, cpl(a1), cpl(a2), arms(), arms(), np.ones(n, complex), np.full(n, 0.98 + 0j),
                        np.full(lay.n_columns, 0.999, complex))


def _blas() -> str:
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                     f"{os.path.basename(i.get('filepath', ''))})" for i in info) or "no BLAS found by threadpoolctl"


def _case(n: int, rng: np.random.Generator, rounds: int):
    """The operations, each drawing new phases at every call (a weight update: nothing
    built for earlier phases can be reused)."""
    hw = _hardware(n, rng)
    k = hw.layout.n_mzi
    th, ph = rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, k)
    fresh = iter([(th + rng.normal(0, 0.01, k), ph + rng.normal(0, 0.01, k)) for _ in range(8 * (rounds + 2))])
    x = (rng.normal(size=(n, BATCH)) + 1j * rng.normal(size=(n, BATCH))) / 4
    t = rng.uniform(0, 0.2, (n, BATCH))
    u_ref = hw.matrix(th, ph)

    def adjoint(y):  # g = 2 (|y|² − t) y / B, the MSE-on-power adjoint field
        w = y.real * y.real
        w += y.imag * y.imag
        w -= t
        w *= 2 / BATCH
        return w * y

    def forward():
        a, b = next(fresh)
        return hw.matrix(a, b) @ x

    def gradients():
        a, b = next(fresh)
        y = hw.matrix(a, b) @ x
        return mesh_gradients(hw, a, b, None, x, adjoint(y))

    def hughes():
        a, b = next(fresh)
        y = hw.matrix(a, b) @ x
        passes = [next(fresh) for _ in range(3)]  # each pass realises its own phases (phase noise)
        return hughes_gradients(hw, a, b, x, adjoint(y), pass_phases=passes)

    ops = {"ref": lambda: u_ref @ x, "build": lambda: hw.matrix(*next(fresh)), "forward": forward,
           "gradients": gradients, "hughes": hughes}
    g = adjoint(u_ref @ x)
    return ops, (lambda: column_sweep_gradients(hw, th, ph, None, x, g))


def _wdm_case(n: int, rng: np.random.Generator, rounds: int):
    """The operations at WDM wavelengths (module doc), new phases at every call."""
    lay = mesh_layout(n)
    k, w = lay.n_mzi, WDM
    cpl = lambda a: np.stack([np.stack([np.cos(a), 1j * np.sin(a)], -1),  # noqa: E731
                              np.stack([1j * np.sin(a), np.cos(a)], -1)], -2)
    arms = lambda: 0.995 * np.exp(1j * rng.uniform(-0.1, 0.1, (w, k, 2)))  # noqa: E731
    hw = MeshHardware(lay, cpl(rng.uniform(0.74, 0.83, (w, k))), cpl(rng.uniform(0.74, 0.83, (w, k))), arms(),
                      arms(), np.ones((w, n), complex), np.full((w, n), 0.98 + 0j),
                      np.full((w, lay.n_columns), 0.999, complex), wavelengths=np.linspace(1.535, 1.565, w),
                      phase_scale=np.linspace(1.01, 0.99, w))
    th, ph = rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, k)
    fresh = iter([(th + rng.normal(0, 0.01, k), ph + rng.normal(0, 0.01, k)) for _ in range(8 * (rounds + 2))])
    x = (rng.normal(size=(w, n, BATCH)) + 1j * rng.normal(size=(w, n, BATCH))) / 4
    t = rng.uniform(0, 0.2, (w, n, BATCH))
    u_ref = hw.matrix(th, ph)

    def adjoint(y):  # the single-wavelength rows' adjoint, per wavelength slice (cache-sized pieces)
        out = np.empty_like(y)
        for v in range(w):
            a = y[v].real * y[v].real
            a += y[v].imag * y[v].imag
            a -= t[v]
            a *= 2 / BATCH
            np.multiply(a, y[v], out=out[v])
        return out

    def forward():
        return np.matmul(hw.matrix(*next(fresh)), x)

    def gradients():
        a, b = next(fresh)
        return mesh_gradients(hw, a, b, None, x, adjoint(np.matmul(hw.matrix(a, b), x)))

    def hughes():
        a, b = next(fresh)
        g = adjoint(np.matmul(hw.matrix(a, b), x))
        return hughes_gradients(hw, a, b, x, g, pass_phases=[next(fresh) for _ in range(3)])

    return {"ref": lambda: np.matmul(u_ref, x), "single": lambda: u_ref[0] @ x[0],
            "build": lambda: hw.matrix(*next(fresh)), "forward": forward, "gradients": gradients, "hughes": hughes}


def _wdm_table(sizes, label: str) -> list[str]:
    rng = np.random.default_rng(1)
    rows, verdict = [], {}
    for n in sizes:
        med, ratio, spread, quiet = _measure(_wdm_case(n, rng, WDM_ROUNDS.get(n, 5)), WDM_ROUNDS.get(n, 5))
        cells = []
        for name in ("forward", "gradients", "hughes"):
            tgt = WDM_TARGETS[name]
            ok = tgt is None or ratio[name] <= tgt
            if n == 64 and tgt is not None:
                verdict[name] = ok
            cells.append(f"{med[name]:>9.1f} {ratio[name]:>6.2f}x (quiet {quiet[name]:.2f}x) "
                         + (f"<={tgt:<3g} {'met' if ok else 'NOT met':<7}" if tgt else f"{'-':<12}"))
        rows.append(f"{n:>4} {med['ref']:>9.1f} {32 * med['single']:>9.1f} {spread:>5.0%} {med['build']:>8.1f} "
                    f"{ratio['build']:>5.2f}x  " + "  ".join(cells))
    head = (f"{'N':>4} {'limit':>9} {'32xU@X':>9} {'IQR':>5} {'build U':>8} {'ratio':>6}  {'forward':>9} "
            f"{'ratio':>7} {'':<14} {'target':<12}  {'gradients':>9} {'ratio':>7} {'':<14} {'target':<12}  "
            f"{'hughes':>9} {'ratio':>7}")
    return [f"-- {label}, {WDM} wavelengths (limit = the {WDM} products U_w @ X_w, one stacked matmul, ms; "
            f"32xU@X = 32 x one product's median) --", head, *rows,
            ("verdict at N = 64: " + ", ".join(f"{k} <= {WDM_TARGETS[k]:g}x {'met' if v else 'NOT met'}"
                                               for k, v in verdict.items())) if verdict else "", ""]


def _measure(ops: dict, rounds: int) -> tuple[dict, dict, float]:
    for f in ops.values():  # warm-up
        f()
    times = {k: [] for k in ops}
    for _ in range(rounds):
        for name, f in ops.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    ref = np.array(times["ref"])
    med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    ratio = {k: float(np.median(np.array(v) / ref)) for k, v in times.items()}
    q1, q3 = np.percentile(ref, [25, 75])
    quiet = {k: float(np.percentile(v, 10) / np.percentile(ref, 10)) for k, v in times.items()}
    return med, ratio, float((q3 - q1) / np.median(ref)), quiet


def _paths() -> list[tuple[str, object]]:
    """The sweep implementations to measure: numpy, and numba where it is installed."""
    try:
        from pipeline.circuit import mesh_kernels
    except ImportError:  # an older tree without the fused kernels
        return [("as is", None)]
    out = [("numpy sweeps (numba not used)", False)]
    try:
        import numba
        out.append((f"compiled sweeps (numba {numba.__version__})", True))
    except ImportError:
        out[0] = ("numpy sweeps (numba not installed)", False)
    return out


def _set_path(flag) -> None:
    """Force the numpy (False) or compiled (True) sweeps; None: back to automatic."""
    try:
        from pipeline.circuit import mesh_kernels
    except ImportError:
        return
    mesh_kernels.USE_NUMBA = flag
    mesh_kernels._NB.clear()
    mesh_kernels._BUILDS.clear()


def _table(sizes, label: str) -> tuple[list[str], dict]:
    rng = np.random.default_rng(0)
    rows, noise, verdict = [], [], {k: True for k in TARGETS}
    for n in sizes:
        ops, sweep = _case(n, rng, ROUNDS.get(n, 10))
        med, ratio, spread, quiet = _measure(ops, ROUNDS.get(n, 10))
        sweep_ms = 1e3 * min(_timed(sweep) for _ in range(2 if n >= 64 else 3))
        noise.append(f"  N={n:<3}: U@X spread (IQR/median) {spread:.0%}; quiet-round ratios (10th percentiles) "
                     f"forward {quiet['forward']:.2f}x, gradients {quiet['gradients']:.2f}x, "
                     f"hughes {quiet['hughes']:.2f}x")
        cells = []
        for name in ("forward", "gradients", "hughes"):
            ok = ratio[name] <= TARGETS[name]
            if n == 64:
                verdict[name] &= ok
            cells.append(f"{med[name]:>9.3f} {ratio[name]:>6.2f}x <={TARGETS[name]:<4g} "
                         f"{'met' if ok else 'NOT met':<7}")
        rows.append(f"{n:>4} {med['ref']:>9.3f} {med['build']:>8.3f} {ratio['build']:>5.2f}x  "
                    + "  ".join(cells) + f" {sweep_ms:>9.1f}")
    head = (f"{'N':>4} {'U@X [ms]':>9} {'build U':>8} {'ratio':>6}  "
            f"{'forward':>9} {'ratio':>7} {'target':<6} {'':<7}  {'gradients':>9} {'ratio':>7} {'target':<6} "
            f"{'':<7}  {'hughes':>9} {'ratio':>7} {'target':<6} {'':<7} {'col.sweep':>9}")
    lines = [f"-- {label} --", head, *rows,
             "noise (the machine is shared: other jobs run on its 2 cores):", *noise,
             ("verdict at N = 64 (the issue's size): " + ", ".join(
                 f"{k} <= {v:g}x {'met' if verdict[k] else 'NOT met'}" for k, v in TARGETS.items()))
             if 64 in sizes else "(N = 64 not run: no verdict)", ""]
    return lines, verdict


def main(sizes=SIZES, wdm_sizes=WDM_SIZES) -> str:
    with threadpool_limits(1):
        blas = _blas()
        load0 = os.getloadavg()
        blocks = []
        for label, flag in _paths():
            if flag is not None:
                _set_path(flag)
            blocks += _table(sizes, label)[0]
            if wdm_sizes:
                blocks += _wdm_table(wdm_sizes, label)
        _set_path(None)
        load1 = os.getloadavg()
    lines = [__doc__.split("\n\n")[0].replace("\n", " "), "",
             f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores (shared with other "
             f"jobs), threads limited to 1 (threadpoolctl); BLAS: {blas}",
             f"batch {BATCH}, complex128; times = median over interleaved rounds [ms]; ratio = median of "
             f"per-round (op / U@X); load average {load0[0]:.1f} -> {load1[0]:.1f}", "", *blocks,
             "build U = the transfer matrix alone; col.sweep = per-sample column-by-column reference gradients "
             "(best of 2-3, ms)."]
    return "\n".join(lines)


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-wdm"]
    sizes = tuple(int(a) for a in args) or SIZES
    text = main(sizes, () if "--no-wdm" in sys.argv else tuple(n for n in WDM_SIZES if n in sizes))
    print(text)
    if sizes == SIZES:
        out = Path(__file__).resolve().parent / "results" / "mesh.txt"
        out.write_text(text + "\n")

"""Convergence of the mode solvers for 500×220 nm Si strips in SiO2 at 1.55 µm.

Prints: TE0 n_eff / n_g vs MPB resolution and Tidy3D grid; the full-vectorial coupling
length L_c = λ/(2Δn) for gaps 0.20/0.25/0.30 µm vs MPB resolution with a Richardson
extrapolation (second order, last two resolutions) and the relative change between the
last two; the classical-EIM 2D L_c for comparison; and converged_coupling_length().

    .venv/bin/python benchmarks/bench_mode_convergence.py [--quick] | tee benchmarks/results/mode_convergence.txt
"""

from __future__ import annotations

import sys
import time

from pipeline.materials import SILICA, SILICON, constant
from pipeline.modes import coupled_strips, solve_modes, strip
from pipeline.modes.coupling import (CONVERGED_MARGIN, converged_coupling_length, coupling_length,
                                     eim_coupling_length)

LAM = 1.55
QUICK = "--quick" in sys.argv
MPB_RES = (32, 48) if QUICK else (32, 48, 64, 96, 128)
TD_RES = (32, 48) if QUICK else (32, 48, 64, 96)
GAPS = (0.20, 0.25, 0.30)


def richardson(r1: float, v1: float, r2: float, v2: float, p: float = 2.0) -> float:
    w = (r2 / r1) ** p
    return (w * v2 - v1) / (w - 1)


def strip_table(solver: str, resolutions: tuple[int, ...]) -> None:
    print(f"\nTE0 of a 0.50 x 0.22 um Si strip in SiO2, lambda = {LAM} um, solver = {solver}")
    print(f"{'res px/um':>9} {'grid x,z':>13} {'n_eff':>9} {'n_g':>8} {'n_g(const n)':>12} {'TE frac':>8} {'time s':>7}")
    rows = []
    for r in resolutions:
        t0 = time.perf_counter()
        ds = solve_modes(strip(), LAM, num_modes=1, solver=solver, resolution=r)
        dc = solve_modes(strip(core=constant(SILICON, LAM), cladding=constant(SILICA, LAM)), LAM,
                         num_modes=1, solver=solver, resolution=r)
        dt = time.perf_counter() - t0
        g = ds.attrs.get("grid_resolution_xz", [r, r])
        n, ng, ngc, te = (float(x[v].values[0, 0]) for x, v in ((ds, "neff"), (ds, "ng"), (dc, "ng"), (ds, "te_fraction")))
        rows.append((r, n, ng, ngc))
        print(f"{r:>9} {g[0]:>6.1f},{g[1]:>6.1f} {n:>9.5f} {ng:>8.4f} {ngc:>12.4f} {te:>8.4f} {dt:>7.1f}", flush=True)
    (r1, n1, g1, c1), (r2, n2, g2, c2) = rows[-2], rows[-1]
    order = 2.0 if solver == "mpb" else 1.0
    print(f"{'extrap.':>9} {'(p=%g)' % order:>13} {richardson(r1, n1, r2, n2, order):>9.5f} "
          f"{richardson(r1, g1, r2, g2, order):>8.4f} {richardson(r1, c1, r2, c2, order):>12.4f}")
    print(f"{'last rel. change':>23} {abs(n2 - n1) / n2:>9.2e} {abs(g2 - g1) / g2:>8.2e} {abs(c2 - c1) / c2:>12.2e}")


def coupler_table() -> None:
    print(f"\nCoupling length L_c = lambda/(2 dn) [um], MPB, two 0.50 x 0.22 um strips, margin {CONVERGED_MARGIN} um")
    print(f"{'res px/um':>9} " + " ".join(f"{'gap %.2f' % g:>17}" for g in GAPS) + f" {'time s':>7}")
    table = {g: [] for g in GAPS}
    for r in MPB_RES:
        t0 = time.perf_counter()
        cells = []
        for g in GAPS:
            out = coupling_length(coupled_strips(0.5, 0.22, g), LAM, resolution=r, margin=CONVERGED_MARGIN)
            table[g].append((r, out["delta_n"]))
            cells.append(f"{out['coupling_length_um']:7.3f} ({out['delta_n']:.5f})")
        print(f"{r:>9} " + " ".join(f"{c:>17}" for c in cells) + f" {time.perf_counter() - t0:>7.1f}", flush=True)
    ext, change = [], []
    for g in GAPS:
        (r1, d1), (r2, d2) = table[g][-2], table[g][-1]
        dn = richardson(r1, d1, r2, d2)
        ext.append(LAM / (2 * dn))
        change.append(abs(LAM / (2 * d2) - LAM / (2 * d1)) / (LAM / (2 * d2)))
    print(f"{'extrap.':>9} " + " ".join(f"{v:>17.3f}" for v in ext))
    print(f"{'rel.chg':>9} " + " ".join(f"{v:>17.2e}" for v in change))
    eim = [eim_coupling_length(0.5, 0.22, g, LAM) for g in GAPS]
    print(f"{'EIM 2D':>9} " + " ".join(f"{v:>17.3f}" for v in eim))
    print(f"{'EIM/3D-1':>9} " + " ".join(f"{e / x - 1:>+17.1%}" for e, x in zip(eim, ext)))
    if not QUICK:
        print("\nconverged_coupling_length() defaults (MPB 64 & 96 px/um, Richardson p=2):")
        for g, best in zip(GAPS, ext):
            t0 = time.perf_counter()
            c = converged_coupling_length(0.5, 0.22, g, LAM)
            print(f"  gap {g:.2f}: L_c = {c['coupling_length_um']:.3f} um, own error estimate "
                  f"{c['error_estimate']:.1e}, vs extrapolation from 96/128: "
                  f"{abs(c['coupling_length_um'] - best) / best:.1e}  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    t_start = time.perf_counter()
    strip_table("mpb", MPB_RES)
    strip_table("tidy3d", TD_RES)
    coupler_table()
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s (2 cores)")

"""Directional-coupler coupling length: 3D mode solver (reference) vs 2D/3D FDTD.

For gaps 0.20 / 0.25 / 0.30 µm (500×220 nm Si strips in SiO2, λ = 1.55 µm) prints

* the reference: converged 3D full-vectorial MPB supermodes, L_c = λ/(2Δn), at two
  resolutions (convergence);
* 2D FDTD with the calibrated 2D material model, with bulk indices and with the
  classical effective-index method (each also as the exact 2D slab value);
* one 3D FDTD run (bulk Si/SiO2) at modest resolution, for one gap;

with relative errors vs the reference. FDTD L_c comes from two couplers whose straight
sections differ by ΔL (supermode phase difference; bends cancel), see
:mod:`pipeline.fdtd.coupling`. Usage::

    .venv/bin/python benchmarks/bench_fdtd_coupler.py [--res2d 30] [--res3d 15] [--gap3d 0.2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message="The value of the smallest subnormal")

from devices.directional_coupler import DirectionalCouplerSpec  # noqa: E402
from pipeline.cache import DeviceCache  # noqa: E402
from pipeline.fdtd import Meep2DSpec, Meep3DSpec, slab  # noqa: E402
from pipeline.fdtd.coupling import coupling_length  # noqa: E402
from pipeline.fdtd.material2d import model_2d, strip_modes_3d  # noqa: E402
from pipeline.simulate import simulate  # noqa: E402

GAPS = (0.20, 0.25, 0.30)
LAM = 1.55
W, T = 0.5, 0.22


def fdtd_lc(gap: float, spec, cache: DeviceCache, l1: float, l2: float, **geom) -> tuple[float, float]:
    """(L_c at 1.55 µm [µm], wall time [s]) from two FDTD couplers."""
    band = {"start": 1.50, "stop": 1.60, "points": 5} if isinstance(spec, Meep2DSpec) else \
        {"start": 1.50, "stop": 1.60, "points": 3}
    t0 = time.perf_counter()
    entries = []
    for length in (l1, l2):
        dev = DirectionalCouplerSpec(gap=gap, coupling_length=length, band=band, **geom)
        entries.append(simulate(dev, spec, cache=cache, timeout_s=3600)[0])
    lc = coupling_length(entries[0].smatrix, l1, entries[1].smatrix, l2)
    wl = np.asarray(entries[0].smatrix.wavelength.values)
    return float(lc[int(np.argmin(np.abs(wl - LAM)))]), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--res2d", type=int, default=30)
    ap.add_argument("--res3d", type=int, default=15)
    ap.add_argument("--gap3d", type=float, default=0.20)
    ap.add_argument("--mpb-res", type=int, nargs=2, default=(64, 96))
    args = ap.parse_args()
    t_start = time.perf_counter()
    cache = DeviceCache(tempfile.mkdtemp(prefix="bench-fdtd-"))
    lines = [f"# Directional coupler L_c [um] at {LAM} um, 500x220 nm Si strips in SiO2 (Li 1980 / Malitson 1965)"]

    ref, conv = {}, {}
    for g in GAPS:
        for r in args.mpb_res:
            m = strip_modes_3d((LAM,), W, T, g, r)
            lc = LAM / (2 * abs(m["neff_even"][0] - m["neff_odd"][0]))
            conv.setdefault(g, []).append((r, lc, m["neff"][0]))
        ref[g] = conv[g][-1][1]
    lines.append("## reference: 3D MPB supermodes, L_c = lambda / (2 dn)  (resolution px/um: L_c, single-strip n_eff)")
    for g in GAPS:
        lines.append(f"gap {g:.2f}: " + "  ".join(f"res {r}: {lc:8.3f} (n_eff {n:.5f})" for r, lc, n in conv[g]))

    rows: dict[str, dict[float, float]] = {}
    times: dict[str, float] = {}
    for name in ("calibrated", "bulk", "eim"):
        model = model_2d(name, (1.50, 1.60), W, T, gap=0.25, resolution=args.mpb_res[0])
        nc, ncl = (float(np.interp(LAM, model.wavelengths, v)) for v in (model.n_core, model.n_clad))
        rows[f"2D slab (exact), {name}"] = {g: slab.coupling_length(LAM, W, g, nc, ncl) for g in GAPS}
        spec = Meep2DSpec(resolution=args.res2d, material_model=name, calibration_resolution=args.mpb_res[0],
                          normalize_reflections=False)
        label = f"2D FDTD res {args.res2d}, {name}"
        rows[label], times[label] = {}, 0.0
        for g in GAPS:
            lc, dt = fdtd_lc(g, spec, cache, 2.0, 12.0)
            rows[label][g] = lc
            times[label] += dt
            print(f"{label} gap {g}: {lc:.3f} um ({dt:.0f} s)", flush=True)

    spec3 = Meep3DSpec(resolution=args.res3d, pml=0.8, margin=0.8, margin_z=0.6, normalize_reflections=False)
    label = f"3D FDTD res {args.res3d}, bulk Si/SiO2"
    lc3, dt3 = fdtd_lc(args.gap3d, spec3, cache, 0.0, 6.0, port_separation=1.6)
    rows[label], times[label] = {args.gap3d: lc3}, dt3
    print(f"{label} gap {args.gap3d}: {lc3:.3f} um ({dt3:.0f} s)", flush=True)

    lines.append("")
    lines.append(f"{'method':40s}" + "".join(f"{'gap ' + format(g, '.2f'):>22s}" for g in GAPS) + "   wall [s]")
    lines.append(f"{'3D MPB reference (res ' + str(args.mpb_res[1]) + ')':40s}" +
                 "".join(f"{ref[g]:12.3f}{'':10s}" for g in GAPS))
    for label, vals in rows.items():
        cells = ""
        for g in GAPS:
            if g in vals:
                cells += f"{vals[g]:12.3f} ({100 * (vals[g] / ref[g] - 1):+6.1f} %)"
            else:
                cells += f"{'-':>12s}{'':10s}"
        lines.append(f"{label:40s}{cells}   {times.get(label, 0.0):8.0f}")
    lines.append("")
    lines.append("FDTD L_c from two couplers (straight sections 2 and 12 um in 2D, 0 and 6 um in 3D), "
                 "supermode phase difference; 2D calibrated model fitted at gap 0.25 um only.")
    lines.append(f"total wall time {time.perf_counter() - t_start:.0f} s")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "fdtd_coupler.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()

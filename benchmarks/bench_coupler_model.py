"""Directional-coupler compact model: FDTD sweep, fit, accuracy vs held-out FDTD, 3D MPB sensitivities.

Runs (resumably, serially, through the cache) the default CouplerSweepSpec — nominal
500×220 nm, gap 0.2 µm (fixed pitch: gap − δw), L = 16.5 / 26.5 µm, δw ∈ {−20, 0, +20} nm,
δt ∈ {−10, 0, +10} nm, held-out (δw, δt) = (+10, −5) nm — fits the model, stores it next
to the entries (compact_models/coupler_model-*.nc) and prints: FDTD cost, fit residuals,
accuracy vs the held-out runs, L_c(δw, δt) and its sensitivities vs converged 3D MPB
supermodes of the same perturbed cross-sections, Monte-Carlo speed, library size added.

    .venv/bin/python benchmarks/bench_coupler_model.py [--cache DIR] [--no-mpb] \
        | tee benchmarks/results/coupler_model.txt
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import devices.coupler_model as cm
from pipeline.cache import DeviceCache
from pipeline.library import Library
from pipeline.fdtd.specs import Meep2DSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None, help="library root (default: PHOTOPROP_CACHE or cache/)")
    ap.add_argument("--no-mpb", action="store_true", help="skip the 3D MPB sensitivity reference")
    args = ap.parse_args()
    cache = DeviceCache(args.cache)
    sweep, solver = cm.CouplerSweepSpec(), Meep2DSpec()
    t0 = time.perf_counter()
    print(f"# coupler compact model; library {cache.root}")
    print(f"# sweep {sweep.canonical_json()}")
    print(f"# solver {solver.canonical_json()}")
    lib = Library(cache)
    entries = lib.run_sweep("coupler", sweep, solver, progress=lambda m: print("  " + m, flush=True))
    fdtd_s = sum(float(e.provenance.get("wall_time_s", 0.0)) for e in entries.values())
    size = sum(e.path.stat().st_size for e in entries.values())
    print(f"FDTD runs: {len(entries)}, solver wall time recorded in the entries {fdtd_s:.0f} s "
          f"({fdtd_s / 60:.1f} min, incl. noise-floor runs; excl. the 3D MPB calibration solves), "
          f"entry files {size / 1024:.0f} kB")

    tb = time.perf_counter()
    model = lib.fit("coupler", sweep, solver)
    path = lib.model_path("coupler", sweep, solver)
    print(f"model fitted in {time.perf_counter() - tb:.2f} s; stored {path} ({path.stat().st_size / 1024:.0f} kB)")
    ds = model.dataset
    print("\nfit RMS residual on the 3x3x11 grid (10 polynomial terms per quantity):")
    for q in cm.QUANTITIES:
        print(f"  {q:14s} {float(ds.fit_rms_residual.sel(quantity=q)):.3e}")

    acc = json.loads(ds.attrs["accuracy"])
    print("\naccuracy (max over wavelengths 1.50-1.60 um and both lengths):")
    for k, v in acc.items():
        print(f"  {k:36s} {v:.4g}")
    lam = ds.wavelength.values
    kc = int(np.argmin(np.abs(lam - 1.55)))
    print("\nheld-out points, per length: max |dkappa2| / at 1.55 um, max phase error bar / cross [rad], "
          "loss error [dB]")
    for i in range(ds.holdout_point.size):
        for j, length in enumerate(ds.length.values):
            sel = dict(holdout_point=i, length=j)
            print(f"  dw={float(ds.holdout_dw[i]):+.3f} dt={float(ds.holdout_dt[i]):+.3f} L={length:5.1f}: "
                  f"{float(ds.holdout_dkappa2[sel].max()):.4f} / {float(ds.holdout_dkappa2[sel][kc]):.4f}   "
                  f"{float(ds.holdout_phase_error_bar[sel].max()):.4f} / "
                  f"{float(ds.holdout_phase_error_cross[sel].max()):.4f}   "
                  f"{float(np.abs(ds.holdout_loss_error_db[sel]).max()):.4f}")
        print(f"    L_c model vs direct FDTD pair: max rel error {float(np.abs(ds.holdout_lc_rel_error[i]).max()):.4f}")

    print("\nL_c [um] at 1.55 um: model (direct FDTD pair on the grid)")
    print("   dw \\ dt " + "".join(f"{t:+9.3f}        " for t in sweep.dt))
    for w in sweep.dw:
        row = []
        for t in sweep.dt:
            e1, e2 = entries[("fit", w, t, sweep.coupling_lengths[0])], entries[("fit", w, t, sweep.coupling_lengths[1])]
            direct = cm.extract_pair(e1.smatrix, sweep.coupling_lengths[0], e2.smatrix, sweep.coupling_lengths[1],
                                     cm._neff_centre(e1))["lc"][kc]
            row.append(f"{float(cm.coupling_length_um(wavelength=1.55, dw=w, dt=t, model=model)):7.2f} ({direct:7.2f})")
        print(f"  {w:+.3f}  " + "  ".join(row))
    print("\nkappa2 at L = 16.5 um, 1.55 um: " + ", ".join(
        f"dw={w:+.2f}: {float(cm.power_coupling(dw=w, model=model)):.3f}" for w in sweep.dw) + "; " + ", ".join(
        f"dt={t:+.2f}: {float(cm.power_coupling(dt=t, model=model)):.3f}" for t in sweep.dt))
    print(f"excess loss at nominal 1.55 um: {float(cm.excess_loss_db(model=model)):.3f} dB")

    m = lambda w, t: float(cm.coupling_length_um(wavelength=1.55, dw=w, dt=t, model=model))  # noqa: E731
    fdtd_w = (m(0.02, 0) - m(-0.02, 0)) / 0.04
    fdtd_t = (m(0, 0.01) - m(0, -0.01)) / 0.02
    print(f"\nL_c sensitivity at 1.55 um (secant over the swept range), FDTD compact model: "
          f"dL_c/ddw = {fdtd_w:.1f} um/um (fixed pitch), dL_c/ddt = {fdtd_t:.1f} um/um")
    if not args.no_mpb:
        from pipeline.modes.coupling import converged_coupling_length

        tm = time.perf_counter()
        lc = {}
        for w, t in ((0, 0), (0.02, 0), (-0.02, 0), (0, 0.01), (0, -0.01)):
            lc[(w, t)] = converged_coupling_length(sweep.width + w, sweep.thickness + t, sweep.gap - w)["coupling_length_um"]
            print(f"  3D MPB (converged 64/96 px/um) w={sweep.width + w:.3f} t={sweep.thickness + t:.3f} "
                  f"gap={sweep.gap - w:.3f}: L_c = {lc[(w, t)]:.2f} um  (model {m(w, t):.2f})", flush=True)
        mpb_w = (lc[(0.02, 0)] - lc[(-0.02, 0)]) / 0.04
        mpb_t = (lc[(0, 0.01)] - lc[(0, -0.01)]) / 0.02
        print(f"  3D MPB: dL_c/ddw = {mpb_w:.1f} um/um, dL_c/ddt = {mpb_t:.1f} um/um; "
              f"model/MPB = {fdtd_w / mpb_w:.3f} (width), {fdtd_t / mpb_t:.3f} (thickness); "
              f"MPB wall {time.perf_counter() - tm:.0f} s")
    # where a disagreement comes from: exact 2D slab supermodes with each entry's calibrated indices
    # (the 2D material model without the FDTD grid) vs the FDTD pair on the same geometry
    from pipeline.fdtd import slab

    print("\nL_c at 1.55 um [um]: exact 2D slab modes with the entry's calibrated (n_core, n_clad) | direct FDTD pair")
    exact = {}
    for w, t in ((-0.02, 0), (0, 0), (0.02, 0), (0, -0.01), (0, 0.01)):
        e1, e2 = (entries[("fit", w, t, length)] for length in sweep.coupling_lengths)
        mm = e1.provenance["material_model"]
        nc, nb = (float(np.interp(1.55, mm["wavelengths_um"], mm[k])) for k in ("n_core", "n_clad"))
        exact[(w, t)] = slab.coupling_length(1.55, sweep.width + w, sweep.gap - w, nc, nb)
        direct = cm.extract_pair(e1.smatrix, sweep.coupling_lengths[0], e2.smatrix, sweep.coupling_lengths[1],
                                 cm._neff_centre(e1))["lc"][kc]
        print(f"  dw={w:+.2f} dt={t:+.2f}: n_core {nc:.4f} n_clad {nb:.4f}  slab {exact[(w, t)]:.2f} | FDTD {direct:.2f} "
              f"({direct / exact[(w, t)] - 1:+.1%})")
    print(f"  exact 2D slab: dL_c/ddw = {(exact[(0.02, 0)] - exact[(-0.02, 0)]) / 0.04:.1f} um/um, "
          f"dL_c/ddt = {(exact[(0, 0.01)] - exact[(0, -0.01)]) / 0.02:.1f} um/um")

    rng = np.random.default_rng(0)
    for n in (10_000, 1_000_000):
        dw, dt = rng.uniform(-0.02, 0.02, n), rng.uniform(-0.01, 0.01, n)
        tp = time.perf_counter()
        cm.power_coupling(wavelength=1.55, dw=dw, dt=dt, model=model)
        print(f"\npower_coupling, {n} couplers: {1e3 * (time.perf_counter() - tp):.1f} ms", end="")
    tp = time.perf_counter()
    cm.coupler(wavelength=lam, dw=rng.uniform(-0.02, 0.02, 1000), dt=0.0, model=model)
    print(f"\ncoupler() S-matrix DataArray, 1000 instances x 11 wavelengths: {1e3 * (time.perf_counter() - tp):.1f} ms")
    print(f"total wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

"""Microring figures of merit beside the Bogaerts et al. (2012) closed forms.

    python benchmarks/bench_ring_modulator.py [--cache DIR] [--radius 7.5] [--resolution 30]

Runs (or reads) the coupler FDTD through the cache, composes the ring with the waveguide
model (and the PN section when the pn_phase_shifter entry is in the library) and writes the
table to benchmarks/results/ring_modulator.txt."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import devices.ring_modulator as rm
from pipeline.cache import DeviceCache


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None)
    ap.add_argument("--radius", type=float, default=7.5)
    ap.add_argument("--resolution", type=int, default=30)
    ap.add_argument("--calibration-resolution", type=int, default=64)
    ap.add_argument("--points", type=int, default=11)
    ap.add_argument("--span", type=float, default=0.02)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ring_modulator.txt"))
    a = ap.parse_args()
    lib = DeviceCache(a.cache) if a.cache else DeviceCache()
    over: dict = {}  # only what differs from the default spec (defaults: the shipped entry)
    d = rm.RingModulatorSpec()
    if a.radius != d.radius:
        over["radius"] = a.radius
    if a.points != d.band.points:
        over["band"] = {"start": d.band.start, "stop": d.band.stop, "points": a.points}
    if a.span != d.spectrum_span:
        over.update(spectrum_span=a.span, spectrum_points=int(a.span / 5e-6) + 1)
    spec = rm.RingModulatorSpec(**over)
    t0 = time.time()
    entry, _ = rm.simulate(spec, rm.RingCircuitSpec(resolution=a.resolution,
                                                    calibration_resolution=a.calibration_resolution), cache=lib)
    f = rm.figures_of_merit(entry)
    rows = [("FSR [nm]", f["fsr_nm"], f["reference_fsr_nm"], "lambda1 lambda2/(n_g L)"),
            ("loaded Q", f["q_loaded"], f["reference_q_loaded"], "pi n_g L sqrt(ra)/(lambda(1-ra))"),
            ("extinction [dB]", f["extinction_db"], f["reference_extinction_db"], "T_max/T_min"),
            ("pm/K", f["pm_per_K"], f["reference_pm_per_K"], "lambda dn_eff/dT / n_g"),
            ("pm/V", f["pm_per_V"], f.get("reference_pm_per_V"),
             f"lambda f dn_eff(V)/n_g, fit over {f.get('voltages_V')} V (PN entry)")]
    lines = [f"# ring_modulator R = {a.radius} um, gap {spec.gap} um, coupler FDTD {a.resolution} px/um "
             f"(calibration {a.calibration_resolution}), {time.time() - t0:.0f} s",
             f"# resonance {f['resonance_um']:.5f} um, t = {f['self_coupling_t']:.5f}, ra-loop a = "
             f"{f['round_trip_amplitude']:.5f}, n_g = {f['ng']:.4f}, coupler loss {f['coupler_loss']:.2e}",
             f"# checks passed {entry.checks.get('passed')}, coupler reciprocity |S42|/|S31| - 1 = "
             f"{entry.checks.get('reciprocity_ratio_error', float('nan')):.2e} (recorded, not applied)",
             f"{'quantity':<16s} {'composed':>12s} {'closed form':>12s}  reference"]
    for name, got, ref, how in rows:
        g = "n/a" if got is None else f"{got:.5g}"
        r = "n/a" if ref is None else f"{ref:.5g}"
        lines.append(f"{name:<16s} {g:>12s} {r:>12s}  {how}")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(a.out).write_text(text)


if __name__ == "__main__":
    main()

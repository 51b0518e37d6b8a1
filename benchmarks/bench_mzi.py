"""Composed MZI (cached FDTD couplers + exact-slab arms) vs an FDTD run of the whole MZI.

For arm phase differences 0, π/2, π (heated-section Δn from the exact 2D slab modes of the
couplers' calibrated media, :func:`pipeline.circuit.mzi.delta_n_for_phase`) prints, per
phase: Δn and the equivalent Si ΔT, the FDTD wall time, cross/bar |S|² from o1 at the
centre wavelength (FDTD and composed), the largest |Δ|S|²| over the band and the 8
transmission entries, the extinction at the centre and the relative phase
arg(S[o3,o1] / S[o4,o1]); then |S[o3,o1]|² over the band. Writes
benchmarks/results/mzi.txt. The whole-MZI entries go to ``--cache`` (default: a new
temporary folder), never into the shipped library. Usage::

    .venv/bin/python benchmarks/bench_mzi.py [--cache DIR]
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

from devices.mzi import MZISpec  # noqa: E402
from pipeline.cache import DeviceCache  # noqa: E402
from pipeline.circuit.mzi import compose_mzi_from_cache, delta_n_for_phase, entry_indices  # noqa: E402
from pipeline.fdtd import Meep2DSpec  # noqa: E402
from pipeline.simulate import simulate  # noqa: E402

PHASES = (0.0, 0.5, 1.0)  # in units of π
TRANSMISSIONS = [(o, i) for i in ("o1", "o2", "o3", "o4") for o in ("o1", "o2", "o3", "o4")
                 if (i in ("o1", "o2")) != (o in ("o1", "o2"))]


def power(s, o: str, i: str) -> np.ndarray:
    return np.abs(s.sel(port_out=o, port_in=i).values) ** 2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=None, help="folder for the whole-MZI entries")
    args = ap.parse_args()
    root = args.cache if args.cache is not None else Path(tempfile.mkdtemp(prefix="bench-mzi-"))
    solver = Meep2DSpec()
    base = MZISpec()
    shipped = DeviceCache()  # the couplers: read only
    _, coupler = compose_mzi_from_cache(base, solver, shipped)
    wl = np.asarray(coupler.smatrix.wavelength.values)
    k = int(np.argmin(np.abs(wl - base.band.center)))
    n_core, n_clad, _ = entry_indices(coupler)
    lines = [
        "# Whole-MZI 2D FDTD vs composed MZI (2 cached FDTD 3-dB couplers + exact-slab arms)",
        f"# coupler {coupler.key[:12]} (gap {base.gap} um, L {base.coupling_length} um), arms {base.arm_length} um, "
        f"heated {base.heated_length} um, Meep2DSpec resolution {solver.resolution}, band {wl[0]}-{wl[-1]} um",
        f"# 2D media of the coupler entry: n_core {n_core[k]:.5f}, n_clad {n_clad[k]:.5f}",
        "phase/pi  delta_n  dT_equiv[K]  wall[s]  cross_fdtd cross_comp  bar_fdtd bar_comp  "
        "max|d|S|^2|  ext_fdtd[dB] ext_comp[dB]  arg(S31/S41)_fdtd comp [rad]",
    ]
    band_rows = []
    for ph in PHASES:
        dn = round(delta_n_for_phase(ph * np.pi, float(wl[k]), base.width, float(n_core[k]), float(n_clad[k]),
                                     base.heated_length), 5)
        spec = base.model_copy(update={"delta_n_core": dn})
        spec = MZISpec(**spec.model_dump())
        t0 = time.perf_counter()
        entry, cached = simulate(spec, solver, cache=DeviceCache(root))
        wall = time.perf_counter() - t0 if not cached else float(entry.provenance.get("wall_time_s", float("nan")))
        composed, _ = compose_mzi_from_cache(spec, solver, shipped)
        f, c = entry.smatrix, composed
        dmax = max(float(np.max(np.abs(power(f, o, i) - power(c, o, i)))) for o, i in TRANSMISSIONS)
        cf, cc, bf, bc = (float(power(s, o, "o1")[k]) for s, o in ((f, "o3"), (c, "o3"), (f, "o4"), (c, "o4")))
        ext_f = 10 * np.log10(max(cf, bf) / min(cf, bf))
        ext_c = 10 * np.log10(max(cc, bc) / min(cc, bc))
        rel = [float(np.angle(s.sel(port_out="o3", port_in="o1").values[k] / s.sel(port_out="o4", port_in="o1").values[k]))
               for s in (f, c)]
        lines.append(f"{ph:8.2f}  {dn:7.5f}  {spec.equivalent_delta_t_k:10.0f}  {wall:7.0f}  {cf:10.4f} {cc:10.4f}  "
                     f"{bf:8.4f} {bc:8.4f}  {dmax:11.4f}  {ext_f:12.1f} {ext_c:12.1f}  {rel[0]:+8.3f} {rel[1]:+8.3f}")
        band_rows.append((ph, power(f, "o3", "o1"), power(c, "o3", "o1")))
    lines.append("## |S[o3,o1]|^2 (cross) over the band: FDTD / composed")
    lines.append("phase/pi  " + " ".join(f"{w:11.3f}" for w in wl))
    for ph, a, b in band_rows:
        lines.append(f"{ph:8.2f}  " + " ".join(f"{x:.3f}/{y:.3f}" for x, y in zip(a, b)))
    lines.append("# command: .venv/bin/python benchmarks/bench_mzi.py  (whole-MZI entries in a temporary cache)")
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).resolve().parent / "results" / "mzi.txt"
    out.write_text(text + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()

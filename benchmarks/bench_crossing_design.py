"""Crossing design space in the 2D calibrated model: insertion loss vs taper width and length.

Each design is a :class:`devices.crossing.CrossingSpec` (parabolic tapers, arm length =
taper length + taper width / 2 + ~0.3 µm) simulated with the 2D calibrated Meep engine at
20 px/µm (the library crossing, 1.6 µm / 4 µm, is 0.75 dB here and 0.77 dB at the library's
30 px/µm).  Also printed: a Gaussian-beam estimate of the centre's diffraction loss, the
power a beam of waist w0 = taper_width/2 (in the 2D core index) keeps after crossing the
unguided centre of length taper_width, η = 1 / (1 + (L / 2 z_R)²), z_R = π w0² n / λ — a
lower bound: the FDTD loss above it is the tapers' mode conversion and scattering, which
longer (more adiabatic) tapers reduce (0.75 → 0.40 dB from 4 to 12 µm).

    .venv/bin/python benchmarks/bench_crossing_design.py | tee benchmarks/results/crossing_design.txt
"""

from __future__ import annotations

import math
import tempfile
import time

from devices.crossing import CrossingSpec, figures_of_merit
from pipeline.cache import DeviceCache
from pipeline.fdtd import Meep2DSpec
from pipeline.simulate import simulate

#: (taper width, taper length, arm length) [µm]
DESIGNS = [(1.2, 4.0, 5.0), (1.6, 4.0, 5.0), (2.0, 4.0, 5.5), (1.2, 6.0, 7.0), (1.6, 6.0, 7.0),
           (2.0, 6.0, 7.5), (1.6, 9.0, 10.0), (2.0, 9.0, 10.5), (2.4, 9.0, 10.5), (2.4, 12.0, 13.5),
           (3.0, 12.0, 14.0)]


def centre_diffraction_db(taper_width: float, n_core: float, wavelength: float = 1.55) -> float:
    """Gaussian-beam loss [dB] across an unguided centre of length ``taper_width`` [µm]."""
    w0 = taper_width / 2
    z_r = math.pi * w0**2 * n_core / wavelength
    return 10 * math.log10(1 + (taper_width / (2 * z_r)) ** 2)


def main() -> None:
    t0 = time.perf_counter()
    solver = Meep2DSpec(resolution=20)
    print(f"crossing designs, 2D calibrated Meep, {solver.resolution} px/um, 1.55 um (worst over 1.50-1.60 um)")
    print(f"{'taper w':>8s} {'taper L':>8s} {'arm':>6s} {'IL [dB]':>8s} {'IL max':>7s} {'XT [dB]':>8s} "
          f"{'R [dB]':>7s} {'beam est.':>9s} {'wall [s]':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        lib = DeviceCache(tmp)
        for tw, tl, al in DESIGNS:
            t = time.perf_counter()
            entry, _ = simulate(CrossingSpec(taper_width=tw, taper_length=tl, arm_length=al), solver,
                                cache=lib, timeout_s=3600)
            f = figures_of_merit(entry)
            n_core = math.sqrt(entry.provenance["material_model"]["core_medium"]["eps_inf"])
            print(f"{tw:8.1f} {tl:8.1f} {al:6.1f} {f['insertion_loss_db']:8.3f} {f['insertion_loss_max_db']:7.3f} "
                  f"{f['crosstalk_db']:8.1f} {f['reflection_db']:7.1f} {centre_diffraction_db(tw, n_core):9.2f} "
                  f"{time.perf_counter() - t:8.0f}", flush=True)
    print(f"total wall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

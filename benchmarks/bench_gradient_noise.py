"""In-situ gradient quality of the attenuator die vs optical power, with and without each of
the die's calibrations.

Part 1.  For one realistic die (seed 1) and a fixed batch, the cosine similarity between the
noisy in-situ gradient (``die.insitu_gradient``) and the true gradient of that die's
noise-free loss (central finite differences of ``die.true_loss`` on the same die with DAC,
phase noise, detector noise and RIN off, programmed through the noisy die's measured Ĉ),
mean ± std over repeats, with and without gain calibration
(``AttenuatorSpec.gain_calibration``) and thermal-crosstalk calibration
(``AttenuatorSpec.crosstalk_calibration``, :mod:`pipeline.chip.crosstalk_calibration`;
without it the in-situ slope of a heater misses its neighbours' phases: a bias no power
removes), with the lab calibration (``lab``: per-MZI arm offsets and heater efficiencies from
heater sweeps, :mod:`pipeline.chip.phase_calibration`, + crosstalk + gains + per-MZI weight
scale; the reference twin is programmed through the noisy die's estimates), and with thermal
crosstalk off.  What each calibration does to *training* over many dies, with intervals:
benchmarks/bench_training.py.

    .venv/bin/python benchmarks/bench_gradient_noise.py   → benchmarks/results/gradient_noise.txt
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import impairments


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity; NaN where a gradient is exactly 0 (hidden neurons dead at these weights)."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else float("nan")


def true_gradient(die, p: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    g = np.zeros_like(p)
    for k in range(p.size):
        e = np.zeros_like(p)
        e[k] = 1e-6
        g[k] = (die.true_loss(p + e, x, t) - die.true_loss(p - e, x, t)) / 2e-6
    return g


def gradient_noise(seed: int = 1, batch: int = 256, repeats: int = 10) -> list[str]:
    rng = np.random.default_rng(0)
    p = AttenuatorArchitecture().init_params(rng)
    x = rng.uniform(0, 1, (batch, 2))
    t = np.where(x[:, :1] + x[:, 1:] > 1, 0.8, 0.2)
    quiet = dict(dac_bits=0, phase_noise=0, detector_noise=False, laser_rin=None)
    # (gain calibration, crosstalk calibration, impairment knobs)
    cases = {"lab": (True, True, {}), "cal_xcal": (True, True, {}), "cal_noxcal": (True, False, {}),
             "nocal_xcal": (False, True, {}), "nocal_noxcal": (False, False, {}),
             "cal_xcal_noxtalk": (True, True, {"thermal_crosstalk_scale": 0})}
    refs = {}
    for name, (cal, xcal, knobs) in cases.items():
        arch = AttenuatorArchitecture(gain_calibration=cal, crosstalk_calibration=xcal, phase_calibration=name == "lab")
        refs[name] = (arch, arch.sample_die(impairments("realistic", **quiet, **knobs), seed))
    arch, ref = refs["cal_xcal"]
    xcal_reads = ref.calibration_measurements - refs["cal_noxcal"][1].calibration_measurements
    lines = [f"attenuator die seed {seed}, batch {batch}, {repeats} repeats; realistic impairments; "
             "data-aware init (rng 0)",
             f"forward path loss {ref.loss_forward_db.min():.2f}-{ref.loss_forward_db.max():.2f} dB; "
             f"responsivity {ref.det.responsivity:.3f} A/W; calibration readings {ref.calibration_measurements} "
             f"(crosstalk {xcal_reads})",
             "cos(ideal-model gradient, die's true gradient) = " + ", ".join(
                 f"{cosine(arch.ideal_loss_and_grad(p, x, t)[1], true_gradient(refs[k][1], p, x, t)):.4f} ({k})"
                 for k in ("lab", "cal_xcal", "cal_noxcal")),
             "cos(in-situ, die's true gradient): mean +- std over repeats; lab = phase + crosstalk + gain "
             "calibration, cal = gain calibration, xcal = crosstalk calibration, noxtalk = thermal_crosstalk_scale 0; "
             "nan: a gradient is exactly 0 (without the phase calibration the arm offsets leave hidden neurons dead "
             "at these weights)",
             "optical_power_uW  " + "  ".join(f"{k:>20s}" for k in cases) + "  readings_per_gradient"
             "  max|C^-C|_at_cal_xcal"]
    for power in (0.3e-6, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3):
        row = []
        for name, (cal, xcal, knobs) in cases.items():
            a, r = refs[name]
            die = a.sample_die(impairments("realistic", optical_power=power, **knobs), seed)
            if name == "lab":  # the die's loss is that of its own programming, through its estimates
                r.set_phase_estimate(die.offset_measured, die.efficiency_measured)
                r.weight_scale = die.weight_scale.copy()
            if xcal:
                r.set_crosstalk_estimate(die.crosstalk_measured)
            if name == "cal_xcal":
                c_err = float(np.max(np.abs(die.crosstalk_measured - die.heater_response())))
            g_ref = true_gradient(r, p, x, t)
            die.program(p)
            cs = []
            for _ in range(repeats):
                m0 = die.measurements
                cs.append(cosine(die.insitu_gradient(x, t)[1], g_ref))
                reads = die.measurements - m0
            row.append(f"{np.mean(cs):11.4f} +- {np.std(cs):6.4f}")
        lines.append(f"{power * 1e6:16.1f}  " + "  ".join(row) + f"  {reads:21d}  {c_err:.2e}")
    die = arch.sample_die("realistic", seed)
    die.program(p)
    t0 = time.perf_counter()
    for _ in range(50):
        die.infer(x)
    t_fwd = (time.perf_counter() - t0) / 50
    t0 = time.perf_counter()
    for _ in range(20):
        die.insitu_gradient(x, t)
    t_grad = (time.perf_counter() - t0) / 20
    t0 = time.perf_counter()
    AttenuatorArchitecture().sample_die("realistic", seed)
    lines.append(f"wall: infer {t_fwd * 1e3:.2f} ms, insitu_gradient {t_grad * 1e3:.2f} ms (batch {batch}), "
                 f"sample_die incl. calibration {(time.perf_counter() - t0) * 1e3:.0f} ms")
    return lines


if __name__ == "__main__":
    out = Path(__file__).parent / "results" / "gradient_noise.txt"
    text = "\n".join(gradient_noise())
    print(text)
    out.write_text(text + "\n")

"""In-situ gradient quality of the attenuator die vs optical power, and what the die's gain
calibration does to training.

Part 1.  For one realistic die (seed 1) and a fixed batch, the cosine similarity between the
noisy in-situ gradient (``die.insitu_gradient``) and the true gradient of that die's
noise-free loss (central finite differences of ``die.true_loss`` on the same die with DAC,
phase noise, detector noise and RIN off, programmed through the noisy die's measured Ĉ),
mean ± std over repeats, with and without gain calibration
(``AttenuatorSpec.gain_calibration``) and thermal-crosstalk calibration
(``AttenuatorSpec.crosstalk_calibration``, :mod:`pipeline.chip.crosstalk_calibration`;
without it the in-situ slope of a heater misses its neighbours' phases: a bias no power
removes), and with thermal crosstalk off.

Part 2.  Test accuracy of ``ideal``, ``offline`` and ``insitu`` (with / without gain
calibration, with / without crosstalk calibration) on moons and circles, realistic dies 0–5,
``TrainConfig(epochs=60, learning_rate=0.03, batch_size=10)``; the table quoted in
:mod:`pipeline.chip.attenuator`.  ~4 min on 2 cores.

    .venv/bin/python benchmarks/bench_gradient_noise.py   → benchmarks/results/gradient_noise.txt
    .venv/bin/python benchmarks/bench_gradient_noise.py --gradient-only   (part 1; the stored
        part 2 is kept)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import impairments


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


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
    cases = {"cal_xcal": (True, True, {}), "cal_noxcal": (True, False, {}),
             "nocal_xcal": (False, True, {}), "nocal_noxcal": (False, False, {}),
             "cal_xcal_noxtalk": (True, True, {"thermal_crosstalk_scale": 0})}
    refs = {}
    for name, (cal, xcal, knobs) in cases.items():
        arch = AttenuatorArchitecture(gain_calibration=cal, crosstalk_calibration=xcal)
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
                 for k in ("cal_xcal", "cal_noxcal")),
             "cos(in-situ, die's true gradient): mean +- std over repeats; cal = gain calibration, "
             "xcal = crosstalk calibration, noxtalk = thermal_crosstalk_scale 0",
             "optical_power_uW  " + "  ".join(f"{k:>20s}" for k in cases) + "  readings_per_gradient"
             "  max|C^-C|_at_cal_xcal"]
    for power in (0.3e-6, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3):
        row = []
        for name, (cal, xcal, knobs) in cases.items():
            a, r = refs[name]
            die = a.sample_die(impairments("realistic", optical_power=power, **knobs), seed)
            if xcal:  # the die's loss is that of its own programming, through its measured Ĉ
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


def calibration_table(datasets: tuple[str, ...] = ("moons", "circles"), seeds: range = range(6)) -> list[str]:
    from pipeline.training import run
    from pipeline.training.algorithms import TrainConfig

    cfg = TrainConfig(epochs=60, learning_rate=0.03, batch_size=10)
    # die settings (gain calibration, crosstalk calibration) → algorithms trained on that die
    dies = {(True, True): ("offline", "insitu"), (True, False): ("offline", "insitu"),
            (False, True): ("insitu",), (False, False): ("insitu",)}
    tag = {True: "", False: "no"}
    cols = ["ideal"] + [f"{a}_{tag[c]}cal_{tag[x]}xcal" for (c, x), algs in dies.items() for a in algs]
    lines = ["", "test accuracy, realistic dies, TrainConfig(epochs=60, learning_rate=0.03, batch_size=10); "
             "cal = gain, xcal = crosstalk calibration; offline = ideal-model weights programmed on the die",
             "dataset   die  " + "  ".join(f"{k:>18s}" for k in cols)]
    for ds in datasets:
        acc = []
        for seed in seeds:
            row = []
            for (cal, xcal), algs in dies.items():
                res = run.train(ds, "attenuator", ",".join((("ideal",) if not row else ()) + algs), "realistic",
                                seed=seed, config=cfg, plots_wanted=False,
                                arch_options={"gain_calibration": cal, "crosstalk_calibration": xcal})
                row += [res["runs"][a].metrics["test_accuracy"][-1] for a in (("ideal",) if not row else ()) + algs]
            acc.append(row)
            lines.append(f"{ds:8s}  {seed:3d}  " + "  ".join(f"{v:18.3f}" for v in row))
        m, s = np.mean(acc, 0), np.std(acc, 0)
        lines.append(f"{ds:8s} mean  " + "  ".join(f"{f'{a:.3f}+-{b:.3f}':>18s}" for a, b in zip(m, s)))
    return lines


if __name__ == "__main__":
    out = Path(__file__).parent / "results" / "gradient_noise.txt"
    if "--gradient-only" in sys.argv:  # keep the stored training table
        stored = out.read_text().split("\n\ntest accuracy", 1)
        rest = ["", "test accuracy" + stored[1].rstrip("\n")] if len(stored) == 2 else []
    else:
        rest = calibration_table()
    text = "\n".join(gradient_noise() + rest)
    print(text)
    out.write_text(text + "\n")

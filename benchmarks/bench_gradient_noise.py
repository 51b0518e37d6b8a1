"""In-situ gradient quality of the attenuator die vs optical power, and what the die's gain
calibration does to training.

Part 1.  For one realistic die (seed 1) and a fixed batch, the cosine similarity between the
noisy in-situ gradient (``die.insitu_gradient``) and the true gradient of that die's
noise-free loss (central finite differences of ``die.true_loss`` on the same die with DAC,
phase noise, detector noise and RIN off), mean ± std over repeats, with and without gain
calibration (``AttenuatorSpec.gain_calibration``), and with thermal crosstalk off (the
in-situ slope of a heater misses its neighbours' phases: a bias no power removes).

Part 2.  Test accuracy of ``ideal`` and ``insitu`` (with / without gain calibration) on
moons and circles, realistic dies 0–5, ``TrainConfig(epochs=60, learning_rate=0.03,
batch_size=10)``; the table quoted in :mod:`pipeline.chip.attenuator`.

    .venv/bin/python benchmarks/bench_gradient_noise.py   → benchmarks/results/gradient_noise.txt
"""

from __future__ import annotations

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
    cases = {"cal": (True, {}), "nocal": (False, {}), "cal_noxtalk": (True, {"thermal_crosstalk_scale": 0})}
    refs = {}
    for name, (cal, knobs) in cases.items():
        arch = AttenuatorArchitecture(gain_calibration=cal)
        ref = arch.sample_die(impairments("realistic", **quiet, **knobs), seed)
        refs[name] = (arch, true_gradient(ref, p, x, t), ref)
    arch, g_true, ref = refs["cal"]
    lines = [f"attenuator die seed {seed}, batch {batch}, {repeats} repeats; realistic impairments; "
             "data-aware init (rng 0)",
             f"forward path loss {ref.loss_forward_db.min():.2f}-{ref.loss_forward_db.max():.2f} dB; "
             f"responsivity {ref.det.responsivity:.3f} A/W; calibration readings {ref.calibration_measurements}",
             f"cos(ideal-model gradient, die's true gradient) = "
             f"{cosine(arch.ideal_loss_and_grad(p, x, t)[1], g_true):.4f}",
             "cos(in-situ, die's true gradient): mean +- std over repeats",
             "optical_power_uW  " + "  ".join(f"{k:>20s}" for k in cases) + "  readings_per_gradient"]
    for power in (0.3e-6, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3):
        row = []
        for name, (cal, knobs) in cases.items():
            a, g_ref, _ = refs[name]
            die = a.sample_die(impairments("realistic", optical_power=power, **knobs), seed)
            die.program(p)
            cs = []
            for _ in range(repeats):
                m0 = die.measurements
                cs.append(cosine(die.insitu_gradient(x, t)[1], g_ref))
                reads = die.measurements - m0
            row.append(f"{np.mean(cs):11.4f} +- {np.std(cs):6.4f}")
        lines.append(f"{power * 1e6:16.1f}  " + "  ".join(row) + f"  {reads}")
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
    lines = ["", "test accuracy, realistic dies, TrainConfig(epochs=60, learning_rate=0.03, batch_size=10)",
             "dataset   die  ideal  insitu_calibrated  insitu_uncalibrated"]
    for ds in datasets:
        acc = []
        for seed in seeds:
            on = run.train(ds, "attenuator", "ideal,insitu", "realistic", seed=seed, config=cfg, plots_wanted=False)
            off = run.train(ds, "attenuator", "insitu", "realistic", seed=seed, config=cfg, plots_wanted=False,
                            arch_options={"gain_calibration": False})
            acc.append([on["runs"]["ideal"].metrics["test_accuracy"][-1],
                        on["runs"]["insitu"].metrics["test_accuracy"][-1],
                        off["runs"]["insitu"].metrics["test_accuracy"][-1]])
            lines.append(f"{ds:8s}  {seed:3d}  " + "  ".join(f"{v:5.3f}" for v in acc[-1]))
        m, s = np.mean(acc, 0), np.std(acc, 0)
        lines.append(f"{ds:8s} mean  " + "  ".join(f"{a:.3f}+-{b:.3f}" for a, b in zip(m, s)))
    return lines


if __name__ == "__main__":
    text = "\n".join(gradient_noise() + calibration_table())
    print(text)
    out = Path(__file__).parent / "results" / "gradient_noise.txt"
    out.write_text(text + "\n")

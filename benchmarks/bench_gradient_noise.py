"""In-situ gradient quality of the attenuator die vs optical power per input channel.

For one realistic die (seed 1) and a fixed batch, the cosine similarity between the noisy
in-situ gradient (``die.insitu_gradient``) and the true gradient of that die's noise-free
loss (central finite differences of ``die.true_loss`` on the same die with DAC, phase noise,
detector noise and RIN off), mean ± std over repeats; plus the ideal model's gradient as a
second reference and the forward/in-situ wall times.

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


def main(seed: int = 1, batch: int = 256, repeats: int = 10) -> str:
    arch = AttenuatorArchitecture()
    rng = np.random.default_rng(0)
    p = arch.init_params(rng)
    x = rng.uniform(0, 1, (batch, arch.n_in))
    t = (x[:, :1] + x[:, 1:] > 1).astype(float)
    ref = arch.sample_die(impairments("realistic", dac_bits=0, phase_noise=0, detector_noise=False,
                                      laser_rin=None), seed)
    g_true = np.zeros_like(p)
    for k in range(p.size):
        e = np.zeros_like(p)
        e[k] = 1e-6
        g_true[k] = (ref.true_loss(p + e, x, t) - ref.true_loss(p - e, x, t)) / 2e-6
    g_ideal = arch.ideal_loss_and_grad(p, x, t)[1]
    lines = [f"attenuator die seed {seed}, batch {batch}, {repeats} repeats; realistic impairments",
             f"forward path loss {ref.loss_forward_db.min():.2f}-{ref.loss_forward_db.max():.2f} dB "
             f"(fan-out crossings 0-{int(ref.crossings.max())} per path, "
             f"{ref.crossing_figures.insertion_loss_db:.2f} dB each); responsivity {ref.det.responsivity:.3f} A/W",
             f"cos(ideal-model gradient, die's true gradient) = {cosine(g_ideal, g_true):.4f}",
             "optical_power_uW  cos_mean  cos_std  readings_per_gradient"]
    for power in (0.3e-6, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3):
        die = arch.sample_die(impairments("realistic", optical_power=power), seed)
        die.program(p)
        cs = []
        for _ in range(repeats):
            m0 = die.measurements
            cs.append(cosine(die.insitu_gradient(x, t)[1], g_true))
            reads = die.measurements - m0
        lines.append(f"{power * 1e6:16.1f}  {np.mean(cs):8.4f}  {np.std(cs):7.4f}  {reads}")
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
    lines.append(f"wall: infer {t_fwd * 1e3:.2f} ms, insitu_gradient {t_grad * 1e3:.2f} ms (batch {batch})")
    return "\n".join(lines)


if __name__ == "__main__":
    text = main()
    print(text)
    out = Path(__file__).parent / "results" / "gradient_noise.txt"
    out.write_text(text + "\n")

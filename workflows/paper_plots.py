"""Plots of the main job: decision boundaries, training curves, accuracy vs impairment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline.training.plots import pyplot, save

COLORS = {"ideal": "tab:green", "ideal-best": "tab:olive", "offline": "tab:red", "offline-calibrated": "tab:orange",
          "insitu": "tab:blue", "forward-only": "tab:purple"}
#: Per-die seeds (coordinates along ``seed`` in results.nc) that the dataset loader takes.
_DATA_SEEDS = ("split_seed", "data_seed")


def _at_base(res: xr.Dataset, doc: dict[str, Any]) -> xr.Dataset:
    from pipeline.chip.impairments import impairments

    knob = doc["sweep"]["knob"]
    if knob in res.dims:
        return res.sel({knob: getattr(impairments(doc["study"].get("preset", "realistic")), knob)})
    return res


def decision_boundaries(res: xr.Dataset, doc: dict[str, Any], path: Path, seed: int | None = None) -> Path:
    """Predicted class over the scaled input plane for each dataset × algorithm (one die), with
    the test points of the dataset."""
    from pipeline.training.datasets import load

    plt = pyplot()
    base = _at_base(res, doc)
    seed = int(base.seed.values[0]) if seed is None else seed
    algs = [str(a) for a in base.algorithm.values]
    datasets = [str(d) for d in base.dataset.values]
    fig, axes = plt.subplots(len(datasets), len(algs), figsize=(3.2 * len(algs), 3.0 * len(datasets)),
                             squeeze=False)
    n_samples = int(doc["study"].get("n_samples", 300))
    die_data = {k: int(base[k].sel(seed=seed)) for k in _DATA_SEEDS if k in base.coords}  # the die's own split
    for i, d in enumerate(datasets):
        data = load(d, n_samples=n_samples, **die_data)
        for j, a in enumerate(algs):
            ax = axes[i, j]
            b = base["boundary"].sel(dataset=d, seed=seed, algorithm=a)
            ax.imshow(b.values.T, origin="lower", extent=(0, 1, 0, 1), cmap="coolwarm", alpha=0.35,
                      vmin=0, vmax=max(1, len(data.classes) - 1), interpolation="nearest")
            ax.scatter(data.x_test[:, 0], data.x_test[:, 1], c=data.labels_test, cmap="coolwarm", s=9,
                       edgecolors="k", linewidths=0.3)
            acc = float(base["final_test_accuracy"].sel(dataset=d, seed=seed, algorithm=a))
            ax.set_title(f"{d} · {a} · {100 * acc:.1f} %", fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
    return save(fig, path, f"decision boundaries on die {seed} (test points)")


def training_curves(res: xr.Dataset, doc: dict[str, Any], path: Path) -> Path:
    """Test accuracy vs epoch, mean ± std over dies, per dataset and algorithm."""
    plt = pyplot()
    base = _at_base(res, doc)
    datasets = [str(d) for d in base.dataset.values]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.5 * len(datasets), 3.4), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for a in base.algorithm.values:
            acc = base["test_accuracy"].sel(dataset=d, algorithm=a)
            m, s = acc.mean("seed"), acc.std("seed")
            ax.plot(acc.epoch, 100 * m, color=COLORS.get(str(a)), label=str(a))
            ax.fill_between(acc.epoch, 100 * (m - s), 100 * (m + s), color=COLORS.get(str(a)), alpha=0.2)
        ax.axhline(100 * doc["claims"]["min_accuracy"], color="k", ls=":", lw=0.8)
        ax.set_xlabel("epoch"), ax.set_ylabel("test accuracy [%]"), ax.set_title(d)
        ax.legend(fontsize=8)
    return save(fig, path, f"mean ± std over {base.sizes['seed']} dies")


def accuracy_vs_impairment(res: xr.Dataset, doc: dict[str, Any], path: Path) -> Path:
    """Final test accuracy vs the swept knob (mean ± std over the sweep's dies) for the swept
    algorithms; the algorithms trained at the preset's value only as dashed reference lines
    (their mean over the same dies)."""
    plt = pyplot()
    knob = doc["sweep"]["knob"]
    acc = res["final_test_accuracy"].sel(dataset=doc["study"]["datasets"][0]).dropna("seed", how="all")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    x = acc[knob].values
    full_seeds = {str(a): acc.seed.values[acc.sel(algorithm=a).notnull().all(knob).values] for a in acc.algorithm.values}
    swept = [a for a, sd in full_seeds.items() if sd.size and x.size > 1]
    ref_seeds = full_seeds[swept[0]] if swept else acc.seed.values
    for a in acc.algorithm.values:
        a = str(a)
        if a in swept:
            v = acc.sel(algorithm=a, seed=full_seeds[a])
            m, s = v.mean("seed"), v.std("seed")
            ax.errorbar(x, 100 * m, yerr=100 * s, color=COLORS.get(a), marker="o", capsize=3,
                        label=f"{a} ({full_seeds[a].size} dies)")
        else:
            v = acc.sel(algorithm=a, seed=ref_seeds).values
            if np.isfinite(v).any():
                ax.axhline(100 * float(np.nanmean(v)), color=COLORS.get(a), ls="--", lw=0.9,
                           label=f"{a} (preset only)")
    if np.all(x > 0) and x.max() / x.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{knob}" + (" [W per input channel]" if knob == "optical_power" else ""))
    ax.set_ylabel("test accuracy [%]")
    ax.axhline(100 * doc["claims"]["min_accuracy"], color="k", ls=":", lw=0.8)
    ax.set_title(f"{doc['study']['datasets'][0]}: accuracy vs {knob}", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return save(fig, path)


def plot_all(res: xr.Dataset, doc: dict[str, Any], out: Path) -> dict[str, str]:
    """All plots of the main job under ``out``; returns their paths."""
    out = Path(out)
    paths = {"decision_boundaries": decision_boundaries(res, doc, out / "decision_boundaries.png"),
             "training_curves": training_curves(res, doc, out / "training_curves.png")}
    if doc["sweep"]["knob"] in res.dims:
        paths["accuracy_vs_impairment"] = accuracy_vs_impairment(res, doc, out / "accuracy_vs_impairment.png")
    return {k: str(v) for k, v in paths.items()}

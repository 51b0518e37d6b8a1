"""Plots of the main job: decision boundaries, training curves, accuracy vs impairment, per
(calibration, algorithm) that a cell trained (NaN elsewhere in results.nc)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline.training.plots import pyplot, save
from workflows.paper_results import paired_accuracy, with_calibration

COLORS = {"ideal": "tab:green", "ideal-best": "tab:olive", "offline": "tab:red", "offline-calibrated": "tab:orange",
          "insitu": "tab:blue", "forward-only": "tab:purple"}
#: Per-die seeds (coordinates along ``seed`` in results.nc) that the dataset loader takes.
_DATA_SEEDS = ("split_seed", "data_seed")


#: Line style per calibration in the training curves (readout: the paper's protocol).
LINESTYLES = {"readout": "-", "lab": "--"}


def _at_base(res: xr.Dataset, doc: dict[str, Any]) -> xr.Dataset:
    """``res`` at the preset's value of the swept knob (the paper cells), with a calibration dim."""
    from pipeline.chip.impairments import impairments

    knob = doc["sweep"]["knob"]
    if knob in res.dims:
        res = res.sel({knob: getattr(impairments(doc["study"].get("preset", "realistic")), knob)})
    return with_calibration(res)


def _trained(acc: xr.DataArray) -> list[tuple[str, str]]:
    """(calibration, algorithm) pairs with any finite value in ``acc`` (a cell trained them)."""
    return [(str(c), str(a)) for c in acc.calibration.values for a in acc.algorithm.values
            if np.isfinite(acc.sel(calibration=c, algorithm=a).values).any()]


def decision_boundaries(res: xr.Dataset, doc: dict[str, Any], path: Path, seed: int | None = None) -> Path:
    """Predicted class over the scaled input plane (one die): a row per dataset, a column per
    (calibration, algorithm) trained on that die, with the test points of the die's split."""
    from pipeline.training.datasets import load

    plt = pyplot()
    base = _at_base(res, doc)
    seed = int(base.seed.values[0]) if seed is None else seed
    cols = _trained(base["final_test_accuracy"].sel(seed=seed))
    datasets = [str(d) for d in base.dataset.values]
    fig, axes = plt.subplots(len(datasets), len(cols), figsize=(2.9 * len(cols), 3.2 * len(datasets)),
                             squeeze=False)
    n_samples = int(doc["study"].get("n_samples", 300))
    die_data = {k: int(base[k].sel(seed=seed)) for k in _DATA_SEEDS if k in base.coords}  # the die's own split
    for i, d in enumerate(datasets):
        data = load(d, n_samples=n_samples, **die_data)
        for j, (cal, a) in enumerate(cols):
            ax = axes[i, j]
            ax.set_xticks([]), ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(d, fontsize=10)
            acc = float(base["final_test_accuracy"].sel(dataset=d, seed=seed, calibration=cal, algorithm=a))
            if not np.isfinite(acc):  # this (calibration, algorithm) was not trained on this dataset
                ax.set_title(f"{a} · {cal}\nnot trained", fontsize=9)
                continue
            b = base["boundary"].sel(dataset=d, seed=seed, calibration=cal, algorithm=a)
            ax.imshow(b.values.T, origin="lower", extent=(0, 1, 0, 1), cmap="coolwarm", alpha=0.35,
                      vmin=0, vmax=max(1, len(data.classes) - 1), interpolation="nearest", aspect="auto")
            ax.scatter(data.x_test[:, 0], data.x_test[:, 1], c=data.labels_test, cmap="coolwarm", s=9,
                       edgecolors="k", linewidths=0.3)
            ax.set_title(f"{a} · {cal}\n{100 * acc:.1f} % test", fontsize=9)
    return save(fig, path, f"decision boundaries on die {seed} (test points); rows: dataset, columns: "
                           "algorithm · calibration")


def training_curves(res: xr.Dataset, doc: dict[str, Any], path: Path) -> Path:
    """Test accuracy vs epoch, mean ± std over dies, per dataset and (calibration, algorithm)
    that a cell trained: colour = algorithm, solid = readout calibration, dashed = lab."""
    plt = pyplot()
    base = _at_base(res, doc)
    datasets = [str(d) for d in base.dataset.values]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 2.0, 3.9), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        for cal, a in _trained(base["final_test_accuracy"].sel(dataset=d)):
            acc = base["test_accuracy"].sel(dataset=d, calibration=cal, algorithm=a)
            m, s = acc.mean("seed"), acc.std("seed")
            lab = cal != "readout"  # drawn thicker and on top: it often lies on the ideal curves
            ax.plot(acc.epoch, 100 * m, color=COLORS.get(a), ls=LINESTYLES.get(cal, ":"), lw=2.0 if lab else 1.2,
                    zorder=3 if lab else 2, label=f"{a} · {cal}")
            ax.fill_between(acc.epoch, 100 * (m - s), np.minimum(100 * (m + s), 100), color=COLORS.get(a),
                            alpha=0.12)
        ax.axhline(100 * doc["claims"]["min_accuracy"], color="k", ls=":", lw=0.8)
        ax.set_ylim(top=101)  # an accuracy: the ± std band must not suggest > 100 %
        ax.set_xlabel("epoch"), ax.set_ylabel("test accuracy [%]"), ax.set_title(d)
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: no curve hidden
    return save(fig, path, f"mean ± std over {base.sizes['seed']} dies; solid: readout calibration, dashed: lab")


def accuracy_vs_impairment(res: xr.Dataset, doc: dict[str, Any], path: Path) -> Path:
    """Final test accuracy vs the swept knob (mean ± std over the sweep's dies) for the swept
    algorithms, on the sweep's calibration only; the algorithms trained at the preset's value
    only (incl. the calibration-independent ones, :func:`workflows.paper_results.paired_accuracy`) as
    dashed reference lines (their mean over the same dies)."""

    plt = pyplot()
    knob = doc["sweep"]["knob"]
    dataset = doc["study"]["datasets"][0]
    full = with_calibration(res["final_test_accuracy"])
    cal = doc["sweep"].get("calibration", str(full.calibration.values[0]))
    acc = paired_accuracy(full)[0].sel(dataset=dataset, calibration=cal).dropna("seed", how="all")
    fig, ax = plt.subplots(figsize=(5.4, 3.8))
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
                        label=f"{a} · {cal} ({full_seeds[a].size} dies)")
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
    ax.set_title(f"{dataset}, {cal} calibration: accuracy vs {knob}", fontsize=10)
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

"""Training plots (matplotlib, Agg backend): decision boundaries and training curves."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from pipeline.training.datasets import TrainingData


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: str | Path, title: str = "") -> Path:
    """Title, tight layout, write PNG (folder created, 110 dpi), close; returns the path."""
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def decision_boundaries(data: TrainingData, predictors: dict[str, Callable[[np.ndarray], np.ndarray]],
                        path: str | Path, grid: int = 60, title: str = "") -> Path:
    """One panel per algorithm: predicted class over the chip's input square [0, 1]²
    (``predictor(x) -> (batch, n_outputs)``), with train (o) and test (x) points."""
    plt = pyplot()
    u = np.linspace(0.0, 1.0, grid)
    gx, gy = np.meshgrid(u, u)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    n = len(predictors)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False)
    cmap = plt.get_cmap("coolwarm", max(data.n_classes, 2))
    for ax, (name, fn) in zip(axes[0], predictors.items()):
        y = fn(pts)
        cls = data.predict(y).reshape(gx.shape)
        ax.contourf(gx, gy, cls, levels=np.arange(data.n_classes + 1) - 0.5, cmap=cmap, alpha=0.35)
        if data.n_classes == 2:
            ax.contour(gx, gy, np.asarray(y)[:, 0].reshape(gx.shape), levels=[0.5 * (data.low + data.high)],
                       colors="k", linewidths=1)
        ax.scatter(*data.x_train.T, c=data.labels_train, cmap=cmap, vmin=-0.5, vmax=data.n_classes - 0.5,
                   s=10, marker="o", edgecolors="k", linewidths=0.3)
        ax.scatter(*data.x_test.T, c=data.labels_test, cmap=cmap, vmin=-0.5, vmax=data.n_classes - 0.5,
                   s=16, marker="x")
        acc = data.accuracy(fn(data.x_test), data.labels_test)
        ax.set_title(f"{name}: test {100 * acc:.1f} %", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("input 1 (scaled)")
    axes[0][0].set_ylabel("input 2 (scaled)")
    return save(fig, path, title)


def training_curves(history: xr.Dataset, path: str | Path, title: str = "") -> Path:
    """Test accuracy and train loss vs epoch, and test accuracy vs training detector reads."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for i, alg in enumerate(history["algorithm"].values):
        h, style = history.sel(algorithm=alg), {"label": str(alg), "color": f"C{i}"}
        axes[0].plot(h["epoch"], 100 * h["test_accuracy"], **style)
        axes[1].semilogy(h["epoch"], h["train_loss"], **style)
        if np.nanmax(h["measurements"].values) > 0:
            axes[2].semilogx(h["measurements"].values[1:], 100 * h["test_accuracy"].values[1:], **style)
    axes[0].set(xlabel="epoch", ylabel="test accuracy [%]")
    axes[1].set(xlabel="epoch", ylabel="train loss (MSE)")
    axes[2].set(xlabel="detector readings used for training", ylabel="test accuracy [%]")
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return save(fig, path, title)

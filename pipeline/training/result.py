"""What one training run returns (:class:`TrainResult`), and writing it: the history as
netCDF and the plots are a separate step (:meth:`TrainResult.save`), so training itself
touches no file.

    result = train("moons", "attenuator", "ideal,insitu", seed=0)
    result.final["insitu"]["test_accuracy"]      # per-algorithm final metrics
    paths = result.save("results/train")         # history .nc + curves/boundaries .png
    result.summary(paths)                        # the JSON document `photoprop train --json` prints
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from pipeline.training import history, plots
from pipeline.training.algorithms import IDEAL, AlgorithmRun
from pipeline.training.datasets import TrainingData


def predictor(name: str, params: np.ndarray, arch, die) -> Callable[[np.ndarray], np.ndarray]:
    """Outputs of a trained model: the ideal model for ``ideal``/``ideal-best``, readings of
    ``die`` (the algorithm's own die: ``result.dies[name]``) otherwise."""
    if name in IDEAL:
        return lambda x: arch.ideal_forward(params, x)

    def on_die(x):
        die.program(params)
        return die.infer(x)
    return on_die


def final_metrics(hist: xr.Dataset) -> dict[str, dict[str, float | int]]:
    """Per algorithm of a history: final test/train accuracy and loss, epochs, wall time [s],
    training and calibration detector readings, dead neurons (when the architecture gives them)."""
    per: dict[str, dict[str, float | int]] = {}
    for a in hist["algorithm"].values:
        h = hist.sel(algorithm=a)
        last = h.isel(epoch=-1)
        per[str(a)] = {"test_accuracy": float(last["test_accuracy"]), "train_accuracy": float(last["train_accuracy"]),
                       "test_loss": float(last["test_loss"]), "train_loss": float(last["train_loss"]),
                       "epochs": int(h["epoch"].size - 1), "wall_s": float(last["wall_s"]),
                       "measurements": int(last["measurements"]),
                       "calibration_measurements": int(h["calibration_measurements"])
                       if "calibration_measurements" in h else 0}
        if "dead_neurons" in last and np.isfinite(float(last["dead_neurons"])):
            per[str(a)]["dead_neurons"] = int(last["dead_neurons"])
    return per


@dataclass(frozen=True)
class TrainResult:
    """One training run (:func:`pipeline.training.run.train`).

    ``history``: the xr.Dataset over (algorithm, epoch) (:mod:`pipeline.training.history`);
    ``runs``: :class:`AlgorithmRun` by algorithm name (``ideal`` too when an offline algorithm
    needed it); ``data``: the dataset and split; ``dies``: die by algorithm name (None for the
    digital ones; each hardware algorithm its own instance of die ``seed``); ``arch``: the
    architecture.  Read-only mappings."""

    history: xr.Dataset
    runs: Mapping[str, AlgorithmRun]
    data: TrainingData
    dies: Mapping[str, Any]
    arch: Any
    _final: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", MappingProxyType(dict(self.runs)))
        object.__setattr__(self, "dies", MappingProxyType(dict(self.dies)))
        object.__setattr__(self, "_final", final_metrics(self.history))

    @property
    def algorithms(self) -> list[str]:
        """The trained algorithms, in the requested order (the history's)."""
        return [str(a) for a in self.history["algorithm"].values]

    @property
    def die(self):
        """The first hardware algorithm's die (``offline-calibrated``'s only if it is the only
        one), None if every algorithm is digital."""
        names = self.algorithms
        return next((self.dies[n] for n in names if self.dies.get(n) is not None and n != "offline-calibrated"),
                    next((d for d in self.dies.values() if d is not None), None))

    @property
    def final(self) -> Mapping[str, Mapping[str, float | int]]:
        """Final metrics per algorithm (:func:`final_metrics`)."""
        return MappingProxyType(self._final)

    @property
    def die_summary(self) -> dict[str, float]:
        """Headline numbers of :attr:`die` (``photoprop chip show``); empty without a die."""
        return {} if self.die is None else dict(self.die.summary())

    def predictor(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        """The trained model of algorithm ``name`` (:func:`predictor`)."""
        return predictor(name, self.runs[name].params, self.arch, self.dies.get(name))

    def stem(self) -> str:
        """File-name stem of this run: ``<dataset>_<architecture>_s<seed>``."""
        return f"{self.data.name.removesuffix('.csv')}_{self.arch.name}_s{int(self.history.attrs['seed'])}"

    def save(self, folder: str | Path, *, plots_wanted: bool = True) -> dict[str, str]:
        """Write the history (``<stem>_history.nc``) and, with ``plots_wanted``, the training
        curves and (2-D datasets) decision boundaries under ``folder``; returns kind → path.
        Decision boundaries read each die (its readings count as measurements)."""
        out, stem = Path(folder), self.stem()
        seed = int(self.history.attrs["seed"])
        paths = {"history": str(history.write(self.history, out / f"{stem}_history.nc"))}
        if plots_wanted:
            title = f"{self.data.name}, {self.arch.name}, die {seed}"
            paths["curves"] = str(plots.training_curves(self.history, out / f"{stem}_curves.png", title=title))
            if self.data.n_features == 2:
                preds = {n: self.predictor(n) for n in self.algorithms}
                paths["decision_boundaries"] = str(plots.decision_boundaries(
                    self.data, preds, out / f"{stem}_boundaries.png", title=title))
        return paths

    def summary(self, paths: Mapping[str, str] | None = None) -> dict[str, Any]:
        """JSON-ready summary: per-algorithm final metrics under ``algorithms``, the last
        algorithm's at the top level, dataset/architecture/impairments/seed, and ``paths``
        (what :meth:`save` wrote)."""
        hist, per = self.history, {k: dict(v) for k, v in self._final.items()}
        last = self.algorithms[-1]
        return {**per[last], "algorithm": last, "dataset": hist.attrs["dataset"],
                "architecture": hist.attrs["architecture"], "impairments": hist.attrs["impairment_preset"],
                "seed": int(hist.attrs["seed"]), "algorithms": per, "paths": dict(paths or {})}

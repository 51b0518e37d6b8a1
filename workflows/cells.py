"""Study cells: one training cell = one die of an architecture, trained by several
algorithms on one dataset, under one set of impairment knobs.

A cell's parameters (all scalars, they enter its content key): ``dataset``, ``seed`` (the
die; also the init/batch-order seed unless ``init_seed`` is given), ``init_seed``,
``split_seed`` (train/test split, default 0), ``data_seed`` (generated samples, default 0),
``architecture``, ``algorithms`` (comma list), ``preset`` (``realistic`` | ``ideal``),
``calibration`` (``readout`` | ``lab``: hardware algorithms on the lab-calibrated die,
:func:`pipeline.training.run.train`), ``epochs``, ``learning_rate``, ``batch_size``,
``n_samples``, and any :class:`~pipeline.chip.impairments.ImpairmentSpec` field as an
override of the preset (e.g. ``optical_power=1e-6``, ``thermal_crosstalk_scale=2``).

The returned Dataset holds the training history (``algorithm × epoch`` metrics), the
final test accuracy per algorithm, and — for 2D datasets — each trained model's predicted
class on a grid of the scaled input plane (``boundary``, for decision-boundary plots).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from pipeline.chip.impairments import ImpairmentSpec, impairments
from pipeline.errors import SpecError

#: Points per axis of the decision-boundary grid over the scaled input plane [0, 1]².
BOUNDARY_POINTS = 41
#: Cell parameters that are not impairment knobs.
TRAINING_PARAMS = ("dataset", "seed", "architecture", "algorithms", "preset", "epochs", "learning_rate",
                   "batch_size", "n_samples", "init_seed", "split_seed", "data_seed", "calibration")


def impairment_spec(preset: str, knobs: dict[str, Any]) -> ImpairmentSpec:
    """The preset with the cell's knob overrides (unknown knobs are named with the valid ones)."""
    unknown = sorted(set(knobs) - set(ImpairmentSpec.model_fields))
    if unknown:
        raise SpecError(f"cell parameters {unknown} are neither training parameters {list(TRAINING_PARAMS)} nor "
                        f"impairment knobs. Fix: use fields of ImpairmentSpec: {sorted(ImpairmentSpec.model_fields)}.")
    return impairments(preset, **knobs)


def train_cell(dataset: str = "moons", seed: int = 0, architecture: str = "attenuator",
               algorithms: str = "ideal,offline,insitu", preset: str = "realistic", epochs: int | None = None,
               learning_rate: float | None = None, batch_size: int | None = None, n_samples: int = 300,
               init_seed: int | None = None, split_seed: int | None = None, data_seed: int | None = None,
               calibration: str = "readout", **knobs: Any) -> xr.Dataset:
    """Train die ``seed`` with ``algorithms`` on ``dataset`` (module doc) → results Dataset.
    ``epochs``, ``learning_rate``, ``batch_size``: None keeps the TrainConfig defaults;
    ``init_seed`` None → ``seed``, ``split_seed`` / ``data_seed`` None → 0."""
    from pipeline.training import algorithms as alg
    from pipeline.training.run import predictor, train

    spec = impairment_spec(preset, knobs)
    given = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size}
    cfg = alg.TrainConfig(**{k: v for k, v in given.items() if v is not None})
    res = train(dataset, architecture, algorithms, spec, seed=seed, config=cfg, plots_wanted=False,
                n_samples=n_samples, init_seed=init_seed, split_seed=0 if split_seed is None else split_seed,
                data_seed=0 if data_seed is None else data_seed, calibration=calibration)
    hist = res["history"].drop_vars(["params", "param"], errors="ignore")
    ds = hist.copy()
    ds["final_test_accuracy"] = hist["test_accuracy"].isel(epoch=-1)
    ds["final_train_accuracy"] = hist["train_accuracy"].isel(epoch=-1)
    data = res["data"]
    if data.n_features == 2:
        g = np.linspace(0.0, 1.0, BOUNDARY_POINTS)
        gx, gy = np.meshgrid(g, g, indexing="ij")
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        names = [str(a) for a in hist.algorithm.values]
        classes = np.array([data.predict(predictor(n, res["runs"][n].params, res["arch"], res["dies"][n])(pts))
                            for n in names]).reshape(len(names), g.size, g.size)
        ds["boundary"] = (("algorithm", "x0", "x1"), classes.astype(np.int16),
                          {"description": "predicted class on the scaled input grid (after training)"})
        ds = ds.assign_coords(x0=g, x1=g)
    ds.attrs = {k: v for k, v in hist.attrs.items() if k in ("dataset", "architecture", "impairments", "config")}
    return ds

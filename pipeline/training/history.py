"""Training history as an xarray Dataset: one variable per metric over (algorithm, epoch).

``as_metric_array`` gives the same data as one DataArray with dims (metric, algorithm,
epoch).  Runs with fewer epochs are padded with NaN.  Attributes: dataset, architecture,
impairments (JSON), seed, training configuration (JSON).  Files are netCDF written with
the h5netcdf engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from pipeline.training.algorithms import METRICS, AlgorithmRun

UNITS = {"train_loss": "1", "test_loss": "1", "train_accuracy": "1", "test_accuracy": "1",
         "measurements": "detector readings", "eval_measurements": "detector readings", "wall_s": "s"}
DESCRIPTIONS = {
    "train_loss": "MSE loss on the training split (ideal model for 'ideal', die readings otherwise)",
    "test_loss": "MSE loss on the test split",
    "train_accuracy": "fraction of training samples classified correctly",
    "test_accuracy": "fraction of test samples classified correctly",
    "measurements": "cumulative detector readings used for training (one detector, one sample)",
    "eval_measurements": "cumulative detector readings used for the per-epoch evaluation",
    "wall_s": "cumulative training wall time (offline: the ideal training's)",
}


def build(runs: list[AlgorithmRun], attrs: dict) -> xr.Dataset:
    """The history of several algorithm runs (same architecture) as one Dataset."""
    n_epochs = max(len(r.metrics["train_loss"]) for r in runs)
    n_params = runs[0].params.size
    data = {}
    for key in METRICS:
        arr = np.full((len(runs), n_epochs), np.nan)
        for i, r in enumerate(runs):
            arr[i, :len(r.metrics[key])] = r.metrics[key]
        data[key] = (("algorithm", "epoch"), arr, {"units": UNITS[key], "description": DESCRIPTIONS[key]})
    data["params"] = (("algorithm", "param"), np.vstack([r.params for r in runs]),
                      {"units": "weight units of the architecture", "description": "final parameters"})
    clean = {k: (json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list, tuple)) else v)
             for k, v in attrs.items() if v is not None}
    return xr.Dataset(data, coords={"algorithm": [r.algorithm for r in runs], "epoch": np.arange(n_epochs),
                                    "param": np.arange(n_params)}, attrs=clean)


def as_metric_array(history: xr.Dataset) -> xr.DataArray:
    """All metrics as one DataArray with dims (metric, algorithm, epoch)."""
    return history[list(METRICS)].to_array(dim="metric").transpose("metric", "algorithm", "epoch")


def write(history: xr.Dataset, path: str | Path) -> Path:
    """Write netCDF (h5netcdf); the folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    history.to_netcdf(tmp, engine="h5netcdf")
    tmp.replace(path)
    return path


def read(path: str | Path) -> xr.Dataset:
    """Read a history written by :func:`write` (loaded into memory, file closed)."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()

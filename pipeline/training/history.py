"""Training history as an xarray Dataset: one variable per metric over (algorithm, epoch).

``as_metric_array`` gives the same data as one DataArray with dims (metric, algorithm,
epoch).  Runs with fewer epochs are padded with NaN.  Runs with restarts (``ideal-best``)
add ``restart_seed``, ``restart_train_loss``, ``restart_train_accuracy`` and
``restart_test_accuracy`` over (algorithm, restart) — every initialisation's final value,
NaN for algorithms without restarts — and ``selected_restart`` over algorithm (−1: none).
Attributes: dataset, architecture, impairments (JSON), seeds (die ``seed``, ``init_seed``,
``data_seed``, ``split_seed``), ``calibration``, training configuration (JSON).  Files are
netCDF written with the h5netcdf engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.specs import Spec
from pipeline.training.algorithms import METRICS, AlgorithmRun

#: Units of every history variable (:data:`pipeline.units_attrs.ATTRS`; counts of detector
#: readings and of neurons are dimensionless, "1").
UNITS = {k: units_attrs.ATTRS[k][0] for k in (*METRICS, "restart_seed", "restart_train_loss",
                                              "restart_train_accuracy", "restart_test_accuracy",
                                              "selected_restart", "calibration_measurements")}
DESCRIPTIONS = {
    "train_loss": "MSE loss on the training split (ideal model for 'ideal', die readings otherwise)",
    "test_loss": "MSE loss on the test split",
    "train_accuracy": "fraction of training samples classified correctly",
    "test_accuracy": "fraction of test samples classified correctly",
    "measurements": "cumulative detector readings used for training (one detector, one sample)",
    "eval_measurements": "cumulative detector readings used for the per-epoch evaluation",
    "wall_s": "cumulative training wall time (offline: the ideal training's)",
    "dead_neurons": "hidden neurons whose pre-activation z1 lies outside the activation's active range "
                    "(0, full_scale) for every training sample (zero derivative everywhere: cannot recover); "
                    "ideal model for ideal/ideal-best, the die's noise-free internal state otherwise (a simulation "
                    "diagnostic, not a lab reading); NaN if the architecture does not provide it",
    "restart_seed": "init/batch-order seed of each restart (ideal-best)",
    "restart_train_loss": "final MSE training loss of each restart (ideal-best selects the lowest)",
    "restart_train_accuracy": "final training accuracy of each restart (ideal-best)",
    "restart_test_accuracy": "final test accuracy of each restart (ideal-best; not used for the selection)",
    "selected_restart": "index of the deployed restart (ideal-best; -1 for algorithms without restarts)",
    "calibration_measurements": "detector readings the die's calibration took before training or deployment "
                                "(readout gains; with the lab calibration also the heater sweeps and the "
                                "crosstalk matrix); 0 for the digital model",
}
RESTART_KEYS = ("restart_seed", "restart_train_loss", "restart_train_accuracy", "restart_test_accuracy")


def build(runs: list[AlgorithmRun], attrs: dict, *, param_units: tuple[str, str] = ("1", "trained parameter"),
          structured: dict[str, Spec] | None = None) -> xr.Dataset:
    """The history of several algorithm runs (same architecture) as one Dataset: units and
    long_name on every variable and coordinate (:mod:`pipeline.units_attrs`; ``params`` in
    ``param_units`` = (units, long_name)), and each spec of ``structured`` also flattened to
    ``<name>.<field>`` attributes beside its JSON."""
    n_epochs = max(len(r.metrics["train_loss"]) for r in runs)
    n_params = runs[0].params.size
    data = {}
    for key in METRICS:
        arr = np.full((len(runs), n_epochs), np.nan)
        for i, r in enumerate(runs):
            arr[i, :len(r.metrics[key])] = r.metrics[key]
        data[key] = (("algorithm", "epoch"), arr, {"units": UNITS[key], "description": DESCRIPTIONS[key]})
    data["params"] = (("algorithm", "param"), np.vstack([r.params for r in runs]),
                      {"units": param_units[0], "long_name": f"final {param_units[1]}",
                       "description": "final parameters"})
    n_restarts = max((len(r.extra.get("restart_train_loss", ())) for r in runs), default=0)
    if n_restarts:
        for key in RESTART_KEYS:
            arr = np.full((len(runs), n_restarts), np.nan)
            for i, r in enumerate(runs):
                v = r.extra.get(key, ())
                arr[i, :len(v)] = v
            data[key] = (("algorithm", "restart"), arr, {"units": UNITS[key], "description": DESCRIPTIONS[key]})
        chosen = np.array([int(r.extra.get("selected_restart", -1)) for r in runs])
        data["selected_restart"] = ("algorithm", chosen, {"units": UNITS["selected_restart"],
                                                          "description": DESCRIPTIONS["selected_restart"]})
    data["calibration_measurements"] = ("algorithm", np.array([float(r.extra.get("calibration_measurements", 0))
                                                               for r in runs]),
                                        {"units": UNITS["calibration_measurements"],
                                         "description": DESCRIPTIONS["calibration_measurements"]})
    clean = {k: (json.dumps(v, sort_keys=True, default=str) if isinstance(v, (dict, list, tuple)) else v)
             for k, v in attrs.items() if v is not None}
    for name, spec in (structured or {}).items():
        clean.update(units_attrs.spec_attrs(name, spec))
    ds = xr.Dataset(data, coords={"algorithm": [r.algorithm for r in runs], "epoch": np.arange(n_epochs),
                                  "param": np.arange(n_params),
                                  **({"restart": np.arange(n_restarts)} if n_restarts else {})}, attrs=clean)
    return units_attrs.annotate(ds)


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

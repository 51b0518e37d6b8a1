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
:meth:`TrainCell.from_params` makes them one typed cell (the overrides one
:class:`~pipeline.chip.impairments.ImpairmentSpec`, built once), which :func:`run_cell` trains:
the ImpairmentSpec goes to :func:`pipeline.training.run.train` as it is.

The returned Dataset holds the training history (``algorithm × epoch`` metrics), the
final test accuracy per algorithm, and — for 2D datasets — each trained model's predicted
class on a grid of the scaled input plane (``boundary``, for decision-boundary plots).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.chip.impairments import REALISTIC, ImpairmentSpec, impairments
from pipeline.config import did_you_mean
from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity

#: Points per axis of the decision-boundary grid over the scaled input plane [0, 1]².
BOUNDARY_POINTS = 41
#: Cell parameters that are not impairment knobs.
TRAINING_PARAMS = ("dataset", "seed", "architecture", "algorithms", "preset", "epochs", "learning_rate",
                   "batch_size", "n_samples", "init_seed", "split_seed", "data_seed", "calibration", "neuron")
#: A cell parameter (they enter the cell's content key and become coordinates).
Scalar = str | int | float | bool


class TrainCell(Spec):
    """One training cell, typed: the training parameters and the die's impairments (the
    preset with the cell's knob overrides, one :class:`ImpairmentSpec`). A cell travels to a
    worker as flat scalar parameters (the study engine's cells, :meth:`from_params`)."""

    dataset: str = quantity("moons", "", "dataset name or file")
    seed: int = quantity(0, "", "the die (also the init/batch-order seed unless init_seed is given)", ge=0)
    architecture: str = quantity("attenuator", "", "architecture name")
    algorithms: str = quantity("ideal,offline,insitu", "", "comma list of training algorithms")
    preset: str = quantity("realistic", "", "impairment preset the knobs override (realistic | ideal)")
    epochs: int | None = quantity(None, "", "epochs (None: the TrainConfig default)", ge=1)
    learning_rate: float | None = quantity(None, "", "learning rate (None: the TrainConfig default)", gt=0)
    batch_size: int | None = quantity(None, "", "batch size (None: the TrainConfig default)", ge=1)
    n_samples: int = quantity(300, "", "samples of a generated dataset", ge=1)
    init_seed: int | None = quantity(None, "", "initial parameters and batch order (None: seed)", ge=0)
    split_seed: int | None = quantity(None, "", "train/test split (None: 0)", ge=0)
    data_seed: int | None = quantity(None, "", "generated samples (None: 0)", ge=0)
    calibration: str = quantity("readout", "", "the die's calibration: readout | lab")
    neuron: Literal["mzm", "ring"] | None = quantity(None, "", "attenuator neuron kind (None: the architecture's "
                                                     "default, mzm)")
    impairments: ImpairmentSpec = quantity(REALISTIC, "", "the die's impairments")

    @classmethod
    def from_params(cls, params: dict[str, Scalar]) -> "TrainCell":
        """The cell of flat parameters: training parameters (:data:`TRAINING_PARAMS`) and
        :class:`ImpairmentSpec` fields overriding the preset (unknown names: did you mean)."""
        fields = set(ImpairmentSpec.model_fields)
        for name in params:
            if name not in TRAINING_PARAMS and name not in fields:
                raise SpecError(f"cell parameter {name} = {params[name]!r}: neither a training parameter nor an "
                                f"impairment knob.{did_you_mean(name, [*TRAINING_PARAMS, *sorted(fields)])} "
                                f"Fix: use one of {list(TRAINING_PARAMS)} or a field of ImpairmentSpec: "
                                f"{sorted(fields)}.")
        training = {k: v for k, v in params.items() if k in TRAINING_PARAMS}
        overrides = {k: v for k, v in params.items() if k in fields}
        spec = impairments(training.get("preset", "realistic"), **overrides)
        return cls(**training, impairments=spec)


def train_cell(**params: Scalar) -> xr.Dataset:
    """Train the cell of flat parameters ``params`` (module doc; :meth:`TrainCell.from_params`)
    → results Dataset."""
    return run_cell(TrainCell.from_params(params))


def run_cell(cell: TrainCell) -> xr.Dataset:
    """Train die ``cell.seed`` with ``cell.algorithms`` on ``cell.dataset`` under
    ``cell.impairments`` → results Dataset. ``epochs``, ``learning_rate``, ``batch_size``: None
    keeps the TrainConfig defaults; ``init_seed`` None → ``seed``, ``split_seed`` /
    ``data_seed`` None → 0."""
    from pipeline.training import algorithms as alg
    from pipeline.training.run import train

    given = {"epochs": cell.epochs, "learning_rate": cell.learning_rate, "batch_size": cell.batch_size}
    cfg = alg.TrainConfig(**{k: v for k, v in given.items() if v is not None})
    res = train(cell.dataset, cell.architecture, cell.algorithms, cell.impairments, seed=cell.seed, config=cfg,
                n_samples=cell.n_samples, init_seed=cell.init_seed,
                split_seed=0 if cell.split_seed is None else cell.split_seed,
                data_seed=0 if cell.data_seed is None else cell.data_seed, calibration=cell.calibration,
                arch_options={"neuron": {"kind": cell.neuron}} if cell.neuron else None)
    hist = res.history.drop_vars(["params", "param"], errors="ignore")
    ds = hist.copy()
    ds["final_test_accuracy"] = hist["test_accuracy"].isel(epoch=-1)
    ds["final_train_accuracy"] = hist["train_accuracy"].isel(epoch=-1)
    data = res.data
    if data.n_features == 2:
        g = np.linspace(0.0, 1.0, BOUNDARY_POINTS)
        gx, gy = np.meshgrid(g, g, indexing="ij")
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        names = [str(a) for a in hist.algorithm.values]
        classes = np.array([data.predict(res.predictor(n)(pts)) for n in names]).reshape(len(names), g.size, g.size)
        ds["boundary"] = (("algorithm", "x0", "x1"), classes.astype(np.int16),
                          {"description": "predicted class on the scaled input grid (after training)"})
        ds = ds.assign_coords(x0=g, x1=g)
    ds.attrs = {k: v for k, v in hist.attrs.items() if k in ("dataset", "architecture", "neuron", "impairments", "config")
                or k.startswith(("impairments.", "config."))}  # the specs as JSON and as structured attrs
    for name, what in (("final_test_accuracy", "test"), ("final_train_accuracy", "training")):
        ds[name].attrs = {"units": "1", "long_name": f"{what} accuracy after training"}
    return units_attrs.annotate(ds)

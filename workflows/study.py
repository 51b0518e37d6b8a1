"""``photoprop study``: dies × algorithms × an impairment grid × datasets, from a TOML file.

Config (see ``workflows/impairments.toml``)::

    [study]
    name = "impairments"          # output folder name under results/ (unless --out)
    architecture = "attenuator"
    datasets = ["moons"]
    seeds = [0, 1, 2]             # dies (each seed = one sampled die and its training stream)
    algorithms = "ideal,offline,insitu"
    preset = "realistic"          # knobs not in [grid] keep the preset's value
    epochs = 30                   # also learning_rate, batch_size, n_samples
    mode = "product"              # or "one_at_a_time": vary each knob alone, others at the preset

    [grid]                        # ImpairmentSpec knobs → lists of values
    thermal_crosstalk_scale = [0.0, 1.0, 3.0]
    optical_power = [1e-6, 1e-4]

Each cell (one die, one dataset, one point of the grid) trains every algorithm and is
written to ``<out>/cells/<key>.nc`` as it finishes (resumable); the combined Dataset
``<out>/results.nc`` has dims ``dataset × seed × <grid knobs> × algorithm × epoch`` — each
kept with a single value too (one dataset, one seed: dims of length 1, so
``.mean("seed")`` works on any study) — and ``units``/``long_name`` on every coordinate and
variable (the knobs' from their :class:`ImpairmentSpec` declarations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workflows.cells import Scalar
from workflows.config import GRID_TRAINING_AXES, StudyConfig, load_study_config

#: The impairment study `photoprop study` runs without --config (installed with the package).
DEFAULT_CONFIG = Path(__file__).with_name("impairments.toml")

__all__ = ["CELL_FN", "CELL_VERSION", "DEFAULT_CONFIG", "GRID_TRAINING_AXES", "attrs_table", "cells", "dims",
           "load_config", "run"]

CELL_FN = "workflows.cells:train_cell"
#: Bump when train_cell's results change meaning (enters every cell key).
CELL_VERSION = "1"


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study TOML file (:class:`workflows.config.StudyConfig`; every grid
    point an ImpairmentSpec, validated now, not on a worker); errors name the file, the key
    and the fix (unknown keys: did you mean)."""
    return load_study_config(path)


def cells(config: StudyConfig) -> list[dict[str, Scalar]]:
    """The study's cells (each a dict of scalars, the cell function's keyword arguments:
    :meth:`workflows.cells.TrainCell.from_params` makes them a typed cell again)."""
    return config.cells()


def dims(config: StudyConfig) -> list[str]:
    """The study's declared dims: ``dataset``, ``seed`` and the grid's axes (file order)."""
    return ["dataset", "seed", *(k for k, _ in config.grid.axes)]


def attrs_table() -> dict[str, tuple[str, str]]:
    """(units, long_name) of the knobs a study may sweep (:class:`ImpairmentSpec` fields)."""
    from pipeline.chip.impairments import ImpairmentSpec
    from pipeline.units_attrs import spec_table

    return spec_table(ImpairmentSpec)


def run(config_path: str | Path, *, out: str | Path | None = None, scheduler: str | None = None,
        cluster: str | None = None, cluster_config: str | Path | None = None, workers: int | None = None,
        progress: bool = True) -> dict[str, Any]:
    """Run (or resume) a study; returns the study engine's report."""
    from pipeline.execution import open_client
    from pipeline.study import run_study

    cfg = load_config(config_path)
    out_dir = Path(out) if out is not None else Path("results") / (cfg.study.name or Path(config_path).stem)
    cell_list = cells(cfg)
    with open_client(scheduler=scheduler, cluster=cluster, workers=workers, config=cluster_config) as client:
        report = run_study(cell_list, CELL_FN, out_dir, client, version=CELL_VERSION, progress=progress,
                           dims=dims(cfg), attrs_table=attrs_table())
    report["cells"] = len(cell_list)
    return report

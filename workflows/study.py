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
``<out>/results.nc`` has dims ``dataset × seed × <grid knobs> × algorithm × epoch``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pipeline.chip.impairments import ImpairmentSpec, impairments
from pipeline.errors import SpecError
from pipeline.training.run import CALIBRATIONS
from workflows.cells import TRAINING_PARAMS

#: The impairment study `photoprop study` runs without --config (installed with the package).
DEFAULT_CONFIG = Path(__file__).with_name("impairments.toml")

#: Training parameters a [grid] may sweep besides the impairment knobs (the die's calibration:
#: the hardware algorithms with and without the lab calibration, as a study axis).
GRID_TRAINING_AXES = ("calibration",)

CELL_FN = "workflows.cells:train_cell"
#: Bump when train_cell's results change meaning (enters every cell key).
CELL_VERSION = "1"
STUDY_KEYS = {"name", "architecture", "datasets", "seeds", "algorithms", "preset", "epochs", "learning_rate",
              "batch_size", "n_samples", "mode"}


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a study TOML file; errors name the file, the key and the fix."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"--config = {str(path)!r}: no such file. Fix: e.g. workflows/impairments.toml.")
    try:
        doc = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: not valid TOML ({exc}).") from None
    study, grid_ = doc.get("study"), doc.get("grid", {})
    if not isinstance(study, dict):
        raise SpecError(f"{p}: no [study] section. Fix: add [study] with datasets, seeds and algorithms.")
    unknown = sorted(set(study) - STUDY_KEYS)
    if unknown:
        raise SpecError(f"{p}: [study] keys {unknown} unknown. Fix: use {sorted(STUDY_KEYS)}.")
    bad = sorted(set(grid_) - set(ImpairmentSpec.model_fields) - set(GRID_TRAINING_AXES))
    if bad:
        raise SpecError(f"{p}: [grid] knobs {bad} are neither impairment knobs nor {list(GRID_TRAINING_AXES)}. "
                        f"Fix: use fields of ImpairmentSpec: {sorted(ImpairmentSpec.model_fields)}.")
    for knob, values in grid_.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"{p}: [grid] {knob} = {values!r}: need a non-empty list of values.")
    for key in ("datasets", "seeds"):
        v = study.get(key)
        if not isinstance(v, list) or not v:
            raise SpecError(f"{p}: [study] {key} = {v!r}: need a non-empty list (e.g. {key} = "
                            f"{['moons'] if key == 'datasets' else [0, 1, 2]}).")
    mode = study.get("mode", "product")
    if mode not in ("product", "one_at_a_time"):
        raise SpecError(f"{p}: [study] mode = {mode!r}: use 'product' or 'one_at_a_time'.")
    preset = study.get("preset", "realistic")
    base = impairments(preset)
    for knob, values in grid_.items():  # validate every value now, not on a worker
        for v in values:
            if knob == "calibration":
                if v not in CALIBRATIONS:
                    raise SpecError(f"{p}: [grid] calibration = {v!r}: unknown. Fix: use {list(CALIBRATIONS)}.")
            else:
                base.scaled(**{knob: v})
    return {"path": str(p), "study": study, "grid": grid_, "mode": mode, "preset": preset}


def cells(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The study's cells (each a dict of scalars, the cell function's keyword arguments)."""
    from pipeline.study import grid

    s, knobs = config["study"], config["grid"]
    fixed = {k: s[k] for k in TRAINING_PARAMS if k in s and k not in ("datasets", "seeds")}
    fixed.setdefault("preset", config["preset"])
    base = impairments(config["preset"])
    if config["mode"] == "product" or not knobs:
        points = grid(**knobs) if knobs else [{}]
    else:
        points = []
        for knob, values in knobs.items():
            for v in values:
                p = {k: (fixed.get(k, "readout") if k in GRID_TRAINING_AXES else getattr(base, k)) for k in knobs}
                p[knob] = v
                if p not in points:
                    points.append(p)
    return [{"dataset": d, "seed": int(seed), **fixed, **point} for d in s["datasets"] for seed in s["seeds"]
            for point in points]


def run(config_path: str | Path, *, out: str | Path | None = None, scheduler: str | None = None,
        cluster: str | None = None, cluster_config: str | Path | None = None, workers: int | None = None,
        progress: bool = True) -> dict[str, Any]:
    """Run (or resume) a study; returns the study engine's report."""
    from pipeline.execution import open_client
    from pipeline.study import run_study

    cfg = load_config(config_path)
    out_dir = Path(out) if out is not None else Path("results") / cfg["study"].get("name", Path(config_path).stem)
    cell_list = cells(cfg)
    with open_client(scheduler=scheduler, cluster=cluster, workers=workers, config=cluster_config) as client:
        report = run_study(cell_list, CELL_FN, out_dir, client, version=CELL_VERSION, progress=progress)
    report["cells"] = len(cell_list)
    return report

"""photoprop study (workflows/study.py + train_cell) end to end, resume, and the analysis notebook."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline import units_attrs
from pipeline.chip.impairments import impairments
from pipeline.cli.main import app
from pipeline.errors import SpecError
from workflows import study

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
[study]
name = "small"
architecture = "attenuator"
datasets = ["moons"]
seeds = [0, 1]
algorithms = "ideal,offline,insitu"
epochs = 3
n_samples = 120
mode = "one_at_a_time"

[grid]
thermal_crosstalk_scale = [0.0, 2.0]
optical_power = [1e-6, 1e-4]
"""


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        study.load_config(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match=r"\[grid\] heater_colour = \[1\] in .*s.toml: unknown key"):
        study.load_config(_write(tmp_path, SMALL + "heater_colour = [1]\n"))
    with pytest.raises(SpecError, match="seeds"):
        study.load_config(_write(tmp_path, SMALL.replace("seeds = [0, 1]", "seeds = []")))
    with pytest.raises(SpecError, match="optical_power"):  # a value outside the knob's range
        study.load_config(_write(tmp_path, SMALL.replace("[1e-6, 1e-4]", "[-1.0]")))


def test_typo_keys_did_you_mean(tmp_path):
    """A typo'd key names the file and the section and suggests the valid one."""
    p = _write(tmp_path, SMALL.replace("seeds = [0, 1]", "seedz = [0, 1]"), "impairments.toml")
    with pytest.raises(SpecError, match=rf"\[study\] seedz = \[0, 1\] in {p}: unknown key\. Did you mean 'seeds'\?"):
        study.load_config(p)
    p = _write(tmp_path, SMALL.replace("optical_power =", "optical_powr ="), "g.toml")
    with pytest.raises(SpecError, match=r"\[grid\] optical_powr = .* unknown key\. Did you mean 'optical_power'\?"):
        study.load_config(p)
    p = _write(tmp_path, SMALL.replace("[grid]", "[gird]"), "sec.toml")
    with pytest.raises(SpecError, match=r"\[gird\] in .*unknown section\. Did you mean \[grid\]\?"):
        study.load_config(p)
    with pytest.raises(SpecError, match=r"\[study\] mode = 'diagonal'"):
        study.load_config(_write(tmp_path, SMALL.replace("one_at_a_time", "diagonal"), "m.toml"))


def test_grid_points_are_impairment_specs(tmp_path):
    """The grid stays typed until the die: every point is an ImpairmentSpec; the cells'
    flat parameters are made a TrainCell (one ImpairmentSpec) again on the worker."""
    from pipeline.chip.impairments import ImpairmentSpec, impairments
    from workflows.cells import TrainCell

    cfg = study.load_config(_write(tmp_path, SMALL))
    points = cfg.grid.points()
    assert all(isinstance(p.impairments, ImpairmentSpec) for p in points)
    assert points[0].impairments == impairments("realistic", thermal_crosstalk_scale=0.0)
    cell = TrainCell.from_params(study.cells(cfg)[0])
    assert cell.impairments == points[0].impairments and cell.epochs == 3 and cell.seed == 0
    with pytest.raises(SpecError, match=r"cell parameter optical_powr = .*Did you mean 'optical_power'\?"):
        TrainCell.from_params({"dataset": "moons", "optical_powr": 1e-6})


def test_shipped_study_config_loads():
    cfg = study.load_config(study.DEFAULT_CONFIG)
    assert cfg.study.name == "impairments" and cfg.grid.mode == "one_at_a_time"
    assert len(study.cells(cfg)) == 36


def test_one_at_a_time_and_product_grids(tmp_path):
    cfg = study.load_config(_write(tmp_path, SMALL))
    cells = study.cells(cfg)
    # one at a time: (2 + 2 values) minus the shared preset point (crosstalk 1.0 is not listed) -> 4 points
    assert len(cells) == 2 * 4
    assert all(c["epochs"] == 3 and c["architecture"] == "attenuator" for c in cells)
    prod = study.cells(study.load_config(_write(tmp_path, SMALL.replace("one_at_a_time", "product"), "p.toml")))
    assert len(prod) == 2 * 2 * 2
    assert {(c["thermal_crosstalk_scale"], c["optical_power"]) for c in prod} == {
        (0.0, 1e-6), (0.0, 1e-4), (2.0, 1e-6), (2.0, 1e-4)}


def test_calibration_is_a_grid_axis(tmp_path):
    """The hardware algorithms with and without the lab calibration, as a study axis; in
    one-at-a-time mode the other knobs sit at the preset while it varies."""
    text = SMALL.replace("[grid]\n", '[grid]\ncalibration = ["readout", "lab"]\n')
    cells = study.cells(study.load_config(_write(tmp_path, text)))
    lab = [c for c in cells if c["calibration"] == "lab"]
    assert len(lab) == 2 and all(c["thermal_crosstalk_scale"] == 1.0 and c["optical_power"] == 1e-4 for c in lab)
    with pytest.raises(SpecError, match=r"calibration = 'factory'.*Fix: use \['readout', 'lab'\]"):
        study.load_config(_write(tmp_path, text.replace('"lab"]', '"factory"]'), "bad.toml"))


def test_study_runs_resumes_and_feeds_the_notebook(tmp_path):
    cfg = _write(tmp_path, SMALL.replace("one_at_a_time", "product"))
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(app, ["study", "--config", str(cfg), "--out", str(out), "--workers", "2", "--json"])
    assert first.exit_code == 0, first.output
    rep = json.loads(first.stdout[first.stdout.index("{"):])
    assert rep["computed"] == 8 and rep["cached"] == 0
    import pipeline

    res = pipeline.open_results(out)
    acc = res["final_test_accuracy"]
    assert set(acc.dims) >= {"dataset", "seed", "thermal_crosstalk_scale", "optical_power", "algorithm"}
    assert res.sizes["dataset"] == 1  # one dataset: still a dim
    assert np.isfinite(acc.values).all() and ((acc >= 0) & (acc <= 1)).all()
    assert units_attrs.missing(res) == []  # every coordinate and variable: units and long_name
    assert res.optical_power.attrs["units"] == "W" and res.attrs["config.epochs"] == 3
    assert res.attrs["impairments.width_sigma"] == impairments("realistic").width_sigma  # constant knobs
    # resume: delete one cell file; only that cell is recomputed, results identical
    cells = sorted((out / "cells").glob("*.nc"))
    cells[0].unlink()
    second = runner.invoke(app, ["study", "--config", str(cfg), "--out", str(out), "--workers", "1", "--json"])
    rep2 = json.loads(second.stdout[second.stdout.index("{"):])
    assert (rep2["computed"], rep2["cached"]) == (1, 7)
    again = pipeline.open_results(out)
    np.testing.assert_array_equal(again["final_test_accuracy"].values, acc.values)

    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.read(ROOT / "workflows" / "impairment_analysis.ipynb", as_version=4)
    os.environ["PHOTOPROP_RESULTS"] = str(out)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        del os.environ["PHOTOPROP_RESULTS"]
    assert (out / "notebook_accuracy.png").stat().st_size > 1000
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "insitu minus offline" in printed


def test_one_seed_study_keeps_its_seed_dim(tmp_path):
    """The README's ``.mean("seed")`` on a study of one die, one dataset and one grid value."""
    import pipeline

    text = (SMALL.replace("seeds = [0, 1]", "seeds = [3]").replace('"ideal,offline,insitu"', '"ideal"')
            .replace("epochs = 3", "epochs = 1").replace("n_samples = 120", "n_samples = 30")
            .replace("thermal_crosstalk_scale = [0.0, 2.0]\noptical_power = [1e-6, 1e-4]", "optical_power = [1e-4]"))
    cfg = _write(tmp_path, text)
    assert study.dims(study.load_config(cfg)) == ["dataset", "seed", "optical_power"]
    study.run(cfg, out=tmp_path / "one", workers=1, progress=False)
    res = pipeline.open_results(tmp_path / "one")
    acc = res.final_test_accuracy
    assert dict(acc.sizes) == {"dataset": 1, "seed": 1, "optical_power": 1, "algorithm": 1}
    assert float(acc.sel(optical_power=1e-4).mean("seed").squeeze()) == float(acc.squeeze())
    assert units_attrs.missing(res) == []


def test_neuron_kind_reaches_the_cells(tmp_path):
    """`neuron = "ring"` in [study] reaches every cell and its die: the trained history says
    ring; an unknown kind is refused naming the field; no neuron keeps the cells' old params."""
    from workflows.cells import TrainCell, run_cell

    text = SMALL.replace("[study]", '[study]\nneuron = "ring"', 1)
    cfg = study.load_config(_write(tmp_path, text, "ring.toml"))
    cells = study.cells(cfg)
    assert all(c["neuron"] == "ring" for c in cells)
    assert all("neuron" not in c for c in study.cells(study.load_config(_write(tmp_path, SMALL, "mzm.toml"))))
    cell = TrainCell.from_params({**cells[0], "epochs": 1, "algorithms": "ideal", "n_samples": 40})
    assert run_cell(cell).attrs["neuron"] == "ring"
    with pytest.raises(SpecError, match="neuron"):
        study.load_config(_write(tmp_path, SMALL.replace("[study]", '[study]\nneuron = "disk"', 1), "bad.toml"))

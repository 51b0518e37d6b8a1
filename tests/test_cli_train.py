"""`photoprop train` as a user runs it: JSON fields, files written, option errors."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from pipeline import units_attrs
from pipeline.cli.main import app
from pipeline.training.algorithms import ALGORITHMS

runner = CliRunner()


def _run(args):
    res = runner.invoke(app, ["train", *args])
    return res, res.output


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "mons"], "--dataset: dataset = 'mons': unknown dataset"),
    (["--algorithm", "insitu,sgd"], "--algorithm = 'insitu,sgd'"),
    (["--impairments", "perfect"], "--impairments: impairments = 'perfect'"),
    (["--architecture", "lattice"], "--architecture: architecture = 'lattice'"),
    (["--epochs", "0"], "--epochs = 0"),
    (["--lr", "-1"], "--lr = -1.0"),
])
def test_option_errors_name_option_value_fix(args, needle, tmp_path):
    res, out = _run([*args, "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert needle in " ".join(out.split()) and "Fix" in out


def test_malformed_csv_names_line_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("x,y,label\n0.1,0.2,a\n0.3,oops,b\n")
    res, out = _run(["--dataset", str(p), "--out", str(tmp_path)])
    assert res.exit_code == 2
    flat = " ".join(out.split())
    assert "bad.csv, line 3, column 2: 'oops' is not a number" in flat


def test_json_fields_and_files(tmp_path):
    res = runner.invoke(app, ["train", "--dataset", "moons", "--architecture", "attenuator", "--algorithm", "all",
                              "--impairments", "realistic", "--seed", "0", "--epochs", "2", "--out", str(tmp_path),
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)  # progress goes to stderr: stdout is one JSON document
    for key in ("test_accuracy", "train_accuracy", "epochs", "wall_s", "measurements", "paths"):
        assert key in doc
    assert doc["epochs"] == 2 and doc["algorithm"] == "forward-only" and doc["measurements"] > 0
    assert 0 <= doc["test_accuracy"] <= 1 and doc["wall_s"] > 0
    assert set(doc["algorithms"]) == set(ALGORITHMS)
    assert doc["algorithms"]["ideal"]["measurements"] == 0 < doc["algorithms"]["insitu"]["measurements"]
    h = xr.open_dataset(doc["paths"]["history"], engine="h5netcdf")
    assert h["test_accuracy"].dims == ("algorithm", "epoch") and h.sizes["epoch"] == 3
    np.testing.assert_allclose(h["test_accuracy"].sel(algorithm="insitu").values[-1],
                               doc["algorithms"]["insitu"]["test_accuracy"])
    assert not units_attrs.missing(h) and h.attrs["config.epochs"] == 2  # units/long_name, structured config
    h.close()
    for key in ("curves", "decision_boundaries"):
        with open(doc["paths"][key], "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_unseen_csv_multiclass(tmp_path):
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.5]])
    lab = np.repeat(np.arange(3), 40)
    x = centres[lab] + 0.4 * rng.standard_normal((lab.size, 2))
    p = tmp_path / "blobs.csv"
    p.write_text("a,b,kind\n" + "\n".join(f"{u:.4f},{v:.4f},{['red', 'green', 'blue'][k]}"
                                           for (u, v), k in zip(x, lab)))
    res = runner.invoke(app, ["train", "--dataset", str(p), "--algorithm", "ideal", "--epochs", "40",
                              "--out", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["dataset"] == "blobs.csv" and doc["test_accuracy"] >= 0.8
    assert "decision_boundaries" in doc["paths"]


def test_table_output(tmp_path):
    res = runner.invoke(app, ["train", "--dataset", "xor", "--algorithm", "ideal,offline", "--epochs", "1",
                              "--out", str(tmp_path), "--no-plots"])
    assert res.exit_code == 0, res.output
    assert "offline" in res.stdout and "history:" in res.stdout and "curves" not in res.stdout


def test_table_headers_keep_their_units(tmp_path):
    """``[s]`` is rich markup (strike-through): the unit must still be printed."""
    res = runner.invoke(app, ["train", "--dataset", "xor", "--algorithm", "ideal", "--epochs", "1", "--no-plots",
                              "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "test [%]" in res.stdout and "wall [s]" in res.stdout


@pytest.mark.slow  # 38 s; the ring die and its training are covered by tests/test_ring_neuron.py
def test_neuron_option_trains_the_ring_neuron(tmp_path):
    """--neuron ring: the die and the ideal model are the ring neuron's, and the history says
    so; --neuron on another kind or architecture is refused naming the option."""
    res = runner.invoke(app, ["train", "--dataset", "moons", "--algorithm", "ideal,offline", "--neuron", "ring",
                              "--impairments", "ideal", "--epochs", "1", "--no-plots", "--out", str(tmp_path),
                              "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["neuron"] == "ring" and set(doc["algorithms"]) == {"ideal", "offline"}
    with xr.open_dataset(doc["paths"]["history"], engine="h5netcdf") as h:
        assert h.attrs["neuron"] == "ring"
    for args in (["--neuron", "disk"], ["--architecture", "mesh", "--neuron", "ring"]):
        res, out = _run([*args, "--epochs", "1", "--out", str(tmp_path / "bad")])
        assert res.exit_code == 2 and "--neuron" in out and "Fix" in out

"""`photoprop train` as a user runs it: JSON fields, files written, option errors."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from pipeline.cli.main import app

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

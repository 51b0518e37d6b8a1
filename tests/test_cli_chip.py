"""photoprop chip show: a die summary from the device library, as a new user would call it."""

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from pipeline.cli.main import app

runner = CliRunner()


def _json(args):
    res = runner.invoke(app, ["chip", "show", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_ideal_die_has_no_errors_and_realistic_die_has_physical_ones():
    ideal = _json(["--impairments", "ideal"])
    assert ideal["loss_forward_db_max"] == 0 and ideal["crosstalk_nearest"] == 0
    assert ideal["kappa2_mean"] == pytest.approx(0.5, abs=1e-12) and ideal["weight_error_rms"] < 1e-12
    real = _json(["--impairments", "realistic", "--seed", "3"])
    # P_π is the heater co-simulation's (23.5 mW, literature 20-30 mW); crosstalk from the simulated row
    assert 15 < real["p_pi_mw"] < 40
    assert 0 < real["crosstalk_nearest"] < 0.2
    assert 0 < real["kappa2_std"] < 0.1 and 0.3 < real["kappa2_mean"] < 0.7
    assert real["loss_forward_db_mean"] > 0


def test_seeds_give_different_dies_and_the_dataset_is_written(tmp_path):
    a, b = _json(["--seed", "0"]), _json(["--seed", "1"])
    assert a["width_offset_mean_um"] != b["width_offset_mean_um"]
    out = tmp_path / "die.nc"
    doc = _json(["--architecture", "mesh", "--outputs", "2", "--out", str(out)])
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert ds.attrs["architecture"] == "mesh" and "kappa2" in ds
    assert doc["kappa2_mean"] == pytest.approx(float(ds.kappa2.mean()))
    assert np.isfinite(ds.dw.values).all()


def test_bad_options_are_named():
    res = runner.invoke(app, ["chip", "show", "--impairments", "foo"])
    assert res.exit_code == 2 and "impairments" in res.output and "realistic" in res.output
    res = runner.invoke(app, ["chip", "show", "--architecture", "ring"])
    assert res.exit_code == 2 and "architecture" in res.output
    res = runner.invoke(app, ["chip", "show", "--seed", "-1"])
    assert res.exit_code != 0


def test_table_labels_keep_their_units():
    res = runner.invoke(app, ["chip", "show", "--impairments", "ideal"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "forward path loss, mean [dB]" in res.stdout and "heater P_π [mW]" in res.stdout

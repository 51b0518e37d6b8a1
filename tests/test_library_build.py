"""`photoprop library build` (Dask, resumable) and the demo main job on the shipped library."""

import json

import numpy as np
import pytest
from solvers import needs_solver
from typer.testing import CliRunner

from pipeline.cache import DeviceCache
from pipeline.cli.main import app

CONFIG = """
[[entry]]
device = "waveguide"
solver = "meep2d"
spec = { length = 2.0, band = { start = 1.53, stop = 1.57, points = 3 } }
solver_spec = { resolution = 12, material_model = "eim" }
"""


@pytest.mark.meep
def test_library_build_is_resumable(tmp_path):
    needs_solver("meep")
    cfg = tmp_path / "lib.toml"
    cfg.write_text(CONFIG)
    root = tmp_path / "lib"
    args = ["library", "--cache", str(root), "build", "--config", str(cfg), "--workers", "1", "--json"]
    first = CliRunner().invoke(app, [a for a in args if a != "--json"])  # a batch log: one line per entry
    assert first.exit_code == 0, first.output
    assert "[library] 1 entries to build, 0 already in the library" in first.stderr, first.stderr
    assert "[library] entry 1/1 built (" in first.stderr, first.stderr
    entry = DeviceCache(root).read_path(DeviceCache(root).entry_paths()[0])
    assert entry.device_spec.length == 2.0 and entry.solver_spec.resolution == 12
    second = CliRunner().invoke(app, args)
    assert json.loads(second.stdout) == {**json.loads(second.stdout), "skipped": 1, "built": [], "failed": []}
    third = CliRunner().invoke(app, [*args, "--rebuild"])  # recomputes and compares with the entry it replaces
    assert third.exit_code == 0, third.output
    row = json.loads(third.stdout)["built"][0]
    assert not row["cached"] and row["reproduced"] and row["max_abs_dS"] < 1e-3


def test_library_build_rejects_unknown_solver(tmp_path):
    cfg = tmp_path / "lib.toml"
    cfg.write_text('[[entry]]\ndevice = "waveguide"\nsolver = "lumerical"\n')
    res = CliRunner().invoke(app, ["library", "--cache", str(tmp_path), "build", "--config", str(cfg)])
    assert res.exit_code == 2 and "solver = 'lumerical' is unknown" in res.output


def test_demo_on_shipped_library(tmp_path):
    """The MZI switch composed from the cached couplers and heater switches at the heater's
    own P_π (composition vs device figure of merit), with the 3-dB couplers' extinction."""
    import devices.phase_shifter as ps
    from workflows.demo import run_demo

    cache = DeviceCache()  # the shipped library: nothing to simulate
    summary = run_demo(tmp_path / "demo", cache=cache)
    assert summary["library"]["built_now"] == 0
    p_pi = ps.figures_of_merit(cache.get(ps.PhaseShifterSpec(), ps.ThermoOpticSolverSpec()))["p_pi_mw"]
    m = summary["mzi_switch"]
    assert m["switching_power_mw"] == pytest.approx(p_pi, abs=0.5 + 1e-9)  # power grid step 0.5 mW
    assert m["extinction_db"] > 25 and 0 < m["insertion_loss_db"] < 0.5
    assert m["cross_at_0mW_db"] > -0.5  # balanced MZI, unheated: light crosses
    import xarray as xr

    with xr.open_dataset(tmp_path / "demo" / "mzi_switch.nc", engine="h5netcdf") as ds:
        t = ds.transmission.sel(wavelength=1.55, method="nearest")
        assert np.all(t.sum("output") <= 1 + 1e-9)
    assert (tmp_path / "demo" / "mzi_switch.png").stat().st_size > 10_000


def test_rebuild_comparison_states_difference_and_tolerance():
    from workflows.library_build import REBUILD_TOLERANCE, compare_smatrices

    old = np.array([[0.6 + 0.0j, 0.8j], [0.8j, 0.6]])
    same = compare_smatrices(old + 1e-6, old)
    assert same["reproduced"] and same["max_abs_dS"] == pytest.approx(1e-6) and same["tolerance"] == REBUILD_TOLERANCE
    moved = compare_smatrices(old * np.exp(0.01j), old)
    assert not moved["reproduced"] and moved["rel_dS"] == pytest.approx(moved["max_abs_dS"] / 0.8)
    assert compare_smatrices(old[:1], old)["reproduced"] is False

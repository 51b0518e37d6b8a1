"""The main job (photoprop run) end to end on a small configuration: library check, dies,
training cells on a local Dask cluster, results.nc with named dims, plots, claims table."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.errors import SpecError

SMALL = """
[study]
name = "paper-small"
architecture = "attenuator"
datasets = ["moons", "circles"]
seeds = [0, 1, 2]
algorithms = "ideal,offline,insitu"
preset = "realistic"
epochs = 4
n_samples = 120

[sweep]
knob = "optical_power"
values = [1e-7, 1e-4]
sweep_dies = 2

[claims]
min_accuracy = 0.90
max_gap_to_ideal = 0.02
"""


def _shipped_library_complete() -> list[str]:
    from pipeline.cache import DeviceCache
    from workflows.library_build import _is_done, load_items

    cache = DeviceCache()
    return [it.label for it in load_items() if not _is_done(cache, it)]


#: Families whose default spec is not in the shipped library, and why.
NOT_SHIPPED = {"mzi": "the whole-MZI FDTD is a verification device (tests/test_mzi_fdtd.py, slow)"}


def test_every_family_default_is_in_the_shipped_library():
    """`photoprop device simulate NAME` with no options reads the shipped library."""
    import devices
    from pipeline.cache import DeviceCache
    from pipeline.simulate import default_solver, default_solver_settings, solver_spec_class

    cache, missing = DeviceCache(), []
    for family in sorted(set(devices.DEVICES) - set(NOT_SHIPPED)):
        solver = default_solver(family)
        spec = solver_spec_class(solver)(**default_solver_settings(family, solver))
        if cache.get(devices.spec_class(family)(), spec) is None:
            missing.append(f"{family} [{solver}]")
    assert not missing, f"default specs missing from cache/: {missing}. Fix: add them to workflows/library.toml."


def test_main_job_small(tmp_path):
    missing = _shipped_library_complete()
    assert not missing, (f"workflows/library.toml lists entries missing from cache/: {missing[:5]}; the main job "
                         "would run FDTD for them. Fix: `photoprop library build` and commit cache/.")
    cfg = tmp_path / "paper.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(out), "--dies", "2", "--workers", "2",
                                   "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout[res.stdout.index("{"):])
    # 2 datasets x 2 dies at the preset power (1e-4 W) + the 1e-7 W point on moons for 2 dies
    assert summary["cells"] == 2 * 2 + 2 and summary["dies"] == 2
    import pipeline

    ds = pipeline.open_results(out)
    acc = ds["final_test_accuracy"]
    assert set(acc.dims) == {"dataset", "seed", "optical_power", "algorithm"}
    assert list(ds.algorithm.values) == ["ideal", "offline", "insitu"]
    assert ds["test_accuracy"].sizes["epoch"] == 5 and ds["boundary"].sizes["x0"] == 41
    base = acc.sel(optical_power=1e-4)
    assert np.isfinite(base.values).all()
    assert np.isnan(acc.sel(dataset="circles", optical_power=1e-7).values).all()  # not part of the sweep
    for key in ("die_loss_forward_db_mean", "die_p_pi_mw", "die_crosstalk_nearest"):
        assert ds[key].dims == ("seed",)
    rows = {r["dataset"]: r for r in summary["claims"]}
    assert set(rows) == {"moons", "circles"}
    m = rows["moons"]
    assert m["insitu_mean"] == pytest.approx(float(base.sel(dataset="moons", algorithm="insitu").mean()))
    assert m["insitu_above_min"] == (m["insitu_mean"] >= 0.9)
    for name in ("decision_boundaries", "training_curves", "accuracy_vs_impairment"):
        assert (out / f"{name}.png").stat().st_size > 5000
    # a second run reuses every cell
    again = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(out), "--dies", "2", "--json"])
    assert json.loads(again.stdout[again.stdout.index("{"):])["cells_cached"] == summary["cells"]


def test_main_job_config_errors(tmp_path):
    from workflows.paper import load

    with pytest.raises(SpecError, match="no such file"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL.replace("[claims]", "[claimz]"))
    with pytest.raises(SpecError, match=r"\[claims\]"):
        load(bad)

"""The main job (photoprop run) end to end on a small configuration: library check, dies,
training cells (readout and lab calibration) on a local Dask cluster, results.nc with named
dims, plots, claims table per dataset × calibration."""

import json
import os

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
algorithms = "ideal,ideal-best,offline,offline-calibrated,insitu"
calibrations = ["readout", "lab"]
lab_algorithms = "insitu"
preset = "realistic"
epochs = 4
n_samples = 120

[study.die_seed_offsets]
init_seed = 1000
split_seed = 0

[sweep]
knob = "optical_power"
values = [1e-7, 1e-4]
sweep_dies = 2
algorithms = "insitu"
calibration = "lab"

[claims]
subject = "insitu"
min_accuracy = 0.90
equivalence_margin = 0.02
equivalent_to = ["ideal"]
compare_with = ["ideal-best", "offline-calibrated"]
"""
ALGS = ["ideal", "ideal-best", "offline", "offline-calibrated", "insitu"]
LABELS = ["insitu − ideal", "insitu − ideal-best", "insitu − offline-calibrated"]


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
    from pipeline.training import verdicts as vd

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
    # 2 calibrations x 2 datasets x 2 dies at the preset power (readout: every algorithm, lab: insitu)
    # + 1e-7 W on moons, lab calibration, for 2 dies (insitu)
    assert summary["cells"] == 2 * 2 * 2 + 2 and summary["dies"] == 2
    assert summary["die_seeds"] == {"0": {"init_seed": 1000, "split_seed": 0},
                                    "1": {"init_seed": 1001, "split_seed": 1}}
    import pipeline

    ds = pipeline.open_results(out)
    acc = ds["final_test_accuracy"]
    assert set(acc.dims) == {"dataset", "calibration", "seed", "optical_power", "algorithm"}  # per-die seeds: coords
    assert list(ds.algorithm.values) == ALGS and list(ds.dataset.values) == ["moons", "circles"]
    assert list(ds.calibration.values) == ["readout", "lab"]
    assert ds["init_seed"].dims == ("seed",) and list(ds["init_seed"].values) == [1000, 1001]
    assert list(ds["split_seed"].values) == [0, 1]
    assert ds["test_accuracy"].sizes["epoch"] == 5 and ds["boundary"].sizes["x0"] == 41
    base = acc.sel(optical_power=1e-4)
    assert np.isfinite(base.sel(calibration="readout").values).all()
    assert np.isfinite(base.sel(calibration="lab", algorithm="insitu").values).all()
    assert np.isnan(base.sel(calibration="lab", algorithm=ALGS[:-1]).values).all()  # the lab cells: insitu only
    low = acc.sel(dataset="moons", optical_power=1e-7)
    assert np.isfinite(low.sel(calibration="lab", algorithm="insitu").values).all()  # the sweep: lab, insitu
    assert np.isnan(low.sel(calibration="lab", algorithm=["ideal", "offline-calibrated"]).values).all()
    assert np.isnan(low.sel(calibration="readout").values).all()
    assert np.isnan(acc.sel(dataset="circles", optical_power=1e-7).values).all()  # not part of the sweep
    for key in ("die_loss_forward_db_mean", "die_p_pi_mw", "die_crosstalk_nearest"):
        assert ds[key].dims == ("seed",)
    from pipeline import units_attrs

    assert units_attrs.missing(ds) == []  # units and long_name on every coordinate and variable
    assert ds.die_p_pi_mw.attrs["units"] == "mW" and ds.optical_power.attrs["units"] == "W"
    assert ds.attrs["config.study.epochs"] == 4 and ds.attrs["config.sweep.values"].tolist() == [1e-7, 1e-4]

    rows = {(r["dataset"], r["calibration"]): r for r in summary["claims"]}
    assert list(rows) == [(d, c) for d in ("moons", "circles") for c in ("readout", "lab")]
    for d in ("moons", "circles"):
        readout, lab = rows[d, "readout"], rows[d, "lab"]
        assert list(readout["algorithms"]) == ALGS and readout["shared"] == {}
        assert list(lab["algorithms"]) == ["ideal", "ideal-best", "offline-calibrated", "insitu"]  # no offline
        assert lab["shared"] == {"ideal": "readout", "ideal-best": "readout", "offline-calibrated": "readout"}
        for name in ("ideal", "offline-calibrated"):  # the shared ones: the readout cells' values
            assert lab["algorithms"][name]["per_die"] == readout["algorithms"][name]["per_die"]
        for c in lab["comparisons"]:  # lab insitu paired with the readout cells' reference on each die
            per = (base.sel(dataset=d, calibration="lab", algorithm="insitu")
                   - base.sel(dataset=d, calibration="readout", algorithm=c["b"])).values
            assert c["per_die"] == {"0": pytest.approx(per[0]), "1": pytest.approx(per[1])}
        assert [c["label"] for c in lab["comparisons"]] == LABELS
    m = rows["moons", "readout"]
    a = base.sel(dataset="moons", calibration="readout")
    for name, st in m["algorithms"].items():
        v = a.sel(algorithm=name).values
        assert st["mean"] == pytest.approx(v.mean()) and st["min"] == pytest.approx(v.min())
        assert st["ci_low"] <= st["mean"] <= st["ci_high"] and st["n_dies"] == 2
    t = m["min_accuracy"]
    ins = m["algorithms"]["insitu"]
    assert t["passed"] == (ins["mean"] > 0.9 and ins["ci_low"] > 0.9)
    assert [c["label"] for c in m["comparisons"]] == LABELS
    assert [c["claim"] for c in m["comparisons"]] == ["equivalence", "difference", "difference"]
    for c in m["comparisons"]:
        per = (a.sel(algorithm="insitu") - a.sel(algorithm=c["b"])).values
        assert c["per_die"] == {"0": pytest.approx(per[0]), "1": pytest.approx(per[1])}  # paired on each die
        d = vd.paired_difference(a, "insitu", c["b"])  # the verdict follows from those per-die values
        assert (c["ci_low"], c["ci_high"]) == pytest.approx((d.ci_low, d.ci_high))
        assert c["difference_verdict"] == vd.difference_verdict(d).verdict
        assert c["equivalent"] == (-0.02 <= c["ci_low"] and c["ci_high"] <= 0.02)
    assert "offline_worse" not in json.dumps(summary) and "insitu_matches_ideal" not in json.dumps(summary)
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    for name in ("decision_boundaries", "training_curves", "accuracy_vs_impairment"):
        assert (out / f"{name}.png").stat().st_size > 5000
    # a second run reuses every cell and prints the two tables
    again = CliRunner().invoke(app, ["run", "--config", str(cfg), "--out", str(out), "--dies", "2"])
    assert again.exit_code == 0, again.output
    assert json.loads((out / "summary.json").read_text())["cells_cached"] == summary["cells"]
    text = " ".join(again.stdout.split())
    for part in ("95 % CI", "offline-calibrated", "calib.", "readout", "calibration-independent", "wall time"):
        assert part in text, (part, again.stdout)
    assert "equivalent" in text and "offline worse" not in text
    # the two tables in a 100-column terminal: nothing wider, no claim or verdict broken up
    from rich.console import Console

    from pipeline.cli.run_cmd import claims_tables

    con = Console(width=100, record=True, file=open(os.devnull, "w"))
    for table in claims_tables(summary, con.width):
        con.print(table)
    printed = con.export_text()
    assert max(map(len, printed.splitlines())) <= 100
    for part in ("insitu − ideal-best", "insitu − offline-calibrated", "insitu > 90.0 %", "│     lab │"):
        assert part in printed, (part, printed)


def _synthetic(insitu_minus_ideal: np.ndarray) -> "xr.Dataset":
    """A results Dataset shaped like the main job's, insitu = ideal + the given per-die shift."""
    import xarray as xr

    rng = np.random.default_rng(0)
    ideal = 0.93 + 0.03 * rng.standard_normal(10)
    vals = np.stack([ideal, ideal + 0.005, ideal - 0.2, ideal - 0.01, ideal + insitu_minus_ideal], axis=-1)
    acc = xr.DataArray(vals[None, :, None, :], dims=("dataset", "seed", "optical_power", "algorithm"),
                       coords={"dataset": ["moons"], "seed": np.arange(10), "optical_power": [1e-4],
                               "algorithm": ALGS})
    return xr.Dataset({"final_test_accuracy": acc})


@pytest.mark.parametrize("shift, equivalent, vs_ideal", [
    (0.0, True, "inconclusive"),    # identical on every die
    (-0.05, False, "worse"),        # a broken method: 5 points below ideal
    (0.04, False, "better"),        # the one-sided artefact: 4 points ABOVE ideal is not "matches"
])
def test_claims_table_verdicts_follow_the_per_die_differences(shift, equivalent, vs_ideal):
    import tomllib

    from workflows.paper import claims_table

    doc = tomllib.loads(SMALL)
    spread = np.random.default_rng(1).normal(0, 0.003, 10)
    row = claims_table(_synthetic(shift + spread if shift else np.zeros(10)), doc)[0]
    vs = {c["label"]: c for c in row["comparisons"]}
    assert vs["insitu − ideal"]["equivalent"] is equivalent and vs["insitu − ideal"]["passed"] is equivalent
    assert vs["insitu − ideal"]["difference_verdict"] == vs_ideal
    assert vs["insitu − ideal"]["mean"] == pytest.approx(shift + spread.mean() if shift else 0.0)
    assert vs["insitu − offline-calibrated"]["passed"] is None  # a difference, not a claim to pass
    assert set(row["algorithms"]) == set(ALGS) and row["algorithms"]["offline"]["mean"] < 0.8


def test_main_job_config_errors(tmp_path):
    from workflows.paper import load

    with pytest.raises(SpecError, match="no such file"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    cases = [("[claims]", "[claimz]", r"\[claimz\] in .*bad.toml: unknown section\. Did you mean \[claims\]\?"),
             ("sweep_dies = 2", "sweep_die = 2",
              r"\[sweep\] sweep_die = 2 in .*bad.toml: unknown key\. Did you mean 'sweep_dies'\?"),
             ("split_seed = 0", "split_sed = 0", r"\[study.die_seed_offsets\] split_sed = 0 in .*bad.toml: "
                                                 r"unknown key\. Did you mean 'split_seed'\?"),
             ('knob = "optical_power"', 'knob = "optical_powr"', r"\[sweep\] knob = .*Did you mean 'optical_power'"),
             ("values = [1e-7, 1e-4]", "values = [1e-7, -1.0]", r"optical_power"),
             ("min_accuracy = 0.90", "min_acuracy = 0.90", r"\[claims\] min_acuracy = 0.9 .*Did you mean "
                                                           r"'min_accuracy'\?"),
             ("equivalence_margin = 0.02", "", r"equivalence_margin.*Fix"),
             ("seeds = [0, 1, 2]", "seeds = [0]", r">= 2 dies"),
             ('calibration = "lab"', 'calibration = "factory"', r"\[sweep\] calibration = 'factory'.*Fix"),
             ('lab_algorithms = "insitu"', 'lab_algorithms = "ideal,insitu"', r"lab_algorithms.*'ideal'.*Fix")]
    cases += [('calibrations = ["readout", "lab"]', f"calibrations = {value}",
               r"\[study\] calibrations = .*readout.*lab.*Fix")
              for value in ("[]", '["readout", "factory"]', '"lab"', '["lab", "lab"]')]
    for old, new, pattern in cases:
        assert old in SMALL, old
        bad.write_text(SMALL.replace(old, new))
        with pytest.raises(SpecError, match=pattern):
            load(bad)
    from workflows.paper import DEFAULT_CONFIG, cells

    import tomllib

    shipped = load(DEFAULT_CONFIG)  # the shipped file loads, typed
    assert shipped.sweep.knob == "optical_power" and shipped.study.die_seed_offsets.for_die(3) == {
        "init_seed": 1003, "split_seed": 3}
    assert len(cells(shipped)) == len(cells(tomllib.loads(DEFAULT_CONFIG.read_text())))

    with pytest.raises(SpecError, match=r"--dies = 1.*Fix"):
        cells(tomllib.loads(SMALL), dies=1)
    res = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "nope.toml"), "--dies", "1"])
    assert res.exit_code != 0 and "--dies = 1" in res.output

"""pipeline.study on a local 2-worker cluster with a real cell function (coupler splitting
spread of a die from the coupler compact model and sampled fabrication offsets): resume
after deleted cells and after a killed study, a worker killed mid-study, corrupt cell
files, failing cells, and the combined Dataset checked against direct calls."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pipeline.errors import PhotopropError, SpecError
from pipeline import open_results
from pipeline.study import cell_key, cell_path, combine_cells, grid, read_cell, run_study
from study_cells import KILL_DIR_ENV, coupler_spread, set_env

TESTS = Path(__file__).parent
CELLS = grid(seed=[0, 1, 2], width_sigma=[0.0, 0.005])
FN = "study_cells:coupler_spread"


@pytest.fixture(scope="module")
def client():
    from pipeline.execution import open_client

    with open_client(workers=2) as c:
        yield c


def _files(out: Path) -> list[Path]:
    return sorted((out / "cells").iterdir())


def _assert_matches_direct(ds: xr.Dataset, cells: list[dict]) -> None:
    """Every cell of the combined study equals the cell function called here directly."""
    assert set(ds.kappa2.dims) == {"seed", "width_sigma", "coupler", "wavelength"}
    for params in cells:
        ref = coupler_spread(**params)
        got = ds.sel(seed=params["seed"], width_sigma=params["width_sigma"])
        for name in ("kappa2", "dw", "dt", "kappa2_std"):
            np.testing.assert_array_equal(got[name].values, ref[name].values)


def test_cell_key_is_canonical_sha256():
    a, b = {"seed": 1, "width_sigma": 0.005}, {"width_sigma": 0.005, "seed": 1}
    expected = hashlib.sha256(json.dumps({"cell_fn": FN, "params": a, "schema": 1, "version": "1"},
                                         sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert cell_key(a, FN) == cell_key(b, FN) == expected
    assert cell_key(a, FN, version="2") != expected and cell_key(a, FN + "_v2") != expected
    assert cell_key({"seed": 1, "width_sigma": 0.006}, FN) != expected


def test_bad_study_inputs(tmp_path, client):
    cases = [
        ([{"seed": 0}], "study_cells.coupler_spread", r"cell_fn = .*expected 'package.module:function'"),
        ([{"seed": 0}], "no_such_module:f", r"module 'no_such_module' cannot be imported"),
        ([{"seed": 0}], "study_cells:nope", r"study_cells has no 'nope'"),
        ([{"seed": [0, 1]}], FN, r"cells\[0\].seed = \[0, 1\]: parameters must be finite numbers"),
        ([{"seed": float("nan")}], FN, r"cells\[0\].seed = nan"),
        ([{}], FN, r"cells\[0\] = \{\}: a cell is a non-empty dict"),
        ([{"seed": 0}, {"seed": 0}], FN, r"cells\[1\] = \{'seed': 0\} repeats cells\[0\]"),
    ]
    for cells, fn, msg in cases:
        with pytest.raises(SpecError, match=msg):
            run_study(cells, fn, tmp_path, client, progress=False)
    with pytest.raises(SpecError, match="retries = -1"):
        run_study([{"seed": 0}], FN, tmp_path, client, retries=-1)


def test_resume_after_deleted_cells(tmp_path, client):
    out = tmp_path / "study"
    said = []
    first = run_study(CELLS, FN, out, client, progress=True, announce=said.append)  # with the progress bar
    assert (first["computed"], first["cached"], first["failed"]) == (6, 0, [])
    assert said == [f"Dask dashboard: {client.dashboard_link}"] and first["dashboard"].startswith("http://")
    assert [p.stem for p in _files(out)] == sorted(cell_key(c, FN) for c in CELLS)
    ds = open_results(out)
    _assert_matches_direct(ds, CELLS)
    assert json.loads(ds.attrs["study_dims"]) == ["seed", "width_sigma"]
    # width_sigma is the within-die spread: at 0 a die's couplers share one (die-wide) width offset
    spread = ds.dw.std("coupler")
    assert (spread.sel(width_sigma=0.0) == 0).all() and (spread.sel(width_sigma=0.005) > 0.002).all()
    for c in CELLS[1:4:2]:  # delete two finished cells
        cell_path(out, cell_key(c, FN)).unlink()
    again = run_study(CELLS, FN, out, client, progress=False)
    assert (again["computed"], again["cached"]) == (2, 4)
    xr.testing.assert_identical(open_results(out), ds)
    assert run_study(CELLS, FN, out, client, progress=False)["computed"] == 0


def test_killed_study_resumes_without_recomputing(tmp_path, client):
    out = tmp_path / "study"
    script = (f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
              "from pipeline.execution import open_client\nfrom pipeline.study import run_study\n"
              f"with open_client(workers=2) as c:\n"
              f"    run_study({CELLS!r}, 'study_cells:slow_coupler_spread', {str(out)!r}, c, progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while time.time() < deadline and len(list((out / "cells").glob("*.nc"))) < 2 and proc.poll() is None:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the study process and its workers, mid-way
        proc.wait()
    done_before = len(list((out / "cells").glob("*.nc")))
    assert 2 <= done_before < len(CELLS), "the study was not killed mid-way"
    stale = out / "cells" / f".{'0' * 64}.nc.{proc.pid}.deadbeef.tmp"  # a killed writer's half file
    stale.write_bytes(b"\x89HDF half written")
    report = run_study(CELLS, "study_cells:slow_coupler_spread", out, client, progress=False)
    assert report["cached"] == done_before and report["computed"] == len(CELLS) - done_before
    assert report["stale_removed"] == 1 and not stale.exists()
    assert len(_files(out)) == len(CELLS)
    _assert_matches_direct(open_results(out), CELLS)


def test_corrupt_cell_files_are_recomputed(tmp_path, client):
    out = tmp_path / "study"
    run_study(CELLS, FN, out, client, progress=False)
    reference = open_results(out)
    truncated, flipped = (cell_path(out, cell_key(c, FN)) for c in CELLS[:2])
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    raw = bytearray(flipped.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one damaged byte somewhere in the HDF5 payload
    flipped.write_bytes(bytes(raw))
    for p in (truncated, flipped):
        with pytest.raises(PhotopropError, match="truncated or corrupt|checksum"):
            read_cell(p)
    report = run_study(CELLS, FN, out, client, progress=False)
    assert (report["recomputed_corrupt"], report["computed"], report["cached"]) == (2, 2, 4)
    for p in _files(out):
        read_cell(p)  # every file verifies
    xr.testing.assert_identical(open_results(out), reference)


def test_worker_killed_mid_study(tmp_path, client, monkeypatch):
    """Each cell's first run SIGKILLs its worker: the tasks are retried on the restarted
    workers, the study completes, and equals an undisturbed run."""
    kill_dir = tmp_path / "kills"
    kill_dir.mkdir()
    monkeypatch.setenv(KILL_DIR_ENV, str(kill_dir))
    for nanny in (False, True):  # running workers, and the nannies that restart killed ones
        client.run(set_env, KILL_DIR_ENV, str(kill_dir), nanny=nanny)
    cells = CELLS[:3]
    out = tmp_path / "killed"
    try:
        report = run_study(cells, "study_cells:coupler_spread_killer", out, client, progress=False, retries=2)
    finally:
        client.wait_for_workers(2, timeout=60)
    assert len(list(kill_dir.iterdir())) == 3  # every cell killed a worker once
    assert (report["computed"], report["failed"]) == (3, [])
    files = _files(out)
    assert [p.suffix for p in files] == [".nc"] * 3  # no duplicates, no temporaries
    for p in files:
        read_cell(p)
    undisturbed = run_study(cells, FN, tmp_path / "clean", client, progress=False)
    assert undisturbed["computed"] == 3
    xr.testing.assert_equal(open_results(out), open_results(tmp_path / "clean"))


def test_failing_cell_keeps_the_others(tmp_path, client):
    cells = [{"seed": 0, "width_sigma": 0.005}, {"seed": 0, "width_sigma": 0.5}]  # 0.5 µm: outside the knob's range
    with pytest.raises(PhotopropError, match=r"(?s)1 of 2 cells failed.*width_sigma = 0.5 um.*<= 0.02"):
        run_study(cells, FN, tmp_path, client, progress=False, retries=0)
    assert [p.stem for p in _files(tmp_path)] == [cell_key(cells[0], FN)]
    report = run_study(cells, FN, tmp_path, client, progress=False, retries=0, raise_on_failure=False)
    assert report["cached"] == 1 and len(report["failed"]) == 1 and "SpecError" in report["failed"][0]["error"]


def test_sparse_grid_combines_with_nan(tmp_path, client):
    cells = [{"seed": 0, "width_sigma": 0.0, "n_couplers": 4}, {"seed": 1, "width_sigma": 0.005, "n_couplers": 4}]
    run_study(cells, FN, tmp_path, client, progress=False, combine=False)
    ds = combine_cells(tmp_path)
    assert dict(ds.sizes) == {"seed": 2, "width_sigma": 2, "coupler": 4, "wavelength": 5}
    assert int(ds.n_couplers) == 4 and "n_couplers" not in ds.dims  # a constant parameter: scalar coordinate
    assert np.isnan(ds.kappa2.sel(seed=0, width_sigma=0.005)).all()
    np.testing.assert_array_equal(ds.kappa2.sel(seed=1, width_sigma=0.005),
                                  coupler_spread(seed=1, width_sigma=0.005, n_couplers=4).kappa2)


def test_declared_dims_are_kept_with_one_value(tmp_path, client):
    """A one-seed study keeps its ``seed`` dim (length 1): ``.mean("seed")`` works on it; the
    same cells combined without declared dims drop it (what the README's mean would trip on)."""
    cells = [{"seed": 0, "width_sigma": w, "n_couplers": 4} for w in (0.0, 0.005)]
    rep = run_study(cells, FN, tmp_path, client, progress=False, dims=("seed", "width_sigma"),
                    attrs_table={"width_sigma": ("um", "within-die width sigma"),
                                 "n_couplers": ("1", "couplers in the row"), "kappa2_std": ("1", "kappa2 spread")})
    res = open_results(tmp_path)
    assert res.sizes["seed"] == 1 and res.kappa2.dims[:2] == ("seed", "width_sigma")
    mean = res.kappa2.mean("seed")
    np.testing.assert_array_equal(mean.values, res.kappa2.isel(seed=0).values)
    assert json.loads(res.attrs["study_dims"]) == ["seed", "width_sigma"] and rep["results"]
    assert res.width_sigma.attrs == {"units": "um", "long_name": "within-die width sigma"}
    assert res.seed.attrs["long_name"] == "die seed"
    dropped = combine_cells(tmp_path, cells, FN)
    assert "seed" not in dropped.dims
    with pytest.raises(ValueError, match="seed"):
        dropped.kappa2.mean("seed")
    with pytest.raises(SpecError, match=r"dims \['die'\] are not cell parameters"):
        combine_cells(tmp_path, cells, FN, dims=("die",))


def test_progress_in_a_batch_log_is_one_line_per_cell(tmp_path, client, capsys):
    """stderr not a terminal (a batch log): one flushed line per finished cell, counting on from the cached ones."""
    out = tmp_path / "logged"
    run_study(CELLS[:2], FN, out, client, progress=False, announce=lambda m: None)
    run_study(CELLS, FN, out, client, progress=True, announce=lambda m: None)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"[study] logged: {len(CELLS)} cells, 2 already done"
    done = [line for line in err if line.startswith("[study] cell ")]
    assert [line.split()[2] for line in done] == [f"{i}/{len(CELLS)}" for i in range(3, len(CELLS) + 1)]
    assert all(" done (seed=" in line and line.endswith(" s") for line in done)

"""The HDF5 device cache: keys, file format, atomicity, concurrency, damage detection."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from fixture_specs import AnalyticSolverSpec, CirculatorFixtureSpec, circulator_smatrix, compute
from pipeline.cache import DeviceCache, cache_key, key_payload
from pipeline.cache.verify import verify_library
from pipeline.errors import CacheError, SpecError

TESTS = Path(__file__).parent
REPO = TESTS.parent


def _run_py(code: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO}"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, check=True, **kw)


def test_key_is_stable_across_processes_and_specs_equal(monkeypatch):
    dev, sol = CirculatorFixtureSpec(gap=0.25), AnalyticSolverSpec()
    here = cache_key(dev, sol)
    there = _run_py("""
        from fixture_specs import *
        from pipeline.cache import cache_key
        print(cache_key(CirculatorFixtureSpec(gap=0.25), AnalyticSolverSpec()))
    """).stdout.strip()
    assert here == there and len(here) == 64
    # field order / int-vs-float spelling do not change the key; values do
    assert cache_key(CirculatorFixtureSpec(insertion_loss_db=0.5, gap=0.25), sol) == here
    assert cache_key(CirculatorFixtureSpec(gap=0.26), sol) != here
    assert cache_key(dev, AnalyticSolverSpec(resolution=20)) != here
    monkeypatch.setattr(AnalyticSolverSpec, "numerics_versions", {"analytic": 2})  # a backend's numerics bumped
    assert cache_key(dev, sol) != here


def test_key_holds_specs_schema_versions_and_no_execution_flags(tmp_path):
    payload = key_payload(CirculatorFixtureSpec(), AnalyticSolverSpec())
    assert set(payload) == {"device", "device_family", "solver", "solver_name", "schema_version", "numerics"}
    assert payload["numerics"] == {}  # the fixture declares no backend; installed versions never enter
    assert np.__version__ not in json.dumps(payload)
    text = json.dumps(payload)
    for flag in ("overwrite", "workers", "cache", "path", str(tmp_path)):
        assert flag not in text
    # the same spec stored in two different libraries has the same key and file name
    a = DeviceCache(tmp_path / "a").get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(),
                                                   lambda: compute(CirculatorFixtureSpec()))[0]
    b = DeviceCache(tmp_path / "b").get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(),
                                                   lambda: compute(CirculatorFixtureSpec()), overwrite=True)[0]
    assert a.key == b.key and a.path.name == b.path.name


def test_round_trip_and_xarray_opens_entry(cache):
    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, cached = cache.get_or_compute(dev, sol, lambda: compute(dev))
    assert not cached
    assert entry.path == cache.root / "fixture_circulator" / f"{entry.key}.h5"
    again, cached = cache.get_or_compute(dev, sol, lambda: pytest.fail("must not recompute"))
    assert cached
    np.testing.assert_array_equal(again.smatrix.values, circulator_smatrix(dev).values)
    assert again.smatrix.attrs["convention"] == "S[port_out, port_in]"
    assert again.device_spec == dev and again.solver_spec == sol
    for field in ("solver", "versions", "resolution", "wall_time_s", "date_utc", "host"):
        assert field in again.provenance
    assert again.checks["reciprocity_error"] > 0.5  # the fixture is non-reciprocal
    with xr.open_dataset(entry.path, engine="h5netcdf") as ds:
        assert set(ds.data_vars) == {"S_real", "S_imag"}
        np.testing.assert_array_equal(ds.S_real.values + 1j * ds.S_imag.values, circulator_smatrix(dev).values)
        assert json.loads(ds.attrs["device_spec"])["gap"] == 0.2
        assert ds.attrs["key"] == entry.key
    import netCDF4  # the file is netCDF4-compatible, not just HDF5

    with netCDF4.Dataset(entry.path) as nc:
        assert nc.data_model == "NETCDF4"


def _flip_array_bytes(path: Path, values: np.ndarray) -> None:
    raw = bytearray(path.read_bytes())
    needle = np.ascontiguousarray(values, dtype="<f8").tobytes()
    at = bytes(raw).find(needle)
    assert at > 0, "array bytes not found in the file"
    raw[at + 8] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_corrupted_entry_is_detected_naming_the_file(cache):
    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, _ = cache.get_or_compute(dev, sol, lambda: compute(dev))
    _flip_array_bytes(entry.path, np.real(circulator_smatrix(dev).values))
    with pytest.raises(CacheError, match=rf"{entry.path.name}.*checksum mismatch"):
        cache.get(dev, sol)
    with pytest.raises(CacheError, match="checksum"):
        cache.get_or_compute(dev, sol, lambda: compute(dev))


def test_truncated_entry_is_detected(cache):
    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, _ = cache.get_or_compute(dev, sol, lambda: compute(dev))
    size = entry.path.stat().st_size
    with open(entry.path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(CacheError, match=rf"{entry.path.name}.*(unreadable|truncated)"):
        cache.get(dev, sol)


def test_verify_repair_recomputes_or_removes(cache, monkeypatch):
    import pipeline.cache.verify as verify_mod

    devs = [CirculatorFixtureSpec(gap=g) for g in (0.2, 0.3)]
    sol = AnalyticSolverSpec()
    entries = [cache.get_or_compute(d, sol, lambda d=d: compute(d))[0] for d in devs]
    _flip_array_bytes(entries[0].path, np.real(circulator_smatrix(devs[0]).values))
    entries[1].path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)  # header only: unreadable specs
    report = verify_library(cache)
    assert not report["ok"] and [r["status"] for r in report["entries"]] == ["corrupt", "corrupt"] or \
        sorted(r["status"] for r in report["entries"]) == ["corrupt", "corrupt"]

    def simulate(device, solver, *, cache, overwrite):
        return cache.get_or_compute(device, solver, lambda: compute(device), overwrite=overwrite)

    monkeypatch.setitem(verify_mod.SIMULATORS, "analytic_fixture", "fixture_specs_sim:simulate")
    monkeypatch.setitem(sys.modules, "fixture_specs_sim", type(sys)("fixture_specs_sim"))
    sys.modules["fixture_specs_sim"].simulate = simulate
    report = verify_library(cache, repair=True)
    actions = {Path(r["path"]).stem: r["action"] for r in report["entries"]}
    assert actions == {entries[0].key: "recomputed", entries[1].key: "removed"}
    assert report["ok"]
    assert cache.get(devs[0], sol) is not None and cache.get(devs[1], sol) is None
    assert verify_library(cache)["ok"]


WRITER = """
import sys, os, time
from pathlib import Path
from fixture_specs import *
from pipeline.cache import DeviceCache
root, log = Path(sys.argv[1]), Path(sys.argv[2])
def slow():
    with open(log, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(1.0)
    return compute(CirculatorFixtureSpec())
entry, cached = DeviceCache(root).get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(), slow)
print(entry.key, cached)
"""


def test_concurrent_writers_same_key(tmp_path):
    root, log = tmp_path / "lib", tmp_path / "computed.log"
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO}"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(log)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    keys = {o[0].split()[0] for o in outs}
    assert len(keys) == 1
    assert sorted(o[0].split()[1] for o in outs) == ["False", "True"]  # one computed, one reused
    assert len(log.read_text().split()) == 1
    files = list((root / "fixture_circulator").iterdir())
    assert [f.name for f in files if not f.name.startswith(".")] == [f"{keys.pop()}.h5"]
    assert not [f for f in files if ".tmp-" in f.name]
    assert verify_library(DeviceCache(root))["ok"]


KILLED_WRITER = """
import sys, time
from pathlib import Path
import pipeline.cache.store as store
from fixture_specs import *
real = store.write_entry_file
def stalled(path, ds, attrs):
    real(path, ds, attrs)           # the temporary file is complete on disk ...
    print("WRITTEN", flush=True)
    time.sleep(600)                 # ... but the writer dies before publishing it
store.write_entry_file = stalled
store.DeviceCache(Path(sys.argv[1])).get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(),
                                                    lambda: compute(CirculatorFixtureSpec()))
"""


def test_killed_writer_leaves_no_visible_entry(tmp_path):
    root = tmp_path / "lib"
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO}"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(root)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "WRITTEN"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    cache = DeviceCache(root)
    assert cache.entry_paths() == []
    assert cache.get(CirculatorFixtureSpec(), AnalyticSolverSpec()) is None
    assert len(cache.stale_temporaries()) == 1
    assert not verify_library(cache)["ok"]
    assert verify_library(cache, repair=True)["stale_removed"]
    assert cache.stale_temporaries() == [] and verify_library(cache)["ok"]
    # the lock died with the writer: a new process computes the entry normally
    entry, cached = cache.get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(),
                                         lambda: compute(CirculatorFixtureSpec()))
    assert not cached and entry.path.exists()


def test_failed_compute_keeps_existing_entry(cache):
    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, _ = cache.get_or_compute(dev, sol, lambda: compute(dev))

    def boom():
        raise RuntimeError("solver crashed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(dev, sol, boom, overwrite=True)
    assert cache.get(dev, sol).key == entry.key


def test_spec_stored_is_revalidated_on_read(cache):
    import h5py

    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, _ = cache.get_or_compute(dev, sol, lambda: compute(dev))
    with h5py.File(entry.path, "r+") as f:
        f.attrs["device_spec"] = f.attrs["device_spec"].replace('"gap":0.2', '"gap":-1.0')
    with pytest.raises(CacheError):  # checksum covers attrs, spec re-validation too
        cache.get(dev, sol)


@pytest.mark.parametrize(
    "kwargs, field, fix",
    [
        ({"gap": -0.1}, "gap = -0.1 um", "greater than 0"),
        ({"gap": float("nan")}, "gap = nan um", "finite number"),
        ({"gapp": 0.2}, "gapp = 0.2: unknown field", "use one of: gap, insertion_loss_db, band"),
        ({"band": {"start": 1.6, "stop": 1.5}}, "wavelength band reversed", "swap them"),
    ],
)
def test_invalid_specs_name_field_value_and_fix(kwargs, field, fix):
    with pytest.raises(SpecError) as info:
        CirculatorFixtureSpec(**kwargs)
    msg = str(info.value)
    assert field in msg and fix in msg and "Fix" in msg


def test_specs_are_frozen():
    spec = CirculatorFixtureSpec()
    with pytest.raises(Exception):
        spec.gap = 0.3  # type: ignore[misc]


def test_import_pipeline_does_not_import_solvers():
    out = _run_py("""
        import sys, pipeline, pipeline.cli.main
        print(sorted(m for m in ("meep", "tidy3d", "meep.mpb") if m in sys.modules))
    """).stdout.strip()
    assert out == "[]"


def test_any_damaged_byte_is_detected(cache):
    """A flipped byte anywhere — array data, HDF5 metadata, attribute heap or free space —
    is caught by the user-block checksum of the whole file."""
    dev, sol = CirculatorFixtureSpec(), AnalyticSolverSpec()
    entry, _ = cache.get_or_compute(dev, sol, lambda: compute(dev))
    pristine = entry.path.read_bytes()
    rng = np.random.default_rng(0)
    offsets = sorted({0, 20, 600, len(pristine) // 2, len(pristine) - 1, *rng.integers(512, len(pristine), 12)})
    for at in offsets:
        damaged = bytearray(pristine)
        damaged[at] ^= 0x01
        entry.path.write_bytes(bytes(damaged))
        with pytest.raises(CacheError, match=entry.path.name):
            cache.get(dev, sol)
    entry.path.write_bytes(pristine)
    assert cache.get(dev, sol).key == entry.key

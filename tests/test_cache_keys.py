"""Keys on physics, versions as provenance: the shipped library read under faked installed
versions (meep 1.33.0, numpy 2.3.0), the mismatch reported, --strict-versions, the solver
interpreter's versions, numerics bumps, and the migration of an old-key library."""

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipeline.versions as pv
from fixture_specs import AnalyticSolverSpec, CirculatorFixtureSpec, compute
from pipeline.cache import DeviceCache, cache_key
from pipeline.cache.entry_file import read_entry_attrs
from pipeline.cache.key import legacy_cache_key
from pipeline.cli.main import app
from pipeline.errors import SolverError
from pipeline.fdtd.specs import Meep2DSpec
from pipeline.specs import spec_from_json

FAKE = {"meep": "1.33.0", "numpy": "2.3.0"}
runner = CliRunner()


@pytest.fixture
def fake_versions(monkeypatch):
    """The installed versions as another solver build would report them (meep, numpy changed)."""
    real = pv.package_version
    monkeypatch.setenv(pv.SOLVER_PYTHON_ENV, sys.executable)  # solvers here: the local lookup is the one faked
    monkeypatch.setattr(pv, "package_version", lambda name: FAKE.get(name) or real(name))
    return FAKE


@pytest.fixture
def shipped_copy(tmp_path):
    """Three shipped entries (a Meep 2D coupler, the thermo-optic phase shifter, the mode-solver
    waveguide model) copied into a scratch library."""
    root = tmp_path / "lib"
    for family in ("directional_coupler", "phase_shifter", "waveguide_model"):
        src = sorted((DeviceCache().root / family).glob("*.h5"))[0]
        (root / family).mkdir(parents=True)
        shutil.copy2(src, root / family / src.name)
    return DeviceCache(root)


def _specs(path):
    attrs = read_entry_attrs(path)
    return spec_from_json(attrs["device_spec"]), spec_from_json(attrs["solver_spec"])


def test_shipped_keys_do_not_depend_on_installed_versions(fake_versions):
    cache = DeviceCache()
    paths = cache.entry_paths()
    assert len(paths) >= 57
    for path in paths:
        device, solver = _specs(path)
        assert cache_key(device, solver) == path.stem, path
    entry = cache.get(*_specs(paths[0]))  # read normally, though made by meep 1.25 / numpy 1.26
    assert entry is not None and entry.provenance["versions"]["meep"] != FAKE["meep"]


def test_compact_models_read_from_the_shipped_cache_under_other_versions(fake_versions, load_shipped):
    import devices.coupler_model as cm
    import devices.crossing_model as xm
    import devices.photodetector_model as pm

    cache = DeviceCache()
    for module in (cm, pm, xm):
        assert module.model_path(cache).exists(), module.__name__
    model, _ = load_shipped(xm.FAMILY)  # the stored netCDF, never refitted
    assert model is not None


def test_bumping_a_backend_numerics_version_changes_the_key(monkeypatch):
    path = sorted((DeviceCache().root / "directional_coupler").glob("*.h5"))[0]
    device, solver = _specs(path)
    assert cache_key(device, solver) == path.stem
    monkeypatch.setattr(Meep2DSpec, "numerics_versions", {**Meep2DSpec.numerics_versions, "meep-fdtd": 2})
    assert cache_key(device, solver) != path.stem
    assert DeviceCache().get(device, solver) is None  # a miss: the entry must be recomputed


def test_ls_show_verify_report_the_mismatch(fake_versions, shipped_copy):
    root = str(shipped_copy.root)
    res = runner.invoke(app, ["library", "ls", "--cache", root, "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["device"]: r for r in json.loads(res.stdout)["entries"]}
    recorded = json.loads(read_entry_attrs(Path(rows["directional_coupler"]["path"]))["versions"])
    assert rows["directional_coupler"]["versions"] == (f"meep {recorded['meep']}→1.33.0, "
                                                       f"numpy {recorded['numpy']}→2.3.0")
    table = runner.invoke(app, ["library", "--cache", root, "ls"])
    assert table.exit_code == 0 and "1.33.0" in table.stdout

    key = rows["phase_shifter"]["key"]
    doc = json.loads(runner.invoke(app, ["library", "show", key[:10], "--cache", root, "--json"]).stdout)
    assert doc["versions"]["installed"]["meep"] == "1.33.0" and doc["versions"]["recorded"]["meep"] == recorded["meep"]
    assert not doc["versions"]["same"]
    text = runner.invoke(app, ["library", "show", key[:10], "--cache", root]).stdout
    assert "recorded" in text and "1.33.0" in text and "differs" in text

    res = runner.invoke(app, ["library", "verify", "--cache", root, "--json"])
    assert res.exit_code == 0, res.output  # not strict: reported, not a failure
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["version_mismatches"] == 3


def test_strict_versions_fails_on_a_mismatch_and_names_package_and_versions(fake_versions, shipped_copy):
    root = str(shipped_copy.root)
    res = runner.invoke(app, ["library", "verify", "--strict-versions", "--cache", root])
    assert res.exit_code == 1
    out = " ".join(res.stdout.split())
    assert "meep recorded 1.25.0, installed 1.33.0" in out and "strict-versions" in out
    doc = json.loads(runner.invoke(app, ["library", "verify", "--strict-versions", "--cache", root, "--json"]).stdout)
    assert not doc["ok"] and all(r["version_drift"] for r in doc["entries"])


def test_strict_versions_passes_without_the_fake(cache, monkeypatch):
    monkeypatch.setenv(pv.SOLVER_PYTHON_ENV, sys.executable)
    cache.get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(), lambda: compute(CirculatorFixtureSpec()))
    res = runner.invoke(app, ["library", "verify", "--strict-versions", "--cache", str(cache.root)])
    assert res.exit_code == 0, res.output
    assert "library OK" in res.stdout
    real = pv.package_version
    monkeypatch.setattr(pv, "package_version", lambda name: FAKE.get(name) or real(name))
    res = runner.invoke(app, ["library", "verify", "--strict-versions", "--cache", str(cache.root)])
    assert res.exit_code == 1 and "numpy recorded" in " ".join(res.stdout.split())


# -- the solver interpreter ----------------------------------------------------------------
@pytest.fixture
def solver_python(tmp_path, monkeypatch):
    """``make(body)``: an executable script as $PHOTOPROP_SOLVER_PYTHON."""
    pv._interpreter_versions.cache_clear()

    def make(body: str) -> Path:
        path = tmp_path / f"python-{len(list(tmp_path.glob('python-*')))}"
        path.write_text("#!/bin/sh\n" + body + "\n")
        path.chmod(0o755)
        monkeypatch.setenv(pv.SOLVER_PYTHON_ENV, str(path))
        return path

    yield make
    pv._interpreter_versions.cache_clear()


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script interpreter stand-ins")
def test_versions_come_from_the_solver_interpreter(solver_python, tmp_path):
    marker = tmp_path / "asked"
    solver_python(f'echo asked >> {marker}\nexec {sys.executable} "$@"')
    assert pv.solver_versions(["numpy", "scipy"]) == pv.versions(["numpy", "scipy"])
    assert pv.solver_versions(["numpy", "scipy"]) == pv.versions(["numpy", "scipy"])
    assert marker.read_text().split() == ["asked"]  # asked once per process


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script interpreter stand-ins")
def test_new_entries_record_the_solver_interpreters_versions(solver_python, cache):
    solver_python("""echo '{"numpy": "2.3.0"}'""")
    entry, _ = cache.get_or_compute(CirculatorFixtureSpec(), AnalyticSolverSpec(),
                                    lambda: compute(CirculatorFixtureSpec()))
    assert entry.provenance["versions"] == {"numpy": "2.3.0"}
    assert json.loads(entry.data.attrs["versions"]) == {"numpy": "2.3.0"}
    assert entry.provenance["solver_python"].endswith("python-0")


def test_this_interpreter_is_asked_directly(monkeypatch):
    monkeypatch.setenv(pv.SOLVER_PYTHON_ENV, sys.executable)
    monkeypatch.setattr(pv.subprocess, "run", lambda *a, **k: pytest.fail("no subprocess for this interpreter"))
    assert pv.solver_versions(["numpy"]) == pv.versions(["numpy"])


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script interpreter stand-ins")
def test_solver_interpreter_errors_are_clear(solver_python, monkeypatch, tmp_path):
    monkeypatch.setenv(pv.SOLVER_PYTHON_ENV, str(tmp_path / "no-such-python"))
    with pytest.raises(SolverError, match=r"PHOTOPROP_SOLVER_PYTHON = .*no-such-python.*no such executable.*Fix"):
        pv.solver_versions(["meep"])
    solver_python("echo not json; exit 3")
    with pytest.raises(SolverError, match="failed to report package versions.*exit 3"):
        pv.solver_versions(["meep"])
    solver_python("sleep 5")
    monkeypatch.setattr(pv, "SOLVER_PYTHON_TIMEOUT_S", 0.3)
    with pytest.raises(SolverError, match="did not report its package versions within 0.3 s"):
        pv.solver_versions(["meep"])


# -- migration -----------------------------------------------------------------------------
def test_migration_rekeys_entries_and_renames_compact_models(tmp_path):
    """An old-key library (keys hashed with versions) is re-keyed in place; its compact model
    follows under the name its device module computes; a second run changes nothing."""
    import h5py

    import devices.photodetector_model as pm
    from pipeline.cache.migrate import _KeysOf
    from pipeline.library.migrate import migrate_library

    shipped = DeviceCache()
    root = tmp_path / "old"
    old_keys, new_keys = {}, {}
    sweep, solver = pm.PhotodetectorSweepSpec(), pm.default_solver()
    for _, length in sweep.runs():
        device = sweep.device(length)
        src = shipped.path_for(device, shipped.key(device, solver))
        recorded = json.loads(read_entry_attrs(src)["versions"])
        old = legacy_cache_key(device, solver, recorded)
        old_keys[(device.canonical_json(), solver.canonical_json())] = old
        new_keys[old] = src.stem
        entry = shipped.read_path(src)  # rewrite it under its old key, as the old code stored it
        attrs = {k: v for k, v in entry.data.attrs.items() if k != "content_sha256"}
        DeviceCache(root).publish(DeviceCache(root).path_for(device, old), entry.data, {**attrs, "key": old})
    old_model = pm.model_path(_KeysOf(root, old_keys))
    old_model.parent.mkdir(parents=True)
    shutil.copy2(pm.model_path(shipped), old_model)
    with h5py.File(old_model, "r+") as f:
        f.attrs["entries"] = json.dumps({k: {v: o for o, v in new_keys.items()}[v]
                                         for k, v in json.loads(f.attrs["entries"]).items()})

    report = migrate_library(root)
    assert not report["errors"] and len(report["entries"]) == len(new_keys)
    assert sorted(p.stem for p in DeviceCache(root).entry_paths()) == sorted(new_keys.values())
    new_model = pm.model_path(DeviceCache(root))
    assert new_model.name == pm.model_path(shipped).name and new_model.exists() and not old_model.exists()
    with h5py.File(new_model) as f:
        assert sorted(json.loads(f.attrs["entries"]).values()) == sorted(new_keys.values())
    assert all(r["status"] == "ok" for r in (DeviceCache(root).inspect(p) for p in DeviceCache(root).entry_paths()))
    again = migrate_library(root)
    assert again["entries"] == [] and again["models"] == [] and again["unchanged"] == len(new_keys)

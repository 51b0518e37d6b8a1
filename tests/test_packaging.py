"""A non-editable install carries the shipped library and workflow configs, and runs.

The wheel is built from this checkout and installed (without dependencies) into a fresh
virtual environment whose dependencies come from this interpreter's site-packages (a
``.pth`` line), so the test needs no network and sees no source tree: the command runs
from an empty folder with ``PHOTOPROP_CACHE`` unset."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_library_folder_is_packaged():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = cfg["tool"]["setuptools"]["data-files"]
    packaged = {Path(k).name for k in data}
    shipped = {p.name for p in (ROOT / "cache").iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert shipped == packaged, f"add to [tool.setuptools.data-files]: {sorted(shipped - packaged)}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"),
                            str(ROOT)], capture_output=True, text=True, cwd=tmp)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp / "dist").glob("photoprop-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # dependencies from this interpreter's site directories (their .pth files are not processed:
    # no editable photoprop); with system site packages that includes dist-packages
    dirs = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and Path(p).is_dir()]
    Path(site, "deps.pth").write_text("\n".join(dict.fromkeys([sysconfig.get_paths()["purelib"], *dirs])) + "\n")
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                           str(wheel)], capture_output=True, text=True)
    assert inst.returncode == 0, inst.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PHOTOPROP_CACHE", "PYTHONPATH")}
    work = tmp / "elsewhere"
    work.mkdir()
    return venv, env, work


def _run(installed, *args):
    venv, env, work = installed
    return subprocess.run([str(venv / "bin" / "photoprop"), *args], capture_output=True, text=True, env=env,
                          cwd=work, timeout=600)


def test_installed_package_runs_from_its_own_shipped_library(installed):
    venv, env, work = installed
    where = subprocess.run([venv / "bin" / "python", "-c", "import pipeline; print(pipeline.__file__)"],
                           capture_output=True, text=True, env=env, cwd=work, check=True).stdout
    assert str(ROOT) not in where, f"imported the checkout, not the install: {where}"
    version = _run(installed, "--version")
    assert version.returncode == 0 and version.stdout.startswith("photoprop "), version.stderr
    ls = _run(installed, "library", "ls", "--json")
    assert ls.returncode == 0, ls.stderr
    import json

    listing = json.loads(ls.stdout)
    assert len(listing["entries"]) == len(list((ROOT / "cache").glob("*/*.h5")))
    assert str(ROOT) not in listing["root"]
    chip = _run(installed, "chip", "show")
    assert chip.returncode == 0, chip.stdout + chip.stderr
    assert "heater P_π" in chip.stdout


TINY_STUDY = """
[study]
name = "tiny"
architecture = "attenuator"
datasets = ["xor"]
seeds = [0]
algorithms = "ideal,insitu"
epochs = 2
n_samples = 40
mode = "one_at_a_time"

[grid]
optical_power = [1e-6, 1e-4]
"""


def test_installed_package_trains_and_runs_a_study(installed):
    venv, env, work = installed
    train = _run(installed, "train", "--dataset", "xor", "--algorithm", "ideal,insitu", "--epochs", "2", "--json")
    assert train.returncode == 0, train.stdout + train.stderr
    (work / "tiny.toml").write_text(TINY_STUDY)
    study = _run(installed, "study", "--config", "tiny.toml", "--workers", "1", "--out", "tiny-out", "--json")
    assert study.returncode == 0, study.stdout + study.stderr
    import xarray as xr

    with xr.open_dataset(work / "tiny-out" / "results.nc", engine="h5netcdf") as ds:
        assert ds.sizes["optical_power"] == 2 and "final_test_accuracy" in ds


def test_installed_package_carries_the_workflow_configs(installed):
    venv, env, work = installed
    code = "import importlib.resources as r; print(sorted(p.name for p in r.files('workflows').iterdir()))"
    out = subprocess.run([venv / "bin" / "python", "-c", code], capture_output=True, text=True, env=env,
                         cwd=work, check=True).stdout
    for name in ("paper.toml", "impairments.toml", "cluster.toml", "library.toml"):
        assert name in out

"""``--cache DIR`` on every command that reads the device library: after the command (and
before it, for the chip and device groups), from $PHOTOPROP_CACHE, the option winning."""

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.errors import PhotopropError

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
ENV = "PHOTOPROP_CACHE"

#: command → (arguments, the function that does its work, as module and attribute)
COMMANDS = {
    "chip": (["chip", "show"], "pipeline.training.run", "architecture"),
    "train": (["train", "--no-plots"], "pipeline.training.run", "train"),
    "study": (["study"], "workflows.study", "run"),
    "run": (["run"], "workflows.paper", "run_main"),
    "demo": (["demo"], "workflows.demo", "run_demo"),
    "device": (["device", "simulate", "waveguide"], "pipeline.simulate", "simulate"),
}


@pytest.fixture
def seen(monkeypatch):
    """Replace each command's work by a probe recording the library it would read, then stopping."""
    import importlib

    from pipeline.cache import DeviceCache

    got = []

    def probe(*args, **kwargs):
        cache = kwargs.get("cache")
        got.append({"env": os.environ.get(ENV), "default": str(DeviceCache().root),
                    "given": None if cache is None else str(cache.root)})
        raise PhotopropError("stopped by the test")

    for _, module, attr in COMMANDS.values():
        monkeypatch.setattr(importlib.import_module(module), attr, probe)
    return got


@pytest.fixture
def dirs(tmp_path):
    out = {}
    for name in ("option", "env", "group"):
        (tmp_path / name).mkdir()
        out[name] = str((tmp_path / name).resolve())
    return out


def _call(args, env=None):
    res = runner.invoke(app, args, env=env)
    assert res.exit_code == 2 and "stopped by the test" in res.output, res.output
    return res


@pytest.mark.parametrize("name", list(COMMANDS))
def test_option_after_the_command_env_var_and_precedence(name, seen, dirs, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    args = COMMANDS[name][0]
    _call([*args, "--cache", dirs["option"]])
    _call(args, env={ENV: dirs["env"]})
    _call([*args, "--cache", dirs["option"]], env={ENV: dirs["env"]})
    assert [s["env"] for s in seen] == [dirs["option"], dirs["env"], dirs["option"]]
    assert [s["default"] for s in seen] == [s["env"] for s in seen]  # DeviceCache() reads the same folder
    if name in ("demo", "device"):  # the cache handed down explicitly too
        assert [s["given"] for s in seen] == [s["env"] for s in seen]
    assert ENV not in os.environ  # exported for the command only


@pytest.mark.parametrize("group", ["chip", "device"])
def test_option_before_the_sub_command(group, seen, dirs, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    sub = COMMANDS[group][0][1:]
    _call([group, "--cache", dirs["group"], *sub])
    _call([group, "--cache", dirs["group"], *sub, "--cache", dirs["option"]], env={ENV: dirs["env"]})
    _call([group, *sub], env={ENV: dirs["env"]})
    assert [s["env"] for s in seen] == [dirs["group"], dirs["option"], dirs["env"]]


@pytest.mark.parametrize("name", ["chip", "train", "study"])
def test_missing_or_file_library_is_named(name, seen, tmp_path):
    args = COMMANDS[name][0]
    res = runner.invoke(app, [*args, "--cache", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "--cache / $PHOTOPROP_CACHE" in res.output and "no such folder" in res.output
    (tmp_path / "file").write_text("")
    res = runner.invoke(app, [*args, "--cache", str(tmp_path / "file")])
    assert res.exit_code == 2 and "a file, not a folder" in res.output
    assert not seen


def test_chip_show_reads_the_given_library(tmp_path):
    """A real die from a copy of the shipped library, $PHOTOPROP_CACHE pointing nowhere."""
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "cache", lib)
    res = runner.invoke(app, ["chip", "show", "--cache", str(lib), "--json"], env={ENV: str(tmp_path / "nowhere")})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["kappa2_mean"] > 0


def test_local_dask_workers_read_the_given_library(tmp_path, monkeypatch):
    """The study's cells run on local workers: they inherit the exported folder."""
    import workflows.study

    def on_workers(*args, **kwargs):
        from pipeline.execution import open_client

        with open_client(workers=1) as client:
            got = set(client.run(lambda: os.environ.get(ENV)).values())
        raise PhotopropError(f"workers see {got}")

    monkeypatch.setattr(workflows.study, "run", on_workers)
    monkeypatch.delenv(ENV, raising=False)
    res = runner.invoke(app, ["study", "--cache", str(tmp_path)])
    assert f"workers see {{'{tmp_path.resolve()}'}}" in res.output, res.output

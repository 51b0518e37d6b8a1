"""Bracketed text survives typer's rich help and the CLI's error messages: units such as
``[um]`` in help strings, TOML sections such as ``[slurm]`` in errors; ``--version``."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
#: ``[um]`` or an already escaped ``\[um]`` in a help string → the text the reader must see.
BRACKETED = re.compile(r"\\?(\[[^\[\]]+\])")
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}


def _commands(cmd, path: tuple[str, ...] = ()):
    """(path, click command) of the root, every group and every sub-command."""
    yield path, cmd
    if hasattr(cmd, "commands"):  # a group (typer may vendor its own click: no isinstance check)
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


def _expected(cmd) -> set[str]:
    """Every bracketed string of the command's own help and of its parameters' help."""
    texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
    return {m for text in texts for m in BRACKETED.findall(text)}


COMMANDS = list(_commands(typer.main.get_command(app)))


def _flat(text: str) -> str:
    """Help output without panel borders and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def test_every_command_is_checked_and_units_are_found():
    paths = {p for p, _ in COMMANDS}
    assert {("mode",), ("study",), ("chip", "show"), ("library", "build"), ("device", "simulate")} <= paths
    found = set().union(*(_expected(c) for _, c in COMMANDS))
    assert {"[um]", "[px/um]", "[s]", "[study]", "[grid]"} <= found


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "photoprop")
def test_bracketed_help_text_is_shown(path):
    cmd = dict(COMMANDS)[path]
    res = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert res.exit_code == 0, res.output
    out = _flat(res.stdout)
    missing = [s for s in sorted(_expected(cmd)) if _flat(s) not in out]
    assert not missing, f"photoprop {' '.join(path)} --help lost {missing}:\n{res.stdout}"
    assert "\\[" not in out  # escaped once, never twice


def test_error_naming_a_toml_section_keeps_its_brackets(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[slurm]\nqueue = "short"\n')
    res = runner.invoke(app, ["study", "--cluster", "slurm", "--cluster-config", str(bad),
                              "--out", str(tmp_path / "out")], env=WIDE)
    assert res.exit_code == 2
    assert "set cores = 1 in [slurm] of" in _flat(res.stderr), res.stderr


def test_fail_prints_the_message_verbatim():
    from pipeline.cli.common import fail
    from pipeline.errors import SpecError

    probe = typer.Typer()

    @probe.command()
    def boom() -> None:
        fail(SpecError("set cores = 1 in [cluster] of bad.toml; [bold]not markup[/bold] [/]"))

    res = runner.invoke(probe, [], env=WIDE)
    assert res.exit_code == 2
    assert "SpecError: set cores = 1 in [cluster] of bad.toml; [bold]not markup[/bold] [/]" in res.stderr


def test_escape_markup_is_idempotent():
    from pipeline.cli.markup import escape_markup

    once = escape_markup("width [um], [95 % CI], TOML [slurm]/[pbs]")
    assert once == r"width \[um], [95 % CI], TOML \[slurm]/\[pbs]"
    assert escape_markup(once) == once


def test_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"photoprop {importlib.metadata.version('photoprop')}\n"


def test_version_from_pyproject_without_metadata(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    want = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"photoprop {want}\n"

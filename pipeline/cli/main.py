"""The ``photoprop`` command."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from pipeline.cli.library_cmd import library_app
from pipeline.cli.markup import escape_help

warnings.filterwarnings("ignore", message="The value of the smallest subnormal")

app = typer.Typer(
    help="photoprop: FDTD / mode-solver co-simulation of photonic neural networks trained on chip.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(library_app, name="library")


def version() -> str:
    """The installed distribution's version, else (a source tree without metadata) pyproject.toml's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("photoprop")
    except PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text())["project"]["version"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown (no package metadata, no readable pyproject.toml)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"photoprop {version()}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                  help="Print the photoprop version and exit."),
) -> None:
    pass


def _register_optional() -> None:
    """Sub-commands from modules that may not exist yet in a partial checkout."""
    import importlib

    for module, attr, name, kind in (
        ("pipeline.cli.mode_cmd", "mode", "mode", "command"),
        ("pipeline.cli.device_cmd", "device_app", "device", "typer"),
        ("pipeline.cli.demo_cmd", "demo", "demo", "command"),
        ("pipeline.cli.train_cmd", "train", "train", "command"),
        ("pipeline.cli.study_cmd", "study", "study", "command"),
        ("pipeline.cli.run_cmd", "run", "run", "command"),
        ("pipeline.cli.chip_cmd", "chip_app", "chip", "typer"),
    ):
        try:
            obj = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        if kind == "typer":
            app.add_typer(obj, name=name)
        else:
            app.command(name)(obj)


_register_optional()
escape_help(app)

if __name__ == "__main__":
    app()

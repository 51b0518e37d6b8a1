"""The ``photoprop`` command."""

from __future__ import annotations

import warnings

import typer

from pipeline.cli.library_cmd import library_app

warnings.filterwarnings("ignore", message="The value of the smallest subnormal")

app = typer.Typer(
    help="photoprop: FDTD / mode-solver co-simulation of photonic neural networks trained on chip.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(library_app, name="library")


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

if __name__ == "__main__":
    app()

"""Shared CLI helpers: one JSON document on stdout, rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from pipeline.errors import PhotopropError

console = Console()
err_console = Console(stderr=True)


def emit_json(doc: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n")


def fail(exc: Exception | str, code: int = 2) -> NoReturn:
    """Print an error (no traceback) and exit."""
    name = type(exc).__name__ if isinstance(exc, PhotopropError) else "error"
    err_console.print(f"[bold red]{name}:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)

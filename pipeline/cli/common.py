"""Shared CLI helpers: one JSON document on stdout, rich tables for people, the library option."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from pipeline.errors import PhotopropError

console = Console()
err_console = Console(stderr=True)

#: The library folder's environment variable (pipeline.cache.store.ENV_VAR, without importing the cache here).
CACHE_ENV = "PHOTOPROP_CACHE"
CACHE_HELP = "Device library folder (default: $PHOTOPROP_CACHE, else the repository's cache/)."


def emit_json(doc: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(doc, indent=2, default=str, allow_nan=False) + "\n")


def fail(exc: Exception | str, code: int = 2) -> NoReturn:
    """Print an error (no traceback; its text verbatim, brackets such as ``[slurm]`` kept) and exit."""
    name = type(exc).__name__ if isinstance(exc, PhotopropError) else "error"
    err_console.print(f"[bold red]{name}:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def say(message: str) -> None:
    """One progress / status line on stderr, verbatim (no rich markup)."""
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def cache_option(*, envvar: bool = True) -> Any:
    """The ``--cache DIR`` option of a command that reads the device library (``envvar``:
    also from $PHOTOPROP_CACHE; an explicit option wins). Checked by :func:`use_cache`."""
    return typer.Option(None, "--cache", envvar=CACHE_ENV if envvar else None, help=CACHE_HELP,
                        metavar="DIR", show_envvar=False)


def use_cache(ctx: typer.Context, cache: Path | None, *, must_exist: bool = False) -> Any:
    """The :class:`~pipeline.cache.DeviceCache` a command reads: ``cache`` if given, else the
    default ($PHOTOPROP_CACHE, else cache/). A given folder is exported as $PHOTOPROP_CACHE
    until the command (``ctx``) ends, so that code opening the default library (compact models, die
    figures) and the local Dask workers the command starts read the same folder.
    ``must_exist``: commands that only read the library."""
    from pipeline.cache import DeviceCache
    from pipeline.errors import SpecError

    if cache is None:
        return DeviceCache()
    root = Path(cache).expanduser().resolve()
    where = f"--cache / ${CACHE_ENV} = {cache}"
    if root.exists() and not root.is_dir():
        raise SpecError(f"{where}: a file, not a folder. Fix: give the device library's folder (e.g. cache/).")
    if must_exist and not root.is_dir():
        raise SpecError(f"{where}: no such folder. Fix: point it at a device library (e.g. the repository's "
                        "cache/), or build one with `photoprop library build --cache DIR`.")
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root)
    ctx.call_on_close(lambda: _restore(old))
    return DeviceCache(root)


def _restore(old: str | None) -> None:
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old

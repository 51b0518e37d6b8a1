"""Help texts verbatim under typer's rich help: ``[um]`` or ``[slurm]`` are rich markup tags,
and rich drops them. :func:`escape_help` escapes every help string of an app in place."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

import typer
from typer.models import CommandInfo, ParameterInfo

#: An unescaped ``[`` that opens a rich tag (rich.markup.RE_TAGS: a-z, #, / or @, then up to ``]``).
_TAG_OPEN = re.compile(r"(?<!\\)\[(?=[a-z#/@][^\[]*?\])")


def escape_markup(text: str) -> str:
    """``text`` with every rich tag escaped (``[um]`` → ``\\[um]``); idempotent, unlike
    :func:`rich.markup.escape`, so that texts someone already escaped stay as they are."""
    return _TAG_OPEN.sub(r"\\[", text)


def _parameter_infos(callback: Callable[..., Any] | None) -> Iterator[ParameterInfo]:
    if callback is None:
        return
    for param in inspect.signature(callback).parameters.values():
        if isinstance(param.default, ParameterInfo):
            yield param.default
    try:
        hints = typing.get_type_hints(callback, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations: typer reports them itself
        return
    for hint in hints.values():
        yield from (m for m in getattr(hint, "__metadata__", ()) if isinstance(m, ParameterInfo))


def _escape_attrs(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name, None)
        if isinstance(value, str):  # typer's DefaultPlaceholder (an unset value) is left alone
            setattr(obj, name, escape_markup(value))


def escape_help(app: typer.Typer) -> None:
    """Escape rich markup in the help of ``app``, its commands, groups and their parameters,
    recursively and in place (a no-op for apps whose help is not rich markup)."""
    if app.rich_markup_mode == "rich":
        _escape_attrs(app.info, ("help", "epilog"))
        groups = [g for g in (app.registered_callback, *app.registered_groups) if g is not None]
        for info in (*groups, *app.registered_commands):
            _escape_attrs(info, ("help", "short_help", "epilog"))
            callback = getattr(info, "callback", None)
            callback = callback if callable(callback) else None  # DefaultPlaceholder: no callback
            if isinstance(info, CommandInfo) and callback is not None and info.help is None:
                doc = inspect.getdoc(callback)
                if doc and escape_markup(doc) != doc:
                    info.help = escape_markup(doc)
            for param in _parameter_infos(callback):
                _escape_attrs(param, ("help",))
    for group in app.registered_groups:
        if group.typer_instance is not None:
            escape_help(group.typer_instance)

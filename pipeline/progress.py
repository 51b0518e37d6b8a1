"""Progress of long batch work, for people and for batch logs.

On a terminal a rich bar; when stderr is not a terminal (a batch log) one flushed line per
finished item, ``[<tag>] <noun> 12/48 <verb> (<label>) 4.2 s`` (wall time since the start),
or ``FAILED (<first line of the error>)``; nothing at all when disabled."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``advance(label, error=None)``: one finished item.
Advance = Callable[..., None]


@contextmanager
def item_progress(tag: str, noun: str, verb: str, total: int, *, done: int = 0, enabled: bool = True,
                  headline: str, bar_title: str) -> Iterator[Advance]:
    """Yield ``advance(label, error=None)`` for ``total`` items of which ``done`` are already
    finished; ``headline`` opens a batch log, ``bar_title`` names the terminal bar."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if not enabled:
        yield lambda label, error=None: None
        return
    console = Console(stderr=True)
    if not console.is_terminal:
        t0, count = time.perf_counter(), done
        print(f"[{tag}] {headline}", file=sys.stderr, flush=True)

        def line(label: str, error: str | None = None) -> None:
            nonlocal count
            count += 1
            status = verb if error is None else f"FAILED ({(error.splitlines() or [''])[0][:200]})"
            print(f"[{tag}] {noun} {count}/{total} {status} ({label}) {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr, flush=True)

        yield line
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=console) as bar:
        task = bar.add_task(escape(bar_title), total=total, completed=done)
        yield lambda label, error=None: bar.advance(task)

"""Progress of long batch work, for people and for batch logs: a live bar on a terminal,
plain flushed lines on stderr otherwise (:func:`stderr_is_terminal` decides, for both).

* :func:`item_progress` — items of a batch (study cells, library entries, sweep points): a
  rich bar, or one line per finished item, ``[<tag>] <noun> 12/48 <verb> (<label>) 4.2 s``
  (wall time since the start), or ``FAILED (<first line of the error>)``; nothing at all
  when disabled.
* :func:`epoch_progress` — training epochs: a tqdm bar, or :class:`EpochLines`, one line per
  block of epochs, ``[train] epoch 40/120 done (algorithm 1/3) 2.1 s``.
"""

from __future__ import annotations

import math
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
    if not stderr_is_terminal():
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


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (rich's test: honours FORCE_TERMINAL / TTY_INTERACTIVE)."""
    from rich.console import Console

    return Console(stderr=True).is_terminal


class EpochLines:
    """One flushed stderr line per block of epochs (``blocks`` per algorithm, and at the end of
    each algorithm), e.g. ``[train] epoch 40/120 done (algorithm 1/3) 2.1 s``; accepts the
    fractional updates of ``ideal-best``'s restarts."""

    def __init__(self, epochs: int, algorithms: int, blocks: int = 5) -> None:
        self.epochs, self.algorithms = epochs, algorithms
        self.total = epochs * algorithms
        step = max(1, math.ceil(epochs / blocks))
        per_algorithm = sorted({*range(step, epochs, step), epochs})
        self._marks = [a * epochs + k for a in range(algorithms) for k in per_algorithm]
        self._done, self._t0 = 0.0, time.perf_counter()

    def update(self, n: float = 1) -> None:
        self._done += n
        while self._marks and self._marks[0] <= self._done + 1e-9:
            mark = self._marks.pop(0)
            algorithm = min(self.algorithms, math.ceil(mark / self.epochs))
            print(f"[train] epoch {mark}/{self.total} done (algorithm {algorithm}/{self.algorithms}) "
                  f"{time.perf_counter() - self._t0:.1f} s", file=sys.stderr, flush=True)


@contextmanager
def epoch_progress(epochs: int, algorithms: int) -> Iterator[Callable[[float], None]]:
    """``update(n)`` per trained epoch: a tqdm bar on a terminal, :class:`EpochLines` otherwise."""
    if not stderr_is_terminal():
        yield EpochLines(epochs, algorithms).update
        return
    from tqdm import tqdm

    with tqdm(total=epochs * algorithms, desc="train", unit="epoch", file=sys.stderr) as bar:
        yield bar.update

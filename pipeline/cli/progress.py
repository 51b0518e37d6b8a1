"""Progress for people and for batch logs: a live bar on a terminal, plain flushed lines otherwise."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (rich's test: honours FORCE_TERMINAL / TTY_INTERACTIVE)."""
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

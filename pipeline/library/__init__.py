"""The device library layer: the only reader and writer of library data (compact models,
device figures, sweeps through the cache) for pipeline.chip, training, workflows and the CLI.

``Library(cache=None)`` (:mod:`pipeline.library.library`), its compact-model families and
the one read-or-fit recipe (:mod:`pipeline.library.families`), the device figures a die
needs (:mod:`pipeline.library.figures`).
"""

from pipeline.library.families import FAMILIES
from pipeline.library.library import Library

__all__ = ["FAMILIES", "Library"]

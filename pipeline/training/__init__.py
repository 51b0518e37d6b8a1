"""Training on the simulated chip: datasets, algorithms (ideal, offline, in-situ,
forward-only), training history (xarray) and plots.  Algorithms touch a die only through
its measurement interface (:mod:`pipeline.chip.interface`)."""

from pipeline.training.datasets import TrainingData, load

__all__ = ["TrainingData", "load"]

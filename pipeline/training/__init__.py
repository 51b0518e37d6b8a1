"""Training on the simulated chip: datasets, algorithms (ideal, offline, in-situ,
forward-only), training history (xarray) and plots.  Algorithms touch a die only through
its measurement interface (:mod:`pipeline.chip.interface`).

    from pipeline.training import train, summary
    result = train("circles", "attenuator", "ideal,offline,insitu", "realistic", seed=0)
    summary(result)["algorithms"]["insitu"]["test_accuracy"]
"""

from pipeline.training.algorithms import ALGORITHMS, TrainConfig
from pipeline.training.datasets import TrainingData, load
from pipeline.training.run import ARCHITECTURES, compare, summary, train

__all__ = ["ALGORITHMS", "ARCHITECTURES", "TrainConfig", "TrainingData", "compare", "load", "summary", "train"]

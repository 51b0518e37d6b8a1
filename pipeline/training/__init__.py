"""Training on the simulated chip: datasets, algorithms (ideal, offline, in-situ,
forward-only), training history (xarray) and plots.  Algorithms touch a die only through
its measurement interface (:mod:`pipeline.chip.interface`).

    from pipeline.training import train
    result = train("circles", "attenuator", "ideal,offline,insitu", "realistic", seed=0)
    result.final["insitu"]["test_accuracy"]
    paths = result.save("results/train")        # history .nc and plots: a separate step
"""

from pipeline.training.algorithms import ALGORITHMS, TrainConfig
from pipeline.training.datasets import TrainingData, load
from pipeline.training.result import TrainResult
from pipeline.training.run import ARCHITECTURES, compare, summary, train

__all__ = ["ALGORITHMS", "ARCHITECTURES", "TrainConfig", "TrainResult", "TrainingData", "compare", "load", "summary",
           "train"]

"""The CLI's progress helpers are :mod:`pipeline.progress` (one module for the study, the
library build, sweeps and training); this name stays for ``pipeline.cli.train_cmd``'s import."""

from pipeline.progress import EpochLines, epoch_progress, stderr_is_terminal

__all__ = ["EpochLines", "epoch_progress", "stderr_is_terminal"]

"""The chip layer: a die = architecture + layout + impairments sampled once per seed,
touched by training algorithms only through its measurement interface
(:mod:`pipeline.chip.interface`)."""

from pipeline.chip.impairments import IMPAIRMENT_PRESETS, ImpairmentSpec, impairments

__all__ = ["IMPAIRMENT_PRESETS", "ImpairmentSpec", "impairments"]

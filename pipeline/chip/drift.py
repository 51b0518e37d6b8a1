"""Slow phase drift of a die's phase shifters: an independent random walk per phase shifter,
σ(t) = ``phase_drift`` · √t [rad, t in h] (:mod:`pipeline.chip.impairments`).

The clock: the die is calibrated at t = 0 (drift 0, so the calibration measures the die as
it is then), used ``calibration_age`` later, and every detector reading after that advances
time by ``reading_time``.  The drift is applied when the die is (re)programmed, i.e. once per
training step, from the readings taken since the previous step.
"""

from __future__ import annotations

import numpy as np

from pipeline.chip.impairments import ImpairmentSpec


class PhaseDrift:
    """The accumulated drift ``phase`` [rad] of ``n`` phase shifters (an int or a shape) and
    its clock; ``initial``: the drift already accumulated (default 0)."""

    def __init__(self, spec: ImpairmentSpec, n: int | tuple[int, ...], rng: np.random.Generator,
                 initial: np.ndarray | None = None) -> None:
        self.rate = spec.phase_drift  # rad / h^0.5
        self.reading_hours = spec.reading_time / 3600.0
        self.phase = np.zeros(n) if initial is None else np.array(initial, float)
        self.hours = 0.0
        self._rng = rng
        self._readings = 0

    def advance_hours(self, hours: float) -> None:
        """Let ``hours`` [h] pass (random-walk step of σ = rate·√hours)."""
        if hours > 0 and self.rate > 0:
            self.phase = self.phase + self.rate * np.sqrt(hours) * self._rng.standard_normal(self.phase.shape)
        self.hours += max(hours, 0.0)

    def start_clock(self, readings: int) -> None:
        """Count readings from ``readings`` on (the total at the die's first use)."""
        self._readings = int(readings)

    def update(self, readings: int) -> None:
        """Advance by the readings taken since the last update (``readings``: running total)."""
        new = int(readings) - self._readings
        if new > 0:
            self.advance_hours(new * self.reading_hours)
            self._readings = int(readings)

"""How a die's controller drives its heaters, the same for both architectures: the heater
DAC (powers clipped to 0 … full scale and rounded to its grid) and each heater row's
thermal crosstalk matrix (the library's simulated row, :func:`pipeline.library.figures.heater_crosstalk`,
off-diagonals × ``thermal_crosstalk_scale``).

The attenuator die drives 0 … 2 P_π (:mod:`pipeline.chip.attenuator_chip`), the mesh die
0 … 2 ``HEADROOM`` P_π (:mod:`pipeline.chip.mesh_chip`); ``dac_bits`` = 0 is a continuous DAC.
"""

from __future__ import annotations

import numpy as np

try:  # the clip ufunc itself (np.clip's wrappers cost more than the clip on small arrays)
    from numpy._core.umath import clip as _clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip



def dac(power: np.ndarray, full_scale: float, bits: int) -> np.ndarray:
    """Applied heater powers [W]: ``power`` clipped to 0 … ``full_scale`` [W] and rounded to
    the DAC grid full_scale / (2^bits − 1) (``bits = 0``: clipped only)."""
    p = _clip(np.asarray(power, float), 0.0, full_scale)
    if bits:
        step = full_scale / (2 ** bits - 1)
        p = np.round(p / step) * step
    return p


def row_crosstalk(library, rows: list[np.ndarray], pitch: float, scale: float) -> list[np.ndarray]:
    """The (n, n) crosstalk matrix of every heater row (``rows``: heater indices of each row,
    its heaters ``pitch`` [µm] apart; off-diagonals × ``scale``), from ``library`` (a
    :class:`~pipeline.library.Library`)."""
    return [library.heater_crosstalk(len(r), pitch, scale) for r in rows]


def block_crosstalk(library, rows: list[np.ndarray], n_heaters: int, pitch: float, scale: float) -> np.ndarray:
    """(n_heaters, n_heaters) crosstalk of all heaters: :func:`row_crosstalk` of each row on
    its block, 0 between rows (heaters of different rows are too far apart)."""
    out = np.zeros((n_heaters, n_heaters))
    for r, c in zip(rows, row_crosstalk(library, rows, pitch, scale)):
        out[np.ix_(r, r)] = c
    return out

"""Central-difference gradient for checking analytic and in-situ gradients in the tests."""

from __future__ import annotations

from typing import Callable

import numpy as np


def fd_grad(f: Callable[[np.ndarray], float], p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂p_k ≈ (f(p + h e_k) − f(p − h e_k)) / 2h for every k (error O(h²))."""
    g = np.zeros_like(p)
    for k in range(p.size):
        e = np.zeros_like(p)
        e[k] = h
        g[k] = (f(p + e) - f(p - e)) / (2 * h)
    return g

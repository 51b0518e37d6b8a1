"""Exact guided modes of symmetric 2D slab stacks, TE-in-plane polarization (Hz).

In a 2D simulation in the x–y plane with propagation along x, "TE" means H = Hz and E
in-plane; across the guide (y) the field is E_y-dominant, i.e. E *normal* to the core
boundaries (the planar-optics "TM" case). Boundary conditions: Hz and (1/n²) dHz/dy
continuous. Used by the 2D material model and as the prior of FDTD phase unwrapping.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import brentq


def _dispersion(neff: float, k0: float, layers: Sequence[tuple[float, float]], n_out: float,
                even: bool) -> float:
    """Residual of the mirror condition at y=0 after integrating inwards from the outer
    cladding. ``layers``: ((n, thickness [µm]), …) from the centre outwards."""
    h, dh = 1.0, -k0 * np.sqrt(neff**2 - n_out**2)
    u = dh / n_out**2
    for n, d in reversed(layers):
        dh = u * n**2
        q2 = k0**2 * (neff**2 - n**2)
        if q2 > 0:
            q = np.sqrt(q2)
            c, s = np.cosh(q * d), np.sinh(q * d)
            h, dh = h * c - dh * s / q, -h * q * s + dh * c
        else:
            k = np.sqrt(-q2)
            c, s = np.cos(k * d), np.sin(k * d)
            h, dh = h * c - dh * s / k, h * k * s + dh * c
        norm = abs(h) + abs(dh) / k0
        h, dh = h / norm, dh / norm
        u = dh / n**2
    return dh if even else h


def slab_neff(wavelength: float, layers: Sequence[tuple[float, float]], n_out: float,
              even: bool = True, samples: int = 2000) -> float:
    """Largest effective index of the even (or odd) Hz mode [1]; NaN if none is guided."""
    k0 = 2 * np.pi / wavelength
    nmax = max(n for n, _ in layers)
    if nmax <= n_out:
        return float("nan")
    grid = np.linspace(nmax - 1e-10, n_out + 1e-10, samples)
    vals = [_dispersion(n, k0, layers, n_out, even) for n in grid]
    for i in range(samples - 1):
        if np.sign(vals[i]) != np.sign(vals[i + 1]):
            return float(brentq(_dispersion, grid[i + 1], grid[i], args=(k0, layers, n_out, even), xtol=1e-14))
    return float("nan")


def single_neff(wavelength: float, width: float, n_core: float, n_clad: float) -> float:
    """TE0 (Hz) effective index of one slab core of ``width`` [µm]."""
    return slab_neff(wavelength, [(n_core, width / 2)], n_clad, even=True)


def pair_neffs(wavelength: float, width: float, gap: float, n_core: float,
               n_clad: float) -> tuple[float, float]:
    """(even, odd) Hz supermode indices of two identical cores separated by ``gap`` [µm]."""
    layers = [(n_clad, gap / 2), (n_core, width)]
    return (slab_neff(wavelength, layers, n_clad, even=True),
            slab_neff(wavelength, layers, n_clad, even=False))


def coupling_length(wavelength: float, width: float, gap: float, n_core: float, n_clad: float) -> float:
    """L_c = λ / (2 |Δn|) [µm] of the 2D coupled slab pair."""
    ne, no = pair_neffs(wavelength, width, gap, n_core, n_clad)
    return wavelength / (2 * abs(ne - no))


def te_slab_neff(wavelength: float, thickness: float, n_core: float, n_clad: float) -> float:
    """TE0 effective index of a vertical slab (E parallel to the interfaces) [1] — the first
    step of the classical effective-index method."""
    k0 = 2 * np.pi / wavelength

    def f(n: float) -> float:
        kap, gam = k0 * np.sqrt(n_core**2 - n**2), k0 * np.sqrt(n**2 - n_clad**2)
        return kap * np.sin(kap * thickness / 2) - gam * np.cos(kap * thickness / 2)

    grid = np.linspace(n_core - 1e-10, n_clad + 1e-10, 4000)
    vals = [f(n) for n in grid]
    for i in range(grid.size - 1):
        if np.sign(vals[i]) != np.sign(vals[i + 1]):
            return float(brentq(f, grid[i + 1], grid[i], xtol=1e-14))
    return float("nan")

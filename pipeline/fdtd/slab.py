"""Exact guided modes of symmetric 2D slab stacks for the 2D FDTD material model.

In a 2D simulation in the x–y plane with propagation along x, "TE" means H = Hz and E
in-plane; across the guide (y) the field is E_y-dominant, i.e. E *normal* to the core
boundaries: the planar-optics "TM" case (Hz and (1/n²) dHz/dy continuous). The
transfer-matrix solver itself is :func:`pipeline.modes.coupling.slab_modes`; this module
only states the stacks. Used by the 2D material model and as the prior of FDTD phase
unwrapping.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.modes.coupling import slab_modes


def slab_neff(wavelength: float, layers: Sequence[tuple[float, float]], n_out: float,
              even: bool = True) -> float:
    """Largest effective index of the even (or odd) Hz mode of a mirror-symmetric stack;
    ``layers`` = ((n, thickness [µm]), …) from the centre outwards (the first is the half
    thickness of the central layer). NaN if no such mode is guided. In a symmetric stack
    the modes, sorted by n_eff, alternate even, odd, even …"""
    (n0, d0), *outer = layers
    indices = [n_out, *[n for n, _ in reversed(outer)], n0, *[n for n, _ in outer], n_out]
    thicknesses = [*[d for _, d in reversed(outer)], 2 * d0, *[d for _, d in outer]]
    modes = slab_modes(indices, thicknesses, wavelength, pol="TM")
    k = 0 if even else 1
    return float(modes[k]) if modes.size > k else float("nan")


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
    step of the classical effective-index method. NaN if not guided."""
    modes = slab_modes([n_clad, n_core, n_clad], [thickness], wavelength, pol="TE")
    return float(modes[0]) if modes.size else float("nan")

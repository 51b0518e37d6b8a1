"""Waveguide crossings of a planar weight-bank fan-out: how many, on which path, and who
leaks into whom.

Layout rule ("transpose fan-out").  A layer has ``C`` source channels (index c, the bias
channel last), each split 1×D by its own splitter tree (D = neurons of the layer, index
d).  The trees are stacked in channel order, each tree's leaves in neuron order, so the
leaves leave the trees channel-major (position c·D + d).  The weight MZIs sit in one
column neuron-major (position d·C + c: a neuron's MZIs are adjacent, so its detector
pairs share one node).  Every wire runs monotonically from its leaf to its MZI in the one
Si routing layer, so two wires (c, d) and (c', d') cross iff their order is reversed,
(c − c')(d − d') < 0, and then exactly once — the inversion count of the permutation,
the minimum any planar routing of it needs.  Per path:

    crossings(c, d) = c·(D − 1 − d) + (C − 1 − c)·d,

e.g. 2 inputs + bias into 8 neurons: channel 0 → neuron d passes 2d crossings, the
middle channel 7 on every path, the bias channel 2(7 − d); 84 crossings in all
(C(3,2)·C(8,2)).  A layer with one neuron (D = 1) has none.

Crosstalk (incoherent: the channels are mutually incoherent — different wires' light
only adds in power on a detector).  At each crossing a fraction X of a wire's launched
power leaks into the crossing wire's forward direction and lands, through that wire's
MZI, on that wire's detector pair.  Multiplicities: wire (c, d) receives leaked light of
channel c' from

    m(d, c, c') = D − 1 − d  if c' < c,   d  if c' > c,   0  if c' = c

crossings (Σ_c' m = crossings(c, d)).  Bookkeeping approximation: leaked light is given the
victim path's whole loss (routing, splitter stages, crossings, MZI, detector).  Both
wires have the same routing and splitter losses, so this only trades the crossings the
aggressor passed before the crossing for those the victim passes after it — an error of a
few crossing insertion losses on a ~1e-4 term; second-order leaks (X²) are neglected.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import SpecError


def _sizes(n_channels: int, n_dest: int) -> tuple[int, int]:
    c, d = int(n_channels), int(n_dest)
    if c < 1 or d < 1:
        raise SpecError(f"fan-out of n_channels = {n_channels} to n_dest = {n_dest}: both must be >= 1. "
                        "Fix: pass the layer's channel count (inputs + bias) and its neuron count.")
    return c, d


def crossings(n_channels: int, n_dest: int) -> np.ndarray:
    """(n_dest, n_channels) crossings on the path of channel c to neuron d:
    c·(D − 1 − d) + (C − 1 − c)·d (module doc: the layout rule)."""
    c_n, d_n = _sizes(n_channels, n_dest)
    c = np.arange(c_n)[None, :]
    d = np.arange(d_n)[:, None]
    return c * (d_n - 1 - d) + (c_n - 1 - c) * d


def leak_multiplicity(n_channels: int, n_dest: int) -> np.ndarray:
    """(n_dest, n_channels, n_channels) m[d, c, c']: crossings where a wire of channel c'
    crosses the path of channel c to neuron d (module doc)."""
    c_n, d_n = _sizes(n_channels, n_dest)
    d = np.arange(d_n)[:, None, None]
    c = np.arange(c_n)[None, :, None]
    c2 = np.arange(c_n)[None, None, :]
    return np.where(c2 < c, d_n - 1 - d, np.where(c2 > c, d, 0))


def total_crossings(n_channels: int, n_dest: int) -> int:
    """Crossings of the whole fan-out, C(C, 2)·C(D, 2)."""
    c_n, d_n = _sizes(n_channels, n_dest)
    return c_n * (c_n - 1) // 2 * (d_n * (d_n - 1) // 2)

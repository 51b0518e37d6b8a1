"""Ring–bus coupler of a microring: the bottom half of the ring beside a straight bus,
simulated by the 2D calibrated Meep engine (:mod:`pipeline.fdtd.simulate`), and the whole
ring in one cell (the check of the composition).

Coupling region (ring centre at ``(0, yc)``, ``yc = bus_width/2 + gap + ring_width/2 + R``)::

            o2 ┃                 ┃ o3        ring ports at (∓R, yc), facing +y
               ╰╮               ╭╯
                 ╰─────────────╯            bottom half of the ring (angles π … 2π)
    o1 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ o4  bus, y = 0, ports at x = ∓(R + w/2 + bus_extension)

Light entering o1 leaves at o4 (``t``, self-coupling) or at o3 (``κ``, into the ring,
counter-clockwise). The ring wave enters at o2 and leaves at o3 (``t_ring``) or o4.
Mirror x = 0: o1↔o4 (x-ports, s = +1), o2↔o3 (y-ports: the plane contains their axis,
s = −1 for TE0, :mod:`pipeline.fdtd.layout`), so two runs (o1, o2) give the 4×4 S.

S[o3, o2] contains the half ring's propagation, its 180° turn (the in-plane E of TE0 is
a polar vector: the turn maps the port profile onto −itself, a factor −1) and the
coupling's own phase. :func:`coupling` removes the propagation exp(i β_2D π R) of the
straight 2D slab that the engine simulates (exact slab solve with the media the run
used), so that the composition (:mod:`pipeline.circuit.ring`) can put the waveguide
model's β on the whole circumference; the remainder ``excess_phase`` ≈ π (the turn)
plus the coupling/bend phase.

Phases between an x- and a y-port carry the mode solver's profile phase of the y
orientation (layout docs); they cancel in the ring (every closed path enters and leaves
the ring ports once each), so only |κ| is reported.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from pydantic import model_validator

from pipeline.fdtd.layout import Layout, Mirror, Port, Rect, arc_polygon
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Bends radiate: no unitarity check.
LOSSLESS = False
#: Coupler port order (matrix order of the S-matrix).
PORTS = ("o1", "o2", "o3", "o4")


class RingCouplerSpec(DeviceSpec):
    """Bottom half of a ring of centre-line ``radius`` beside a straight bus."""

    device: ClassVar[str] = "ring_coupler"
    radius: float = quantity(7.5, "um", "ring centre-line radius", ge=2.0, le=100.0)
    gap: float = quantity(0.2, "um", "edge-to-edge gap between bus and ring at the closest point", gt=0.05, le=1.5)
    ring_width: float = quantity(0.5, "um", "ring core width", gt=0.2, le=2.0)
    bus_width: float = quantity(0.5, "um", "bus core width", gt=0.2, le=2.0)
    thickness: float = quantity(0.22, "um", "Si layer thickness", gt=0.1, le=1.0)
    bus_extension: float = quantity(1.0, "um", "bus length beyond the ring's outer edge on each side "
                                    "(design choice: the bus–ring field overlap is < 1e-4 there)", ge=0.2, le=20.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the FDTD S-matrix")

    @model_validator(mode="after")
    def _geometry(self) -> "RingCouplerSpec":
        if self.ring_width >= self.radius:
            raise ValueError(f"ring_width = {self.ring_width} um must be below radius = {self.radius} um. "
                             "Fix: a larger radius or a narrower ring.")
        return self

    @property
    def ring_centre_y(self) -> float:
        """y of the ring centre [µm] (bus centre at y = 0)."""
        return 0.5 * self.bus_width + self.gap + 0.5 * self.ring_width + self.radius


Spec = RingCouplerSpec


def layout(spec: RingCouplerSpec) -> Layout:
    """Coupling region: bus + bottom half ring, ports o1..o4 (see module doc)."""
    r, yc = spec.radius, spec.ring_centre_y
    xb = r + 0.5 * spec.ring_width + spec.bus_extension
    shapes = (Rect(0.0, 0.0, 2 * xb, spec.bus_width), arc_polygon(0.0, yc, r, spec.ring_width, math.pi, 2 * math.pi))
    ports = (Port("o1", -xb, 0.0, "-x", spec.bus_width), Port("o2", -r, yc, "+y", spec.ring_width),
             Port("o3", r, yc, "+y", spec.ring_width), Port("o4", xb, 0.0, "+x", spec.bus_width))
    return Layout(backward_mode_solve=True, shapes=shapes, ports=ports, bbox=(-xb, xb, -0.5 * spec.bus_width, yc),
                  thickness=spec.thickness, core_width=spec.ring_width,
                  symmetries=(Mirror("x", 0.0, (("o1", "o4"), ("o2", "o3"))),))


def simulate(spec: RingCouplerSpec, solver: Any, *, cache: Any, timeout_s: float = 1800.0,
             overwrite: bool = False) -> tuple[Any, bool]:
    """The coupler's FDTD S-matrix through ``cache`` (the generic Meep engine's
    ``compute_smatrix``, each run in the solver interpreter): ``(entry, cached)``."""
    from pipeline.fdtd.simulate import compute_smatrix

    lay = layout(spec)
    return cache.get_or_compute(spec, solver, lambda: compute_smatrix(spec, solver, lay, timeout_s=timeout_s,
                                                                      lossless=LOSSLESS), overwrite=overwrite)


def beta_2d(entry: Any, wavelengths: np.ndarray) -> np.ndarray:
    """β [rad/µm] of the straight 2D slab (ring width) in the media the run used (exact slab solve)."""
    from pipeline.fdtd import slab

    mm = entry.provenance["material_model"]
    if mm["core_medium"]["sigma"] or mm["clad_medium"]["sigma"]:
        raise NotImplementedError("ring coupler de-embedding needs constant-index 2D media "
                                  "(Meep2DSpec dispersive = False, the default).")
    nc, ncl = math.sqrt(mm["core_medium"]["eps_inf"]), math.sqrt(mm["clad_medium"]["eps_inf"])
    w = entry.device_spec.ring_width
    return np.array([2 * np.pi / lam * slab.single_neff(float(lam), w, nc, ncl) for lam in wavelengths])


def coupler_smatrix(entry: Any) -> tuple[np.ndarray, float]:
    """The coupler's S (wavelength, out, in; port order o1..o4) as simulated, and the
    reciprocity check between a ring-port source and a bus-port source,
    max |g − 1| with g = |S[o4,o2]| / |S[o3,o1]| (recorded, never applied).

    History: an earlier version divided the ring-port columns by g. The 5–25 % excess it
    hid was the engine's incident amplitude of a source on a +y facing port (Meep's
    time-reversed backward mode coefficient, sub-pixel dependent), fixed in
    :mod:`pipeline.fdtd.meep_backend` (``BACKWARD_MODE_SOLVE``); g − 1 is now the grid's
    reciprocity residual (< 1 % at 30 px/µm)."""
    s = np.asarray(entry.smatrix.transpose("wavelength", "port_out", "port_in").sel(
        port_out=list(PORTS), port_in=list(PORTS)).values).copy()
    g = np.abs(s[:, 3, 1]) / np.abs(s[:, 2, 0])
    return s, float(np.max(np.abs(g - 1)))


def coupling(entry: Any) -> dict[str, Any]:
    """Per FDTD wavelength [µm]: |t| (bus self-coupling, o1→o4), |κ| (o1→o3), |t_ring|
    (o2→o3), ``excess_phase`` [rad] of t_ring after
    removing exp(i β_2D π R), and the coupler's own loss 1 − |t|² − |κ|² (bus input)."""
    s, g_err = coupler_smatrix(entry)
    wl = np.asarray(entry.smatrix.wavelength.values)
    t, k, tr = s[:, 3, 0], s[:, 2, 0], s[:, 2, 1]
    excess = np.unwrap(np.angle(tr * np.exp(-1j * beta_2d(entry, wl) * np.pi * entry.device_spec.radius)))
    excess = excess - 2 * np.pi * np.floor(excess[len(excess) // 2] / (2 * np.pi))  # centre value in [0, 2π)
    return {"wavelength": wl, "t": np.abs(t), "kappa": np.abs(k), "t_ring": np.abs(tr), "excess_phase": excess,
            "loss": 1 - np.abs(t) ** 2 - np.abs(k) ** 2, "reciprocity_ratio_error": g_err, "smatrix": s}


def ring_layout(radius: float, gap: float, ring_width: float, bus_width: float, thickness: float,
                bus_extension: float, drop_gap: float | None = None) -> Layout:
    """The whole ring in one FDTD cell: bus (o1 in, o2 through) and, for an add-drop ring,
    a top bus (o3 drop at its left end, o4 add at its right). Mirror x = 0."""
    yc = 0.5 * bus_width + gap + 0.5 * ring_width + radius
    xb = radius + 0.5 * ring_width + bus_extension
    shapes: list[Any] = [Rect(0.0, 0.0, 2 * xb, bus_width),
                         arc_polygon(0.0, yc, radius, ring_width, math.pi, 2 * math.pi),
                         arc_polygon(0.0, yc, radius, ring_width, 0.0, math.pi)]
    ports = [Port("o1", -xb, 0.0, "-x", bus_width), Port("o2", xb, 0.0, "+x", bus_width)]
    mapping: list[tuple[str, str]] = [("o1", "o2")]
    ytop = yc + radius + 0.5 * ring_width + (drop_gap or 0.0) + 0.5 * bus_width
    if drop_gap is not None:
        shapes.append(Rect(0.0, ytop, 2 * xb, bus_width))
        ports += [Port("o3", -xb, ytop, "-x", bus_width), Port("o4", xb, ytop, "+x", bus_width)]
        mapping.append(("o3", "o4"))
    ymax = ytop + 0.5 * bus_width if drop_gap is not None else yc + radius + 0.5 * ring_width
    return Layout(backward_mode_solve=True, shapes=tuple(shapes), ports=tuple(ports), bbox=(-xb, xb, -0.5 * bus_width, ymax),
                  thickness=thickness, core_width=ring_width, symmetries=(Mirror("x", 0.0, tuple(mapping)),))

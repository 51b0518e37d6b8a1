"""Waveguide crossing (4 ports): spec, FDTD layout and figures of merit.

Two orthogonal Si strips of ``width`` crossing at the origin. Each arm widens from
``width`` at its port to ``taper_width`` over ``taper_length`` towards the centre
(``taper_shape``: parabolic — width² linear along the arm, a horn that opens fast near
the narrow end — or linear): the wider beam diffracts less across the gap the other arm
cuts through it. ``taper_width == width`` is the plain 90° crossing (the baseline).

Measured (2D calibrated model, 1.55 µm, IL = insertion loss, XT = worst crosstalk):
plain crossing IL 1.19 dB, XT −13.5 dB (30 px/µm); linear 1.6 µm / 4 µm taper IL 1.01 dB,
XT −35.7 dB (30 px/µm); parabolic (default) IL 0.77 dB, XT −41.9 dB, reflection −30 dB
(30 px/µm; 0.78 dB / −40 dB at 20 px/µm).

Ports (counter-clockwise from the west, gdsfactory order)::

                 o2 (+y)
                  │
       o1 (−x) ───┼─── o3 (+x)
                  │
                 o4 (−y)

Through paths o1→o3 and o2→o4; crosstalk o1→o2 / o1→o4. Mirrors x = 0 (o1↔o3) and
y = 0 (o2↔o4): two runs (from o1 and from o2). The 4-fold symmetry of the device is NOT
used: the o2 run independently re-measures the x-port block through y-ports (a check of
the ±y port machinery).

Material model: the 2D "calibrated" model is fitted to a 500×220 nm strip (n_eff and
the coupled-pair splitting at 0.25 µm gap); it is used as is for the wider taper
sections, where it is an extrapolation (the lateral index step n_c/n_b of the effective
medium is larger than the real strip's).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from pipeline.fdtd.layout import Layout, Mirror, Polygon, Port, Rect
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: A crossing scatters light out of the guides: no unitarity check.
LOSSLESS = False


class CrossingSpec(DeviceSpec):
    """A symmetric 90° crossing of two Si strips with linear multimode tapers."""

    device: ClassVar[str] = "crossing"
    width: float = quantity(0.5, "um", "core width of the four port waveguides", gt=0.05, le=5.0)
    thickness: float = quantity(0.22, "um", "core (Si layer) thickness", gt=0.02, le=2.0)
    taper_width: float = quantity(1.6, "um", "arm width at the crossing centre (= width: plain crossing)",
                                  gt=0.05, le=5.0)
    taper_length: float = quantity(4.0, "um", "length of each linear taper (port side → centre)", ge=0, le=50.0)
    taper_shape: Literal["linear", "parabolic"] = quantity(
        "parabolic", "1", "taper profile: parabolic (width² linear along the arm) or linear")
    arm_length: float = quantity(5.0, "um", "distance from the crossing centre to each port plane", gt=0, le=100.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _geometry(self) -> "CrossingSpec":
        if self.taper_width < self.width:
            raise ValueError(f"taper_width = {self.taper_width} um is narrower than width = {self.width} um. "
                             f"Fix: set taper_width >= {self.width}.")
        if self.arm_length < self.taper_length + 0.5 * self.taper_width:
            raise ValueError(f"arm_length = {self.arm_length} um leaves no room for the taper "
                             f"(taper_length + taper_width/2 = {self.taper_length + 0.5 * self.taper_width:g} um). "
                             f"Fix: set arm_length >= {self.taper_length + 0.5 * self.taper_width:g}.")
        return self


#: The registry's name for this family's spec class.
Spec = CrossingSpec


def _arm(spec: CrossingSpec) -> tuple[tuple[float, float], ...]:
    """The +x arm as a polygon: ``taper_width`` at the centre (x = 0), tapered to ``width``
    at x = taper_length (linear, or parabolic: w² linear in x, 24 segments), then
    straight to the port plane x = arm_length."""
    a, w, wc, lt = spec.arm_length, spec.width / 2, spec.taper_width / 2, spec.taper_length
    if lt <= 0:
        top = [(0.0, w), (a, w)]
    elif spec.taper_shape == "linear":
        top = [(0.0, wc), (lt, w), (a, w)]
    else:
        xs = [lt * k / 24 for k in range(25)]
        top = [(x, math.sqrt(wc**2 + (w**2 - wc**2) * x / lt)) for x in xs] + [(a, w)]
    lower = [(x, -y) for x, y in top]
    return tuple(lower + top[::-1])


def layout(spec: CrossingSpec) -> Layout:
    """Geometry and ports (pure data)."""
    arm = _arm(spec)
    rotations = ((1, 0, 0, 1), (0, -1, 1, 0), (-1, 0, 0, -1), (0, 1, -1, 0))  # +x, +y, -x, -y
    shapes: list[Any] = [Rect(0.0, 0.0, spec.taper_width, spec.taper_width)]
    for a11, a12, a21, a22 in rotations:
        verts = tuple((a11 * x + a12 * y, a21 * x + a22 * y) for x, y in arm)
        shapes.append(Polygon(vertices=verts))
    a, w = spec.arm_length, spec.width
    ports = (Port("o1", -a, 0.0, "-x", w), Port("o2", 0.0, a, "+y", w),
             Port("o3", a, 0.0, "+x", w), Port("o4", 0.0, -a, "-y", w))
    return Layout(shapes=tuple(shapes), ports=ports, bbox=(-a, a, -a, a), thickness=spec.thickness, core_width=w,
                  symmetries=(Mirror("x", 0.0, (("o1", "o3"),)), Mirror("y", 0.0, (("o2", "o4"),))))


def figures_of_merit(entry: Any, **_: Any) -> dict[str, Any]:
    """At the centre wavelength: ``insertion_loss_db`` = −10 log10 |S[o3,o1]|², ``crosstalk_db``
    = 10 log10 max(|S[o2,o1]|², |S[o4,o1]|²), ``reflection_db`` = 10 log10 |S[o1,o1]|²; the
    same through the y-arms (``insertion_loss_y_db``) and the band's worst values."""
    import numpy as np

    from pipeline.fdtd.simulate import centre_smatrix

    def db(x: Any) -> float:
        return float(10 * np.log10(np.maximum(x, 1e-30)))

    s_all = entry.smatrix
    p = np.abs(s_all) ** 2

    def pw(o: str, i: str, s: Any = None) -> Any:
        return (p if s is None else s).sel(port_out=o, port_in=i)

    c = np.abs(centre_smatrix(s_all)) ** 2
    xt_band = np.maximum(pw("o2", "o1"), pw("o4", "o1"))
    return {
        "insertion_loss_db": -db(float(pw("o3", "o1", c))),
        "crosstalk_db": db(max(float(pw("o2", "o1", c)), float(pw("o4", "o1", c)))),
        "reflection_db": db(float(pw("o1", "o1", c))),
        "insertion_loss_y_db": -db(float(pw("o4", "o2", c))),
        "insertion_loss_max_db": -db(float(pw("o3", "o1").min())),
        "crosstalk_max_db": db(float(xt_band.max())),
        "centre_wavelength_um": float(c.wavelength) if "wavelength" in c.coords else None,
    }

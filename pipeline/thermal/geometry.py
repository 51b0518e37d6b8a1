"""Cross-section geometry of a thermal problem: axis-aligned rectangles on a background.

Coordinates in µm: x lateral (across the chip), y vertical (up). The domain is
``[x_min, x_max] × [y_min, y_max]``; its bottom edge is the heat sink (isothermal at
``ambient_K``), its top edge loses heat to air by convection (``h_top``, 0 = adiabatic),
its sides are adiabatic (place them far away: ``domain_width`` ≫ heater pitch).
Later rectangles override earlier ones where they overlap.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import Field, model_validator

from pipeline.specs import Spec, quantity


class Rect(Spec):
    """A rectangle of one material, optionally dissipating heat."""

    name: str = Field(description="label, e.g. 'core', 'heater_0'")
    x0: float = quantity(..., "um", "left edge")
    x1: float = quantity(..., "um", "right edge")
    y0: float = quantity(..., "um", "bottom edge")
    y1: float = quantity(..., "um", "top edge")
    conductivity: float = quantity(..., "W/(m K)", "thermal conductivity", gt=0)
    power_per_length: float = quantity(0.0, "W/m", "heat dissipated per unit length along the guide", ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Rect":
        if not (self.x1 > self.x0 and self.y1 > self.y0):
            raise ValueError(
                f"rectangle {self.name!r} has x0={self.x0}, x1={self.x1}, y0={self.y0}, y1={self.y1} um: "
                "needs x1 > x0 and y1 > y0. Fix: give positive width and height."
            )
        return self

    @property
    def area_m2(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0) * 1e-12


class ThermalProblem(Spec):
    """Domain, background conductivity, rectangles and boundary conditions."""

    x_min: float = quantity(-100.0, "um", "left (adiabatic) edge")
    x_max: float = quantity(100.0, "um", "right (adiabatic) edge")
    y_min: float = quantity(-100.0, "um", "bottom edge: the heat sink")
    y_max: float = quantity(5.0, "um", "top edge: convective surface")
    background_conductivity: float = quantity(1.38, "W/(m K)", "conductivity where no rectangle is", gt=0)
    rects: tuple[Rect, ...] = Field(default=(), description="material rectangles, later ones on top")
    ambient_K: float = quantity(300.0, "K", "heat-sink and air temperature", gt=0)
    h_top: float = quantity(10.0, "W/(m^2 K)", "convective coefficient of the top surface (0 = adiabatic)", ge=0)
    max_cell: Annotated[float, Field(gt=0)] = quantity(0.05, "um", "largest cell size near rectangles", gt=0)
    growth: float = quantity(1.25, "1", "geometric growth of cells away from rectangles", gt=1, le=2)

    @model_validator(mode="after")
    def _inside(self) -> "ThermalProblem":
        if not (self.x_max > self.x_min and self.y_max > self.y_min):
            raise ValueError("domain needs x_max > x_min and y_max > y_min. Fix: widen the domain.")
        for r in self.rects:
            if r.x0 < self.x_min or r.x1 > self.x_max or r.y0 < self.y_min or r.y1 > self.y_max:
                raise ValueError(
                    f"rectangle {r.name!r} ({r.x0}..{r.x1}, {r.y0}..{r.y1} um) leaves the domain "
                    f"({self.x_min}..{self.x_max}, {self.y_min}..{self.y_max} um). Fix: enlarge the domain."
                )
        return self

    @property
    def total_power_per_length(self) -> float:
        """Σ heater power per length [W/m]."""
        return float(sum(r.power_per_length for r in self.rects))


def graded_lines(lo: float, hi: float, edges: list[float], fine: float, growth: float) -> np.ndarray:
    """Grid lines on [lo, hi] through every edge, spaced ≤ ``fine`` inside rectangles'
    span and growing geometrically (factor ``growth``) away from them [µm]."""
    edges = sorted({lo, hi, *[e for e in edges if lo <= e <= hi]})
    lines = [edges[0]]
    inner_lo, inner_hi = (min(edges[1:-1]), max(edges[1:-1])) if len(edges) > 2 else (lo, hi)
    for a, b in zip(edges[:-1], edges[1:]):
        length = b - a
        if a >= inner_lo and b <= inner_hi:
            n = max(1, int(np.ceil(length / fine)))
            lines.extend(np.linspace(a, b, n + 1)[1:])
            continue
        # grow away from the rectangle side of the interval
        toward_hi = b <= inner_lo  # interval below/left of all rectangles: fine at b
        steps, h, pos = [], fine, 0.0
        while pos + h < length:
            steps.append(h)
            pos += h
            h *= growth
        steps.append(length - pos)
        if len(steps) > 1 and steps[-1] < 0.3 * steps[-2]:
            last = steps.pop()
            steps[-1] += last
        widths = steps[::-1] if toward_hi else steps
        lines.extend(a + np.cumsum(widths))
    out = np.array(lines)
    out[-1] = hi
    return np.unique(np.round(out, 9))

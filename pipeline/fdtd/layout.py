"""What a device declares to the FDTD engine: geometry and ports, as pure data.

Coordinates [µm]: ``x`` along the chip (left → right), ``y`` across it, ``z`` vertical
(the core layer spans ``-thickness/2 … +thickness/2``). Shapes are extruded through the
core layer; the background is the cladding. Materials are named by layer role
(``"core"``; background ``"clad"``) so that the engine can map them onto bulk 3D
indices or onto the calibrated 2D model (:mod:`pipeline.fdtd.material2d`).

Ports (reference planes) are declared where the device ends; the engine extends each
port's waveguide straight outwards through the PML and puts its source and mode
monitor at known distances *outside* the plane, then de-embeds the phase back to it.
A port faces ``±x`` or ``±y`` (its outward normal); a ``±y`` port's ``width`` runs
along x. Phases of S-entries between an x-port and a y-port carry the mode solver's
arbitrary profile phase at each orientation: only their magnitudes are meaningful.

Optional extras for lossy devices: shapes of any named material (its :class:`Medium`
given in ``Layout.media``, e.g. absorbing germanium), and :class:`FluxBox` requests —
closed boxes whose four per-face outward Poynting fluxes are returned (a box around a
lossy region gives the power it absorbs). ``plane = "xz"`` declares a vertical
cross-section (side view: x along the chip, the layout's ``y`` is the height z): the
engine then uses bulk Si/SiO2 indices and the slab TE mode (E out of the plane, Meep
ODD_Z) instead of the calibrated top-view model.

Symmetry. A :class:`Mirror` maps ports onto ports. Its sign rule (used by
:func:`pipeline.fdtd.extract.fill_by_symmetry`): ``S[σ(i), σ(j)] = s_i s_j S[i, j]``
with ``s_k = +1`` when the mirror plane is perpendicular to port ``k``'s axis (the
mirror only reverses the propagation direction: transverse E kept, H reversed — Meep's
backward mode) and ``s_k = −parity_k`` (parity +1 for even modes TE0, TE2 …, −1 for
odd modes TE1 …) when the mirror plane contains the port axis: there the mirror
reverses the transverse E of an even profile (E is a polar vector) — and H with it (an
axial vector) — so the mode maps onto −itself. When all ports are of the second kind
(a y-mirror of x-ports) the −1 cancels in ``s_i s_j``; it matters when a mirror relates
x-ports and y-ports (a crossing: measured S[o4,o1] = −S[o2,o1] for TE0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["-x", "+x", "-y", "+y"]


@dataclass(frozen=True)
class Port:
    """A port: reference-plane centre ``(x, y)`` [µm], outward normal, core width [µm]
    and the index of its TE mode (0 = fundamental)."""

    name: str
    x: float
    y: float
    direction: Direction
    width: float
    mode: int = 0

    @property
    def sign(self) -> int:
        """+1 if the outward normal points along +x / +y, −1 if along −x / −y."""
        return 1 if self.direction[0] == "+" else -1

    @property
    def axis(self) -> str:
        """The axis of the outward normal, ``"x"`` or ``"y"``."""
        return self.direction[1]

    @property
    def parity(self) -> int:
        """Transverse parity of the port mode in a symmetric guide: (−1)**mode."""
        return -1 if self.mode % 2 else 1


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle of core material: centre and size [µm]."""

    x: float
    y: float
    sx: float
    sy: float
    material: str = "core"


@dataclass(frozen=True)
class Polygon:
    """A polygon of core material, vertices ``((x, y), …)`` [µm], counter-clockwise."""

    vertices: tuple[tuple[float, float], ...]
    material: str = "core"


@dataclass(frozen=True)
class Mirror:
    """A mirror symmetry of the device: plane ``axis = value`` [µm] and the port map."""

    axis: Literal["x", "y"]
    value: float
    mapping: tuple[tuple[str, str], ...]

    def permutation(self) -> dict[str, str]:
        out = {}
        for a, b in self.mapping:
            out[a], out[b] = b, a
        return out

    def sign(self, port: Port) -> int:
        """Sign picked up by ``port``'s mode (see the module docstring)."""
        return 1 if self.axis == port.axis else -port.parity


@dataclass(frozen=True)
class FluxBox:
    """A closed rectangle (centre, size [µm]) whose per-face outward fluxes are recorded."""

    name: str
    x: float
    y: float
    sx: float
    sy: float


@dataclass(frozen=True)
class Layout:
    """A device as the FDTD engine sees it.

    ``bbox`` = (xmin, xmax, ymin, ymax) [µm] of the device between its port planes;
    ``thickness`` [µm] of the core layer (3D); ``core_width`` [µm] of the guides that
    the 2D material model is calibrated for."""

    shapes: tuple[Rect | Polygon, ...]
    ports: tuple[Port, ...]
    bbox: tuple[float, float, float, float]
    thickness: float
    core_width: float
    symmetries: tuple[Mirror, ...] = field(default_factory=tuple)
    #: extra named media (e.g. ``{"ge": Medium(...)}``) used by shapes beyond core / clad
    media: tuple[tuple[str, object], ...] = field(default_factory=tuple)
    flux_boxes: tuple[FluxBox, ...] = field(default_factory=tuple)
    plane: Literal["xy", "xz"] = "xy"
    #: −normal mode amplitudes from a mode solved travelling along −normal
    #: (:data:`pipeline.fdtd.meep_backend.BACKWARD_MODE_SOLVE`). A family's layout fixes it,
    #: so its cache key names its numerics: True for families built since the fix (ring
    #: coupler); the older families keep Meep's time-reversed coefficient until the
    #: ``meep-fdtd`` numerics version is bumped and the shipped library rebuilt.
    backward_mode_solve: bool = False

    def port(self, name: str) -> Port:
        for p in self.ports:
            if p.name == name:
                return p
        raise KeyError(f"no port {name!r}; ports are {[p.name for p in self.ports]}")

    @property
    def port_names(self) -> list[str]:
        return [p.name for p in self.ports]


def sbend_polygon(x0: float, y0: float, dy: float, radius: float, width: float,
                  n: int = 16) -> tuple[Polygon, float]:
    """An S-bend of two circular arcs of ``radius`` [µm] starting at ``(x0, y0)`` heading +x
    and ending displaced by ``dy`` [µm], heading +x again. Returns (polygon, its length
    along x [µm])."""
    if abs(dy) < 1e-12:
        raise ValueError("sbend_polygon: dy must be non-zero")
    if abs(dy) > 2 * radius:
        raise ValueError(f"sbend_polygon: offset {dy} um exceeds 2 x radius {radius} um")
    theta = math.acos(1.0 - abs(dy) / (2 * radius))
    length = 2 * radius * math.sin(theta)
    sgn = 1.0 if dy > 0 else -1.0
    centre_line = []
    for k in range(n + 1):  # first arc: centre at (x0, y0 + sgn R)
        a = theta * k / n
        centre_line.append((x0 + radius * math.sin(a), y0 + sgn * radius * (1 - math.cos(a)), a))
    xm, ym = x0 + length, y0 + dy
    for k in range(n - 1, -1, -1):  # second arc, mirror image about the midpoint
        a = theta * k / n
        centre_line.append((xm - radius * math.sin(a), ym - sgn * radius * (1 - math.cos(a)), a))
    upper, lower = [], []
    for x, y, a in centre_line:
        nx, ny = -math.sin(a) * sgn, math.cos(a)  # unit normal to the tangent (cos a, sgn sin a)
        upper.append((x + 0.5 * width * nx, y + 0.5 * width * ny))
        lower.append((x - 0.5 * width * nx, y - 0.5 * width * ny))
    verts = tuple(lower + upper[::-1])
    return Polygon(vertices=verts), length


def arc_polygon(xc: float, yc: float, radius: float, width: float, start: float, stop: float,
                tolerance: float = 1e-3, material: str = "core") -> Polygon:
    """An annular sector (a bent guide) of centre-line ``radius`` [µm] and ``width`` [µm]
    around ``(xc, yc)``, from angle ``start`` to ``stop`` [rad] (stop > start, counter-
    clockwise, at most 2π apart; a closed ring is two such sectors). The arcs are sampled
    finely enough that the chord error of the outer edge stays below ``tolerance`` [µm]."""
    if not 0 < width < 2 * radius:
        raise ValueError(f"arc_polygon: width {width} um must be > 0 and < 2 x radius {radius} um")
    if not 0 < stop - start <= math.pi + 1e-12:
        raise ValueError(f"arc_polygon: stop - start = {stop - start} rad must lie in (0, pi]; "
                         "split larger arcs into several sectors")
    r_out, r_in = radius + width / 2, radius - width / 2
    step = math.sqrt(8 * tolerance / r_out)  # sagitta r (1 - cos(step/2)) ≈ r step²/8
    n = max(2, math.ceil((stop - start) / step))
    angles = [start + (stop - start) * k / n for k in range(n + 1)]
    outer = [(xc + r_out * math.cos(a), yc + r_out * math.sin(a)) for a in angles]
    inner = [(xc + r_in * math.cos(a), yc + r_in * math.sin(a)) for a in reversed(angles)]
    return Polygon(vertices=tuple(outer + inner), material=material)

"""An imported layout as a device spec: canonical geometry on an integer grid (no gdsfactory here).

A GDS cell / gdsfactory component becomes :class:`ImportedLayoutSpec`, a frozen
:class:`~pipeline.specs.DeviceSpec` that *is* its geometry: core polygons with integer
vertices in units of ``grid`` [µm] (1 nm, the GDS database unit gdsfactory writes),
translated so that the bounding box is centred on the origin, each polygon counter-
clockwise from its lowest-leftmost vertex, the polygons sorted; ports sorted by name;
the mirror symmetries found in that geometry. The canonical JSON — and so the cache key
(:mod:`pipeline.cache.key`) — is therefore a deterministic function of the physics
(geometry, core thickness, band, numerics flag) and of nothing else: not the cell name,
not where the cell sits on the die, not the vertex order or the polygon fragmentation of
the source file. Reading an entry back needs no gdsfactory.

Family name (cache folder): ``gds_layout``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from pipeline.fdtd.layout import Layout, Mirror, Polygon, Port
from pipeline.specs import DeviceSpec, Spec, WavelengthBand, quantity

#: Imported layouts are not assumed lossless (bends, tapers, crossings radiate).
LOSSLESS = False
#: Default vertex grid [µm]: 1 nm, the database unit of gdsfactory's GDS files.
GRID_UM = 0.001

GridPoint = tuple[int, int]


class ImportedPort(Spec):
    """A port of an imported layout: reference-plane centre and core width in grid units."""

    name: str = quantity("o1", "1", "port name (gdsfactory: o1, o2 ... counter-clockwise)")
    x: int = quantity(0, "grid", "x of the reference-plane centre")
    y: int = quantity(0, "grid", "y of the reference-plane centre")
    direction: Literal["-x", "+x", "-y", "+y"] = quantity("-x", "1", "outward normal of the port")
    width: int = quantity(500, "grid", "core width at the port", gt=0)
    mode: int = quantity(0, "1", "TE mode index of the port (0 = TE0)", ge=0, le=4)


class ImportedMirror(Spec):
    """A mirror symmetry found in the geometry: plane ``axis = value`` [grid] and the port map."""

    axis: Literal["x", "y"] = quantity("x", "1", "axis normal to the mirror plane")
    value: float = quantity(0.0, "grid", "position of the mirror plane (a half-integer when the bbox is odd)")
    mapping: tuple[tuple[str, str], ...] = quantity((), "1", "pairs of ports exchanged by the mirror")


class ImportedLayoutSpec(DeviceSpec):
    """A device given by its drawn geometry (from a GDS cell or a gdsfactory component)."""

    device: ClassVar[str] = "gds_layout"
    grid: float = quantity(GRID_UM, "um", "vertex grid: every coordinate below is an integer multiple of it",
                           gt=0, le=0.1)
    polygons: tuple[tuple[GridPoint, ...], ...] = quantity(
        (), "grid", "core-material polygons (full core thickness), canonical order, no holes")
    ports: tuple[ImportedPort, ...] = quantity((), "1", "ports, sorted by name")
    bbox: tuple[int, int, int, int] = quantity((0, 0, 0, 0), "grid",
                                               "(xmin, xmax, ymin, ymax) of the device between its port planes")
    thickness: float = quantity(0.22, "um", "core layer thickness (from the layer stack)", gt=0.02, le=2.0)
    core_width: float = quantity(0.5, "um", "strip width the calibrated 2D material model is fitted to", gt=0.05,
                                 le=5.0)
    mirrors: tuple[ImportedMirror, ...] = quantity((), "1", "mirror symmetries used to skip equivalent runs")
    backward_mode_solve: bool = quantity(
        True, "1", "-normal mode amplitudes from a mode solved travelling along -normal "
                   "(pipeline.fdtd.layout.Layout.backward_mode_solve)")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _consistent(self) -> "ImportedLayoutSpec":
        if not self.polygons:
            raise ValueError("polygons = (): the layout has no core geometry. Fix: check the layer stack's core "
                             "layer matches the layer the cell is drawn on.")
        for k, poly in enumerate(self.polygons):
            if len(poly) < 3:
                raise ValueError(f"polygons[{k}] has {len(poly)} vertices. Fix: every polygon needs >= 3.")
        names = [p.name for p in self.ports]
        if len(self.ports) < 1 or len(set(names)) != len(names):
            raise ValueError(f"ports = {names}: need at least one port and unique names. Fix: rename the ports.")
        xmin, xmax, ymin, ymax = self.bbox
        if not (xmin < xmax and ymin < ymax):
            raise ValueError(f"bbox = {self.bbox} is empty. Fix: (xmin, xmax, ymin, ymax) with min < max.")
        edge = {"-x": ("x", xmin), "+x": ("x", xmax), "-y": ("y", ymin), "+y": ("y", ymax)}
        for p in self.ports:
            axis, value = edge[p.direction]
            if getattr(p, axis) != value:
                raise ValueError(f"port {p.name!r} faces {p.direction} at {axis} = {getattr(p, axis)} grid but that "
                                 f"edge of the bbox is at {value}. Fix: ports must sit on the device's outer edge.")
        for m in self.mirrors:
            unknown = {n for pair in m.mapping for n in pair} - set(names)
            if unknown:
                raise ValueError(f"mirror {m.axis} = {m.value} maps unknown ports {sorted(unknown)}.")
        return self

    def to_layout(self) -> Layout:
        """The FDTD engine's view of this device (µm)."""
        g = self.grid
        polys = tuple(Polygon(vertices=tuple((x * g, y * g) for x, y in poly)) for poly in self.polygons)
        ports = tuple(Port(p.name, p.x * g, p.y * g, p.direction, p.width * g, p.mode) for p in self.ports)
        mirrors = tuple(Mirror(m.axis, m.value * g, m.mapping) for m in self.mirrors)
        return Layout(shapes=polys, ports=ports, bbox=tuple(v * g for v in self.bbox),  # type: ignore[arg-type]
                      thickness=self.thickness, core_width=self.core_width, symmetries=mirrors,
                      backward_mode_solve=self.backward_mode_solve)


def layout(spec: ImportedLayoutSpec) -> Layout:
    """Geometry and ports (pure data), like every device family's ``layout(spec)``."""
    return spec.to_layout()

"""The other way: a built-in device family (or any FDTD ``Layout``) as a gdsfactory component.

``to_gdsfactory(spec)`` draws ``layout(spec)`` — the exact geometry photoprop simulates —
on one layer (default gdsfactory's WG, 1/0), vertices snapped to the GDS database unit
(1 nm), with gdsfactory ports (o1 … in photoprop's order, which is gdsfactory's) of the
layout's widths and directions. The cell can be placed in a gdsfactory circuit, written
with ``write_gds`` and read back by :func:`pipeline.interop.gdsfactory_layout.spec_from_gdsfactory`.
Extra ``interop`` (gdsfactory).
"""

from __future__ import annotations

import hashlib
from typing import Any

from pipeline.errors import SpecError
from pipeline.fdtd.layout import Layout, Polygon, Rect
from pipeline.specs import DeviceSpec

_ANGLE = {"+x": 0.0, "+y": 90.0, "-x": 180.0, "-y": 270.0}


def layout_of(spec: DeviceSpec | Layout) -> Layout:
    """``spec``'s FDTD layout (a built-in family's ``layout(spec)``, or the layout itself)."""
    if isinstance(spec, Layout):
        return spec
    to_layout = getattr(spec, "to_layout", None)
    if to_layout is not None:
        return to_layout()
    import devices

    module = devices.module_for(spec)
    if not hasattr(module, "layout"):
        raise SpecError(f"device {spec.device!r} has no FDTD layout to draw. Fix: use an FDTD family "
                        "(`photoprop device list`).")
    return module.layout(spec)


def shape_vertices(shape: Rect | Polygon) -> list[tuple[float, float]]:
    """Vertices [µm] of a layout shape (a Rect's four corners, counter-clockwise)."""
    if isinstance(shape, Rect):
        x0, x1 = shape.x - shape.sx / 2, shape.x + shape.sx / 2
        y0, y1 = shape.y - shape.sy / 2, shape.y + shape.sy / 2
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return [(float(x), float(y)) for x, y in shape.vertices]


def to_gdsfactory(spec: DeviceSpec | Layout, *, layer: tuple[int, int] = (1, 0), name: str | None = None) -> Any:
    """A gdsfactory ``Component`` drawing ``spec``'s core geometry on ``layer`` with its ports.

    Only core-material shapes can be drawn on one layer: a layout with other media (the
    photodetector's germanium) or a side view (``plane = "xz"``) is refused."""
    import gdsfactory as gf

    lay = layout_of(spec)
    if lay.plane != "xy":
        raise SpecError("to_gdsfactory: a side-view (plane = 'xz') layout is a cross-section, not a mask. "
                        "Fix: draw a top-view family.")
    other = sorted({s.material for s in lay.shapes} - {"core"})
    if other:
        raise SpecError(f"to_gdsfactory: shapes of material(s) {other} have no layer here. Fix: draw a family whose "
                        "geometry is core only (waveguide, directional_coupler, mmi, crossing, ring_coupler ...).")
    if name is None:
        text = spec.canonical_json() if isinstance(spec, DeviceSpec) else repr(lay)
        family = spec.device if isinstance(spec, DeviceSpec) else "layout"
        name = f"photoprop_{family}_{hashlib.sha256(text.encode()).hexdigest()[:10]}"
    c = gf.Component(name)
    region = gf.kdb.Region()
    dbu = c.kcl.dbu
    for s in lay.shapes:
        pts = [gf.kdb.Point(round(x / dbu), round(y / dbu)) for x, y in shape_vertices(s)]
        region.insert(gf.kdb.Polygon(pts))
    c.shapes(c.kcl.layer(*layer)).insert(region.merged())
    for p in lay.ports:
        if round(p.width / dbu) % 2:
            raise SpecError(f"to_gdsfactory: port {p.name!r} width = {p.width} um is an odd number of {dbu} um "
                            "database units; gdsfactory ports need an even one. Fix: a width on a 2 nm grid.")
        c.add_port(name=p.name, center=(round(p.x / dbu) * dbu, round(p.y / dbu) * dbu), width=round(p.width / dbu) * dbu,
                   orientation=_ANGLE[p.direction], layer=layer, port_type="optical")
    return c

"""Canonical integer geometry of an imported layout (pure; no gdsfactory, no klayout).

Polygons and ports arrive as integer grid coordinates (GDS database units). This module
puts them in one canonical form — so the same device always gives the same
:class:`~pipeline.interop.gdsfactory_spec.ImportedLayoutSpec` and cache key — checks
that each port really ends a core guide of its width on the device's outer edge, and
finds the mirror symmetries of the geometry (used, like the built-in families' declared
mirrors, to skip equivalent FDTD runs).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.errors import SpecError
from pipeline.interop.gdsfactory_spec import ImportedMirror, ImportedPort

Poly = tuple[tuple[int, int], ...]

_DIRECTIONS = {"-x": (-1, 0), "+x": (1, 0), "-y": (0, -1), "+y": (0, 1)}


def _area2(poly: Sequence[tuple[int, int]]) -> int:
    """Twice the signed area (> 0: counter-clockwise)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(poly, list(poly[1:]) + [poly[0]]))


def canonical_polygon(points: Sequence[tuple[int, int]]) -> Poly:
    """Counter-clockwise, without repeated or collinear vertices, starting at the lowest-
    leftmost vertex."""
    pts = [(int(x), int(y)) for x, y in points]
    pts = [p for k, p in enumerate(pts) if p != pts[k - 1]] if len(pts) > 1 else pts
    changed = True
    while changed and len(pts) >= 3:
        changed = False
        for k in range(len(pts)):
            (ax, ay), (bx, by), (cx, cy) = pts[k - 1], pts[k], pts[(k + 1) % len(pts)]
            if (bx - ax) * (cy - ay) - (by - ay) * (cx - ax) == 0:
                del pts[k]
                changed = True
                break
    if len(pts) < 3:
        raise SpecError(f"degenerate polygon {list(points)[:6]}...: fewer than 3 non-collinear vertices. "
                        "Fix: remove zero-area shapes from the core layer.")
    if _area2(pts) < 0:
        pts.reverse()
    k = min(range(len(pts)), key=lambda i: (pts[i][1], pts[i][0]))
    return tuple(pts[k:] + pts[:k])


def canonical_polygons(polys: Sequence[Sequence[tuple[int, int]]]) -> tuple[Poly, ...]:
    """Each polygon canonical, the list sorted."""
    return tuple(sorted(canonical_polygon(p) for p in polys))


def bbox_of(polys: Sequence[Poly]) -> tuple[int, int, int, int]:
    """(xmin, xmax, ymin, ymax) [grid] of all vertices."""
    xs = [x for p in polys for x, _ in p]
    ys = [y for p in polys for _, y in p]
    return min(xs), max(xs), min(ys), max(ys)


def translate(polys: Sequence[Poly], ports: Sequence[ImportedPort], dx: int, dy: int
              ) -> tuple[tuple[Poly, ...], tuple[ImportedPort, ...]]:
    """Everything shifted by (dx, dy) [grid]."""
    moved = canonical_polygons([[(x + dx, y + dy) for x, y in p] for p in polys])
    return moved, tuple(p.model_copy(update={"x": p.x + dx, "y": p.y + dy}) for p in ports)


def _inside(x: float, y: float, poly: Poly) -> bool:
    """Point strictly inside ``poly`` (even–odd ray casting)."""
    hit = False
    n = len(poly)
    for k in range(n):
        (x0, y0), (x1, y1) = poly[k], poly[(k + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def core_at(x: float, y: float, polys: Sequence[Poly]) -> bool:
    """Whether ``(x, y)`` [grid] lies in the core (inside any polygon)."""
    return any(_inside(x, y, p) for p in polys)


def check_ports(polys: Sequence[Poly], ports: Sequence[ImportedPort], bbox: tuple[int, int, int, int],
                grid: float = 1e-3) -> None:
    """Each port on its outward edge of ``bbox``, ending a core guide of its width there
    (``grid`` [µm]: for the messages)."""
    xmin, xmax, ymin, ymax = bbox
    edge = {"-x": ("x", xmin), "+x": ("x", xmax), "-y": ("y", ymin), "+y": ("y", ymax)}
    for p in ports:
        axis, value = edge[p.direction]
        at = getattr(p, axis)
        if at != value:
            raise SpecError(f"port {p.name!r} faces {p.direction} at {axis} = {at * grid:g} um, but the core's "
                            f"outer edge on that side is at {axis} = {value * grid:g} um: the engine extends each port's guide "
                            "straight out through the PML, which would cut through the device. Fix: put the ports "
                            "at the ends of the outermost guides (e.g. extend them with straights).")
        nx, ny = _DIRECTIONS[p.direction]
        tx, ty = -ny, nx  # along the port plane
        h = 0.5 * p.width
        probes = {"centre": (0.0, True), "edge -": (-(h - 2), True), "edge +": (h - 2, True),
                  "beyond -": (-(h + 2), False), "beyond +": (h + 2, False)}
        for label, (s, want) in probes.items():
            px, py = p.x - 1.5 * nx + s * tx, p.y - 1.5 * ny + s * ty  # 1.5 grid inside the plane
            if core_at(px, py, polys) != want:
                raise SpecError(f"port {p.name!r} (width {p.width * grid:g} um) does not match the core at its "
                                f"plane: the probe {label} of the port is {'outside' if want else 'inside'} the "
                                "core. Fix: give the port the guide's width and put it on the guide's end face.")


def _mirror_ports(ports: Sequence[ImportedPort], axis: str, twice: int) -> tuple[tuple[str, str], ...] | None:
    """The port pairs exchanged by the mirror ``axis = twice/2``, or None if a port has no image."""
    flip = {"x": {"-x": "+x", "+x": "-x"}, "y": {"-y": "+y", "+y": "-y"}}[axis]
    pairs: list[tuple[str, str]] = []
    for p in ports:
        img = {"x": twice - p.x if axis == "x" else p.x, "y": twice - p.y if axis == "y" else p.y,
               "direction": flip.get(p.direction, p.direction), "width": p.width, "mode": p.mode}
        match = [q for q in ports if (q.x, q.y, q.direction, q.width, q.mode) ==
                 (img["x"], img["y"], img["direction"], img["width"], img["mode"])]
        if not match:
            return None
        a, b = sorted((p.name, match[0].name))
        if a != b and (a, b) not in pairs:
            pairs.append((a, b))
    return tuple(sorted(pairs))


def find_mirrors(polys: Sequence[Poly], ports: Sequence[ImportedPort],
                 bbox: tuple[int, int, int, int]) -> tuple[ImportedMirror, ...]:
    """Mirrors through the bbox centre (x = const, y = const) that map the polygon set and the
    ports (position, direction, width, mode) exactly onto themselves and exchange at least
    one pair of ports."""
    xmin, xmax, ymin, ymax = bbox
    found = []
    reference = canonical_polygons(polys)
    for axis, twice in (("x", xmin + xmax), ("y", ymin + ymax)):
        if axis == "x":
            image = canonical_polygons([[(twice - x, y) for x, y in p] for p in polys])
        else:
            image = canonical_polygons([[(x, twice - y) for x, y in p] for p in polys])
        if image != reference:
            continue
        mapping = _mirror_ports(ports, axis, twice)
        if mapping:  # a mirror that exchanges no ports saves no run
            found.append(ImportedMirror(axis=axis, value=twice // 2 if twice % 2 == 0 else twice / 2,
                                        mapping=mapping))
    return tuple(found)

"""Build (pure): a :class:`~pipeline.fdtd.layout.Layout` + solver spec + media → plain,
JSON-able Meep task descriptions, one per source port. Nothing here imports meep.

Placement along each port's outward normal (distance from the port plane, µm):
``0`` reference plane · ``monitor_offset`` mode monitor · ``source_offset`` eigenmode
source · ``source_offset + 0.5`` PML begins. Port waveguides are extended straight
through the PML. Sources launch the port's TE mode (Meep parity EVEN_Z = Hz / in-plane
E in 2D, E horizontal in 3D) towards the device with a Gaussian pulse covering the band.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.fdtd.layout import Layout, Polygon, Port, Rect
from pipeline.fdtd.material2d import Medium
from pipeline.fdtd.specs import Meep3DSpec, MeepSpec

#: Cladding between a source and the PML behind it [µm].
SOURCE_BUFFER = 0.5
#: Meep time between two field-decay samples [µm/c].
DECAY_DT = 25.0


def frequencies(wavelengths: list[float]) -> list[float]:
    """Meep frequencies 1/λ [1/µm], in the order of ``wavelengths``."""
    return [1.0 / w for w in wavelengths]


def _pulse(freqs: list[float]) -> tuple[float, float]:
    f = np.asarray(freqs)
    fcen = 0.5 * (f.max() + f.min())
    df = max(1.6 * (f.max() - f.min()), 0.08 * fcen)
    return float(fcen), float(df)


def _cell(layout: Layout, spec: MeepSpec) -> tuple[list[float], list[float]]:
    xmin, xmax, ymin, ymax = layout.bbox
    ext = spec.source_offset + SOURCE_BUFFER + spec.pml
    lat = spec.margin + spec.pml
    axes = {p.axis for p in layout.ports}
    ex = ext if "x" in axes else lat  # along an axis with ports: room for monitor, source, PML
    ey = ext if "y" in axes else lat
    center = [0.5 * (xmin + xmax), 0.5 * (ymin + ymax), 0.0]
    size = [xmax - xmin + 2 * ex, ymax - ymin + 2 * ey, 0.0]
    if isinstance(spec, Meep3DSpec):
        size[2] = layout.thickness + 2 * (spec.margin_z + spec.pml)
    size = [float(np.ceil(s * spec.resolution - 1e-9) / spec.resolution) for s in size]  # whole pixels
    return center, size


def _shapes(layout: Layout, spec: MeepSpec) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    stub = spec.source_offset + SOURCE_BUFFER + spec.pml + 1.0
    for p in layout.ports:
        if p.axis == "x":
            out.append({"type": "block", "material": "core", "center": [p.x + p.sign * stub / 2, p.y],
                        "size": [stub + 1e-3, p.width]})
        else:
            out.append({"type": "block", "material": "core", "center": [p.x, p.y + p.sign * stub / 2],
                        "size": [p.width, stub + 1e-3]})
    for s in layout.shapes:
        if isinstance(s, Rect):
            out.append({"type": "block", "material": s.material, "center": [s.x, s.y], "size": [s.sx, s.sy]})
        elif isinstance(s, Polygon):
            out.append({"type": "prism", "material": s.material, "vertices": [list(v) for v in s.vertices]})
        else:  # pragma: no cover - Layout is typed
            raise TypeError(f"unknown shape {s!r}")
    return out


def _plane(p: Port, offset: float, spec: MeepSpec, layout: Layout) -> dict[str, Any]:
    half = 0.5 * p.width + 0.8 * spec.margin
    size = [0.0, 2 * half, 0.0] if p.axis == "x" else [2 * half, 0.0, 0.0]
    if isinstance(spec, Meep3DSpec):
        size[2] = layout.thickness + 1.6 * spec.margin_z
    if p.axis == "x":
        return {"center": [p.x + p.sign * offset, p.y, 0.0], "size": size}
    return {"center": [p.x, p.y + p.sign * offset, 0.0], "size": size}


def build_task(layout: Layout, spec: MeepSpec, media: dict[str, Medium], wavelengths: list[float],
               source_port: str) -> dict[str, Any]:
    """The Meep task exciting ``source_port`` (all ports monitored)."""
    src = layout.port(source_port)
    freqs = frequencies(wavelengths)
    fcen, df = _pulse(freqs)
    center, size = _cell(layout, spec)
    monitors = []
    for p in layout.ports:
        monitors.append({"port": p.name, "band": p.mode + 1, "direction": p.direction,
                         **_plane(p, spec.monitor_offset, spec, layout)})
    task = {
        "kind": "fdtd",
        "dims": 3 if isinstance(spec, Meep3DSpec) else 2,
        "resolution": spec.resolution,
        "backward_mode_solve": bool(layout.backward_mode_solve),
        "pml": spec.pml,
        "cell_center": center,
        "cell_size": size,
        "thickness": layout.thickness,
        "media": {k: v.as_dict() for k, v in media.items()},
        "shapes": _shapes(layout, spec),
        "source": {"port": src.name, "band": src.mode + 1, "towards": -src.sign, "axis": src.axis,
                   "fcen": fcen, "df": df, **_plane(src, spec.source_offset, spec, layout)},
        "monitors": monitors,
        "freqs": freqs,
        "decay": {"by": spec.decay_by, "dt": DECAY_DT, "max_time": spec.max_time,
                  "points": [m["center"] for m in monitors if m["port"] != src.name] or [monitors[0]["center"]]},
    }
    if layout.plane == "xz":  # side view: slab TE has E out of the plane (Ez), Meep ODD_Z
        task["parity"] = "odd_z"
    if layout.flux_boxes:
        task["flux_boxes"] = [{"name": b.name, "center": [b.x, b.y], "size": [b.sx, b.sy]}
                              for b in layout.flux_boxes]
    return task


def source_ports(layout: Layout, use_symmetry: bool) -> list[str]:
    """Ports that must be excited: all, or one per orbit of the device's mirror group."""
    if not use_symmetry or not layout.symmetries:
        return layout.port_names
    covered: set[str] = set()
    out = []
    for name in layout.port_names:
        if name in covered:
            continue
        out.append(name)
        orbit, frontier = {name}, [name]
        while frontier:
            q = frontier.pop()
            for m in layout.symmetries:
                r = m.permutation().get(q, q)
                if r not in orbit:
                    orbit.add(r)
                    frontier.append(r)
        covered |= orbit
    return out


def reference_layout(port: Port, length: float = 4.0, thickness: float = 0.22, plane: str = "xy") -> Layout:
    """A straight guide with ``port``'s cross-section (the normalization run's device)."""
    from pipeline.fdtd.layout import Mirror

    a = Port("in", -length / 2, 0.0, "-x", port.width, port.mode)
    b = Port("out", length / 2, 0.0, "+x", port.width, port.mode)
    core = Rect(0.0, 0.0, length, port.width)
    return Layout(shapes=(core,), ports=(a, b), bbox=(-length / 2, length / 2, -port.width / 2, port.width / 2),
                  thickness=thickness, core_width=port.width,
                  symmetries=(Mirror("x", 0.0, (("in", "out"),)),), plane=plane)  # type: ignore[arg-type]

"""gdsfactory in: a component (or a GDS cell) + a layer stack → photoprop's FDTD ``Layout``.

Extra ``interop`` (gdsfactory, which brings klayout). Importing this module does not
import gdsfactory; the functions do.

What is read, per layer of the layer stack:

* the **core** layer → silicon of the full core ``thickness`` (material ``"core"`` of the
  calibrated 2D model, :mod:`pipeline.fdtd.material2d`): the drawn polygons of the whole
  cell hierarchy, merged (klayout ``Region.merged``) in GDS database units, holes
  resolved into cut lines (a ring is one polygon);
* layers listed in ``ignore_layers`` → dropped (labels, pins, cladding/exclusion
  drawings, device-recognition boxes: nothing that changes the index in the core plane);
* any other drawn layer → :class:`~pipeline.errors.SpecError` naming it, so that nothing
  optical is silently lost. Partial-etch (rib / slab) layers are refused for the same
  reason: the calibrated 2D model has one core index, fitted to a fully etched strip.

With a gdsfactory ``LayerStack`` instead, its ``core_level`` (gdsfactory: ``"core"``,
possibly a derived layer such as ``WG - DEEP_ETCH - SHALLOW_ETCH``) gives the core shapes
and thickness through gdsfactory's own boolean evaluation; any other silicon level above
the buried oxide with shapes in the cell (slab150, slab90, shallow etch …) is refused.

Ports: every optical port, its centre, width, and orientation, which must be 0/90/180/270°
(the engine's ports face ±x/±y); it must sit on the outer edge of the core's bounding box
and end a core guide of its own width (:func:`pipeline.interop.gdsfactory_canonical.check_ports`).
The engine then places each port's mode monitor and source outside that plane and
extends the guide through the PML (:mod:`pipeline.fdtd.build`); the cell gets the
solver spec's margins around this bounding box.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

from pipeline.errors import SpecError
from pipeline.fdtd.layout import Layout
from pipeline.interop import gdsfactory_canonical as canon
from pipeline.interop.gdsfactory_spec import ImportedLayoutSpec, ImportedPort
from pipeline.specs import Spec, WavelengthBand, quantity

LayerTuple = tuple[int, int]

_ORIENTATION = {0: "+x", 90: "+y", 180: "-x", 270: "-y"}
#: silicon material names of gdsfactory layer stacks
_SILICON = {"si", "silicon", "c-si", "a-si", "crystalline silicon"}


class GDSLayerStack(Spec):
    """Which drawn layer is the core and how thick it is (photoprop's own layer stack)."""

    kind: ClassVar[str] = "photoprop"
    core_layer: LayerTuple = quantity((1, 0), "1", "(layer, datatype) of the fully etched Si core "
                                                   "(gdsfactory generic PDK: WG = 1/0)")
    thickness: float = quantity(0.22, "um", "Si core thickness", gt=0.02, le=2.0)
    ignore_layers: tuple[LayerTuple, ...] = quantity(
        (), "1", "(layer, datatype) pairs drawn in the cell that carry no optical index in the core plane")


def _core_region(component: Any, stack: Any) -> tuple[Any, float]:
    """(merged klayout Region of the core, thickness [µm]); refuses unknown optical layers."""
    import gdsfactory as gf

    kdb = gf.kdb
    if isinstance(stack, GDSLayerStack):
        core, drawn = None, []
        for li in component.kcl.layer_indexes():
            region = kdb.Region(component.begin_shapes_rec(li))
            if region.is_empty():
                continue
            info = component.kcl.get_info(li)
            key = (int(info.layer), int(info.datatype))
            if key == tuple(stack.core_layer):
                core = region if core is None else core + region
            elif key not in {tuple(x) for x in stack.ignore_layers}:
                drawn.append(f"{key[0]}/{key[1]} ({info.name or 'unnamed'})")
        if drawn:
            raise SpecError(f"layer_stack: the cell draws on layer(s) {', '.join(drawn)}, which the layer stack does "
                            f"not map (core_layer = {tuple(stack.core_layer)}). Fix: list them in "
                            "GDSLayerStack(ignore_layers=...) if they have no optical meaning in the core plane; "
                            "partial-etch (rib/slab) layers are not modelled by the calibrated 2D engine.")
        if core is None:
            raise SpecError(f"layer_stack.core_layer = {tuple(stack.core_layer)}: nothing is drawn on it in cell "
                            f"{component.name!r}. Fix: set core_layer to the layer of the waveguides.")
        return core.merged(), float(stack.thickness)
    if hasattr(stack, "layers") and type(stack).__module__.startswith("gdsfactory"):
        return _gdsfactory_stack_region(component, stack, "core")
    raise SpecError(f"layer_stack = {stack!r}: expected a pipeline.interop.gdsfactory_layout.GDSLayerStack or a "
                    "gdsfactory LayerStack (gf.get_active_pdk().layer_stack).")


def _gdsfactory_stack_region(component: Any, stack: Any, core_level: str) -> tuple[Any, float]:
    levels = dict(stack.layers)
    if core_level not in levels:
        raise SpecError(f"layer_stack has no level {core_level!r} (levels: {sorted(levels)}). "
                        "Fix: pass a stack whose fully etched Si level is called 'core'.")
    core = levels[core_level]
    region = core.layer.get_shapes(component).merged()
    if region.is_empty():
        raise SpecError(f"layer_stack level {core_level!r} ({core.layer}) has no shapes in cell {component.name!r}.")
    for name, level in levels.items():
        if name == core_level or str(level.material).lower() not in _SILICON:
            continue  # oxides, metals, heaters: not in the core plane's index
        if (level.zmin or 0.0) + (level.thickness or 0.0) <= 1e-9:
            continue  # substrate below the buried oxide
        try:
            shapes = level.layer.get_shapes(component)
        except Exception:  # noqa: BLE001 - gdsfactory raises various errors for levels on absent layers
            continue
        if not shapes.is_empty():
            raise SpecError(f"layer_stack level {name!r} ({level.layer}, Si {level.thickness} um thick) has shapes in "
                            f"cell {component.name!r}: partial-etch (rib/slab) silicon is not modelled by the "
                            "calibrated 2D engine. Fix: remove that layer from the cell, or use a GDSLayerStack that "
                            "ignores it explicitly (and accept the approximation).")
    return region, float(core.thickness)


def _ports(component: Any, grid: float, modes: dict[str, int]) -> tuple[ImportedPort, ...]:
    out = []
    for p in component.ports:
        if str(getattr(p, "port_type", "optical")) != "optical":
            continue
        o = float(p.orientation) % 360.0
        k = int(round(o / 90.0)) % 4 * 90
        if abs(((o - k + 180.0) % 360.0) - 180.0) > 1e-6:
            raise SpecError(f"port {p.name!r} orientation = {o} deg: the FDTD engine's ports face +-x or +-y. "
                            "Fix: rotate the cell so that every optical port is at 0, 90, 180 or 270 deg.")
        cx, cy = (float(v) for v in p.center)
        width = int(round(float(p.width) / grid))
        out.append(ImportedPort(name=str(p.name), x=int(round(cx / grid)), y=int(round(cy / grid)),
                                direction=_ORIENTATION[k], width=width, mode=int(modes.get(str(p.name), 0))))
    if not out:
        raise SpecError(f"cell {component.name!r} has no optical ports. Fix: add ports (gdsfactory add_port) or "
                        "write the GDS with gdsfactory so that its ports are stored with it.")
    unknown = set(modes) - {p.name for p in out}
    if unknown:
        raise SpecError(f"port_modes names unknown ports {sorted(unknown)}; ports are {[p.name for p in out]}.")
    return tuple(sorted(out, key=lambda q: q.name))


def spec_from_gdsfactory(component: Any, *, layer_stack: Any = None, band: WavelengthBand | None = None,
                         core_width: float | None = None, port_modes: dict[str, int] | None = None,
                         use_mirrors: bool = True, backward_mode_solve: bool = True) -> ImportedLayoutSpec:
    """The canonical device spec of ``component`` (see :mod:`pipeline.interop.gdsfactory_spec`).

    ``layer_stack``: :class:`GDSLayerStack` (default: core on 1/0, 0.22 µm) or a gdsfactory
    ``LayerStack``. ``core_width`` [µm]: strip width the 2D material model is calibrated for
    (default: the ports' common width). ``port_modes``: TE mode index per port name (default
    0). ``use_mirrors``: detect mirror symmetries and let the engine skip equivalent runs."""
    stack = layer_stack if layer_stack is not None else GDSLayerStack()
    grid = float(component.kcl.dbu)
    region, thickness = _core_region(component, stack)
    raw = []
    for poly in region.each():
        if poly.holes():
            poly = poly.resolved_holes()
        raw.append([(int(pt.x), int(pt.y)) for pt in poly.each_point_hull()])
    polys = canon.canonical_polygons(raw)
    ports = _ports(component, grid, dict(port_modes or {}))
    bbox = canon.bbox_of(polys)
    canon.check_ports(polys, ports, bbox, grid)
    dx, dy = -math.floor((bbox[0] + bbox[1]) / 2), -math.floor((bbox[2] + bbox[3]) / 2)
    polys, ports = canon.translate(polys, ports, dx, dy)
    bbox = canon.bbox_of(polys)
    widths = sorted({p.width for p in ports})
    if core_width is None:
        if len(widths) != 1:
            raise SpecError(f"ports have widths {[w * grid for w in widths]} um. Fix: pass core_width= (the strip "
                            "width the 2D material model should be calibrated for).")
        core_width = widths[0] * grid
    mirrors = canon.find_mirrors(polys, ports, bbox) if use_mirrors else ()
    return ImportedLayoutSpec(grid=grid, polygons=polys, ports=ports, bbox=bbox, thickness=thickness,
                              core_width=round(float(core_width), 9), mirrors=mirrors,
                              backward_mode_solve=backward_mode_solve,
                              **({"band": band} if band is not None else {}))


def layout_from_gdsfactory(component: Any, **kwargs: Any) -> Layout:
    """photoprop's FDTD :class:`~pipeline.fdtd.layout.Layout` of a gdsfactory component
    (keywords of :func:`spec_from_gdsfactory`)."""
    return spec_from_gdsfactory(component, **kwargs).to_layout()


def component_from_gds(path: str | Path, cell: str | None = None) -> Any:
    """The gdsfactory component of cell ``cell`` (default: the top cell) of GDS file ``path``,
    with the ports gdsfactory stored in it."""
    import gdsfactory as gf

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"GDS file {str(path)!r} does not exist. Fix: give the path of a .gds file.")
    try:
        return gf.import_gds(path, cellname=cell)
    except (ValueError, KeyError, RuntimeError) as exc:
        raise SpecError(f"cannot read cell {cell!r} from {str(path)!r}: {exc}. Fix: `--cell` must name a cell of "
                        "the file (klayout or gdsfactory lists them).") from None

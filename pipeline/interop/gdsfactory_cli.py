"""``photoprop device simulate --gds FILE --cell NAME``: the command's imported-layout branch.

Kept here so that the device command only dispatches; it returns the same JSON document
as a built-in family (:func:`pipeline.fdtd.simulate.summary`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import SpecError

#: ``--set`` keys an imported layout accepts (the geometry comes from the file)
IMPORT_SETTINGS = ("band", "core_width", "backward_mode_solve", "use_mirrors")


def parse_layer(text: str, option: str) -> tuple[int, int]:
    """``"1/0"`` → (1, 0)."""
    try:
        layer, datatype = (int(v) for v in text.split("/"))
    except ValueError:
        raise SpecError(f"{option} {text!r}: expected LAYER/DATATYPE. Fix: e.g. {option} 1/0.") from None
    return layer, datatype


def simulate_gds_doc(gds: Path, cell: str | None, *, sets: dict[str, Any], solver: str | None,
                     resolution: float | None, solver_sets: dict[str, Any], timeout_s: float, overwrite: bool,
                     cache: Any, core_layer: str, thickness: float, ignore_layers: list[str]
                     ) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(summary document, figures of merit, cached) of cell ``cell`` of ``gds``."""
    from pipeline.fdtd.simulate import summary
    from pipeline.fdtd.specs import Meep2DSpec, Meep3DSpec
    from pipeline.interop.gdsfactory_layout import GDSLayerStack
    from pipeline.interop.gdsfactory_simulate import figures_of_merit, simulate_gds
    from pipeline.specs import WavelengthBand

    unknown = sorted(set(sets) - set(IMPORT_SETTINGS))
    if unknown:
        raise SpecError(f"--set {unknown}: an imported layout takes its geometry from the GDS file. "
                        f"Fix: --set only {', '.join(IMPORT_SETTINGS)} (e.g. --set band.points=5).")
    solvers = {"meep2d": Meep2DSpec, "meep3d": Meep3DSpec}
    name = solver or "meep2d"
    if name not in solvers:
        raise SpecError(f"--solver {name!r}: an imported layout runs in the FDTD engine. Fix: meep2d or meep3d.")
    solver_kw = dict(solver_sets)
    if resolution is not None:
        solver_kw["resolution"] = resolution
    spec = solvers[name](**solver_kw)
    options = {k: v for k, v in sets.items() if k != "band"}
    if "band" in sets:
        options["band"] = WavelengthBand(**sets["band"])
    stack = GDSLayerStack(core_layer=parse_layer(core_layer, "--core-layer"), thickness=thickness,
                          ignore_layers=tuple(parse_layer(t, "--ignore-layer") for t in ignore_layers))
    entry, cached = simulate_gds(gds, cell, spec, cache=cache, timeout_s=timeout_s, overwrite=overwrite,
                                 layer_stack=stack, **options)
    figures = figures_of_merit(entry)
    doc = summary(entry, cached, figures)
    doc["imported_from"] = entry.provenance.get("imported_from", {})
    return doc, figures, cached

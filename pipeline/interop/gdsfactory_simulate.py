"""Simulate an imported layout through the same FDTD path, checks and cache as the built-in families.

``simulate_layout(spec, solver, cache=...)`` runs :func:`pipeline.fdtd.simulate.compute_smatrix`
(every FDTD run in the solver interpreter, the reflection-floor run, the physics checks,
strict mode) inside :meth:`pipeline.cache.DeviceCache.get_or_compute` under the key of
``(ImportedLayoutSpec, solver spec)`` — the canonical geometry, so the same drawing always
hits the same entry (folder ``gds_layout/``). Before anything runs, the ports' mode
monitors and sources are checked against the other ports' guides for the solver's
``margin`` (a monitor window that cuts another guide measures the wrong mode).

``simulate_component`` / ``simulate_gds`` are the one-call entry points from a gdsfactory
component or a GDS file (``photoprop device simulate --gds FILE --cell NAME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.fdtd.layout import Layout, Port
from pipeline.fdtd.specs import Meep2DSpec, MeepSpec
from pipeline.interop.gdsfactory_spec import ImportedLayoutSpec
from pipeline.solver_process import DEFAULT_TIMEOUT_S

_NORMAL = {"-x": (-1.0, 0.0), "+x": (1.0, 0.0), "-y": (0.0, -1.0), "+y": (0.0, 1.0)}


def _window(p: Port, offset: float, half: float) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) [µm] of ``p``'s monitor/source line at ``offset`` outside its plane."""
    nx, ny = _NORMAL[p.direction]
    cx, cy = p.x + nx * offset, p.y + ny * offset
    return (cx, cx, cy - half, cy + half) if p.axis == "x" else (cx - half, cx + half, cy, cy)


def _stub(q: Port, far: float) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) [µm] of ``q``'s straight guide extension out to ``far`` µm."""
    nx, ny = _NORMAL[q.direction]
    x1, y1 = q.x + nx * far, q.y + ny * far
    if q.axis == "x":
        return min(q.x, x1), max(q.x, x1), q.y - q.width / 2, q.y + q.width / 2
    return q.x - q.width / 2, q.x + q.width / 2, min(q.y, y1), max(q.y, y1)


def check_monitors(layout: Layout, solver: MeepSpec) -> None:
    """Every port's mode monitor and source line (half-width ``width/2 + 0.8 margin``,
    :func:`pipeline.fdtd.build._plane`) clear of every other port's guide extension."""
    half_extra = 0.8 * solver.margin
    far = solver.source_offset + 2.0
    for p in layout.ports:
        half = 0.5 * p.width + half_extra
        for what, offset in (("mode monitor", solver.monitor_offset), ("source", solver.source_offset)):
            ax0, ax1, ay0, ay1 = _window(p, offset, half)
            for q in layout.ports:
                if q is p:
                    continue
                bx0, bx1, by0, by1 = _stub(q, far)
                if ax0 < bx1 - 1e-9 and bx0 < ax1 + 1e-9 and ay0 < by1 - 1e-9 and by0 < ay1 + 1e-9:
                    need = 0.5 * (p.width + q.width) + half_extra
                    raise SpecError(
                        f"port {p.name!r}: its {what} window (port width + 2 x 0.8 x margin = {2 * half:g} um wide, "
                        f"{offset:g} um outside the port) crosses port {q.name!r}'s guide. Fix: fan the guides out so "
                        f"that ports on one side are >= {need:g} um apart (centre to centre), or reduce the solver's "
                        f"margin (now {solver.margin:g} um).")


def simulate_layout(spec: ImportedLayoutSpec, solver: MeepSpec | None = None, *, cache: DeviceCache | None = None,
                    timeout_s: float = DEFAULT_TIMEOUT_S, overwrite: bool = False,
                    source: dict[str, Any] | None = None) -> tuple[CacheEntry, bool]:
    """``(entry, cached)`` of an imported layout; ``source`` (e.g. the GDS path and cell) is
    recorded in the entry's provenance, never in its key."""
    from pipeline.fdtd.simulate import compute_smatrix

    solver = solver if solver is not None else Meep2DSpec()
    if not isinstance(solver, MeepSpec):
        raise SpecError(f"solver = {type(solver).__name__}: an imported layout runs in the Meep FDTD engine. "
                        "Fix: pass Meep2DSpec(...) or Meep3DSpec(...).")
    if not isinstance(spec, ImportedLayoutSpec):
        raise SpecError(f"spec = {type(spec).__name__}: expected an ImportedLayoutSpec "
                        "(pipeline.interop.gdsfactory_layout.spec_from_gdsfactory).")
    layout = spec.to_layout()
    check_monitors(layout, solver)
    cache = cache if cache is not None else DeviceCache()

    def compute() -> tuple[Any, dict[str, Any], dict[str, Any]]:
        data, prov, checks = compute_smatrix(spec, solver, layout, timeout_s=timeout_s, lossless=False)
        return data, {**prov, "imported_from": source or {}}, checks

    return cache.get_or_compute(spec, solver, compute, overwrite=overwrite)


def simulate_component(component: Any, solver: MeepSpec | None = None, *, cache: DeviceCache | None = None,
                       timeout_s: float = DEFAULT_TIMEOUT_S, overwrite: bool = False,
                       **import_options: Any) -> tuple[CacheEntry, bool]:
    """A gdsfactory component through the FDTD engine (options of
    :func:`pipeline.interop.gdsfactory_layout.spec_from_gdsfactory`: layer_stack, band ...)."""
    from pipeline.interop.gdsfactory_layout import spec_from_gdsfactory

    spec = spec_from_gdsfactory(component, **import_options)
    return simulate_layout(spec, solver, cache=cache, timeout_s=timeout_s, overwrite=overwrite,
                           source={"cell": str(component.name)})


def simulate_gds(path: str | Path, cell: str | None = None, solver: MeepSpec | None = None, *,
                 cache: DeviceCache | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, overwrite: bool = False,
                 **import_options: Any) -> tuple[CacheEntry, bool]:
    """Cell ``cell`` of GDS file ``path`` through the FDTD engine."""
    from pipeline.interop.gdsfactory_layout import component_from_gds, spec_from_gdsfactory

    component = component_from_gds(path, cell)
    spec = spec_from_gdsfactory(component, **import_options)
    return simulate_layout(spec, solver, cache=cache, timeout_s=timeout_s, overwrite=overwrite,
                           source={"gds": str(Path(path).resolve()), "cell": str(component.name)})


def figures_of_merit(entry: CacheEntry) -> dict[str, Any]:
    """At the centre wavelength, per input port: ``transmission_<port>`` = Σ_out≠in |S|²
    (1 − excess loss − reflection) and ``reflection_db_<port>``."""
    from pipeline.fdtd.simulate import centre_smatrix

    c = centre_smatrix(entry.smatrix)
    p = np.abs(np.asarray(c.transpose("port_out", "port_in").values)) ** 2
    names = [str(n) for n in c.port_in.values]
    out: dict[str, Any] = {}
    for j, n in enumerate(names):
        out[f"transmission_{n}"] = float(p[:, j].sum() - p[j, j])
        out[f"reflection_db_{n}"] = float(10 * np.log10(max(p[j, j], 1e-30)))
    return out

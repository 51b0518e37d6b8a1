"""Top level: device spec + Meep solver spec → cached, checked S-matrix entry.

``simulate`` = build (pure) → run (one worker process per non-equivalent source port,
each with a wall-clock timeout) → extract (pure) → checks, all inside
``DeviceCache.get_or_compute``: a failed, hung or (in strict mode) check-violating run
caches nothing.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np
import xarray as xr

from pipeline.cache import CacheEntry, DeviceCache
from pipeline.errors import SpecError
from pipeline.fdtd import build, checks, extract
from pipeline.fdtd.layout import Layout, Port
from pipeline.fdtd.material2d import Medium, bulk_media, model_2d
from pipeline.materials import SILICA, SILICON
from pipeline.solver_process import DEFAULT_TIMEOUT_S, run_task
from pipeline.fdtd.specs import Meep2DSpec, Meep3DSpec, MeepSpec
from pipeline.smatrix import interp_wavelength, power_db
from pipeline.specs import DeviceSpec


def media_for(spec: MeepSpec, layout: Layout, band: tuple[float, float],
              timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[dict[str, Medium], dict[str, Any]]:
    """Meep media for ``core`` / ``clad`` and a description for provenance."""
    centre = 0.5 * (band[0] + band[1])
    if layout.plane == "xz":
        media, info = _side_view_media(spec, band, centre)
    elif isinstance(spec, Meep2DSpec):
        m = model_2d(spec.material_model, band, layout.core_width, layout.thickness,
                     gap=spec.calibration_gap, resolution=spec.calibration_resolution, timeout_s=timeout_s)
        media = {"core": m.core, "clad": m.clad}
        info = m.summary()
        if not spec.dispersive:
            media = {"core": constant_medium(m.wavelengths, m.n_core, centre),
                     "clad": constant_medium(m.wavelengths, m.n_clad, centre)}
    elif isinstance(spec, Meep3DSpec):
        si, ox = bulk_media(band)
        media = {"core": si, "clad": ox}
        info = {"model": "bulk 3D (Si Li 1980, SiO2 Malitson 1965)"}
        if not spec.dispersive:
            media = {"core": Medium(float(SILICON.index(centre)) ** 2), "clad": Medium(float(SILICA.index(centre)) ** 2)}
    else:
        raise SpecError(f"solver spec {type(spec).__name__} is not a Meep spec. Fix: use Meep2DSpec or Meep3DSpec.")
    info.update(dispersive=spec.dispersive, core_medium=media["core"].as_dict(), clad_medium=media["clad"].as_dict())
    if not spec.dispersive:
        info["constant_index_wavelength_um"] = centre
    for name, medium in layout.media:
        if name in media:
            raise SpecError(f"layout medium {name!r} clashes with the engine's core/clad media. Fix: rename it.")
        media[name] = medium  # type: ignore[assignment]
        info[f"{name}_medium"] = medium.as_dict()  # type: ignore[attr-defined]
    return media, info


def _side_view_media(spec: MeepSpec, band: tuple[float, float],
                     centre: float) -> tuple[dict[str, Medium], dict[str, Any]]:
    """Bulk Si / SiO2 for a vertical (x–z) cross-section: the 2D slab *is* the SOI layer
    stack there (laterally uniform), so no effective-index model is needed."""
    if not isinstance(spec, Meep2DSpec):
        raise SpecError(f"a side-view (plane = 'xz') layout needs a 2D run, not {type(spec).__name__}. "
                        "Fix: use Meep2DSpec.")
    si, ox = bulk_media(band)
    if not spec.dispersive:
        si, ox = Medium(float(SILICON.index(centre)) ** 2), Medium(float(SILICA.index(centre)) ** 2)
    return {"core": si, "clad": ox}, {"model": "side view x-z, bulk Si (Li 1980) / SiO2 (Malitson 1965), "
                                               "slab TE (E out of plane, Meep ODD_Z), laterally uniform"}


def constant_medium(wavelengths: tuple[float, ...], n: tuple[float, ...], at: float) -> Medium:
    """Non-dispersive medium with n interpolated at ``at`` [µm]."""
    return Medium(float(np.interp(at, wavelengths, n)) ** 2)


@functools.lru_cache(maxsize=32)
def _reference_floor(task_json: str, width: float, mode: int, thickness: float, offset: float,
                     timeout_s: float) -> tuple[float, ...]:
    raw = run_task(json.loads(task_json), timeout_s=timeout_s, label="normalization run (straight reference guide)")
    ref = build.reference_layout(Port("in", 0.0, 0.0, "-x", width, mode), thickness=thickness)
    return tuple(float(x) for x in extract.reflection_floor(raw, ref, offset))


def noise_floor(layout: Layout, spec: MeepSpec, media: dict[str, Medium], wavelengths: list[float],
                timeout_s: float) -> np.ndarray:
    """|r|² per wavelength of a straight guide with the first port's cross-section (memoised)."""
    port = layout.ports[0]
    ref = build.reference_layout(port, thickness=layout.thickness, plane=layout.plane)
    task = build.build_task(ref, spec, media, wavelengths, "in")
    return np.asarray(_reference_floor(json.dumps(task, sort_keys=True), port.width, port.mode,
                                       layout.thickness, spec.monitor_offset, timeout_s))


def compute_smatrix(device: DeviceSpec, spec: MeepSpec, layout: Layout, *, timeout_s: float,
                    lossless: bool = False) -> tuple[xr.DataArray, dict[str, Any], dict[str, Any]]:
    """Run and extract one device: ``(S, provenance, checks)``. With flux boxes in the
    layout, every port is excited (no mirror fill) and the first item is a Dataset holding
    ``S`` and ``box_flux`` (see :func:`pipeline.fdtd.extract.box_fluxes`)."""
    wavelengths = [float(w) for w in device.band.wavelengths()]  # type: ignore[attr-defined]
    band = (wavelengths[0], wavelengths[-1])
    media, material_info = media_for(spec, layout, band, timeout_s)
    columns, runs, fluxes = {}, [], {}
    use_symmetry = spec.use_symmetry and not layout.flux_boxes  # box fluxes are not mirrored
    for port in build.source_ports(layout, use_symmetry):
        task = build.build_task(layout, spec, media, wavelengths, port)
        raw = run_task(task, timeout_s=timeout_s, label=f"{device.device} FDTD run from port {port}")
        columns[port] = extract.column(raw, layout, spec.monitor_offset)
        if layout.flux_boxes:
            fluxes[port] = extract.box_fluxes(raw, layout, spec.monitor_offset)
        runs.append({k: raw[k] for k in ("source_port", "meep_time", "timesteps", "final_decay", "stopped_by",
                                         "run_wall_time_s", "process_wall_time_s")})
    full = extract.fill_by_symmetry(columns, layout)
    provenance = {
        "engine": "pipeline.fdtd", "dims": 3 if isinstance(spec, Meep3DSpec) else 2,
        "resolution": spec.resolution, "polarization": "TE (Meep EVEN_Z: Hz, in-plane E)",
        "source_ports": [r["source_port"] for r in runs], "filled_by_symmetry": sorted(set(full) - set(columns)),
        "runs": runs, "final_decay": max(r["final_decay"] for r in runs),
        "de_embedding": f"phase exp(-/+ i beta d), d = {spec.monitor_offset} um, beta = 2 pi kdom (MPB)",
        "material_model": material_info,
    }
    s = extract.assemble(full, layout, wavelengths, provenance)
    data: xr.DataArray | xr.Dataset = s
    if fluxes:
        data = s.to_dataset(name="S")
        data["box_flux"] = extract.assemble_fluxes(fluxes, layout, wavelengths)
    extra: dict[str, Any] = {}
    flagged: dict[str, list[str]] = {}
    if spec.normalize_reflections:
        floor = noise_floor(layout, spec, media, wavelengths, timeout_s)
        fmax = float(np.max(floor))
        flagged = extract.below_floor(s, floor)
        extra = {"noise_floor": fmax, "noise_floor_db": float(10 * np.log10(max(fmax, 1e-30))),
                 "below_noise_floor": flagged, "reflection_below_noise_floor": bool(flagged)}
    if lossless:
        v = np.asarray(s.values)
        extra["unitarity_error"] = float(np.abs(np.conj(np.swapaxes(v, -1, -2)) @ v - np.eye(v.shape[-1])).max())
    result = checks.evaluate(s, final_decay=provenance["final_decay"], decay_by=spec.decay_by,
                             by_symmetry=bool(provenance["filled_by_symmetry"]), extra=extra,
                             below_floor=flagged)
    checks.enforce(result, strict=spec.strict, label=f"{device.device} ({spec.solver}, resolution {spec.resolution})")
    return data, provenance, result  # type: ignore[return-value]


def simulate(device: DeviceSpec, spec: MeepSpec, *, layout: Layout | None = None, lossless: bool = False,
             cache: DeviceCache | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
             overwrite: bool = False) -> tuple[CacheEntry, bool]:
    """Simulate ``device`` (geometry ``layout``; ``lossless``: check unitarity) with ``spec`` or
    read it from ``cache`` → ``(entry, cached)``.  The family's layout and LOSSLESS are handed
    in by :func:`pipeline.simulate.simulate` (this engine never looks a device up).

    ``timeout_s`` [s] limits each solver process; it and ``overwrite`` are execution
    flags and never enter the cache key."""
    if layout is None:
        raise SpecError(f"device {device.device!r}: the FDTD engine needs its layout. Fix: call "
                        "pipeline.simulate.simulate(device, solver, ...) (it passes the family's layout()).")
    cache = cache if cache is not None else DeviceCache()

    def compute() -> tuple[xr.DataArray, dict[str, Any], dict[str, Any]]:
        return compute_smatrix(device, spec, layout, timeout_s=timeout_s, lossless=lossless)

    return cache.get_or_compute(device, spec, compute, overwrite=overwrite)


def centre_smatrix(s: xr.DataArray) -> xr.DataArray:
    """S at the centre of its wavelength range (interpolated, port_out × port_in)."""
    wl = np.asarray(s.wavelength.values)
    return interp_wavelength(s, 0.5 * (wl.min() + wl.max())).isel(wavelength=0)


def summary(entry: CacheEntry, cached: bool, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document of ``photoprop device simulate``: power_db[out][in] at the centre λ
    (null where |S|² is below the reflection noise floor, listed in ``below_noise_floor``).
    Entries without an S-matrix (mode-solver sweeps) report their checks and figures only."""
    if "S" not in entry.data:
        return {"key": entry.key, "path": str(entry.path), "cached": cached, "device": entry.device_spec.device,
                "solver": entry.solver_spec.solver, "variables": sorted(entry.data.data_vars),
                "checks": entry.checks, "figures_of_merit": figures or {}}
    s = entry.smatrix
    sweep = {d: s[d].values[0].item() for d in s.dims if d not in ("wavelength", "port_out", "port_in")}
    s = s.isel({d: 0 for d in sweep})  # a swept entry (e.g. heater power) is summarised at its first point
    c = centre_smatrix(s)
    pdb = power_db(c)
    flagged = entry.checks.get("below_noise_floor", {})
    names = [str(p) for p in s.port_in.values]
    table: dict[str, dict[str, float | None]] = {}
    for o in names:
        table[o] = {}
        for i in names:
            table[o][i] = None if o in flagged.get(i, []) else round(float(pdb.sel(port_out=o, port_in=i)), 3)
    return {
        "key": entry.key, "path": str(entry.path), "cached": cached, "device": entry.device_spec.device,
        "solver": entry.solver_spec.solver, "ports": names,
        "centre_wavelength_um": float(c.wavelength.values) if "wavelength" in c.coords else None,
        "sweep_point": sweep, "power_db": table, "power_db_convention": "power_db[port_out][port_in] = 10 log10 |S|^2",
        "below_noise_floor": flagged, "noise_floor_db": entry.checks.get("noise_floor_db"),
        "checks": entry.checks, "figures_of_merit": figures or {},
    }

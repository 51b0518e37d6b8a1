"""Extract (pure): raw Meep mode coefficients → S-matrix container.

De-embedding. A port's monitor sits ``d = monitor_offset`` outside its reference plane.
With exp(−iωt) a wave travelling a distance d gains exp(+iβd), so at the plane

    incoming  a(plane) = a(monitor) · exp(+iβ d)
    outgoing  b(plane) = b(monitor) · exp(−iβ d)

with β = 2π·k_x, k_x the dominant wavevector Meep/MPB reports for that monitor and
frequency. ``S[i, j] = b_i(plane) / a_j(plane)`` for the run exciting port j. Meep's
coefficients are normalised to unit mode power, so |S|² is a power ratio. The ``minus``
(−normal) amplitudes come from a mode solved travelling along −normal
(:data:`pipeline.fdtd.meep_backend.BACKWARD_MODE_SOLVE`): Meep's time-reversed backward
coefficient misread them by up to ~12 % in power depending on the monitor's sub-pixel
position, which mis-normalised every source on a +x / +y facing port.

Flux boxes. Each box's per-face outward Poynting flux is divided by the incident mode
power |a_in|² at the source port's monitor (Meep normalises mode coefficients so that
|α|² is in flux units): ``box_flux[wavelength, port_in, box, face]`` is a fraction of the
input power; minus its sum over faces is the power absorbed inside the box.

Symmetry. Columns of ports that were not excited are filled from those that were, by
the device's mirrors with the sign rule of :mod:`pipeline.fdtd.layout`:
``S[σ(i), σ(j)] = s_i s_j S[i, j]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from pipeline.errors import SolverError
from pipeline.fdtd.layout import Layout, Port
from pipeline.smatrix import make_smatrix


def _c(pairs: list[list[float]]) -> np.ndarray:
    a = np.asarray(pairs, dtype=float)
    return a[:, 0] + 1j * a[:, 1]


def port_waves(mon: Mapping[str, Any], port: Port, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(incoming, outgoing) amplitudes at ``port``'s plane and β [rad/µm], per frequency."""
    beta = 2 * np.pi * np.asarray(mon["kx"], dtype=float)
    plus, minus = _c(mon["plus"]), _c(mon["minus"])
    incoming, outgoing = (minus, plus) if port.sign > 0 else (plus, minus)
    return incoming * np.exp(1j * beta * offset), outgoing * np.exp(-1j * beta * offset), beta


def column(raw: Mapping[str, Any], layout: Layout, offset: float) -> dict[str, np.ndarray]:
    """``{port_out: S[port_out, source]}`` (per frequency) from one run's raw result."""
    src = layout.port(raw["source_port"])
    a_in, _, _ = port_waves(raw["monitors"][src.name], src, offset)
    if np.any(np.abs(a_in) == 0):
        raise SolverError(f"run exciting port {src.name!r}: zero incident amplitude at its monitor "
                          "(source outside the band or mode not found).")
    out = {}
    for p in layout.ports:
        _, b, _ = port_waves(raw["monitors"][p.name], p, offset)
        out[p.name] = b / a_in
    return out


def fill_by_symmetry(columns: dict[str, dict[str, np.ndarray]], layout: Layout) -> dict[str, dict[str, np.ndarray]]:
    """Complete ``{port_in: {port_out: S}}`` using the layout's mirrors (with signs)."""
    cols = {j: dict(c) for j, c in columns.items()}
    ports = {p.name: p for p in layout.ports}
    changed = True
    while changed:
        changed = False
        for m in layout.symmetries:
            perm = m.permutation()
            for j in list(cols):
                sj = perm.get(j, j)
                if sj in cols:
                    continue
                cols[sj] = {perm.get(i, i): m.sign(ports[i]) * m.sign(ports[j]) * v for i, v in cols[j].items()}
                changed = True
    missing = [p for p in ports if p not in cols]
    if missing:
        raise SolverError(f"ports {missing} were neither excited nor reachable by the device's mirrors.")
    return cols


def assemble(columns: dict[str, dict[str, np.ndarray]], layout: Layout, wavelengths: list[float],
             provenance: Mapping[str, Any]) -> xr.DataArray:
    """The S-matrix container; wavelengths [µm] sorted ascending."""
    names = layout.port_names
    wl = np.asarray(wavelengths, dtype=float)
    order = np.argsort(wl)
    values = np.zeros((wl.size, len(names), len(names)), dtype=complex)
    for j, pj in enumerate(names):
        for i, pi in enumerate(names):
            values[:, i, j] = columns[pj][pi]
    planes = {p.name: [p.x, p.y] for p in layout.ports}
    return make_smatrix(values[order], wl[order], names, reference_planes=planes, provenance=provenance)


def reflection_floor(raw_ref: Mapping[str, Any], layout_ref: Layout, offset: float) -> np.ndarray:
    """|r|² per frequency of the straight reference guide: the discretization noise floor."""
    col = column(raw_ref, layout_ref, offset)
    return np.abs(col[raw_ref["source_port"]]) ** 2


def below_floor(s: xr.DataArray, floor: np.ndarray, factor: float = 4.0) -> dict[str, list[str]]:
    """``{port_in: [port_out, …]}`` whose max |S|² over the band stays under ``factor`` ×
    the band's largest floor value (the floor varies with λ by interference; one bound)."""
    p = np.abs(np.asarray(s.values)) ** 2  # (wavelength, out, in)
    mask = p.max(axis=0) < factor * float(np.max(floor))
    names = [str(n) for n in s.port_in.values]
    out: dict[str, list[str]] = {}
    for j, pj in enumerate(names):
        hits = [names[i] for i in range(len(names)) if mask[i, j]]
        if hits:
            out[pj] = hits
    return out


FACES = ("-x", "+x", "-y", "+y")


def box_fluxes(raw: Mapping[str, Any], layout: Layout, offset: float) -> dict[str, np.ndarray]:
    """``{box: array (frequency, face)}`` of outward fluxes / incident mode power."""
    src = layout.port(raw["source_port"])
    a_in, _, _ = port_waves(raw["monitors"][src.name], src, offset)
    p_in = np.abs(a_in) ** 2
    out = {}
    for b in layout.flux_boxes:
        faces = raw["flux_boxes"][b.name]
        out[b.name] = np.column_stack([np.asarray(faces[f], dtype=float) / p_in for f in FACES])
    return out


def assemble_fluxes(fluxes: dict[str, dict[str, np.ndarray]], layout: Layout, wavelengths: list[float]) -> xr.DataArray:
    """``box_flux`` (wavelength ascending, port_in, box, face) as a DataArray."""
    wl = np.asarray(wavelengths, dtype=float)
    order = np.argsort(wl)
    ports = [p for p in layout.port_names if p in fluxes]
    boxes = [b.name for b in layout.flux_boxes]
    values = np.stack([np.stack([fluxes[p][b] for b in boxes], axis=1) for p in ports], axis=1)  # (f, port, box, face)
    return xr.DataArray(values[order], dims=("wavelength", "port_in", "box", "face"),
                        coords={"wavelength": wl[order], "port_in": ports, "box": boxes, "face": list(FACES)},
                        attrs={"units": "1 (fraction of the incident mode power)",
                               "meaning": "outward Poynting flux through each face of each flux box; "
                                          "absorbed inside a box = -sum over faces"})

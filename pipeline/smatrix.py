"""The S-matrix container shared by every device, solver and circuit.

An S-matrix is a complex :class:`xarray.DataArray` with dims
``("wavelength", "port_out", "port_in")`` plus optional sweep coordinates.

Convention (recorded in ``attrs`` and checked by :func:`check_convention`):

* ``S[port_out, port_in]`` is the complex mode amplitude leaving ``port_out`` for a
  unit-amplitude mode entering ``port_in`` (amplitudes normalised to unit power).
* Time dependence ``exp(-iωt)`` (Meep's); a propagation phase is ``exp(+i β L)``.
* Wavelength in µm (vacuum). Reference planes are the device's declared port
  positions [µm]; transmission phases are de-embedded to them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.errors import ConventionError, ExtrapolationError, SpecError

DIMS = ("wavelength", "port_out", "port_in")
CONVENTION = "S[port_out, port_in]"
TIME_CONVENTION = "exp(-iwt)"


def make_smatrix(
    values: Any,
    wavelength: Sequence[float] | np.ndarray,
    ports: Sequence[str],
    *,
    sweep: Mapping[str, Sequence[Any]] | None = None,
    reference_planes: Mapping[str, Sequence[float]] | None = None,
    provenance: Mapping[str, Any] | None = None,
    name: str = "S",
    sweep_attrs: Mapping[str, tuple[str, str]] | None = None,
) -> xr.DataArray:
    """Build an S-matrix container.

    Parameters
    ----------
    values
        Complex array shaped ``(*sweep_shape, n_wavelength, n_ports, n_ports)`` with
        ``values[..., w, i, j] = S[port_out=i, port_in=j]``.
    wavelength
        Vacuum wavelengths [µm], strictly ascending.
    ports
        Port names, in matrix order (same order for ``port_out`` and ``port_in``).
    sweep
        Optional sweep coordinates ``{name: values}``, leading dims in that order.
    reference_planes
        ``{port: (x, y[, z])}`` reference-plane centres [µm].
    provenance
        Solver, versions, resolution ... (stored as JSON in ``attrs``).
    sweep_attrs
        ``{name: (units, long_name)}`` of sweep coordinates not in
        :data:`pipeline.units_attrs.ATTRS` (every coordinate carries both).
    """
    arr = np.asarray(values, dtype=np.complex128)
    wl = np.asarray(wavelength, dtype=float)
    ports = [str(p) for p in ports]
    sweep = dict(sweep or {})
    if wl.ndim != 1 or wl.size == 0:
        raise SpecError(f"wavelength must be a non-empty 1-D sequence, got shape {wl.shape}.")
    if wl.size > 1 and not np.all(np.diff(wl) > 0):
        raise SpecError("wavelength must be strictly ascending [µm]. Fix: sort the samples.")
    if len(set(ports)) != len(ports):
        raise SpecError(f"ports must be unique, got {ports}.")
    shape = tuple(len(v) for v in sweep.values()) + (wl.size, len(ports), len(ports))
    if arr.shape != shape:
        raise SpecError(
            f"values has shape {arr.shape}, expected {shape} "
            f"(sweep {tuple(sweep)}, wavelength, port_out, port_in)."
        )
    if not np.all(np.isfinite(arr)):
        raise SpecError("values contain NaN or infinity; the S-matrix must be finite.")
    table = {**units_attrs.ATTRS, **dict(sweep_attrs or {})}
    unknown = [k for k in sweep if k not in table]
    if unknown:
        raise SpecError(f"sweep coordinate(s) {unknown}: no units/long_name known. Fix: pass "
                        f"sweep_attrs={{{unknown[0]!r}: ('<units>', '<long name>')}} or add them to "
                        "pipeline.units_attrs.ATTRS.")
    dims = tuple(sweep) + DIMS
    coords: dict[str, Any] = {k: np.asarray(v) for k, v in sweep.items()}
    coords.update(wavelength=wl, port_out=ports, port_in=ports)
    attrs = {
        "convention": CONVENTION,
        "time_convention": TIME_CONVENTION,
        "amplitude_normalisation": "unit mode power",
        "wavelength_units": "um",
        "units": "1",
        "reference_planes": json.dumps({k: list(map(float, v)) for k, v in (reference_planes or {}).items()}),
        "provenance": json.dumps(dict(provenance or {}), sort_keys=True, default=str),
    }
    attrs["long_name"] = units_attrs.ATTRS["S"][1]
    da = xr.DataArray(arr, dims=dims, coords=coords, name=name, attrs=attrs)
    return _coord_attrs(da, table)


def _coord_attrs(da: xr.DataArray, table: Mapping[str, tuple[str, str]] = units_attrs.ATTRS) -> xr.DataArray:
    """units and long_name on every coordinate (:data:`pipeline.units_attrs.ATTRS`)."""
    for c in da.coords:
        if str(c) in table:
            units, long_name = table[str(c)]
            da[c].attrs.setdefault("units", units)
            da[c].attrs.setdefault("long_name", long_name)
    return da


def check_convention(s: xr.DataArray) -> None:
    """Raise :class:`ConventionError` unless ``s`` is a container in our convention."""
    if tuple(s.dims[-3:]) != DIMS:
        raise ConventionError(f"S-matrix dims must end with {DIMS}, got {s.dims}.")
    if s.attrs.get("convention") != CONVENTION or s.attrs.get("time_convention") != TIME_CONVENTION:
        raise ConventionError(
            f"S-matrix attrs say convention={s.attrs.get('convention')!r}, "
            f"time_convention={s.attrs.get('time_convention')!r}; expected {CONVENTION!r} and "
            f"{TIME_CONVENTION!r}. Fix: build it with pipeline.smatrix.make_smatrix."
        )
    if list(s.port_out.values) != list(s.port_in.values):
        raise ConventionError("port_out and port_in must list the same ports in the same order.")


def ports(s: xr.DataArray) -> list[str]:
    """Port names in matrix order."""
    return [str(p) for p in s.port_in.values]


def reference_planes(s: xr.DataArray) -> dict[str, list[float]]:
    """``{port: [x, y(, z)]}`` reference-plane centres [µm]."""
    return json.loads(s.attrs.get("reference_planes", "{}"))


def provenance(s: xr.DataArray) -> dict[str, Any]:
    """Solver provenance stored with the matrix."""
    return json.loads(s.attrs.get("provenance", "{}"))


def power_db(s: xr.DataArray, floor_db: float = -300.0) -> xr.DataArray:
    """|S|² in dB, clipped below at ``floor_db``."""
    p = np.abs(s) ** 2
    out = 10.0 * np.log10(np.maximum(p, 10.0 ** (floor_db / 10.0)))
    out.attrs = {"units": "dB", "long_name": "|S|^2"}
    return out


def _transpose_ports(s: xr.DataArray) -> xr.DataArray:
    t = s.transpose(*s.dims[:-2], "port_in", "port_out")
    return t.rename(port_in="port_out", port_out="port_in").assign_coords(
        port_out=s.port_out.values, port_in=s.port_in.values
    )


def reciprocity_error(s: xr.DataArray) -> xr.DataArray:
    """max |S_ij − S_ji| over port pairs, per wavelength (and sweep point). 0 for reciprocal."""
    check_convention(s)
    diff = np.abs(s - _transpose_ports(s))
    return diff.max(dim=("port_out", "port_in")).rename("reciprocity_error")


def max_singular_value(s: xr.DataArray) -> xr.DataArray:
    """Largest singular value per wavelength (and sweep point); ≤ 1 for a passive device."""
    check_convention(s)
    sv = np.linalg.svd(np.asarray(s.values), compute_uv=False)[..., 0]
    return xr.DataArray(sv, dims=s.dims[:-2], coords={d: s[d] for d in s.dims[:-2]}, name="max_singular_value")


def passivity_excess(s: xr.DataArray) -> float:
    """max(σ_max − 1, 0) over the whole container (0 when passive)."""
    return float(max(float(max_singular_value(s).max()) - 1.0, 0.0))


def output_power(s: xr.DataArray) -> xr.DataArray:
    """Σ_out |S[out, in]|² per input port: the energy balance (1 − this = loss + radiation)."""
    return (np.abs(s) ** 2).sum("port_out").rename("output_power")


def interp_wavelength(s: xr.DataArray, wavelength: float | Sequence[float] | np.ndarray) -> xr.DataArray:
    """Interpolate in wavelength [µm] — magnitude and unwrapped phase, linearly.

    Refuses to extrapolate: a wavelength outside the simulated band raises
    :class:`ExtrapolationError` naming the band.
    """
    check_convention(s)
    wl_new = np.atleast_1d(np.asarray(wavelength, dtype=float))
    wl = np.asarray(s.wavelength.values)
    lo, hi = float(wl.min()), float(wl.max())
    tol = 1e-12 * max(1.0, hi)
    bad = wl_new[(wl_new < lo - tol) | (wl_new > hi + tol)]
    if bad.size:
        raise ExtrapolationError(
            f"wavelength {bad[0]:.6g} um is outside the simulated band {lo:.6g}-{hi:.6g} um. "
            "Fix: request wavelengths inside the band, or simulate a wider band "
            "(WavelengthBand.start/stop) and rebuild the entry."
        )
    if wl.size == 1:
        out = s.sel(wavelength=np.repeat(wl, wl_new.size))
        return _coord_attrs(out.assign_coords(wavelength=wl_new))
    axis = s.dims.index("wavelength")
    vals = np.moveaxis(np.asarray(s.values), axis, -1)
    mag = np.abs(vals)
    phase = np.unwrap(np.angle(vals), axis=-1)
    flat_m = mag.reshape(-1, wl.size)
    flat_p = phase.reshape(-1, wl.size)
    m_new = np.array([np.interp(wl_new, wl, row) for row in flat_m])
    p_new = np.array([np.interp(wl_new, wl, row) for row in flat_p])
    new = (m_new * np.exp(1j * p_new)).reshape(vals.shape[:-1] + (wl_new.size,))
    new = np.moveaxis(new, -1, axis)
    coords = {d: s[d].values for d in s.dims if d != "wavelength"}
    coords["wavelength"] = wl_new
    out = xr.DataArray(new, dims=s.dims, coords=coords, name=s.name, attrs=dict(s.attrs))
    for c in s.coords:
        if c in out.coords:
            out[c].attrs.update(s[c].attrs)
    return _coord_attrs(out)


def summary_checks(s: xr.DataArray, *, lossless: bool = False) -> dict[str, float]:
    """The standard physics checks of an S-matrix, as plain floats.

    ``reciprocity_error``: max |S − Sᵀ|; ``max_singular_value``: passivity (≤ 1);
    ``max_output_power`` / ``min_output_power``: Σ_out |S|² per input (energy balance);
    with ``lossless``, ``unitarity_error`` = max ‖SᴴS − I‖.
    """
    out = {
        "reciprocity_error": float(reciprocity_error(s).max()),
        "max_singular_value": float(max_singular_value(s).max()),
        "max_output_power": float(output_power(s).max()),
        "min_output_power": float(output_power(s).min()),
    }
    if lossless:
        v = np.asarray(s.values)
        eye = np.eye(v.shape[-1])
        gram = np.conj(np.swapaxes(v, -1, -2)) @ v
        out["unitarity_error"] = float(np.abs(gram - eye).max())
    return out

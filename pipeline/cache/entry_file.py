"""One cache entry = one netCDF4-compatible HDF5 file.

Layout (written through xarray's h5netcdf engine, so ``xarray.open_dataset(path,
engine="h5netcdf")`` opens it):

* complex variables are stored as two real variables ``<name>_real`` / ``<name>_imag``
  (netCDF4 has no complex type); :func:`read_entry_file` recombines them;
* global attributes: ``photoprop_schema_version``, ``key``, ``device``,
  ``device_spec`` / ``solver_spec`` / ``versions`` / ``provenance`` / ``checks`` (JSON),
  ``layout`` (JSON: dims of every stored variable) and ``content_sha256``, a checksum
  of every array's bytes, dims and of all other attributes, verified on every read;
* a 512-byte HDF5 user block (ignored by HDF5, netCDF-C and xarray) holding
  ``photoprop-sha256:<hex>``, the sha256 of every byte after it: any damaged byte of
  the file — data, metadata or free space — is detected on read.

Reading uses h5py directly (fast: no xarray backend machinery) and rebuilds the
Dataset from ``layout``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import xarray as xr

from pipeline.errors import CacheError

CHECKSUM_ATTR = "content_sha256"
LAYOUT_ATTR = "layout"
USERBLOCK = 512
FILE_MAGIC = b"photoprop-sha256:"


def _split_complex(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    for name in list(ds.data_vars):
        var = ds[name]
        if np.iscomplexobj(var.values):
            out = out.drop_vars(name)
            out[f"{name}_real"] = var.real.assign_attrs({**var.attrs, "photoprop_complex": f"{name}:real"})
            out[f"{name}_imag"] = var.imag.assign_attrs({**var.attrs, "photoprop_complex": f"{name}:imag"})
    return out


def _as_array(values: Any) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "OSU":
        return np.asarray([str(v.decode() if isinstance(v, bytes) else v) for v in arr.ravel()]).reshape(arr.shape)
    return np.ascontiguousarray(arr)


def content_checksum(variables: dict[str, tuple[tuple[str, ...], np.ndarray]], attrs: dict[str, Any]) -> str:
    """sha256 over (name, dims, dtype, shape, bytes) of each variable and the attrs JSON."""
    h = hashlib.sha256()
    for name in sorted(variables):
        dims, arr = variables[name]
        arr = _as_array(arr)
        if arr.dtype.kind == "U":
            data = "\x1f".join(arr.ravel().tolist()).encode()
            dtype = "str"
        else:
            data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            dtype = arr.dtype.str.replace(">", "<")
        h.update(json.dumps([name, list(dims), dtype, list(arr.shape)]).encode())
        h.update(data)
    # "_NCProperties" and other "_"-attributes are added by the netCDF writer itself.
    meta = {k: v for k, v in attrs.items() if k != CHECKSUM_ATTR and not k.startswith("_")}
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _variables_of(ds: xr.Dataset) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    return {str(n): (tuple(map(str, v.dims)), v.values) for n, v in ds.variables.items()}


def write_entry_file(path: Path, ds: xr.Dataset, attrs: dict[str, Any]) -> None:
    """Write ``ds`` with global ``attrs`` (JSON-able values) to ``path`` (not atomic by itself)."""
    stored = _split_complex(ds)
    stored.attrs = {}
    layout = {str(n): list(map(str, v.dims)) for n, v in stored.variables.items()}
    var_attrs = {str(n): {k: str(a) for k, a in v.attrs.items()} for n, v in stored.variables.items()}
    flat = {k: (v if isinstance(v, (str, int, float)) else json.dumps(v, sort_keys=True, default=str)) for k, v in attrs.items()}
    flat[LAYOUT_ATTR] = json.dumps({"dims": layout, "attrs": var_attrs}, sort_keys=True)
    flat[CHECKSUM_ATTR] = content_checksum(_variables_of(stored), flat)
    stored.attrs = flat
    for name in stored.variables:
        stored[name].encoding = {}
    import h5netcdf
    from xarray.backends import H5NetCDFStore

    store = H5NetCDFStore(h5netcdf.File(path, "w", userblock_size=USERBLOCK))
    try:
        stored.dump_to_store(store)
    finally:
        store.close()
    with open(path, "r+b") as fh:
        digest = hashlib.sha256(fh.read()[USERBLOCK:]).hexdigest().encode()
        fh.seek(0)
        fh.write(FILE_MAGIC + digest)


def _verified_bytes(path: Path) -> bytes:
    """The file's bytes after checking the user-block checksum of everything after it."""
    raw = Path(path).read_bytes()
    head = raw[: len(FILE_MAGIC) + 64]
    if not head.startswith(FILE_MAGIC):
        raise CacheError(f"{path}: no photoprop checksum in the file header (not an entry, or its first "
                         "bytes are damaged). Fix: run `photoprop library verify --repair`.")
    stored = head[len(FILE_MAGIC):].decode(errors="replace")
    actual = hashlib.sha256(raw[USERBLOCK:]).hexdigest()
    if stored != actual:
        raise CacheError(f"{path}: file checksum mismatch (stored {stored[:12]}…, computed {actual[:12]}…): "
                         "the file is truncated or corrupt. Fix: run `photoprop library verify --repair` "
                         "to remove or recompute it.")
    return raw


def _read_raw(path: Path) -> tuple[dict[str, tuple[tuple[str, ...], np.ndarray]], dict[str, Any], dict[str, dict[str, str]]]:
    _verified_bytes(path)  # entries are immutable once published: parse the verified file by path
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        # scalars: h5netcdf >= 1.1 stores a number attribute as a shape-(1,) array, older as a scalar
        attrs = {k: (v.reshape(-1)[0] if isinstance(v, np.ndarray) and v.size == 1 else v) for k, v in attrs.items()}
        attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()}
        if LAYOUT_ATTR not in attrs or CHECKSUM_ATTR not in attrs:
            raise CacheError(f"{path}: not a photoprop cache entry (no {LAYOUT_ATTR!r}/{CHECKSUM_ATTR!r} attribute).")
        layout = json.loads(attrs[LAYOUT_ATTR])
        variables = {}
        for name, dims in layout["dims"].items():
            if name not in f:
                raise CacheError(f"{path}: variable {name!r} listed in the layout is missing.")
            raw = f[name][()]
            if isinstance(raw, bytes) or (isinstance(raw, np.ndarray) and raw.dtype.kind in "OS"):
                raw = _as_array(raw)
            variables[name] = (tuple(dims), np.asarray(raw))
    return variables, attrs, layout["attrs"]


def read_entry_file(path: Path) -> xr.Dataset:
    """Read and verify an entry; raise :class:`CacheError` naming the file on any damage."""
    path = Path(path)
    try:
        variables, attrs, var_attrs = _read_raw(path)
    except CacheError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise CacheError(
            f"{path}: unreadable or truncated cache entry ({type(exc).__name__}: {exc}). "
            "Fix: run `photoprop library verify --repair` to remove or recompute it."
        ) from exc
    expected = attrs[CHECKSUM_ATTR]
    actual = content_checksum(variables, attrs)
    if actual != expected:
        raise CacheError(
            f"{path}: checksum mismatch (stored {expected[:12]}…, computed {actual[:12]}…): the file is "
            "corrupt. Fix: run `photoprop library verify --repair` to remove or recompute it."
        )
    coords_names = {d for dims, _ in variables.values() for d in dims} & set(variables)
    coords = {n: xr.Variable(variables[n][0], variables[n][1], var_attrs.get(n, {})) for n in coords_names}
    data: dict[str, xr.Variable] = {}
    pending: dict[str, dict[str, np.ndarray]] = {}
    for name, (dims, arr) in variables.items():
        if name in coords_names:
            continue
        va = dict(var_attrs.get(name, {}))
        tag = va.pop("photoprop_complex", None)
        if tag:
            base, part = tag.split(":")
            pending.setdefault(base, {"dims": dims, "attrs": va})[part] = arr  # type: ignore[assignment]
        else:
            data[name] = xr.Variable(dims, arr, va)
    for base, parts in pending.items():
        data[base] = xr.Variable(parts["dims"], parts["real"] + 1j * parts["imag"], parts["attrs"])
    public = {k: v for k, v in attrs.items() if k != LAYOUT_ATTR and not k.startswith("_")}
    return xr.Dataset(data, coords=coords, attrs=public)


def read_entry_attrs(path: Path) -> dict[str, Any]:
    """Global attributes only (no checksum verification); raises CacheError if unreadable."""
    try:
        with h5py.File(path, "r") as f:
            return {k: (v.decode() if isinstance(v, bytes) else (v.item() if isinstance(v, np.generic) else v)) for k, v in f.attrs.items()}
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise CacheError(f"{path}: unreadable cache entry ({exc}).") from exc

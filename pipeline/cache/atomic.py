"""Atomic file writes outside the entry store (compact models next to the entries)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr


def write_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` as netCDF atomically (temporary file in the same folder, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

"""Atomic file writes outside the entry store (compact models next to the entries)."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from pipeline.cache.temp import temp_path


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op on Windows, where directories
    cannot be opened and renames need no directory fsync."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dataset(ds: xr.Dataset, path: Path) -> None:
    """Write ``ds`` as netCDF atomically (temporary file in the same folder, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

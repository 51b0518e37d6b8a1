"""pipeline.open_library / open_results: the notebook entry points."""

import numpy as np
import pytest
import xarray as xr

import pipeline
from pipeline.cache import DeviceCache
from pipeline.errors import CacheError, SpecError


def test_open_library_indexes_every_shipped_entry():
    lib = pipeline.open_library()
    paths = DeviceCache().entry_paths()
    assert lib.sizes["entry"] == len(paths) > 0
    assert set(lib.key.values) == {p.stem for p in paths}
    assert set(lib.device.values) >= {"directional_coupler", "phase_shifter", "photodetector", "crossing"}
    couplers = lib.where(lib.device == "directional_coupler", drop=True)
    assert np.all(couplers.wavelength_min <= 1.55) and np.all(couplers.wavelength_max >= 1.55)
    assert bool(lib.checks_passed.all())
    assert lib.wall_time_s.attrs["units"] == "s"
    from pipeline import units_attrs

    assert units_attrs.missing(lib) == []


def test_open_library_reports_a_corrupt_entry(tmp_path):
    src = DeviceCache().entry_paths()[0]
    dst = tmp_path / src.parent.name / src.name
    dst.parent.mkdir()
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=src.stem[:12]):
        pipeline.open_library(tmp_path)


def test_open_library_empty_folder_says_how_to_fill_it(tmp_path):
    with pytest.raises(CacheError, match="library build"):
        pipeline.open_library(tmp_path)


def test_open_results_reads_folder_or_file(tmp_path):
    ds = xr.Dataset({"test_accuracy": (("algorithm", "seed"), np.array([[0.9, 0.95], [0.8, 0.85]]))},
                    coords={"algorithm": ["ideal", "insitu"], "seed": [0, 1]})
    ds.to_netcdf(tmp_path / "results.nc", engine="h5netcdf")
    for target in (tmp_path, tmp_path / "results.nc"):
        back = pipeline.open_results(target)
        xr.testing.assert_identical(back, ds)
    with pytest.raises(SpecError, match="no results.nc"):
        pipeline.open_results(tmp_path / "nothing")

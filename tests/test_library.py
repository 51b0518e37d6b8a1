"""pipeline.library.Library: the one door between the device library and the chip — every
compact model read (never refitted, never simulated) from the shipped library, memoised per
Library instance (not per process), and handed to the dies."""

import shutil

import numpy as np
import pytest

from pipeline.errors import CacheError, SpecError
from pipeline.library import FAMILIES, Library
from pipeline.library import families

SHIPPED_MODEL_FILES = {"coupler": "coupler_model-75c5d40bfc123331.nc",
                       "photodetector": "photodetector_model-33d303ac5a08b89c.nc",
                       "crossing": "crossing_model-98ac270d7496f6c5.nc", "mmi": "mmi_model-4541a2c6f2f8764e.nc"}


def test_shipped_model_files_keep_their_names(library):
    for name, file in SHIPPED_MODEL_FILES.items():
        path = library.model_path(name)
        assert path.name == file and path.exists(), name


def test_every_family_reads_from_the_shipped_library_without_fitting(monkeypatch):
    def no_fit(*a, **k):
        raise AssertionError("fitted instead of read")

    monkeypatch.setattr(families, "fit", no_fit)
    lib = Library()
    for name in FAMILIES:
        assert lib.model(name) is lib.model(name), name  # memoised on the instance


def test_unknown_model_lists_the_families(library):
    with pytest.raises(SpecError, match="coupler, photodetector"):
        library.model("ring")


def test_memo_is_per_library_and_follows_the_folder(tmp_path, monkeypatch):
    a, b = Library(), Library()
    assert a.model("coupler") is not b.model("coupler")
    np.testing.assert_array_equal(a.model("coupler").coefficients, b.model("coupler").coefficients)
    monkeypatch.setenv("PHOTOPROP_CACHE", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    empty = Library()  # a changed PHOTOPROP_CACHE in the same process is picked up
    assert empty.root == (tmp_path / "empty")
    with pytest.raises(CacheError):
        empty.model("phase_shifter")
    with pytest.raises(CacheError, match="run_sweep"):
        empty.model("coupler")
    with pytest.raises(CacheError):
        empty.crossing_figures(1.55)
    assert a.crossing_figures(1.55).key  # the first library is untouched


def test_a_copied_model_file_reads_from_another_folder(tmp_path, library):
    """The model file is found by its name from the run keys, whatever the folder (no entries needed)."""
    (tmp_path / "compact_models").mkdir()
    for name in ("mmi", "coupler"):
        shutil.copy2(library.model_path(name), tmp_path / "compact_models")
    other = Library(tmp_path)
    np.testing.assert_array_equal(other.model("mmi").table.log_amp, library.model("mmi").table.log_amp)
    assert other.design_coupling_length() == library.design_coupling_length()


@pytest.mark.parametrize("arch_name", ["attenuator", "mesh"])
def test_dies_are_handed_their_library(arch_name, library):
    from pipeline.chip.attenuator import AttenuatorArchitecture
    from pipeline.chip.mesh_network import MeshArchitecture

    arch = AttenuatorArchitecture() if arch_name == "attenuator" else MeshArchitecture()
    given = arch.sample_die("realistic", 3, library=library)
    default = arch.sample_die("realistic", 3)
    assert given.library is library and default.library is not library
    x = np.random.default_rng(0).uniform(0, 1, (5, 2))
    np.testing.assert_array_equal(given.infer(x), default.infer(x))


def test_train_makes_one_library_for_all_dies(library):
    from pipeline.training import algorithms as alg
    from pipeline.training import run

    res = run.train("moons", "attenuator", "offline,insitu", "realistic", seed=1, n_samples=20,
                    config=alg.TrainConfig(epochs=1), library=library)
    assert all(d.library is library for d in res.dies.values() if d is not None)
    res = run.train("moons", "attenuator", "offline,insitu", "realistic", seed=1, n_samples=20,
                    config=alg.TrainConfig(epochs=1))
    libs = {id(d.library) for d in res.dies.values() if d is not None}
    assert len(libs) == 1

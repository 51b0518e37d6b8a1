import sys
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
warnings.filterwarnings("ignore", message="The value of the smallest subnormal")


@pytest.fixture
def cache(tmp_path):
    from pipeline.cache import DeviceCache

    return DeviceCache(tmp_path / "lib")


@pytest.fixture(scope="session")
def library():
    """The default device library (``$PHOTOPROP_CACHE`` or the shipped ``cache/``), one
    :class:`pipeline.library.Library` for the session (its models and figures memoised)."""
    from pipeline.library import Library

    return Library()


@pytest.fixture
def circulator():
    from fixture_specs import CirculatorFixtureSpec, circulator_smatrix

    return circulator_smatrix(CirculatorFixtureSpec())


@pytest.fixture(scope="session")
def load_shipped():
    """``load_shipped(family)``: the shipped model of an offset family
    (:class:`devices.offset_model.OffsetFamily`, its stored netCDF, never refitted) and the
    default library."""
    from devices.offset_model import OffsetModel
    from pipeline.cache import DeviceCache

    def load(family):
        cache = DeviceCache()
        path = family.model_path(cache)
        assert path.exists(), f"the shipped model {path.name} is missing: Library().fit(name) and commit it"
        return OffsetModel.load(path, family.name), cache

    return load

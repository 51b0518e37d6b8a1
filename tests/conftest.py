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


@pytest.fixture
def circulator():
    from fixture_specs import CirculatorFixtureSpec, circulator_smatrix

    return circulator_smatrix(CirculatorFixtureSpec())

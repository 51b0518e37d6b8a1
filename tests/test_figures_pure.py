"""``figures_of_merit`` of every device family is pure extraction: with every solver entry
point and the cache's writer made to raise, each family's figures are computed from its
shipped entries (``cache/``), companions included (read, never simulated, by
``pipeline.simulate.figures_of_merit(..., simulate_missing=False)``).  A figure function
that starts a simulation — as the coupler's and the MZI's ``simulate_companion`` callbacks
could — fails here (``test_a_figure_that_simulates_is_caught``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import devices
from pipeline.cache import DeviceCache

SHIPPED = Path(__file__).resolve().parents[1] / "cache"

#: (module, function): every way a solver run or a cache write starts (the solver task
#: boundary, each solver's public entry and its defining module, the FDTD engine, the
#: dispatcher, the co-simulation runners).
ENTRY_POINTS = (
    ("pipeline.solver_process", "run_task"),
    ("pipeline.fdtd.simulate", "simulate"), ("pipeline.fdtd.simulate", "compute_smatrix"),
    ("pipeline.fdtd.simulate", "media_for"), ("pipeline.fdtd.material2d", "model_2d"),
    ("pipeline.modes", "solve_modes"), ("pipeline.modes.solver", "solve_modes"),
    ("pipeline.thermal", "solve_steady_state"), ("pipeline.thermal.fem", "solve_steady_state"),
    ("pipeline.thermo_optic", "resolve_heated"), ("pipeline.charge.poisson", "solve_junction"),
    ("pipeline.simulate", "simulate"), ("pipeline.simulate.heater_cosim", "run"),
    ("pipeline.simulate.mode_sweep", "solve_point"),
)
#: Families with no shipped entry (their figures are tested on a composed entry in
#: tests/test_mzi_fdtd.py); the test notices when one is shipped.
NOT_SHIPPED = {"mzi"}


class SolverCalled(AssertionError):
    """A figure-of-merit function started a solver run or a cache write."""


@pytest.fixture
def no_solvers(monkeypatch):
    def refuse(name):
        def call(*args, **kwargs):
            raise SolverCalled(f"figures_of_merit called {name}")
        return call

    for module, name in ENTRY_POINTS:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            monkeypatch.setattr(mod, name, refuse(f"{module}.{name}"))
    monkeypatch.setattr(DeviceCache, "get_or_compute", refuse("DeviceCache.get_or_compute"))
    monkeypatch.setattr(DeviceCache, "publish", refuse("DeviceCache.publish"))


def _first_entry(family: str):
    paths = sorted((SHIPPED / family).glob("*.h5"))
    return DeviceCache(SHIPPED).read_path(paths[0]) if paths else None


def test_every_family_is_shipped_or_listed():
    shipped = {f for f in devices.DEVICES if sorted((SHIPPED / f).glob("*.h5"))}
    assert set(devices.DEVICES) - shipped == NOT_SHIPPED


@pytest.mark.parametrize("family", sorted(set(devices.DEVICES) - NOT_SHIPPED))
def test_figures_of_merit_never_simulate(family, no_solvers):
    from pipeline.simulate import figures_of_merit

    entry = _first_entry(family)
    through = figures_of_merit(entry, cache=DeviceCache(SHIPPED), simulate_missing=False)
    own = getattr(devices.get(family), "figures_of_merit", None)
    if own is None:  # a family without figures_of_merit (today: ring_coupler)
        assert through == {}
        return
    direct = own(entry)
    assert direct and set(direct) <= set(through)


def test_coupler_companion_is_read_from_the_library(no_solvers):
    """The shipped coupler sweep holds L and L + LC_DELTA: L_c comes from the cached
    companion, and matches the two-length formula on the same two entries."""
    import numpy as np

    import devices.directional_coupler as dc
    from pipeline.fdtd.coupling import coupling_length
    from pipeline.fdtd.specs import Meep2DSpec
    from pipeline.simulate import figures_of_merit

    cache = DeviceCache(SHIPPED)
    spec = dc.DirectionalCouplerSpec(coupling_length=16.5)
    entry = cache.get(spec, Meep2DSpec())
    longer = cache.get(dc.companions(spec)["longer"], Meep2DSpec())
    assert entry is not None and longer is not None, "shipped coupler sweep entries at L = 16.5 / 26.5 um"
    fom = figures_of_merit(entry, cache=cache, simulate_missing=False)
    lc = coupling_length(entry.smatrix, 16.5, longer.smatrix, 26.5)
    k = int(np.argmin(np.abs(entry.smatrix.wavelength.values - spec.band.center)))
    assert fom["coupling_length_um"] == pytest.approx(float(lc[k]), rel=1e-12)
    assert fom["companion_key"] == longer.key
    # a missing companion leaves its figure out instead of simulating it
    alone = figures_of_merit(entry, cache=DeviceCache(SHIPPED / "nowhere"), simulate_missing=False)
    assert "coupling_length_um" not in alone and alone["power_coupling"] == fom["power_coupling"]
    with pytest.raises(Exception, match="companion 'longer'"):
        dc.figures_of_merit(longer, companions={"longer": entry})


def test_a_figure_that_simulates_is_caught(no_solvers):
    """The guard works: the old callback design (figures that simulate their companion through
    the dispatcher) raises under it."""
    from pipeline.simulate import simulate

    entry = _first_entry("directional_coupler")

    def old_style(e, simulate_companion):
        return simulate_companion(e.device_spec.model_copy(update={"coupling_length": 99.0}))

    with pytest.raises(SolverCalled, match="pipeline.simulate.simulate"):
        old_style(entry, lambda d: simulate(d, entry.solver_spec, cache=DeviceCache(SHIPPED)))

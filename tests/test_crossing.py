"""Waveguide crossing: ±y ports through the FDTD engine, insertion loss and crosstalk.

Independent references: the device's 4-fold symmetry (the run from the y-port o2 must
reproduce, through the ±y machinery, what the run from the x-port o1 measures through
x-ports: same |S|² and the same de-embedded through phase), the mirror sign rule
measured directly inside one run, and the plain-crossing baseline expected for a 90°
crossing of 500 nm strips (~1 dB, crosstalk well above the tapered design's).
"""

from __future__ import annotations

import numpy as np
import pytest
from solvers import needs_solver

import devices
from devices.crossing import CrossingSpec, figures_of_merit
from pipeline.errors import SpecError
from pipeline.fdtd import Meep2DSpec, build
from pipeline.fdtd.layout import Mirror
from pipeline.fdtd.material2d import Medium

BAND = {"start": 1.53, "stop": 1.57, "points": 3}
FAST = dict(resolution=20, calibration_resolution=32)


def test_crossing_layout_and_y_port_tasks():
    spec = CrossingSpec()
    lay = devices.get("crossing").layout(spec)
    p = {q.name: q for q in lay.ports}
    assert [p[n].direction for n in ("o1", "o2", "o3", "o4")] == ["-x", "+y", "+x", "-y"]
    assert p["o2"].axis == "y" and p["o2"].sign == 1 and p["o4"].sign == -1
    assert build.source_ports(lay, True) == ["o1", "o2"]
    task = build.build_task(lay, Meep2DSpec(), {"core": Medium(8.0), "clad": Medium(1.35)}, [1.55], "o2")
    src = task["source"]
    assert src["axis"] == "y" and src["towards"] == -1  # launched from +y towards -y
    assert src["center"][0] == 0 and src["center"][1] == pytest.approx(spec.arm_length + 1.0)
    assert src["size"][1] == 0 and src["size"][0] > spec.width  # a line along x
    mon = {m["port"]: m for m in task["monitors"]}
    assert mon["o4"]["center"][1] == pytest.approx(-spec.arm_length - 0.5) and mon["o4"]["size"][1] == 0
    stubs = [s for s in task["shapes"][:4]]
    assert stubs[1]["size"][0] == spec.width and stubs[1]["center"][1] > spec.arm_length  # o2 stub runs along +y
    # the cell makes room for source + PML along y as well as along x
    assert task["cell_size"][0] == pytest.approx(task["cell_size"][1])


def test_mirror_sign_rule_between_x_and_y_ports():
    lay = devices.get("crossing").layout(CrossingSpec())
    y_mirror = Mirror("y", 0.0, (("o2", "o4"),))
    assert y_mirror.sign(lay.port("o1")) == -1  # plane contains the x-axis: even profile -> -itself
    assert y_mirror.sign(lay.port("o2")) == 1   # plane perpendicular to the y-axis


@pytest.mark.parametrize("kwargs", [{"taper_width": 0.4}, {"arm_length": 2.0}])
def test_bad_crossing_specs(kwargs):
    with pytest.raises(SpecError):
        CrossingSpec(**kwargs)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    needs_solver("meep")
    from pipeline.cache import DeviceCache
    from pipeline.simulate import simulate

    lib = DeviceCache(tmp_path_factory.mktemp("crossing-lib"))
    entry, _ = simulate(CrossingSpec(band=BAND), Meep2DSpec(**FAST), cache=lib, timeout_s=300)
    return entry


@pytest.mark.meep
def test_crossing_y_ports_reproduce_x_ports(crossing):
    s = crossing.smatrix
    assert crossing.provenance["source_ports"] == ["o1", "o2"]
    t_x, t_y = s.sel(port_out="o3", port_in="o1").values, s.sel(port_out="o4", port_in="o2").values
    assert np.allclose(np.abs(t_x) ** 2, np.abs(t_y) ** 2, atol=0.01)
    assert np.all(np.abs(np.angle(t_x / t_y)) < 0.05)  # same de-embedded through phase
    # both side ports measured in the o1 run: S[o4,o1] = -S[o2,o1] (TE0, mixed-axis mirror)
    x2, x4 = s.sel(port_out="o2", port_in="o1").values, s.sel(port_out="o4", port_in="o1").values
    assert np.all(np.abs(np.angle(-x4 / x2)) < 0.2)
    assert crossing.checks["passed"], crossing.checks["failures"]


@pytest.mark.meep
def test_crossing_figures_of_merit(crossing):
    fom = figures_of_merit(crossing)
    assert 0.5 < fom["insertion_loss_db"] < 1.5  # 2D calibrated model, 20 px/um: ~1.0 dB
    assert fom["crosstalk_db"] < -25  # the parabolic taper: ~-40 dB (plain crossing ~-13.5 dB)
    assert fom["insertion_loss_y_db"] == pytest.approx(fom["insertion_loss_db"], abs=0.05)
    assert fom["reflection_db"] < -20


@pytest.mark.slow
@pytest.mark.meep
def test_converged_crossing_against_plain_baseline(tmp_path):
    """30 px/µm, full band: the tapered default (parabolic) against the plain 90° crossing
    of 500 nm strips (measured IL 1.19 dB, XT −13.5 dB at 30 px/µm)."""
    needs_solver("meep")
    from pipeline.cache import DeviceCache
    from pipeline.simulate import simulate

    import warnings

    from pipeline.errors import PhotopropWarning

    lib, spec = DeviceCache(tmp_path), Meep2DSpec(resolution=30)
    tapered = figures_of_merit(simulate(CrossingSpec(), spec, cache=lib, timeout_s=1800)[0])
    # The plain crossing scatters strongly; the Yee grid treats x- and y-directed scattering
    # slightly differently (side-port powers 0.0443 vs 0.0398 where symmetry says equal), so
    # its reciprocity error sits at the 0.02 tolerance (0.023 measured): warned, bounded here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhotopropWarning)
        plain_entry = simulate(CrossingSpec(taper_width=0.5, taper_length=0.0), spec, cache=lib, timeout_s=1800)[0]
    assert plain_entry.checks["reciprocity_error"] < 0.05
    plain = figures_of_merit(plain_entry)
    assert 0.8 < plain["insertion_loss_db"] < 1.6 and -18 < plain["crosstalk_db"] < -10
    assert tapered["insertion_loss_db"] < plain["insertion_loss_db"]
    assert tapered["crosstalk_db"] < plain["crosstalk_db"] - 15

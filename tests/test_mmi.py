"""2×2 MMI: layout, the self-imaging length of the 2D slab model, and a coarse FDTD run
checked against self-imaging theory (equal split, outputs in quadrature).

Independent reference: general-interference self-imaging (Soldano & Pennings, JLT 13,
615 (1995)): two images of equal power, 90° apart, at L = 3 L_π / 2, with L_π from the
exact 2D slab modes (not from FDTD) — and Soldano's closed-form W_e approximation as a
second estimate of the same length.
"""

from __future__ import annotations

import numpy as np
import pytest
from solvers import needs_solver

import devices
from devices.mmi import MMISpec, figures_of_merit, self_imaging_length
from pipeline.errors import SpecError
from pipeline.fdtd import build

BAND = {"start": 1.53, "stop": 1.57, "points": 3}
FAST = dict(resolution=20, calibration_resolution=32)


def test_mmi_layout_ports_and_symmetry():
    spec = MMISpec()
    lay = devices.get("mmi").layout(spec)
    p = {q.name: q for q in lay.ports}
    assert p["o1"].direction == "-x" and p["o1"].y == pytest.approx(-1.0) and p["o3"].y == pytest.approx(1.0)
    assert p["o4"].x == pytest.approx(-p["o1"].x) and p["o4"].x > spec.mmi_length / 2 + spec.taper_length
    assert build.source_ports(lay, True) == ["o1"]


def test_self_imaging_length_of_the_2d_model_agrees_with_soldano():
    t = self_imaging_length(2.5, 1.55, 2.835, 1.161)  # calibrated 2D model at 1.55 um (500x220 nm)
    assert t["length_3db_um"] == pytest.approx(23.1, abs=0.2)
    assert t["length_3db_soldano_um"] == pytest.approx(t["length_3db_um"], rel=0.03)
    # L_pi grows as W^2
    assert self_imaging_length(5.0, 1.55, 2.835, 1.161)["l_pi_um"] == pytest.approx(4 * t["l_pi_um"], rel=0.05)


@pytest.mark.parametrize("kwargs", [{"port_offset": 0.4}, {"port_offset": 1.2}, {"port_separation": 1.0}])
def test_bad_mmi_specs(kwargs):
    with pytest.raises(SpecError):
        MMISpec(**kwargs)


@pytest.mark.meep
def test_mmi_splits_in_quadrature(tmp_path):
    needs_solver("meep")
    from pipeline.cache import DeviceCache
    from pipeline.fdtd import Meep2DSpec
    from pipeline.simulate import simulate

    entry, _ = simulate(MMISpec(band=BAND), Meep2DSpec(**FAST), cache=DeviceCache(tmp_path), timeout_s=300)
    fom = figures_of_merit(entry)
    assert abs(fom["imbalance_db"]) < 1.0
    assert fom["excess_loss_db"] < 1.0
    assert abs(abs(fom["phase_difference_deg"]) - 90) < 10  # quadrature, as self-imaging predicts
    assert fom["theory_length_3db_um"] == pytest.approx(entry.device_spec.mmi_length, rel=0.15)
    s = entry.smatrix
    assert np.all(np.abs(s.sel(port_out="o2", port_in="o1").values) ** 2 < 0.01)  # little goes back
    assert entry.checks["passed"], entry.checks["failures"]


@pytest.mark.slow
@pytest.mark.meep
def test_converged_mmi_balance_point_matches_self_imaging_length(tmp_path):
    """30 px/µm: the default length (23.0 µm, the FDTD balance point; measured imbalance
    +0.85 dB at 22.5 µm, −0.32 dB at 23.25 µm) lies within 2 % of 3 L_π / 2 of the slab
    modes (23.1 µm), with the outputs in quadrature."""
    needs_solver("meep")
    from pipeline.cache import DeviceCache
    from pipeline.fdtd import Meep2DSpec
    from pipeline.simulate import simulate

    entry, _ = simulate(MMISpec(), Meep2DSpec(resolution=30), cache=DeviceCache(tmp_path), timeout_s=1800)
    fom = figures_of_merit(entry)
    assert abs(fom["imbalance_db"]) < 0.5
    assert abs(abs(fom["phase_difference_deg"]) - 90) < 10
    assert fom["excess_loss_db"] < 1.0
    assert fom["theory_length_3db_um"] == pytest.approx(entry.device_spec.mmi_length, rel=0.02)

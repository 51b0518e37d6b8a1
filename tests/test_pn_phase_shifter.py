"""Carrier-depletion phase shifter: Poisson + free-carrier + mode co-simulation vs independent paths.

Independent references: (1) the mode re-solved on the perturbed index map by Tidy3D (another
solver and grid) against the first-order MPB kernel; (2) the depletion-formula capacitance
C' = ε_Si h / W (h = rib height); (3) V_πL of lateral PN shifters near 5e17 cm⁻³ at −2 V,
1.5–3 V·cm (range of issue 15; depletion-modulator review: Reed et al., Nat. Photon. 4, 518
(2010)).  The default test runs coarse grids (MPB/Tidy3D 24 px/µm): its band is widened to
1.3–3.2 V·cm (first-order V_πL changes ~1 % from 24 to 48 px/µm, benchmarks/results/
pn_phase_shifter.txt); the converged value is checked in the slow test.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from devices.pn_phase_shifter import (VPIL_RANGE_V_CM, PNPhaseShifterSpec, PNSolverSpec, cross_section,
                                      figures_of_merit, model, simulate)
from pipeline.cache import DeviceCache
from pipeline.errors import ExtrapolationError, SpecError
from solvers import needs_solver

COARSE = PNSolverSpec(fine_cell=0.004, mode_resolution=24, check_resolution=24)
DEVICE = PNPhaseShifterSpec(band={"start": 1.50, "stop": 1.60, "points": 2},
                            bias_voltages=(0.0, -1.0, -1.5, -2.0, -3.0))


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    for module in ("skfem", "meep", "tidy3d"):
        needs_solver(module)
    return simulate(DEVICE, COARSE, cache=DeviceCache(tmp_path_factory.mktemp("pn")))[0]


def test_spec_validation():
    with pytest.raises(SpecError, match="bias_voltages"):
        PNPhaseShifterSpec(bias_voltages=(0.0, 1.0))
    with pytest.raises(SpecError, match="vpi_bias"):
        PNPhaseShifterSpec(vpi_bias=-2.5)
    with pytest.raises(SpecError, match="junction_offset"):
        PNPhaseShifterSpec(junction_offset=0.3)
    with pytest.raises(SpecError, match="slab_thickness"):
        PNPhaseShifterSpec(slab_thickness=0.22)
    with pytest.raises(SpecError, match="PNSolverSpec"):
        from pipeline.thermo_optic import ThermoOpticSolverSpec
        simulate(PNPhaseShifterSpec(), ThermoOpticSolverSpec(), cache=None)


def test_rib_cross_section_is_three_adjacent_cores():
    cs = cross_section(PNPhaseShifterSpec())
    (l, r, rr) = cs.cores
    assert l.x_span[1] == pytest.approx(r.x_span[0]) and r.x_span[1] == pytest.approx(rr.x_span[0])
    assert cs.bounds() == pytest.approx((-2.25, 2.25, 0.0, 0.22))


def test_vpil_and_resolve(entry):
    fom = figures_of_merit(entry)
    assert 1.3 <= fom["vpi_l_v_cm"] <= 3.2  # coarse band around VPIL_RANGE_V_CM (module doc)
    assert VPIL_RANGE_V_CM == (1.5, 3.0)
    assert abs(entry.checks["first_order_vs_resolve"]) < 0.05
    assert entry.checks["passed"]
    ds = entry.data
    assert np.all(np.diff(ds["dneff"].isel(wavelength=0).values) > 0)  # depletion raises n_eff
    assert np.all(np.diff(ds["loss_carriers"].isel(wavelength=0).values) < 0)  # and lowers the loss
    assert 5 < fom["loss_db_per_cm_0v"] < 25  # ~1-2 dB/mm for 5e17 lateral junctions


def test_capacitance_vs_depletion_formula(entry):
    ds = entry.data.sel(voltage=[-1.0, -1.5, -2.0])  # central differences
    err = ds["capacitance"] / ds["capacitance_formula"] - 1
    assert float(np.max(np.abs(err))) < 0.05
    assert 150 < figures_of_merit(entry)["capacitance_ff_per_mm_at_vpi_bias"] < 250
    assert entry.checks["charge_neutrality"] < 1e-6
    assert entry.checks["depletion_width_vs_corrected_max"] < 0.04


def test_compact_model_on_held_out_voltage(entry):
    """Fitted without −1.5 V, the model predicts the simulated Δn_eff and α there within 3 %."""
    ds = entry.data
    f = model(ds.drop_sel(voltage=-1.5))
    dn, a = f(-1.5, ds.wavelength.values)
    ref = ds.sel(voltage=-1.5)
    assert np.allclose(dn, ref["dneff"].values, rtol=0.03)
    assert np.allclose(a, ref["alpha_carriers"].values, rtol=0.03)
    dn_all, _ = model(entry)(ds.voltage.values[:, None], ds.wavelength.values[None, :])
    assert np.allclose(dn_all, ds["dneff"].values, rtol=1e-9, atol=1e-12)
    with pytest.raises(ExtrapolationError, match="voltage"):
        model(entry)(-5.0, 1.55)
    with pytest.raises(ExtrapolationError, match="wavelength"):
        model(entry)(-1.0, 1.7)


def test_cli_json(entry):
    out = subprocess.run([sys.executable, "-m", "pipeline.cli.main", "device", "--cache", str(entry.path.parents[1]),
                          "simulate", "pn_phase_shifter", "--json", "--set", "band.start=1.5", "--set", "band.points=2",
                          "--set", "bias_voltages=[0,-1,-1.5,-2,-3]", "--solver-set", "fine_cell=0.004",
                          "--solver-set", "mode_resolution=24", "--solver-set", "check_resolution=24"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert '"cached": true' in out.stdout and '"vpi_l_v_cm"' in out.stdout


@pytest.mark.slow
def test_converged_vpil(tmp_path):
    for module in ("skfem", "meep", "tidy3d"):
        needs_solver(module)
    e = simulate(PNPhaseShifterSpec(), PNSolverSpec(), cache=DeviceCache(tmp_path))[0]
    assert VPIL_RANGE_V_CM[0] <= figures_of_merit(e)["vpi_l_v_cm"] <= VPIL_RANGE_V_CM[1]
    assert abs(e.checks["first_order_vs_resolve"]) < 0.03
    assert e.checks["passed"]

"""Thermo-optic phase shifter: thermal FEM + mode co-simulation against independent paths.

Independent references: (1) Δn_eff/ΔT for a uniform temperature rise from two mode
solves at T ± 5 K (solve_modes(temperature_K=...)); (2) the mode re-solved on the heated
index map by Tidy3D's local solver (a different solver and grid); (3) P_π of a 2 µm-wide
metal heater 2 µm above a 500×220 nm strip, ~24 mW (Harris et al., Opt. Express 22, 10487
(2014); typical 20–30 mW), checked against 15–40 mW; (4) heat flux out = power in.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from devices.phase_shifter import (
    PhaseShifterModel,
    PhaseShifterSpec,
    crosstalk_matrix,
    figures_of_merit,
    phase,
    phase_shifter,
    thermal_problem,
)
from pipeline.cache import DeviceCache
from pipeline.simulate import simulate
from pipeline.errors import ExtrapolationError, SpecError
from pipeline.modes import strip
from pipeline.smatrix import summary_checks
from pipeline.thermo_optic import ThermoOpticSolverSpec, cell_edges, material_fractions

COARSE = ThermoOpticSolverSpec(thermal_max_cell=0.1, thermal_growth=1.3, lateral_extent=300.0,
                               mode_resolution=24, check_resolution=24)
DEVICE = PhaseShifterSpec(band={"start": 1.55, "stop": 1.55, "points": 1}, neighbours=1)


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    e, cached = simulate(DEVICE, COARSE, cache=DeviceCache(tmp_path_factory.mktemp("lib")))
    assert not cached
    return e


def test_specs_validate_with_field_names():
    with pytest.raises(SpecError, match="heater_height = -1"):
        PhaseShifterSpec(heater_height=-1)
    with pytest.raises(SpecError, match="heater_power"):
        PhaseShifterSpec(heater_power=0.01)
    with pytest.raises(SpecError, match="mode_solver"):
        ThermoOpticSolverSpec(mode_solver="comsol")
    with pytest.raises(SpecError, match=r"pitch = 1.5 um: .* overlap. Fix: set pitch > 2 um"):
        PhaseShifterSpec(pitch=1.5)
    assert PhaseShifterSpec.units()["pitch"] == "um" and PhaseShifterSpec.units()["k_heater"] == "W/(m K)"


def test_importing_the_device_imports_no_solver():
    code = "import devices.phase_shifter, pipeline.thermo_optic, sys; print('meep' in sys.modules or 'tidy3d' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_material_fractions_are_exact_areas():
    cs = strip(0.5, 0.22)
    x, z = np.linspace(-1.0, 1.0, 37), np.linspace(-0.7, 0.9, 29)  # faces fall inside pixels
    fr = material_fractions(cs, x, z)
    area = np.outer(np.diff(cell_edges(x)), np.diff(cell_edges(z)))
    assert np.allclose(sum(f for _, f in fr), 1.0)
    assert float(np.sum(area * fr[0][1])) == pytest.approx(0.5 * 0.22, rel=1e-12)


def test_energy_bookkeeping(entry):
    ds = entry.data
    assert abs(float(ds.flux_balance)) < 1e-3
    assert float(ds.flux_sink + ds.flux_top) == pytest.approx(float(ds.power_in), rel=1e-3)
    assert entry.checks["flux_balance"] == pytest.approx(float(ds.flux_balance))


def test_uniform_heating_matches_modes_solved_at_two_temperatures(entry):
    ds = entry.data
    first, resolved = float(ds.dneff_dT_first_order), float(ds.dneff_dT_resolved)
    assert first == pytest.approx(resolved, rel=0.015)
    # the formula's n_g is the frozen-index one: the dispersive n_g would be ~3 % off
    dispersive = first * float(ds.ng[0]) / float(ds.ng_frozen[0])
    assert abs(dispersive / resolved - 1) > 0.02


def test_first_order_matches_heated_resolve_and_is_linear(entry):
    ds = entry.data
    first, resolved = ds.phase_first_order.values, ds.phase_resolved.values
    assert np.allclose(first[1:], resolved[1:], rtol=0.04)
    slope = resolved[1:] / ds.power.values[1:]
    assert np.max(np.abs(slope / slope[0] - 1)) < 0.01  # linear in P up to 2 P_π


def test_p_pi_in_literature_range(entry):
    ds = entry.data
    p_pi = float(ds.p_pi[0])
    assert 0.015 <= p_pi <= 0.040
    assert float(ds.dphase_dpower[0]) * p_pi == pytest.approx(np.pi)
    fom = figures_of_merit(entry)
    assert set(fom) == {"p_pi_mw", "insertion_loss_db", "crosstalk"}
    assert fom["p_pi_mw"] == pytest.approx(1e3 * p_pi)
    # propagation loss × length (heater absorption is an upper bound ~1e-7 dB/cm)
    assert fom["insertion_loss_db"] == pytest.approx(DEVICE.propagation_loss * DEVICE.heater_length * 1e-4, rel=1e-3)


def test_crosstalk_falls_with_distance(entry):
    ds = entry.data
    xt = ds.crosstalk.values
    assert np.all(np.diff(xt) < 0) and 0 < xt[-1] < xt[0] < 1
    m = ds.crosstalk_matrix.values
    assert np.allclose(np.diag(m), 1.0) and np.all(m[~np.eye(3, dtype=bool)] < 0.2)
    assert m[0, 1] > m[0, 2] > 0  # the nearer neighbour sees more
    pair = float(ds.crosstalk.sel(distance=DEVICE.pitch))
    assert m[1, 0] == pytest.approx(pair, rel=0.1)  # unpowered neighbours barely change it
    assert figures_of_merit(entry)["crosstalk"] == pytest.approx(m[2, 1])


def test_heat_sink_and_top_oxide_change_the_response():
    """Deeper sink: more thermal resistance (hotter core, more far crosstalk); thicker top
    oxide: heat spreads above the heater before going down (cooler core, more crosstalk)."""
    from pipeline.thermal import solve_steady_state

    def core_and_far(**kw):
        s = solve_steady_state(thermal_problem(PhaseShifterSpec(**kw), COARSE))
        core = s.mean_over(-0.25, 0.25, 0.0, 0.22)
        return core, s.mean_over(19.75, 20.25, 0.0, 0.22) / core

    base, thin, deep, thick = (core_and_far(), core_and_far(substrate_thickness=20.0),
                               core_and_far(substrate_thickness=300.0), core_and_far(top_oxide=3.0))
    assert thin[0] < base[0] < deep[0] and thin[1] < base[1] < deep[1]
    assert thick[0] < base[0] * 0.95 and thick[1] > base[1]


def test_cache_round_trip_and_compact_model(entry):
    again, cached = simulate(DEVICE, COARSE, cache=DeviceCache(entry.path.parents[1]))
    assert cached and again.key == entry.key
    assert np.allclose(again.data.S.values, entry.data.S.values)
    model = PhaseShifterModel.from_entry(entry)
    p_pi = float(entry.data.p_pi[0])
    assert phase(wavelength=1.55, power_w=p_pi, model=model) == pytest.approx(np.pi)
    s = phase_shifter(wavelength=[1.55], power_w=np.linspace(0, 2 * p_pi, 5), model=model)
    assert s.dims == ("power", "wavelength", "port_out", "port_in") and s.shape == (5, 1, 2, 2)
    chk = summary_checks(s)
    assert chk["reciprocity_error"] == 0 and chk["max_singular_value"] <= 1
    s21 = s.sel(port_out="o2", port_in="o1").isel(wavelength=0).values
    assert abs(abs(np.angle(s21[2] / s21[0])) - np.pi) < 1e-9  # P_π gives a phase of π
    assert np.allclose(s.sel(power=0).values, entry.data.S.isel(power=0).values)
    with pytest.raises(ExtrapolationError, match="band"):
        phase(wavelength=1.6, power_w=0.01, model=model)
    c = crosstalk_matrix(4, 20.0, model=model)
    assert c.shape == (4, 4) and np.allclose(c, c.T) and np.allclose(np.diag(c), 1)
    assert c[0, 1] == pytest.approx(float(entry.data.crosstalk.sel(distance=20.0)), rel=1e-9)
    assert c[0, 1] > c[0, 2] > c[0, 3]
    with pytest.raises(ExtrapolationError):
        crosstalk_matrix(3, 200.0, model=model)


@pytest.mark.slow
def test_converged_default_device(tmp_path):
    e, _ = simulate(PhaseShifterSpec(), ThermoOpticSolverSpec(), cache=DeviceCache(tmp_path))
    c = e.checks
    assert 15.0 <= c["p_pi_mw"] <= 40.0
    assert abs(c["first_order_vs_resolve"]) < 0.03
    assert abs(c["uniform_dT_first_order_vs_resolve"]) < 0.01
    assert abs(c["flux_balance"]) < 1e-3 and c["crosstalk_monotonic"] and c["passed"]
    assert c["linearity_error"] < 0.01

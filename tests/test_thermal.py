"""Thermal FEM against closed-form conduction and energy conservation."""

import numpy as np
import pytest

from pipeline.errors import SpecError
from pipeline.thermal import Rect, ThermalProblem, solve_steady_state


def test_one_dimensional_stack_matches_series_resistance():
    # A heater sheet across the whole (adiabatic-sided) domain over 2 µm oxide on 20 µm Si:
    # all heat flows down, ΔT(heater bottom) = q'' (t_ox/k_ox + t_si/k_si) with q'' = P'/W.
    W, p_len = 20.0, 50.0  # µm, W/m
    rects = (
        Rect(name="si", x0=-10, x1=10, y0=-22, y1=-2, conductivity=148),
        Rect(name="heater", x0=-10, x1=10, y0=0, y1=0.1, conductivity=28, power_per_length=p_len),
    )
    prob = ThermalProblem(x_min=-10, x_max=10, y_min=-22, y_max=1.0, rects=rects, h_top=0, max_cell=0.1)
    sol = solve_steady_state(prob)
    q_flux = p_len / (W * 1e-6)  # W/m²
    expected = q_flux * (2e-6 / 1.38 + 20e-6 / 148)
    assert sol.mean_over(-5, 5, 0.0, 0.0) == pytest.approx(expected, rel=1e-3)
    assert abs(sol.flux_balance) < 1e-6


def test_heater_energy_balance_and_crosstalk_falls_with_distance():
    rects = (
        Rect(name="substrate", x0=-100, x1=100, y0=-100, y1=-2.0, conductivity=148),
        Rect(name="core", x0=-0.25, x1=0.25, y0=0, y1=0.22, conductivity=148),
        Rect(name="heater", x0=-1, x1=1, y0=2.22, y1=2.34, conductivity=28, power_per_length=100.0),
    )
    sol = solve_steady_state(ThermalProblem(rects=rects, y_max=5.0))
    assert abs(sol.flux_balance) < 1e-3
    assert sol.flux_top > 0  # some heat leaves by convection
    dts = [sol.mean_over(x - 0.25, x + 0.25, 0, 0.22) for x in (0, 3, 6, 12, 24, 48)]
    assert np.all(np.diff(dts) < 0)
    assert sol.mean_over(-1, 1, 2.22, 2.34) > dts[0] > 0


def test_bad_geometry_names_the_field():
    with pytest.raises(SpecError, match="needs x1 > x0"):
        Rect(name="heater", x0=1, x1=0, y0=0, y1=1, conductivity=28)
    with pytest.raises(SpecError, match="conductivity = -1 W"):
        Rect(name="heater", x0=0, x1=1, y0=0, y1=1, conductivity=-1)
    with pytest.raises(SpecError, match="leaves the domain"):
        ThermalProblem(x_max=1.0, rects=(Rect(name="r", x0=0, x1=2, y0=0, y1=1, conductivity=1),))


def test_off_centre_heater_flux_converges_with_mesh():
    # No mirror symmetry to cancel errors: the gradient-recovered sink flux converges
    # (first order) to the dissipated power; the FE reaction flux balances exactly.
    def run(max_cell, growth):
        rects = (
            Rect(name="substrate", x0=-100, x1=100, y0=-100, y1=-2.0, conductivity=148),
            Rect(name="heater", x0=19, x1=21, y0=2.22, y1=2.34, conductivity=28, power_per_length=100.0),
        )
        return solve_steady_state(ThermalProblem(rects=rects, y_max=5.0, max_cell=max_cell, growth=growth))

    coarse, fine = run(0.1, 1.3), run(0.05, 1.1)
    assert abs(fine.flux_balance) < 0.5 * abs(coarse.flux_balance)
    assert abs(fine.flux_balance) < 0.01
    assert abs(coarse.source_balance) < 1e-9 and abs(fine.source_balance) < 1e-9


def test_graded_lines_short_outer_interval():
    from pipeline.thermal.geometry import graded_lines

    lines = graded_lines(0.0, 3.12, [0.0, 2.0, 2.12], 1.0, 1.25)  # 1 < outer/fine < 1.3
    assert lines[0] == 0.0 and lines[-1] == 3.12 and {2.0, 2.12} <= set(np.round(lines, 9))
    assert np.all(np.diff(lines) > 0)

"""PN-junction Poisson solver and free-carrier dispersion against independent closed forms.

References: the abrupt-junction depletion approximation (Sze & Ng, Physics of Semiconductor
Devices, 3rd ed., §2.2), with the 2kT/q majority-tail correction (Kennedy, Murley &
Kleinfelder 1968) for the charge; Nedeljkovic, Soref & Mashanovich, IEEE Photonics J. 3, 1171
(2011) coefficients at 1.55 µm written out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.charge import JunctionProblem, built_in_potential, capacitance_per_length, depletion_width, solve_junction
from pipeline.charge.depletion import EPS0, EPS_SI, Q_E
from pipeline.errors import ExtrapolationError, SpecError
from pipeline.free_carrier import delta_alpha, delta_index
from solvers import needs_solver

BIASES = (0.0, 1.0, 2.0, 2.1, 4.0)


@pytest.fixture(scope="module")
def slab():
    """1D-like case: a uniform 90 nm slab (rib height = slab thickness), symmetric 5e17 junction."""
    needs_solver("skfem")
    return solve_junction(JunctionProblem(rib_height=0.09, slab_thickness=0.09, reverse_biases=BIASES,
                                          fine_cell=0.002, vertical_cell=0.09))


def test_closed_forms_by_hand():
    vt = 1.380649e-23 * 300 / Q_E
    assert built_in_potential(5e17, 5e17) == pytest.approx(vt * np.log(2.5e35 / 1e20), rel=1e-12)
    w = np.sqrt(2 * EPS_SI * EPS0 * (built_in_potential(5e17, 5e17) + 2.0) * 1e24 / (Q_E * 2.5e47)) * 1e6
    assert depletion_width(5e17, 5e17, 2.0) == pytest.approx(w, rel=1e-12)
    assert 0.11 < w < 0.13  # 123 nm at -2 V
    assert capacitance_per_length(w, 0.22) == pytest.approx(EPS_SI * EPS0 * 0.22 / w, rel=1e-12)


def test_depletion_width_matches_the_abrupt_junction(slab):
    """Half-doping points vs W: within 6 % of the plain formula, 3 % of the 2kT/q-corrected one
    (the half-density criterion sits inside the Debye tails, 5.8 nm at 5e17)."""
    w = np.array([slab.depletion_width(i, 0.045) for i in range(len(BIASES))])
    plain = depletion_width(5e17, 5e17, np.array(BIASES))
    corrected = depletion_width(5e17, 5e17, np.array(BIASES), corrected=True)
    assert np.max(np.abs(w / plain - 1)) < 0.06
    assert np.max(np.abs(w / corrected - 1)) < 0.03
    xp, xn = slab.depletion_edges(3, 0.045)
    assert xn == pytest.approx(-xp, rel=0.01)  # symmetric doping, symmetric depletion


def test_charge_and_capacitance_match_the_depletion_formula(slab):
    """Q' = q N_D x_n t within 1 % of the corrected formula; C' = dQ/dV within 3 % of ε t / W;
    the silicon is charge neutral."""
    corrected = depletion_width(5e17, 5e17, np.array(BIASES), corrected=True)
    q_form = Q_E * 5e23 * corrected / 2 * 1e-6 * 0.09e-6
    assert np.max(np.abs(slab.charge_n_side / q_form - 1)) < 0.01
    c_sim = (slab.charge_n_side[3] - slab.charge_n_side[2]) / 0.1
    c_form = capacitance_per_length(depletion_width(5e17, 5e17, 2.05), 0.09)
    assert c_sim == pytest.approx(float(c_form), rel=0.03)
    assert np.max(np.abs(slab.charge_total / slab.charge_n_side)) < 1e-8
    assert np.all(np.diff(slab.charge_n_side) > 0)


def test_neutral_regions_and_contacts(slab):
    """Far from the junction the majority density equals the doping, minority n_i²/N e^(−V_R/V_t)."""
    pr = slab.problem
    i = 2  # 2 V
    x = np.array([-0.6, 0.6])
    n, p = slab.interpolate("n", i, x, [0.045] * 2), slab.interpolate("p", i, x, [0.045] * 2)
    assert p[0] == pytest.approx(pr.p_doping, rel=1e-3)
    assert n[1] == pytest.approx(pr.n_doping, rel=1e-3)
    assert n[0] < 1e4 and p[1] < 1e4


def test_problem_validation():
    with pytest.raises(SpecError, match="reverse_biases"):
        JunctionProblem(reverse_biases=(0.0, -0.5))
    with pytest.raises(SpecError, match="junction"):
        JunctionProblem(junction_x=1.5)
    with pytest.raises(SpecError, match="slab_thickness"):
        JunctionProblem(slab_thickness=0.3)


def test_free_carrier_coefficients_by_hand():
    n, p = 2e18, 5e17
    assert delta_index(n, p, 1.55) == pytest.approx(-(5.4e-22 * n**1.011 + 1.53e-18 * p**0.838), rel=1e-12)
    assert delta_alpha(n, p, 1.55) == pytest.approx(8.88e-21 * n**1.167 + 5.84e-20 * p**1.109, rel=1e-12)
    assert delta_index(0, 1e18, 1.55) == pytest.approx(-1.53e-18 * 1e18**0.838)  # ≈ −1.9e-3
    assert delta_index(n, p, 1.60) / delta_index(n, p, 1.55) == pytest.approx((1.60 / 1.55) ** 2)
    assert delta_index(1e18, 0, 1.30) == pytest.approx(-2.98e-22 * 1e18**1.016)


def test_free_carrier_errors():
    with pytest.raises(ExtrapolationError, match="wavelength"):
        delta_index(1e18, 1e18, 2.0)
    with pytest.raises(ExtrapolationError, match="holes"):
        delta_alpha(1e18, -1.0, 1.55)

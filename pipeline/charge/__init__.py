"""Carrier densities of reverse-biased PN junctions (scikit-fem nonlinear Poisson) and the
abrupt-junction closed forms that check them. Importing never imports scikit-fem."""

from pipeline.charge.depletion import built_in_potential, capacitance_per_length, depletion_width, thermal_voltage
from pipeline.charge.poisson import ChargeSolution, JunctionProblem, solve_junction

__all__ = ["ChargeSolution", "JunctionProblem", "built_in_potential", "capacitance_per_length", "depletion_width",
           "solve_junction", "thermal_voltage"]

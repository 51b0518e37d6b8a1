"""Steady-state heat conduction in a waveguide cross-section (scikit-fem)."""

from pipeline.thermal.fem import ThermalSolution, solve_steady_state
from pipeline.thermal.geometry import Rect, ThermalProblem

__all__ = ["Rect", "ThermalProblem", "ThermalSolution", "solve_steady_state"]

"""Waveguide mode solvers (MPB, Tidy3D local) behind one interface.

Importing this package never imports meep or tidy3d; backends load on first use.
"""

from pipeline.modes.cross_section import Core, CrossSection, coupled_strips, strip
from pipeline.modes.solver import (
    DEFAULT_RESOLUTION,
    RawModes,
    available_backends,
    get_backend,
    register_backend,
    solve_modes,
)

__all__ = [
    "Core",
    "CrossSection",
    "DEFAULT_RESOLUTION",
    "RawModes",
    "available_backends",
    "coupled_strips",
    "get_backend",
    "register_backend",
    "solve_modes",
    "strip",
]

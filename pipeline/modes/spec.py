"""Solver spec of device families simulated by the mode solvers alone (no FDTD)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pipeline.specs import SolverSpec, quantity


class ModeSolverSpec(SolverSpec):
    """Settings of an eigenmode-solver sweep (MPB with subpixel averaging by default)."""

    solver: ClassVar[str] = "mode_solver"
    #: bump when this backend's numerics change (see SolverSpec.numerics_versions)
    numerics_versions: ClassVar[dict[str, int]] = {"mpb-modes": 1, "tidy3d-modes": 1}
    version_packages: ClassVar[tuple[str, ...]] = ("meep", "tidy3d", "numpy", "scipy")

    backend: Literal["mpb", "tidy3d"] = quantity("mpb", "1", "mode-solver backend")
    resolution: float = quantity(48.0, "1/um", "grid resolution (px/um)", ge=8, le=256)
    margin: float = quantity(1.0, "um", "cladding around the core in the window (x and z)", gt=0.3, le=4)
    dlam: float = quantity(0.005, "um", "wavelength step of the group-index central difference", gt=0, le=0.05)

"""Solver specs of the Meep FDTD engine (2D and 3D).

Only what changes the physics enters these specs (and so the cache key); the wavelength
band is the device's (``DeviceSpec.band``: which S-matrix is asked for). Execution
flags — timeout, cache path, overwrite — are arguments of
:func:`pipeline.fdtd.simulate.simulate`, never spec fields.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from pipeline.specs import SolverSpec, quantity


class MeepSpec(SolverSpec):
    """Settings shared by 2D and 3D Meep runs."""

    #: bump when this backend's numerics change (see SolverSpec.numerics_versions)
    numerics_versions: ClassVar[dict[str, int]] = {"meep-fdtd": 1}
    version_packages: ClassVar[tuple[str, ...]] = ("meep", "numpy", "scipy")

    resolution: int = quantity(20, "1/um", "FDTD grid points per µm", ge=4, le=200)
    pml: float = quantity(1.0, "um", "PML thickness on every side", gt=0)
    decay_by: float = quantity(
        1e-6, "1", "stop when |H|² at the output monitors fell to this fraction of its peak", gt=0, lt=1
    )
    max_time: float = quantity(5000.0, "um/c", "hard limit on the simulated time (Meep units)", gt=0)
    monitor_offset: float = quantity(0.5, "um", "mode monitor distance outside each port plane", gt=0)
    source_offset: float = quantity(1.0, "um", "eigenmode source distance outside each port plane", gt=0)
    margin: float = quantity(1.2, "um", "cladding between the device and the PML (lateral)", gt=0)
    use_symmetry: bool = quantity(
        True, "1", "run only non-equivalent source ports and fill the rest by the device's mirrors"
    )
    normalize_reflections: bool = quantity(
        True, "1", "extra straight-guide run measuring the reflection noise floor"
    )
    dispersive: bool = quantity(
        False, "1",
        "Lorentz-fitted dispersive media (right group index) instead of constant indices at the band centre "
        "(exact subpixel averaging; Meep does not smooth the susceptibility: +2.4 % in beta at 20 px/um)",
    )
    strict: bool = quantity(False, "1", "physics-check violations raise CheckError instead of warning")

    @model_validator(mode="after")
    def _offsets(self) -> "MeepSpec":
        if self.source_offset <= self.monitor_offset:
            raise ValueError(
                f"source_offset = {self.source_offset} um must exceed monitor_offset = "
                f"{self.monitor_offset} um (the monitor sits between source and device). "
                f"Fix: set source_offset > {self.monitor_offset}."
            )
        return self


class Meep2DSpec(MeepSpec):
    """2D (x–y plane) TE run: Hz and in-plane E (Meep parity EVEN_Z).

    ``material_model``: ``"calibrated"`` (default; 2D indices fitted to 3D MPB modes, see
    :mod:`pipeline.fdtd.material2d`), ``"bulk"`` (Si/SiO2 bulk indices — wrong for SOI,
    kept for comparison) or ``"eim"`` (classical effective-index method)."""

    solver: ClassVar[str] = "meep2d"
    #: FDTD plus the MPB mode solves behind the calibrated 2D material model and de-embedding.
    numerics_versions: ClassVar[dict[str, int]] = {"meep-fdtd": 1, "mpb-modes": 1}
    #: 30 px/µm: coupling lengths within 5 % of the converged 3D value (20 px/µm: up to −7 %,
    #: benchmarks/results/fdtd_coupler.txt).
    resolution: int = quantity(30, "1/um", "FDTD grid points per µm", ge=4, le=200)
    material_model: Literal["calibrated", "bulk", "eim"] = quantity(
        "calibrated", "1", "2D material model: calibrated | bulk | eim"
    )
    calibration_resolution: int = quantity(
        64, "1/um", "MPB resolution of the 3D mode solves behind the calibrated 2D model", ge=8, le=256
    )
    calibration_gap: float = quantity(
        0.25, "um", "reference gap at which the 2D cladding index is fitted to the 3D supermode splitting",
        gt=0,
    )


class Meep3DSpec(MeepSpec):
    """Full 3D run with bulk (dispersive) Si core and SiO2 cladding."""

    solver: ClassVar[str] = "meep3d"
    resolution: int = quantity(15, "1/um", "FDTD grid points per µm", ge=4, le=100)
    decay_by: float = quantity(
        1e-4, "1", "stop when |H|² at the output monitors fell to this fraction of its peak", gt=0, lt=1
    )
    margin_z: float = quantity(0.8, "um", "cladding above and below the core before the PML", gt=0)

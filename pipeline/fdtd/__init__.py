"""Meep FDTD S-parameter engine: build (pure) → run (worker process) → extract (pure).

Importing this package never imports meep; the solver is imported only inside the
solver process (:mod:`pipeline.solver_process`)."""

from pipeline.fdtd.specs import Meep2DSpec, Meep3DSpec, MeepSpec

__all__ = ["Meep2DSpec", "Meep3DSpec", "MeepSpec"]

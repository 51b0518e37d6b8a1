"""photoprop's engine: specs, the S-matrix container, the device cache, solvers,
circuits, training and workflows.

Importing ``pipeline`` never imports meep, mpb or tidy3d: solver backends are looked
up by name and imported on first use (:mod:`pipeline.modes.solver` for mode solvers,
:mod:`pipeline.simulate` for device simulations).
"""

from pipeline.cache import CacheEntry, DeviceCache, cache_key
from pipeline.errors import (
    CacheError,
    CheckError,
    ConventionError,
    ExtrapolationError,
    PhotopropError,
    PhotopropWarning,
    SolverError,
    SpecError,
)
from pipeline.smatrix import (
    interp_wavelength,
    make_smatrix,
    max_singular_value,
    power_db,
    reciprocity_error,
    summary_checks,
)
from pipeline.specs import DeviceSpec, SolverSpec, Spec, WavelengthBand, quantity

__version__ = "0.1.0"

__all__ = [
    "CacheEntry", "CacheError", "CheckError", "ConventionError", "DeviceCache", "DeviceSpec",
    "ExtrapolationError", "PhotopropError", "PhotopropWarning", "SolverError", "SolverSpec", "Spec",
    "SpecError", "WavelengthBand", "cache_key", "interp_wavelength", "make_smatrix",
    "max_singular_value", "power_db", "quantity", "reciprocity_error", "summary_checks",
]

from pipeline.notebook_io import open_library, open_results  # noqa: E402

__all__ += ["open_library", "open_results"]

"""One exception tree for photoprop.

Every message names the offending field or file, the value found and the fix.
"""

from __future__ import annotations


class PhotopropError(Exception):
    """Base class of every error raised by photoprop."""


class SpecError(PhotopropError, ValueError):
    """An invalid device, solver or workflow specification."""


class ExtrapolationError(SpecError):
    """A request outside the band (or sweep range) that was simulated."""


class ConventionError(PhotopropError, ValueError):
    """Data whose port order or time convention cannot be established."""


class SolverError(PhotopropError, RuntimeError):
    """A solver run failed, crashed, hung or produced unusable output."""


class CacheError(PhotopropError, OSError):
    """A cache entry is missing, truncated, corrupt or could not be written."""


class CheckError(PhotopropError):
    """A physics check (reciprocity, passivity, energy balance) failed in strict mode."""


class PhotopropWarning(UserWarning):
    """A loud, non-fatal physics or data warning (escalated to errors in tests)."""

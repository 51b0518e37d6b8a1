"""The device library as the layers above it see it: :class:`Library`, the only reader and
writer of library data for pipeline.chip, training, workflows and the CLI.

``Library(cache)`` wraps a :class:`~pipeline.cache.DeviceCache` (``None``: the default root,
``$PHOTOPROP_CACHE`` or the shipped ``cache/``; a path; or a DeviceCache).  Everything it
reads or derives — compact models (:meth:`Library.model`) and the device figures a die needs
(:mod:`pipeline.library.figures`) — is memoised on the instance, so a second Library on
another folder never sees the first one's numbers, and a changed ``PHOTOPROP_CACHE`` is
picked up by the next ``Library()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from pipeline.cache import DeviceCache
from pipeline.library import families


class Library:
    """One device library (module doc)."""

    def __init__(self, cache: DeviceCache | Path | str | None = None) -> None:
        self.cache = cache if isinstance(cache, DeviceCache) else DeviceCache(cache)
        self._memo: dict[tuple, Any] = {}

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    @property
    def root(self) -> Path:
        return Path(self.cache.root)

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` on this Library."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # -- compact models ---------------------------------------------------------------------
    def model(self, name: str) -> Any:
        """The compact model of family ``name`` (``coupler``, ``photodetector``, ``crossing``,
        ``mmi``, ``phase_shifter``, ``waveguide``), read (or fitted in memory from the cached
        sweep) once per Library; never simulates."""
        families.family(name)
        return self.memo(("model", name), lambda: families.read(self.cache, name))

    def model_path(self, name: str, sweep: Any = None, solver: Any = None) -> Path:
        """Where the fitted model of ``name`` (default: the default sweep and solver) is stored."""
        return families.model_path(self.cache, name, sweep, solver)

    def fit(self, name: str, sweep: Any = None, solver: Any = None, *, write: bool = True) -> Any:
        """Fit ``name`` from its cached sweep (never simulates); with ``write`` store it."""
        model = families.fit(self.cache, name, sweep, solver, write=write)
        if sweep is None and solver is None:
            self._memo[("model", name)] = model
        return model

    def run_sweep(self, name: str, sweep: Any = None, solver: Any = None, **kw: Any) -> dict[tuple, Any]:
        """Simulate (or read) every run of ``name``'s sweep through this library's cache."""
        return families.run_sweep(self.cache, name, sweep, solver, **kw)

    # -- raw entries ------------------------------------------------------------------------
    def entries(self, family: str) -> list:
        """Every entry of device family folder ``family`` (read once per Library)."""
        def read() -> list:
            return [self.cache.read_path(p) for p in self.cache.entry_paths() if p.parent.name == family]

        return self.memo(("entries", family), read)

    # -- device figures (pipeline.library.figures) -----------------------------------------------
    def design_coupling_length(self, wavelength: float | None = None) -> float:
        from pipeline.library import figures

        return figures.design_coupling_length(self, figures.DESIGN_WAVELENGTH_UM if wavelength is None
                                              else wavelength)

    def heater_crosstalk(self, n: int, pitch: float, scale: float) -> Any:
        from pipeline.library import figures

        return figures.heater_crosstalk(self, n, pitch, scale)

    def mmi_excess_loss_db(self) -> float:
        from pipeline.library import figures

        return figures.mmi_excess_loss_db(self)

    def crossing_figures(self, wavelength: float = 1.55) -> Any:
        from pipeline.library import figures

        return figures.crossing_figures(self, wavelength)

    def detector_figures(self, ge_length: float = 10.0, wavelength: float = 1.55,
                         collection_efficiency: float = 0.8) -> Any:
        from pipeline.library import figures

        return figures.detector_figures(self, ge_length, wavelength, collection_efficiency)

"""Spec classes used only by the tests (importable from subprocesses via sys.path)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import xarray as xr

from pipeline.smatrix import make_smatrix
from pipeline.specs import DeviceSpec, SolverSpec, WavelengthBand, quantity


class CirculatorFixtureSpec(DeviceSpec):
    """A deliberately NON-reciprocal 3-port (ideal circulator with loss and phase)."""

    device: ClassVar[str] = "fixture_circulator"
    gap: float = quantity(0.2, "um", "a length that only enters the key", gt=0)
    insertion_loss_db: float = quantity(0.5, "dB", "loss per pass", ge=0)
    band: WavelengthBand = WavelengthBand(start=1.50, stop=1.60, points=5)


class AnalyticSolverSpec(SolverSpec):
    """Closed-form 'solver' for the fixture (no external package)."""

    solver: ClassVar[str] = "analytic_fixture"
    version_packages: ClassVar[tuple[str, ...]] = ("numpy",)
    resolution: int = quantity(10, "1/um", "nominal resolution", gt=0)


def circulator_smatrix(spec: CirculatorFixtureSpec) -> xr.DataArray:
    """S[out, in]: 1→2, 2→3, 3→1 with a wavelength-dependent phase; S is not Sᵀ."""
    wl = np.asarray(spec.band.wavelengths())
    amp = 10 ** (-spec.insertion_loss_db / 20)
    s = np.zeros((wl.size, 3, 3), complex)
    phase = np.exp(1j * 2 * np.pi * 3.0 / wl)
    s[:, 1, 0] = amp * phase
    s[:, 2, 1] = amp * phase * 1j
    s[:, 0, 2] = amp * phase * -1
    s[:, 0, 0] = 0.01 * np.exp(0.3j)
    return make_smatrix(s, wl, ["a", "b", "c"], reference_planes={"a": [0, 0], "b": [1, 0], "c": [0, 1]},
                        provenance={"source": "closed form"})


def compute(spec: CirculatorFixtureSpec):
    """The ``compute`` callback of DeviceCache.get_or_compute."""
    from pipeline.smatrix import summary_checks

    s = circulator_smatrix(spec)
    return s, {"resolution": 10}, summary_checks(s)

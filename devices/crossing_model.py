"""Waveguide-crossing compact model from a cached FDTD sweep of the fabrication offsets
(δw, δt).

Sweep (:class:`CrossingSweepSpec`).  The library crossing (:mod:`devices.crossing`,
parabolic tapers, 2D calibrated Meep at 30 px/µm) is simulated on the grid
δw ∈ {−20, 0, +20} nm × δt ∈ {−10, 0, +10} nm over the band.  δw is a lithography bias,
every edge moves by δw/2, so both the port width and the taper width grow by δw (the arm
length is fixed); δt is the Si layer thickness offset.  The calibrated 2D material model
is refitted to each actual width × thickness (3D MPB), so both offsets are physical.
Held-out points ((+10, 0) and (+10, −5) nm) are simulated the same way and never fitted.

Model: the amplitude/phase table of :mod:`devices.offset_model` (ln|S| and unwrapped
phase, linear in λ, quadratic through the (δw, δt) nodes; reciprocal and passive by
construction), whose module doc gives the physics.

Accuracy against the held-out runs (max |ΔS| over all elements, insertion-loss and
crosstalk error in dB, through-phase error) is measured when the model is built and
stored with it (``compact_models/crossing_model-<hash>.nc``).  Default sweep, both
held-out points, 1.50–1.60 µm: max |ΔS| 0.016, insertion loss within 0.013 dB (IL
0.66–0.77 dB), through phase within 0.018 rad, crosstalk within 2.0 dB at its −49 dB dip
(≤ 0.9 dB elsewhere).  λ interpolation, tested by tabulating every other wavelength (20
nm) and predicting the rest: |Δ|S31|²| ≤ 0.0034, phase ≤ 0.0073 rad.  At 1.55 µm the IL
spans 0.65–0.78 dB and the crosstalk −39 to −49 dB over the (δw, δt) grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from devices.offset_model import (PORTS, OffsetFamily, OffsetModel, OffsetSweepSpec, OffsetTable,  # noqa: F401
                                  default_solver, fitted_model, direct_values, passive, instances, tabulate)
from pipeline.specs import quantity


# -- the crossing sweep and model ------------------------------------------------------------
class CrossingSweepSpec(OffsetSweepSpec):
    """Fabrication-offset sweep of the library crossing (2D FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal port waveguide width (at dw = 0)", gt=0.1, le=3.0)
    taper_width: float = quantity(1.6, "um", "nominal taper width at the centre (at dw = 0)", gt=0.1, le=5.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness (at dt = 0)", gt=0.05, le=1.0)

    def device(self, dw: float = 0.0, dt: float = 0.0) -> Any:
        """The CrossingSpec of one sweep point (port and taper widths + δw, thickness + δt)."""
        from devices.crossing import CrossingSpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return CrossingSpec(width=r(self.width + dw), taper_width=r(self.taper_width + dw),
                            thickness=r(self.thickness + dt), band=self.band)


CrossingModel = OffsetModel


def _db(p: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-30))


def figures(s: np.ndarray) -> dict[str, np.ndarray]:
    """Insertion loss, worst crosstalk, reflection [dB] and through phase [rad] from o1 of
    S (..., out, in) in port order o1..o4."""
    p = np.abs(s[..., :, 0]) ** 2
    return {"insertion_loss_db": -_db(p[..., 2]), "crosstalk_db": _db(np.maximum(p[..., 1], p[..., 3])),
            "reflection_db": _db(p[..., 0]), "through_phase": np.angle(s[..., 2, 0])}


def fit(sweep: CrossingSweepSpec, smatrices: dict[tuple[str, float, float], xr.DataArray],
        provenance: dict[str, Any] | None = None, priors: dict[str, Any] | None = None) -> OffsetModel:
    """Tabulate the fit runs and measure the held-out accuracy (pure)."""
    table, ds, hold, model, direct = tabulate(sweep, smatrices, PORTS, priors)
    summary: dict[str, float] = {}
    if hold:
        fm, fd = figures(model), figures(direct)
        for q in ("insertion_loss_db", "crosstalk_db", "reflection_db"):
            ds[f"holdout_{q}_error"] = (("holdout_point", "wavelength"), fm[q] - fd[q])
            ds[f"holdout_{q}_fdtd"] = (("holdout_point", "wavelength"), fd[q])
        ds["holdout_through_phase_error"] = (("holdout_point", "wavelength"),
                                             np.abs(np.angle(np.exp(1j * (fm["through_phase"] - fd["through_phase"])))))
        summary = {"holdout_max_abs_ds": float(ds["holdout_max_abs_ds"].max()),
                   "holdout_max_abs_insertion_loss_error_db": float(
                       np.abs(ds["holdout_insertion_loss_db_error"]).max()),
                   "holdout_max_abs_crosstalk_error_db": float(np.abs(ds["holdout_crosstalk_db_error"]).max()),
                   "holdout_max_through_phase_error_rad": float(ds["holdout_through_phase_error"].max())}
    return fitted_model("crossing", table, ds, sweep, __doc__.split("\n\n")[0], summary, provenance)


#: Store path, fit from the cache and default model of the crossing (:class:`~devices.offset_model.OffsetFamily`).
FAMILY = OffsetFamily("crossing", CrossingSweepSpec, fit)
model_path, default_sweep = FAMILY.model_path, FAMILY.sweep_spec
library_specs = FAMILY.library_specs


# -- public compact model ----------------------------------------------------------------------
def crossing(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, model: OffsetModel) -> xr.DataArray:
    """4-port S-matrix of the library crossing with width offset ``dw`` and thickness offset
    ``dt`` [µm]; ``wavelength`` [µm] (1D) is the S-matrix's wavelength axis; scalar offsets
    give dims (wavelength, port_out, port_in), arrays (broadcast together) a leading
    ``instance`` dim with coordinates dw, dt."""
    return instances(model, wavelength, dw, dt, "crossing")


def insertion_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                      model: OffsetModel) -> np.ndarray:
    """Through-path insertion loss −10 log10|S[o3, o1]|² [dB] (numpy-broadcast)."""
    return figures(model.smatrix(wavelength, dw, dt))["insertion_loss_db"]


def crosstalk_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                 model: OffsetModel) -> np.ndarray:
    """Worst crosstalk 10 log10 max(|S[o2, o1]|², |S[o4, o1]|²) [dB] (numpy-broadcast)."""
    return figures(model.smatrix(wavelength, dw, dt))["crosstalk_db"]

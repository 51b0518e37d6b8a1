"""2×2 MMI compact model from a cached FDTD sweep of the fabrication offsets (δw, δt).

Sweep (:class:`MMISweepSpec`).  The library MMI (:mod:`devices.mmi`, general
interference, 2.5 × 23.0 µm, 2D calibrated Meep at 30 px/µm) is simulated on the grid
δw ∈ {−20, 0, +20} nm × δt ∈ {−10, 0, +10} nm over the band.  δw is a lithography bias:
every edge moves by δw/2, so the access width, the taper width and the multimode width
all grow by δw; the access-guide centres (``port_offset``), the port pitch and the
lengths are fixed.  δt changes the Si layer (the calibrated 2D material model is refitted
to each width × thickness).  The self-imaging length scales as W² (3 L_π/2 ≈ 2 n_r W_e²/λ,
Soldano & Pennings, J. Lightwave Technol. 13, 615 (1995)): δw = ±20 nm moves it by
∓1.6 % (~0.4 µm) against the fixed length, which unbalances the outputs.  Held-out
points ((+10, 0) and (+10, −5) nm) are simulated the same way and never fitted.

Physics of the model: each S element is interpolated as ln|S| and unwrapped phase —
linearly in λ between the simulated wavelengths, by the tensor-product quadratic through
the (δw, δt) nodes (:class:`devices.offset_model.OffsetTable`, reciprocal and passive by
construction).  The quantities a circuit needs follow from the rebuilt S: imbalance
10 log10(|S31|²/|S41|²), excess loss −10 log10(|S31|² + |S41|²), output phase difference
arg(S31/S41) (±90° in self-imaging theory).  Their held-out errors are stored with the
model (``compact_models/mmi_model-<hash>.nc``).

Phase branches: a 10-nm thickness step moves the ~40 µm path's phase by ~5.2 rad (> π),
so the nodes' 2π branches are chosen with the core-index prior of
:meth:`~devices.offset_model.OffsetTable.from_smatrices` (it predicts ~3.8 rad; without
it the held-out common phase was off by 3.0 rad).  The through phase moves by ~2.9 rad
per 10-nm band step (just below π): a 20-nm grid aliases and is refused.

Measured (default sweep, both held-out points, 1.50–1.60 µm): imbalance within 0.115 dB
(0.028 dB at δt = 0; the FDTD's imbalance runs from +1.07 to −0.82 dB across the band),
excess loss within 0.034 dB (0.42–0.76 dB), phase difference within 0.009 rad (−91° to
−98°); the common phase of the outputs within 0.14 rad (max |ΔS| 0.099): the FDTD's n_eff
scatter between geometries (~1e-3 at 30 px/µm, as in :mod:`devices.coupler_model`) over
the path.  At 1.55 µm the imbalance spans −0.83 dB (δw, δt = −20, −10 nm) to +0.88 dB
(+20, +10 nm): +10 nm of δt or +20 nm of δw each add ~+0.45 dB.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from devices.offset_model import (PORTS, OffsetFamily, OffsetModel, OffsetSweepSpec, OffsetTable,  # noqa: F401
                                  default_solver, fitted_model, instances, tabulate)
from pipeline.specs import quantity


class MMISweepSpec(OffsetSweepSpec):
    """Fabrication-offset sweep of the library 2×2 MMI (2D FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal access waveguide width (at dw = 0)", gt=0.1, le=3.0)
    taper_width: float = quantity(1.0, "um", "nominal access taper width at the MMI (at dw = 0)", gt=0.1, le=5.0)
    mmi_width: float = quantity(2.5, "um", "nominal multimode width (at dw = 0)", gt=0.5, le=20.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness (at dt = 0)", gt=0.05, le=1.0)

    def device(self, dw: float = 0.0, dt: float = 0.0) -> Any:
        """The MMISpec of one sweep point (access, taper and multimode widths + δw; thickness + δt)."""
        from devices.mmi import MMISpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return MMISpec(width=r(self.width + dw), taper_width=r(self.taper_width + dw),
                       mmi_width=r(self.mmi_width + dw), thickness=r(self.thickness + dt), band=self.band)


MMIModel = OffsetModel


def figures(s: np.ndarray) -> dict[str, np.ndarray]:
    """Imbalance [dB], excess loss [dB], phase difference arg(S31/S41) [rad] and reflection
    [dB] from input o1 of S (..., out, in) in port order o1..o4."""
    s31, s41 = s[..., 2, 0], s[..., 3, 0]
    p31, p41 = np.abs(s31) ** 2, np.abs(s41) ** 2
    return {"imbalance_db": 10 * np.log10(p31 / p41), "excess_loss_db": -10 * np.log10(p31 + p41),
            "phase_difference": np.angle(s31 / s41),
            "reflection_db": 10 * np.log10(np.maximum(np.abs(s[..., 0, 0]) ** 2, 1e-30))}


def fit(sweep: MMISweepSpec, smatrices: dict[tuple[str, float, float], xr.DataArray],
        provenance: dict[str, Any] | None = None, priors: dict[str, Any] | None = None) -> OffsetModel:
    """Tabulate the fit runs (``priors``: phase-branch priors of
    :func:`devices.offset_model.offset_priors`) and measure the held-out accuracy (pure)."""
    table, ds, hold, model, direct = tabulate(sweep, smatrices, PORTS, priors)
    summary: dict[str, float] = {}
    if hold:
        fm, fd = figures(model), figures(direct)
        dims = ("holdout_point", "wavelength")
        for q in ("imbalance_db", "excess_loss_db"):
            ds[f"holdout_{q}_error"] = (dims, fm[q] - fd[q])
            ds[f"holdout_{q}_fdtd"] = (dims, fd[q])
        ds["holdout_phase_difference_error"] = (dims, np.angle(np.exp(1j * (fm["phase_difference"]
                                                                            - fd["phase_difference"]))))
        ds["holdout_phase_difference_fdtd"] = (dims, fd["phase_difference"])
        ds["holdout_common_phase_error"] = (dims, np.angle(model[..., 2, 0] / direct[..., 2, 0]))
        summary = {"holdout_max_abs_ds": float(ds["holdout_max_abs_ds"].max()),
                   "holdout_max_abs_imbalance_error_db": float(np.abs(ds["holdout_imbalance_db_error"]).max()),
                   "holdout_max_abs_excess_loss_error_db": float(np.abs(ds["holdout_excess_loss_db_error"]).max()),
                   "holdout_max_abs_phase_difference_error_rad": float(
                       np.abs(ds["holdout_phase_difference_error"]).max()),
                   "holdout_max_abs_common_phase_error_rad": float(np.abs(ds["holdout_common_phase_error"]).max())}
    return fitted_model("mmi", table, ds, sweep, __doc__.split("\n\n")[0], summary, provenance)


#: Store path, fit from the cache and default model of the MMI (:class:`~devices.offset_model.OffsetFamily`).
FAMILY = OffsetFamily("mmi", MMISweepSpec, fit)
model_path, default_sweep = FAMILY.model_path, FAMILY.sweep_spec
library_specs = FAMILY.library_specs


# -- public compact model ----------------------------------------------------------------------
def mmi(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, model: OffsetModel) -> xr.DataArray:
    """4-port S-matrix of the library MMI with width offset ``dw`` and thickness offset ``dt``
    [µm] (ports o1..o4 as :mod:`devices.mmi`); scalar offsets give dims (wavelength,
    port_out, port_in), arrays a leading ``instance`` dim with coordinates dw, dt."""
    return instances(model, wavelength, dw, dt, "mmi")


def imbalance_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                 model: OffsetModel) -> np.ndarray:
    """10 log10(|S31|²/|S41|²) [dB] (numpy-broadcast)."""
    return figures(model.smatrix(wavelength, dw, dt))["imbalance_db"]


def excess_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                   model: OffsetModel) -> np.ndarray:
    """−10 log10(|S31|² + |S41|²) [dB] (numpy-broadcast)."""
    return figures(model.smatrix(wavelength, dw, dt))["excess_loss_db"]


def phase_difference(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                     model: OffsetModel) -> np.ndarray:
    """arg(S31/S41) [rad] (self-imaging theory: ±π/2; numpy-broadcast)."""
    return figures(model.smatrix(wavelength, dw, dt))["phase_difference"]

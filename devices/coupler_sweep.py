"""The directional-coupler compact model's sweep (:mod:`devices.coupler_model`): the
fabrication-offset grid of one nominal design (:class:`CouplerSweepSpec`), its runs, the
model form (fitted quantities and polynomial terms), the library's default sweep and solver,
and the stored model's file name (pure: from the run keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import model_validator

from pipeline.errors import CacheError
from pipeline.specs import Spec, WavelengthBand, quantity

PORTS = ("o1", "o2", "o3", "o4")
#: polynomial terms: powers (i, j, k) of the scaled offsets x = δw/s_w, y = δt/s_t, z = (λ − λc)/s_λ,
#: all monomials of total degree ≤ 2 (1, x, y, z, x², y², z², xy, xz, yz).
TERMS: tuple[tuple[int, int, int], ...] = tuple(
    (i, j, k) for i in range(3) for j in range(3) for k in range(3) if i + j + k <= 2)
QUANTITIES = ("log_dn", "dphi0", "n_mean", "phi_mean0", "log_amp_even", "log_amp_odd")
MODEL_FILE = "coupler_model.nc"
#: ``description`` attribute of a fitted model (the first line of devices.coupler_model's doc).
DESCRIPTION = "Directional-coupler compact model from a cached FDTD sweep of fabrication offsets."


class CouplerSweepSpec(Spec):
    """Fabrication-offset sweep of one directional-coupler design (FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal core width of both guides", gt=0.1, le=3.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness", gt=0.05, le=1.0)
    gap: float = quantity(0.2, "um", "nominal edge-to-edge gap (at dw = 0; the pitch is fixed)", gt=0.05, le=2.0)
    coupling_lengths: tuple[float, float] = quantity(
        (16.5, 26.5), "um", "two straight-section lengths L1 < L2 (separate L_c from the bends' phase)")
    bend_radius: float = quantity(5.0, "um", "S-bend arc radius", ge=1.0, le=500.0)
    port_separation: float = quantity(2.0, "um", "centre-to-centre distance at the ports", gt=0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")
    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (both guides)")
    dt: tuple[float, ...] = quantity((-0.01, 0.0, 0.01), "um", "thickness offsets of the fit grid")
    holdout: tuple[tuple[float, float], ...] = quantity(
        ((0.01, -0.005),), "um", "(dw, dt) validation points simulated but never fitted")

    @model_validator(mode="after")
    def _consistent(self) -> "CouplerSweepSpec":
        l1, l2 = self.coupling_lengths
        problems = []
        if not 0 <= l1 < l2:
            problems.append(f"coupling_lengths = {self.coupling_lengths} um: need 0 <= L1 < L2. "
                            "Fix: e.g. coupling_lengths=(16.5, 26.5).")
        for name in ("dw", "dt"):
            vals = getattr(self, name)
            if len(set(vals)) < 3 or list(vals) != sorted(vals):
                problems.append(f"{name} = {vals} um: a quadratic fit needs >= 3 distinct ascending values. "
                                f"Fix: e.g. {name}={(-0.02, 0.0, 0.02) if name == 'dw' else (-0.01, 0.0, 0.01)}.")
        if min(self.dw) <= -self.width / 2 or max(self.dw) >= self.gap:
            problems.append(f"dw = {self.dw} um: the width {self.width} + dw and gap {self.gap} - dw must stay "
                            "positive. Fix: use smaller offsets.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def device(self, dw: float = 0.0, dt: float = 0.0, length: float | None = None) -> Any:
        """The DirectionalCouplerSpec of one sweep point (fixed pitch: gap − δw)."""
        from devices.directional_coupler import DirectionalCouplerSpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return DirectionalCouplerSpec(
            width=r(self.width + dw), thickness=r(self.thickness + dt), gap=r(self.gap - dw),
            coupling_length=r(self.coupling_lengths[0] if length is None else length),
            bend_radius=self.bend_radius, port_separation=self.port_separation, band=self.band)

    def points(self, *, holdout: bool = False) -> list[tuple[float, float]]:
        """(δw, δt) of the fit grid, or of the held-out validation points."""
        if holdout:
            return [tuple(map(float, p)) for p in self.holdout]
        return [(float(a), float(b)) for a in self.dw for b in self.dt]

    def runs(self) -> list[tuple[str, float, float, float]]:
        """Every FDTD run: (role, δw, δt, L) — fit grid first, then held-out points."""
        out = []
        for role, pts in (("fit", self.points()), ("holdout", self.points(holdout=True))):
            for dw, dt in pts:
                out += [(role, dw, dt, length) for length in self.coupling_lengths]
        return out


# -- the library's sweep and the stored model's name (pure; reading and fitting: pipeline.library) ---
def default_sweep() -> CouplerSweepSpec:
    """The library's coupler sweep (the shipped 3-dB coupler design)."""
    return CouplerSweepSpec()


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep, default resolution."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


def model_path(cache: Any, sweep: CouplerSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the model of (sweep, solver) is stored in ``cache`` (anything with ``root`` and
    ``key(device, solver)``): ``<root>/compact_models/coupler_model-<hash>.nc``
    (:func:`devices.offset_model.model_hash`, form: the fitted quantities and terms; the run
    keys carry the solver package versions, so a stale model is never picked up)."""
    from devices.offset_model import model_hash

    sweep = sweep or default_sweep()
    solver = solver or default_solver()
    keys = [cache.key(sweep.device(*run[1:]), solver) for run in sweep.runs()]  # versions enter the keys
    return model_hash("coupler_model", sweep, solver, keys, cache, form=(QUANTITIES, TERMS))


def neff_centre(entry: Any) -> float:
    """The 3D strip n_eff at the band centre recorded by the calibrated 2D material model."""
    mm = entry.provenance.get("material_model", {})
    wl, neff = mm.get("wavelengths_um"), mm.get("neff_3d")
    if not wl or not neff:
        raise CacheError(f"entry {entry.key[:12]} records no 3D n_eff (material model {mm.get('model')!r}). "
                         "Fix: use Meep2DSpec(material_model='calibrated').")
    return float(np.interp(entry.device_spec.band.center, wl, neff))


def library_specs(sweep: CouplerSweepSpec | None = None) -> list[Any]:
    """Every DirectionalCouplerSpec of the default sweep (fit grid and held-out points), for
    the library build (``generator`` in workflows/library.toml)."""
    sweep = sweep or CouplerSweepSpec()
    return [sweep.device(dw, dt, length) for _, dw, dt, length in sweep.runs()]

"""Strip-waveguide compact model from a cached mode-solver sweep: n_eff(λ, δw, δt, ΔT),
n_g, propagation loss (a dB/cm parameter) and the thermo-optic response.

Sweep (:class:`WaveguideModelSpec`): the TE0 mode of a Si strip in SiO2 is solved with MPB
(subpixel averaging, grid aligned to the core edges, Si and SiO2 dispersion of Li 1980 and
Malitson 1965) on a grid of width offsets δw × thickness offsets δt × wavelengths, with
n_g = n_eff − λ dn_eff/dλ from a re-solve at λ ± dlam (material dispersion included) and
dn_eff/dT from re-solves at T ± ``temperature_step`` with every material index shifted by its
dn/dT (Si 1.86e-4 /K, Cocorullo 1992; SiO2 0.95e-5 /K) — a full re-solve, not a first-order
estimate.  Held-out (δw, δt) points are solved the same way and never enter the fit.

Model: each of n_eff, n_g and dn_eff/dT is fitted by least squares with all monomials of total
degree ≤ 2 in the scaled (δw, δt, λ) (10 terms; 45 data for the default 3×3×5 grid).  The
accuracy against the held-out solves is stored in the entry (``accuracy_*`` attributes) and
asserted by the tests.  Phase of a section of length L [µm] at temperature offset ΔT [K]:
φ = 2π (n_eff + dn_eff/dT · ΔT) L / λ; amplitude 10^(−α L / 20) with α in dB/µm.

Independent checks (tests/test_waveguide_model.py): n_eff, n_g at the nominal point against
the converged MPB/Tidy3D values of benchmarks/results (2.4458, 4.184 at 1.55 µm);
dn_eff/dT against the first-order perturbation formula dn_eff/dT = n_g ∫ n dn/dT |E|² /
∫ n² |E|² with the solved field (DESIGN.md); n_g against −λ² dβ/dλ of the model itself
(consistency of the fitted n_eff and n_g, within the fit error).

Pure: the sweep's points, cross-sections and mode options, and :func:`extract`; the mode
solves and the cache are in :mod:`pipeline.simulate.mode_sweep` (reached through
:func:`pipeline.simulate.simulate`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from pipeline.errors import ExtrapolationError, SpecError
from pipeline.materials import SILICA, SILICON, T_REF
from pipeline.modes.spec import ModeSolverSpec
from pipeline.smatrix import make_smatrix
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Simulated by the mode solver, not FDTD.
DEFAULT_SOLVER = "mode_solver"
#: Fitted quantities and their units.
QUANTITIES = {"neff": "1", "ng": "1", "dneff_dT": "1/K"}


class WaveguideModelSpec(DeviceSpec):
    """Sweep of a Si strip's TE0 mode over fabrication offsets and wavelength."""

    device: ClassVar[str] = "waveguide_model"
    width: float = quantity(0.5, "um", "nominal core width", gt=0.2, le=2.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness", gt=0.1, le=1.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=5), "um", "wavelengths solved")
    width_offsets: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid")
    thickness_offsets: tuple[float, ...] = quantity((-0.01, 0.0, 0.01), "um", "thickness offsets of the fit grid")
    held_out: tuple[tuple[float, float], ...] = quantity(((0.01, -0.005), (-0.015, 0.007)), "um",
                                                         "(dw, dt) points solved but never fitted")
    temperature_step: float = quantity(10.0, "K", "half-step of the dn_eff/dT re-solve", gt=0.1, le=50)
    propagation_loss: float = quantity(2.0, "dB/cm", "default propagation loss (a parameter, not simulated)", ge=0)

    def model_post_init(self, _: Any) -> None:
        for name in ("width_offsets", "thickness_offsets"):
            v = getattr(self, name)
            if len(v) < 3 or sorted(v) != list(v) or len(set(v)) != len(v):
                raise SpecError(f"{name} = {v!r}: need >= 3 distinct increasing offsets [um] for a quadratic fit. "
                                "Fix: e.g. (-0.02, 0.0, 0.02).")
        if self.band.points < 3:
            raise SpecError(f"band.points = {self.band.points}: need >= 3 wavelengths for a quadratic fit.")


Spec = WaveguideModelSpec


# -- build → run → extract -------------------------------------------------------------------
# ``points``, ``cross_section``, ``mode_options`` and ``extract`` are pure; the mode solves between
# them are made by :mod:`pipeline.simulate.mode_sweep`, which also writes the entry through the cache.
def points(spec: WaveguideModelSpec) -> list[tuple[float, float]]:
    """(δw, δt) [µm] of every solve: the fit grid, then the held-out points."""
    return [(dw, dt) for dw in spec.width_offsets for dt in spec.thickness_offsets] + [tuple(p) for p in spec.held_out]


def cross_section(spec: WaveguideModelSpec, dw: float, dt: float) -> Any:
    """The Si strip in SiO2 with offsets ``dw``, ``dt`` [µm] (:func:`pipeline.modes.strip`)."""
    from pipeline.modes import strip

    return strip(spec.width + dw, spec.thickness + dt, core=SILICON, cladding=SILICA)


def mode_options(solver: ModeSolverSpec) -> dict[str, Any]:
    """Keyword arguments of every mode solve of the sweep."""
    return dict(num_modes=1, solver=solver.backend, resolution=solver.resolution,
                margin=(solver.margin, solver.margin), dlam=solver.dlam)


def temperatures(spec: WaveguideModelSpec) -> tuple[float, float]:
    """(hot, cold) temperatures [K] of the dn_eff/dT re-solves."""
    return T_REF + spec.temperature_step, T_REF - spec.temperature_step


def point_quantities(spec: WaveguideModelSpec, base: Any, hot: Any, cold: Any) -> dict[str, np.ndarray]:
    """n_eff, n_g, dn_eff/dT (central difference) and TE fraction per wavelength of one (δw, δt)
    from its three mode solves (at T_REF, hot, cold)."""
    return {"neff": base.neff.values[:, 0], "ng": base.ng.values[:, 0],
            "dneff_dT": (hot.neff.values[:, 0] - cold.neff.values[:, 0]) / (2 * spec.temperature_step),
            "te_fraction": base.te_fraction.values[:, 0]}


def _design(dw: np.ndarray, dt: np.ndarray, lam: np.ndarray, spec_scale: tuple[float, float, float, float]
            ) -> np.ndarray:
    sw, st, lc, sl = spec_scale
    u, v, w = np.broadcast_arrays(np.asarray(dw) / sw, np.asarray(dt) / st, (np.asarray(lam) - lc) / sl)
    return np.stack([np.ones_like(u), u, v, w, u * u, v * v, w * w, u * v, u * w, v * w], axis=-1)


def extract(spec: WaveguideModelSpec, solver: ModeSolverSpec, results: dict[tuple[float, float], dict]
            ) -> tuple[xr.Dataset, dict, dict]:
    """The entry's (dataset, provenance, checks) from :func:`point_quantities` per point (pure)."""
    lams = np.asarray(spec.band.wavelengths())
    grid = [(dw, dt) for dw in spec.width_offsets for dt in spec.thickness_offsets]
    nw, nt = len(spec.width_offsets), len(spec.thickness_offsets)
    data = {q: (("dw", "dt", "wavelength"),
                np.array([results[g][q] for g in grid]).reshape(nw, nt, lams.size), {"units": u})
            for q, u in {**QUANTITIES, "te_fraction": "1"}.items()}
    held = {f"held_{q}": (("held_out", "wavelength"), np.array([results[tuple(p)][q] for p in spec.held_out]),
                          {"units": u}) for q, u in QUANTITIES.items()}
    ds = xr.Dataset({**data, **held}, coords={
        "dw": ("dw", list(spec.width_offsets), {"units": "um"}),
        "dt": ("dt", list(spec.thickness_offsets), {"units": "um"}),
        "wavelength": ("wavelength", lams, {"units": "um"}),
        "held_dw": ("held_out", [p[0] for p in spec.held_out], {"units": "um"}),
        "held_dt": ("held_out", [p[1] for p in spec.held_out], {"units": "um"})})
    model = WaveguideModel.from_dataset(ds, spec)
    acc = model.held_out_errors()
    checks = {f"accuracy_{q}": v for q, v in acc.items()}
    checks["min_te_fraction"] = float(ds.te_fraction.min())
    checks["passed"] = bool(acc["neff"] < 2e-3 and acc["ng"] < 5e-3 and checks["min_te_fraction"] > 0.9)
    return ds, {"backend": solver.backend, "n_solves": len(points(spec)) * lams.size * 5}, checks


class WaveguideModel:
    """Quadratic response surfaces of n_eff, n_g and dn_eff/dT in (δw, δt, λ)."""

    def __init__(self, coefficients: dict[str, np.ndarray], scale: tuple[float, float, float, float],
                 ranges: dict[str, tuple[float, float]], dataset: xr.Dataset, spec: WaveguideModelSpec):
        self.coefficients, self.scale, self.ranges, self.dataset, self.spec = coefficients, scale, ranges, dataset, spec

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, spec: WaveguideModelSpec) -> "WaveguideModel":
        dw, dt, lam = np.meshgrid(ds.dw.values, ds.dt.values, ds.wavelength.values, indexing="ij")
        scale = (max(abs(ds.dw.values).max(), 1e-9), max(abs(ds.dt.values).max(), 1e-9),
                 float(ds.wavelength.values.mean()), float(np.ptp(ds.wavelength.values) / 2))
        a = _design(dw.ravel(), dt.ravel(), lam.ravel(), scale)
        coef = {q: np.linalg.lstsq(a, ds[q].values.ravel(), rcond=None)[0] for q in QUANTITIES}
        ranges = {"dw": (float(ds.dw.min()), float(ds.dw.max())), "dt": (float(ds.dt.min()), float(ds.dt.max())),
                  "wavelength": (float(ds.wavelength.min()), float(ds.wavelength.max()))}
        return cls(coef, scale, ranges, ds, spec)

    @classmethod
    def from_entry(cls, entry: Any) -> "WaveguideModel":
        return cls.from_dataset(entry.data, entry.device_spec)

    def _check(self, **values: Any) -> None:
        for name, v in values.items():
            lo, hi = self.ranges[name]
            v = np.asarray(v, dtype=float)
            if np.any(v < lo - 1e-9) or np.any(v > hi + 1e-9):
                raise ExtrapolationError(f"{name} = {v.min():g}..{v.max():g} outside the swept {lo:g}..{hi:g}. "
                                         "Fix: stay inside the sweep or simulate a wider WaveguideModelSpec.")

    def evaluate(self, quantity: str, *, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0) -> np.ndarray:
        """One fitted quantity (``neff``, ``ng``, ``dneff_dT``), numpy-broadcast."""
        if quantity not in QUANTITIES:
            raise SpecError(f"quantity = {quantity!r}: use one of {list(QUANTITIES)}.")
        self._check(wavelength=wavelength, dw=dw, dt=dt)
        return _design(dw, dt, wavelength, self.scale) @ self.coefficients[quantity]

    def held_out_errors(self) -> dict[str, float]:
        """Max |model − direct solve| at the held-out points, per quantity."""
        ds = self.dataset
        lam = ds.wavelength.values[None, :]
        return {q: float(np.max(np.abs(self.evaluate(q, wavelength=lam, dw=ds.held_dw.values[:, None],
                                                     dt=ds.held_dt.values[:, None]) - ds[f"held_{q}"].values)))
                for q in QUANTITIES}


def neff(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, temperature_offset: Any = 0.0,
         model: WaveguideModel) -> np.ndarray:
    """Effective index of TE0 at λ [µm], width/thickness offsets [µm], ΔT [K] (broadcast)."""
    m = model
    return (m.evaluate("neff", wavelength=wavelength, dw=dw, dt=dt)
            + np.asarray(temperature_offset, dtype=float) * m.evaluate("dneff_dT", wavelength=wavelength, dw=dw, dt=dt))


def group_index(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, model: WaveguideModel
                ) -> np.ndarray:
    """Group index n_g of TE0 (material dispersion included)."""
    return model.evaluate("ng", wavelength=wavelength, dw=dw, dt=dt)


def transmission(*, length: Any, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                 temperature_offset: Any = 0.0, loss_db_per_cm: float | None = None,
                 model: WaveguideModel) -> np.ndarray:
    """Complex field transmission exp(i 2π n_eff L/λ) · 10^(−α L/20) of a straight section of
    ``length`` [µm] (``exp(−iωt)`` convention: phase advances with length)."""
    m = model
    length = np.asarray(length, dtype=float)
    if np.any(length < 0):
        raise SpecError(f"length = {length!r} um: must be >= 0.")
    alpha = m.spec.propagation_loss if loss_db_per_cm is None else float(loss_db_per_cm)
    if alpha < 0:
        raise SpecError(f"loss_db_per_cm = {alpha}: must be >= 0 dB/cm.")
    n = neff(wavelength=wavelength, dw=dw, dt=dt, temperature_offset=temperature_offset, model=m)
    lam = np.asarray(wavelength, dtype=float)
    return np.exp(2j * np.pi * n * length / lam) * 10 ** (-alpha * 1e-4 * length / 20)


def waveguide(*, length: float, wavelength: Any = 1.55, dw: float = 0.0, dt: float = 0.0,
              temperature_offset: float = 0.0, loss_db_per_cm: float | None = None,
              model: WaveguideModel) -> xr.DataArray:
    """2-port S-matrix (wavelength, port_out, port_in) of a straight section, ports o1/o2."""
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    t = transmission(length=length, wavelength=lam, dw=dw, dt=dt, temperature_offset=temperature_offset,
                     loss_db_per_cm=loss_db_per_cm, model=model)
    s = np.zeros((lam.size, 2, 2), complex)
    s[:, 1, 0] = s[:, 0, 1] = t
    return make_smatrix(s, lam, ["o1", "o2"], provenance={"model": "devices.waveguide_model", "length_um": float(length)})


def figures_of_merit(entry: Any, **_: Any) -> dict[str, float]:
    """n_eff, n_g, dn_eff/dT at the nominal geometry and band centre; held-out accuracy."""
    m = WaveguideModel.from_entry(entry)
    c = entry.device_spec.band.center
    out = {"neff": float(m.evaluate("neff", wavelength=c)), "ng": float(m.evaluate("ng", wavelength=c)),
           "dneff_dT_per_K": float(m.evaluate("dneff_dT", wavelength=c)),
           "dneff_dw_per_um": float((m.evaluate("neff", wavelength=c, dw=0.01) - m.evaluate("neff", wavelength=c, dw=-0.01)) / 0.02),
           "propagation_loss_db_per_cm": entry.device_spec.propagation_loss}
    out.update({f"held_out_max_error_{q}": v for q, v in m.held_out_errors().items()})
    return out

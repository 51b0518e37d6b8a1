"""Ge photodetector compact model: responsivity R(L_Ge, λ) from a cached FDTD length sweep.

Sweep (:class:`PhotodetectorSweepSpec`).  The library's vertical Ge-on-Si detector
(:mod:`devices.photodetector`, 2D side view, Ge α = 4000 /cm at 1.55 µm, 50 px/µm) is
simulated at several Ge lengths (default 2.5, 5, 7.5, 10, 15 µm) over the band; one
length (12 µm) is simulated the same way and never fitted.  Each run gives the absorbed
fraction A(λ) from the closed flux box around the Ge.

Physics of the model.  Light enters the Ge-loaded section from the Si slab; the part
that couples into the lossy Ge/Si hybrid mode (fraction A_∞, the rest is reflected or
radiated at the junction) is absorbed at the modal rate 1/L_abs of that mode.  The first
fraction of a µm differs: the launched field is not yet the hybrid mode (a transient of
faster or slower absorption), which shifts the asymptotic exponential by an onset L_0:

    A(L, λ) = A_∞(λ) · (1 − exp(−(L − L_0(λ)) / L_abs(λ))).

Chosen by leave-one-out cross-validation on the fit grid (held-out run untouched): without
L_0 the worst interior leave-one-out error at any λ is 0.033 and the grid residual
0.023; with it 0.017 and 0.0075 (a second exponential instead of L_0: 0.017 / 0.0045
with one more parameter).  L_0 ≈ −0.27 µm, L_abs ≈ 2.64 µm, A_∞ ≈ 0.982 at 1.55 µm.  A_∞,
ln L_abs and L_0 are each quadratic in the scaled wavelength (9 coefficients, fitted
jointly by nonlinear least squares to every (L, λ) of the fit grid; A_∞ is clipped to
≤ 1 and A to [0, 1]).  The residual is mostly a ripple of the 2.5-µm device across the
band (±0.03: reflections between the Ge's two ends).  Then R = η_c · A · qλ/(hc) ≤ qλ/(hc) (η_c: collection
efficiency ≤ 1).

Independent check (1D complex-index mode solve of the SiO2/Si/Ge stack, in the tests):
the Si slab mode launches four stack modes with absorption lengths 2.5–3.8 µm (47 % of
the power in the Si-like mode, L = 3.8 µm); the fitted L_abs = 2.64 µm lies in that range,
and for L ≥ 10 µm the incoherent modal sum Σ c_i (1 − e^{−L/L_i}) agrees with A(L) within
0.02; at 2.5 µm the FDTD absorbs more (0.64 vs 0.54): the modes' beating near the Ge
entrance, which the incoherent sum ignores.  The 2D FDTD uses a wavelength-independent α, so the band edge of
real Ge beyond ~1.56 µm is not in the model (see :mod:`devices.photodetector`).

Accuracy against the held-out run (|ΔA| over the band) and the grid residual are
measured when the model is built and stored with it (default sweep: held-out 12 µm
|ΔA| ≤ 0.0071, |ΔR| ≤ 0.009 A/W over 1.50–1.60 µm; grid rms 0.004, max 0.014)
(:attr:`PhotodetectorModel.dataset`,
``compact_models/photodetector_model-<hash>.nc`` next to the entries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import model_validator

from devices.photodetector import HC_OVER_Q
from pipeline.errors import CacheError, ExtrapolationError, SpecError
from pipeline.specs import Spec, WavelengthBand, quantity

#: coefficients: A_∞ = Σ a_k z^k, ln(L_abs/µm) = Σ b_k z^k, L_0/µm = Σ c_k z^k,
#: z = (λ − λc)/s_λ, k = 0, 1, 2.
COEFFICIENTS = ("a_inf_0", "a_inf_1", "a_inf_2", "log_labs_0", "log_labs_1", "log_labs_2",
                "onset_0", "onset_1", "onset_2")


class PhotodetectorSweepSpec(Spec):
    """Ge-length sweep of the default vertical Ge-on-Si photodetector (2D FDTD, cached)."""

    ge_lengths: tuple[float, ...] = quantity((2.5, 5.0, 7.5, 10.0, 15.0), "um",
                                             "Ge lengths of the fit grid (ascending)")
    holdout: tuple[float, ...] = quantity((12.0,), "um", "Ge lengths simulated for validation, never fitted")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")

    @model_validator(mode="after")
    def _consistent(self) -> "PhotodetectorSweepSpec":
        v = self.ge_lengths
        if len(set(v)) < 3 or list(v) != sorted(v) or min(v) <= 0:
            raise ValueError(f"ge_lengths = {v} um: the fit needs >= 3 distinct ascending positive lengths. "
                             "Fix: e.g. ge_lengths=(2.5, 5.0, 7.5, 10.0, 15.0).")
        if self.band.points < 3:
            raise ValueError(f"band.points = {self.band.points}: a quadratic in wavelength needs >= 3. "
                             "Fix: band=WavelengthBand(start=1.50, stop=1.60, points=11).")
        return self

    def device(self, ge_length: float) -> Any:
        """The PhotodetectorSpec of one sweep point (other fields: the library defaults)."""
        from devices.photodetector import PhotodetectorSpec

        return PhotodetectorSpec(ge_length=round(float(ge_length), 9), band=self.band)

    def runs(self) -> list[tuple[str, float]]:
        """Every FDTD run: (role, L_Ge) — fit grid first, then held-out lengths."""
        return [("fit", float(v)) for v in self.ge_lengths] + [("holdout", float(v)) for v in self.holdout]


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep at 50 px/µm (the library's detector entries)."""
    from devices.photodetector import DEFAULT_SOLVER_SETTINGS
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec(**DEFAULT_SOLVER_SETTINGS)


def absorbed_fraction_curve(ge_length: Any, wavelength: Any, coefficients: np.ndarray, centre: float,
                            scale: float) -> np.ndarray:
    """A(L, λ) = A_∞(λ)(1 − exp(−(L − L_0(λ))/L_abs(λ))) for the 9 :data:`COEFFICIENTS`,
    clipped to [0, 1] (broadcast)."""
    z = (np.asarray(wavelength, dtype=float) - centre) / scale
    c = np.asarray(coefficients, dtype=float)
    a_inf = np.clip(c[0] + c[1] * z + c[2] * z * z, 0.0, 1.0)
    l_abs = np.exp(c[3] + c[4] * z + c[5] * z * z)
    l0 = c[6] + c[7] * z + c[8] * z * z
    return np.clip(a_inf * (1.0 - np.exp(-(np.asarray(ge_length, dtype=float) - l0) / l_abs)), 0.0, 1.0)


@dataclass(frozen=True)
class PhotodetectorModel:
    """Fitted coefficients of A(L, λ) (read from a stored Dataset or fitted from the cache)."""

    coefficients: np.ndarray  # (6,) see COEFFICIENTS
    centre: float  # band centre [µm]
    scale: float  # band half width [µm]
    length_range: tuple[float, float]  # fitted Ge lengths [µm]
    dataset: xr.Dataset

    def absorbed_fraction(self, *, ge_length: Any, wavelength: Any) -> np.ndarray:
        """Absorbed fraction A (0..1) of the guided power (broadcast over the arguments)."""
        lam = np.asarray(wavelength, dtype=float)
        length = np.asarray(ge_length, dtype=float)
        lo, hi = self.centre - self.scale, self.centre + self.scale
        for name, v, a, b, fix in (("wavelength", lam, lo, hi, "band"), ("ge_length", length, *self.length_range,
                                                                         "ge_lengths")):
            bad = (v < a - 1e-9) | (v > b + 1e-9)
            if np.any(bad):
                raise ExtrapolationError(
                    f"{name} = {v[bad].ravel()[0]:.6g} um is outside the swept range {a:.6g}..{b:.6g} um of the "
                    f"photodetector model. Fix: stay inside it, or widen PhotodetectorSweepSpec.{fix} and rebuild.")
        return absorbed_fraction_curve(length, lam, self.coefficients, self.centre, self.scale)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "PhotodetectorModel":
        if list(ds.coefficient.values) != list(COEFFICIENTS):
            raise CacheError(f"photodetector model dataset has coefficients {list(ds.coefficient.values)}, "
                             f"expected {list(COEFFICIENTS)}. "
                             "Fix: rebuild it (pipeline.library.Library().fit('photodetector')).")
        return cls(np.asarray(ds.coefficients.values, dtype=float), float(ds.attrs["centre_um"]),
                   float(ds.attrs["scale_um"]), tuple(ds.attrs["ge_length_range_um"]), ds)

    @classmethod
    def load(cls, path: Path | str) -> "PhotodetectorModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return cls.from_dataset(ds.load())


def fit(sweep: PhotodetectorSweepSpec, absorbed: dict[tuple[str, float], np.ndarray],
        provenance: dict[str, Any] | None = None) -> PhotodetectorModel:
    """Fit :data:`COEFFICIENTS` to the fit runs' A(λ) (``absorbed[(role, L)]``, on the band
    grid) and measure the held-out error.  Pure: no cache access."""
    from scipy.optimize import least_squares

    lam = np.asarray(sweep.band.wavelengths())
    centre, scale = 0.5 * (lam.min() + lam.max()), 0.5 * (lam.max() - lam.min())
    fit_l = [float(v) for v in sweep.ge_lengths]
    a_fit = np.array([absorbed[("fit", v)] for v in fit_l])  # (length, wavelength)
    if np.any(a_fit <= 0) or np.any(a_fit >= 1):
        raise SpecError(f"absorbed fractions outside (0, 1): {a_fit.min():.3g}..{a_fit.max():.3g}. "
                        "Fix: check the sweep's entries (energy balance) before fitting.")
    ll, zz = np.meshgrid(fit_l, lam, indexing="ij")
    # start: per-wavelength-independent guess from the two longest lengths
    a_long = float(a_fit[-1].mean())
    x0 = np.array([min(a_long * 1.02, 0.999), 0, 0, np.log(fit_l[-1] / 4), 0, 0, 0, 0, 0])

    def resid(c: np.ndarray) -> np.ndarray:
        return (absorbed_fraction_curve(ll, zz, c, centre, scale) - a_fit).ravel()

    sol = least_squares(resid, x0, method="lm")
    coef = sol.x
    model_fit = absorbed_fraction_curve(ll, zz, coef, centre, scale)
    ds = xr.Dataset(
        {"coefficients": (("coefficient",), coef),
         "fit_absorbed_fdtd": (("fit_length", "wavelength"), a_fit),
         "fit_absorbed_error": (("fit_length", "wavelength"), model_fit - a_fit)},
        coords={"coefficient": list(COEFFICIENTS), "fit_length": fit_l, "wavelength": lam})
    hold = [float(v) for v in sweep.holdout]
    if hold:
        a_h = np.array([absorbed[("holdout", v)] for v in hold])
        lh, zh = np.meshgrid(hold, lam, indexing="ij")
        err = absorbed_fraction_curve(lh, zh, coef, centre, scale) - a_h
        ds["holdout_absorbed_fdtd"] = (("holdout_length", "wavelength"), a_h)
        ds["holdout_absorbed_error"] = (("holdout_length", "wavelength"), err)
        ds["holdout_responsivity_error_a_per_w"] = (("holdout_length", "wavelength"), err * lam / HC_OVER_Q)
        ds = ds.assign_coords(holdout_length=hold)
    summary = {"fit_rms_absorbed_error": float(np.sqrt(np.mean((model_fit - a_fit) ** 2))),
               "fit_max_abs_absorbed_error": float(np.abs(model_fit - a_fit).max())}
    if hold:
        summary["holdout_max_abs_absorbed_error"] = float(np.abs(ds["holdout_absorbed_error"]).max())
        summary["holdout_max_abs_responsivity_error_a_per_w"] = float(
            np.abs(ds["holdout_responsivity_error_a_per_w"]).max())
    ds.attrs.update(
        centre_um=float(centre), scale_um=float(scale), ge_length_range_um=[min(fit_l), max(fit_l)],
        sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0], accuracy=json.dumps(summary),
        model="A = clip(A_inf (1 - exp(-(L - L_0) / L_abs)), 0, 1), A_inf = clip(a_inf_0 + a_inf_1 z + a_inf_2 z^2, "
              "0, 1), ln L_abs = log_labs_0 + log_labs_1 z + log_labs_2 z^2, L_0 = onset_0 + onset_1 z + onset_2 z^2, "
              "z = (wavelength - centre_um)/scale_um, L, L_abs, L_0 in um",
        **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return PhotodetectorModel(coef, float(centre), float(scale), (min(fit_l), max(fit_l)), ds)


# -- the stored model's name (pure; reading and fitting from the cache: pipeline.library) --------
def default_sweep() -> PhotodetectorSweepSpec:
    """The library's photodetector sweep."""
    return PhotodetectorSweepSpec()


def model_path(cache: Any, sweep: PhotodetectorSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the model of (sweep, solver) is stored in ``cache`` (anything with ``root`` and
    ``key``): ``<root>/compact_models/photodetector_model-<hash>.nc``
    (:func:`devices.offset_model.model_hash`, form: the coefficient names)."""
    from devices.offset_model import model_hash

    sweep = sweep or default_sweep()
    solver = solver or default_solver()
    keys = [cache.key(sweep.device(v), solver) for _, v in sweep.runs()]
    return model_hash("photodetector_model", sweep, solver, keys, cache, form=(COEFFICIENTS,))


# -- public compact model ----------------------------------------------------------------------
def absorbed_fraction(*, ge_length: Any = 10.0, wavelength: Any = 1.55,
                      model: PhotodetectorModel) -> np.ndarray:
    """Absorbed fraction A of the guided power in a Ge absorber of ``ge_length`` [µm] at
    ``wavelength`` [µm] (numpy-broadcast)."""
    return model.absorbed_fraction(ge_length=ge_length, wavelength=wavelength)


def responsivity(*, ge_length: Any = 10.0, wavelength: Any = 1.55, collection_efficiency: Any = 1.0,
                 model: PhotodetectorModel) -> np.ndarray:
    """Responsivity R = η_c · A(L, λ) · qλ/(hc) [A/W] (≤ qλ/(hc): A ≤ 1, η_c ≤ 1), broadcast
    over ``ge_length`` [µm], ``wavelength`` [µm] and ``collection_efficiency`` (0..1)."""
    eta = np.asarray(collection_efficiency, dtype=float)
    if np.any((eta <= 0) | (eta > 1)) or not np.all(np.isfinite(eta)):
        raise SpecError(f"collection_efficiency = {collection_efficiency!r}: must lie in (0, 1] "
                        "(collected electrons per absorbed photon). Fix: e.g. collection_efficiency=0.9.")
    lam = np.asarray(wavelength, dtype=float)
    return eta * absorbed_fraction(ge_length=ge_length, wavelength=lam, model=model) * lam / HC_OVER_Q


def library_specs(sweep: PhotodetectorSweepSpec | None = None) -> list[Any]:
    """Every PhotodetectorSpec of the default sweep (fit and held out), for the library build
    (``generator`` in workflows/library.toml)."""
    sweep = sweep or PhotodetectorSweepSpec()
    return [sweep.device(length) for _, length in sweep.runs()]

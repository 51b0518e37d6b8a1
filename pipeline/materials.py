"""Refractive-index models with units (wavelength in µm, temperature in K).

Dispersion models (the real part of the index; absorption is neglected, both
materials are transparent near 1.55 µm):

``"si_li1980"``
    Crystalline silicon, H. H. Li, "Refractive index of silicon and germanium and its
    wavelength and temperature derivatives", J. Phys. Chem. Ref. Data 9, 561 (1980),
    room-temperature (293 K) Sellmeier-type fit valid 1.2–14 µm:
    n² = ε + A/λ² + B λ₁²/(λ² − λ₁²), ε = 11.6858, A = 0.939816 µm², B = 8.10461e-3,
    λ₁ = 1.1071 µm.  n(1.55 µm) = 3.4764, bulk group index 3.60.
``"sio2_malitson1965"``
    Fused silica, I. H. Malitson, "Interspecimen comparison of the refractive index of
    fused silica", J. Opt. Soc. Am. 55, 1205 (1965), at 20 °C, valid 0.21–3.71 µm:
    n² − 1 = Σ Bᵢ λ²/(λ² − Cᵢ²).  n(1.55 µm) = 1.4440.

Thermo-optic coefficients (first order about the reference temperature 293.15 K):
Si dn/dT = 1.86e-4 /K at 1.523 µm (G. Cocorullo & I. Rendina, Electron. Lett. 28, 83
(1992); J. Komma et al., Appl. Phys. Lett. 101, 041905 (2012) find 1.87e-4 /K at 1.55 µm),
SiO2 dn/dT = 0.95e-5 /K (Malitson 1965; ~1e-5 /K for thermal and PECVD oxides).
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
from pydantic import model_validator

from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity

#: Reference temperature of the dispersion fits [K].
T_REF = 293.15

DispersionModel = Literal["si_li1980", "sio2_malitson1965"]


def _si_li1980(lam: np.ndarray) -> np.ndarray:
    l2 = lam * lam
    lam1_sq = 1.1071**2
    return np.sqrt(11.6858 + 0.939816 / l2 + 8.10461e-3 * lam1_sq / (l2 - lam1_sq))


def _sio2_malitson1965(lam: np.ndarray) -> np.ndarray:
    l2 = lam * lam
    n2 = (
        1.0
        + 0.6961663 * l2 / (l2 - 0.0684043**2)
        + 0.4079426 * l2 / (l2 - 0.1162414**2)
        + 0.8974794 * l2 / (l2 - 9.896161**2)
    )
    return np.sqrt(n2)


#: name -> (n(λ [µm]), valid range [µm]).
DISPERSION_MODELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], tuple[float, float]]] = {
    "si_li1980": (_si_li1980, (1.2, 14.0)),
    "sio2_malitson1965": (_sio2_malitson1965, (0.21, 3.71)),
}


class Material(Spec):
    """An isotropic, lossless optical material: a constant index or a named dispersion
    model, plus a first-order thermo-optic coefficient about ``t_ref``."""

    name: str = quantity("material", "1", "label of the material")
    n: float | None = quantity(None, "1", "constant refractive index (None: use `model`)", ge=1.0)
    model: DispersionModel | None = quantity(
        None, "1", "named dispersion model: " + ", ".join(DISPERSION_MODELS)
    )
    dn_dT: float = quantity(0.0, "1/K", "thermo-optic coefficient dn/dT")
    t_ref: float = quantity(T_REF, "K", "temperature at which n / model holds", gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> "Material":
        if (self.n is None) == (self.model is None):
            raise ValueError(
                f"material {self.name!r}: give exactly one of n (constant index) and model "
                f"(dispersion), got n={self.n!r}, model={self.model!r}. "
                f"Fix: set n=3.48 or model='si_li1980' (available: {', '.join(DISPERSION_MODELS)})."
            )
        return self

    def index(self, wavelength_um: float | np.ndarray, temperature_K: float | np.ndarray = T_REF) -> np.ndarray:
        """Refractive index at ``wavelength_um`` [µm] and ``temperature_K`` [K] (broadcast).

        Raises SpecError for a wavelength outside the model's fitted range."""
        lam = np.asarray(wavelength_um, dtype=float)
        if np.any(~np.isfinite(lam)) or np.any(lam <= 0):
            raise SpecError(f"wavelength_um = {wavelength_um!r}: must be finite and > 0 um.")
        if self.model is None:
            n0 = np.full_like(lam, float(self.n))  # type: ignore[arg-type]
        else:
            func, (lo, hi) = DISPERSION_MODELS[self.model]
            if np.any(lam < lo) or np.any(lam > hi):
                raise SpecError(
                    f"wavelength_um = {wavelength_um!r} outside the range {lo}–{hi} um of "
                    f"dispersion model {self.model!r} (material {self.name!r}). "
                    "Fix: use a wavelength inside the range or a constant index n."
                )
            n0 = func(lam)
        return n0 + self.dn_dT * (np.asarray(temperature_K, dtype=float) - self.t_ref)

    def group_index(self, wavelength_um: float | np.ndarray, temperature_K: float = T_REF,
                    dlam: float = 1e-3) -> np.ndarray:
        """Bulk group index n − λ dn/dλ (central difference, step ``dlam`` µm)."""
        lam = np.asarray(wavelength_um, dtype=float)
        dn = self.index(lam + dlam, temperature_K) - self.index(lam - dlam, temperature_K)
        return self.index(lam, temperature_K) - lam * dn / (2 * dlam)

    def at(self, wavelength_um: float, temperature_K: float = T_REF) -> "Material":
        """A constant-index copy evaluated at one wavelength [µm] and temperature [K]."""
        return Material(name=self.name, n=float(self.index(wavelength_um, temperature_K)),
                        dn_dT=self.dn_dT, t_ref=self.t_ref)


#: Crystalline silicon with Li (1980) dispersion, dn/dT = 1.86e-4 /K.
SILICON = Material(name="Si", model="si_li1980", dn_dT=1.86e-4)
#: Fused / thermal silica with Malitson (1965) dispersion, dn/dT = 0.95e-5 /K.
SILICA = Material(name="SiO2", model="sio2_malitson1965", dn_dT=0.95e-5)


def constant(material: Material, wavelength_um: float = 1.55) -> Material:
    """``material`` with its index frozen at ``wavelength_um`` (no material dispersion)."""
    return material.at(wavelength_um, material.t_ref)


def index(material: Material | str, wavelength_um: float | np.ndarray,
          temperature_K: float | np.ndarray = T_REF) -> np.ndarray:
    """Vectorized n(λ [µm], T [K]) of a Material or of a built-in name ("Si", "SiO2")."""
    if isinstance(material, str):
        builtins = {"si": SILICON, "sio2": SILICA}
        if material.lower() not in builtins:
            raise SpecError(f"material = {material!r}: unknown. Fix: use one of 'Si', 'SiO2' or a Material.")
        material = builtins[material.lower()]
    return material.index(wavelength_um, temperature_K)

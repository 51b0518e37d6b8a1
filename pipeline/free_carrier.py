"""Free-carrier dispersion of silicon: carrier densities → Δn, Δα (plasma-dispersion effect).

M. Nedeljkovic, R. Soref & G. Z. Mashanovich, "Free-carrier electrorefraction and
electroabsorption modulation predictions for silicon over the 1–14 µm infrared wavelength
range", IEEE Photonics J. 3, 1171 (2011), doi:10.1109/JPHOT.2011.2171930, fits to Kramers–
Kronig analysed absorption data:

    Δn = −(a ΔN^b + c ΔP^d),    Δα = e ΔN^f + g ΔP^h   [cm⁻¹],  ΔN, ΔP in cm⁻³.

Coefficients used (the paper's tables; the same numbers appear in L. Chrostowski & M.
Hochberg, Silicon Photonics Design, Cambridge UP 2015, eq. 6.3, and in the public tabulations
checked while writing this module):

    λ = 1.55 µm: a = 5.4e-22, b = 1.011, c = 1.53e-18, d = 0.838;
                 e = 8.88e-21, f = 1.167, g = 5.84e-20, h = 1.109
    λ = 1.30 µm: a = 2.98e-22, b = 1.016, c = 1.25e-18, d = 0.835;
                 e = 3.48e-22, f = 1.229, g = 1.02e-19, h = 1.089

Between tabulated wavelengths the Drude scaling Δn, Δα ∝ λ² about the nearest table
(R. A. Soref & B. R. Bennett, IEEE J. Quantum Electron. 23, 123 (1987)) is used within
±``DRUDE_WINDOW_UM`` of it — a design choice: the fitted exponents drift by < 1 % between
1.3 and 1.55 µm, the prefactors are what moves.  ΔN, ΔP are the densities relative to
undoped silicon (the index of :mod:`pipeline.materials` is that of intrinsic Si), so a doped
region's static Δn and absorption come out of the same call.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import ExtrapolationError

#: λ [µm] → (a, b, c, d, e, f, g, h) of Nedeljkovic et al. 2011 (module doc).
NEDELJKOVIC_2011: dict[float, tuple[float, ...]] = {
    1.55: (5.4e-22, 1.011, 1.53e-18, 0.838, 8.88e-21, 1.167, 5.84e-20, 1.109),
    1.30: (2.98e-22, 1.016, 1.25e-18, 0.835, 3.48e-22, 1.229, 1.02e-19, 1.089),
}
#: Half-width [µm] of the λ² (Drude) extrapolation window around each tabulated wavelength.
DRUDE_WINDOW_UM = 0.1


def _table(wavelength_um: float) -> tuple[float, tuple[float, ...]]:
    lam0 = min(NEDELJKOVIC_2011, key=lambda l0: abs(l0 - wavelength_um))
    if abs(lam0 - wavelength_um) > DRUDE_WINDOW_UM + 1e-12:
        raise ExtrapolationError(
            f"wavelength = {wavelength_um} um: the free-carrier fits are tabulated at "
            f"{sorted(NEDELJKOVIC_2011)} um and used within +-{DRUDE_WINDOW_UM} um. Fix: choose a wavelength band "
            "inside those windows (e.g. 1.50-1.60 um) or add the paper's coefficients for your wavelength.")
    return lam0, NEDELJKOVIC_2011[lam0]


def _check(values: np.ndarray, name: str) -> np.ndarray:
    v = np.asarray(values, float)
    if np.any(v < 0) or not np.all(np.isfinite(v)):
        raise ExtrapolationError(f"{name}: carrier densities must be finite and >= 0 cm^-3 (min {np.min(v):.3g}).")
    return v


def delta_index(electrons: np.ndarray, holes: np.ndarray, wavelength_um: float = 1.55) -> np.ndarray:
    """Δn (real index change, negative) for electron and hole densities [cm⁻³] at λ [µm]."""
    lam0, (a, b, c, d, *_r) = _table(float(wavelength_um))
    n, p = _check(electrons, "electrons"), _check(holes, "holes")
    return -(a * n**b + c * p**d) * (wavelength_um / lam0) ** 2


def delta_alpha(electrons: np.ndarray, holes: np.ndarray, wavelength_um: float = 1.55) -> np.ndarray:
    """Δα [1/cm] (power absorption coefficient) for electron and hole densities [cm⁻³] at λ [µm]."""
    lam0, (*_r, e, f, g, h) = _table(float(wavelength_um))
    n, p = _check(electrons, "electrons"), _check(holes, "holes")
    return (e * n**f + g * p**h) * (wavelength_um / lam0) ** 2

"""Static phase offsets between the two arms of every MZI, from the fabrication field.

The within-die width and thickness offsets are a Gaussian field of 1σ ``width_sigma`` /
``thickness_sigma`` with exponential correlation exp(−r/ℓ), ℓ = ``correlation_length``
(:mod:`pipeline.chip.impairments`).  The two arms of an MZI, length L and ``separation`` d
apart, average that field along their length; their mean offsets differ by
δ = w̄₁ − w̄₂ with

    var δ = 2σ² (ρ_self − ρ_cross),
    ρ_self  = (1/L²) ∫∫ e^{−|x−x'|/ℓ} dx dx' = 2 (ℓ/L)² (L/ℓ − 1 + e^{−L/ℓ}),
    ρ_cross = (2/L²) ∫₀^L (L − u) e^{−√(u² + d²)/ℓ} du        (quadrature),

(the same for the thickness).  Each MZI draws its δw, δt independently (different MZIs'
differences are nearly uncorrelated: their arms are ≥ one pitch apart, and each difference
is dominated by the field's short-range part).  The arms then sit at the MZI's local offset
± δ/2 and the offset is, through the waveguide compact model (:mod:`devices.waveguide_model`),

    φ₀ = 2π L / λ · [n_eff(δw₁, δt₁, ΔT) − n_eff(δw₂, δt₂, ΔT)]     (heated arm 1 minus arm 2),

so an ambient temperature offset ΔT acts through the arms' differential dn_eff/dT.
300 µm arms 10 µm apart, σ 5 / 2 nm, ℓ = 1 mm: σ(δw) ≈ 0.24 nm, σ(δt) ≈ 0.10 nm, σ(φ₀) ≈ 0.63 rad.
``arm_phase_sigma`` (a number) replaces the derivation by φ₀ ~ N(0, σ²) (no ΔT dependence).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import trapezoid as _trapezoid

from pipeline.chip.impairments import THICKNESS_RANGE_UM, WIDTH_RANGE_UM, ImpairmentSpec

_QUADRATURE_POINTS = 2001


def correlation_difference(length_um: float, separation_um: float, correlation_length_um: float) -> float:
    """ρ_self − ρ_cross (module doc) of two parallel arms [µm]; 0 for ℓ = 0 (a white field
    averages out along a continuous arm) or d = 0."""
    L, d, ell = float(length_um), float(separation_um), float(correlation_length_um)
    if ell <= 0 or d <= 0 or L <= 0:
        return 0.0
    r = L / ell
    rho_self = 2.0 / r ** 2 * (r - 1.0 + np.exp(-r))
    u = np.linspace(0.0, L, _QUADRATURE_POINTS)
    rho_cross = 2.0 / L ** 2 * _trapezoid((L - u) * np.exp(-np.sqrt(u ** 2 + d ** 2) / ell), u)
    return float(max(rho_self - rho_cross, 0.0))


def arm_difference_sigma(spec: ImpairmentSpec, length_um: float, separation_um: float) -> tuple[float, float]:
    """1σ of the arms' mean width and thickness difference [µm] (module doc)."""
    c = correlation_difference(length_um, separation_um, spec.correlation_length)
    return float(spec.width_sigma * np.sqrt(2 * c)), float(spec.thickness_sigma * np.sqrt(2 * c))


def arm_phase_offsets(spec: ImpairmentSpec, dw_um: np.ndarray, dt_um: np.ndarray, *, length_um: float,
                      separation_um: float, wavelength_um: float, rng: np.random.Generator,
                      library: object) -> np.ndarray:
    """Static arm phase offset φ₀ [rad] of each MZI whose local width/thickness offsets are
    ``dw_um``, ``dt_um`` (n,) [µm] (module doc), at ``spec.temperature_offset``.  Draws 2n
    normals from ``rng`` (n with ``arm_phase_sigma`` set), so a die's other streams do not
    depend on which branch is taken.  ``library`` (a :class:`~pipeline.library.Library`)
    gives the waveguide compact model."""
    dw, dt = np.asarray(dw_um, float), np.asarray(dt_um, float)
    z_w, z_t = rng.standard_normal(dw.shape), rng.standard_normal(dw.shape)
    if spec.arm_phase_sigma is not None:
        return spec.arm_phase_sigma * z_w
    s_w, s_t = arm_difference_sigma(spec, length_um, separation_um)
    if s_w == 0 and s_t == 0:
        return np.zeros(dw.shape)
    from devices import waveguide_model as wm

    model = library.model("waveguide")
    half_w, half_t = 0.5 * s_w * z_w, 0.5 * s_t * z_t
    clip_w = lambda v: np.clip(v, -WIDTH_RANGE_UM, WIDTH_RANGE_UM)  # noqa: E731  (the model's validated range)
    clip_t = lambda v: np.clip(v, -THICKNESS_RANGE_UM, THICKNESS_RANGE_UM)  # noqa: E731
    n1 = wm.neff(wavelength=wavelength_um, dw=clip_w(dw + half_w), dt=clip_t(dt + half_t),
                 temperature_offset=spec.temperature_offset, model=model)
    n2 = wm.neff(wavelength=wavelength_um, dw=clip_w(dw - half_w), dt=clip_t(dt - half_t),
                 temperature_offset=spec.temperature_offset, model=model)
    return 2 * np.pi * float(length_um) / float(wavelength_um) * (n1 - n2)

"""2D material models for SOI strip devices, and their Meep (Lorentz) media.

A 2D (x–y) FDTD of a silicon strip device needs a core index n_c(λ) and a cladding
index n_b(λ) for the *slab* that stands in for the 3D strip. Three models:

``"bulk"``
    n_c = n_Si, n_b = n_SiO2. Far too confining: the 2D slab has n_eff ≈ 3.15 instead of
    2.44 and coupling lengths come out ×2.6–3.4 too long. Kept only for comparison.
``"eim"``
    Classical effective-index method: n_c = TE0 index of the vertical 220 nm Si slab
    (≈ 2.85), n_b = n_SiO2. The lateral index step is too large for the field that is
    actually in the gap, so couplers come out ~35 % too short at a 200 nm gap.
``"calibrated"`` (default)
    Two numbers per wavelength, fitted to converged 3D full-vectorial MPB solves:
    (1) n_c(n_b) is chosen so that the 2D slab of the same width has the 3D strip's
    TE0 n_eff exactly (phase and group delay of every straight section are right);
    (2) n_b is then chosen so that a 2D coupled pair at ONE reference gap
    (``Meep2DSpec.calibration_gap``, 0.25 µm) has the 3D supermode splitting Δn
    (hence L_c = λ/2Δn). The result (n_c ≈ 2.835, n_b ≈ 1.161 at 1.55 µm for 500×220 nm)
    is an *effective* medium: the low n_b reproduces how fast the 3D mode's overlap with
    the neighbouring guide falls with the gap, which a cladding of n_SiO2 cannot (with
    n_b = n_SiO2 and n_eff matched, L_c comes out ~40 % short). Other gaps are
    predictions: exact 2D slab −1.8 / −0.9 / −0.8 % and 2D FDTD (30 px/µm) −3.5 / −2.4 /
    −0.6 % vs 3D MPB (96 px/µm) at gaps 0.20 / 0.25 / 0.30 µm
    (benchmarks/results/fdtd_coupler.txt; part of the offset is the 64 px/µm calibration
    solve, itself 1.7 % below 96 px/µm at 0.20 µm).
    The 3D solves (single strip and pair) are cached in memory per
    (geometry, wavelengths, resolution).

Dispersion. Indices are computed at ``n_samples`` wavelengths across the band and each
ε(f) is fitted by ε∞ + σ f0²/(f0² − f²) (one lossless Lorentz pole, f = 1/λ in Meep
units, pole above the band) so that a single broadband pulse sees the right index at
every frequency. Anomalous (ε decreasing with f) or flat data get a constant index.
By default (``MeepSpec.dispersive = False``) the engine uses constant indices at the band
centre instead: Meep does not subpixel-average the susceptibility, which added 2.4 % to β
at 20 px/µm in a straight guide; the dispersive media remain available as an option.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from pipeline.errors import SolverError
from pipeline.fdtd import slab
from pipeline.materials import SILICA, SILICON


@dataclass(frozen=True)
class Medium:
    """A Meep-ready medium: ε(f) = eps_inf + sigma f0²/(f0² − f²), f in 1/µm, optionally
    with Meep's electric (D) conductivity ``d_conductivity`` [1/µm, Meep units c = 1]:
    ε → ε (1 + i σ_D / 2πf), a power absorption α ≈ n σ_D (see :func:`lossy_medium`)."""

    eps_inf: float
    sigma: float = 0.0
    f0: float = 1.0
    max_error: float = 0.0  # max |n_fit − n| over the samples
    d_conductivity: float = 0.0

    def index(self, wavelength: float | np.ndarray) -> np.ndarray:
        f = 1.0 / np.asarray(wavelength, dtype=float)
        return np.sqrt(self.eps_inf + self.sigma * self.f0**2 / (self.f0**2 - f**2))

    def as_dict(self) -> dict[str, float]:
        out = {"eps_inf": self.eps_inf, "sigma": self.sigma, "f0": self.f0}
        if self.d_conductivity:
            out["d_conductivity"] = self.d_conductivity
        return out


def lossy_medium(n: float, alpha_per_um: float, wavelength: float) -> Medium:
    """A constant-index medium with power absorption ``alpha_per_um`` [1/µm] at ``wavelength``.

    Complex index n + iκ with κ = αλ/4π (intensity ∝ exp(−αx)). Meep's D-conductivity gives
    ε_c = ε_r (1 + iσ_D/ω), ω = 2π/λ in Meep units, so ε_r = n² − κ² and
    σ_D = ω · 2nκ / (n² − κ²) (exact at ``wavelength``; σ_D is frequency independent, so
    α stays ≈ n σ_D, nearly constant, across a narrow band)."""
    kappa = alpha_per_um * wavelength / (4 * np.pi)
    eps_r = n**2 - kappa**2
    omega = 2 * np.pi / wavelength
    return Medium(eps_inf=float(eps_r), d_conductivity=float(omega * 2 * n * kappa / eps_r))


def fit_medium(wavelengths: np.ndarray, n: np.ndarray) -> Medium:
    """Fit one lossless Lorentz pole above the band to n(λ) [λ in µm]."""
    wl, n = np.asarray(wavelengths, float), np.asarray(n, float)
    eps = n**2
    if wl.size < 3 or np.ptp(eps) < 1e-6:
        return Medium(eps_inf=float(np.mean(eps)), max_error=float(np.ptp(n) / 2))
    f = 1.0 / wl
    best: tuple[float, Medium] | None = None
    for f0 in np.linspace(1.15 * f.max(), 4.0 * f.max(), 200):
        basis = f0**2 / (f0**2 - f**2)
        a = np.column_stack([np.ones_like(f), basis])
        (e_inf, sig), *_ = np.linalg.lstsq(a, eps, rcond=None)
        if sig < 0 or e_inf < 1.0:
            continue
        med = Medium(float(e_inf), float(sig), float(f0))
        err = float(np.max(np.abs(med.index(wl) - n)))
        if best is None or err < best[0]:
            best = (err, Medium(med.eps_inf, med.sigma, med.f0, err))
    if best is None:  # anomalous dispersion cannot be a lossless pole: constant index
        return Medium(eps_inf=float(np.mean(eps)), max_error=float(np.ptp(n) / 2))
    return best[1]


@dataclass(frozen=True)
class Model2D:
    """Per-wavelength 2D indices and their fitted Meep media."""

    name: str
    wavelengths: tuple[float, ...]
    n_core: tuple[float, ...]
    n_clad: tuple[float, ...]
    core: Medium
    clad: Medium
    info: dict

    def summary(self) -> dict:
        return {"model": self.name, "wavelengths_um": list(self.wavelengths), "n_core": list(self.n_core),
                "n_clad": list(self.n_clad), "core_medium": self.core.as_dict(),
                "clad_medium": self.clad.as_dict(), "fit_max_index_error": max(self.core.max_error, self.clad.max_error),
                **self.info}


def sample_wavelengths(start: float, stop: float, n_samples: int = 5) -> np.ndarray:
    """Wavelengths [µm] at which a model is evaluated (one if the band is a point)."""
    return np.array([start]) if stop <= start else np.linspace(start, stop, n_samples)


@functools.lru_cache(maxsize=64)
def strip_modes_3d(wavelengths: tuple[float, ...], width: float, thickness: float, gap: float,
                   resolution: int, timeout_s: float = 900.0) -> dict:
    """3D MPB TE0 n_eff of one strip and the (even, odd) supermodes of a pair (Si/SiO2 with
    dispersion), run in a worker process; cached in memory."""
    from pipeline.solver_process import run_task

    task = {"kind": "mpb_strip", "wavelengths": list(wavelengths), "width": width, "thickness": thickness,
            "gap": gap, "resolution": resolution,
            "n_core": [float(SILICON.index(w)) for w in wavelengths],
            "n_clad": [float(SILICA.index(w)) for w in wavelengths]}
    return run_task(task, timeout_s=timeout_s, label="MPB calibration")


def _core_for(lam: float, width: float, neff: float, n_clad: float) -> float:
    return brentq(lambda nc: slab.single_neff(lam, width, nc, n_clad) - neff, neff + 1e-6, 6.0, xtol=1e-13)


def calibrate(lam: float, width: float, gap: float, neff: float, dn: float) -> tuple[float, float]:
    """(n_core, n_clad) of the 2D slab reproducing 3D ``neff`` and supermode ``dn`` at ``gap``."""
    def mismatch(n_clad: float) -> float:
        nc = _core_for(lam, width, neff, n_clad)
        ne, no = slab.pair_neffs(lam, width, gap, nc, n_clad)
        return np.log(abs(ne - no) / dn)

    lo, hi = 1.0, min(neff - 0.3, 1.6)
    try:
        n_clad = brentq(mismatch, lo, hi, xtol=1e-10)
    except ValueError as exc:
        raise SolverError(
            f"2D calibration failed at λ = {lam} um, gap {gap} um: no cladding index in [{lo}, {hi:.3f}] "
            f"reproduces the 3D splitting Δn = {dn:.5g} (n_eff {neff:.5f}). Fix: check the 3D mode solve "
            "or use calibration_gap between 0.15 and 0.4 um."
        ) from exc
    return _core_for(lam, width, neff, n_clad), n_clad


def model_2d(name: str, band: tuple[float, float], width: float, thickness: float, *,
             gap: float = 0.25, resolution: int = 64, timeout_s: float = 900.0) -> Model2D:
    """The 2D material model ``name`` over ``band`` = (start, stop) [µm]."""
    wl = sample_wavelengths(*band)
    n_si, n_ox = SILICON.index(wl), SILICA.index(wl)
    info: dict = {}
    if name == "bulk":
        nc, ncl = n_si, n_ox
    elif name == "eim":
        nc = np.array([slab.te_slab_neff(w, thickness, a, b) for w, a, b in zip(wl, n_si, n_ox)])
        ncl = n_ox
    elif name == "calibrated":
        modes = strip_modes_3d(tuple(float(w) for w in wl), width, thickness, gap, resolution, timeout_s)
        neff, ne, no = (np.asarray(modes[k]) for k in ("neff", "neff_even", "neff_odd"))
        pairs = [calibrate(w, width, gap, a, abs(e - o)) for w, a, e, o in zip(wl, neff, ne, no)]
        nc, ncl = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        info = {"neff_3d": neff.tolist(), "dn_3d": np.abs(ne - no).tolist(), "calibration_gap_um": gap,
                "mpb_resolution": resolution}
    else:
        raise ValueError(f"unknown 2D material model {name!r}")
    return Model2D(name, tuple(map(float, wl)), tuple(map(float, nc)), tuple(map(float, ncl)),
                   fit_medium(wl, nc), fit_medium(wl, ncl), info)


def bulk_media(band: tuple[float, float]) -> tuple[Medium, Medium]:
    """(Si, SiO2) Lorentz fits over ``band`` [µm] for 3D runs."""
    wl = sample_wavelengths(*band)
    return fit_medium(wl, SILICON.index(wl)), fit_medium(wl, SILICA.index(wl))

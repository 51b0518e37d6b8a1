"""Ge-on-Si photodetector: circuit-level electrical model (noise, bandwidth, sampling).

The optical side (responsivity from the FDTD absorbed fraction) is computed elsewhere and
enters here as ``responsivity`` [A/W]; this module turns optical power into the current a
circuit reads, with its noise.

Model (SI units: W, A, Hz, F, Ω, K):

* photocurrent I_ph = R·P; the detector delivers I = I_ph + I_dark (dark current is a DC
  offset and a shot-noise source);
* shot noise σ²_shot = 2q (I_ph + I_dark) B (Schottky; full shot noise of a pin diode
  without gain);
* thermal (Johnson) noise of the load / transimpedance resistor σ²_th = 4 k_B T B / R_L;
* total σ² = σ²_shot + σ²_th (independent), SNR = I_ph² / σ²;
* NEP = sqrt(2q I_dark + 4 k_B T / R_L) / R [W/√Hz]: the optical power giving SNR = 1 in
  1 Hz in the dark-noise limit; :func:`min_detectable_power` solves SNR = 1 exactly
  (including the signal's own shot noise) for a bandwidth B;
* bandwidth: RC limit f_RC = 1/(2π (R_L + R_s) C_j) and transit-time limit
  f_tr = 0.45 v_sat / d (uniform generation across a depletion region of width d;
  S. M. Sze & K. K. Ng, Physics of Semiconductor Devices, 3rd ed., Wiley 2007, ch. 13),
  combined as 1/f² = 1/f_RC² + 1/f_tr².

Defaults and their sources:

* dark current 10 nA at −1 V: waveguide Ge-on-Si pin detectors of ~10–50 µm length show
  ~1–50 nA at −1 V (review: J. Michel, J. Liu & L. C. Kimerling, "High-performance
  Ge-on-Si photodetectors", Nat. Photon. 4, 527 (2010); L. Vivien & L. Pavesi (eds.),
  Handbook of Silicon Photonics, CRC Press 2013, ch. on Ge photodetectors).
* junction capacitance 15 fF: lateral pin Ge detectors of ~10–20 µm length have ~10–20 fF
  (same sources; e.g. the lateral Ge pin waveguide detector of L. Vivien et al.,
  Opt. Express 20, 1096 (2012), 40 Gbit/s operation, is of this size class).
* intrinsic (depletion) width 0.5 µm (lateral pin junctions, ~0.3–1 µm) and carrier
  saturation velocity in Ge ≈ 6×10⁴ m/s (order of magnitude of both electrons and holes
  at 300 K, Sze & Ng, ibid., drift velocity vs field; the slower carrier limits).
* load / transimpedance 1 kΩ: the effective resistance seen by the diode in a
  photodiode-driven modulator neuron or a TIA front end (a 50 Ω measurement load gives
  4.7× more thermal-noise current density; set ``load_resistance=50``).
* responsivity default 0.9 A/W (real devices 0.8–1.0 A/W at 1550 nm, Michel 2010), checked
  ≤ qλ/(hc) = 1.25 A/W at 1550 nm.

Gaussian vs Poisson.  :func:`detect` draws Gaussian noise by default.  The shot noise is
Poissonian: within the integration time T = 1/(2B) a current I carries N = I T / q
electrons; the Gaussian approximation holds for N ≳ 20–30 (e.g. I = 1 µA, B = 10 GHz:
N ≈ 310) and fails at low light, where ``method="poisson"`` draws electron counts
(e.g. I = 10 nA at 10 GHz: N ≈ 3; thermal noise usually dominates there anyway).

Not modelled: avalanche gain and excess noise (pin diode, M = 1), 1/f noise, TIA
voltage-noise and its capacitance (the "f²" noise), temperature dependence of I_dark
(give ``dark_current`` at the operating temperature), bias dependence of R and C.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import model_validator

from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity

#: Elementary charge [C], Boltzmann constant [J/K], Planck constant [J s], c [m/s] (SI 2019, exact).
Q_E = 1.602176634e-19
K_B = 1.380649e-23
H_PLANCK = 6.62607015e-34
C_LIGHT = 299792458.0
#: Valid use of the Gaussian shot-noise approximation: electrons per integration time.
GAUSSIAN_MIN_ELECTRONS = 20.0


def quantum_limit(wavelength_um: Any) -> np.ndarray:
    """Responsivity of a detector with unit quantum efficiency, qλ/(hc) [A/W]."""
    return Q_E * np.asarray(wavelength_um, dtype=float) * 1e-6 / (H_PLANCK * C_LIGHT)


class PhotodetectorElectricalSpec(Spec):
    """Electrical parameters of a Ge-on-Si pin photodetector and its load (module doc: sources)."""

    responsivity: float = quantity(0.9, "A/W", "responsivity at the operating wavelength (from the optical model)",
                                   gt=0)
    wavelength: float = quantity(1.55, "um", "operating wavelength (for the quantum-limit check)", gt=0.8, lt=2.0)
    dark_current: float = quantity(10e-9, "A", "dark current at the operating bias and temperature", ge=0, le=1e-3)
    bias: float = quantity(-1.0, "V", "reverse bias at which dark_current and capacitance are given", le=0, ge=-20)
    capacitance: float = quantity(15e-15, "F", "junction (+ pad) capacitance", gt=0, le=1e-11)
    load_resistance: float = quantity(1000.0, "ohm", "load or transimpedance resistance R_L (Johnson noise)",
                                      gt=0, le=1e9)
    series_resistance: float = quantity(0.0, "ohm", "diode series resistance (adds to R_L in the RC limit)",
                                        ge=0, le=1e6)
    depletion_width: float = quantity(0.5, "um", "intrinsic (depletion) region width for the transit time",
                                      gt=0, le=10.0)
    saturation_velocity: float = quantity(6e4, "m/s", "carrier saturation velocity (slowest carrier)",
                                          gt=0, le=1e6)
    temperature: float = quantity(300.0, "K", "temperature of the load resistor (Johnson noise)", gt=0, le=500)

    @model_validator(mode="after")
    def _physical(self) -> "PhotodetectorElectricalSpec":
        limit = float(quantum_limit(self.wavelength))
        if self.responsivity > limit * (1 + 1e-9):
            raise ValueError(
                f"responsivity = {self.responsivity} A/W exceeds the quantum limit q*lambda/(h*c) = {limit:.4f} A/W "
                f"at wavelength = {self.wavelength} um (a pin diode has no gain). "
                f"Fix: set responsivity <= {limit:.4f} (real Ge-on-Si: 0.8-1.0 A/W).")
        return self

    # -- derived parameters ----------------------------------------------------------
    @property
    def quantum_efficiency(self) -> float:
        """External quantum efficiency R / (qλ/hc)."""
        return self.responsivity / float(quantum_limit(self.wavelength))

    @property
    def rc_bandwidth(self) -> float:
        """RC-limited 3-dB bandwidth 1/(2π (R_L + R_s) C) [Hz]."""
        return 1.0 / (2 * np.pi * (self.load_resistance + self.series_resistance) * self.capacitance)

    @property
    def transit_bandwidth(self) -> float:
        """Transit-time-limited 3-dB bandwidth 0.45 v_sat / d [Hz] (Sze & Ng)."""
        return 0.45 * self.saturation_velocity / (self.depletion_width * 1e-6)

    @property
    def bandwidth_3db(self) -> float:
        """Combined 3-dB bandwidth, 1/f² = 1/f_RC² + 1/f_tr² [Hz]."""
        return float((self.rc_bandwidth ** -2 + self.transit_bandwidth ** -2) ** -0.5)

    def summary(self) -> dict[str, float]:
        """Derived figures (SI units) for reports and the chip's noise budget."""
        return {"responsivity_a_per_w": self.responsivity, "quantum_efficiency": self.quantum_efficiency,
                "dark_current_a": self.dark_current, "rc_bandwidth_hz": self.rc_bandwidth,
                "transit_bandwidth_hz": self.transit_bandwidth, "bandwidth_3db_hz": self.bandwidth_3db,
                "nep_w_per_sqrt_hz": nep(spec=self)}


def _spec(spec: PhotodetectorElectricalSpec | None) -> PhotodetectorElectricalSpec:
    return spec if spec is not None else PhotodetectorElectricalSpec()


def _bandwidth(bandwidth: Any, spec: PhotodetectorElectricalSpec) -> np.ndarray:
    b = np.asarray(spec.bandwidth_3db if bandwidth is None else bandwidth, dtype=float)
    if np.any(~np.isfinite(b)) or np.any(b <= 0):
        raise SpecError(f"bandwidth = {bandwidth!r} Hz: need finite values > 0. Fix: pass the noise bandwidth "
                        f"in Hz (default: the detector's 3-dB bandwidth {spec.bandwidth_3db:.3g} Hz).")
    return b


def _power(power_w: Any) -> np.ndarray:
    p = np.asarray(power_w, dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise SpecError(f"power_w = {power_w!r}: optical power must be finite and >= 0 W. "
                        "Fix: pass |field|² in W (not dBm, not a field amplitude).")
    return p


def photocurrent(power_w: Any, *, spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """Mean signal current R·P [A] (without the dark current)."""
    return _spec(spec).responsivity * _power(power_w)


def shot_noise_variance(power_w: Any, *, bandwidth: Any = None,
                        spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """σ²_shot = 2q (R·P + I_dark) B [A²]."""
    s = _spec(spec)
    return 2 * Q_E * (photocurrent(power_w, spec=s) + s.dark_current) * _bandwidth(bandwidth, s)


def thermal_noise_variance(*, bandwidth: Any = None, spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """σ²_th = 4 k_B T B / R_L [A²]."""
    s = _spec(spec)
    return 4 * K_B * s.temperature * _bandwidth(bandwidth, s) / s.load_resistance


def noise_variance(power_w: Any, *, bandwidth: Any = None,
                   spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """Total current-noise variance σ²_shot + σ²_th [A²]."""
    s = _spec(spec)
    return shot_noise_variance(power_w, bandwidth=bandwidth, spec=s) + thermal_noise_variance(bandwidth=bandwidth,
                                                                                              spec=s)


def snr(power_w: Any, *, bandwidth: Any = None, spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """Electrical signal-to-noise ratio I_ph² / σ² (linear; 10·log10 for dB)."""
    s = _spec(spec)
    return photocurrent(power_w, spec=s) ** 2 / noise_variance(power_w, bandwidth=bandwidth, spec=s)


class NoiseTerms:
    """The terms of :func:`shot_noise_variance` and :func:`thermal_noise_variance` for one
    ``spec`` and ``bandwidth``, validated once here, for callers that evaluate them millions
    of times (a die's readings): :meth:`shot_variance` is :func:`shot_noise_variance`
    without the per-call checks (the caller guarantees finite powers >= 0), bit for bit;
    ``thermal`` is :func:`thermal_noise_variance`."""

    def __init__(self, *, bandwidth: Any = None, spec: PhotodetectorElectricalSpec | None = None) -> None:
        s = _spec(spec)
        self.spec = s
        self.bandwidth = _bandwidth(bandwidth, s)
        self.responsivity, self.dark_current = s.responsivity, s.dark_current
        self.two_q = 2 * Q_E
        self.thermal = thermal_noise_variance(bandwidth=bandwidth, spec=s)

    def shot_variance(self, power_w: np.ndarray) -> np.ndarray:
        """σ²_shot = 2q (R·P + I_dark) B [A²] for powers ``power_w`` [W] (float arrays, not checked)."""
        return self.two_q * (self.responsivity * power_w + self.dark_current) * self.bandwidth


def nep(*, spec: PhotodetectorElectricalSpec | None = None) -> float:
    """Noise-equivalent power sqrt(2q I_dark + 4 k_B T/R_L) / R [W/√Hz] (dark-noise limit)."""
    s = _spec(spec)
    return float(np.sqrt(2 * Q_E * s.dark_current + 4 * K_B * s.temperature / s.load_resistance) / s.responsivity)


def min_detectable_power(*, bandwidth: Any = None, spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """Optical power [W] with SNR = 1 in ``bandwidth``, signal shot noise included:
    R²P² = 2qB(RP + I_d) + 4k_BTB/R_L solved for P."""
    s = _spec(spec)
    b = _bandwidth(bandwidth, s)
    r = s.responsivity
    c = 2 * Q_E * b * s.dark_current + 4 * K_B * s.temperature * b / s.load_resistance
    lin = 2 * Q_E * b * r
    return (lin + np.sqrt(lin ** 2 + 4 * r ** 2 * c)) / (2 * r ** 2)


def electrons_per_sample(current_a: Any, *, bandwidth: Any = None,
                         spec: PhotodetectorElectricalSpec | None = None) -> np.ndarray:
    """Mean electron count N = I T / q in the integration time T = 1/(2B)."""
    s = _spec(spec)
    return np.asarray(current_a, dtype=float) / (2 * _bandwidth(bandwidth, s) * Q_E)


def detect(power_w: Any, *, rng: np.random.Generator, bandwidth: Any = None,
           spec: PhotodetectorElectricalSpec | None = None, shot: bool = True, thermal: bool = True,
           dark: bool = True, method: Literal["gaussian", "poisson"] = "gaussian") -> np.ndarray:
    """Noisy detector currents [A], one independent sample per element of ``power_w`` [W].

    Mean R·P + I_dark (``dark=False``: no dark current, neither offset nor its shot
    noise); shot noise 2q I B, thermal noise 4k_BTB/R_L (each switchable).  ``method``:
    ``"gaussian"`` (default, valid for ≳ 20 electrons per sample T = 1/(2B)) or
    ``"poisson"`` (electron counts in T, exact shot statistics at low light).
    ``rng`` is required (reproducible noise: ``np.random.default_rng(seed)``)."""
    if not isinstance(rng, np.random.Generator):
        raise SpecError(f"rng = {rng!r}: need a numpy Generator. Fix: rng=np.random.default_rng(seed).")
    if method not in ("gaussian", "poisson"):
        raise SpecError(f"method = {method!r}: unknown. Fix: use 'gaussian' or 'poisson'.")
    s = _spec(spec)
    b = _bandwidth(bandwidth, s)
    mean = photocurrent(power_w, spec=s) + (s.dark_current if dark else 0.0)
    mean, b = np.broadcast_arrays(mean, b)
    if not shot:
        current = mean.astype(float).copy()
    elif method == "poisson":
        t = 1.0 / (2 * b)
        current = Q_E * rng.poisson(mean * t / Q_E) / t
    else:
        current = mean + rng.standard_normal(mean.shape) * np.sqrt(2 * Q_E * mean * b)
    if thermal:
        current = current + rng.standard_normal(mean.shape) * np.sqrt(4 * K_B * s.temperature * b / s.load_resistance)
    return current

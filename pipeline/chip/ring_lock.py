"""The die's ring neurons (:mod:`pipeline.chip.ring_neuron`: physics, operating point, the
locking procedure in its module doc): three rings per neuron (f, d₊, d₋), their fabricated
round-trip phases, heaters in one row per layer with the library's heater crosstalk, and
the lock that tunes every heater to its ring's operating point from counted readings."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from pipeline.chip import heater_drive
from pipeline.chip.ring_neuron import RingOperatingPoint, lorentzian

#: Coarse-scan step of the lock, in nominal half-widths (design choice: a dip of HWHM
#: half-width is sampled at least twice below half depth).
COARSE_STEP_HWHM = 1.0
#: DAC range of a ring heater, in FSRs of nominal tuning (room for the efficiency spread).
HEATER_RANGE_FSR = 1.25


class RingNeuronArray:
    """The rings of every neuron of a die (module doc).  ``theta_fab`` (n, 3) fabrication
    phase offsets [rad]; ``crosstalk`` (3n, 3n) heater response (rows: heated ring, by
    column: heater; diagonal 1); ``kelvin_per_watt`` (3n,) each heater's ring-averaged
    ΔT per W; ``dac_bits`` of the ring heaters (0: continuous); ``ambient`` ΔT [K]."""

    kind = "ring"

    def __init__(self, op: RingOperatingPoint, theta_fab: np.ndarray, crosstalk: np.ndarray,
                 kelvin_per_watt: np.ndarray, kelvin_per_watt_nominal: float, dac_bits: int, ambient: float) -> None:
        self.op, self.resp = op, op.resp
        self.theta_fab = np.asarray(theta_fab, float)
        self.n = len(self.theta_fab)
        self.crosstalk, self.k = np.asarray(crosstalk, float), np.asarray(kelvin_per_watt, float)
        self.k_nominal, self.ambient = float(kelvin_per_watt_nominal), float(ambient)
        self.pm_per_watt_nominal = self.k_nominal * self.resp.pm_per_K
        self.p_max = HEATER_RANGE_FSR * self.resp.fsr_pm / self.pm_per_watt_nominal
        self.dac_bits = int(dac_bits)
        self.derivative_scale = op.derivative_scale
        self.power = self.nominal_powers()
        self.lock_measurements = 0
        self.locked = False

    # -- state ------------------------------------------------------------------------------------
    def _dac(self, p: np.ndarray) -> np.ndarray:
        return heater_drive.dac(p, self.p_max, self.dac_bits)

    def temperatures(self, power: np.ndarray | None = None) -> np.ndarray:
        """Ring-averaged ΔT [K] (n, 3): crosstalk-coupled heaters + ambient."""
        p = self.power if power is None else power
        return (self.crosstalk @ (self.k * np.asarray(p, float).ravel())).reshape(self.n, 3) + self.ambient

    def theta(self, power: np.ndarray | None = None) -> np.ndarray:
        """Round-trip states at 0 V [rad] (n, 3)."""
        return self.resp.theta0 + self.theta_fab + self.resp.dtheta_dT * self.temperatures(power)

    def nominal_powers(self) -> np.ndarray:
        """Heater powers [W] (3n,) the design predicts: no fabrication offset, no crosstalk,
        nominal efficiency (what ``lock = False`` uses)."""
        need = np.mod(self.op.target_theta[None, :] - self.resp.theta0 - self.resp.dtheta_dT * self.ambient,
                      2 * math.pi) * np.ones((self.n, 1))
        return self._dac(need.ravel() / (self.resp.dtheta_dT * self.k_nominal))

    def residual_pm(self) -> np.ndarray:
        """Detuning error [pm] (n, 3) of every ring from its target (wrapped to ±FSR/2)."""
        d = np.angle(np.exp(1j * (self.op.target_theta[None, :] - self.theta())))
        return d / self.resp.dtheta_dpm

    def fabricated_offset_pm(self) -> np.ndarray:
        """Resonance shift by fabrication [pm] (n, 3) (unwrapped; blue-shift negative)."""
        return self.theta_fab / self.resp.dtheta_dpm

    # -- the neuron --------------------------------------------------------------------------------
    def stacked(self, z: np.ndarray, rows: slice) -> np.ndarray:
        """(..., neurons, 3) transmissions / T_ref of (f, d₊, d₋) for drive z (..., neurons)."""
        return self.op.rings(self.theta()[rows], z)

    def transmissions(self, z: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = self.stacked(z, rows)
        return m[..., 0], m[..., 1], m[..., 2]

    def activation(self, z: np.ndarray) -> np.ndarray:
        return self.op.activation(z)

    def activation_derivative(self, z: np.ndarray) -> np.ndarray:
        return self.op.activation_derivative(z)

    def activation_error(self, points: int = 201) -> dict[str, float]:
        """Max |f_die − f_nominal| and |on-chip − exact derivative| / max f' over the drive
        range, across neurons (the lock residual's cost)."""
        z = np.linspace(0, self.op.fs, points)
        t = self.op.rings(self.theta()[None, :, :], z[:, None])
        ex = self.op.activation_derivative(z[1:-1])
        d = self.derivative_scale * (t[1:-1, :, 1] - t[1:-1, :, 2])
        return {"activation": float(np.max(np.abs(t[..., 0] - self.op.activation(z)[:, None]))),
                "derivative": float(np.max(np.abs(d - ex[:, None])) / ex.max())}

    # -- locking -------------------------------------------------------------------------------------
    def lock(self, read: Callable[[np.ndarray, int, int], np.ndarray], samples: int, passes: int,
             fine_points: int) -> int:
        """Lock every ring (module doc of :mod:`pipeline.chip.ring_neuron`).  ``read(t, ring,
        n)``: mean of ``n`` noisy readings of ring ``ring``'s detector at true normalised
        transmissions ``t`` (settings,).  Returns the readings taken."""
        from scipy.optimize import curve_fit

        hw = self.op.hwhm_pm
        w_nom = hw / self.pm_per_watt_nominal
        coarse = self._dac(np.arange(0.0, self.p_max + 1e-15, COARSE_STEP_HWHM * w_nom))
        fsr_p = self.resp.fsr_pm / self.pm_per_watt_nominal
        det = np.tile(self.op.detunings, self.n)
        reads = 0
        z0 = np.zeros(1)

        def truth(k: int, settings: np.ndarray) -> np.ndarray:
            p = np.repeat(self.power[None, :], len(settings), 0)
            p[:, k] = settings
            th = self.theta_fab.ravel()[k] + self.resp.theta0 + self.resp.dtheta_dT * (
                (p * self.k[None, :]) @ self.crosstalk[k] + self.ambient)
            return self.resp.transmission(th, np.full(th.shape, self.op.voltage(z0)[0])) / self.op.t_ref

        tol = 0.01 * w_nom  # a pass that moves no heater by more than this ends the lock
        for it in range(passes):
            moved = 0.0
            for k in range(3 * self.n):
                now = self.power[k] + det[k] / self.pm_per_watt_nominal  # expected resonance power
                centre, rf, fine = None, None, None
                if it >= 2:  # fine scan at the last estimate; coarse again if the dip left it
                    fine = self._dac(now + np.linspace(-2, 2, fine_points) * w_nom)
                    rf = read(truth(k, fine), k, samples)
                    reads += fine.size * samples
                    i = int(np.argmin(rf))
                    centre = now if 0 < i < fine.size - 1 else None
                if centre is None:
                    r = read(truth(k, coarse), k, 1)
                    reads += coarse.size
                    lo, hi = float(np.min(r)), float(np.median(r))
                    is_min = (r <= np.roll(r, 1)) & (r <= np.roll(r, -1)) & (r < 0.5 * (lo + hi))
                    cand = coarse[is_min]
                    goal = cand - det[k] / self.pm_per_watt_nominal
                    ok = (goal > 2 * w_nom) & (goal < self.p_max - 2 * w_nom)
                    if not ok.any():  # wrap by one FSR
                        cand, goal = np.r_[cand + fsr_p, cand - fsr_p], np.r_[goal + fsr_p, goal - fsr_p]
                        ok = (goal > 0) & (goal < self.p_max)
                    if not ok.any():
                        continue
                    centre = cand[ok][np.argmin(np.abs(cand[ok] - now))] if self.locked else cand[ok][0]
                    fine = self._dac(centre + np.linspace(-2, 2, fine_points) * w_nom)
                    rf = read(truth(k, fine), k, samples)
                    reads += fine.size * samples
                try:
                    (c, a, p0, w), _ = curve_fit(lorentzian, fine, rf, p0=[float(rf.max()), float(rf.max() - rf.min()),
                                                                           float(fine[np.argmin(rf)]), w_nom])
                    if not (abs(p0 - centre) < 2 * w_nom and 0.5 * w_nom < abs(w) < 2 * w_nom):
                        raise RuntimeError("implausible fit")
                except (RuntimeError, ValueError):
                    p0, w = float(fine[np.argmin(rf)]), w_nom
                new = self._dac(np.array(p0 - det[k] * abs(w) / hw))[()]
                moved = max(moved, abs(new - self.power[k]))
                self.power[k] = new
            self.locked = True
            self.lock_passes_used = it + 1
            if moved < tol:
                break
        self.lock_measurements += reads
        return reads

    def summary(self) -> dict[str, float]:
        """Headline numbers (CLI ``chip show``): operating point, resonance spread, lock."""
        s, fab, res = self.op.spec, self.fabricated_offset_pm(), self.residual_pm()
        err = self.activation_error()
        return {"ring_detuning_pm": s.detuning, "ring_bias_V": s.bias_voltage, "ring_drive_swing_V": s.drive_swing,
                "ring_derivative_detuning_pm": s.derivative_detuning,
                "ring_resonance_spread_pm": float(np.std(fab)), "ring_resonance_range_pm": float(np.ptp(fab)),
                "ring_lock_residual_rms_pm": float(np.sqrt(np.mean(res ** 2))),
                "ring_lock_residual_max_pm": float(np.max(np.abs(res))),
                "ring_locking_power_mW": float(self.power.sum() * 1e3),
                "ring_locking_power_max_mW": float(self.power.max() * 1e3),
                "ring_lock_readings": float(self.lock_measurements),
                "ring_activation_error": err["activation"], "ring_derivative_error": err["derivative"]}


def build(library, spec, impairments, wavelength: float, full_scale: float, n_hidden: int, n_out: int,
          dw: np.ndarray, dt: np.ndarray, seed: int) -> RingNeuronArray:
    """The die's rings (module doc of :mod:`pipeline.chip.ring_neuron`).  ``spec``: the
    :class:`~pipeline.chip.ring_neuron.RingNeuronSpec`; ``dw``, ``dt`` (neurons,) [µm] the
    fabrication field at each neuron (its f ring); the d₊/d₋ rings, ``ring_pitch`` away, differ
    from it by the field's conditional spread σ√(1 − ρ²), ρ = exp(−pitch/ℓ) (the (1 − ρ) mean
    reversion, ≤ 2 % of σ at 20 µm / 1 mm, neglected); own streams [seed, 10], [seed, 11]."""
    from devices import phase_shifter as ps
    from devices import waveguide_model as wm
    from pipeline.chip.impairments import THICKNESS_RANGE_UM, WIDTH_RANGE_UM
    from pipeline.chip.ring_neuron import response

    resp = response(library, wavelength)
    op = RingOperatingPoint(spec, resp, full_scale)
    n = n_hidden + n_out
    imp = impairments
    ell = imp.correlation_length
    rho = math.exp(-spec.ring_pitch / ell) if ell > 0 else 0.0
    rng = np.random.default_rng([seed, 10])
    side = np.array([0.0, 1.0, 1.0]) * math.sqrt(max(1 - rho ** 2, 0.0))
    dw_r = np.asarray(dw, float)[:, None] + imp.width_sigma * side * rng.standard_normal((n, 3))
    dt_r = np.asarray(dt, float)[:, None] + imp.thickness_sigma * side * rng.standard_normal((n, 3))
    model = library.model("waveguide")
    w0 = resp.spec.ring_width - model.spec.width
    clip_w = np.clip(w0 + dw_r, -WIDTH_RANGE_UM, WIDTH_RANGE_UM)
    clip_t = np.clip(dt_r, -THICKNESS_RANGE_UM, THICKNESS_RANGE_UM)
    dn = (wm.neff(wavelength=wavelength, dw=clip_w, dt=clip_t, model=model)
          - wm.neff(wavelength=wavelength, dw=w0, dt=0.0, model=model))
    theta_fab = 2 * math.pi * resp.length * dn / wavelength
    rows = [np.arange(3 * n_hidden), np.arange(3 * n_hidden, 3 * n)]
    xt = heater_drive.block_crosstalk(library, rows, 3 * n, spec.ring_pitch, imp.thermal_crosstalk_scale)
    dphase_dpower = float(ps.phase(wavelength=wavelength, power_w=1.0, model=library.model("phase_shifter")))
    k_nom = dphase_dpower * wavelength / (2 * math.pi * resp.dneff_dT * resp.length)  # K/W, ring-averaged
    k = k_nom * (1 + imp.heater_efficiency_sigma * np.random.default_rng([seed, 11]).standard_normal(3 * n))
    return RingNeuronArray(op, theta_fab, xt, k, k_nom, spec.dac_bits if imp.dac_bits else 0,
                           imp.temperature_offset)

"""The microring neuron: the simulated ring modulator's through-port transmission vs drive
voltage on fresh supply light, its on-chip derivative from two detuned rings, and the
resonance locking that puts every ring at its operating point.

Physics (all from the :class:`~pipeline.library.Library` the die is handed).  The all-pass
ring of the library's default ``ring_modulator`` entry (R 7.5 µm, FDTD coupler, PN section
over ``pn_fraction`` 0.7 of the circumference) is evaluated at the laser wavelength λ_L
exactly as :func:`devices.ring_modulator.compose` composes it: the FDTD coupler de-embedded
and interpolated at λ_L (:func:`~devices.ring_modulator.embedded_coupler`), closed by the
ring (:func:`pipeline.circuit.ring.close_loop`, written out for one 2×2 loop), with the
loop gain q = −a²(V) e^{iθ},

    θ = 2π L/λ_L · [n_eff(λ_L) + dn_eff/dT · ΔT + f_pn Δn_eff(V)] + θ_fab,   L = 2πR,
    a²(V) = 10^(−[α₀ + f_pn Δα(V)] π R / 10)          (α in dB/µm),

Δn_eff(V), Δα(V) from the PN shifter's compact model (:func:`devices.pn_phase_shifter.model`,
continuous in V: PCHIP through the simulated biases), n_eff, dn_eff/dT from the waveguide
model.  It reproduces the entry's stored S to rounding (tests).  No fit of the
transmission: the voltage enters only through the physical round trip.

Operating point (:class:`RingNeuronSpec`).  The driver maps the normalised drive
v = clip(z / fs, 0, 1) to the junction voltage V = ``bias_voltage`` − v · ``drive_swing``
(reverse bias grows with the drive: depletion raises n_eff, the resonance red-shifts,
−12.7 pm/V at 0 → −2 V).  The f ring's resonance is locked ``detuning`` = λ_L − λ_res
away from the laser at the bias.  With the laser on the resonance (``detuning`` 0) the
transmission starts at the dip and rises as the resonance walks away: over a small swing
(bias −1 V, swing 1 V, :data:`RELU`) it is convex — a soft ReLU, slope increasing to the
rail; over the full 0 → −2 V (the default, :data:`SIGMOID`) the ~25 pm shift passes the
Lorentzian's inflection (x = HWHM/√3) and the slope falls again — sigmoid-like
(Ashtiani & Idjadi, arXiv 2307.10179, show both from one micro-disk by its operating point).
The supply light is set so that the f ring transmits P0 at full drive (P_s = P0 / T(fs)):
f(fs) = 1 in the die's normalised units, f(0) = the dip's leak (0.03 at the default point).

Derivative (on chip).  Two more rings on the same drive, locked at detunings Δ − δ (d₊)
and Δ + δ (d₋), δ = ``derivative_detuning``: d₊ − d₋ ≈ −2δ ∂T/∂x (x = λ_L − λ_res), and
dx/dz = −(dλ_res/dV) V_swing / fs.  The readout converts with the chord slope
Δλ_swing / V_swing (resonance shift over the swing, from the PN model):
df/dz ≈ Δλ_swing / (2 δ fs) · (d₊ − d₋).  Its error against the exact derivative is the
junction's pm/V non-linearity (17.4 pm/V at 0 V, 9.6 at −2 V: +37 / −24 % about the chord
over the full swing, smallest where the dip is flat), the finite difference (δ²/6 · T'''/T')
and the loss modulation da²/dV the detuning pair does not see: max error 0.18 of max f' at
the default point (bound 0.24), 0.06 at :data:`RELU` (bound 0.20) (tests/test_ring_neuron.py:
the bound from those terms, independent closed forms).  The gain calibration's derivative
gain (at mid drive) rescales it; the per-sample shape error stays.  ``derivative =
"voltage"`` instead locks the pair at the f ring's detuning and drives it at V ∓ δV (two
offset outputs of the driver, switched off while locking): a finite difference in V itself,
df/dz ≈ V_swing / (2 δV fs) · (d₊ − d₋), exact but for δV²/6 · f‴/f′ (0.009 of max f' at
bias −0.1 V, swing 1.8 V, δV 0.1 V); it needs δV of room inside the simulated voltages.

Resonance locking (:meth:`RingNeuronArray.lock`).  Every ring's fabricated resonance is
off by the die's width/thickness field at its position, through the waveguide model's
n_eff(δw, δt) (Δθ = 2π L Δn_eff / λ), and by its neighbours' heaters: each layer's rings
sit in one row at ``ring_pitch`` with the library's simulated heater-row crosstalk
(:func:`pipeline.library.figures.heater_crosstalk`; the straight heater's lateral
profile, used for the ring heaters).  The ring heater's efficiency comes from the library
phase shifter: ΔT_ring / P = dφ/dP · λ / (2π dn_eff/dT · 2πR) (the heater's power per
length heats its share of the ring; only the ring-averaged ΔT shifts the resonance):
3.5 K/mW, 0.26 nm/mW, 47 mW per FSR, × (1 + ``heater_efficiency_sigma`` spread).  Die 0
(realistic): resonances 971 pm (1σ) apart by fabrication, 434 mW to lock its 27 rings.  The lab's procedure, with the drive at zero:
per ring, a coarse heater scan over the DAC range (step HWHM in nominal power units, one
reading per point) finds the dips; a fine scan of ``lock_fine_points`` points over ±2 HWHM
(``calibration_samples`` readings each) is fitted with a Lorentzian dip → the power P₀ of
resonance on the laser and the half-width w in power units, whose ratio to the library's
HWHM [pm] is the heater's measured tuning efficiency; the heater is set to P₀ − Δ_k / η̂.
Neighbours' crosstalk moves locked rings (a ring heated by ~100 K warms its 20 µm neighbour
by ~3 K = 220 pm), so passes repeat (Gauss–Seidel, up to ``lock_passes``; the coarse scan
again in pass 2, then the fine scan alone unless its dip left the window) until no heater
moves by more than 0.01 HWHM.  Readings (noisy, through the die's readout noise, RIN and
ADC) are counted.  What remains — the ring DAC's step (``dac_bits`` 16 over 1.25 FSR:
0.23 pm), the stop tolerance, noise and the Lorentzian approximation — is the residual
detuning (die 0: 0.07 pm rms, 0.12 pm worst, 164 376 readings, 5 passes), reported with the
activation error it causes (6e-3).

Not modelled: the coupler's and bend's fabrication spread (only the round-trip phase moves),
self-heating by the supply light, the junction's forward-bias region (outside the simulated
range), the thermo-optic coefficient's rise over the lock's ΔT (≤ ~1.25 FSR / 74 pm/K ≈ 200 K:
the lock is closed-loop, so it changes the heater power needed, not where the ring ends).
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import numpy as np
from pydantic import model_validator

from pipeline.errors import CacheError, SpecError
from pipeline.specs import Spec, quantity

#: The simulated junction voltages of the default ring_modulator entry [V] (its spec's
#: ``voltages``; checked again against the entry the die is handed).
SIMULATED_VOLTAGES = (-2.0, 0.0)


class RingNeuronSpec(Spec):
    """Operating point and locking of the ring neuron (module doc)."""

    detuning: float = quantity(0.0, "pm", "laser minus f-ring resonance at the bias voltage (0: on resonance)",
                               ge=-100.0, le=100.0)
    bias_voltage: float = quantity(0.0, "V", "junction voltage at zero drive (negative = reverse bias)",
                                   ge=-2.0, le=0.0)
    drive_swing: float = quantity(2.0, "V", "reverse-bias swing at full-scale drive", gt=0.0, le=2.0)
    derivative: Literal["detuning", "voltage"] = quantity(
        "detuning", "1", "derivative pair: detuning (rings locked at detuning ∓ derivative_detuning, same drive) "
        "or voltage (rings at the f ring's detuning, driven at V ∓ derivative_voltage)")
    derivative_detuning: float = quantity(5.0, "pm", "detuning of the derivative rings from the f ring (±)",
                                          gt=0.0, le=50.0)
    derivative_voltage: float = quantity(0.1, "V", "drive offset of the derivative rings (derivative = voltage)",
                                         gt=0.0, le=0.5)
    ring_pitch: float = quantity(20.0, "um", "pitch of a layer's rings in their row (design choice: three 15.5 µm "
                                 "rings per neuron in the 60 µm a hidden neuron's weight rows span)", gt=16.0, le=500.0)
    lock: bool = quantity(True, "1", "lock every ring to its operating point by its heater at sampling "
                          "(False: nominal heater powers, fabrication offsets uncorrected)")
    lock_passes: int = quantity(8, "1", "most lock passes over all rings (crosstalk Gauss-Seidel; ends when a "
                                "pass moves no heater by more than 0.01 HWHM)", ge=1, le=20)
    lock_fine_points: int = quantity(15, "1", "heater settings of each fine scan", ge=7, le=101)
    dac_bits: int = quantity(16, "bit", "ring heater DAC over its 1.25 FSR range (design choice: 12 bits would "
                             "step 3.7 pm, 0.16 HWHM and 0.7 of the derivative detuning; 16 bits 0.23 pm); "
                             "continuous when the die's dac_bits is 0", ge=1, le=32)

    @model_validator(mode="after")
    def _in_simulated_range(self) -> "RingNeuronSpec":
        lo, hi = SIMULATED_VOLTAGES
        v_end = self.bias_voltage - self.drive_swing
        if v_end < lo - 1e-12:
            raise ValueError(f"bias_voltage - drive_swing = {self.bias_voltage} - {self.drive_swing} = {v_end:g} V is "
                            f"outside the simulated {lo:g}..{hi:g} V of the ring/PN entries. Fix: drive_swing <= "
                            f"{self.bias_voltage - lo:g} V or a bias_voltage closer to 0.")
        if self.derivative == "voltage":
            dv = self.derivative_voltage
            if self.bias_voltage + dv > hi + 1e-12 or v_end - dv < lo - 1e-12:
                raise ValueError(f"derivative_voltage = {dv} V: the derivative rings reach "
                                 f"{v_end - dv:g}..{self.bias_voltage + dv:g} V, outside the simulated {lo:g}..{hi:g} V. "
                                 f"Fix: bias_voltage <= {hi - dv:g} V and bias_voltage - drive_swing >= {lo + dv:g} V "
                                 "(e.g. bias_voltage = -0.1, drive_swing = 1.8), or derivative = 'detuning'.")
        return self


#: Preset operating points (module doc): ReLU-like and sigmoid-like (the default).
RELU = RingNeuronSpec(detuning=0.0, bias_voltage=-1.0, drive_swing=1.0)
SIGMOID = RingNeuronSpec()


def _entry(library, family: str, key: str | None = None, spec=None):
    for e in library.entries(family):
        if (key is None or e.key == key) and (spec is None or e.device_spec == spec):
            return e
    want = f"key {key}" if key else "the default spec"
    raise CacheError(f"no {family} entry ({want}) in {library!r}. Fix: `photoprop device simulate {family}`.")


class RingResponse:
    """The library's ring at one laser wavelength (module doc): its through-port power
    transmission vs round-trip state θ [rad] and junction voltage V [V]."""

    def __init__(self, library, wavelength: float) -> None:
        from devices import pn_phase_shifter as pn
        from devices import ring_modulator as rm

        entry = _entry(library, "ring_modulator", spec=rm.RingModulatorSpec())
        spec = self.spec = entry.device_spec
        coupler = _entry(library, "ring_coupler", key=entry.provenance["couplers"]["through"])
        pn_entry = _entry(library, "pn_phase_shifter", key=entry.provenance["section"])
        self._pn = pn.model(pn_entry)
        wg = library.model("waveguide")
        lam = self.wavelength = float(wavelength)
        self.voltage_range = (float(min(spec.voltages)), float(max(spec.voltages)))
        self.radius, self.length, self.pn_fraction = spec.radius, 2 * math.pi * spec.radius, spec.pn_fraction
        self.alpha0 = wg.spec.propagation_loss * 1e-4  # dB/µm
        dw = spec.ring_width - wg.spec.width
        self.neff = float(wg.evaluate("neff", wavelength=lam, dw=dw))
        self.ng = float(wg.evaluate("ng", wavelength=lam, dw=dw))
        self.dneff_dT = float(wg.evaluate("dneff_dT", wavelength=lam, dw=dw))
        self.theta0 = 2 * math.pi * self.length * self.neff / lam
        self.dtheta_dT = 2 * math.pi * self.length * self.dneff_dT / lam  # rad/K
        self.dtheta_dpm = 2 * math.pi * self.ng * self.length / lam ** 2 * 1e-6  # rad per pm of resonance shift
        self.pm_per_K = self.dtheta_dT / self.dtheta_dpm
        self.fsr_pm = 2 * math.pi / self.dtheta_dpm
        f = rm.embedded_coupler(coupler, np.array([lam]), np.zeros(1), np.ones(1), np.zeros(1))[0]
        e, i = [0, 3], [1, 2]
        fee, fei, fie, ff = f[e][:, e], f[e][:, i], f[i][:, e], f[i][:, i]
        self._s0, self._h, self._g = fee[1, 0], fei[1, :], np.array([fie[1, 0], fie[0, 0]])
        self._A = np.array([[ff[1, 0], ff[1, 1]], [ff[0, 0], ff[0, 1]]])  # J · F (the loop swaps the ring ports)
        self.key = entry.key
        self._build_section(pn_entry)

    def _build_section(self, pn_entry) -> None:
        """Piecewise cubics in V of θ_V and a² at λ_L from the PN entry (module doc), checked
        against the PN model at the simulated biases and between them."""
        lo, hi = self.voltage_range
        v = np.linspace(lo, hi, 801)
        dn, alpha_m = self._pn(v, self.wavelength)
        th = 2 * math.pi * self.length / self.wavelength * self.pn_fraction * dn
        alpha = self.alpha0 + self.pn_fraction * 10 * math.log10(math.e) * alpha_m * 1e-6  # dB/µm
        amp2 = 10 ** (-alpha * math.pi * self.radius / 10)
        from scipy.interpolate import CubicSpline  # through 801 exact samples: within 1e-6 rad (checked)

        self._theta_pp, self._amp2_pp = CubicSpline(v, th), CubicSpline(v, amp2)
        vv = np.linspace(lo, hi, 1237)
        dn2, al2 = self._pn(vv, self.wavelength)
        err = np.max(np.abs(self._theta_pp(vv) - 2 * math.pi * self.length / self.wavelength * self.pn_fraction * dn2))
        if err > 1e-6:
            raise CacheError(f"PN section phase not resolved by 801 samples (error {err:.2e} rad). Fix: report a bug.")

    # -- the physics ----------------------------------------------------------------------------
    def check_voltage(self, v: np.ndarray, field: str = "voltage") -> None:
        lo, hi = self.voltage_range
        v = np.asarray(v, float)
        if np.any(v < lo - 1e-9) or np.any(v > hi + 1e-9):
            raise SpecError(f"{field} reaches {float(np.min(v)):g}..{float(np.max(v)):g} V, outside the simulated "
                            f"{lo:g}..{hi:g} V of ring_modulator entry {self.key[:12]}. Fix: keep bias_voltage - "
                            "drive_swing and bias_voltage inside that range.")

    def _section(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(round-trip phase θ_V [rad] of the PN section vs 0 V, loop power a²) at V [V]: the PN
        model at λ_L as one piecewise cubic in V (its PCHIP coefficient curves combined with the
        powers of λ_L: the same function)."""
        v = np.asarray(v, float)
        return self._theta_pp(v), self._amp2_pp(v)

    def theta_v(self, v: np.ndarray) -> np.ndarray:
        """Round-trip phase of the PN section vs 0 V [rad]."""
        return self._section(v)[0]

    def loop(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Loop gain q = −a²(V) e^{i(θ + θ_V(V))} (θ: the ring's state at 0 V; V broadcast
        against θ's leading axes, or the same shape)."""
        th_v, amp2 = self._section(v)
        return -amp2 * np.exp(1j * (theta + th_v))

    def through(self, q: np.ndarray) -> np.ndarray:
        """|S[o2, o1]|² of the all-pass ring for loop gain ``q`` (close_loop written out)."""
        A, h, g = self._A, self._h, self._g
        det = (1 - q * A[0, 0]) * (1 - q * A[1, 1]) - q * q * A[0, 1] * A[1, 0]
        s = self._s0 + q * (h[0] * ((1 - q * A[1, 1]) * g[0] + q * A[0, 1] * g[1])
                            + h[1] * (q * A[1, 0] * g[0] + (1 - q * A[0, 0]) * g[1])) / det
        return s.real ** 2 + s.imag ** 2

    def transmission(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.through(self.loop(theta, v))

    def resonance_theta(self, v: float) -> float:
        """Ring state θ [rad, in (θ₀ − 2π, θ₀]] that puts the resonance on the laser at V."""
        from scipy.optimize import minimize_scalar

        grid = self.theta0 - 2 * math.pi + np.linspace(0, 2 * math.pi, 4097)
        t = self.transmission(grid, np.full(grid.shape, float(v)))
        k = int(np.argmin(t))
        res = minimize_scalar(lambda th: float(self.transmission(np.array(th), np.array(float(v)))),
                              bracket=(grid[max(k - 1, 0)], grid[k], grid[min(k + 1, grid.size - 1)]),
                              tol=1e-12)
        return float(res.x)

    def half_width_pm(self, v: float) -> float:
        """HWHM of the dip [pm] at V (from the transmission vs θ: off-resonance level and dip)."""
        th_r = self.resonance_theta(v)
        x = np.linspace(-0.2, 0.2, 40001)
        t = self.transmission(th_r + x, np.full(x.shape, float(v)))
        tmax = float(self.transmission(np.array(th_r + math.pi), np.array(float(v))))
        half = 0.5 * (tmax + t.min())
        inside = x[t < half]
        return float((inside.max() - inside.min()) / 2 / self.dtheta_dpm)


def response(library, wavelength: float) -> RingResponse:
    """:class:`RingResponse` of ``library`` at ``wavelength`` [µm], memoised on the library."""
    return library.memo(("ring_neuron_response", round(float(wavelength), 12)),
                        lambda: RingResponse(library, wavelength))


class RingOperatingPoint:
    """The nominal ring neuron at one operating point (module doc): the activation the
    controller expects, its exact derivative, the three rings' target states and the
    pair's conversion to df/dz."""

    def __init__(self, spec: RingNeuronSpec, resp: RingResponse, full_scale: float) -> None:
        self.spec, self.resp, self.fs = spec, resp, float(full_scale)
        vb, sw = spec.bias_voltage, spec.drive_swing
        resp.check_voltage(np.array([vb, vb - sw]), "bias_voltage/drive_swing")
        th_res = resp.resonance_theta(vb)
        if spec.derivative == "voltage":  # d₊ / d₋ at the f ring's detuning, driven δV further / less
            dv = spec.derivative_voltage
            self.detunings, self.v_offsets = np.full(3, spec.detuning), np.array([0.0, -dv, dv])
            resp.check_voltage(np.array([vb + dv, vb - sw - dv]), "derivative_voltage")
        else:
            self.detunings = np.array([spec.detuning, spec.detuning - spec.derivative_detuning,
                                       spec.detuning + spec.derivative_detuning])  # f, d₊, d₋ [pm]
            self.v_offsets = np.zeros(3)
        # ring state at 0 V for which the resonance sits detuning away from the laser at the bias
        self.target_theta = th_res - resp.dtheta_dpm * self.detunings
        self.t_ref = float(resp.transmission(np.array(self.target_theta[0]), np.array(vb - sw)))
        self.swing_pm = float((resp.theta_v(np.array(vb - sw)) - resp.theta_v(np.array(vb))) / resp.dtheta_dpm)
        self.derivative_scale = (sw / (2 * spec.derivative_voltage * self.fs) if spec.derivative == "voltage"
                                 else abs(self.swing_pm) / (2 * spec.derivative_detuning * self.fs))
        self.hwhm_pm = resp.half_width_pm(vb)

    def voltage(self, z: np.ndarray) -> np.ndarray:
        """Junction voltage [V] of drive ``z`` (normalised; the driver rails at 0 and fs)."""
        s = self.spec
        return s.bias_voltage - s.drive_swing * np.clip(np.asarray(z, float) / self.fs, 0.0, 1.0)

    def rings(self, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(..., 3) transmissions / T_ref of rings in states ``theta`` (..., 3) at drive z (...)."""
        v = self.voltage(z)[..., None]
        if self.spec.derivative == "voltage":
            v = v + self.v_offsets
        return self.resp.transmission(theta, v) / self.t_ref

    def activation(self, z: np.ndarray) -> np.ndarray:
        """Nominal f(z) (normalised: 1 at full drive)."""
        v = self.voltage(z)
        return self.resp.transmission(np.full(v.shape, self.target_theta[0]), v) / self.t_ref

    def activation_derivative(self, z: np.ndarray, h: float = 1e-5) -> np.ndarray:
        """Exact df/dz of :meth:`activation` (central difference of the simulated activation,
        step ``h`` · fs, one-sided at the rails; 0 outside them where the driver rails)."""
        z = np.asarray(z, float)
        lo, hi = np.clip(z - h * self.fs, 0, self.fs), np.clip(z + h * self.fs, 0, self.fs)
        d = (self.activation(hi) - self.activation(lo)) / np.maximum(hi - lo, 1e-300)
        return np.where((z > 0) & (z < self.fs), d, 0.0)

    def pair_derivative(self, z: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """On-chip df/dz: derivative_scale · (d₊ − d₋) of rings in ``theta`` (default: on target)."""
        t = self.rings(self.target_theta if theta is None else theta, z)
        return self.derivative_scale * (t[..., 1] - t[..., 2])


def shape_table(spec: RingNeuronSpec, resp: RingResponse, full_scale: float = 1.0, points: int = 11) -> dict:
    """The activation and its slopes at ``points`` drives (a figure's data): z, f, f'/max f',
    on-chip derivative, and the shape class — ``relu-like`` (slope increasing to the rail,
    f'(0) ≤ 0.15 max), ``sigmoid-like`` (interior slope maximum, end slope ≤ 0.8 max) or
    ``saturating``."""
    op = RingOperatingPoint(spec, resp, full_scale)
    z = np.linspace(0, full_scale, points)
    zf = np.linspace(0, full_scale, 2001)[1:-1]
    d = op.activation_derivative(zf)
    k = int(np.argmax(d))
    start, end = d[0] / d.max(), d[-1] / d.max()
    if start <= 0.15 and k >= len(d) - 3:
        kind = "relu-like"
    elif start <= 0.3 and end <= 0.8 and 0.05 * len(d) < k < 0.95 * len(d):
        kind = "sigmoid-like"
    else:
        kind = "saturating"
    return {"z": z, "f": op.activation(z), "slope": np.interp(z, zf, d) / d.max(),
            "onchip": op.pair_derivative(z), "exact": np.interp(z, zf, d), "shape": kind,
            "peak_slope_at": float(zf[k]), "start_slope": float(start), "end_slope": float(end),
            "leak": float(op.activation(np.array(0.0))), "t_ref": op.t_ref, "swing_pm": op.swing_pm}


def format_shape_table(tables: dict[str, dict]) -> str:
    """Text table of :func:`shape_table` results by name."""
    lines = []
    for name, t in tables.items():
        lines.append(f"{name}: {t['shape']} (leak f(0) = {t['leak']:.3f}, slope start/end = {t['start_slope']:.2f}/"
                     f"{t['end_slope']:.2f} of max at z = {t['peak_slope_at']:.2f}, resonance shift "
                     f"{t['swing_pm']:.1f} pm)")
        lines.append("  z      " + " ".join(f"{v:6.2f}" for v in t["z"]))
        lines.append("  f      " + " ".join(f"{v:6.3f}" for v in t["f"]))
        lines.append("  f'/max " + " ".join(f"{v:6.3f}" for v in t["slope"]))
    return "\n".join(lines)


def lorentzian(p: np.ndarray, c: float, a: float, p0: float, w: float) -> np.ndarray:
    """Lorentzian dip c − a / (1 + ((p − p0)/w)²) (the lock's fit model)."""
    return c - a / (1 + ((p - p0) / w) ** 2)

"""The opto-electronic neuron: balanced photodiodes → driver → Mach-Zehnder modulator on
a fresh supply light, with its derivative produced on chip.

Signal chain (Ashtiani & Idjadi, arXiv 2307.10179; Ashtiani, Idjadi & Kim, Nature 651,
927 (2026)): the weight bank's balanced photodiode pairs sum their currents on one node,
I = R Σ P (T⁺ − T⁻).  A transimpedance amplifier + driver turns it into a modulator drive
V = g·I.  The driver is unipolar and rails at Vπ, so the modulator sees
v = clip(V/Vπ, 0, 1), and a Mach-Zehnder modulator (MZM) biased at null on a fresh supply
light P_s transmits

    f = P_s · T_bar(π v + β),   T_bar(θ) = a − b cos θ   (ideal couplers: a = b = 1/2 → sin²(π v/2)),

a soft, saturating ReLU.  In normalised units (``z`` = node current / (R P/N), the
weighted sum of the ideal model) the driver gain is calibrated so that z = ``full_scale``
reaches Vπ: v = z / full_scale.

Derivative on chip: two more modulators on the same drive, biased ±π/4 in u = θ/2
(θ ± π/2).  Their balanced difference is

    T_bar(θ + π/2 + β₊) − T_bar(θ − π/2 + β₋) = b [sin(θ + β₊) + sin(θ + β₋)]   (→ 2b sin θ),

and (π / (2·full_scale)) × that difference equals df/dz = π b sin θ / full_scale for zero
bias errors — exactly, including the clipped regions (sin 0 = sin π = 0).  The three
modulators of a neuron are matched adjacent devices: they share their couplers'
fabrication offsets (so a, b agree), but each has its own static bias error β
(``modulator_bias_sigma``), which biases the derivative as the formula above says.

Modulator numbers: depletion-mode Si MZM V_πL ≈ 2 V·cm (G. T. Reed et al., "Silicon
optical modulators", Nat. Photon. 4, 518 (2010): 1.5–2.5 V·cm for carrier-depletion
phase shifters at 1550 nm), 4 mm arms (design choice: V_π = 5 V within a CMOS driver's
swing) → V_π = 5 V; ``full_scale`` 1 (design choice: the drive reaches V_π where the ideal
model's weighted sum is 1, so the calibrated activation is exactly the ideal model's).  Extinction is not a knob: it follows
from the modulator's couplers (the library's coupler model at the die's fabrication
offsets): minimum T_bar = a − b = (t₁t₂ − κ₁κ₂)², infinite for 3-dB couplers.  The
driver gain follows from the calibration: g = V_π / (full_scale · R · P / N) [V/A]
(e.g. 0.9 A/W, 100 µW / 8 → 11 µA full scale → 0.44 MΩ overall transimpedance).  That gain
is two stages, as in receiver front ends: a transimpedance amplifier with feedback
R_f = ``PhotodetectorElectricalSpec.load_resistance`` (1 kΩ; its Johnson noise 4k_BT/R_f,
4.1 pA/√Hz, is the node's thermal noise) followed by a voltage gain g / R_f (≈ 440) in the
modulator driver.  A single 0.44 MΩ stage would be quieter (0.19 pA/√Hz) but its RC corner
with ~1 pF of diode and input capacitance is ≈ 0.36 MHz, far below the 100 MHz readout
bandwidth; the 1 kΩ stage reaches ≈ 160 MHz.  Design choice; amplifier voltage noise and the
post-amplifier's noise are not modelled (referred to the input they are below R_f's).
Not modelled: the MZM's free-carrier loss (a constant factor on P_s), driver bandwidth
and nonlinearity beyond the rail, modulator chirp.

Neuron kinds (``NeuronSpec.kind``).  The die reads its neurons through one interface
(:class:`NeuronModel`: the three transmissions, the pair's conversion ``derivative_scale``,
the nominal activation the calibrations expect): ``"mzm"`` is the modulator above
(:class:`MZMNeuron`, the default; bit for bit the former die), ``"ring"`` the library's
microring modulator at a chosen operating point, its derivative from two detuned rings and
its resonance locked by its heater (:mod:`pipeline.chip.ring_neuron`,
:mod:`pipeline.chip.ring_lock`).  The backward sources keep the full scale π/(2 fs) for
both (the ring's default peak slope is 1.7/fs).  The architecture's ideal digital model
(:mod:`pipeline.chip.attenuator`) is the sin² above for both kinds.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

from devices import photodetector_electrical as pde
try:  # the clip ufunc itself (np.clip's wrappers cost more than the clip on small arrays)
    from numpy._core.umath import clip as _clip
except ImportError:  # numpy < 2
    from numpy.core.umath import clip as _clip
from pipeline.chip.ring_neuron import RingNeuronSpec
from pipeline.specs import Spec, quantity


class NeuronSpec(Spec):
    """The activation modulator and its driver (module doc: sources).  ``kind = "ring"``: the
    simulated microring neuron of :mod:`pipeline.chip.ring_neuron` at the operating point
    ``ring`` (the MZM fields then set nothing but ``full_scale``)."""

    kind: Literal["mzm", "ring"] = quantity("mzm", "1", "mzm: the Mach-Zehnder modulator neuron (literature "
                                            "V_pi L); ring: the library's microring modulator (ring_neuron)")
    ring: RingNeuronSpec = quantity(RingNeuronSpec(), "-", "operating point and locking of the ring neuron "
                                    "(kind = ring)")

    vpi_length: float = quantity(2.0, "V cm", "modulation efficiency V_pi*L of the depletion MZM arm",
                                 gt=0.1, le=20.0)
    modulator_length: float = quantity(4000.0, "um", "MZM phase-shifter length", gt=10.0, le=20000.0)
    full_scale: float = quantity(1.0, "1", "normalised node signal z at which the drive reaches V_pi",
                                 gt=0.01, le=100.0)

    @property
    def v_pi(self) -> float:
        """Half-wave voltage V_πL / L [V]."""
        return self.vpi_length * 1e4 / self.modulator_length

    def driver_gain(self, full_scale_current: float) -> float:
        """Calibrated driver transimpedance [V/A] for a full-scale node current [A]."""
        return self.v_pi / full_scale_current


class NeuronModel(Protocol):
    """A die's neurons as the readout uses them (:class:`MZMNeuron`,
    :class:`pipeline.chip.ring_lock.RingNeuronArray`): ``transmissions(z, rows)`` → (f, d₊, d₋)
    normalised to the supply P0 for drives z (..., neurons of ``rows``); ``stacked`` the same
    on a last axis of 3; the on-chip derivative is ``derivative_scale`` · (d₊ − d₋); the
    nominal ``activation`` / ``activation_derivative`` are what the controller expects."""

    kind: str
    derivative_scale: float

    def transmissions(self, z: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
    def stacked(self, z: np.ndarray, rows: slice) -> np.ndarray: ...
    def activation(self, z: np.ndarray) -> np.ndarray: ...
    def activation_derivative(self, z: np.ndarray) -> np.ndarray: ...


class MZMNeuron:
    """The three-MZM neuron of the module doc as a :class:`NeuronModel` (a, b (neuron,),
    bias (neuron, 3))."""

    kind = "mzm"

    def __init__(self, a: np.ndarray, b: np.ndarray, bias: np.ndarray, full_scale: float) -> None:
        self.a, self.b, self.bias, self.fs = a, b, bias, full_scale
        self.derivative_scale = 0.5 * np.pi / full_scale

    def transmissions(self, z: np.ndarray, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return modulator_transmissions(z, self.a[rows], self.b[rows], self.bias[rows], self.fs)

    def stacked(self, z: np.ndarray, rows: slice) -> np.ndarray:
        theta = np.pi * _clip(z / self.fs, 0.0, 1.0)
        return self.a[rows, None] - self.b[rows, None] * np.cos(theta[..., None] + _SHIFTS + self.bias[rows])

    def activation(self, z: np.ndarray) -> np.ndarray:
        return activation(z, self.fs)

    def activation_derivative(self, z: np.ndarray) -> np.ndarray:
        return activation_derivative(z, self.fs)


_SHIFTS = np.array([0.0, 0.5 * np.pi, -0.5 * np.pi])  # f, d₊, d₋ modulators (modulator_transmissions)


class _MZMNominal:
    def __init__(self, full_scale: float) -> None:
        self.fs = full_scale

    def activation(self, z: np.ndarray) -> np.ndarray:
        return activation(z, self.fs)

    def activation_derivative(self, z: np.ndarray) -> np.ndarray:
        return activation_derivative(z, self.fs)


def nominal(spec: NeuronSpec, library=None, wavelength: float = 1.55):
    """The nominal activation of ``spec`` (``activation(z)``, ``activation_derivative(z)``):
    sin² for ``kind = "mzm"`` (no library needed), the ring's at its operating point from
    ``library`` at ``wavelength`` [µm] for ``"ring"`` (:class:`ring_neuron.RingOperatingPoint`)
    — what an ideal digital model of that neuron uses."""
    if spec.kind == "mzm":
        return _MZMNominal(spec.full_scale)
    if library is None:
        from pipeline.errors import SpecError

        raise SpecError("neuron kind = 'ring' needs the device library for its activation. Fix: pass library=.")
    from pipeline.chip import ring_neuron as rn

    return rn.RingOperatingPoint(spec.ring, rn.response(library, wavelength), spec.full_scale)


# -- MZI power transfer (weight MZIs and modulators) ----------------------------------------
def mzi_coefficients(kappa1_sq: np.ndarray, kappa2_sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the bar transmission T_bar(θ) = a − b cos θ of an MZI made of two lossless
    couplers with power couplings κ₁², κ₂² and a phase θ on one arm (T_cross = 1 − T_bar):
    a = t₁²t₂² + κ₁²κ₂², b = 2 t₁t₂κ₁κ₂."""
    k1, k2 = np.asarray(kappa1_sq, float), np.asarray(kappa2_sq, float)
    return (1 - k1) * (1 - k2) + k1 * k2, 2 * np.sqrt(k1 * (1 - k1) * k2 * (1 - k2))


def bar(theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """T_bar(θ) = a − b cos θ (power, lossless couplers)."""
    return a - b * np.cos(theta)


# -- ideal activation ----------------------------------------------------------------------
def activation(z: np.ndarray, full_scale: float = 1.0) -> np.ndarray:
    """Ideal neuron output sin²(π/2 · clip(z/full_scale, 0, 1)) (normalised to P_s)."""
    return np.sin(0.5 * np.pi * np.clip(np.asarray(z) / full_scale, 0.0, 1.0)) ** 2


def activation_derivative(z: np.ndarray, full_scale: float = 1.0) -> np.ndarray:
    """d activation / dz = π/(2 full_scale) · sin(π clip(z/full_scale, 0, 1)) (0 where clipped)."""
    return 0.5 * np.pi / full_scale * np.sin(np.pi * np.clip(np.asarray(z) / full_scale, 0.0, 1.0))


# -- the physical neuron -----------------------------------------------------------------------
def modulator_transmissions(z: np.ndarray, a: np.ndarray, b: np.ndarray, bias: np.ndarray,
                            full_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power transmissions (f, d₊, d₋) of a neuron's three modulators for drive ``z``
    (normalised, broadcast (..., neuron)); ``a``, ``b`` (neuron,) the shared MZM
    coefficients; ``bias`` (neuron, 3) the static bias errors [rad] of f, d₊, d₋."""
    bias = np.asarray(bias, float)
    theta = np.pi * _clip(np.asarray(z) / full_scale, 0.0, 1.0)
    return (bar(theta + bias[..., 0], a, b), bar(theta + 0.5 * np.pi + bias[..., 1], a, b),
            bar(theta - 0.5 * np.pi + bias[..., 2], a, b))


def onchip_derivative(difference: np.ndarray, full_scale: float = 1.0) -> np.ndarray:
    """df/dz from the derivative pair's balanced reading ``difference`` = d₊ − d₋
    (normalised to P_s): π/(2 full_scale) · (d₊ − d₋)."""
    return 0.5 * np.pi / full_scale * np.asarray(difference)


def expected_derivative(z: np.ndarray, b: np.ndarray, bias: np.ndarray, full_scale: float = 1.0) -> np.ndarray:
    """Closed form of :func:`onchip_derivative` with bias errors (β₊, β₋) = bias[..., 1:]:
    π b/(2 full_scale) · [sin(θ + β₊) + sin(θ + β₋)], θ = π clip(z/full_scale, 0, 1)."""
    theta = np.pi * np.clip(np.asarray(z) / full_scale, 0.0, 1.0)
    bias = np.asarray(bias, float)
    return 0.5 * np.pi * b / full_scale * (np.sin(theta + bias[..., 1]) + np.sin(theta + bias[..., 2]))


# -- detector nodes ----------------------------------------------------------------------------
def node_noise_variance(photocurrent_sum: np.ndarray, n_detectors: int | np.ndarray, *,
                        spec: pde.PhotodetectorElectricalSpec, bandwidth: float) -> np.ndarray:
    """Current-noise variance [A²] of one node of ``n_detectors`` photodiodes on one load:
    shot noise of all their photocurrents (``photocurrent_sum`` = Σ|I_ph| [A]) and dark
    currents, 2q(Σ I_ph + n I_dark)B, plus the load's Johnson noise 4k_BTB/R_L once
    (:mod:`devices.photodetector_electrical`)."""
    shot = pde.shot_noise_variance(np.asarray(photocurrent_sum) / spec.responsivity, bandwidth=bandwidth, spec=spec)
    extra_dark = 2 * pde.Q_E * spec.dark_current * bandwidth * (np.asarray(n_detectors) - 1)
    return shot + extra_dark + pde.thermal_noise_variance(bandwidth=bandwidth, spec=spec)


class NodeNoise:
    """:func:`node_noise_variance` of one detector spec and bandwidth with its constant terms
    computed (and validated) once (:class:`devices.photodetector_electrical.NoiseTerms`):
    :meth:`sigma` is √(node_noise_variance), bit for bit, without per-call validation (the
    caller's photocurrent sums are finite and >= 0 by construction)."""

    def __init__(self, spec: pde.PhotodetectorElectricalSpec, bandwidth: float) -> None:
        self.terms = pde.NoiseTerms(bandwidth=bandwidth, spec=spec)
        self.responsivity = spec.responsivity
        self._dark_unit = 2 * pde.Q_E * spec.dark_current * bandwidth
        self._extra: dict[int, float] = {}

    def variance(self, photocurrent_sum: np.ndarray, n_detectors: int) -> np.ndarray:
        extra = self._extra.get(n_detectors)
        if extra is None:
            extra = self._extra[n_detectors] = self._dark_unit * (np.asarray(n_detectors) - 1)
        shot = self.terms.shot_variance(np.asarray(photocurrent_sum, float) / self.responsivity)
        return shot + extra + self.terms.thermal

    def sigma(self, photocurrent_sum: np.ndarray, n_detectors: int) -> np.ndarray:
        return np.sqrt(self.variance(photocurrent_sum, n_detectors))


def read_node(mean_current: np.ndarray, photocurrent_sum: np.ndarray, n_detectors: int | np.ndarray, *,
              spec: pde.PhotodetectorElectricalSpec, bandwidth: float, rng: np.random.Generator | None) -> np.ndarray:
    """One reading [A] per element: the node's mean signal current (dark currents cancel in
    balanced pairs, and are subtracted as a measured offset for single detectors) plus
    Gaussian shot + thermal noise (:func:`node_noise_variance`); ``rng=None``: noise-free."""
    mean = np.asarray(mean_current, float)
    if rng is None:
        return mean
    sigma = np.sqrt(node_noise_variance(photocurrent_sum, n_detectors, spec=spec, bandwidth=bandwidth))
    return mean + sigma * rng.standard_normal(np.broadcast(mean, sigma).shape)


def quantise(reading: np.ndarray, full_scale: float | np.ndarray, bits: int) -> np.ndarray:
    """A bipolar ADC of ``bits`` over ±``full_scale`` (same units as ``reading``): rounded to
    the LSB 2·full_scale/2^bits and clipped at the rails; ``bits = 0``: unchanged."""
    if not bits:
        return np.asarray(reading)
    lsb = 2.0 * np.asarray(full_scale, float) / 2 ** bits
    return _clip(np.round(np.asarray(reading) / lsb) * lsb, -full_scale, full_scale)

"""The ``mesh`` architecture (Pai et al., Science 380, 398 (2023) style): coherent N-mode
Clements meshes with opto-electronic activations between them, trained by in-situ
backpropagation (Hughes et al., Optica 5, 864 (2018)).

Encoding.  Features x ∈ [0, 1]^n_in set real field amplitudes of modes 0…n_in−1 (power
x² in units of ``optical_power``); mode n_in carries a constant bias amplitude 1; other
modes are dark.

Layer ℓ: z = U_ℓ a (U_ℓ the mesh's N×N transfer, no output phase screen: every output
is detected, so it would not matter).  Between layers, *detect and re-emit*: each mode's
light is fully detected, p = |z|² (normalised to ``optical_power``), and the photocurrent
drives a push-pull Mach-Zehnder modulator on fresh supply light of amplitude 1:

    a' = sin(γ p + β),   da'/dp = γ cos(γ p + β),

γ = ``activation_gain`` [rad per unit normalised power], β = ``activation_bias``.  A
push-pull MZM of half-wave voltage V_π transmits the field sin(πV/(2V_π)); with V = G·R·P_opt·p,
γ = π G R P_opt/(2 V_π).  Default γ = π: R = 0.96 A/W (library 10 µm Ge detector, below),
P_opt = 100 µW, V_π = 5 V (4 mm depletion MZM at 2 V·cm, pipeline.chip.neuron) → a 104 kΩ
transimpedance.  Chosen by measurement (ideal model, TrainConfig defaults, Adam, seeds 0–4,
test accuracy): γ = π/2 (≈ 0.6 rad of swing over the data) moons 0.876 ± 0.012 at step
0.02, 0.904 ± 0.047 at 0.05; γ = π moons 0.994 ± 0.008 / 0.998 ± 0.004, circles 0.996 ±
0.005 (0.02); 3π/2 no better.  Phases are in rad: the recommended Adam step
``DEFAULT_LEARNING_RATE`` = 0.05 rad (architecture attribute ``default_learning_rate``);
init uniform in [0, 2π).  Chosen
over Williamson et al.'s (IEEE JSTQE 26, 7700412 (2020)) tap-and-modulate activation
because its backward pass is simple on chip: the derivative is produced by a second
modulator driven by the same photocurrent and biased a quarter period away (β + π/2,
giving cos), the way Ashtiani & Idjadi (arXiv 2307.10179) produce activation
derivatives.  Output: detected powers y = |z_L|² of modes 0…n_out−1.  Loss: MSE of
:mod:`pipeline.chip.interface`, L = mean_b Σ_o (y − t)²/2.

A die of it (:meth:`MeshNetwork.sample_die`, :class:`MeshDie`): the chip — couplers,
heaters, phase errors, programming — in :mod:`pipeline.chip.mesh_chip`; its readings, the
forward pass and on-chip backpropagation (Hughes et al.) in :mod:`pipeline.chip.mesh_die`;
the lab calibration in :mod:`pipeline.chip.mesh_calibration`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from pipeline.chip.impairments import ImpairmentSpec, impairments as make_impairments
from pipeline.chip.mesh_die import MeshDie
from pipeline.circuit.mesh import MeshHardware, MeshLayout, mesh_layout
from pipeline.circuit.mesh_gradients import mesh_gradients
from pipeline.errors import SpecError
from pipeline.library import Library
from pipeline.specs import Spec, quantity

__all__ = ["MeshArchitecture", "MeshDie", "MeshNetwork", "MeshNetworkSpec"]

DEFAULT_LEARNING_RATE = 0.05  # rad


class MeshNetworkSpec(Spec):
    """Sizes, activation and layout of a ``mesh`` network (module doc)."""

    n_modes: int = quantity(4, "1", "modes per Clements mesh", ge=2, le=128)
    n_layers: int = quantity(3, "1", "number of meshes (activations between them)", ge=1, le=8)
    n_in: int = quantity(2, "1", "input features (mode n_in is the bias mode)", ge=1)
    n_out: int = quantity(2, "1", "detected output modes", ge=1)
    activation_gain: float = quantity(np.pi, "rad", "modulator phase per unit normalised detected power "
                                      "(module doc: the numbers giving pi)", gt=0, le=20)
    activation_bias: float = quantity(0.0, "rad", "modulator bias phase beta", ge=-np.pi, le=np.pi)
    mode_pitch: float = quantity(25.0, "um", "waveguide pitch (heater rows: 2 x pitch)", gt=0, le=500)
    column_length: float = quantity(300.0, "um", "length of one MZI column (2 couplers, 2 heaters, bends)", gt=0)
    tap_fraction: float = quantity(0.01, "1", "power fraction read by each phase-shifter tap monitor", gt=0, le=0.5)
    arm_length: float = quantity(150.0, "um", "length of an MZI's internal arms (theta shifter)", gt=0)
    arm_separation: float = quantity(10.0, "um", "centre distance of an MZI's internal arms", gt=0)
    detector_ge_length: float = quantity(10.0, "um", "Ge length of the library photodetector (responsivity)", gt=0)
    detector_collection_efficiency: float = quantity(0.8, "1", "electrons per photon absorbed in the Ge "
                                                     "(pipeline.library.figures: source)", gt=0, le=1)
    lab_calibration: bool = quantity(False, "1", "measure every MZI's phase offsets and heater efficiencies "
                                     "on the die before use and program through them (mesh_calibration)")
    calibration_samples: int = quantity(64, "1", "readings averaged per calibration setting", ge=1, le=100000)

    def model_post_init(self, _: object) -> None:
        if self.n_in + 1 > self.n_modes or self.n_out > self.n_modes:
            raise SpecError(f"n_in = {self.n_in}, n_out = {self.n_out}, n_modes = {self.n_modes}: need "
                            f"n_in + 1 <= n_modes (bias mode) and n_out <= n_modes. Fix: raise n_modes.")


@dataclass
class MeshNetwork:
    """The architecture: ideal digital model (ideal 50:50 couplers, lossless)."""

    spec: MeshNetworkSpec = field(default_factory=MeshNetworkSpec)
    name: str = "mesh"
    #: Adam step [rad] for the phases (module doc: measured); pipeline.training may use it
    default_learning_rate: float = DEFAULT_LEARNING_RATE

    def __post_init__(self) -> None:
        self.layout: MeshLayout = mesh_layout(self.spec.n_modes)
        self.n_in, self.n_out = self.spec.n_in, self.spec.n_out
        self.k = self.layout.n_mzi
        self.n_params = 2 * self.k * self.spec.n_layers
        self._ideal = MeshHardware.ideal(self.layout)

    # -- parameters: per layer [theta (K), phi (K)] --------------------------------------
    def split(self, params: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        p = np.asarray(params, float)
        if p.shape != (self.n_params,):
            raise SpecError(f"params has shape {p.shape}, expected ({self.n_params},) = 2 x {self.k} MZIs x "
                            f"{self.spec.n_layers} layers (theta then phi per layer, rad).")
        return [(p[2 * i * self.k:(2 * i + 1) * self.k], p[(2 * i + 1) * self.k:(2 * i + 2) * self.k])
                for i in range(self.spec.n_layers)]

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0, 2 * np.pi, self.n_params)

    def clip_params(self, params: np.ndarray) -> np.ndarray:
        """Phases wrapped to [0, 2π) (heaters cover 0…2P_π)."""
        return np.mod(np.asarray(params, float), 2 * np.pi)

    def activation(self, p: np.ndarray, bias: np.ndarray | float | None = None) -> np.ndarray:
        """a' = sin(γ p + β) of normalised detected powers ``p`` (module doc); ``bias`` replaces
        β (a die's modulator: β + its bias error)."""
        return np.sin(self.spec.activation_gain * p + (self.spec.activation_bias if bias is None else bias))

    def check_t(self, t: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Targets ``t`` as floats, checked to have ``shape`` (batch, n_out)."""
        t = np.asarray(t, float)
        if t.shape != shape:
            raise SpecError(f"targets t have shape {t.shape}, expected {shape} (batch, n_out).")
        return t

    def encode(self, x: np.ndarray) -> np.ndarray:
        """(N, B) input amplitudes: features, bias mode = 1, others dark."""
        x = np.asarray(x, float)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise SpecError(f"x has shape {x.shape}: expected (batch, n_in={self.n_in}) features in [0, 1].")
        if np.any(x < -1e-9) or np.any(x > 1 + 1e-9):
            raise SpecError(f"x spans {x.min():.3g}..{x.max():.3g}: features must be scaled to [0, 1] "
                            "(pipeline.training.datasets scaling rule).")
        a = np.zeros((self.spec.n_modes, x.shape[0]), complex)
        a[:self.n_in] = x.T
        a[self.n_in] = 1.0
        return a

    def _forward(self, mats: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
        """Outputs (B, n_out) and per layer (input amplitudes, output fields)."""
        a, fields = self.encode(x), []
        for i, u in enumerate(mats):
            z = u @ a
            fields.append((a, z))
            if i < len(mats) - 1:
                a = self.activation(np.abs(z) ** 2).astype(complex)
        return np.abs(fields[-1][1][:self.n_out]).T ** 2, fields

    def ideal_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        mats = [self._ideal.matrix(th, ph) for th, ph in self.split(params)]
        return self._forward(mats, x)[0]

    def ideal_loss_and_grad(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        phases = self.split(params)
        y, fields = self._forward([self._ideal.matrix(th, ph) for th, ph in phases], x)
        t = self.check_t(t, y.shape)
        b = y.shape[0]
        dl_dp = np.zeros((self.spec.n_modes, b))
        dl_dp[:self.n_out] = (y - t).T / b
        grads = [None] * len(phases)
        for i in range(len(phases) - 1, -1, -1):
            a, z = fields[i]
            g = 2 * dl_dp * z
            th, ph = phases[i]
            gr = mesh_gradients(self._ideal, th, ph, None, a, g)
            grads[i] = np.concatenate([gr.theta, gr.phi])
            if i:
                u = self._ideal.matrix(th, ph)
                dl_da = (u.conj().T @ g).real
                pa = np.abs(fields[i - 1][1]) ** 2
                dl_dp = dl_da * self.spec.activation_gain * np.cos(self.spec.activation_gain * pa
                                                                   + self.spec.activation_bias)
        return float(0.5 * np.mean(np.sum((y - t) ** 2, 1))), np.concatenate(grads)

    def lab_calibrated(self) -> "MeshNetwork":
        """The same network with the lab calibration on (``lab_calibration``): its dies measure
        every MZI's θ/φ offsets and heater efficiencies before use (:mod:`mesh_calibration`).
        Same seed, same fabricated chip."""
        new = copy.copy(self)
        new.spec = self.spec.model_copy(update={"lab_calibration": True})
        return new

    def sample_die(self, impairments: object = "realistic", seed: int = 0, *, library=None) -> "MeshDie":
        """One die with ``impairments`` and fabrication ``seed``, its physics from ``library``
        (a :class:`~pipeline.library.Library`).  ``library=None`` is the edge convenience
        (CLI, notebooks): a default ``Library()`` (``$PHOTOPROP_CACHE`` or the shipped ``cache/``)."""
        spec = impairments if isinstance(impairments, ImpairmentSpec) else make_impairments(impairments)
        return MeshDie(self, spec, int(seed), library if library is not None else Library())


class MeshArchitecture(MeshNetwork):
    """``mesh`` sized for a task: ``n_in`` features, ``n_out`` outputs, ``n_modes`` defaults
    to max(4, n_in + 1, n_out); other options are :class:`MeshNetworkSpec` fields."""

    def __init__(self, n_in: int = 2, n_out: int = 2, **options: object) -> None:
        n_modes = options.pop("n_modes", max(4, n_in + 1, n_out))
        self.spec = MeshNetworkSpec(n_in=n_in, n_out=n_out, n_modes=n_modes, **options)
        self.name = "mesh"
        self.default_learning_rate = DEFAULT_LEARNING_RATE
        self.__post_init__()

"""The contract between network architectures, dies and training algorithms.

An **architecture** (``attenuator``, ``mesh``) is a class with the ideal digital model;
a **die** is one fabricated chip of it.  Training algorithms see a die only through the
measurement interface: program the weights, send light, read detectors.  Only the ideal
model (and tests) see internal fields.

Parameters are one flat float vector ``params`` in *weight units* of the architecture
(attenuator: signed differential transmissions in [−1, 1]; mesh: phases in rad).  A die
maps them to control settings (heater powers [W], attenuator settings) with its *nominal*
calibration — what a lab would do with a calibration table — so on an impaired die the
realised transfer differs from the ideal model's.

Inputs ``x``: (batch, n_in) features already scaled to the chip's input range [0, 1]
(:mod:`pipeline.training.datasets` documents the rule).  Outputs ``y``: (batch, n_out)
in the architecture's output units (normalised detected power, 0…~1).  Targets ``t``:
(batch, n_out).  Loss: mean squared error ``L = mean_b Σ_o (y − t)² / 2``; any other loss
through :meth:`Die.vjp` with its output gradient dL/dy (:mod:`pipeline.interop.jax_die`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import xarray as xr


@runtime_checkable
class Architecture(Protocol):
    """An architecture: shapes, parameter initialisation, ideal digital model."""

    name: str
    n_in: int
    n_out: int

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """A random initial parameter vector (weight units)."""

    def clip_params(self, params: np.ndarray) -> np.ndarray:
        """Parameters projected onto what the hardware can realise."""

    def ideal_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """(batch, n_out) outputs of the ideal digital model."""

    def ideal_loss_and_grad(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and its exact gradient w.r.t. ``params`` (ideal model, no impairments)."""

    def sample_die(self, impairments: object, seed: int, *, library: object = None) -> "Die":
        """One die of this architecture with impairments sampled from ``seed``, its physics
        from ``library`` (a :class:`~pipeline.library.Library`; None: the default one)."""


@runtime_checkable
class Die(Protocol):
    """One chip instance.  Everything a training algorithm may do with it."""

    architecture: Architecture
    seed: int
    measurements: int  # detector readings taken so far (a reading = one detector, one sample)

    def program(self, params: np.ndarray) -> None:
        """Set controls (heater powers, attenuators) for ``params`` via the nominal calibration."""

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Forward pass: (batch, n_out) outputs read from the output detectors (noisy)."""

    def insitu_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """On-chip backpropagation for one batch: forward pass, error from the readings,
        error light sent backward, activation derivative produced on chip, weight gradients
        from forward × backward measurements — all with the die's losses and noise.
        Returns the loss computed from the readings and the measured gradient (weight units)."""

    def vjp(self, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, dict]:
        """Vector–Jacobian product dyᵀ ∂y/∂params of the outputs y = infer(x) at the programmed
        parameters, measured by the procedure of :meth:`insitu_gradient` with the output
        gradient ``dy`` (batch, n_out) injected where that injects the MSE error (so
        insitu_gradient(x, t) is vjp with dy = (y − t)/batch of its own readings y).
        Returns the gradient (weight units) and ``{"y": the pass's output readings,
        "readings": detector readings taken}``."""

    def to_dataset(self) -> xr.Dataset:
        """The die and its sampled impairments (named dims, units in attrs)."""

    # -- for tests and the ideal reference only (not available to a lab) --------------
    def true_loss(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
        """Noise-free loss of this die (its physical transfer, no detector noise)."""

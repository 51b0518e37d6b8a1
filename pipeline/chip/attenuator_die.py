"""One ``attenuator`` die as training algorithms see it (:class:`pipeline.chip.interface.Die`):
sampled and calibrated (the chip, :mod:`pipeline.chip.attenuator_chip`; its calibrations,
:mod:`pipeline.chip.attenuator_calibration`), then used — inference, on-chip
backpropagation from its readings (:mod:`pipeline.chip.attenuator_readout`: what is read),
the noise-free references tests use, and the die as data
(:mod:`pipeline.chip.attenuator_report`).

The clock: the die is calibrated at t = 0, first used ``calibration_age`` later, and from
then on its readings advance the drift (:mod:`pipeline.chip.drift`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.chip import attenuator_report as report
from pipeline.chip import attenuator_step as step
from pipeline.chip import crosstalk_calibration as xc
from pipeline.chip.attenuator_calibration import AttenuatorCalibration
from pipeline.chip.attenuator_spec import check_array as _check_array
from pipeline.chip.impairments import ImpairmentSpec


class AttenuatorDie(AttenuatorCalibration):
    """One fabricated ``attenuator`` chip, calibrated as its spec says (module doc)."""

    def __init__(self, architecture, impairments: ImpairmentSpec, seed: int, library) -> None:
        super().__init__(architecture, impairments, seed, library)
        self._calibrate_at_sampling()
        self._start_use()

    def _start_use(self) -> None:
        """First use, ``calibration_age`` after the calibration; from now on readings advance
        the drift clock; the current weights re-programmed at that drift."""
        self.drift.advance_hours(self.impairments.calibration_age)
        self.drift.start_clock(self.measurements)
        self.program(self.params)

    def __repr__(self) -> str:
        return f"AttenuatorDie({self.architecture!r}, seed={self.seed})"

    # -- the Die protocol -----------------------------------------------------------------------
    def _inputs(self, x: np.ndarray) -> np.ndarray:
        x = self.architecture.check_x(x)
        return np.concatenate([x, np.ones((len(x), 1))], 1)

    def infer(self, x: np.ndarray) -> np.ndarray:
        a0 = self._inputs(x)
        self.measurements += len(a0) * self.architecture.n_out
        return self._forward(self.heater_power, a0, True)["y"]

    def insitu_gradient(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and on-chip gradient for one batch (:mod:`pipeline.chip.attenuator_readout`: what
        is read), the step's passes batched (:mod:`pipeline.chip.attenuator_step`; the same
        readings, bit for bit, as :meth:`insitu_gradient_by_pass`)."""
        return step.insitu_gradient(self, x, t)

    def insitu_gradient_by_pass(self, x: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`insitu_gradient` pass by pass: forward, backward, then the slopes (the
        reference of the batched step; tests)."""
        a0 = self._inputs(x)
        t = self.architecture.check_t(t, len(a0))
        _, e, grad = self._backprop_by_pass(a0, lambda y: y - t)
        return float(0.5 * np.mean(np.sum(e * e, axis=1))), grad

    def vjp(self, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, dict]:
        """Vector–Jacobian product dyᵀ ∂y/∂params of the die's outputs y = infer(x) at the
        programmed parameters, measured on chip by the procedure of :meth:`insitu_gradient`
        (a new forward pass of ``x``, its activation derivatives read on chip, the error light
        e = B · dy / s sent backward, forward × backward products and the slopes, × s; noise,
        drift and readings as there): insitu_gradient(x, t) is this with dy = (y − t)/B of its
        own readings y.  ``dy``: (B, n_out) output gradient (dL/dy of a batch-mean loss).  The
        error-drive gain s = max(1, max |B · dy|) keeps the light within the backward source's
        full scale (|e| ≤ 1, the range of the MSE error y − t, which insitu_gradient sends
        unscaled).  Returns the gradient (n_params,) in weight units and ``{"y": the pass's
        readings (B, n_out), "readings": detector readings taken, "error_scale": s}``."""
        return self._vjp(x, dy, step.backprop)

    def vjp_by_pass(self, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, dict]:
        """:meth:`vjp` pass by pass (the reference of the batched step; tests)."""
        return self._vjp(x, dy, lambda die, a0, error: die._backprop_by_pass(a0, error))

    def _vjp(self, x: np.ndarray, dy: np.ndarray, backprop) -> tuple[np.ndarray, dict]:
        a0 = self._inputs(x)
        nb = len(a0)
        dy = _check_array("dy", dy, (nb, self.architecture.n_out),
                          fix=f"pass dL/dy of the outputs, shape (batch={nb}, n_out={self.architecture.n_out})")
        before, e = self.measurements, nb * dy
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        y, _, grad = backprop(self, a0, lambda y: e / scale if scale > 1 else e)
        return grad * scale, {"y": y, "readings": self.measurements - before, "error_scale": scale}

    def _backprop_by_pass(self, a0: np.ndarray, error) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`attenuator_step.backprop` pass by pass: (y, e = error(y), gradient)."""
        a = self.architecture
        nb = len(a0)
        fw = self._forward(self.heater_power, a0, True)
        e = error(fw["y"])
        d2 = e * fw["dy"]
        d1 = self._backward(self.heater_power, d2, True) * fw["dh"]
        self.measurements += nb * (2 * a.n_out + 2 * a.n_hidden + 2 * a.n_hidden)
        a1 = np.concatenate([fw["h"], np.ones((nb, 1))], 1)
        grad_w = np.concatenate([(d1.T @ a0).ravel(), (d2.T @ a1).ravel()]) / nb
        return fw["y"], e, grad_w * self._slopes(True)

    def project_params(self, params: np.ndarray) -> np.ndarray:
        """``params`` moved onto the set the compensated programming can realise, by what the
        controller knows (Ĉ, the DAC range 0 … 2 P_π, nominal P_π;
        :func:`crosstalk_calibration.realisable`): a weight whose heater would need P < 0
        goes to −cos θ_k of the phase its neighbours give it at P = 0 (likewise at the DAC
        top); the others are returned unchanged.  Identity without crosstalk calibration.
        Training algorithms that program the die use it when the die has it (in-situ,
        forward-only)."""
        p = self.architecture.check_params(params)
        if self._crosstalk_inverse is None:
            return p
        target = self._target_powers(p)
        reached = xc.realisable(self._crosstalk_inverse, target, 2 * self.p_pi, compensated=self._compensate(target))
        reached_p = np.clip(-np.cos(np.pi * reached / self.p_pi + self._offset_or_zero()) * self.weight_scale, -1, 1)
        return np.where(reached != target, reached_p, p)

    # -- noise-free references (tests and the ideal reference only) -------------------------------
    def true_loss(self, params: np.ndarray, x: np.ndarray, t: np.ndarray) -> float:
        a0 = self._inputs(x)
        y = self._forward(self.heater_powers(params), a0, False)["y"]
        e = y - self.architecture.check_t(t, len(a0))
        return float(0.5 * np.mean(np.sum(e * e, axis=1)))

    def true_forward(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Noise-free outputs of this die for ``params`` (tests and reference only)."""
        return self._forward(self.heater_powers(params), self._inputs(x), False)["y"]

    def dead_neurons(self, params: np.ndarray, x: np.ndarray) -> int:
        """Hidden neurons of this die flat for every sample of ``x`` with ``params`` programmed:
        noise-free calibrated node reading z1 <= 0 or >= full_scale (the driver rails, the
        on-chip derivative is 0).  A diagnostic of the simulation's internal state, not a
        lab reading (no detector reads are counted)."""
        z1 = self._forward(self.heater_powers(params), self._inputs(x), False, layer1_only=True)["z1"]
        return int(np.sum(np.all((z1 <= 0) | (z1 >= self.fs), axis=0)))

    # -- the die as data ------------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """The die: per-MZI fabrication, couplers, heaters, phase errors, losses, detector gains;
        per-neuron modulators; crosstalk matrix and the calibrations' estimates
        (:func:`attenuator_report.die_dataset`), with units and long_name on every variable and
        coordinate and the impairments / architecture spec also as structured ``impairments.*``
        / ``spec.*`` attributes (:mod:`pipeline.units_attrs`)."""
        return units_attrs.annotate(report.die_dataset(self),
                                    specs={"impairments": self.impairments, "spec": self.architecture.spec})

    def summary(self) -> dict[str, float]:
        """Headline numbers of the die (CLI ``chip show``; :func:`attenuator_report.die_summary`)."""
        return report.die_summary(self)

"""Impairments of a die: every knob in physical units, with a documented "realistic
foundry" default and an "ideal" off switch.

A die samples these once per seed (fabrication offsets, bias errors, detector gains);
noise knobs act at every measurement.  Device physics (coupler splitting vs width and
thickness offset, heater-to-heater thermal crosstalk, crossing loss, detector
responsivity) comes from the device library's compact models, never from these numbers:
the knobs only say *how far* a die is from nominal.

Realistic defaults and their sources:

* ``width_sigma`` 5 nm, ``thickness_sigma`` 2 nm (within-die 1σ of Si width and
  thickness): Z. Lu et al., "Performance prediction for silicon photonics integrated
  circuits with layout-dependent correlated manufacturing variability", Opt. Express 25,
  9712 (2017) — within-die σ of a few nm, correlation lengths of ~mm; die-to-die offsets
  ``die_width_offset`` / ``die_thickness_offset`` sampled with σ 10 / 5 nm (wafer-level
  variation of 300 mm SOI, ibid.).  Offsets are clipped to the coupler model's validated
  range (±20 nm width, ±10 nm thickness).
* ``propagation_loss`` 2 dB/cm (strip waveguides of standard SOI foundries: 1–3 dB/cm,
  e.g. the AIM and IMEC platforms; W. Bogaerts et al., IEEE JSTQE 24, 8200209 (2018)).
* ``thermal_crosstalk_scale`` 1: the simulated heater-row crosstalk matrix at the
  layout's pitch (:func:`devices.phase_shifter.crosstalk_matrix`) as is.
* ``dac_bits`` 12: heater drivers of research chips use 12–16 bit DACs (Pai et al.,
  Science 380, 398 (2023): 16-bit; 12 bit is the pessimistic end).
* ``phase_noise`` 2 mrad rms per measurement: heater driver noise and thermal drift over a
  training run with a temperature-controlled stage (Pai 2023 report phase stability of
  order mrad).
* ``modulator_bias_sigma`` 0.05 rad: static bias-point error of the activation modulators
  after calibration.
* ``detector_gain_sigma`` 0.02: responsivity spread between nominally identical detectors
  (balanced-pair mismatch of a few %).
* ``optical_power`` 100 µW per input channel at the chip (after coupling loss), detector
  noise from :mod:`devices.photodetector_electrical` at ``measurement_bandwidth`` 100 MHz.
* ``laser_rin`` −150 dB/Hz: DFB lasers, −145 to −160 dB/Hz.
* ``wavelength_offset`` 0 nm and ``temperature_offset`` 0 K (a user sweeps them).  A uniform
  temperature offset is common-mode in both shipped architectures (balanced MZI arms,
  equal-length mesh paths: dn_eff/dT from devices.waveguide_model shifts every arm alike),
  so it changes no weight; it matters for unbalanced layouts, which must apply it.
* ``crossing_crosstalk_scale`` acts only where a layout has crossings (the attenuator's
  ``fanout_routing = "optical"``; the default metal fan-out and Clements meshes have none).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity

#: The coupler compact model's validated fabrication range (devices.coupler_model sweep).
WIDTH_RANGE_UM = 0.020
THICKNESS_RANGE_UM = 0.010


class ImpairmentSpec(Spec):
    """What makes a die differ from the ideal digital model (module doc: defaults, sources)."""

    # fabrication (sampled once per die)
    width_sigma: float = quantity(0.005, "um", "within-die 1-sigma of the Si width offset", ge=0, le=0.02)
    thickness_sigma: float = quantity(0.002, "um", "within-die 1-sigma of the Si thickness offset", ge=0, le=0.01)
    die_width_offset: float = quantity(0.010, "um", "1-sigma of the die-wide mean width offset", ge=0, le=0.02)
    die_thickness_offset: float = quantity(0.005, "um", "1-sigma of the die-wide mean thickness offset",
                                           ge=0, le=0.01)
    correlation_length: float = quantity(0.0, "um", "spatial correlation length of within-die offsets "
                                         "(0: independent)", ge=0)
    # passive losses
    propagation_loss: float = quantity(2.0, "dB/cm", "waveguide propagation loss", ge=0, le=100)
    insertion_loss_scale: float = quantity(1.0, "1", "scale of the device library's insertion losses "
                                           "(couplers, heaters, crossings); 0 = lossless devices", ge=0, le=10)
    crossing_crosstalk_scale: float = quantity(1.0, "1", "scale of the simulated crossing crosstalk power",
                                               ge=0, le=100)
    # thermal and control
    thermal_crosstalk_scale: float = quantity(1.0, "1", "scale of the simulated thermal crosstalk matrix "
                                              "off-diagonals", ge=0, le=10)
    dac_bits: int = quantity(12, "bit", "heater DAC resolution over 0..2 P_pi (0 = continuous)", ge=0, le=32)
    phase_noise: float = quantity(0.002, "rad", "rms phase fluctuation per measurement (driver noise, drift)",
                                  ge=0, le=1)
    modulator_bias_sigma: float = quantity(0.05, "rad", "1-sigma static bias error of activation modulators",
                                           ge=0, le=1)
    # light and detection
    optical_power: float = quantity(100e-6, "W", "optical power per input channel at the chip", gt=0, le=0.1)
    measurement_bandwidth: float = quantity(100e6, "Hz", "detector noise bandwidth of one reading", gt=0, le=1e12)
    detector_noise: bool = quantity(True, "1", "shot, thermal and dark-current noise on every reading")
    detector_gain_sigma: float = quantity(0.02, "1", "1-sigma relative responsivity spread between detectors",
                                          ge=0, le=0.5)
    laser_rin: float | None = quantity(-150.0, "dB/Hz", "laser relative intensity noise (None: off)",
                                       le=-100, ge=-200)
    # operating point
    wavelength_offset: float = quantity(0.0, "nm", "laser wavelength offset from 1550 nm", ge=-20, le=20)
    temperature_offset: float = quantity(0.0, "K", "chip temperature offset from the calibration", ge=-20, le=20)

    @property
    def is_ideal(self) -> bool:
        """True when nothing distinguishes the die from the ideal digital model."""
        return self == IDEAL

    def scaled(self, **changes: float) -> "ImpairmentSpec":
        """A copy with some knobs changed (validated)."""
        return ImpairmentSpec(**{**self.model_dump(), **changes})


REALISTIC = ImpairmentSpec()
IDEAL = ImpairmentSpec(width_sigma=0, thickness_sigma=0, die_width_offset=0, die_thickness_offset=0,
                       propagation_loss=0, insertion_loss_scale=0, crossing_crosstalk_scale=0,
                       thermal_crosstalk_scale=0, dac_bits=0, phase_noise=0, modulator_bias_sigma=0,
                       detector_noise=False, detector_gain_sigma=0, laser_rin=None)
IMPAIRMENT_PRESETS: dict[str, ImpairmentSpec] = {"realistic": REALISTIC, "ideal": IDEAL}


def impairments(preset: Literal["realistic", "ideal"] | str | ImpairmentSpec = "realistic",
                **changes: float) -> ImpairmentSpec:
    """A preset by name (``realistic`` | ``ideal``), optionally with knobs changed."""
    if isinstance(preset, ImpairmentSpec):
        base = preset
    elif preset in IMPAIRMENT_PRESETS:
        base = IMPAIRMENT_PRESETS[preset]
    else:
        raise SpecError(f"impairments = {preset!r}: unknown preset. Fix: use one of "
                        f"{sorted(IMPAIRMENT_PRESETS)} or an ImpairmentSpec.")
    return base.scaled(**changes) if changes else base


def sample_fabrication(spec: ImpairmentSpec, positions_um: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Width and thickness offsets [µm] at device ``positions_um`` (n, 2): a die-wide mean
    plus within-die Gaussian offsets, exponentially correlated over ``correlation_length``;
    clipped to the compact models' validated range."""
    pos = np.atleast_2d(np.asarray(positions_um, dtype=float))
    n = pos.shape[0]
    if spec.correlation_length > 0 and n > 1:
        d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
        chol = np.linalg.cholesky(np.exp(-d / spec.correlation_length) + 1e-12 * np.eye(n))
        z_w, z_t = chol @ rng.standard_normal(n), chol @ rng.standard_normal(n)
    else:
        z_w, z_t = rng.standard_normal(n), rng.standard_normal(n)
    dw = spec.die_width_offset * rng.standard_normal() + spec.width_sigma * z_w
    dt = spec.die_thickness_offset * rng.standard_normal() + spec.thickness_sigma * z_t
    return (np.clip(dw, -WIDTH_RANGE_UM, WIDTH_RANGE_UM), np.clip(dt, -THICKNESS_RANGE_UM, THICKNESS_RANGE_UM))

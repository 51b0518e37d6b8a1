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
  after their bias calibration (design choice: the residual of a bias lock read on the
  modulator's own monitor at the 12-bit DAC and mrad phase-noise level above, ×10 margin).
* ``detector_gain_sigma`` 0.02: responsivity spread between nominally identical detectors
  (design choice: balanced-pair mismatch of a few %, the Ge length/absorption spread of one
  die; the gain calibration absorbs the per-node part).
* ``optical_power`` 100 µW per input channel at the chip (design choice: a 10 dBm laser
  split over a few channels after ~5 dB of fibre-to-chip coupling loss), detector noise from
  :mod:`devices.photodetector_electrical` at ``measurement_bandwidth`` 100 MHz (design
  choice: a readout at the 100 MHz–1 GHz rates of the seed chips' electronics).
* ``laser_rin`` −150 dB/Hz: DFB lasers, −145 to −160 dB/Hz.
* ``correlation_length`` 1000 µm: within-die width/thickness offsets are a Gaussian field
  with exponential correlation exp(−r/ℓ).  Design choice: mm-scale correlation lengths are
  what layout-aware variability studies extract from wafer measurements (Lu et al., ibid.;
  J. S. Jhoja et al., Opt. Express 28, 7799 (2020)); the field's short-range roughness is
  what makes the two arms of one MZI differ (below).
* MZI arm phase offsets (``arm_phase_sigma`` None: derived; :mod:`pipeline.chip.arm_offsets`):
  the two arms of an MZI, ``arm_separation`` apart, see different mean widths and
  thicknesses of that field; integrated along the arm through the waveguide compact model's
  n_eff(δw, δt) they give a static phase offset φ₀ = 2π L/λ (n_eff,1 − n_eff,2) per MZI
  (300 µm arms 10 µm apart at ℓ = 1 mm: σ ≈ 0.6 rad).  A number overrides it.
* ``heater_efficiency_sigma`` 0.03: heater-to-heater spread of the dissipated power at a
  nominal drive (metal film thickness/width → resistance; P_π spread).  Design choice in the
  few-% range of thin-film resistor matching; the lab calibration measures each P_π.
* ``phase_drift`` 0.01 rad/√h with ``calibration_age`` 1 h: slow random-walk drift of every
  MZI's phase between the calibration and the use (stage temperature wander, heater ageing);
  time advances with the readings taken (``reading_time`` 1 µs each, a 1 MS/s ADC).  Design
  choice: a temperature-controlled stage keeps a balanced MZI within tens of mrad over hours.
* ``adc_bits`` 12: every detector reading is quantised over its node's full-scale range
  (12–16 bit data-acquisition ADCs; 12 bit is the pessimistic end, as for the DACs).
* ``wavelength_offset`` 0 nm and ``temperature_offset`` 0 K (a user sweeps them).  The chip
  is calibrated at ΔT = 0; an ambient change shifts each MZI's arm offset by the arms'
  *differential* dn_eff/dT (devices.waveguide_model at each arm's width/thickness; ≈ 1e-3
  rad/K for a 1 nm arm difference: balanced arms reject a uniform temperature).  The
  library's couplers and heaters have no temperature dependence, so it acts nowhere else.
* ``wdm_channels`` 1 (one wavelength), ``wdm_spacing`` 0.8 nm: WDM channels sharing every
  mesh, centred on 1550 nm + ``wavelength_offset`` on a grid of that spacing (0.8 nm = the
  100 GHz grid of ITU-T G.694.1 at 1550 nm); the samples of a batch are spread over them
  round-robin (sample b on channel b mod W: W× the throughput of one mesh).  Each channel
  sees its own couplers, heater phases (thermo-optic dispersion) and arm offsets from the
  compact models (:mod:`pipeline.chip.mesh_chip`), so one set of phases must serve all of
  them.  Chosen over a source linewidth: a laser line (MHz, ~1e-5 nm) is far narrower than
  anything the mesh resolves, and a broadband source cannot feed the coherent receivers
  that the in-situ procedure needs.  The channels must stay inside the compact models' band
  (±50 nm around 1550 nm).
* ``crossing_crosstalk_scale`` acts only where a layout has crossings (the attenuator's
  ``fanout_routing = "optical"``; the default metal fan-out and Clements meshes have none).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from pipeline.chip.random_field import correlated_pair
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
    correlation_length: float = quantity(1000.0, "um", "spatial correlation length of within-die offsets "
                                         "(exponential kernel; 0: independent devices, no arm offsets)", ge=0)
    arm_phase_sigma: float | None = quantity(None, "rad", "1-sigma static phase offset between every MZI's two "
                                             "arms (None: derived from the fabrication field, arm_offsets)",
                                             ge=0, le=10)
    heater_efficiency_sigma: float = quantity(0.03, "1", "1-sigma relative heater-to-heater spread of the "
                                              "dissipated power (P_pi spread)", ge=0, le=0.5)
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
    phase_drift: float = quantity(0.01, "rad/h^0.5", "random-walk drift rate of every MZI phase", ge=0, le=10)
    calibration_age: float = quantity(1.0, "h", "time between the die's calibration and its use", ge=0, le=1e4)
    reading_time: float = quantity(1e-6, "s", "time per detector reading (drift clock)", gt=0, le=1)
    modulator_bias_sigma: float = quantity(0.05, "rad", "1-sigma static bias error of activation modulators",
                                           ge=0, le=1)
    # light and detection
    optical_power: float = quantity(100e-6, "W", "optical power per input channel at the chip", gt=0, le=0.1)
    measurement_bandwidth: float = quantity(100e6, "Hz", "detector noise bandwidth of one reading", gt=0, le=1e12)
    detector_noise: bool = quantity(True, "1", "shot, thermal and dark-current noise on every reading")
    detector_gain_sigma: float = quantity(0.02, "1", "1-sigma relative responsivity spread between detectors",
                                          ge=0, le=0.5)
    adc_bits: int = quantity(12, "bit", "ADC resolution of every detector reading over its full scale "
                             "(0 = continuous)", ge=0, le=32)
    laser_rin: float | None = quantity(-150.0, "dB/Hz", "laser relative intensity noise (None: off)",
                                       le=-100, ge=-200)
    # operating point
    wavelength_offset: float = quantity(0.0, "nm", "laser wavelength offset from 1550 nm", ge=-20, le=20)
    temperature_offset: float = quantity(0.0, "K", "chip temperature offset from the calibration", ge=-20, le=20)
    wdm_channels: int = quantity(1, "1", "WDM channels sharing every mesh (batch samples spread round-robin)",
                                 ge=1, le=64)
    wdm_spacing: float = quantity(0.8, "nm", "WDM channel spacing (ITU 100 GHz grid: 0.8 nm)", gt=0, le=20)

    def model_post_init(self, _: object) -> None:
        half = 0.5 * (self.wdm_channels - 1) * self.wdm_spacing
        if abs(self.wavelength_offset) + half > 50.0:
            raise SpecError(f"wdm_channels = {self.wdm_channels} at wdm_spacing = {self.wdm_spacing} nm around "
                            f"wavelength_offset = {self.wavelength_offset} nm reach {abs(self.wavelength_offset) + half:.1f}"
                            " nm from 1550 nm: outside the compact models' band (+-50 nm). Fix: fewer channels or a "
                            "smaller spacing.")

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
                       arm_phase_sigma=0, heater_efficiency_sigma=0, phase_drift=0, adc_bits=0,
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
    z_w, z_t = correlated_pair(positions_um, spec.correlation_length, rng)  # pipeline.chip.random_field
    dw = spec.die_width_offset * rng.standard_normal() + spec.width_sigma * z_w
    dt = spec.die_thickness_offset * rng.standard_normal() + spec.thickness_sigma * z_t
    return (np.clip(dw, -WIDTH_RANGE_UM, WIDTH_RANGE_UM), np.clip(dt, -THICKNESS_RANGE_UM, THICKNESS_RANGE_UM))

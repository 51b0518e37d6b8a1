"""One fabricated ``mesh`` chip (:mod:`pipeline.chip.mesh_network`): its Clements meshes as
sampled from the seed, its heaters and phase errors, and how its controller programs phases
into heater powers.  What it reads and the training procedure on it:
:mod:`pipeline.chip.mesh_die`.

MZIs from the coupler compact model (κ² shifted from 50:50 by the model's change with the
sampled width/thickness offsets and the wavelength offset; excess loss scaled by
``insertion_loss_scale``), heater insertion loss from the phase-shifter model, propagation
loss over ``column_length``; phases programmed as heater powers with the nominal dφ/dP
(DAC over 0…2 ``HEADROOM`` P_π, :func:`heater_drive.dac`), realised through the thermal
crosstalk matrix of each heater row at ``2·mode_pitch`` (:func:`heater_drive.row_crosstalk`)
and the actual dφ/dP at the operating wavelength, with static arm offsets, per-heater
efficiency spread and drift (:mod:`pipeline.chip.mesh_calibration`); phase noise drawn per
optical pass.  Detectors (output, taps, activation, coherent receivers) from
:mod:`devices.photodetector_electrical` with the library Ge detector's responsivity
(:func:`pipeline.library.figures.detector_figures`) and per-detector gain errors;
activation modulators (main and derivative) with static bias errors.  Taps: weak monitors
reading ``tap_fraction`` of the light (not removed from the waveguide, as with Pai's imaging
of grating-scattered light).

WDM (``wdm_channels`` W > 1, :mod:`pipeline.chip.impairments`): channel wavelengths
λ_w = λ_die + (w − (W−1)/2)·``wdm_spacing``; every layer also gets a
:class:`MeshHardware` with a wavelength axis (``channel_hardware``): couplers from the
coupler model at λ_w (same sampled offsets), the same heater arms and column losses; the
realised phase of MZI k at λ_w (:meth:`MeshChip.realised_phases` with ``channels``) is
c_w · (heater phase at λ_die) + φ₀,k(λ_w) + drift + noise, with the heaters' thermo-optic
dispersion c_w = (λ_die/λ_w)·[1 − (ν_T − 1)(λ_w − λ_die)/λ_die], ν_T = −λ (d/dλ dφ/dP)/(dφ/dP)
from the phase-shifter model (:func:`pipeline.circuit.mesh_spectral.phase_dispersion`), and
the arm offsets φ₀(λ_w) of the same arms evaluated through the waveguide model at λ_w
(:func:`mesh_calibration.phase_errors`; an ``arm_phase_sigma`` override is taken as
wavelength-independent).  Drift and phase noise are common to the channels.  W = 1: none of
this is built (the single-wavelength die, unchanged).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from devices import coupler_model, phase_shifter
from devices.photodetector_electrical import PhotodetectorElectricalSpec
from pipeline.chip import heater_drive
from pipeline.chip import mesh_calibration as mc
from pipeline.chip.drift import PhaseDrift
from pipeline.chip.impairments import ImpairmentSpec, sample_fabrication
from pipeline.library.figures import DESIGN_WAVELENGTH_UM
from pipeline.circuit.mesh import MeshHardware, column_groups, coupler_matrix
from pipeline.circuit.mesh_spectral import phase_dispersion


class MeshChip:
    """One fabricated ``mesh`` chip and its programming (module doc).  ``architecture``: the
    :class:`~pipeline.chip.mesh_network.MeshNetwork` it realises."""

    def __init__(self, architecture, impairments: ImpairmentSpec, seed: int, library) -> None:
        self.architecture, self.impairments, self.seed, self.measurements = architecture, impairments, seed, 0
        self.library = library  # pipeline.library.Library: every device figure and compact model
        fab = np.random.default_rng(seed)  # fabrication: couplers, modulator bias, detector gains
        self._rng = np.random.default_rng([seed, 1])  # reading and phase noise
        self.wavelength = DESIGN_WAVELENGTH_UM + impairments.wavelength_offset * 1e-3
        w = impairments.wdm_channels
        self.n_channels = w
        self.channel_wavelengths = self.wavelength + (np.arange(w) - (w - 1) / 2) * impairments.wdm_spacing * 1e-3
        self._sample_couplers(fab)
        self._init_heaters()
        self._build_meshes()
        self._init_modulators_and_detectors(fab)
        self.powers = np.zeros((architecture.spec.n_layers, 2, architecture.k))
        self.offset, self.efficiency, drift = mc.phase_errors(self, seed)
        if self.n_channels > 1:
            self._init_channels(seed)
        self._drift = PhaseDrift(impairments, drift.shape, np.random.default_rng([seed, 6]), initial=drift)
        self.calibration: mc.MeshCalibration | None = None  # the lab calibration (mesh_die runs it)
        self.calibration_measurements = 0
        self.layer_gain = np.ones(architecture.spec.n_layers)  # detector electronics gain per layer (1: nominal)

    # -- construction, step by step ---------------------------------------------------------
    def _sample_couplers(self, fab: np.random.Generator) -> None:
        """Fabrication offsets at the two couplers of every MZI (at their layout positions),
        their power couplings and excess losses."""
        imp, s, lay = self.impairments, self.architecture.spec, self.architecture.layout
        k, n_l = self.architecture.k, s.n_layers
        x_pos = (np.arange(n_l)[:, None] * (lay.n_columns + 1) + lay.column[None, :]) * s.column_length
        pos = np.stack([np.repeat(x_pos[..., None], 2, -1) + np.array([0.25, 0.75]) * s.column_length,
                        np.broadcast_to((lay.modes + 0.5)[None, :, None] * s.mode_pitch, (n_l, k, 2))], -1)
        dw, dt = sample_fabrication(imp, pos.reshape(-1, 2), fab)
        self.dw, self.dt = dw.reshape(n_l, k, 2), dt.reshape(n_l, k, 2)
        ideal_die = imp.width_sigma == imp.thickness_sigma == imp.die_width_offset == imp.die_thickness_offset == 0 \
            and imp.wavelength_offset == 0
        if ideal_die:
            self.kappa2 = np.full((n_l, k, 2), 0.5)
        else:
            cm = self.library.model("coupler")
            k0 = coupler_model.power_coupling(wavelength=DESIGN_WAVELENGTH_UM, model=cm)
            self.kappa2 = np.clip(0.5 + coupler_model.power_coupling(wavelength=self.wavelength, dw=self.dw,
                                                                     dt=self.dt, model=cm) - k0, 0.0, 1.0)
        self.coupler_loss_db = (imp.insertion_loss_scale * coupler_model.excess_loss_db(
            wavelength=self.wavelength, dw=self.dw, dt=self.dt, model=self.library.model("coupler"))
        ) if imp.insertion_loss_scale else np.zeros_like(self.dw)

    def _init_heaters(self) -> None:
        """Heaters: insertion loss, nominal and actual dφ/dP, P_π; each heater row's thermal
        crosstalk (MZIs of one column, every second mode: ``2·mode_pitch`` apart)."""
        imp, s = self.impairments, self.architecture.spec
        heater = self.library.model("phase_shifter")
        self.heater_loss_db = imp.insertion_loss_scale * heater.insertion_loss_db
        self.dphase_dpower_nominal = float(phase_shifter.phase(wavelength=DESIGN_WAVELENGTH_UM, power_w=1.0,
                                                               model=heater))
        self.dphase_dpower = float(phase_shifter.phase(wavelength=self.wavelength, power_w=1.0, model=heater))
        self.p_pi = np.pi / self.dphase_dpower_nominal
        self._rows = column_groups(self.architecture.layout)
        self._xt = heater_drive.row_crosstalk(self.library, self._rows, 2 * s.mode_pitch, imp.thermal_crosstalk_scale)

    def _build_meshes(self) -> None:
        """Each layer's mesh transfer (:class:`pipeline.circuit.mesh.MeshHardware`): lossy
        couplers, the heater arms' insertion loss, the columns' propagation loss."""
        imp, s, lay = self.impairments, self.architecture.spec, self.architecture.layout
        self.column_loss_db = imp.propagation_loss * s.column_length * 1e-4
        cpl = coupler_matrix(self.kappa2, 10 ** (-self.coupler_loss_db / 20))
        th_arm = np.tile([10 ** (-self.heater_loss_db / 20), 1.0], (self.architecture.k, 1)).astype(complex)
        cols = np.full(lay.n_columns, 10 ** (-self.column_loss_db / 20), complex)
        ones = np.ones(lay.n, complex)
        self.hardware = [MeshHardware(lay, cpl[i, :, 0], cpl[i, :, 1], th_arm, th_arm.copy(), ones, ones, cols)
                         for i in range(s.n_layers)]

    def _init_channels(self, seed: int) -> None:
        """WDM channels (module doc): couplers and arm offsets at every channel wavelength,
        the heaters' dispersion factor c_w and each layer's mesh with a wavelength axis."""
        imp, s, lay = self.impairments, self.architecture.spec, self.architecture.layout
        lam, lam0 = self.channel_wavelengths, self.wavelength
        cm, heater = self.library.model("coupler"), self.library.model("phase_shifter")
        k0 = coupler_model.power_coupling(wavelength=DESIGN_WAVELENGTH_UM, model=cm)
        shape = (-1,) + (1,) * self.dw.ndim
        self.channel_kappa2 = np.clip(0.5 + coupler_model.power_coupling(
            wavelength=lam.reshape(shape), dw=self.dw, dt=self.dt, model=cm) - k0, 0.0, 1.0)
        loss_db = imp.insertion_loss_scale * coupler_model.excess_loss_db(
            wavelength=lam.reshape(shape), dw=self.dw, dt=self.dt, model=cm) if imp.insertion_loss_scale \
            else np.zeros_like(self.channel_kappa2)
        h = 1e-3  # µm: central difference of the model's dφ/dP(λ)
        f = [float(phase_shifter.phase(wavelength=v, power_w=1.0, model=heater)) for v in (lam0 - h, lam0, lam0 + h)]
        self.heater_index_ratio = -lam0 * (f[2] - f[0]) / (2 * h) / f[1]  # ν_T
        self.heater_scale = phase_dispersion(lam, lam0, self.heater_index_ratio)
        self.channel_offset = np.stack([mc.phase_errors(self, seed, float(v))[0] for v in lam])  # (W, layer, 2, K)
        cpl = coupler_matrix(self.channel_kappa2, 10 ** (-loss_db / 20))  # (W, layer, K, 2, 2, 2)
        w, k = lam.size, self.architecture.k
        arm = np.broadcast_to(self.hardware[0].internal, (w, k, 2)).copy()
        cols = np.broadcast_to(self.hardware[0].columns, (w, lay.n_columns)).copy()
        ones = np.ones((w, lay.n), complex)
        self.channel_hardware = [MeshHardware(lay, cpl[:, i, :, 0], cpl[:, i, :, 1], arm, arm.copy(), ones, ones,
                                              cols, wavelengths=lam, phase_scale=self.heater_scale)
                                 for i in range(s.n_layers)]

    def _init_modulators_and_detectors(self, fab: np.random.Generator) -> None:
        """Activation modulators' (main, derivative) bias errors; every detector's gain error;
        the detectors' electrical model with the library Ge detector's responsivity."""
        imp, s, lay = self.impairments, self.architecture.spec, self.architecture.layout
        n_l, k = s.n_layers, self.architecture.k
        self.bias_error = imp.modulator_bias_sigma * fab.standard_normal((2, max(n_l - 1, 0), lay.n))
        self.gain = {name: 1 + imp.detector_gain_sigma * fab.standard_normal(shape) for name, shape in
                     (("output", (s.n_out,)), ("activation", (max(n_l - 1, 0), lay.n)),
                      ("taps", (n_l, 2, k)))}
        self.gain["output_taps"] = 1 + imp.detector_gain_sigma * np.random.default_rng([self.seed, 5]).standard_normal(
            (n_l, k, 2))
        self.detector_figures = self.library.detector_figures(float(s.detector_ge_length), self.wavelength,
                                                              float(s.detector_collection_efficiency))
        self.detector = PhotodetectorElectricalSpec(wavelength=min(max(self.wavelength, 0.81), 1.99),
                                                    responsivity=self.detector_figures.responsivity_a_per_w)
        self.full_scale = float(lay.n)  # ADC full scale of a power reading: all N inputs at 1

    # -- programming ----------------------------------------------------------------------
    def heater_powers(self, params: np.ndarray) -> np.ndarray:
        """(layer, theta|phi, K) heater powers [W]: nominal dφ/dP and zero offset, or through
        the lab calibration (mesh_calibration.program_powers); DAC over 0…2.5 P_π (headroom for P_π spread)."""
        phases = np.stack([np.stack(tp) for tp in self.architecture.split(self.architecture.clip_params(params))])
        cal = self.calibration
        if cal is None:
            p = phases / self.dphase_dpower_nominal
        else:
            p = mc.program_powers(cal, self.architecture.layout, phases, self.dphase_dpower_nominal)
        return heater_drive.dac(p, 2 * mc.HEADROOM * self.p_pi, self.impairments.dac_bits)

    def realised_phases(self, powers: np.ndarray, noise: bool, averaged: int = 1,
                        channels: bool = False) -> np.ndarray:
        """Phases [rad] (…, layer, θ|φ, K) for heater powers: efficiency, crosstalk, offsets,
        drift (advanced to the readings taken so far), and with ``noise`` one phase-noise draw
        (σ/√averaged: a reading averaged over that many samples).  ``channels`` on a WDM die:
        (W, layer, θ|φ, K) at every channel (module doc; powers (layer, θ|φ, K))."""
        imp = self.impairments
        ph = powers * self.efficiency * self.dphase_dpower
        out = np.empty_like(ph)
        for ks, xt in zip(self._rows, self._xt):
            out[..., ks] = np.einsum("ij,...j->...i", xt, ph[..., ks])
        self._drift.update(self.measurements)
        if channels and self.n_channels > 1:
            out = self.heater_scale[:, None, None, None] * out[None] + self.channel_offset + self.drift
            if noise and imp.phase_noise:  # one draw per heater, common to the channels
                out = out + imp.phase_noise / np.sqrt(averaged) * self._rng.standard_normal(out.shape[1:])
            return out
        out = out + self.offset + self.drift
        if noise and imp.phase_noise:
            out = out + imp.phase_noise / np.sqrt(averaged) * self._rng.standard_normal(out.shape)
        return out

    @property
    def drift(self) -> np.ndarray:
        """Accumulated phase drift [rad] (layer, θ|φ, K) (:class:`pipeline.chip.drift.PhaseDrift`)."""
        return self._drift.phase

    def program(self, params: np.ndarray) -> None:
        self.powers = self.heater_powers(params)

    def _matrices(self, phases: np.ndarray) -> list[np.ndarray]:
        """Each layer's N×N transfer at realised ``phases`` (layer, θ|φ, K); (W, N, N) at
        channel phases (W, layer, θ|φ, K) of a WDM die."""
        if phases.ndim == 4:
            return [hw.matrix(phases[:, i, 0], phases[:, i, 1]) for i, hw in enumerate(self.channel_hardware)]
        return [hw.matrix(phases[i, 0], phases[i, 1]) for i, hw in enumerate(self.hardware)]

    def channel_masks(self, batch: int) -> np.ndarray:
        """(W, batch) 0/1: sample b travels on channel b mod W (module doc of impairments)."""
        return (np.arange(batch)[None, :] % self.n_channels == np.arange(self.n_channels)[:, None]).astype(float)

    # -- the chip as data ---------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        s = self.architecture.spec
        lay = self.architecture.layout
        dims = ("layer", "mzi", "coupler")
        ds = xr.Dataset(
            {"dw": (dims, self.dw, {"units": "um", "description": "Si width offset"}),
             "dt": (dims, self.dt, {"units": "um", "description": "Si thickness offset"}),
             "kappa2": (dims, self.kappa2, {"units": "1", "description": "coupler power splitting"}),
             "coupler_loss": (dims, self.coupler_loss_db, {"units": "dB"}),
             "heater_power": (("layer", "shifter", "mzi"), self.powers, {"units": "W"}),
             "activation_bias_error": (("derivative", "layer_gap", "mode"), self.bias_error, {"units": "rad"}),
             "tap_gain": (("layer", "shifter", "mzi"), self.gain["taps"], {"units": "1"}),
             "phase_offset": (("layer", "shifter", "mzi"), self.offset, {"units": "rad"}),
             "heater_efficiency": (("layer", "shifter", "mzi"), self.efficiency, {"units": "1"}),
             "output_gain": (("output",), self.gain["output"], {"units": "1"})},
            coords={"layer": np.arange(s.n_layers), "mzi": np.arange(lay.n_mzi), "coupler": [1, 2],
                    "shifter": ["theta", "phi"], "mzi_mode": ("mzi", lay.modes), "mzi_column": ("mzi", lay.column),
                    "derivative": [False, True]})
        ds.attrs.update(architecture="mesh", seed=self.seed, wavelength_um=self.wavelength,
                        heater_loss_db=self.heater_loss_db, column_loss_db=self.column_loss_db,
                        p_pi_w=self.p_pi, responsivity_a_per_w=self.detector.responsivity,
                        calibration_measurements=self.calibration_measurements, spec=s.canonical_json(), impairments=self.impairments.canonical_json())
        return ds

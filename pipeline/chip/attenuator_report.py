"""The attenuator die as data: its Dataset (per-MZI fabrication, couplers, heaters, phase
errors, losses, detector gains, modulators, crosstalk and the calibrations' estimates; named
dims, units in attrs) and its headline summary (``photoprop chip show``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from devices import photodetector_electrical as pde
from pipeline.chip import fanout
from pipeline.chip import neuron as nr


def die_dataset(die) -> xr.Dataset:
    """The die: per-MZI fabrication, couplers, heaters, losses, detector gains; per-neuron
    modulators; crosstalk matrix and its measured estimate Ĉ; noise floor (units in attrs)."""
    a, imp = die.architecture, die.impairments
    nh, no, n1, nw = a.n_hidden, a.n_out, a.n1, a.n_params
    layer = np.where(np.arange(nw) < n1, 1, 2)
    neuron = np.concatenate([np.repeat(np.arange(nh), a.n_in + 1), np.repeat(np.arange(no), nh + 1)])
    inp = np.concatenate([np.tile(np.arange(a.n_in + 1), nh), np.tile(np.arange(nh + 1), no)])
    bwd = np.full(nw, np.nan)
    bwd[n1:] = np.concatenate([die.loss_backward_db, np.full((no, 1), np.nan)], 1).ravel()
    gb = np.full(nw, np.nan)
    gb[n1:] = np.concatenate([die.gain_backward, np.full((no, 1), np.nan)], 1).ravel()
    u = lambda v, unit, d=None: (v[0], v[1], {"units": unit, **({"long_name": d} if d else {})})  # noqa: E731
    r, p0, bw = die.det.responsivity, imp.optical_power, imp.measurement_bandwidth
    full_scale_current = r * p0 / nh
    floor = float(np.sqrt(nr.node_noise_variance(0.0, 2 * (a.n_in + 1), spec=die.det, bandwidth=bw)))
    ds = xr.Dataset(
        {"dw": u((("weight", "coupler"), die.dw), "um"), "dt": u((("weight", "coupler"), die.dt), "um"),
         "kappa2": u((("weight", "coupler"), die.kappa2), "1", "coupler power coupling (of transmitted)"),
         "coupler_loss": u((("weight", "coupler"), die.coupler_loss_db), "dB", "library excess loss (unscaled)"),
         "programmed_weight": u((("weight",), die.params), "1"),
         "realised_weight": u((("weight",), die.realised_weights()), "1", "T_bar - T_cross, lossless"),
         "heater_power": u((("weight",), die.heater_power), "W"),
         "phase": u((("weight",), die.phases()), "rad"),
         "arm_offset": u((("weight",), die.arm_offset), "rad", "static phase offset between the MZI's arms"),
         "heater_efficiency": u((("weight",), die.heater_efficiency), "1",
                                "dissipated power per nominal drive (P_pi,nominal / P_pi)"),
         "phase_drift": u((("weight",), die.drift.phase), "rad", "accumulated drift since the calibration"),
         "arm_offset_measured": u((("weight",), _nan_or(die, die.offset_measured)), "rad",
                                  "phase calibration's arm offset (NaN: not calibrated)"),
         "heater_efficiency_measured": u((("weight",), _nan_or(die, die.efficiency_measured)), "1",
                                         "phase calibration's heater efficiency (NaN: not calibrated)"),
         "loss_forward": u((("weight",), die.loss_forward_db), "dB", "source to forward detector"),
         "loss_backward": u((("weight",), bwd), "dB", "backward source to backward detector"),
         "crossings": u((("weight",), die.crossings), "1", "waveguide crossings on the forward path"),
         "crossing_loss": u((("weight",), die.crossing_loss_db), "dB", "crossings' share of loss_forward"),
         "crossing_leak": u((("weight",), _leak_total(die)), "1",
                            "leaked power entering the path / its own channel's, all channels lit equally"),
         "gain_forward": u((("weight", "side"), die.gain_forward), "1", "relative responsivity"),
         "gain_backward": u((("weight",), gb), "1"),
         "crosstalk": u((("heater_out", "heater_in"), die.crosstalk), "1", "phase per driven phase"),
         "crosstalk_measured": u((("heater_out", "heater_in"), _crosstalk_or_nan(die)), "1",
                                 "measured heater response C^ (phase per nominally driven phase; NaN: not "
                                 "calibrated); true value dphase_dpower p_pi / pi * crosstalk"),
         "modulator_kappa2": u((("neuron", "coupler"), die.mod_kappa2), "1"),
         "modulator_extinction": u((("neuron",), 10 * np.log10((die.mod_a + die.mod_b)
                                                              / np.maximum(die.mod_a - die.mod_b, 1e-300))),
                                   "dB"),
         "modulator_bias_error": u((("neuron", "modulator"), die.mod_bias), "rad"),
         "loss_readout": u((("neuron",), die.loss_readout_db), "dB", "modulator to its detectors"),
         "gain_derivative": u((("neuron", "side"), die.gain_derivative), "1"),
         "gain_readout": u((("neuron",), die.gain_readout), "1", "output detector / hidden monitor"),
         "calibration_gain_node": u((("neuron",), die.cal_node), "1", "weighted-sum node gain (calibrated)"),
         "calibration_gain_readout": u((("neuron",), die.cal_readout), "1", "monitor / output ADC gain"),
         "calibration_gain_derivative": u((("neuron",), die.cal_derivative), "1", "derivative-pair gain"),
         "calibration_gain_backward": u((("neuron",), np.r_[die.cal_backward, die.cal_source]), "1",
                                        "hidden: backward node gain; output: backward source attenuation"),
         "node_noise_floor": u(((), floor), "A", "rms dark + thermal noise of a hidden node"),
         "node_full_scale": u(((), full_scale_current), "A", "hidden node current at z = 1"),
         "relative_noise_floor": u(((), floor / full_scale_current), "1"),
         "nep": u(((), pde.nep(spec=die.det)), "W/Hz^0.5"),
         "responsivity": u(((), die.det.responsivity), "A/W", "detector responsivity at the laser wavelength")},
        coords={"weight": np.arange(nw), "layer": ("weight", layer), "neuron_index": ("weight", neuron),
                "input_index": ("weight", inp), "x": ("weight", die.mzi_xy[:, 0]),
                "y": ("weight", die.mzi_xy[:, 1]), "coupler": ["in", "out"], "side": ["+", "-"],
                "heater_out": np.arange(nw), "heater_in": np.arange(nw),
                "neuron": np.arange(nh + no), "neuron_layer": ("neuron", np.r_[np.ones(nh, int), np.full(no, 2)]),
                "modulator": ["f", "d+", "d-"]})
    ds["x"].attrs["units"] = ds["y"].attrs["units"] = "um"
    ds.attrs.update(architecture="attenuator", seed=die.seed, impairments=imp.canonical_json(),
                    spec=a.spec.canonical_json(), wavelength_um=die.wavelength, p_pi_w=die.p_pi,
                    dphase_dpower_rad_per_w=die.dphase_dpower, coupling_length_um=die.coupling_length,
                    measurements=die.measurements, calibration_measurements=die.calibration_measurements,
                    gain_calibration=int(a.spec.gain_calibration), calibration_samples=a.spec.calibration_samples,
                    crosstalk_calibration=int(die.crosstalk_measured is not None),
                    phase_calibration=int(die.offset_measured is not None),
                    crossing_insertion_loss_db=die.crossing_figures.insertion_loss_db,
                    crossing_crosstalk_db=die.crossing_figures.crosstalk_db,
                    crossing_leak_fraction=die.crossing_leak, crossing_entry=die.crossing_figures.key)
    ds.attrs["neuron_kind"] = die.neuron.kind
    if die.neuron.kind == "ring":
        rg = die.neuron
        ds = ds.assign({
            "ring_heater_power": u((("neuron", "modulator"), rg.power.reshape(-1, 3)), "W", "ring heater (locked)"),
            "ring_temperature": u((("neuron", "modulator"), rg.temperatures()), "K",
                                  "ring-averaged temperature rise (heaters + crosstalk + ambient)"),
            "ring_fabricated_offset": u((("neuron", "modulator"), rg.fabricated_offset_pm()), "pm",
                                        "resonance shift by the width/thickness field"),
            "ring_lock_residual": u((("neuron", "modulator"), rg.residual_pm()), "pm",
                                    "detuning error after the lock (target - actual)")})
        ds.attrs.update(ring_entry=rg.resp.key, ring_t_ref=rg.op.t_ref, ring_hwhm_pm=rg.op.hwhm_pm,
                        ring_fsr_pm=rg.resp.fsr_pm, ring_pm_per_K=rg.resp.pm_per_K,
                        ring_kelvin_per_watt=rg.k_nominal, ring_lock_measurements=rg.lock_measurements)
    if die.detector_figures is not None:
        d = die.detector_figures
        ds.attrs.update(detector_ge_length_um=d.ge_length_um, detector_absorbed_fraction=d.absorbed_fraction,
                        detector_collection_efficiency=d.collection_efficiency,
                        detector_quantum_limit_a_per_w=d.quantum_limit_a_per_w, detector_entry=d.key)
    return ds

def _nan_or(die, v: np.ndarray | None) -> np.ndarray:
    return np.full(die.architecture.n_params, np.nan) if v is None else v

def _crosstalk_or_nan(die) -> np.ndarray:
    return np.full_like(die.crosstalk, np.nan) if die.crosstalk_measured is None else die.crosstalk_measured

def _leak_total(die) -> np.ndarray:
    """Per forward path: leaked power / own power with every channel at the same power
    (X · crossings on that path)."""
    return np.concatenate([die._leak1.sum(1), die._leak2.sum(1)])

def die_summary(die) -> dict[str, float]:
    """Headline numbers of the die (CLI ``chip show``)."""
    ds, a = die_dataset(die), die.architecture
    out = {"loss_forward_db_mean": float(ds.loss_forward.mean()),
            "loss_forward_db_max": float(ds.loss_forward.max()),
            "kappa2_std": float(ds.kappa2.std()), "kappa2_mean": float(ds.kappa2.mean()),
            "crosstalk_nearest": float(die.crosstalk[1, 0]) if die.architecture.n_params > 1 else 0.0,
            "weight_error_rms": float(np.sqrt(np.mean((ds.realised_weight - ds.programmed_weight) ** 2))),
            "modulator_extinction_db_min": float(ds.modulator_extinction.min()),
            "relative_noise_floor": float(ds.relative_noise_floor), "p_pi_mw": die.p_pi * 1e3,
            "crossings_max": float(ds.crossings.max()), "crossings_total": float(fanout.total_crossings(a.n_in + 1, a.n_hidden)
                                                               + fanout.total_crossings(a.n_hidden + 1, a.n_out))
            * (a.spec.layout.fanout_routing == "optical"),
            "crossing_loss_db_max": float(ds.crossing_loss.max()),
            "crossing_loss_db_mean": float(ds.crossing_loss.mean()),
            "crossing_leak_max": float(ds.crossing_leak.max()),
            "responsivity_a_per_w": float(die.det.responsivity),
            "calibration_gain_node_mean": float(ds.calibration_gain_node.mean()),
            "calibration_measurements": float(die.calibration_measurements)}
    if die.neuron.kind == "ring":  # the MZM's couplers do not exist on a ring die
        out.pop("modulator_extinction_db_min")
        out.update(die.neuron.summary())
    out["arm_offset_rms"] = float(np.sqrt(np.mean(die.arm_offset ** 2)))
    out["heater_efficiency_std"] = float(np.std(die.heater_efficiency))
    if die.offset_measured is not None:  # only when calibrated (JSON has no NaN)
        off, eff = die.phase_truth()
        out["phase_calibration_offset_error_max"] = float(np.max(np.abs(np.angle(np.exp(
            1j * (die.offset_measured - off))))))
        out["phase_calibration_efficiency_error_max"] = float(np.max(np.abs(die.efficiency_measured - eff)))
    if die.crosstalk_measured is not None:  # only when calibrated (JSON has no NaN)
        out["crosstalk_calibration_error_max"] = float(np.max(np.abs(die.crosstalk_measured
                                                                     - die.heater_response())))
    return out

"""Specs of the ``attenuator`` network (:mod:`pipeline.chip.attenuator`): its layout (design
lengths with their reasons) and its sizes, neuron, detectors and calibrations; and the array
check its inputs go through."""

from __future__ import annotations

from typing import Literal

import numpy as np

from devices import photodetector_electrical as pde
from pipeline.chip import neuron as nr
from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity


class AttenuatorLayout(Spec):
    """Geometry of the chip (design numbers of this layout, not physics constants).

    Fan-out and crossings (:mod:`pipeline.chip.fanout`): each layer's C channels (inputs +
    bias; hidden neurons + bias) are split by splitter trees stacked in channel order; the
    weight MZIs sit in one column, neuron-major at ``heater_pitch``; the wires are routed
    in the single Si layer, so the path of channel c to neuron d crosses every wire whose
    order is reversed between the trees and the column — c·(D − 1 − d) + (C − 1 − c)·d
    crossings (D neurons of the layer; 2 inputs + bias → 8 neurons: 0…14 per path, 84 in
    all; a layer with one neuron has none).  Backward light reaches each output's MZIs,
    which are adjacent, from its own tree: no crossings; detectors and taps sit at their
    devices' ports.  Crossings lie inside ``input_routing_length`` /
    ``neuron_routing_length``.

    ``fanout_routing = "metal"`` (default) avoids them: the MZIs sit channel-major (each
    channel's tree feeds its D MZIs directly, no optical crossing) and each neuron's
    balanced pairs are joined by metal interconnect — the summation is electrical anyway,
    and metal lines cross waveguides and each other (two metal layers) without optical
    loss.  ``"optical"`` is the single-node column above, with its crossings.

    Every length here is a design choice of this layout, with its reason: ``heater_pitch``
    20 µm (dense heater rows of thermo-optic meshes, 20–50 µm; the simulated crosstalk at
    this pitch is 0.03, :func:`devices.phase_shifter.crosstalk_matrix`), ``mzi_length``
    300 µm (two couplers of the library design, a 2 µm-wide heater of ~100 µm and bends),
    ``arm_separation`` 10 µm (keeps the unheated arm cool), routing lengths of 1.5 mm and
    ``layer_spacing`` 3 mm (a 2 × 8 × 1 network with detectors and drivers between the
    layers on a ~5 mm die), ``detector_routing_length`` 200 µm, ``monitor_tap`` 5 % (a
    monitor that costs 0.2 dB of the neuron's output)."""

    heater_pitch: float = quantity(20.0, "um", "pitch of neighbouring weight MZIs (heater row)", gt=1.0, le=500.0)
    layer_spacing: float = quantity(3000.0, "um", "x distance between the two layers' MZI columns", gt=0)
    input_routing_length: float = quantity(1500.0, "um", "waveguide from input attenuator to a weight MZI", ge=0)
    mzi_length: float = quantity(300.0, "um", "waveguide length through one weight MZI (its arm length)", ge=0)
    arm_separation: float = quantity(10.0, "um", "centre distance of an MZI's two arms (design choice: the "
                                     "heater on one arm leaves the other cool; sets the arm offsets, arm_offsets)",
                                     gt=0, le=500.0)
    detector_routing_length: float = quantity(200.0, "um", "waveguide from an MZI or modulator to its detector",
                                              ge=0)
    neuron_routing_length: float = quantity(1500.0, "um", "waveguide from a hidden modulator to the next layer", ge=0)
    backward_routing_length: float = quantity(1500.0, "um", "waveguide from a backward source to the MZIs", ge=0)
    monitor_tap: float = quantity(0.05, "1", "power fraction tapped from each hidden neuron to its monitor",
                                  gt=0, lt=0.5)
    fanout_routing: Literal["metal", "optical"] = quantity(
        "metal", "1", "metal: channel-major MZIs, neuron currents joined in metal (no crossings); "
        "optical: neuron-major MZI column reached through waveguide crossings")


class AttenuatorSpec(Spec):
    """Sizes and hardware of an ``attenuator`` network."""

    n_in: int = quantity(2, "1", "input features", ge=1, le=64)
    n_hidden: int = quantity(8, "1", "hidden opto-electronic neurons", ge=1, le=64)
    n_out: int = quantity(1, "1", "output neurons (1 for binary tasks, = classes otherwise)", ge=1, le=64)
    neuron: nr.NeuronSpec = quantity(nr.NeuronSpec(), "-", "activation modulator and driver (kind mzm | ring)")
    layout: AttenuatorLayout = quantity(AttenuatorLayout(), "-", "chip geometry")
    detector: pde.PhotodetectorElectricalSpec = quantity(pde.PhotodetectorElectricalSpec(), "-",
                                                         "Ge photodiodes' electrical model; its responsivity is "
                                                         "replaced by the library's unless detector_ge_length is None")
    detector_ge_length: float | None = quantity(10.0, "um", "Ge length of the library photodetector giving the "
                                                "responsivity (None: use detector.responsivity)", gt=0, le=200.0)
    detector_collection_efficiency: float = quantity(0.8, "1", "electrons collected per photon absorbed in the Ge "
                                                     "(pipeline.library.figures doc: source)", gt=0, le=1.0)
    gain_calibration: bool = quantity(True, "1", "calibrate every node's gain and the backward sources on the "
                                      "die before training (module doc); False: nominal lossless normalisation")
    calibration_samples: int = quantity(64, "1", "readings averaged per calibration setting", ge=1, le=100000)
    crosstalk_calibration: bool = quantity(False, "1", "measure each heater row's thermal crosstalk Ĉ (phase per "
                                           "nominally driven phase) on the die and apply heater powers "
                                           "Ĉ⁻¹ P_target [W] (pipeline.chip.crosstalk_calibration); False: "
                                           "nominal powers, crosstalk uncompensated")
    phase_calibration: bool = quantity(False, "1", "measure every MZI's static arm phase offset and heater "
                                       "efficiency (P_pi) from a heater sweep on the die's own detectors and "
                                       "program through them (pipeline.chip.phase_calibration); False: nominal "
                                       "zero offset and nominal P_pi")


def check_array(name: str, value: object, shape: tuple, lo: float | None = None, hi: float | None = None,
                 fix: str = "") -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, arr.shape)):
        want = "(" + ", ".join("batch" if s is None else str(s) for s in shape) + ")"
        raise SpecError(f"{name} has shape {arr.shape}: need {want}. Fix: {fix or 'reshape it'}.")
    tol = 1e-9
    if lo is not None and hi is not None and ((arr >= lo - tol) & (arr <= hi + tol)).all():  # finite and in range
        return nr._clip(arr, lo, hi)
    if not np.all(np.isfinite(arr)):
        raise SpecError(f"{name} contains NaN or infinity. Fix: pass finite numbers.")
    if lo is not None and np.any(arr < lo - tol) or hi is not None and np.any(arr > hi + tol):
        bad = arr[(arr < (lo if lo is not None else -np.inf) - tol) | (arr > (hi if hi is not None else np.inf) + tol)]
        raise SpecError(f"{name} = {bad.ravel()[0]:.6g} is outside [{lo}, {hi}]. Fix: {fix or 'rescale it'}.")
    return np.clip(arr, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)

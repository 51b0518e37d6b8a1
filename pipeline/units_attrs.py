"""CF-style ``units`` and ``long_name`` for every coordinate and variable photoprop writes,
and specs as structured attributes.

* :data:`ATTRS`: name → (units, long_name), one table for S-matrices, dies, training
  histories and study results (a name means the same thing wherever it appears).  Units
  are UDUNITS-style strings where one exists (``"1"`` for dimensionless numbers, counts,
  indices and labels; ``"um"``, ``"W"``, ``"K"``, ``"V"``, ``"A"``, ``"s"``, ``"rad"``),
  ``"dB"`` for losses (the CF practice).
* :func:`annotate` fills missing ``units``/``long_name`` from the table (and from a spec
  class's field declarations, :func:`spec_table`); attributes already set are kept.
* :func:`missing` / :func:`check`: the variables and coordinates still without them.
* :func:`spec_attrs` / :func:`spec_from_attrs`: a spec (or a plain mapping) flattened to
  ``<prefix>.<field>`` attributes, numbers as numbers, booleans as 0/1, None as "null" —
  beside the JSON string, and read back into the spec.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from pipeline.errors import SpecError
from pipeline.specs import Spec

Attr = tuple[str, str]
S = TypeVar("S", bound=Spec)
Obj = TypeVar("Obj", xr.Dataset, xr.DataArray)

#: name → (units, long_name).
ATTRS: dict[str, Attr] = {
    # S-matrix container (pipeline.smatrix) and its sweep coordinates
    "S": ("1", "scattering matrix S[port_out, port_in] (complex mode-amplitude ratio)"),
    "wavelength": ("um", "vacuum wavelength"),
    "port_out": ("1", "output port (the mode leaving it)"),
    "port_in": ("1", "input port (the unit-power mode entering it)"),
    "power": ("W", "heater electrical power"),
    "voltage": ("V", "applied voltage"),
    "temperature": ("K", "temperature"),
    "instance": ("1", "sampled device instance"),
    "gap": ("um", "coupler gap"),
    "length": ("um", "length"),
    "width": ("um", "waveguide width"),
    "current": ("A", "current"),
    # dies (pipeline.chip: attenuator and mesh)
    "weight": ("1", "weight (MZI) index"),
    "layer": ("1", "network layer"),
    "neuron_index": ("1", "neuron the weight feeds"),
    "input_index": ("1", "input of the neuron the weight multiplies (last: bias)"),
    "x": ("um", "MZI centre x on the die"),
    "y": ("um", "MZI centre y on the die"),
    "coupler": ("1", "coupler of the MZI (input, output)"),
    "side": ("1", "detector of a balanced pair (+, -)"),
    "heater_out": ("1", "heater whose phase responds"),
    "heater_in": ("1", "heater driven"),
    "neuron": ("1", "neuron index (hidden, then output)"),
    "neuron_layer": ("1", "layer of the neuron"),
    "modulator": ("1", "activation modulator (f: forward, d+/d-: derivative pair)"),
    "mzi": ("1", "MZI index in the mesh layer"),
    "mzi_mode": ("1", "upper mode (waveguide) of the MZI"),
    "mzi_column": ("1", "mesh column of the MZI"),
    "shifter": ("1", "phase shifter of the MZI (theta: internal, phi: external)"),
    "derivative": ("1", "activation modulator: derivative copy (True) or forward (False)"),
    "layer_gap": ("1", "activation between mesh layers"),
    "mode": ("1", "waveguide mode (port) index"),
    "output": ("1", "output detector"),
    "dw": ("um", "Si width offset from nominal"),
    "dt": ("um", "Si thickness offset from nominal"),
    "kappa2": ("1", "coupler power coupling"),
    "coupler_loss": ("dB", "coupler excess loss"),
    "programmed_weight": ("1", "weight the controller programs"),
    "realised_weight": ("1", "weight the die realises (T_bar - T_cross, lossless)"),
    "heater_power": ("W", "heater electrical power"),
    "phase": ("rad", "MZI phase"),
    "arm_offset": ("rad", "static phase offset between the MZI's arms"),
    "heater_efficiency": ("1", "dissipated power per nominal drive (P_pi,nominal / P_pi)"),
    "phase_drift": ("rad", "accumulated phase drift since the calibration"),
    "arm_offset_measured": ("rad", "phase calibration's arm offset (NaN: not calibrated)"),
    "heater_efficiency_measured": ("1", "phase calibration's heater efficiency (NaN: not calibrated)"),
    "loss_forward": ("dB", "loss from source to forward detector"),
    "loss_backward": ("dB", "loss from backward source to backward detector"),
    "crossings": ("1", "waveguide crossings on the forward path"),
    "crossing_loss": ("dB", "crossings' share of loss_forward"),
    "crossing_leak": ("1", "leaked power entering the path per own channel's power"),
    "gain_forward": ("1", "relative responsivity of the forward detectors"),
    "gain_backward": ("1", "relative responsivity of the backward detector"),
    "crosstalk": ("1", "thermal crosstalk: phase per driven phase"),
    "crosstalk_measured": ("1", "measured heater response C^ (NaN: not calibrated)"),
    "modulator_kappa2": ("1", "activation modulator coupler power coupling"),
    "modulator_extinction": ("dB", "activation modulator extinction ratio"),
    "modulator_bias_error": ("rad", "activation modulator static bias error"),
    "activation_bias_error": ("rad", "activation modulator static bias error"),
    "loss_readout": ("dB", "loss from modulator to its detectors"),
    "gain_derivative": ("1", "relative responsivity of the derivative detectors"),
    "gain_readout": ("1", "output detector / hidden monitor gain"),
    "calibration_gain_node": ("1", "weighted-sum node gain (calibrated)"),
    "calibration_gain_readout": ("1", "monitor / output ADC gain (calibrated)"),
    "calibration_gain_derivative": ("1", "derivative-pair gain (calibrated)"),
    "calibration_gain_backward": ("1", "backward node gain (hidden) or backward source attenuation (output)"),
    "node_noise_floor": ("A", "rms dark + thermal noise current of a hidden node"),
    "node_full_scale": ("A", "hidden node current at z = 1"),
    "relative_noise_floor": ("1", "node noise floor per full-scale current"),
    "nep": ("W/Hz^0.5", "detector noise-equivalent power"),
    "responsivity": ("A/W", "detector responsivity at the laser wavelength"),
    "tap_gain": ("1", "relative responsivity of the tap detectors"),
    "phase_offset": ("rad", "static phase offset of the shifter"),
    "output_gain": ("1", "relative responsivity of the output detectors"),
    # training histories (pipeline.training.history)
    "algorithm": ("1", "training algorithm"),
    "epoch": ("1", "training epoch (0: before training)"),
    "param": ("1", "trained parameter index"),
    "restart": ("1", "initialisation (ideal-best restart) index"),
    "train_loss": ("1", "MSE loss on the training split"),
    "test_loss": ("1", "MSE loss on the test split"),
    "train_accuracy": ("1", "training accuracy (fraction classified correctly)"),
    "test_accuracy": ("1", "test accuracy (fraction classified correctly)"),
    "measurements": ("1", "cumulative detector readings used for training"),
    "eval_measurements": ("1", "cumulative detector readings used for the per-epoch evaluation"),
    "wall_s": ("s", "cumulative training wall time"),
    "dead_neurons": ("1", "hidden neurons with zero activation derivative for every training sample"),
    "params": ("1", "final trained parameters"),
    "restart_seed": ("1", "init/batch-order seed of the restart"),
    "restart_train_loss": ("1", "final MSE training loss of the restart"),
    "restart_train_accuracy": ("1", "final training accuracy of the restart"),
    "restart_test_accuracy": ("1", "final test accuracy of the restart"),
    "selected_restart": ("1", "deployed restart (-1: no restarts)"),
    "calibration_measurements": ("1", "detector readings of the die's calibration"),
    # study cells and results (workflows.cells, pipeline.study, workflows.paper)
    "final_test_accuracy": ("1", "test accuracy after training"),
    "final_train_accuracy": ("1", "training accuracy after training"),
    "boundary": ("1", "predicted class on the scaled input grid"),
    "x0": ("1", "scaled input 1"),
    "x1": ("1", "scaled input 2"),
    "dataset": ("1", "dataset"),
    "seed": ("1", "die seed"),
    "init_seed": ("1", "initial-parameter and batch-order seed"),
    "split_seed": ("1", "train/test split seed"),
    "data_seed": ("1", "generated-sample seed"),
    "calibration": ("1", "the die's calibration (readout | lab)"),
    "architecture": ("1", "chip architecture"),
    "algorithms": ("1", "training algorithms of the cell"),
    "preset": ("1", "impairment preset"),
    "epochs": ("1", "training epochs"),
    "learning_rate": ("1", "optimiser step in parameter units"),
    "batch_size": ("1", "samples per training step"),
    "n_samples": ("1", "samples of a generated dataset"),
}


def spec_table(spec_cls: type[Spec]) -> dict[str, Attr]:
    """(units, long_name) of every field of ``spec_cls``, from its ``quantity`` declarations
    (an empty unit becomes ``"1"``)."""
    units = spec_cls.units()
    return {name: (units[name] or "1", (info.description or name).split(" (")[0])
            for name, info in spec_cls.model_fields.items()}


def annotate(obj: Obj, *tables: Mapping[str, Attr], specs: Mapping[str, Spec | Mapping[str, Any]] | None = None
             ) -> Obj:
    """``obj`` with ``units`` and ``long_name`` set, where missing, on every coordinate and
    variable named in ``tables`` (later tables win) or :data:`ATTRS`.  A ``description``
    attribute already present stays; it is not a long_name.  ``specs``: name → spec, each
    also stored flattened (:func:`spec_attrs`) in ``obj.attrs``."""
    table: dict[str, Attr] = {**ATTRS}
    for t in tables:
        table.update(t)
    out = obj.copy(deep=False)
    names = list(out.variables) if isinstance(out, xr.Dataset) else [*out.coords, None]
    for name in names:
        var = out if name is None else out[name]
        key = out.name if name is None else name
        if key not in table:
            continue
        units, long_name = table[str(key)]
        attrs = var.attrs
        attrs.setdefault("units", units)
        attrs.setdefault("long_name", long_name)
    for prefix, spec in (specs or {}).items():
        out.attrs.update(spec_attrs(prefix, spec))
    return out


def missing(obj: xr.Dataset | xr.DataArray) -> list[str]:
    """Coordinates and variables of ``obj`` without ``units`` or ``long_name``."""
    if isinstance(obj, xr.DataArray):
        items = [(str(obj.name), obj.attrs)] + [(str(n), obj[n].attrs) for n in obj.coords]
    else:
        items = [(str(n), obj[n].attrs) for n in obj.variables]
    return sorted(n for n, attrs in items if not attrs.get("units") or not attrs.get("long_name"))


def check(obj: xr.Dataset | xr.DataArray, where: str) -> None:
    """Raise :class:`SpecError` naming every coordinate/variable without units or long_name."""
    bad = missing(obj)
    if bad:
        raise SpecError(f"{where}: {bad} have no units/long_name attribute. Fix: add them to "
                        "pipeline.units_attrs.ATTRS (or pass a table to annotate()).")


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Spec):
        value = value.model_dump(mode="json")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flat(f"{prefix}.{k}", v, out)
    elif value is None:
        out[prefix] = "null"
    elif isinstance(value, (bool, np.bool_)):
        out[prefix] = int(value)
    elif isinstance(value, (int, float, str, np.number)):
        out[prefix] = value
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in value):
        out[prefix] = np.asarray(value)
    else:  # nested lists, empty lists, mixed: JSON text
        out[prefix] = json.dumps(value, sort_keys=True)


def spec_attrs(prefix: str, spec: Spec | Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` flattened to ``{"<prefix>.<field>[.<sub>]": value}`` (module doc)."""
    out: dict[str, Any] = {}
    _flat(prefix, spec, out)
    return out


def spec_from_attrs(attrs: Mapping[str, Any], prefix: str, spec_cls: type[S]) -> S:
    """The ``spec_cls`` stored by :func:`spec_attrs` under ``prefix`` in ``attrs``."""
    head = prefix + "."
    found = {k[len(head):]: v for k, v in attrs.items() if k.startswith(head)}
    if not found:
        raise SpecError(f"attrs: no '{head}*' attributes. Fix: write them with pipeline.units_attrs.spec_attrs.")
    nested: dict[str, Any] = {}
    for path, value in found.items():
        if isinstance(value, str) and value == "null":
            value = None
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        node = nested
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return spec_cls.model_validate(_with_bools(spec_cls, nested))


def _with_bools(spec_cls: type[Spec], data: dict[str, Any]) -> dict[str, Any]:
    """0/1 back to bools and JSON text back to lists where ``spec_cls`` declares them."""
    out = dict(data)
    for name, info in spec_cls.model_fields.items():
        if name not in out:
            continue
        ann, v = info.annotation, out[name]
        sub = next((a for a in (ann, *getattr(ann, "__args__", ())) if isinstance(a, type) and issubclass(a, Spec)),
                   None)
        if sub is not None and isinstance(v, dict):
            out[name] = _with_bools(sub, v)
        elif bool in (ann, *getattr(ann, "__args__", ())) and v in (0, 1) and not isinstance(v, float):
            out[name] = bool(v)
        elif isinstance(v, str) and v[:1] in "[{" and not (isinstance(ann, type) and issubclass(ann, str)):
            out[name] = json.loads(v)
    return out

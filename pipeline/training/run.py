"""One training run: dataset + architecture + die + algorithms → a :class:`TrainResult`
(history, final metrics, dies; :meth:`TrainResult.save` writes the .nc and plots).

Architectures are looked up by name and imported lazily (``ARCHITECTURES``), so that a
checkout without one still trains the others.

Seeds (all independent): ``seed`` — the die (its fabrication and noise stream);
``init_seed`` — initial parameters and batch order (``TrainConfig.seed``; default: the die
seed, as before); ``data_seed`` — the generated dataset's samples; ``split_seed`` — the
train/test split.  ``calibration``: ``readout`` (the die's own gain calibration, as
sampled) or ``lab`` (every hardware algorithm on ``arch.lab_calibrated().sample_die``:
per-MZI phase/P_π, crosstalk and gain calibration).  ``offline-calibrated`` always runs on
the lab-calibrated die.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.chip.impairments import ImpairmentSpec, impairments as impairment_preset
from pipeline import units_attrs
from pipeline.errors import SpecError
from pipeline.library import Library
from pipeline.training import algorithms as alg
from pipeline.training import datasets, history
from pipeline.training.result import TrainResult, predictor

__all__ = ["ARCHITECTURES", "CALIBRATIONS", "PARAM_UNITS", "TrainResult", "architecture", "compare", "lab_die",
           "param_units", "parse_algorithms", "predictor", "summary", "train"]

#: name → "module:Class" of the architectures (pipeline.chip.interface.Architecture).
ARCHITECTURES: dict[str, str] = {
    "attenuator": "pipeline.chip.attenuator:AttenuatorArchitecture",
    "mesh": "pipeline.chip.mesh_network:MeshArchitecture",
}


def architecture(name: str, n_in: int, n_out: int, library: Library | None = None, **options) -> object:
    """An architecture by name, sized for ``n_in`` features and ``n_out`` outputs; ``library``
    is handed to architectures whose constructor takes it (the attenuator's ideal model of a
    ring neuron needs the device library; None: the architecture's own default)."""
    if name not in ARCHITECTURES:
        raise SpecError(f"architecture = {name!r}: unknown. Fix: use one of {sorted(ARCHITECTURES)}.")
    module, cls_name = ARCHITECTURES[name].split(":")
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ModuleNotFoundError, AttributeError) as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name != module:
            raise
        available = [n for n, ref in ARCHITECTURES.items() if _importable(ref)]
        raise SpecError(f"architecture = {name!r}: {ARCHITECTURES[name]} is not available in this installation. "
                        f"Fix: use one of {available}.") from None
    params = inspect.signature(cls).parameters
    any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kwargs = {k: v for k, v in (("n_in", n_in), ("n_out", n_out)) if k in params or any_kw}
    if library is not None and "library" in params:  # a named parameter, not **options
        kwargs["library"] = library
    return cls(**kwargs, **options)


def _importable(ref: str) -> bool:
    module, cls_name = ref.split(":")
    try:
        return hasattr(importlib.import_module(module), cls_name)
    except ModuleNotFoundError:
        return False


def parse_algorithms(value: str) -> list[str]:
    """``all`` or a comma list of :data:`~pipeline.training.algorithms.ALGORITHMS` (order kept)."""
    names = list(alg.ALGORITHMS) if value.strip() == "all" else [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in alg.ALGORITHMS]
    if bad or not names:
        raise SpecError(f"--algorithm = {value!r}: unknown {bad or 'empty list'}. Fix: use 'all' or a comma list "
                        f"of {list(alg.ALGORITHMS)}.")
    return list(dict.fromkeys(names))


CALIBRATIONS = ("readout", "lab")


def lab_die(arch, spec: ImpairmentSpec, seed: int, library=None):
    """Die ``seed`` of ``arch.lab_calibrated()`` (the same chip, lab-calibrated), its physics
    from ``library`` (None: the architecture's edge default)."""
    if not hasattr(arch, "lab_calibrated"):
        raise SpecError(f"architecture = {arch.name!r}: has no lab_calibrated() (no lab calibration model), needed "
                        "by calibration = 'lab' and algorithm 'offline-calibrated'. Fix: use calibration='readout' "
                        "without 'offline-calibrated', or architecture 'attenuator'.")
    return arch.lab_calibrated().sample_die(spec, seed, library=library)


def train(dataset: str | Path, architecture_name: str = "attenuator", algorithms: str | list[str] = "insitu",
          impairments: str | ImpairmentSpec = "realistic", seed: int = 0, config: alg.TrainConfig | None = None,
          n_samples: int = 300, data_seed: int = 0, progress: Callable[[int], None] | None = None,
          arch_options: dict | None = None, init_seed: int | None = None, split_seed: int = 0,
          calibration: str = "readout", library: Library | None = None) -> TrainResult:
    """Train on die ``seed`` of ``architecture_name`` (seeds and ``calibration``: module doc;
    ``init_seed`` None → ``seed``).  Every die's physics comes from ``library`` (a
    :class:`~pipeline.library.Library`; None: the default ``Library()``, made here once for
    all the dies — the edge of the library layer).

    Returns a :class:`~pipeline.training.result.TrainResult` (history, runs, data, dies,
    architecture; final metrics and die summary); nothing is written — files and plots are
    :meth:`TrainResult.save <pipeline.training.result.TrainResult.save>`."""
    names = parse_algorithms(algorithms) if isinstance(algorithms, str) else parse_algorithms(",".join(algorithms))
    if calibration not in CALIBRATIONS:
        raise SpecError(f"calibration = {calibration!r}: unknown. Fix: use one of {list(CALIBRATIONS)}.")
    init_seed = seed if init_seed is None else int(init_seed)
    if init_seed < 0 or split_seed < 0:
        raise SpecError(f"init_seed = {init_seed}, split_seed = {split_seed}: seeds must be >= 0. Fix: e.g. 0.")
    spec = impairment_preset(impairments)
    library = library if library is not None else Library()
    cfg = alg.TrainConfig(**{**(config or alg.TrainConfig()).model_dump(), "seed": init_seed})
    data = datasets.load(dataset, n_samples=n_samples, data_seed=data_seed, split_seed=split_seed,
                         low=cfg.target_low, high=cfg.target_high)
    arch = architecture(architecture_name, data.n_features, data.n_outputs, library=library, **(arch_options or {}))
    if (config is None or "learning_rate" not in config.model_fields_set) and hasattr(arch, "default_learning_rate"):
        cfg = cfg.model_copy(update={"learning_rate": float(arch.default_learning_rate)})  # e.g. phases in rad
    # every hardware algorithm gets its own instance of the same die (same seed: same chip, same
    # calibration), so that no algorithm inherits another's drift, programming or noise stream
    def die_for(name: str):
        if name in alg.IDEAL:
            return None
        return lab_die(arch, spec, seed, library) if name == "offline-calibrated" or calibration == "lab" \
            else arch.sample_die(spec, seed, library=library)
    dies = {n: die_for(n) for n in names}
    runs: dict[str, alg.AlgorithmRun] = {}
    if any(n in names for n in ("ideal", "ideal-best", "offline", "offline-calibrated")):
        runs["ideal"] = alg.train_ideal(arch, data, cfg, progress if "ideal" in names else None)
    for name in names:
        if name == "ideal-best":
            runs[name] = alg.train_ideal_best(arch, data, cfg, progress, first=runs["ideal"])
        elif name in ("offline", "offline-calibrated"):
            runs[name] = alg.train_offline(dies[name], data, cfg, ideal=runs["ideal"], progress=progress, name=name)
        elif name == "insitu":
            runs["insitu"] = alg.train_insitu(dies[name], data, cfg, progress=progress)
        elif name == "forward-only":
            runs["forward-only"] = alg.train_forward_only(dies[name], data, cfg, progress=progress)
    for name, d in dies.items():  # the die's calibration is part of what the algorithm costs
        if d is not None:
            runs[name].extra["calibration_measurements"] = int(getattr(d, "calibration_measurements", 0))
    ordered = [runs[n] for n in names]
    attrs = {"dataset": data.name, "dataset_meta": data.meta, "classes": list(data.classes),
             "architecture": arch.name, "impairments": spec.model_dump(mode="json"),
             "impairment_preset": impairments if isinstance(impairments, str) else "custom",
             "seed": seed, "init_seed": init_seed, "data_seed": data_seed, "split_seed": split_seed,
             "calibration": calibration, "config": cfg.model_dump(mode="json"),
             **({"neuron": arch.spec.neuron.kind} if hasattr(getattr(arch, "spec", None), "neuron") else {}),
             "scale_min": json.dumps(data.scale_min.tolist()), "scale_max": json.dumps(data.scale_max.tolist())}
    hist = history.build(ordered, attrs, param_units=param_units(arch),
                         structured={"impairments": spec, "config": cfg})
    return TrainResult(history=hist, runs=runs, data=data, dies=dies, arch=arch)


#: Units and long name of each architecture's trained parameters (history ``params``).
PARAM_UNITS: dict[str, tuple[str, str]] = {"attenuator": ("1", "MZI weight T_bar - T_cross (-1..1)"),
                                           "mesh": ("rad", "MZI phase")}


def param_units(arch) -> tuple[str, str]:
    """(units, long_name) of ``arch``'s parameters (:data:`PARAM_UNITS`; else dimensionless)."""
    return PARAM_UNITS.get(getattr(arch, "name", ""), ("1", "trained parameter"))


def summary(result: TrainResult, paths: dict[str, str] | None = None) -> dict:
    """JSON-ready summary (:meth:`TrainResult.summary`): per-algorithm final metrics,
    top-level fields of the last algorithm, and ``paths`` (what :meth:`TrainResult.save` wrote)."""
    return result.summary(paths)


def compare(datasets_: list[str], seeds: list[int], algorithms: str | list[str] = "ideal,offline,insitu",
            architecture_name: str = "attenuator", impairments: str | ImpairmentSpec = "realistic",
            config: alg.TrainConfig | None = None, progress: Callable[[int], None] | None = None,
            library: Library | None = None):
    """Final metrics of several dies × datasets × algorithms as an xr.Dataset with dims
    (dataset, seed, algorithm); variables test_accuracy, train_accuracy, measurements, wall_s."""
    import xarray as xr

    names = parse_algorithms(algorithms) if isinstance(algorithms, str) else list(algorithms)
    library = library if library is not None else Library()
    keys = ("test_accuracy", "train_accuracy", "measurements", "wall_s")
    out = {k: np.full((len(datasets_), len(seeds), len(names)), np.nan) for k in keys}
    for i, ds_name in enumerate(datasets_):
        for j, s in enumerate(seeds):
            res = train(ds_name, architecture_name, names, impairments, seed=s, config=config, library=library)
            for k, name in enumerate(names):
                for key in keys:
                    out[key][i, j, k] = res.runs[name].metrics[key][-1]
            if progress is not None:
                progress(1)
    spec, cfg = impairment_preset(impairments), config or alg.TrainConfig()
    ds = xr.Dataset({k: (("dataset", "seed", "algorithm"), v) for k, v in out.items()},
                    coords={"dataset": list(datasets_), "seed": list(seeds), "algorithm": names},
                    attrs={"architecture": architecture_name, "impairments": spec.model_dump_json(),
                           "config": cfg.model_dump_json(), **units_attrs.spec_attrs("impairments", spec),
                           **units_attrs.spec_attrs("config", cfg)})
    return units_attrs.annotate(ds)

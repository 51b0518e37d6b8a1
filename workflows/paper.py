"""The main job (``photoprop run``): from the shipped device library to the paper's claims.

1. check the device library (build only what is missing) — the device physics every die
   is made of;
2. sample the dies (``pipeline.chip``) and summarise them (loss budget, splitting errors,
   crosstalk, noise floor);
3. train the configured algorithms (``ideal``, ``ideal-best``, ``offline``,
   ``offline-calibrated``, ``insitu``) on the paper's two 2D benchmarks over several dies in
   parallel (a resumable study, :mod:`pipeline.study`, one cell per calibration × dataset ×
   die), plus an impairment sweep (optical power per channel → detector noise) on a few dies
   with the sweep's algorithms and calibration; each die has its own initialisation and
   train/test split seeds (``[study.die_seed_offsets]``), shared by every algorithm and
   calibration on it, so the algorithms are compared *paired* within a die and over several
   splits across dies;
4. the die's calibration (``[study] calibrations``): ``readout`` — node gains only (the
   paper's protocol); ``lab`` — per-MZI phase offsets and P_π from heater sweeps, the
   thermal-crosstalk matrix, node gains and per-MZI weight scale (what a lab does).  The
   readout cells train ``[study] algorithms``, the lab cells ``lab_algorithms`` (in-situ);
   the calibration-independent algorithms (:data:`CALIBRATION_INDEPENDENT`) are trained once
   and paired with every calibration's rows in the claims (:func:`paired_accuracy`);
5. write ``<out>/results.nc`` (dims dataset × calibration × seed × <knob> × algorithm ×
   epoch, NaN where a cell did not train an algorithm; the per-die seeds as coordinates along
   ``seed``), plots (decision boundaries, training curves, accuracy vs impairment) and
   ``summary.json``, and print the verdicts (:func:`claims_table`,
   :mod:`pipeline.training.verdicts`) per dataset × calibration: per algorithm mean,
   bootstrap 95 % interval and worst die; the paired differences in-situ − ideal (two-sided
   equivalence within ± the margin), in-situ − ideal-best and in-situ − offline-calibrated
   (better / worse / inconclusive); "> 90 %" for the mean and the interval's lower bound.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.errors import SpecError
from workflows.cells import Scalar
from workflows.config import (
    DEFAULT_LAB_ALGORITHMS,
    PER_DIE,
    MainJobConfig,
    algorithm_names,
    load_main_job_config,
)
from workflows.paper_results import CALIBRATION_INDEPENDENT, paired_accuracy

__all__ = ["CALIBRATION_INDEPENDENT", "CELL_FN", "DEFAULT_CONFIG", "DEFAULT_LAB_ALGORITHMS", "PER_DIE",
           "calibration_algorithms", "calibrations", "cells", "claims_table", "combine", "die_seeds",
           "die_summaries", "load", "run_main"]

DEFAULT_CONFIG = Path(__file__).with_name("paper.toml")
CELL_FN = "workflows.cells:train_cell"
#: A main-job config: typed, or a parsed TOML document (validated on use).
Config = MainJobConfig | Mapping[str, Any]
_names = algorithm_names


def load(config: str | Path = DEFAULT_CONFIG) -> MainJobConfig:
    """The main job's configuration (workflows/paper.toml) as a :class:`MainJobConfig`:
    every section validated, unknown keys named with a "did you mean", every swept value an
    ImpairmentSpec."""
    return load_main_job_config(config)


def calibrations(doc: Config) -> list[str]:
    """``[study] calibrations`` (default ``["readout"]``), in the config's order."""
    return list(MainJobConfig.coerce(doc).study.calibrations)


def calibration_algorithms(doc: Config) -> dict[str, str | None]:
    """The algorithms (comma list) the cells of each configured calibration train: readout →
    ``[study] algorithms``, lab → ``[study] lab_algorithms`` (default in-situ; validated on
    load: the lab cells do not retrain a calibration-independent algorithm the readout cells
    already train, :data:`CALIBRATION_INDEPENDENT`)."""
    return MainJobConfig.coerce(doc).study.calibration_algorithms()


def die_seeds(doc: Config, die: int) -> dict[str, int]:
    """The die's own initialisation / split / data seeds: ``offset + die`` for each entry of
    ``[study.die_seed_offsets]`` (e.g. init_seed = 1000 + die, split_seed = die)."""
    return MainJobConfig.coerce(doc).study.die_seed_offsets.for_die(die)


def cells(doc: Config, dies: int | None = None) -> list[dict[str, Scalar]]:
    """Paper cells (every calibration × dataset × die at the preset, that calibration's
    algorithms: :func:`calibration_algorithms`) + sweep cells (first dataset, first dies, the
    sweep's algorithms and calibration, every swept value but the preset's when the paper cell
    of that die and calibration already holds the sweep's algorithms there). The impairments
    are ImpairmentSpecs (the preset; :meth:`MainJobConfig.sweep_points`), flattened to the
    swept knob's cell parameter only here, for the study engine."""
    cfg = MainJobConfig.coerce(doc)
    s, sw = cfg.study, cfg.sweep
    seeds = list(s.seeds)[: dies or None]
    if len(seeds) < 2:
        raise SpecError(f"--dies = {dies}: {len(seeds)} die; the paired intervals over dies need >= 2. Fix: "
                        "--dies 2 or more (10 for the paper's table).")
    knob, base_value = sw.knob, cfg.base_value
    cal_algs = s.calibration_algorithms()
    common = {k: getattr(s, k) for k in ("architecture", "preset", "epochs", "learning_rate", "batch_size",
                                         "n_samples", "neuron") if k in s.model_fields_set}

    def cell(dataset: str, cal: str, seed: int, algorithms: str | None, point: dict[str, Scalar]
             ) -> dict[str, Scalar]:
        algs = {"algorithms": algorithms} if algorithms else {}  # none: train_cell's default
        return {"dataset": dataset, "calibration": cal, "seed": int(seed), **s.die_seed_offsets.for_die(seed),
                **common, **algs, **point}

    preset_point = {knob: base_value}
    out = [cell(d, cal, seed, algs, preset_point) for cal, algs in cal_algs.items() for d in s.datasets
           for seed in seeds]
    sweep_cal = sw.calibration or next(iter(cal_algs))
    swept = _names(sw.algorithms if sw.algorithms is not None else cal_algs.get(sweep_cal, s.algorithms))
    held = _names(cal_algs.get(sweep_cal)) if sweep_cal in cal_algs else []  # by the paper cells at the preset
    points = cfg.sweep_points()
    for seed in seeds[: sw.sweep_dies]:
        for point in points:
            value = getattr(point.impairments, knob)
            algs = [a for a in swept if value != base_value or a not in held]
            if algs:
                out.append(cell(s.datasets[0], sweep_cal, seed, ",".join(algs), point.params()))
    return out


def combine(out_dir: str | Path, cell_list: list[dict[str, Any]],
            dims: Iterable[str] = ("dataset", "calibration", "seed")) -> xr.Dataset:
    """The finished cells as one Dataset: dims = the declared ``dims`` (kept with a single
    value too; the main job adds the swept knob) and the other parameters that vary, except the per-die seeds (:data:`PER_DIE`,
    coordinates along ``seed``) and ``algorithms`` (the lab and sweep cells train fewer; each
    cell's ``algorithm`` dim says which, the rest is NaN).  Algorithms in the config's order
    (the longest cell list first), datasets and calibrations in the cells' order."""
    from pipeline.study import cell_key, cell_path, read_cell, stacked_dims

    loaded = [read_cell(cell_path(out_dir, cell_key(c, CELL_FN))) for c in cell_list]
    skip = set(PER_DIE) | {"algorithms"}
    names = [n for n in cell_list[0] if n not in skip]  # the cells' parameter order (files store them sorted)
    varying = stacked_dims(names, [p for p, _ in loaded], dims)
    parts = []
    for p, ds in loaded:
        ds = ds.assign_coords({n: p[n] for n in names if n not in varying})
        ds = ds.expand_dims({n: [p[n]] for n in varying})
        parts.append(ds.assign_coords({n: ("seed", [p[n]]) for n in PER_DIE if n in p}))
    combined = xr.merge(parts, combine_attrs="drop_conflicts", join="outer", compat="no_conflicts")
    for n in PER_DIE:
        if n in combined.coords:
            combined = combined.assign_coords({n: ("seed", combined[n].values.astype(np.int64))})
    longest_first = sorted((_names(c.get("algorithms")) for c in cell_list), key=len, reverse=True)
    order = {"algorithm": list(dict.fromkeys(a for names_ in longest_first for a in names_)),
             "dataset": list(dict.fromkeys(c["dataset"] for c in cell_list)),
             "calibration": list(dict.fromkeys(c["calibration"] for c in cell_list if "calibration" in c))}
    for dim, want in order.items():  # the config's order, not the merge's alphabetical one
        if dim in combined.dims and set(want) == set(map(str, combined[dim].values)):
            combined = combined.reindex({dim: want})
    combined = combined.transpose(*varying, ...)
    combined.attrs.update(study_cells=len(loaded), study_dims=json.dumps(varying))
    return combined


def die_summaries(doc: Config, seeds: list[int]) -> xr.Dataset:
    """Per-die summary numbers (loss budget, splitting errors, crosstalk, noise floor)."""
    from pipeline.chip.summary import summarize_die
    from pipeline.training.run import architecture

    cfg = MainJobConfig.coerce(doc)
    arch = architecture(cfg.study.architecture, 2, 1)
    rows = [summarize_die(arch.sample_die(cfg.base, int(seed))) for seed in seeds]
    keys = [k for k, v in rows[0].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("seed", "n_params")]
    return xr.Dataset({k: ("seed", np.array([r[k] for r in rows], dtype=float), dict(zip(("units", "long_name"),
                                                                                      die_summary_attrs(k))))
                       for k in keys}, coords={"seed": seeds})


#: (units, long_name) of the die summary numbers (:func:`pipeline.chip.summary.summarize_die`)
#: by name; :func:`die_summary_attrs` reads any other name's unit from its suffix.
DIE_SUMMARY_ATTRS: dict[str, tuple[str, str]] = {
    "kappa2_std": ("1", "std of the coupler power couplings"),
    "kappa2_mean": ("1", "mean coupler power coupling"),
    "crosstalk_nearest": ("1", "nearest-neighbour thermal crosstalk"),
    "weight_error_rms": ("1", "rms realised - programmed weight"),
    "relative_noise_floor": ("1", "node noise floor per full-scale current"),
    "crossings_max": ("1", "most waveguide crossings on a path"),
    "crossings_total": ("1", "waveguide crossings of the fan-out"),
    "crossing_leak_max": ("1", "largest leaked-power fraction of a path"),
    "calibration_gain_node_mean": ("1", "mean calibrated node gain"),
    "calibration_measurements": ("1", "detector readings of the die's calibration"),
    "arm_offset_rms": ("rad", "rms static MZI arm phase offset"),
    "heater_efficiency_std": ("1", "std of the relative heater efficiency"),
    "phase_calibration_offset_error_max": ("rad", "largest phase-calibration arm offset error"),
    "phase_calibration_efficiency_error_max": ("1", "largest phase-calibration heater efficiency error"),
    "crosstalk_calibration_error_max": ("1", "largest crosstalk-calibration error"),
    "loss_forward_db_mean": ("dB", "mean loss from source to forward detector"),
    "loss_forward_db_max": ("dB", "largest loss from source to forward detector"),
    "modulator_extinction_db_min": ("dB", "smallest activation-modulator extinction ratio"),
    "p_pi_mw": ("mW", "heater power for a pi phase shift"),
    "crossing_loss_db_max": ("dB", "largest crossing loss on a path"),
    "crossing_loss_db_mean": ("dB", "mean crossing loss on a path"),
    "responsivity_a_per_w": ("A/W", "detector responsivity"),
    "width_offset_mean_um": ("um", "die-wide mean Si width offset"),
    "thickness_offset_mean_um": ("um", "die-wide mean Si thickness offset"),
    "coupler_loss_db_mean": ("dB", "mean coupler excess loss"),
    "dw_std_um": ("um", "std of the Si width offsets"),
    "dt_std_um": ("um", "std of the Si thickness offsets"),
    "heater_loss_db": ("dB", "heater section loss"),
    "column_loss_db": ("dB", "mesh column loss"),
}
_SUFFIX_UNITS = (("_db", "dB"), ("_mw", "mW"), ("_a_per_w", "A/W"), ("_um", "um"), ("_w", "W"), ("_s", "s"))


def die_summary_attrs(name: str) -> tuple[str, str]:
    """(units, long_name) of a die summary number: :data:`DIE_SUMMARY_ATTRS`, else its unit
    from the name (``loss_forward_db_max`` → dB, ``p_pi_mw`` → mW, ...; SpecError if none)."""
    if name in DIE_SUMMARY_ATTRS:
        return DIE_SUMMARY_ATTRS[name]
    base = next((name[:-len(st)] for st in ("_mean", "_max", "_min", "_std", "_rms") if name.endswith(st)), name)
    suffix, unit = next(((sfx, u) for sfx, u in _SUFFIX_UNITS if base.endswith(sfx)), (None, None))
    if unit is not None:
        return unit, name.replace(suffix, "", 1).replace("_", " ")
    raise SpecError(f"die summary {name!r}: no unit known. Fix: add it to workflows.paper.DIE_SUMMARY_ATTRS.")


def main_job_attrs() -> dict[str, tuple[str, str]]:
    """(units, long_name) of the main job's coordinates beyond :data:`pipeline.units_attrs.ATTRS`:
    the swept knobs (:class:`ImpairmentSpec` fields) and the ``die_*`` summaries."""
    from pipeline.chip.impairments import ImpairmentSpec

    return units_attrs.spec_table(ImpairmentSpec)


def _base_accuracy(res: xr.Dataset, cfg: MainJobConfig) -> xr.DataArray:
    """Final test accuracy at the preset's value of the swept knob (the paper cells)."""
    acc = res["final_test_accuracy"]
    if cfg.sweep.knob in acc.dims:
        acc = acc.sel({cfg.sweep.knob: cfg.base_value})
    return acc


def claims_table(res: xr.Dataset, doc: Config) -> list[dict[str, Any]]:
    """Per dataset × calibration, from the per-die final test accuracies at the preset
    (:func:`paired_accuracy`; :mod:`pipeline.training.verdicts`); a row holds only the
    algorithms with a finite value there:

    * ``algorithms``: per algorithm mean, bootstrap 95 % interval of the mean, minimum over
      dies and the per-die values; ``shared``: the calibration-independent ones filled in from
      another calibration's cells (algorithm → that calibration);
    * ``min_accuracy``: the subject (``[claims] subject``, insitu) "> min_accuracy" for the
      mean and for the interval's lower bound (None when the row has no subject);
    * ``comparisons``: paired per-die differences subject − reference with their interval,
      a difference verdict (better / worse / inconclusive) and a two-sided equivalence
      verdict (± ``equivalence_margin``); ``claim`` is ``equivalence`` for the references in
      ``equivalent_to`` (the paper: in-situ matches the ideal model) and ``difference`` for
      ``compare_with`` (ideal-best, offline-calibrated: a fair baseline may well tie); a
      reference missing from the row is skipped.
    """
    from pipeline.training import verdicts as vd

    cfg = MainJobConfig.coerce(doc)
    c = cfg.claims
    subject, margin = c.subject, float(c.equivalence_margin)
    acc, shared = paired_accuracy(_base_accuracy(res, cfg))
    rows = []
    for d in acc.dataset.values:
        for cal in acc.calibration.values:
            a = acc.sel(dataset=d, calibration=cal)
            present = [str(al) for al in a.algorithm.values if np.isfinite(a.sel(algorithm=al).values).any()]
            if not present:
                continue
            a = a.sel(algorithm=present)
            stats = {al: vd.algorithm_stats(a, al) for al in present}
            comparisons = []
            for claim, refs in (("equivalence", c.equivalent_to), ("difference", c.compare_with)):
                for ref in (r for r in refs if subject in stats and r in stats):
                    diff = vd.paired_difference(a, subject, ref)
                    eq, dv = vd.equivalence_verdict(diff, margin), vd.difference_verdict(diff)
                    comparisons.append({**diff.to_dict(), "claim": claim, "difference_verdict": dv.verdict,
                                        "equivalent": eq.passed, "equivalence_margin": margin,
                                        "passed": eq.passed if claim == "equivalence" else None,
                                        "reason": eq.reason if claim == "equivalence" else dv.reason})
            threshold = (vd.threshold_verdict(stats[subject], float(c.min_accuracy)).to_dict()
                         if subject in stats else None)
            rows.append({"dataset": str(d), "calibration": str(cal),
                         "dies": (stats[subject] if subject in stats else next(iter(stats.values()))).n_dies,
                         "subject": subject,
                         "algorithms": {k: v.to_dict() for k, v in stats.items()},
                         "shared": shared.get((str(d), str(cal)), {}), "min_accuracy": threshold,
                         "comparisons": comparisons})
    return rows


def run_main(out: str | Path = "results/paper", *, config: str | Path = DEFAULT_CONFIG, dies: int | None = None,
             workers: int | None = None, scheduler: str | None = None, cluster: str | None = None,
             cluster_config: str | Path | None = None, progress: bool = True,
             say: Any = print) -> dict[str, Any]:
    """Run the main job (module doc); returns the summary written to ``summary.json``."""
    from pipeline.cache import DeviceCache
    from pipeline.execution import open_client
    from pipeline.study import run_study
    from workflows.library_build import build_library, load_items
    from workflows.paper_plots import plot_all

    t0 = time.perf_counter()
    cfg = load(config)
    doc = cfg.document()  # the file's content, plain (results attrs, summary, plots)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = DeviceCache()
    lib = build_library(load_items(), cache=cache, workers=workers or 2, scheduler=scheduler, cluster=cluster,
                        cluster_config=cluster_config, progress=progress)
    if lib["failed"]:
        raise SpecError(f"device library: {len(lib['failed'])} entries failed to build: {lib['failed'][:2]}")
    root = cache.root.resolve()
    shown = root.relative_to(Path.cwd()) if root.is_relative_to(Path.cwd()) else root
    say(f"device library {shown}: {len(cache.entry_paths())} entries, {len(lib['built'])} built now")
    cell_list = cells(cfg, dies)
    seeds = sorted({c["seed"] for c in cell_list})
    dies_ds = die_summaries(cfg, seeds)
    with open_client(scheduler=scheduler, cluster=cluster, workers=workers, config=cluster_config) as client:
        report = run_study(cell_list, CELL_FN, out / "cells_study", client, progress=progress, announce=say,
                           combine=False)
    res = combine(out / "cells_study", cell_list, ("dataset", "calibration", "seed", cfg.sweep.knob))
    res = res.merge(dies_ds.rename({k: f"die_{k}" for k in dies_ds.data_vars}), combine_attrs="override")
    res.attrs = {k: v for k, v in res.attrs.items() if not k.startswith("config.")}  # the cells' TrainConfig
    res.attrs.update(config=json.dumps(doc), claims=json.dumps(doc["claims"]))  # "config": the main job's file
    res = units_attrs.annotate(res, main_job_attrs(), specs={"config": doc})
    from pipeline.study import write_results

    results_path = write_results(out, res)
    table = claims_table(res, cfg)
    plots = plot_all(res, doc, out)
    summary = {"results": str(results_path), "plots": plots, "claims": table, "cells": report["total"],
               "cells_cached": report["cached"], "cells_computed": report["computed"],
               "dies": len(seeds), "die_seeds": {str(sd): die_seeds(cfg, sd) for sd in seeds},
               "claims_config": doc["claims"], "library_entries": len(cache.entry_paths()),
               "wall_s": round(time.perf_counter() - t0, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary

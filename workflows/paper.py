"""The main job (``photoprop run``): from the shipped device library to the paper's claims.

1. check the device library (build only what is missing) — the device physics every die
   is made of;
2. sample the dies (``pipeline.chip``) and summarise them (loss budget, splitting errors,
   crosstalk, noise floor);
3. train ``ideal``, ``offline`` and ``insitu`` on the paper's two 2D benchmarks over several
   dies in parallel (a resumable study, :mod:`pipeline.study`, one cell per die × dataset),
   plus an impairment sweep (optical power per channel → detector noise) on a few dies;
4. write ``<out>/results.nc`` (dims dataset × seed × <knob> × algorithm × epoch), plots
   (decision boundaries, training curves, accuracy vs impairment) and ``summary.json``, and
   print the summary against the paper's claims (> 90 % accuracy, matches ideal).
"""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline.errors import SpecError

DEFAULT_CONFIG = Path(__file__).with_name("paper.toml")
CELL_FN = "workflows.cells:train_cell"


def load(config: str | Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """The main job's configuration (workflows/paper.toml)."""
    p = Path(config)
    if not p.is_file():
        raise SpecError(f"--config = {str(config)!r}: no such file. Fix: use workflows/paper.toml.")
    doc = tomllib.loads(p.read_text())
    for section in ("study", "sweep", "claims"):
        if section not in doc:
            raise SpecError(f"{p}: no [{section}] section. Fix: start from workflows/paper.toml.")
    return doc


def cells(doc: dict[str, Any], dies: int | None = None) -> list[dict[str, Any]]:
    """Paper cells (every dataset × die at the preset) + sweep cells (first dataset, first dies)."""
    from pipeline.chip.impairments import impairments

    s, sw = doc["study"], doc["sweep"]
    seeds = list(s["seeds"])[: dies or None]
    knob = sw["knob"]
    base_value = getattr(impairments(s.get("preset", "realistic")), knob)
    common = {k: s[k] for k in ("architecture", "algorithms", "preset", "epochs", "learning_rate", "batch_size",
                                "n_samples") if k in s}
    out = [{"dataset": d, "seed": int(seed), **common, knob: base_value} for d in s["datasets"] for seed in seeds]
    for seed in seeds[: sw.get("sweep_dies", 2)]:
        for v in sw["values"]:
            cell = {"dataset": s["datasets"][0], "seed": int(seed), **common, knob: v}
            if cell not in out:
                out.append(cell)
    return out


def die_summaries(doc: dict[str, Any], seeds: list[int]) -> xr.Dataset:
    """Per-die summary numbers (loss budget, splitting errors, crosstalk, noise floor)."""
    from pipeline.chip.summary import summarize_die
    from pipeline.training.run import architecture

    from pipeline.chip.impairments import impairments

    s = doc["study"]
    arch = architecture(s["architecture"], 2, 1)
    rows = [summarize_die(arch.sample_die(impairments(s.get("preset", "realistic")), int(seed))) for seed in seeds]
    keys = [k for k, v in rows[0].items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("seed", "n_params")]
    return xr.Dataset({k: ("seed", np.array([r[k] for r in rows], dtype=float)) for k in keys},
                      coords={"seed": seeds})


def claims_table(res: xr.Dataset, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per dataset: final test accuracy mean ± std over dies per algorithm, and the claims."""
    knob = doc["sweep"]["knob"]
    c = doc["claims"]
    acc = res["final_test_accuracy"]
    if knob in acc.dims:
        from pipeline.chip.impairments import impairments

        acc = acc.sel({knob: getattr(impairments(doc["study"].get("preset", "realistic")), knob)})
    rows = []
    for d in acc.dataset.values:
        a = acc.sel(dataset=d)
        m = {str(al): (float(a.sel(algorithm=al).mean()), float(a.sel(algorithm=al).std()),
                       int(a.sel(algorithm=al).notnull().sum())) for al in a.algorithm.values}
        row = {"dataset": str(d), **{f"{al}_mean": v[0] for al, v in m.items()},
               **{f"{al}_std": v[1] for al, v in m.items()}, "dies": m["insitu"][2]}
        row["insitu_above_min"] = bool(m["insitu"][0] >= c["min_accuracy"])
        row["insitu_matches_ideal"] = bool(m["ideal"][0] - m["insitu"][0] <= c["max_gap_to_ideal"])
        row["offline_worse"] = bool(m["offline"][0] < m["insitu"][0])
        rows.append(row)
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
    doc = load(config)
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
    cell_list = cells(doc, dies)
    seeds = sorted({c["seed"] for c in cell_list})
    dies_ds = die_summaries(doc, seeds)
    with open_client(scheduler=scheduler, cluster=cluster, workers=workers, config=cluster_config) as client:
        report = run_study(cell_list, CELL_FN, out / "cells_study", client, progress=progress, announce=say)
    res = xr.open_dataset(report["results"], engine="h5netcdf").load()
    res = res.merge(dies_ds.rename({k: f"die_{k}" for k in dies_ds.data_vars}), combine_attrs="override")
    res.attrs.update(config=json.dumps(doc), claims=json.dumps(doc["claims"]))
    from pipeline.study import write_results

    results_path = write_results(out, res)
    table = claims_table(res, doc)
    plots = plot_all(res, doc, out)
    summary = {"results": str(results_path), "plots": plots, "claims": table, "cells": report["total"],
               "cells_cached": report["cached"], "cells_computed": report["computed"],
               "dies": len(seeds), "library_entries": len(cache.entry_paths()),
               "wall_s": round(time.perf_counter() - t0, 1)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary

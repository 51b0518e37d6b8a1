"""``photoprop run``: the main job — device library → dies → training → the paper's claims."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.common import cache_option, console, emit_json, fail, say, use_cache
from pipeline.errors import PhotopropError


def run(
    ctx: typer.Context,
    out: Path = typer.Option(Path("results/paper"), "--out", help="Output folder (results.nc, plots, summary)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Main-job definition (default workflows/paper.toml)."),
    dies: Optional[int] = typer.Option(None, "--dies", help="Use only the first N dies of the config."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local Dask worker processes (default: cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Existing Dask scheduler, tcp://HOST:PORT."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Start a job-queue cluster: slurm | pbs."),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="Job-queue settings (TOML)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    cache: Optional[Path] = cache_option(),
) -> None:
    """Check the device library, sample dies, train ideal / ideal-best / offline /
    offline-calibrated / in-situ on the paper's two 2D benchmarks over several dies in parallel
    (readout-calibrated dies; in-situ also on lab-calibrated ones), and decide the paper's
    claims per dataset × calibration from paired per-die differences with bootstrap intervals."""
    from workflows.paper import DEFAULT_CONFIG, run_main

    if dies is not None and dies < 2:
        fail(f"--dies = {dies}: must be >= 2 (the verdicts are paired intervals over dies). Fix: e.g. --dies 3.")
    try:
        use_cache(ctx, cache)
        summary = run_main(out, config=config or DEFAULT_CONFIG, dies=dies, workers=workers, scheduler=scheduler,
                           cluster=cluster, cluster_config=cluster_config, progress=not json_out, say=say)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(summary)
        return
    for table in claims_tables(summary, console.width):
        console.print(table)
    console.print(f"results: {summary['results']}  ({summary['cells']} cells, {summary['cells_cached']} reused)",
                  markup=False)
    for name, path in summary["plots"].items():
        console.print(f"{name}: {path}", markup=False)
    console.print(f"wall time {summary['wall_s']} s")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def claims_tables(summary: dict, width: int | None = None) -> list:
    """The main job's two tables, rows dataset × calibration × algorithm: mean [95 % CI] and
    worst die (the calibration-independent algorithms only in the calibration that trained
    them); the paired differences (subject − reference, each calibration's subject against the
    shared references) with their interval and verdict.  Short headers: fits 100 columns
    (``width``: the console's, in characters; narrower, the claim column wraps too).  Data
    cells are escaped (``[nan, nan]`` is rich markup otherwise); only the verdicts are styled."""
    from rich.markup import escape as e
    from rich.table import Table

    rows = summary["claims"]
    n = summary["dies"]
    shared = sorted({a for row in rows for a in row.get("shared", {})})
    acc = Table(title=f"Final test accuracy (%) over {n} dies: mean, bootstrap 95 % CI of the mean, worst die",
                caption=(f"{', '.join(shared)}: calibration-independent, trained once and paired with every "
                         "calibration's rows" if shared else None))
    for col in ("dataset", "calib.", "algorithm", "mean", "95 % CI", "min"):
        acc.add_column(col, justify="right")
    for k, row in enumerate(rows):
        own = {a: st for a, st in row["algorithms"].items() if a not in row.get("shared", {})}
        first_of_dataset = k == 0 or rows[k - 1]["dataset"] != row["dataset"]
        for i, (name, st) in enumerate(own.items()):
            dropped = f" ({len(st['dropped_dies'])} NaN)" if st["dropped_dies"] else ""
            acc.add_row(e(row["dataset"]) if i == 0 and first_of_dataset else "",
                        e(row.get("calibration", "")) if i == 0 else "", e(name), _pct(st["mean"]),
                        e(f"[{_pct(st['ci_low'])}, {_pct(st['ci_high'])}]"), _pct(st["min"]) + dropped,
                        end_section=i == len(own) - 1)
    claims = summary.get("claims_config", {})
    margin = claims.get("equivalence_margin")
    title = "Paired per-die differences (points; same die, split and init) and verdicts"
    if margin is not None:
        title += f"; equivalent = whole interval within ± {100 * margin:.0f} pts"
    diff = Table(title=title)
    for col in ("dataset", "calib.", "claim", "mean", "95 % CI"):  # from 100 columns on only the verdict wraps
        diff.add_column(col, justify="right", no_wrap=col != "claim" or width is None or width >= 100,
                        overflow="fold")
    diff.add_column("verdict", justify="left")
    colour = {"better": "green", "worse": "red", "inconclusive": "yellow"}
    for k, row in enumerate(rows):
        mn = row["min_accuracy"]
        if mn is None:  # no subject in this row: nothing to decide
            continue
        st = row["algorithms"][row["subject"]]
        ok = ("[green]yes[/]" if mn["passed"] else "[red]no[/] (mean only)" if mn["mean_above"] else "[red]no[/]")
        first_of_dataset = k == 0 or rows[k - 1]["dataset"] != row["dataset"]
        diff.add_row(e(row["dataset"]) if first_of_dataset else "", e(row.get("calibration", "")),
                     e(f"{row['subject']} > {_pct(mn['threshold'])} %"), _pct(st["mean"]),
                     e(f"[{_pct(st['ci_low'])}, {_pct(st['ci_high'])}]"), ok, end_section=not row["comparisons"])
        for i, c in enumerate(row["comparisons"]):
            if c["claim"] == "equivalence":
                verdict = "[green]equivalent[/]" if c["equivalent"] else "[red]not equivalent[/]"
                verdict += f"; {c['difference_verdict']}"
            else:
                verdict = f"[{colour[c['difference_verdict']]}]{c['difference_verdict']}[/]"
            diff.add_row("", "", e(c["label"]), _pts(c["mean"]), e(f"[{_pts(c['ci_low'])}, {_pts(c['ci_high'])}]"),
                         verdict, end_section=i == len(row["comparisons"]) - 1)
    return [acc, diff]

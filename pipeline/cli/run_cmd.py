"""``photoprop run``: the main job — device library → dies → training → the paper's claims."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.common import console, emit_json, err_console, fail
from pipeline.errors import PhotopropError


def run(
    out: Path = typer.Option(Path("results/paper"), "--out", help="Output folder (results.nc, plots, summary)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Main-job definition (default workflows/paper.toml)."),
    dies: Optional[int] = typer.Option(None, "--dies", help="Use only the first N dies of the config."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local Dask worker processes (default: cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Existing Dask scheduler, tcp://HOST:PORT."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Start a job-queue cluster: slurm | pbs."),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="Job-queue settings (TOML)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Check the device library, sample dies, train ideal / ideal-best / offline /
    offline-calibrated / in-situ on the paper's two 2D benchmarks over several dies in parallel,
    and decide the paper's claims from paired per-die differences with bootstrap intervals."""
    from workflows.paper import DEFAULT_CONFIG, run_main

    if dies is not None and dies < 2:
        fail(f"--dies = {dies}: must be >= 2 (the verdicts are paired intervals over dies). Fix: e.g. --dies 3.")
    try:
        summary = run_main(out, config=config or DEFAULT_CONFIG, dies=dies, workers=workers, scheduler=scheduler,
                           cluster=cluster, cluster_config=cluster_config, progress=not json_out,
                           say=lambda m: err_console.print(m, highlight=False))
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(summary)
        return
    for table in claims_tables(summary):
        console.print(table)
    console.print(f"results: {summary['results']}  ({summary['cells']} cells, {summary['cells_cached']} reused)")
    for name, path in summary["plots"].items():
        console.print(f"{name}: {path}")
    console.print(f"wall time {summary['wall_s']} s")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def claims_tables(summary: dict) -> list:
    """The main job's two tables: per dataset × algorithm mean [95 % CI] and worst die; the
    paired differences (subject − reference) with their interval and verdict."""
    from rich.table import Table

    rows = summary["claims"]
    n = summary["dies"]
    acc = Table(title=f"Final test accuracy (%) over {n} dies: mean, bootstrap 95 % CI of the mean, worst die")
    for col in ("dataset", "algorithm", "mean", "95 % CI", "min"):
        acc.add_column(col, justify="right")
    for row in rows:
        for i, (name, st) in enumerate(row["algorithms"].items()):
            dropped = f" ({len(st['dropped_dies'])} NaN)" if st["dropped_dies"] else ""
            acc.add_row(row["dataset"] if i == 0 else "", name, _pct(st["mean"]),
                        f"[{_pct(st['ci_low'])}, {_pct(st['ci_high'])}]", _pct(st["min"]) + dropped,
                        end_section=i == len(row["algorithms"]) - 1)
    claims = summary.get("claims_config", {})
    margin = claims.get("equivalence_margin")
    title = "Paired per-die differences (points; same die, split and init) and verdicts"
    if margin is not None:
        title += f"; equivalent = whole interval within ± {100 * margin:.0f} pts"
    diff = Table(title=title)
    for col in ("dataset", "claim", "mean", "95 % CI", "verdict"):
        diff.add_column(col, justify="right")
    colour = {"better": "green", "worse": "red", "inconclusive": "yellow"}
    for row in rows:
        mn = row["min_accuracy"]
        st = row["algorithms"][row["subject"]]
        ok = ("[green]yes[/]" if mn["passed"] else "[red]no[/] (mean only)" if mn["mean_above"] else "[red]no[/]")
        diff.add_row(row["dataset"], f"{row['subject']} > {_pct(mn['threshold'])} %", _pct(st["mean"]),
                     f"[{_pct(st['ci_low'])}, {_pct(st['ci_high'])}]", ok)
        for i, c in enumerate(row["comparisons"]):
            if c["claim"] == "equivalence":
                verdict = "[green]equivalent[/]" if c["equivalent"] else "[red]not equivalent[/]"
                verdict += f"; {c['difference_verdict']}"
            else:
                verdict = f"[{colour[c['difference_verdict']]}]{c['difference_verdict']}[/]"
            diff.add_row("", c["label"], _pts(c["mean"]), f"[{_pts(c['ci_low'])}, {_pts(c['ci_high'])}]", verdict,
                         end_section=i == len(row["comparisons"]) - 1)
    return [acc, diff]

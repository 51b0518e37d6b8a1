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
    """Check the device library, sample dies, train ideal / offline / in-situ on the paper's two
    2D benchmarks over several dies in parallel, and compare with the paper's claims."""
    from rich.table import Table

    from workflows.paper import DEFAULT_CONFIG, run_main

    if dies is not None and dies < 1:
        fail(f"--dies = {dies}: must be >= 1. Fix: e.g. --dies 3.")
    try:
        summary = run_main(out, config=config or DEFAULT_CONFIG, dies=dies, workers=workers, scheduler=scheduler,
                           cluster=cluster, cluster_config=cluster_config, progress=not json_out,
                           say=lambda m: err_console.print(m, highlight=False))
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(summary)
        return
    table = Table(title=f"Ashtiani et al. (Nature 2026) on simulated dies: final test accuracy, mean ± std over "
                        f"{summary['dies']} dies")
    for col in ("dataset", "ideal", "offline", "insitu", "> 90 %", "insitu ≈ ideal (2 pts)", "offline worse"):
        table.add_column(col, justify="right")
    yes = {True: "[green]yes[/]", False: "[red]no[/]"}
    for row in summary["claims"]:
        cells = [f"{100 * row[f'{a}_mean']:.1f} ± {100 * row[f'{a}_std']:.1f}" for a in ("ideal", "offline", "insitu")]
        table.add_row(row["dataset"], *cells, yes[row["insitu_above_min"]], yes[row["insitu_matches_ideal"]],
                      yes[row["offline_worse"]])
    console.print(table)
    console.print(f"results: {summary['results']}  ({summary['cells']} cells, {summary['cells_cached']} reused)")
    for name, path in summary["plots"].items():
        console.print(f"{name}: {path}")
    console.print(f"wall time {summary['wall_s']} s")

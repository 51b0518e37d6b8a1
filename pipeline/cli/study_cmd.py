"""``photoprop study``: a resumable impairment study on a local, existing or job-queue Dask cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.common import cache_option, console, emit_json, fail, use_cache
from pipeline.errors import PhotopropError


def study(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config",
                                          help="Study definition (TOML: [study] and [grid] sections; "
                                               "default workflows/impairments.toml, installed with the package)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default results/<study name>)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Existing Dask scheduler, tcp://HOST:PORT."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Start a job-queue cluster: slurm | pbs."),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config",
                                                  help="Job-queue settings (default workflows/cluster.toml)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local worker processes, or batch jobs."),
    json_out: bool = typer.Option(False, "--json", help="Print the study report as one JSON object."),
    cache: Optional[Path] = cache_option(),
) -> None:
    """Dies x algorithms x an impairment grid -> one xarray Dataset (results.nc), written cell by cell;
    a killed study resumes without recomputing finished cells."""
    from workflows.study import DEFAULT_CONFIG, run

    config = config if config is not None else DEFAULT_CONFIG
    try:
        use_cache(ctx, cache, must_exist=True)
        report = run(config, out=out, scheduler=scheduler, cluster=cluster, cluster_config=cluster_config,
                     workers=workers, progress=not json_out)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(report)
        return
    console.print(f"study {report['out_dir']}: {report['total']} cells, {report['cached']} already done, "
                  f"{report['computed']} computed, {len(report['failed'])} failed", markup=False)
    if "results" in report:
        console.print(f"results: {report['results']}  (pipeline.open_results(...) in a notebook)", markup=False)

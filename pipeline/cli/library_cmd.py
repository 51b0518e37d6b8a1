"""``photoprop library …``: list, show, verify, export and build entries of the device library.

``--cache DIR`` is accepted before the subcommand (``library --cache DIR ls``) and after it
(``library ls --cache DIR``); the latter wins. Versions columns compare each entry's
recorded solver versions with the solver interpreter's (``$PHOTOPROP_SOLVER_PYTHON``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from pipeline import versions as _versions
from pipeline.cache import ENV_VAR, DeviceCache
from pipeline.cache.entry_file import read_entry_attrs
from pipeline.cache.provenance import drift_text, recorded_versions, version_drift
from pipeline.cache.verify import verify_library
from pipeline.cli.common import console, emit_json, fail
from pipeline.errors import PhotopropError, SolverError

library_app = typer.Typer(help="The HDF5 device library (cache/).", no_args_is_help=True)


@library_app.callback()
def _library(
    ctx: typer.Context,
    cache: Optional[Path] = typer.Option(
        None, "--cache", envvar=ENV_VAR, help="Library folder (default: the repository's cache/)."
    ),
) -> None:
    ctx.obj = DeviceCache(cache)


_CACHE_HELP = "Library folder (overrides one given before the subcommand)."


def _cache(ctx: typer.Context, cache: Optional[Path]) -> DeviceCache:
    """The library of this command: its own ``--cache`` if given, else the group's."""
    return DeviceCache(cache) if cache is not None else ctx.obj


def _summary(path: Path) -> dict[str, Any]:
    attrs = read_entry_attrs(path)
    prov = json.loads(attrs.get("provenance", "{}"))
    drift = version_drift(recorded_versions(attrs))
    return {
        "key": path.stem,
        "device": path.parent.name,
        "solver": prov.get("solver"),
        "resolution": prov.get("resolution"),
        "date_utc": prov.get("date_utc"),
        "wall_time_s": prov.get("wall_time_s"),
        "size_kb": round(path.stat().st_size / 1024, 1),
        "versions": drift_text(drift),
        "version_drift": drift,
        "path": str(path),
    }


@library_app.command("ls")
def ls(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="One JSON document."),
       cache_dir: Optional[Path] = typer.Option(None, "--cache", help=_CACHE_HELP)) -> None:
    """List the entries of the library ("versions": recorded solver versions vs installed)."""
    try:
        cache = _cache(ctx, cache_dir)
        rows = _rows(cache)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json({"root": str(cache.root), "entries": rows})
        return
    table = Table(title=f"device library: {len(rows)} entries", caption=escape(str(cache.root)))
    for col in ("device", "key", "solver", "res.", "date (UTC)", "wall s", "kB", "versions"):
        table.add_column(col, no_wrap=col in ("key", "date (UTC)", "versions"),
                         min_width=18 if col == "versions" else None)
    for r in rows:
        table.add_row(r["device"], r["key"][:12], escape(str(r.get("solver", "UNREADABLE"))),
                      str(r.get("resolution", "")), str(r.get("date_utc", ""))[:10],
                      str(r.get("wall_time_s", "")), str(r.get("size_kb", "")),
                      escape(r.get("versions", "")) if r.get("versions") == "same"
                      else f"[yellow]{escape(r.get('versions', '')).replace(', ', chr(10))}[/]")
    console.print(table)


def _rows(cache: DeviceCache) -> list[dict[str, Any]]:
    rows = []
    for p in cache.entry_paths():
        try:
            rows.append(_summary(p))
        except PhotopropError as exc:
            if isinstance(exc, SolverError):  # the solver interpreter, not the entry
                raise
            rows.append({"key": p.stem, "device": p.parent.name, "error": str(exc), "path": str(p)})
    return rows


@library_app.command("show")
def show(ctx: typer.Context, key: str, json_out: bool = typer.Option(False, "--json"),
         cache_dir: Optional[Path] = typer.Option(None, "--cache", help=_CACHE_HELP)) -> None:
    """Show one entry (KEY or a unique prefix of ≥ 6 hex digits): specs, provenance, checks,
    recorded vs installed solver versions, |S|²."""
    try:
        cache = _cache(ctx, cache_dir)
        entry = cache.read_path(cache.find(key))
        recorded = recorded_versions(entry.data.attrs)
        installed = _versions.solver_versions(sorted(recorded))
    except PhotopropError as exc:
        fail(exc)
    doc: dict[str, Any] = {
        "key": entry.key,
        "path": str(entry.path),
        "device": entry.device_spec.device,
        "device_spec": entry.device_spec.model_dump(mode="json"),
        "solver_spec": {"solver": entry.solver_spec.solver, **entry.solver_spec.model_dump(mode="json")},
        "provenance": entry.provenance,
        "checks": entry.checks,
        "versions": {"recorded": recorded, "installed": installed, "same": recorded == installed,
                     "solver_python": _versions.solver_python() or sys.executable},
        "variables": {n: list(v.dims) for n, v in entry.data.data_vars.items()},
    }
    if "S" in entry.data:
        from pipeline.smatrix import power_db

        s = entry.smatrix
        wl = s.wavelength.values
        centre = s.sel(wavelength=wl[np.argmin(np.abs(wl - wl.mean()))])
        while centre.ndim > 2:
            centre = centre.isel({centre.dims[0]: 0})
        pdb = power_db(centre)
        doc["centre_wavelength_um"] = float(centre.wavelength)
        doc["power_db"] = {f"{o}<-{i}": round(float(pdb.sel(port_out=o, port_in=i)), 3)
                           for o in s.port_out.values for i in s.port_in.values}
    if json_out:
        emit_json(doc)
        return
    console.print(f"[bold]{doc['device']}[/] {entry.key}\n{escape(str(entry.path))}")
    for section in ("device_spec", "solver_spec", "provenance", "checks"):
        console.print(f"[bold]{section}[/]: {escape(json.dumps(doc[section], default=str))}")
    vt = Table(title=f"solver versions: recorded vs installed ({escape(doc['versions']['solver_python'])})")
    for col in ("package", "recorded", "installed", ""):
        vt.add_column(col)
    for pkg in sorted(recorded):
        same = installed.get(pkg) == recorded[pkg]
        vt.add_row(pkg, escape(recorded[pkg]), escape(installed.get(pkg, "not-installed")),
                   "same" if same else "[yellow]differs[/]")
    console.print(vt)
    if "power_db" in doc:
        table = Table(title=f"|S|² [dB] at {doc['centre_wavelength_um']:.4f} µm (rows: out, cols: in)")
        s = entry.smatrix
        table.add_column("out \\ in")
        for i in s.port_in.values:
            table.add_column(str(i))
        for o in s.port_out.values:
            table.add_row(str(o), *[f"{doc['power_db'][f'{o}<-{i}']:.2f}" for i in s.port_in.values])
        console.print(table)


@library_app.command("verify")
def verify(
    ctx: typer.Context,
    repair: bool = typer.Option(False, "--repair", help="Recompute (or remove) damaged entries; delete stale temporaries."),
    strict_versions: bool = typer.Option(
        False, "--strict-versions",
        help="Also fail when an entry's recorded solver versions differ from the solver interpreter's."),
    json_out: bool = typer.Option(False, "--json"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Re-read every entry and verify its checksum and specs. Exit code 1 if damage remains
    (or, with --strict-versions, if any entry was made with other solver versions)."""
    try:
        cache = _cache(ctx, cache_dir)
        report = verify_library(cache, repair=repair, strict_versions=strict_versions)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(report)
    else:
        table = Table(title=f"verify {escape(report['root'])}")
        for col in ("device", "key", "status", "versions", "action", "error"):
            table.add_column(col, overflow="fold")
        for r in report["entries"]:
            style = "green" if r["status"] == "ok" else "red"
            vstyle = "red" if strict_versions and r.get("version_drift") else "yellow"
            versions = r.get("versions", "")
            table.add_row(r["device"], r["key"][:12], f"[{style}]{r['status']}[/]",
                          versions if versions in ("", "same") else f"[{vstyle}]{escape(versions)}[/]",
                          r.get("action", ""), escape((r.get("error") or "")[:160]))
        console.print(table)
        if report["stale_temporaries"]:
            verb = "removed" if report["stale_removed"] else "found (use --repair)"
            console.print(f"{len(report['stale_temporaries'])} stale temporary file(s) {verb}.")
        n = report["version_mismatches"]
        if n:
            first = next(r for r in report["entries"] if r.get("version_drift"))
            console.print(f"{'[red]' if strict_versions else '[yellow]'}{n} entr{'y' if n == 1 else 'ies'} made with "
                          f"other solver versions[/]; first: {escape(first['version_error'])}", soft_wrap=True)
        damaged = any(r["status"] != "ok" and not r.get("action") for r in report["entries"])
        console.print("[green]library OK[/]" if report["ok"] else
                      "[red]library has damaged entries[/]" if damaged or report["stale_temporaries"] else
                      "[red]library fails --strict-versions[/]")
    if not report["ok"]:
        raise typer.Exit(1)


@library_app.command("export")
def export(ctx: typer.Context, key: str, out: Path,
           time_convention: str = typer.Option("exp(-iwt)", "--time-convention",
                                               help="exp(-iwt) (photoprop, Meep) or exp(+jwt) (RF tools)."),
           cache_dir: Optional[Path] = typer.Option(None, "--cache", help=_CACHE_HELP)) -> None:
    """Export an entry's S-matrix to Touchstone OUT.sNp (via scikit-rf)."""
    from pipeline.touchstone import export_touchstone

    cache = _cache(ctx, cache_dir)
    try:
        entry = cache.read_path(cache.find(key))
        s = entry.smatrix
        extra = [d for d in s.dims if d not in ("wavelength", "port_out", "port_in")]
        if extra:
            raise PhotopropError(f"entry has sweep dims {extra}; Touchstone holds one device.")
        path = export_touchstone(s, out, time_convention=time_convention)
    except PhotopropError as exc:
        fail(exc)
    console.print(f"wrote {escape(str(path))}")


@library_app.command("build")
def build(
    ctx: typer.Context,
    devices: Optional[list[str]] = typer.Option(None, "--devices", help="Only these device families (repeatable)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Local Dask workers (processes, one thread each)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Existing Dask scheduler, tcp://HOST:PORT."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Job-queue cluster: slurm | pbs (--workers = jobs)."),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config",
                                                  help="TOML with \\[slurm]/\\[pbs] sections (default workflows/cluster.toml)."),
    rebuild: bool = typer.Option(False, "--rebuild", help=(
        "Recompute entries that are already cached and report per entry whether the new S matches the old one "
        "(max |ΔS| against the stated tolerance): how to check a new solver build.")),
    config: Optional[Path] = typer.Option(None, "--config", help="Library definition (default workflows/library.toml)."),
    json_out: bool = typer.Option(False, "--json"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache", help=_CACHE_HELP),
) -> None:
    """Build the default device library with Dask (resumable: cached entries are skipped)."""
    from workflows.library_build import DEFAULT_CONFIG, build_library, load_items

    cache = _cache(ctx, cache_dir)
    try:
        items = load_items(config or DEFAULT_CONFIG, devices)
        report = build_library(items, cache=cache, workers=workers, scheduler=scheduler, cluster=cluster,
                               cluster_config=cluster_config, rebuild=rebuild, progress=not json_out)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(report)
    else:
        if report.get("dashboard"):
            console.print(f"Dask dashboard: {report['dashboard']}")
        table = Table(title=f"library build: {report['requested']} entries, {report['skipped']} already cached",
                      caption=(f"rebuilt entries match the old ones when max |ΔS| <= {report['tolerance']:g}"
                               if rebuild else None))
        for col in ("item", "key", "cached", "wall s", "max |ΔS| vs old", "rel.", "matches old", "versions old→new"):
            table.add_column(col)
        for r in report["built"]:
            match = {True: "[green]yes[/]", False: "[red]NO[/]"}.get(r.get("reproduced"), "")
            table.add_row(escape(r["item"]), r["key"][:12], str(r["cached"]), str(r["wall_s"]),
                          f"{r['max_abs_dS']:.2g}" if "max_abs_dS" in r else "",
                          f"{r['rel_dS']:.2g}" if "rel_dS" in r else "", match, escape(r.get("versions_change", "")))
        for r in report["failed"]:
            table.add_row(escape(r["item"]), "[red]FAILED[/]", "", "", escape(r["error"][:120]))
        console.print(table)
    if report["failed"]:
        raise typer.Exit(1)

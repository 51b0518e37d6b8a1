"""``photoprop device``: simulate a device family with Meep FDTD (or hit the cache), list families."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from pipeline.cli.common import cache_option, use_cache

device_app = typer.Typer(help="FDTD device simulations (Meep 2D/3D) and the device families.", no_args_is_help=True)


@device_app.callback()
def _device(ctx: typer.Context, cache: Optional[Path] = cache_option()) -> None:
    ctx.obj = cache  # `device --cache DIR simulate`; `device simulate --cache DIR` wins over it


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _assignments(pairs: list[str]) -> dict[str, Any]:
    """``["gap=0.25", "band.points=5"]`` → nested dict (dots address sub-specs)."""
    from pipeline.errors import SpecError

    out: dict[str, Any] = {}
    for item in pairs:
        if "=" not in item:
            raise SpecError(f"--set {item!r}: expected key=value. Fix: e.g. --set gap=0.25 or --set band.points=5.")
        key, value = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = _parse_value(value.strip())
    return out


@device_app.command("list")
def list_devices(as_json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Device families and their spec fields (unit, default)."""
    import devices

    table = {name: devices.field_table(name) for name in devices.DEVICES}
    if as_json:
        typer.echo(json.dumps(table, indent=2))
        return
    for name, rows in table.items():
        typer.echo(f"{name}  ({devices.get(name).__doc__.strip().splitlines()[0]})")
        for r in rows:
            typer.echo(f"  {r['field']:<18s} [{r['unit']:>4s}]  default {r['default']:<45s} {r['description']}")


@device_app.command("simulate")
def simulate_cmd(
    ctx: typer.Context,
    name: Optional[str] = typer.Argument(None, help="device family, see `photoprop device list` (or use --gds)"),
    set_: list[str] = typer.Option([], "--set", help="device spec field, key=value (repeatable)"),
    solver: Optional[str] = typer.Option(None, "--solver",
                                         help="meep2d | meep3d (FDTD devices) | thermo_optic (phase shifter); "
                                              "default: the family's own"),
    resolution: Optional[float] = typer.Option(None, "--resolution", help="grid points per µm (FDTD or mode solver)"),
    solver_set: list[str] = typer.Option([], "--solver-set", help="solver spec field, key=value (repeatable)"),
    timeout_s: float = typer.Option(1800.0, "--timeout", help="wall-clock limit per solver process [s]"),
    overwrite: bool = typer.Option(False, "--overwrite", help="recompute even if cached"),
    cache_dir: Optional[Path] = cache_option(envvar=False),
    as_json: bool = typer.Option(False, "--json", help="print the JSON summary"),
    gds: Optional[Path] = typer.Option(None, "--gds", help="simulate a cell of this GDS file instead of a family "
                                                           "(gdsfactory: extra interop)"),
    cell: Optional[str] = typer.Option(None, "--cell", help="cell of the --gds file (default: its top cell)"),
    core_layer: str = typer.Option("1/0", "--core-layer", help="--gds: LAYER/DATATYPE of the Si core"),
    thickness: float = typer.Option(0.22, "--thickness", help="--gds: Si core thickness [um]"),
    ignore_layer: list[str] = typer.Option([], "--ignore-layer",
                                           help="--gds: LAYER/DATATYPE without optical meaning (repeatable)"),
) -> None:
    """Simulate NAME (or read it from the cache) and print S-parameters, checks and figures of merit."""
    import devices
    from pipeline.errors import PhotopropError
    from pipeline.fdtd.simulate import summary
    from pipeline.simulate import (FDTD_SOLVERS, default_solver, default_solver_settings, figures_of_merit,
                                   simulate, solver_spec_class)

    try:
        if gds is not None or name is None:  # an imported layout (pipeline.interop.gdsfactory_cli)
            from pipeline.errors import SpecError
            from pipeline.interop.gdsfactory_cli import simulate_gds_doc

            if gds is None or name is not None:
                raise SpecError("give a device family NAME or --gds FILE [--cell NAME], not both or neither. "
                                "Fix: e.g. `photoprop device simulate mmi` or `... simulate --gds chip.gds --cell mmi`.")
            doc, figures, cached = simulate_gds_doc(
                gds, cell, sets=_assignments(set_), solver=solver, resolution=resolution,
                solver_sets=_assignments(solver_set), timeout_s=timeout_s, overwrite=overwrite,
                cache=use_cache(ctx, cache_dir or ctx.obj), core_layer=core_layer, thickness=thickness,
                ignore_layers=ignore_layer)
        else:
            device = devices.spec_class(name)(**_assignments(set_))
            solver_name = solver or default_solver(name)
            solver_cls = solver_spec_class(solver_name)
            solver_kw = {**default_solver_settings(name, solver_name), **_assignments(solver_set)}
            if resolution is not None:
                field = "resolution" if "resolution" in solver_cls.model_fields else "mode_resolution"
                solver_kw[field] = resolution
            spec = solver_cls(**solver_kw)
            cache = use_cache(ctx, cache_dir or ctx.obj)
            execution = {"timeout_s": timeout_s} if spec.solver in FDTD_SOLVERS else {}
            entry, cached = simulate(device, spec, cache=cache, overwrite=overwrite, **execution)
            figures = figures_of_merit(entry, cache=cache, **execution)
            doc = summary(entry, cached, figures)
    except PhotopropError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(doc, indent=2, default=float))
        return
    typer.echo(f"{doc['device']} [{doc['solver']}] key {doc['key'][:12]}  {'cached' if cached else 'computed'}  {doc['path']}")
    if "power_db" in doc:
        typer.echo(f"|S|^2 [dB] at {doc['centre_wavelength_um']:.4f} um (rows: out, columns: in; '-' below noise floor)")
        ports = doc["ports"]
        typer.echo("      " + "".join(f"{p:>10s}" for p in ports))
        for o in ports:
            cells = "".join(f"{'-' if doc['power_db'][o][i] is None else format(doc['power_db'][o][i], '.2f'):>10s}"
                            for i in ports)
            typer.echo(f"{o:>6s}{cells}")
    c = doc["checks"]
    numbers = ", ".join(f"{k} {c[k]:.3g}" for k in ("reciprocity_error", "max_singular_value", "noise_floor_db",
                                                       "flux_balance") if isinstance(c.get(k), (int, float)))
    typer.echo(f"checks: {'passed' if c.get('passed') else 'FAILED: ' + '; '.join(c.get('failures', []))} ({numbers})")
    for k, v in figures.items():
        typer.echo(f"{k}: {v}")

"""``photoprop mode``: guided modes (and coupling length) of a Si strip in SiO2."""

from __future__ import annotations

import json
import math
from typing import Optional

import typer


def mode(
    width: float = typer.Option(0.5, help="strip width [um]"),
    thickness: float = typer.Option(0.22, help="strip thickness [um]"),
    wavelength: float = typer.Option(1.55, help="wavelength [um]"),
    gap: Optional[float] = typer.Option(None, help="edge-to-edge gap [um]: solve a coupled pair"),
    solver: str = typer.Option("mpb", help="mode-solver backend: mpb or tidy3d"),
    resolution: Optional[int] = typer.Option(None, help="grid resolution [px/um] (default per solver)"),
    json_out: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Solve the guided modes of a Si strip (or a coupled pair with --gap) in SiO2."""
    from pipeline.errors import PhotopropError
    from pipeline.modes import coupled_strips, solve_modes, strip
    from pipeline.modes.coupling import supermode_indices

    try:
        if gap is None:
            cs, num_modes = strip(width, thickness), 2
        else:
            cs, num_modes = coupled_strips(width, thickness, gap), 4
        ds = solve_modes(cs, wavelength, num_modes=num_modes, solver=solver, resolution=resolution,
                         fields=gap is not None)
        neff, ng, te = (ds[v].values[0] for v in ("neff", "ng", "te_fraction"))
        out: dict = {
            "neff": [None if math.isnan(v) else float(v) for v in neff],
            "ng": [None if math.isnan(v) else float(v) for v in ng],
            "te_fraction": [None if math.isnan(v) else float(v) for v in te],
            "solver": solver, "resolution": ds.attrs["resolution"],
            "width_um": width, "thickness_um": thickness, "wavelength_um": wavelength,
        }
        if gap is not None:
            n_e, n_o = supermode_indices(ds, cs)
            out["gap_um"] = gap
            out["coupling_length_um"] = wavelength / (2 * (n_e - n_o))
    except PhotopropError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if json_out:
        typer.echo(json.dumps(out))
        return
    from rich.console import Console
    from rich.table import Table

    title = f"{width}x{thickness} um Si strip" + (f" pair, gap {gap} um" if gap is not None else "")
    table = Table(title=f"{title} at {wavelength} um ({solver}, {out['resolution']:g} px/um)")
    for col in ("mode", "n_eff", "n_g", "TE fraction"):
        table.add_column(col, justify="right")
    for i, (a, b, c) in enumerate(zip(out["neff"], out["ng"], out["te_fraction"])):
        table.add_row(str(i), *("-" if v is None else f"{v:.5f}" for v in (a, b)), "-" if c is None else f"{c:.3f}")
    console = Console()
    console.print(table)
    if gap is not None:
        console.print(f"coupling length L_c = lambda/(2 dn) = {out['coupling_length_um']:.3f} um")

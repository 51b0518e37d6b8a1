"""``photoprop demo``: the main job on the embedded default (local Dask, shipped cache/)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pipeline.cli.common import cache_option, console, emit_json, fail, use_cache
from pipeline.errors import PhotopropError


_SHORT = {"directional_coupler": "coupler", "phase_shifter": "heater", "waveguide": "waveguide",
          "photodetector": "Ge PD"}
_FIGURES = (("power_coupling", "κ²", ".3f", ""), ("coupling_length_um", "L_c", ".1f", " µm"),
            ("excess_loss_db", "loss", ".2f", " dB"), ("imbalance_db", "imbalance", ".2f", " dB"),
            ("phase_difference_deg", "Δφ", ".0f", "°"), ("p_pi_mw", "P_π", ".1f", " mW"),
            ("crosstalk", "xtalk", ".3f", ""), ("insertion_loss_db", "IL", ".2f", " dB"),
            ("crosstalk_db", "XT", ".1f", " dB"), ("responsivity_a_per_w", "R", ".3f", " A/W"),
            ("absorbed_fraction", "absorbed", ".3f", ""), ("transmission", "T", ".4f", ""),
            ("reflection_db", "refl.", ".1f", " dB"))


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("results/demo"), "--out", help="Output folder."),
    workers: int = typer.Option(2, "--workers", min=1, help="Local Dask workers for missing library entries."),
    cache: Optional[Path] = cache_option(),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Check/build the device library, report device figures of merit, compose an MZI switch."""
    from rich.markup import escape

    from workflows.demo import run_demo

    try:
        summary = run_demo(out, cache=use_cache(ctx, cache), workers=workers)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(summary)
        return
    lib = summary["library"]
    console.print(f"device library {lib['root']}: {lib['entries']} entries "
                  f"({lib['already_cached']} of the default library cached, {lib['built_now']} built now)",
                  markup=False)
    table = Table(title="devices: figures of merit from the cached simulations")
    for col in ("device", "key", "spec [µm]", "figures of merit"):
        table.add_column(escape(col), no_wrap=col in ("device", "key"))
    for r in summary["devices"]:
        f = r["figures"]
        shown = [(name, f[key], fmt, unit) for key, name, fmt, unit in _FIGURES if key in f]
        table.add_row(escape(_SHORT.get(r["device"], r["device"])), r["key"][:8],
                      escape(" ".join(f"{k}={v:g}" for k, v in r["spec"].items())),
                      escape(", ".join(f"{name} {value:{fmt}}{unit}" for name, value, fmt, unit in shown)))
    console.print(table)
    m = summary["mzi_switch"]
    console.print(f"MZI switch (3-dB FDTD couplers + thermo-optic arm): cross {m['cross_at_0mW_db']:.2f} dB at 0 mW; "
                  f"bar state at {m['switching_power_mw']:.1f} mW, extinction {m['extinction_db']:.1f} dB, "
                  f"insertion loss {m['insertion_loss_db']:.2f} dB")
    c = summary["coupler_compact_model"]
    k = ", ".join(f"{v:.3f}" for v in c["kappa2_at_dw_minus20_0_plus20nm"])
    console.print(f"coupler compact model ({c['sweep_entries']} FDTD runs, δw ±20 nm, δt ±10 nm): κ² = {k} at "
                  f"δw = −20/0/+20 nm; held-out |Δκ²| ≤ {c['holdout_max_abs_dkappa2']:.3f}, "
                  f"L_c within {100 * c['holdout_max_lc_rel_error']:.1f} %")
    h = summary["heater_row_8x20um"]
    console.print(f"heater row, 20 µm pitch: crosstalk to nearest neighbour {h['nearest_neighbour_crosstalk']:.3f}, "
                  f"next-nearest {h['next_nearest']:.4f} (fraction of the driven phase)")
    console.print(f"wrote {', '.join(summary['outputs'])} in {summary['wall_s']} s", markup=False)

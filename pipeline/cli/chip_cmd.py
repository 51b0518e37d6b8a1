"""``photoprop chip show``: one sampled die — its impairments and headline numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli.common import cache_option, console, emit_json, fail, use_cache
from pipeline.errors import PhotopropError, SpecError

chip_app = typer.Typer(help="Simulated chips (dies): architecture + layout + sampled impairments.",
                       no_args_is_help=True)


@chip_app.callback()
def _chip(ctx: typer.Context, cache: Optional[Path] = cache_option()) -> None:
    ctx.obj = cache  # `chip --cache DIR show`; `chip show --cache DIR` wins over it

#: Labels and formats of the summary rows (key → (label, format)).
ROWS = {
    "loss_forward_db_mean": ("forward path loss, mean [dB]", ".2f"),
    "loss_forward_db_max": ("forward path loss, worst [dB]", ".2f"),
    "coupler_loss_db_mean": ("coupler excess loss, mean [dB]", ".3f"),
    "column_loss_db": ("loss per mesh column [dB]", ".3f"),
    "heater_loss_db": ("heater insertion loss [dB]", ".3f"),
    "kappa2_mean": ("coupler κ², mean", ".4f"),
    "kappa2_std": ("coupler κ², spread (1σ)", ".4f"),
    "width_offset_mean_um": ("width offset, die mean [µm]", "+.4f"),
    "thickness_offset_mean_um": ("thickness offset, die mean [µm]", "+.4f"),
    "crosstalk_nearest": ("thermal crosstalk, nearest heater", ".4f"),
    "arm_offset_rms": ("MZI arm phase offset, rms [rad]", ".3f"),
    "heater_efficiency_std": ("heater efficiency spread (1σ)", ".4f"),
    "weight_error_rms": ("weight error after programming, rms", ".3f"),
    "phase_calibration_offset_error_max": ("phase calibration, max |φ̂₀ − φ₀| at use [rad]", ".2e"),
    "phase_calibration_efficiency_error_max": ("phase calibration, max |ε̂ − ε|", ".2e"),
    "crosstalk_calibration_error_max": ("crosstalk calibration, max |Ĉ − C|", ".2e"),
    "modulator_extinction_db_min": ("activation modulator extinction, worst [dB]", ".1f"),
    "ring_detuning_pm": ("ring neuron: laser − resonance at bias [pm]", "+.1f"),
    "ring_bias_V": ("ring neuron: bias [V]", "+.2f"),
    "ring_drive_swing_V": ("ring neuron: drive swing (reverse) [V]", ".2f"),
    "ring_derivative_detuning_pm": ("ring neuron: derivative rings at ∓ [pm]", ".1f"),
    "ring_resonance_spread_pm": ("ring resonances by fabrication, spread (1σ) [pm]", ".0f"),
    "ring_resonance_range_pm": ("ring resonances by fabrication, range [pm]", ".0f"),
    "ring_lock_residual_rms_pm": ("ring lock residual, rms [pm]", ".3f"),
    "ring_lock_residual_max_pm": ("ring lock residual, worst [pm]", ".3f"),
    "ring_locking_power_mW": ("ring locking power, all rings [mW]", ".1f"),
    "ring_locking_power_max_mW": ("ring locking power, worst ring [mW]", ".2f"),
    "ring_lock_readings": ("ring lock readings", ".0f"),
    "ring_activation_error": ("ring activation error after lock, max", ".2e"),
    "ring_derivative_error": ("ring on-chip derivative error, max / max f'", ".3f"),
    "relative_noise_floor": ("detector noise floor / full-scale signal", ".2e"),
    "p_pi_mw": ("heater P_π [mW]", ".2f"),
}


@chip_app.command("show")
def show(
    ctx: typer.Context,
    architecture: str = typer.Option("attenuator", "--architecture", help="attenuator | mesh."),
    impairments: str = typer.Option("realistic", "--impairments", help="realistic | ideal."),
    seed: int = typer.Option(0, "--seed", help="Die seed (fabrication sample)."),
    n_in: int = typer.Option(2, "--inputs", help="Input features."),
    n_out: int = typer.Option(1, "--outputs", help="Outputs (1 for binary tasks)."),
    calibration: str = typer.Option("readout", "--calibration",
                                    help="readout (node gains only) | lab (per-MZI phase offsets and P_pi, "
                                         "thermal crosstalk, node gains)."),
    neuron: Optional[str] = typer.Option(None, "--neuron", help="attenuator neuron: mzm | ring (default: the "
                                         "architecture's)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the die's Dataset (netCDF)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
    cache: Optional[Path] = cache_option(envvar=False),
) -> None:
    """Summarise one die: loss budget, coupler error spread, crosstalk, noise floor."""
    from pipeline.chip.impairments import impairments as preset
    from pipeline.chip.summary import summarize_die
    from pipeline.training.run import architecture as make_architecture

    try:
        if seed < 0:
            raise SpecError(f"--seed = {seed}: must be >= 0. Fix: e.g. --seed 0.")
        if calibration not in ("readout", "lab"):
            raise SpecError(f"--calibration = {calibration!r}: unknown. Fix: use readout or lab.")
        use_cache(ctx, cache or ctx.obj, must_exist=True)
        if neuron is not None and (architecture != "attenuator" or neuron not in ("mzm", "ring")):
            raise SpecError(f"--neuron = {neuron!r} with --architecture {architecture}: the neuron kind is an "
                            "attenuator option, mzm or ring. Fix: --architecture attenuator --neuron ring.")
        arch = make_architecture(architecture, n_in, n_out, **({"neuron": {"kind": neuron}} if neuron else {}))
        if calibration == "lab":
            if not hasattr(arch, "lab_calibrated"):
                raise SpecError(f"--calibration lab: architecture {architecture!r} has no lab calibration. "
                                "Fix: use --calibration readout.")
            arch = arch.lab_calibrated()
        die = arch.sample_die(preset(impairments), seed)
        doc = {"impairments": impairments, "calibration": calibration, **summarize_die(die)}
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            die.to_dataset().to_netcdf(out, engine="h5netcdf")
            doc["dataset_path"] = str(out)
    except PhotopropError as exc:
        fail(exc)
    if json_out:
        emit_json(doc)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"die {seed}: {architecture}, {impairments} impairments, {calibration} calibration "
                               f"({doc['n_params']} weights)"))
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, (label, fmt) in ROWS.items():
        if key in doc:
            table.add_row(escape(label), format(doc[key], fmt))
    table.add_row("detector noise", "on" if preset(impairments).detector_noise else "off (ideal)")
    console.print(table)
    if out is not None:
        console.print(f"die dataset: {out}", markup=False)

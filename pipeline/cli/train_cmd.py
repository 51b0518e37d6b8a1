"""``photoprop train``: train an architecture on one simulated die with one or more algorithms."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from pipeline.cli.common import cache_option, console, emit_json, fail, use_cache
from pipeline.cli.progress import epoch_progress
from pipeline.errors import PhotopropError, SpecError


def train(
    ctx: typer.Context,
    dataset: str = typer.Option("moons", "--dataset", help="moons | circles | xor | iris | path to a .csv file "
                                "(feature columns then a label column, header optional)."),
    architecture: str = typer.Option("attenuator", "--architecture", help="attenuator | mesh."),
    neuron: Optional[str] = typer.Option(None, "--neuron", help="attenuator neuron: mzm (Mach-Zehnder modulator) "
                                         "| ring (the library's microring modulator, resonance-locked); the ideal "
                                         "model trains for the same activation (default: the architecture's, mzm)."),
    algorithm: str = typer.Option("insitu", "--algorithm", help="ideal | ideal-best (best of --ideal-restarts "
                                  "initialisations by final training loss) | offline | offline-calibrated (ideal "
                                  "weights on the lab-calibrated die) | insitu | forward-only, a comma list, or all."),
    impairments: str = typer.Option("realistic", "--impairments", help="realistic | ideal."),
    seed: int = typer.Option(0, "--seed", help="Die seed (also initial parameters and batch order unless "
                             "--init-seed is given)."),
    init_seed: Optional[int] = typer.Option(None, "--init-seed", help="Initial parameters and batch order "
                                            "(default: --seed)."),
    split_seed: int = typer.Option(0, "--split-seed", help="Train/test split seed."),
    calibration: str = typer.Option("readout", "--calibration", help="readout (the die's gain calibration) | lab "
                                    "(hardware algorithms on the lab-calibrated die: phase/P_pi, crosstalk, gains)."),
    ideal_restarts: Optional[int] = typer.Option(None, "--ideal-restarts", help="ideal-best: initialisations "
                                                 "(default: the TrainConfig's, 5)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Training epochs (default: the TrainConfig's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Samples per step."),
    learning_rate: Optional[float] = typer.Option(None, "--lr", help="Step size in weight units."),
    out: Path = typer.Option(Path("results/train"), "--out", help="Folder for the history (.nc) and plots."),
    no_plots: bool = typer.Option(False, "--no-plots", help="Skip the PNG plots."),
    cache: Optional[Path] = cache_option(),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Train on a simulated die; write the training history (netCDF) and plots."""
    from rich.markup import escape

    from pipeline.training import algorithms as alg
    from pipeline.training import run

    t0 = time.perf_counter()
    try:
        if seed < 0:
            raise SpecError(f"--seed = {seed}: must be >= 0. Fix: e.g. --seed 0.")
        for opt, value in (("--epochs", epochs), ("--batch-size", batch_size), ("--ideal-restarts", ideal_restarts)):
            if value is not None and value < 1:
                raise SpecError(f"{opt} = {value}: must be >= 1. Fix: e.g. {opt} 30.")
        if learning_rate is not None and not learning_rate > 0:
            raise SpecError(f"--lr = {learning_rate}: must be > 0. Fix: e.g. --lr 0.05.")
        if neuron is not None and (architecture != "attenuator" or neuron not in ("mzm", "ring")):
            raise SpecError(f"--neuron = {neuron!r} with --architecture {architecture}: the neuron kind is an "
                            "attenuator option, mzm or ring. Fix: --architecture attenuator --neuron ring.")
        names = run.parse_algorithms(algorithm)
        changes = {k: v for k, v in (("epochs", epochs), ("batch_size", batch_size),
                                     ("learning_rate", learning_rate), ("ideal_restarts", ideal_restarts))
                   if v is not None}
        cfg = alg.TrainConfig(**changes)
        use_cache(ctx, cache, must_exist=True)
        with epoch_progress(cfg.epochs, len(names)) as update:
            result = run.train(dataset, architecture, names, impairments, seed=seed, config=cfg, progress=update,
                               init_seed=init_seed, split_seed=split_seed, calibration=calibration,
                               arch_options={"neuron": {"kind": neuron}} if neuron else None)
        paths = result.save(out, plots_wanted=not no_plots)
    except PhotopropError as exc:
        fail(_name_option(exc))
    doc = result.summary(paths)
    doc["total_wall_s"] = time.perf_counter() - t0
    if "neuron" in result.history.attrs:
        doc["neuron"] = str(result.history.attrs["neuron"])
    if json_out:
        emit_json(doc)
        return
    cal = result.history.attrs.get("calibration", "readout")
    arch_name = doc["architecture"] + (f" ({doc['neuron']} neurons)" if "neuron" in doc else "")
    table = Table(title=escape(f"{doc['dataset']} on {arch_name} die {seed} ({doc['impairments']} "
                               f"impairments, {cal} calibration)"))
    table.add_column("algorithm", no_wrap=True)
    for col in ("test [%]", "train [%]", "loss", "dead", "reads", "calib. reads", "wall [s]"):
        table.add_column(escape(col), justify="right", no_wrap=True)
    for name, r in doc["algorithms"].items():
        table.add_row(escape(name), f"{100 * r['test_accuracy']:.1f}", f"{100 * r['train_accuracy']:.1f}",
                      f"{r['train_loss']:.4f}", str(r.get("dead_neurons", "-")), f"{r['measurements']:,}",
                      f"{r.get('calibration_measurements', 0):,}", f"{r['wall_s']:.2f}")
    console.print(table)
    for kind, path in doc["paths"].items():
        console.print(f"{kind}: {path}", markup=False)


def _name_option(exc: PhotopropError) -> PhotopropError:
    """Prefix errors about the dataset, architecture or impairments with their CLI option."""
    msg = str(exc)
    for prefix in ("dataset", "architecture", "impairments", "calibration", "init_seed", "split_seed"):
        if msg.startswith(prefix):
            return type(exc)(f"--{prefix.replace('_', '-')}: {msg}")
    return exc

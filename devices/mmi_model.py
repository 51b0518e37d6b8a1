"""2×2 MMI compact model from a cached FDTD sweep of the width offset δw.

Sweep (:class:`MMISweepSpec`).  The library MMI (:mod:`devices.mmi`, general
interference, 2.5 × 23.0 µm, 2D calibrated Meep at 30 px/µm) is simulated for width
offsets δw ∈ {−20, 0, +20} nm over the band.  δw is a lithography bias: every edge moves
by δw/2, so the access width, the taper width and the multimode width all grow by δw;
the access-guide centres (``port_offset``), the port pitch and the lengths are fixed.
The self-imaging length scales as W² (3 L_π/2 ≈ 2 n_r W_e²/λ, Soldano & Pennings, J.
Lightwave Technol. 13, 615 (1995)): δw = ±20 nm moves it by ∓1.6 % (~0.4 µm) against the
fixed length, which unbalances the outputs.  A held-out δw (+10 nm) is simulated the same
way and never fitted.

Physics of the model: each S element is interpolated as ln|S| and unwrapped phase —
linearly in λ between the simulated wavelengths, by the quadratic through the δw nodes
(:class:`devices.crossing_model.OffsetTable`, reciprocal by construction).  The
quantities a circuit needs follow from the rebuilt S: imbalance 10 log10(|S31|²/|S41|²),
excess loss −10 log10(|S31|² + |S41|²), output phase difference arg(S31/S41) (±90° in
self-imaging theory).  Their held-out errors are stored with the model
(``compact_models/mmi_model-<hash>.nc``).

Measured (default sweep, held out δw = +10 nm, 1.50–1.60 µm): imbalance within 0.028 dB
(the FDTD's runs from +1.07 to −0.82 dB across the band), excess loss within 0.011 dB
(0.42–0.76 dB), phase difference within 0.004 rad (−91° to −98°); the common phase of
the outputs is off by 0.10 rad (max |ΔS| 0.075): the FDTD's n_eff scatter between
geometries (~1e-3 at 30 px/µm, as in :mod:`devices.coupler_model`) over the ~40 µm path.
Trend at 1.55 µm for δw = −20 / 0 / +20 nm: imbalance −0.44 / +0.11 / +0.53 dB, excess
loss 0.72 / 0.53 / 0.47 dB.  The through phase moves by ~2.9 rad per 10-nm band step
(just below π): a 20-nm grid aliases and is refused by the table's group-delay check.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import model_validator

from devices.crossing_model import (PORTS, OffsetTable, as_smatrix, holdout_errors, lagrange_check_nodes, model_hash,
                                    read_runs, wavelength_axis)
from pipeline.specs import Spec, WavelengthBand, quantity


class MMISweepSpec(Spec):
    """Width-offset sweep of the library 2×2 MMI (2D FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal access waveguide width (at dw = 0)", gt=0.1, le=3.0)
    taper_width: float = quantity(1.0, "um", "nominal access taper width at the MMI (at dw = 0)", gt=0.1, le=5.0)
    mmi_width: float = quantity(2.5, "um", "nominal multimode width (at dw = 0)", gt=0.5, le=20.0)
    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (all edges: dw/2)")
    holdout: tuple[float, ...] = quantity((0.01,), "um", "width offsets simulated for validation, never fitted")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")

    @model_validator(mode="after")
    def _consistent(self) -> "MMISweepSpec":
        problems = lagrange_check_nodes(self.dw, "dw", "(-0.02, 0.0, 0.02)")
        if min(self.dw + self.holdout) <= -self.width / 2:
            problems.append(f"dw = {self.dw} um: width {self.width} + dw must stay positive. Fix: smaller offsets.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def device(self, dw: float) -> Any:
        """The MMISpec of one sweep point (access, taper and multimode widths + δw)."""
        from devices.mmi import MMISpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return MMISpec(width=r(self.width + dw), taper_width=r(self.taper_width + dw),
                       mmi_width=r(self.mmi_width + dw), band=self.band)

    def runs(self) -> list[tuple[str, float]]:
        """Every FDTD run: (role, δw) — fit grid first, then held-out points."""
        return [("fit", float(v)) for v in self.dw] + [("holdout", float(v)) for v in self.holdout]


def figures(s: np.ndarray) -> dict[str, np.ndarray]:
    """Imbalance [dB], excess loss [dB], phase difference arg(S31/S41) [rad] and reflection
    [dB] from input o1 of S (..., out, in) in port order o1..o4."""
    s31, s41 = s[..., 2, 0], s[..., 3, 0]
    p31, p41 = np.abs(s31) ** 2, np.abs(s41) ** 2
    return {"imbalance_db": 10 * np.log10(p31 / p41), "excess_loss_db": -10 * np.log10(p31 + p41),
            "phase_difference": np.angle(s31 / s41),
            "reflection_db": 10 * np.log10(np.maximum(np.abs(s[..., 0, 0]) ** 2, 1e-30))}


@dataclass(frozen=True)
class MMIModel:
    """The tabulated sweep (amplitude/phase) and its stored accuracy."""

    table: OffsetTable
    dataset: xr.Dataset

    def smatrix(self, wavelength: Any, dw: Any) -> np.ndarray:
        lam, w = np.asarray(wavelength, dtype=float), np.asarray(dw, dtype=float)
        self.table.check(lam, w, "MMI")
        return self.table.evaluate(lam, w)

    @classmethod
    def load(cls, path: Path | str) -> "MMIModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
        return cls(OffsetTable.from_dataset(ds), ds)


def _direct(s: xr.DataArray) -> np.ndarray:
    return np.asarray(s.sel(port_out=list(PORTS), port_in=list(PORTS)).transpose(
        "wavelength", "port_out", "port_in").values)


def fit(sweep: MMISweepSpec, smatrices: dict[tuple[str, float], xr.DataArray],
        provenance: dict[str, Any] | None = None) -> MMIModel:
    """Tabulate the fit runs and measure the held-out accuracy (pure)."""
    fit_dw = [float(v) for v in sweep.dw]
    table = OffsetTable.from_smatrices(fit_dw, [smatrices[("fit", v)] for v in fit_dw], PORTS)
    ds = table.to_dataset(PORTS)
    summary: dict[str, float] = {}
    hold = [float(v) for v in sweep.holdout]
    if hold:
        direct = [smatrices[("holdout", v)] for v in hold]
        ds["holdout_max_abs_ds"] = holdout_errors(table, hold, direct, PORTS)
        fm = figures(table.evaluate(table.wavelength[None, :], np.asarray(hold)[:, None]))
        fd = figures(np.array([_direct(s) for s in direct]))
        dims = ("holdout_point", "wavelength")
        for q in ("imbalance_db", "excess_loss_db"):
            ds[f"holdout_{q}_error"] = (dims, fm[q] - fd[q])
            ds[f"holdout_{q}_fdtd"] = (dims, fd[q])
        ds["holdout_phase_difference_error"] = (dims, np.angle(np.exp(1j * (fm["phase_difference"]
                                                                            - fd["phase_difference"]))))
        ds["holdout_phase_difference_fdtd"] = (dims, fd["phase_difference"])
        ds = ds.assign_coords(holdout_dw=("holdout_point", hold))
        summary = {"holdout_max_abs_ds": float(ds["holdout_max_abs_ds"].max()),
                   "holdout_max_abs_imbalance_error_db": float(np.abs(ds["holdout_imbalance_db_error"]).max()),
                   "holdout_max_abs_excess_loss_error_db": float(np.abs(ds["holdout_excess_loss_db_error"]).max()),
                   "holdout_max_abs_phase_difference_error_rad": float(
                       np.abs(ds["holdout_phase_difference_error"]).max())}
    ds.attrs.update(sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0],
                    accuracy=json.dumps(summary),
                    **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return MMIModel(table, ds)


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep, default resolution (the library MMI entry)."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


def model_path(cache: Any = None, sweep: MMISweepSpec | None = None, solver: Any = None) -> Path:
    """Where the MMI model of (sweep, solver) is stored."""
    from pipeline.cache import DeviceCache

    cache = cache if cache is not None else DeviceCache()
    sweep = sweep or MMISweepSpec()
    solver = solver or default_solver()
    return model_hash("mmi_model", sweep, solver, [cache.key(sweep.device(v), solver) for _, v in sweep.runs()],
                      cache)


def build_model(sweep: MMISweepSpec | None = None, solver: Any = None, *, cache: Any = None,
                write: bool = True) -> MMIModel:
    """Fit from the cached sweep (never simulates) and, with ``write``, store it."""
    from devices.photodetector_model import write_dataset
    from pipeline.cache import DeviceCache

    sweep = sweep or MMISweepSpec()
    solver = solver or default_solver()
    cache = cache if cache is not None else DeviceCache()
    smatrices, keys = read_runs(sweep, solver, cache, "mmi")
    model = fit(sweep, smatrices, provenance={"solver_spec": solver.canonical_json(), "entries": keys})
    if write:
        write_dataset(model.dataset, model_path(cache, sweep, solver))
    return model


@functools.lru_cache(maxsize=4)
def _default_model(root: str) -> MMIModel:
    from pipeline.cache import DeviceCache

    cache = DeviceCache(root)
    path = model_path(cache)
    return MMIModel.load(path) if path.exists() else build_model(cache=cache, write=False)


def default_model() -> MMIModel:
    """The model of the default sweep from the default library."""
    from pipeline.cache.store import default_root

    return _default_model(str(default_root()))


# -- public compact model ----------------------------------------------------------------------
def mmi(*, wavelength: Any = 1.55, dw: Any = 0.0, model: MMIModel | None = None) -> xr.DataArray:
    """4-port S-matrix of the library MMI with width offset ``dw`` [µm] (ports o1..o4 as
    :mod:`devices.mmi`); a scalar ``dw`` gives dims (wavelength, port_out, port_in), an
    array a leading ``instance`` dim with coordinate dw."""
    m = model or default_model()
    lam = wavelength_axis(wavelength)
    w = np.asarray(dw, dtype=float)
    scalar = w.ndim == 0
    w = np.atleast_1d(w).ravel()
    s = m.smatrix(lam[None, :], w[:, None])
    prov = {"model": "devices.mmi_model", "sweep_spec": m.dataset.attrs.get("sweep_spec"),
            "accuracy": json.loads(m.dataset.attrs.get("accuracy", "{}"))}
    return as_smatrix(s, lam, w, scalar, prov)


def imbalance_db(*, wavelength: Any = 1.55, dw: Any = 0.0, model: MMIModel | None = None) -> np.ndarray:
    """10 log10(|S31|²/|S41|²) [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw))["imbalance_db"]


def excess_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, model: MMIModel | None = None) -> np.ndarray:
    """−10 log10(|S31|² + |S41|²) [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw))["excess_loss_db"]


def phase_difference(*, wavelength: Any = 1.55, dw: Any = 0.0, model: MMIModel | None = None) -> np.ndarray:
    """arg(S31/S41) [rad] (self-imaging theory: ±π/2; numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw))["phase_difference"]


def library_specs(sweep: MMISweepSpec | None = None) -> list[Any]:
    """Every MMISpec of the default sweep (fit and held out), for the library build."""
    sweep = sweep or MMISweepSpec()
    return [sweep.device(v) for _, v in sweep.runs()]

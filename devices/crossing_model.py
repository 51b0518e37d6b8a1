"""Waveguide-crossing compact model from a cached FDTD sweep of the width offset δw,
and the amplitude/phase interpolation table it shares with :mod:`devices.mmi_model`.

Sweep (:class:`CrossingSweepSpec`).  The library crossing (:mod:`devices.crossing`,
parabolic tapers, 2D calibrated Meep at 30 px/µm) is simulated for width offsets
δw ∈ {−20, 0, +20} nm over the band; δw is a lithography bias, every edge moves by δw/2,
so both the port width and the taper width grow by δw (the arm length is fixed).  The
calibrated 2D material model is refitted to the actual width, so δw is physical.  A
held-out δw (+10 nm) is simulated the same way and never fitted.

Physics of the model (:class:`OffsetTable`).  Every S-matrix element is interpolated as
amplitude and phase, never as raw complex numbers: ln|S| and the phase (unwrapped along
λ, its 2π branch aligned across δw at the band centre) are interpolated linearly in λ
between the simulated wavelengths (10 nm apart: the through phase moves by ~0.6 rad per
step, almost linearly in λ) and by the Lagrange polynomial through the δw nodes
(quadratic for 3 nodes: the lowest order with curvature; exact at the nodes).  The
sweep's S-matrices are symmetrised, (S + Sᵀ)/2, before tabulation, so the rebuilt S is
exactly reciprocal; the FDTD's own ‖S − Sᵀ‖ is recorded in the entries' checks.  The
rebuilt S is projected onto passive matrices (:func:`passive`: singular values clipped
at 1), and tabulation refuses a wavelength grid too coarse for the transmission phases
(a strong path's unwrapped phase must fall with λ: positive group delay).

Accuracy against the held-out run (max |ΔS| over all elements, insertion-loss and
crosstalk error in dB, through-phase error) is measured when the model is built and
stored with it (``compact_models/crossing_model-<hash>.nc``).  Default sweep, held out
δw = +10 nm over 1.50–1.60 µm: max |ΔS| 0.009, insertion loss within 0.011 dB (IL
0.66–0.77 dB), through phase within 0.010 rad, crosstalk within 2.0 dB at its −49 dB dip
(≤ 0.9 dB elsewhere).  λ interpolation, tested by tabulating every other wavelength
(20 nm) and predicting the rest: |Δ|S31|²| ≤ 0.0034, phase ≤ 0.0073 rad.  Trend: IL 0.76 /
0.77 / 0.67 dB and XT −39.5 / −41.9 / −48.6 dB at δw = −20 / 0 / +20 nm (1.55 µm).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import model_validator

from pipeline.errors import CacheError, ExtrapolationError, SpecError
from pipeline.smatrix import make_smatrix
from pipeline.specs import Spec, WavelengthBand, quantity

PORTS = ("o1", "o2", "o3", "o4")
#: |S| floor before the logarithm (elements that the FDTD returns as exactly zero).
AMPLITUDE_FLOOR = 1e-8


# -- the interpolation table (shared with the MMI model) ---------------------------------------
def passive(s: np.ndarray) -> np.ndarray:
    """The nearest passive S (..., n, n): singular values above 1 clipped to 1 (S = U Σ Vᴴ →
    U min(Σ, 1) Vᴴ), then the reciprocal part (S + Sᵀ)/2 (its norm is ≤ 1 again).  A no-op
    for passive S; corrects the FDTD's own passivity error (≤ ~3e-3) and interpolation
    between wavelengths of elements whose relative phases the table does not tie together."""
    sv = np.linalg.svd(s, compute_uv=False)[..., 0]
    if not np.any(sv > 1.0):
        return s
    u, sig, vh = np.linalg.svd(s)
    c = np.einsum("...ik,...k,...kj->...ij", u, np.minimum(sig, 1.0), vh)
    return np.where((sv > 1.0)[..., None, None], 0.5 * (c + np.swapaxes(c, -1, -2)), s)


#: Elements with |S| above this everywhere in the band are propagating paths whose phase
#: must fall with λ (positive group delay): the unwrapping check of :class:`OffsetTable`.
GROUP_DELAY_AMPLITUDE = 0.1


def _check_group_delay(phase: np.ndarray, amp: np.ndarray, ports: tuple[str, ...]) -> None:
    """Transmission phases unwrapped along λ must decrease (exp(−iωt): φ = βL, dφ/dλ < 0);
    an increase means the λ grid is too coarse (steps beyond π alias)."""
    strong = amp.min(axis=1) > GROUP_DELAY_AMPLITUDE  # (n_dw, out, in)
    slope = (phase[:, -1] - phase[:, 0])
    bad = strong & (slope >= 0)
    if np.any(bad):
        i, o, j = (int(v[0]) for v in np.nonzero(bad))
        step = float(np.mean(np.diff(phase[i, :, o, j])))
        raise SpecError(f"the phase of S[{ports[o]}, {ports[j]}] rises with wavelength (mean step {step:+.2f} rad): "
                        "the wavelength grid is too coarse to unwrap a transmission phase (steps beyond π alias). "
                        "Fix: more band points (band.points).")


@dataclass(frozen=True)
class OffsetTable:
    """ln|S| and unwrapped phase on a (δw node, wavelength) grid: see the module doc."""

    dw: np.ndarray  # (n_dw,) nodes [µm], ascending
    wavelength: np.ndarray  # (n_λ,) [µm], ascending
    log_amp: np.ndarray  # (n_dw, n_λ, n_port, n_port)
    phase: np.ndarray  # (n_dw, n_λ, n_port, n_port) [rad]

    @classmethod
    def from_smatrices(cls, dw: list[float], smatrices: list[xr.DataArray], ports: tuple[str, ...]) -> "OffsetTable":
        """Tabulate the S-matrices (dims wavelength, port_out, port_in) of the δw nodes."""
        order = np.argsort(dw)
        dw_arr = np.asarray(dw, dtype=float)[order]
        if len(set(dw_arr.tolist())) != dw_arr.size:
            raise SpecError(f"dw = {list(dw)} um: the δw nodes must be distinct.")
        lam = np.asarray(smatrices[0].wavelength.values, dtype=float)
        s = []
        for i in order:
            m = smatrices[i].sel(port_out=list(ports), port_in=list(ports)).transpose("wavelength", "port_out",
                                                                                      "port_in")
            if not np.allclose(m.wavelength.values, lam):
                raise SpecError("the sweep's S-matrices have different wavelengths; rebuild them on one band.")
            v = np.asarray(m.values)
            s.append(0.5 * (v + np.swapaxes(v, -1, -2)))  # reciprocal part
        s = np.array(s)
        phase = np.unwrap(np.angle(s), axis=1)
        _check_group_delay(phase, np.abs(s), ports)
        kc = lam.size // 2
        i0 = int(np.argmin(np.abs(dw_arr)))  # branch of the node nearest δw = 0 at the band centre
        phase -= 2 * np.pi * np.round((phase[:, kc:kc + 1] - phase[i0:i0 + 1, kc:kc + 1]) / (2 * np.pi))
        return cls(dw_arr, lam, np.log(np.maximum(np.abs(s), AMPLITUDE_FLOOR)), phase)

    def check(self, wavelength: np.ndarray, dw: np.ndarray, what: str) -> None:
        for name, v, grid, fix in (("wavelength", wavelength, self.wavelength, "band"), ("dw", dw, self.dw, "dw")):
            lo, hi = float(grid.min()), float(grid.max())
            bad = (v < lo - 1e-9) | (v > hi + 1e-9)
            if np.any(bad):
                raise ExtrapolationError(
                    f"{name} = {np.asarray(v)[bad].ravel()[0]:.6g} um is outside the swept range {lo:.6g}..{hi:.6g} "
                    f"um of the {what} model. Fix: stay inside it, or widen the sweep's {fix} and rebuild.")

    def _lagrange(self, dw: np.ndarray) -> np.ndarray:
        """Lagrange basis weights (..., n_dw) of the δw nodes."""
        x = np.asarray(dw, dtype=float)[..., None]
        w = np.ones(x.shape[:-1] + (self.dw.size,))
        for j, xj in enumerate(self.dw):
            for m, xm in enumerate(self.dw):
                if m != j:
                    w[..., j] *= (x[..., 0] - xm) / (xj - xm)
        return w

    def evaluate(self, wavelength: Any, dw: Any) -> np.ndarray:
        """Complex S (..., port_out, port_in) at broadcast (wavelength, dw)."""
        lam, w = np.broadcast_arrays(np.asarray(wavelength, dtype=float), np.asarray(dw, dtype=float))
        k = np.clip(np.searchsorted(self.wavelength, lam, side="right") - 1, 0, self.wavelength.size - 2)
        t = ((lam - self.wavelength[k]) / (self.wavelength[k + 1] - self.wavelength[k]))[..., None, None]
        lw = self._lagrange(w)  # (..., n_dw)
        out = []
        for tab in (self.log_amp, self.phase):
            lo = np.moveaxis(tab[:, k], 0, -3)  # (..., n_dw, P, P)
            hi = np.moveaxis(tab[:, k + 1], 0, -3)
            v = (1 - t[..., None, :, :]) * lo + t[..., None, :, :] * hi
            out.append(np.einsum("...d,...dij->...ij", lw, v))
        return passive(np.exp(out[0] + 1j * out[1]))

    def to_dataset(self, ports: tuple[str, ...]) -> xr.Dataset:
        dims = ("dw_node", "wavelength", "port_out", "port_in")
        return xr.Dataset({"table_log_amp": (dims, self.log_amp), "table_phase": (dims, self.phase)},
                          coords={"dw_node": self.dw, "wavelength": self.wavelength, "port_out": list(ports),
                                  "port_in": list(ports)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "OffsetTable":
        return cls(np.asarray(ds.dw_node.values, dtype=float), np.asarray(ds.wavelength.values, dtype=float),
                   np.asarray(ds.table_log_amp.values, dtype=float), np.asarray(ds.table_phase.values, dtype=float))


def lagrange_check_nodes(values: tuple[float, ...], name: str, example: str) -> list[str]:
    """Validation messages for a tuple of δw nodes (≥ 3 distinct, ascending)."""
    if len(set(values)) < 3 or list(values) != sorted(values):
        return [f"{name} = {values} um: a quadratic interpolation needs >= 3 distinct ascending values. "
                f"Fix: e.g. {name}={example}."]
    return []


def holdout_errors(table: OffsetTable, dw: list[float], smatrices: list[xr.DataArray],
                   ports: tuple[str, ...]) -> xr.DataArray:
    """max over elements of |S_model − S_fdtd| per (held-out point, wavelength)."""
    out = []
    for w, s in zip(dw, smatrices):
        v = np.asarray(s.sel(port_out=list(ports), port_in=list(ports)).transpose(
            "wavelength", "port_out", "port_in").values)
        m = table.evaluate(table.wavelength, w)
        out.append(np.abs(m - v).max(axis=(-1, -2)))
    return xr.DataArray(np.array(out), dims=("holdout_point", "wavelength"),
                        coords={"holdout_point": np.arange(len(dw)), "wavelength": table.wavelength})


def model_hash(prefix: str, sweep: Spec, solver: Any, keys: list[str], cache: Any) -> Path:
    """``<cache root>/compact_models/<prefix>-<hash>.nc``; the hash covers the sweep, the
    solver, the schema and every run's cache key (solver package versions included)."""
    from pipeline.specs import SCHEMA_VERSION

    text = json.dumps([sweep.canonical_json(), solver.canonical_json(), SCHEMA_VERSION, prefix, keys])
    return Path(cache.root) / "compact_models" / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.nc"


def as_smatrix(s: np.ndarray, lam: np.ndarray, w: np.ndarray, scalar: bool, provenance: dict[str, Any],
               ports: tuple[str, ...] = PORTS) -> xr.DataArray:
    """Wrap S (instance, wavelength, out, in) as the pipeline's S-matrix container."""
    if scalar:
        return make_smatrix(s[0], lam, list(ports), provenance=provenance).assign_attrs(dw_um=float(w[0]))
    out = make_smatrix(s, lam, list(ports), sweep={"instance": np.arange(w.size)}, provenance=provenance)
    return out.assign_coords(dw=("instance", w))


def wavelength_axis(wavelength: Any) -> np.ndarray:
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    if lam.ndim != 1:
        raise SpecError(f"wavelength must be a scalar or 1D array [um], got shape {lam.shape}.")
    return lam


# -- the crossing sweep and model ------------------------------------------------------------
class CrossingSweepSpec(Spec):
    """Width-offset sweep of the library crossing (2D FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal port waveguide width (at dw = 0)", gt=0.1, le=3.0)
    taper_width: float = quantity(1.6, "um", "nominal taper width at the centre (at dw = 0)", gt=0.1, le=5.0)
    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (all edges: dw/2)")
    holdout: tuple[float, ...] = quantity((0.01,), "um", "width offsets simulated for validation, never fitted")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")

    @model_validator(mode="after")
    def _consistent(self) -> "CrossingSweepSpec":
        problems = lagrange_check_nodes(self.dw, "dw", "(-0.02, 0.0, 0.02)")
        if min(self.dw + self.holdout) <= -self.width / 2:
            problems.append(f"dw = {self.dw} um: width {self.width} + dw must stay positive. Fix: smaller offsets.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def device(self, dw: float) -> Any:
        """The CrossingSpec of one sweep point (port and taper widths + δw)."""
        from devices.crossing import CrossingSpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return CrossingSpec(width=r(self.width + dw), taper_width=r(self.taper_width + dw), band=self.band)

    def runs(self) -> list[tuple[str, float]]:
        """Every FDTD run: (role, δw) — fit grid first, then held-out points."""
        return [("fit", float(v)) for v in self.dw] + [("holdout", float(v)) for v in self.holdout]


@dataclass(frozen=True)
class CrossingModel:
    """The tabulated sweep (amplitude/phase) and its stored accuracy."""

    table: OffsetTable
    dataset: xr.Dataset

    def smatrix(self, wavelength: Any, dw: Any) -> np.ndarray:
        lam, w = np.asarray(wavelength, dtype=float), np.asarray(dw, dtype=float)
        self.table.check(lam, w, "crossing")
        return self.table.evaluate(lam, w)

    @classmethod
    def load(cls, path: Path | str) -> "CrossingModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
        return cls(OffsetTable.from_dataset(ds), ds)


def _db(p: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-30))


def figures(s: np.ndarray) -> dict[str, np.ndarray]:
    """Insertion loss, worst crosstalk, reflection [dB] and through phase [rad] from o1 of
    S (..., out, in) in port order o1..o4."""
    p = np.abs(s[..., :, 0]) ** 2
    return {"insertion_loss_db": -_db(p[..., 2]), "crosstalk_db": _db(np.maximum(p[..., 1], p[..., 3])),
            "reflection_db": _db(p[..., 0]), "through_phase": np.angle(s[..., 2, 0])}


def fit(sweep: CrossingSweepSpec, smatrices: dict[tuple[str, float], xr.DataArray],
        provenance: dict[str, Any] | None = None) -> CrossingModel:
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
        fd = figures(np.array([np.asarray(s.sel(port_out=list(PORTS), port_in=list(PORTS)).transpose(
            "wavelength", "port_out", "port_in").values) for s in direct]))
        for q in ("insertion_loss_db", "crosstalk_db", "reflection_db"):
            ds[f"holdout_{q}_error"] = (("holdout_point", "wavelength"), fm[q] - fd[q])
            ds[f"holdout_{q}_fdtd"] = (("holdout_point", "wavelength"), fd[q])
        ds["holdout_through_phase_error"] = (("holdout_point", "wavelength"),
                                             np.abs(np.angle(np.exp(1j * (fm["through_phase"] - fd["through_phase"])))))
        ds = ds.assign_coords(holdout_dw=("holdout_point", hold))
        summary = {"holdout_max_abs_ds": float(ds["holdout_max_abs_ds"].max()),
                   "holdout_max_abs_insertion_loss_error_db": float(
                       np.abs(ds["holdout_insertion_loss_db_error"]).max()),
                   "holdout_max_abs_crosstalk_error_db": float(np.abs(ds["holdout_crosstalk_db_error"]).max()),
                   "holdout_max_through_phase_error_rad": float(ds["holdout_through_phase_error"].max())}
    ds.attrs.update(sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0],
                    accuracy=json.dumps(summary),
                    **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return CrossingModel(table, ds)


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep, default resolution (the library crossing entry)."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


def read_runs(sweep: Any, solver: Any, cache: Any, family: str) -> tuple[dict[tuple[str, float], xr.DataArray],
                                                                          dict[str, str]]:
    """The sweep's cached S-matrices and keys (never simulates)."""
    entries = {run: cache.get(sweep.device(run[1]), solver) for run in sweep.runs()}
    missing = [run for run, e in entries.items() if e is None]
    if missing:
        raise CacheError(f"{len(missing)} of {len(entries)} {family} sweep runs are not in {cache.root} "
                         f"(first: {missing[0]}). Fix: `photoprop library build --devices {family}`.")
    return ({run: e.smatrix for run, e in entries.items()},
            {f"{r[0]} dw={r[1]:+g}": e.key for r, e in entries.items()})


def model_path(cache: Any = None, sweep: CrossingSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the crossing model of (sweep, solver) is stored (see :func:`model_hash`)."""
    from pipeline.cache import DeviceCache

    cache = cache if cache is not None else DeviceCache()
    sweep = sweep or CrossingSweepSpec()
    solver = solver or default_solver()
    return model_hash("crossing_model", sweep, solver,
                      [cache.key(sweep.device(v), solver) for _, v in sweep.runs()], cache)


def build_model(sweep: CrossingSweepSpec | None = None, solver: Any = None, *, cache: Any = None,
                write: bool = True) -> CrossingModel:
    """Fit from the cached sweep and, with ``write``, store it at :func:`model_path`."""
    from devices.photodetector_model import write_dataset
    from pipeline.cache import DeviceCache

    sweep = sweep or CrossingSweepSpec()
    solver = solver or default_solver()
    cache = cache if cache is not None else DeviceCache()
    smatrices, keys = read_runs(sweep, solver, cache, "crossing")
    model = fit(sweep, smatrices, provenance={"solver_spec": solver.canonical_json(), "entries": keys})
    if write:
        write_dataset(model.dataset, model_path(cache, sweep, solver))
    return model


@functools.lru_cache(maxsize=4)
def _default_model(root: str) -> CrossingModel:
    from pipeline.cache import DeviceCache

    cache = DeviceCache(root)
    path = model_path(cache)
    return CrossingModel.load(path) if path.exists() else build_model(cache=cache, write=False)


def default_model() -> CrossingModel:
    """The model of the default sweep from the default library (stored netCDF, else fitted
    in memory from the cached entries)."""
    from pipeline.cache.store import default_root

    return _default_model(str(default_root()))


# -- public compact model ----------------------------------------------------------------------
def crossing(*, wavelength: Any = 1.55, dw: Any = 0.0, model: CrossingModel | None = None) -> xr.DataArray:
    """4-port S-matrix of the library crossing with width offset ``dw`` [µm].

    ``wavelength`` [µm] (1D) is the S-matrix's wavelength axis; a scalar ``dw`` gives dims
    (wavelength, port_out, port_in), an array a leading ``instance`` dim with coordinate dw."""
    m = model or default_model()
    lam = wavelength_axis(wavelength)
    w = np.asarray(dw, dtype=float)
    scalar = w.ndim == 0
    w = np.atleast_1d(w).ravel()
    s = m.smatrix(lam[None, :], w[:, None])
    prov = {"model": "devices.crossing_model", "sweep_spec": m.dataset.attrs.get("sweep_spec"),
            "accuracy": json.loads(m.dataset.attrs.get("accuracy", "{}"))}
    return as_smatrix(s, lam, w, scalar, prov)


def insertion_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, model: CrossingModel | None = None) -> np.ndarray:
    """Through-path insertion loss −10 log10|S[o3, o1]|² [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw))["insertion_loss_db"]


def crosstalk_db(*, wavelength: Any = 1.55, dw: Any = 0.0, model: CrossingModel | None = None) -> np.ndarray:
    """Worst crosstalk 10 log10 max(|S[o2, o1]|², |S[o4, o1]|²) [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw))["crosstalk_db"]


def library_specs(sweep: CrossingSweepSpec | None = None) -> list[Any]:
    """Every CrossingSpec of the default sweep (fit and held out), for the library build."""
    sweep = sweep or CrossingSweepSpec()
    return [sweep.device(v) for _, v in sweep.runs()]

"""Waveguide-crossing compact model from a cached FDTD sweep of the fabrication offsets
(δw, δt), and the amplitude/phase interpolation table it shares with :mod:`devices.mmi_model`.

Sweep (:class:`CrossingSweepSpec`).  The library crossing (:mod:`devices.crossing`,
parabolic tapers, 2D calibrated Meep at 30 px/µm) is simulated on the grid
δw ∈ {−20, 0, +20} nm × δt ∈ {−10, 0, +10} nm over the band.  δw is a lithography bias,
every edge moves by δw/2, so both the port width and the taper width grow by δw (the arm
length is fixed); δt is the Si layer thickness offset.  The calibrated 2D material model
is refitted to each actual width × thickness (3D MPB), so both offsets are physical.
Held-out points ((+10, 0) and (+10, −5) nm) are simulated the same way and never fitted.

Physics of the model (:class:`OffsetTable`).  Every S-matrix element is interpolated as
amplitude and phase, never as raw complex numbers: ln|S| and the phase (unwrapped along
λ, its 2π branch aligned across the offsets at the band centre) are interpolated
linearly in λ between the simulated wavelengths (10 nm apart: the through phase moves
by ~0.8 rad per step, almost linearly in λ) and by the tensor-product Lagrange polynomial
through the (δw, δt) nodes (quadratic in each for 3 × 3 nodes: the lowest order with
curvature; exact at the nodes).  The sweep's S-matrices are symmetrised, (S + Sᵀ)/2,
before tabulation, so the rebuilt S is exactly reciprocal; the FDTD's own ‖S − Sᵀ‖ is
recorded in the entries' checks.  The rebuilt S is projected onto passive matrices
(:func:`passive`: singular values clipped at 1), and tabulation refuses a wavelength grid
too coarse for the transmission phases (a strong path's unwrapped phase must fall with
λ: positive group delay).

Accuracy against the held-out runs (max |ΔS| over all elements, insertion-loss and
crosstalk error in dB, through-phase error) is measured when the model is built and
stored with it (``compact_models/crossing_model-<hash>.nc``).  Default sweep, both
held-out points, 1.50–1.60 µm: max |ΔS| 0.016, insertion loss within 0.013 dB (IL
0.66–0.77 dB), through phase within 0.018 rad, crosstalk within 2.0 dB at its −49 dB dip
(≤ 0.9 dB elsewhere).  λ interpolation, tested by tabulating every other wavelength (20
nm) and predicting the rest: |Δ|S31|²| ≤ 0.0034, phase ≤ 0.0073 rad.  At 1.55 µm the IL
spans 0.65–0.78 dB and the crosstalk −39 to −49 dB over the (δw, δt) grid.
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
#: Elements with |S| above this everywhere in the band are propagating paths whose phase
#: must fall with λ (positive group delay): the unwrapping check of :class:`OffsetTable`.
GROUP_DELAY_AMPLITUDE = 0.1


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


def _check_group_delay(phase: np.ndarray, amp: np.ndarray, ports: tuple[str, ...]) -> None:
    """Transmission phases unwrapped along λ (axis −3) must decrease (exp(−iωt): φ = βL,
    dφ/dλ < 0); an increase means the λ grid is too coarse (steps beyond π alias)."""
    strong = amp.min(axis=-3) > GROUP_DELAY_AMPLITUDE
    bad = strong & (phase[..., -1, :, :] - phase[..., 0, :, :] >= 0)
    if np.any(bad):
        idx = tuple(int(v[0]) for v in np.nonzero(bad))
        step = float(np.mean(np.diff(phase[idx[:-2] + (slice(None),) + idx[-2:]])))
        raise SpecError(f"the phase of S[{ports[idx[-2]]}, {ports[idx[-1]]}] rises with wavelength (mean step "
                        f"{step:+.2f} rad): the wavelength grid is too coarse to unwrap a transmission phase (steps "
                        "beyond π alias). Fix: more band points (band.points).")


def _lagrange(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Lagrange basis weights (..., n_nodes) at ``x`` (a single node: weight 1)."""
    x = np.asarray(x, dtype=float)
    w = np.ones(x.shape + (nodes.size,))
    for j, xj in enumerate(nodes):
        for m, xm in enumerate(nodes):
            if m != j:
                w[..., j] *= (x - xm) / (xj - xm)
    return w


@dataclass(frozen=True)
class OffsetTable:
    """ln|S| and unwrapped phase on a (δw node, δt node, wavelength) grid (module doc)."""

    dw: np.ndarray  # (n_w,) nodes [µm], ascending
    dt: np.ndarray  # (n_t,) nodes [µm], ascending
    wavelength: np.ndarray  # (n_λ,) [µm], ascending
    log_amp: np.ndarray  # (n_w, n_t, n_λ, n_port, n_port)
    phase: np.ndarray  # (n_w, n_t, n_λ, n_port, n_port) [rad]

    @classmethod
    def from_smatrices(cls, smatrices: dict[tuple[float, float], xr.DataArray], ports: tuple[str, ...],
                       core_index: dict[tuple[float, float], float] | None = None,
                       group_index: float | None = None) -> "OffsetTable":
        """Tabulate ``{(δw, δt): S}`` (dims wavelength, port_out, port_in) on a full grid.

        2π branches across the nodes: nearest to the node closest to (0, 0) at the band
        centre, after subtracting the propagation-phase change predicted from the 2D core
        index of each node (``core_index``, e.g. from the calibrated material model: it
        carries the thickness offset) — Δφ ≈ −λ φ'(λ) Δn_core / n_g, with φ' = dφ/dλ from
        the data (the path length L = −λ² φ' / (2π n_g)) and ``group_index`` n_g.  Needed
        when a thickness step moves a long path's phase by more than π (the MMI: ~3 rad
        per 10 nm); without a prior the phase change between nodes must stay below π."""
        dw = np.array(sorted({float(k[0]) for k in smatrices}))
        dt = np.array(sorted({float(k[1]) for k in smatrices}))
        missing = [(a, b) for a in dw for b in dt if (a, b) not in smatrices]
        if missing:
            raise SpecError(f"the (dw, dt) nodes {sorted(smatrices)} are not a full grid (missing {missing[0]}).")
        lam = np.asarray(next(iter(smatrices.values())).wavelength.values, dtype=float)
        s = np.zeros((dw.size, dt.size, lam.size, len(ports), len(ports)), complex)
        for i, a in enumerate(dw):
            for j, b in enumerate(dt):
                m = smatrices[(a, b)].sel(port_out=list(ports), port_in=list(ports)).transpose(
                    "wavelength", "port_out", "port_in")
                if not np.allclose(m.wavelength.values, lam):
                    raise SpecError("the sweep's S-matrices have different wavelengths; rebuild them on one band.")
                v = np.asarray(m.values)
                s[i, j] = 0.5 * (v + np.swapaxes(v, -1, -2))  # reciprocal part
        phase = np.unwrap(np.angle(s), axis=2)
        _check_group_delay(phase, np.abs(s), ports)
        kc = lam.size // 2
        i0, j0 = int(np.argmin(np.abs(dw))), int(np.argmin(np.abs(dt)))  # branch of the node nearest (0, 0)
        ref = phase[i0, j0, kc]
        pred = np.zeros(phase.shape[:2] + phase.shape[3:])
        if core_index is not None and group_index is not None:
            slope = np.gradient(phase, lam, axis=2)[:, :, kc]  # dφ/dλ [rad/µm] (n_w, n_t, P, P)
            dn = np.array([[core_index[(a, b)] for b in dt] for a in dw]) - core_index[(dw[i0], dt[j0])]
            strong = np.abs(s).min(axis=2) > GROUP_DELAY_AMPLITUDE
            pred = np.where(strong, -lam[kc] * slope * dn[:, :, None, None] / group_index, 0.0)
        phase -= 2 * np.pi * np.round((phase[:, :, kc] - ref - pred) / (2 * np.pi))[:, :, None]
        return cls(dw, dt, lam, np.log(np.maximum(np.abs(s), AMPLITUDE_FLOOR)), phase)

    def check(self, what: str, **values: np.ndarray) -> None:
        """ExtrapolationError if any of ``wavelength``, ``dw``, ``dt`` leaves the table."""
        for name, v in values.items():
            grid = getattr(self, name)
            lo, hi = float(grid.min()), float(grid.max())
            bad = (v < lo - 1e-9) | (v > hi + 1e-9)
            if np.any(bad):
                raise ExtrapolationError(
                    f"{name} = {np.asarray(v)[bad].ravel()[0]:.6g} um is outside the swept range {lo:.6g}..{hi:.6g} "
                    f"um of the {what} model. Fix: stay inside it, or widen the sweep's "
                    f"{'band' if name == 'wavelength' else name} and rebuild.")

    def evaluate(self, wavelength: Any, dw: Any, dt: Any = 0.0) -> np.ndarray:
        """Complex S (..., port_out, port_in) at broadcast (wavelength, dw, dt)."""
        lam, w, t_ = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (wavelength, dw, dt)))
        k = np.clip(np.searchsorted(self.wavelength, lam, side="right") - 1, 0, self.wavelength.size - 2)
        f = ((lam - self.wavelength[k]) / (self.wavelength[k + 1] - self.wavelength[k]))[..., None, None, None, None]
        lw, lt = _lagrange(self.dw, w), _lagrange(self.dt, t_)
        out = []
        for tab in (self.log_amp, self.phase):
            lo = np.moveaxis(tab[:, :, k], (0, 1), (-4, -3))  # (..., n_w, n_t, P, P)
            hi = np.moveaxis(tab[:, :, k + 1], (0, 1), (-4, -3))
            out.append(np.einsum("...a,...b,...abij->...ij", lw, lt, (1 - f) * lo + f * hi))
        return passive(np.exp(out[0] + 1j * out[1]))

    def to_dataset(self, ports: tuple[str, ...]) -> xr.Dataset:
        dims = ("dw_node", "dt_node", "wavelength", "port_out", "port_in")
        return xr.Dataset({"table_log_amp": (dims, self.log_amp), "table_phase": (dims, self.phase)},
                          coords={"dw_node": self.dw, "dt_node": self.dt, "wavelength": self.wavelength,
                                  "port_out": list(ports), "port_in": list(ports)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "OffsetTable":
        return cls(*(np.asarray(ds[n].values, dtype=float) for n in ("dw_node", "dt_node", "wavelength",
                                                                      "table_log_amp", "table_phase")))


# -- helpers shared by the crossing and MMI sweeps ---------------------------------------------
def check_nodes(spec: Any, width: float) -> None:
    """Validate ``dw``/``dt`` nodes (≥ 3 distinct, ascending) and the held-out points."""
    problems = []
    for name, example in (("dw", "(-0.02, 0.0, 0.02)"), ("dt", "(-0.01, 0.0, 0.01)")):
        v = getattr(spec, name)
        if len(set(v)) < 3 or list(v) != sorted(v):
            problems.append(f"{name} = {v} um: a quadratic interpolation needs >= 3 distinct ascending values. "
                            f"Fix: e.g. {name}={example}.")
    for name, i, lo in (("dw", 0, -width / 2), ("dt", 1, -0.1)):
        vals = list(getattr(spec, name)) + [p[i] for p in spec.holdout]
        if min(vals) <= lo:
            problems.append(f"{name} offsets {vals} um leave no core. Fix: use smaller offsets.")
    if problems:
        raise ValueError("\n  ".join(problems))


def grid_runs(spec: Any) -> list[tuple[str, float, float]]:
    """Every FDTD run of an offset sweep: (role, δw, δt) — fit grid first, then held out."""
    return ([("fit", float(a), float(b)) for a in spec.dw for b in spec.dt]
            + [("holdout", float(a), float(b)) for a, b in spec.holdout])


def direct_values(s: xr.DataArray, ports: tuple[str, ...] = PORTS) -> np.ndarray:
    """S (wavelength, out, in) of a cached S-matrix in port order."""
    return np.asarray(s.sel(port_out=list(ports), port_in=list(ports)).transpose(
        "wavelength", "port_out", "port_in").values)


def tabulate(spec: Any, smatrices: dict[tuple[str, float, float], xr.DataArray],
             ports: tuple[str, ...] = PORTS, priors: dict[str, Any] | None = None,
             ) -> tuple[OffsetTable, xr.Dataset, list[tuple[float, float]], np.ndarray, np.ndarray]:
    """The table of the fit runs (``priors``: core_index / group_index of
    :meth:`OffsetTable.from_smatrices`), its dataset with ``holdout_max_abs_ds``, and the
    held-out points with their model and direct S (point, wavelength, out, in)."""
    table = OffsetTable.from_smatrices({(r[1], r[2]): s for r, s in smatrices.items() if r[0] == "fit"}, ports,
                                       **(priors or {}))
    ds = table.to_dataset(ports)
    hold = [(float(a), float(b)) for a, b in spec.holdout]
    direct = np.array([direct_values(smatrices[("holdout", a, b)], ports) for a, b in hold])
    model = np.array([table.evaluate(table.wavelength, a, b) for a, b in hold])
    if hold:
        ds["holdout_max_abs_ds"] = (("holdout_point", "wavelength"), np.abs(model - direct).max(axis=(-1, -2)))
        ds = ds.assign_coords(holdout_dw=("holdout_point", [p[0] for p in hold]),
                              holdout_dt=("holdout_point", [p[1] for p in hold]))
    return table, ds, hold, model, direct


def model_hash(prefix: str, sweep: Spec, solver: Any, keys: list[str], cache: Any) -> Path:
    """``<cache root>/compact_models/<prefix>-<hash>.nc``; the hash covers the sweep, the
    solver, the schema and every run's cache key (solver package versions included)."""
    from pipeline.specs import SCHEMA_VERSION

    text = json.dumps([sweep.canonical_json(), solver.canonical_json(), SCHEMA_VERSION, prefix, keys])
    return Path(cache.root) / "compact_models" / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.nc"


def read_runs(sweep: Any, solver: Any, cache: Any, family: str) -> tuple[dict[tuple[str, float, float],
                                                                               xr.DataArray], dict[str, str],
                                                                          dict[str, Any]]:
    """The sweep's cached S-matrices, keys and phase-branch priors (never simulates): the
    2D core index of every fit node and the 3D strip group index at the band centre,
    from the calibrated material model recorded in each entry."""
    entries = {run: cache.get(sweep.device(run[1], run[2]), solver) for run in sweep.runs()}
    missing = [run for run, e in entries.items() if e is None]
    if missing:
        raise CacheError(f"{len(missing)} of {len(entries)} {family} sweep runs are not in {cache.root} "
                         f"(first: {missing[0]}). Fix: `photoprop library build --devices {family}`.")
    priors: dict[str, Any] = {}
    try:
        mms = {(r[1], r[2]): e.provenance["material_model"] for r, e in entries.items() if r[0] == "fit"}
        priors["core_index"] = {k: float(np.sqrt(m["core_medium"]["eps_inf"])) for k, m in mms.items()}
        centre = mms[min(mms, key=lambda k: abs(k[0]) + abs(k[1]))]
        wl, neff = np.asarray(centre["wavelengths_um"]), np.asarray(centre["neff_3d"])
        lc = 0.5 * (wl.min() + wl.max())
        priors["group_index"] = float(np.interp(lc, wl, neff) - lc * np.polyfit(wl, neff, 1)[0])
    except (KeyError, TypeError, ValueError):
        priors = {}  # no calibrated material model: nearest-branch alignment only
    return ({run: e.smatrix for run, e in entries.items()},
            {f"{r[0]} dw={r[1]:+g} dt={r[2]:+g}": e.key for r, e in entries.items()}, priors)


def priors_json(priors: dict[str, Any]) -> dict[str, Any]:
    """The phase-branch priors with string keys (for the model's attributes)."""
    out = dict(priors)
    if "core_index" in out:
        out["core_index"] = {f"dw={a:+g} dt={b:+g}": v for (a, b), v in out["core_index"].items()}
    return out


def instances(model: Any, wavelength: Any, dw: Any, dt: Any, family: str) -> xr.DataArray:
    """The S-matrix container of ``model`` (wavelength axis; scalar offsets, or a leading
    ``instance`` dim with coordinates dw, dt)."""
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    if lam.ndim != 1:
        raise SpecError(f"wavelength must be a scalar or 1D array [um], got shape {lam.shape}.")
    w, t = np.broadcast_arrays(np.asarray(dw, dtype=float), np.asarray(dt, dtype=float))
    scalar = w.ndim == 0
    w, t = np.atleast_1d(w).ravel(), np.atleast_1d(t).ravel()
    s = model.smatrix(lam[None, :], w[:, None], t[:, None])
    prov = {"model": f"devices.{family}_model", "sweep_spec": model.dataset.attrs.get("sweep_spec"),
            "accuracy": json.loads(model.dataset.attrs.get("accuracy", "{}"))}
    if scalar:
        return make_smatrix(s[0], lam, list(PORTS), provenance=prov).assign_attrs(dw_um=float(w[0]), dt_um=float(t[0]))
    out = make_smatrix(s, lam, list(PORTS), sweep={"instance": np.arange(w.size)}, provenance=prov)
    return out.assign_coords(dw=("instance", w), dt=("instance", t))


@dataclass(frozen=True)
class OffsetModel:
    """A tabulated offset sweep and its stored accuracy (the crossing's and the MMI's)."""

    table: OffsetTable
    dataset: xr.Dataset
    name: str = "crossing"

    def smatrix(self, wavelength: Any, dw: Any, dt: Any = 0.0) -> np.ndarray:
        """S (..., out, in) at broadcast (wavelength, dw, dt) [µm], range-checked."""
        lam, w, t = (np.asarray(v, dtype=float) for v in (wavelength, dw, dt))
        self.table.check(self.name, wavelength=lam, dw=w, dt=t)
        return self.table.evaluate(lam, w, t)

    @classmethod
    def load(cls, path: Path | str, name: str = "crossing") -> "OffsetModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
        if "dt_node" not in ds.dims:
            raise CacheError(f"{path}: an old {name} model without the thickness axis. Fix: rebuild it "
                             f"(devices.{name}_model.build_model()).")
        return cls(OffsetTable.from_dataset(ds), ds, name)


# -- the crossing sweep and model ------------------------------------------------------------
class CrossingSweepSpec(Spec):
    """Fabrication-offset sweep of the library crossing (2D FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal port waveguide width (at dw = 0)", gt=0.1, le=3.0)
    taper_width: float = quantity(1.6, "um", "nominal taper width at the centre (at dw = 0)", gt=0.1, le=5.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness (at dt = 0)", gt=0.05, le=1.0)
    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (all edges: dw/2)")
    dt: tuple[float, ...] = quantity((-0.01, 0.0, 0.01), "um", "thickness offsets of the fit grid")
    holdout: tuple[tuple[float, float], ...] = quantity(
        ((0.01, 0.0), (0.01, -0.005)), "um", "(dw, dt) points simulated for validation, never fitted")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")

    @model_validator(mode="after")
    def _consistent(self) -> "CrossingSweepSpec":
        check_nodes(self, self.width)
        return self

    def device(self, dw: float = 0.0, dt: float = 0.0) -> Any:
        """The CrossingSpec of one sweep point (port and taper widths + δw, thickness + δt)."""
        from devices.crossing import CrossingSpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return CrossingSpec(width=r(self.width + dw), taper_width=r(self.taper_width + dw),
                            thickness=r(self.thickness + dt), band=self.band)

    def runs(self) -> list[tuple[str, float, float]]:
        """Every FDTD run: (role, δw, δt) — fit grid first, then held-out points."""
        return grid_runs(self)


CrossingModel = OffsetModel


def _db(p: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-30))


def figures(s: np.ndarray) -> dict[str, np.ndarray]:
    """Insertion loss, worst crosstalk, reflection [dB] and through phase [rad] from o1 of
    S (..., out, in) in port order o1..o4."""
    p = np.abs(s[..., :, 0]) ** 2
    return {"insertion_loss_db": -_db(p[..., 2]), "crosstalk_db": _db(np.maximum(p[..., 1], p[..., 3])),
            "reflection_db": _db(p[..., 0]), "through_phase": np.angle(s[..., 2, 0])}


def fit(sweep: CrossingSweepSpec, smatrices: dict[tuple[str, float, float], xr.DataArray],
        provenance: dict[str, Any] | None = None, priors: dict[str, Any] | None = None) -> OffsetModel:
    """Tabulate the fit runs and measure the held-out accuracy (pure)."""
    table, ds, hold, model, direct = tabulate(sweep, smatrices, PORTS, priors)
    summary: dict[str, float] = {}
    if hold:
        fm, fd = figures(model), figures(direct)
        for q in ("insertion_loss_db", "crosstalk_db", "reflection_db"):
            ds[f"holdout_{q}_error"] = (("holdout_point", "wavelength"), fm[q] - fd[q])
            ds[f"holdout_{q}_fdtd"] = (("holdout_point", "wavelength"), fd[q])
        ds["holdout_through_phase_error"] = (("holdout_point", "wavelength"),
                                             np.abs(np.angle(np.exp(1j * (fm["through_phase"] - fd["through_phase"])))))
        summary = {"holdout_max_abs_ds": float(ds["holdout_max_abs_ds"].max()),
                   "holdout_max_abs_insertion_loss_error_db": float(
                       np.abs(ds["holdout_insertion_loss_db_error"]).max()),
                   "holdout_max_abs_crosstalk_error_db": float(np.abs(ds["holdout_crosstalk_db_error"]).max()),
                   "holdout_max_through_phase_error_rad": float(ds["holdout_through_phase_error"].max())}
    ds.attrs.update(sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0],
                    accuracy=json.dumps(summary),
                    **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return OffsetModel(table, ds, "crossing")


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep, default resolution (the library crossing entry)."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


def model_path(cache: Any = None, sweep: CrossingSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the crossing model of (sweep, solver) is stored (see :func:`model_hash`)."""
    from pipeline.cache import DeviceCache

    cache = cache if cache is not None else DeviceCache()
    return offset_model_path("crossing_model", sweep or CrossingSweepSpec(), solver or default_solver(), cache)


def offset_model_path(name: str, sweep: Any, solver: Any, cache: Any) -> Path:
    """Where the model ``name`` of (sweep, solver) is stored: hashed over the sweep's entry keys
    (shared by the crossing and MMI models)."""
    return model_hash(name, sweep, solver, [cache.key(sweep.device(a, b), solver) for _, a, b in sweep.runs()],
                      cache)


def build_model(sweep: CrossingSweepSpec | None = None, solver: Any = None, *, cache: Any = None,
                write: bool = True) -> OffsetModel:
    """Fit from the cached sweep (never simulates) and, with ``write``, store it at :func:`model_path`."""
    from pipeline.cache import DeviceCache

    cache = cache if cache is not None else DeviceCache()
    return build_offset_model("crossing", "crossing_model", fit, sweep or CrossingSweepSpec(),
                              solver or default_solver(), cache, write)


def build_offset_model(family: str, name: str, fit_fn: Any, sweep: Any, solver: Any, cache: Any,
                       write: bool) -> OffsetModel:
    """Fit ``fit_fn`` to the cached runs of ``sweep`` (never simulates); with ``write`` store it
    at :func:`offset_model_path` (shared by the crossing and MMI models)."""
    from devices.photodetector_model import write_dataset

    smatrices, keys, priors = read_runs(sweep, solver, cache, family)
    model = fit_fn(sweep, smatrices, provenance={"solver_spec": solver.canonical_json(), "entries": keys,
                                                 "phase_branch_priors": priors_json(priors)}, priors=priors)
    if write:
        write_dataset(model.dataset, offset_model_path(name, sweep, solver, cache))
    return model


@functools.lru_cache(maxsize=4)
def _default_model(root: str) -> OffsetModel:
    from pipeline.cache import DeviceCache

    cache = DeviceCache(root)
    path = model_path(cache)
    return OffsetModel.load(path, "crossing") if path.exists() else build_model(cache=cache, write=False)


def default_model() -> OffsetModel:
    """The model of the default sweep from the default library (stored netCDF, else fitted
    in memory from the cached entries)."""
    from pipeline.cache.store import default_root

    return _default_model(str(default_root()))


# -- public compact model ----------------------------------------------------------------------
def crossing(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, model: OffsetModel | None = None) -> xr.DataArray:
    """4-port S-matrix of the library crossing with width offset ``dw`` and thickness offset
    ``dt`` [µm]; ``wavelength`` [µm] (1D) is the S-matrix's wavelength axis; scalar offsets
    give dims (wavelength, port_out, port_in), arrays (broadcast together) a leading
    ``instance`` dim with coordinates dw, dt."""
    return instances(model or default_model(), wavelength, dw, dt, "crossing")


def insertion_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                      model: OffsetModel | None = None) -> np.ndarray:
    """Through-path insertion loss −10 log10|S[o3, o1]|² [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw, dt))["insertion_loss_db"]


def crosstalk_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                 model: OffsetModel | None = None) -> np.ndarray:
    """Worst crosstalk 10 log10 max(|S[o2, o1]|², |S[o4, o1]|²) [dB] (numpy-broadcast)."""
    return figures((model or default_model()).smatrix(wavelength, dw, dt))["crosstalk_db"]


def library_specs(sweep: CrossingSweepSpec | None = None) -> list[Any]:
    """Every CrossingSpec of the default sweep (fit and held out), for the library build."""
    sweep = sweep or CrossingSweepSpec()
    return [sweep.device(a, b) for _, a, b in sweep.runs()]

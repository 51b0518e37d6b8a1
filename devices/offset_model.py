"""The fabrication-offset machinery shared by the crossing (:mod:`devices.crossing_model`)
and MMI (:mod:`devices.mmi_model`) compact models: the amplitude/phase table over (δw, δt)
[µm] and wavelength [µm], the sweep-spec base, and a family's store path, fit from the
cached sweep and default model (:class:`OffsetFamily`).

Physics of the model (:class:`OffsetTable`).  Every S-matrix element is interpolated as
amplitude and phase, never as raw complex numbers: ln|S| and the phase (unwrapped along
λ, its 2π branch aligned across the offsets at the band centre) are interpolated
linearly in λ between the simulated wavelengths (10 nm apart: the crossing's through phase
moves by ~0.8 rad per step, almost linearly in λ) and by the tensor-product Lagrange polynomial
through the (δw, δt) nodes (quadratic in each for 3 × 3 nodes: the lowest order with
curvature; exact at the nodes).  The sweep's S-matrices are symmetrised, (S + Sᵀ)/2,
before tabulation, so the rebuilt S is exactly reciprocal; the FDTD's own ‖S − Sᵀ‖ is
recorded in the entries' checks.  The rebuilt S is projected onto passive matrices
(:func:`passive`: singular values clipped at 1), and tabulation refuses a wavelength grid
too coarse for the transmission phases (a strong path's unwrapped phase must fall with
λ: positive group delay).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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


# -- the interpolation table -------------------------------------------------------------------
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


def lagrange_weights(nodes: np.ndarray, x: Any) -> np.ndarray:
    """Lagrange basis weights (..., n_nodes) at ``x`` (a single node: weight 1)."""
    x = np.asarray(x, dtype=float)
    w = np.ones(x.shape + (nodes.size,))
    for j, xj in enumerate(nodes):
        for m, xm in enumerate(nodes):
            if m != j:
                w[..., j] *= (x - xm) / (xj - xm)
    return w



def check_in_range(grids: Any, values: dict[str, Any], *, model: str, fix: Callable[[str], str],
                   unit: str = "") -> None:
    """ExtrapolationError naming the first value outside its axis's swept range
    (``getattr(grids, name)``), the model, and ``fix(name)`` (what to widen)."""
    for name, v in values.items():
        grid = getattr(grids, name)
        lo, hi = float(grid.min()), float(grid.max())
        bad = (v < lo - 1e-9) | (v > hi + 1e-9)
        if np.any(bad):
            raise ExtrapolationError(
                f"{name} = {np.asarray(v)[bad].ravel()[0]:.6g}{unit} is outside the swept range {lo:.6g}..{hi:.6g}"
                f"{unit} of the {model} model. Fix: stay inside it, or {fix(name)} and rebuild.")


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
        check_in_range(self, values, model=what, unit=" um",
                       fix=lambda name: f"widen the sweep's {'band' if name == 'wavelength' else name}")

    def evaluate(self, wavelength: Any, dw: Any, dt: Any = 0.0) -> np.ndarray:
        """Complex S (..., port_out, port_in) at broadcast (wavelength, dw, dt)."""
        lam, w, t_ = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (wavelength, dw, dt)))
        k = np.clip(np.searchsorted(self.wavelength, lam, side="right") - 1, 0, self.wavelength.size - 2)
        f = ((lam - self.wavelength[k]) / (self.wavelength[k + 1] - self.wavelength[k]))[..., None, None, None, None]
        lw, lt = lagrange_weights(self.dw, w), lagrange_weights(self.dt, t_)
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


# -- sweep helpers -----------------------------------------------------------------------------
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


def model_hash(prefix: str, sweep: Spec, solver: Any, keys: list[str], cache: Any,
               form: tuple = ()) -> Path:
    """``<cache root>/compact_models/<prefix>-<hash>.nc`` — the one naming recipe of every
    stored compact model: the hash covers the sweep, the solver, the schema, the model
    ``form`` (default: the prefix) and every run's cache key (solver package versions included)."""
    from pipeline.specs import SCHEMA_VERSION

    text = json.dumps([sweep.canonical_json(), solver.canonical_json(), SCHEMA_VERSION, *(form or (prefix,)), keys])
    return Path(cache.root) / "compact_models" / f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.nc"


def offset_priors(entries: dict[tuple[str, float, float], Any]) -> dict[str, Any]:
    """Phase-branch priors from the sweep's entries ``{(role, δw, δt): CacheEntry}``: the 2D
    core index of every fit node and the 3D strip group index at the band centre, from the
    calibrated material model recorded in each entry (``{}`` without one)."""
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
    return priors


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


# -- the model, the sweep spec and the model family --------------------------------------------
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
                             f"(pipeline.library.Library().fit({name!r})).")
        return cls(OffsetTable.from_dataset(ds), ds, name)


def fitted_model(name: str, table: OffsetTable, ds: xr.Dataset, sweep: Spec, description: str,
                 summary: dict[str, float], provenance: dict[str, Any] | None) -> OffsetModel:
    """The model ``name`` with the attributes of its dataset: the sweep spec, ``description``,
    the held-out accuracy ``summary`` and the ``provenance`` (non-strings as JSON)."""
    ds.attrs.update(sweep_spec=sweep.canonical_json(), description=description, accuracy=json.dumps(summary),
                    **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return OffsetModel(table, ds, name)


class OffsetSweepSpec(Spec):
    """Base of a fabrication-offset sweep (2D FDTD, cached): the (δw, δt) fit grid, the
    held-out points and the band [µm].  A subclass declares the nominal geometry (with
    ``width`` [µm], the narrowest core) and :meth:`device`."""

    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (all edges: dw/2)")
    dt: tuple[float, ...] = quantity((-0.01, 0.0, 0.01), "um", "thickness offsets of the fit grid")
    holdout: tuple[tuple[float, float], ...] = quantity(
        ((0.01, 0.0), (0.01, -0.005)), "um", "(dw, dt) points simulated for validation, never fitted")
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")

    @model_validator(mode="after")
    def _consistent(self) -> "OffsetSweepSpec":
        check_nodes(self, self.width)
        return self

    def device(self, dw: float = 0.0, dt: float = 0.0) -> Any:
        """The device spec of one sweep point (offsets ``dw``, ``dt`` [µm])."""
        raise NotImplementedError

    def runs(self) -> list[tuple[str, float, float]]:
        """Every FDTD run: (role, δw, δt) — fit grid first, then held-out points."""
        return grid_runs(self)


def default_solver() -> Any:
    """The sweeps' solver: 2D calibrated Meep, default resolution (the library crossing and MMI entries)."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


@dataclass(frozen=True)
class OffsetFamily:
    """One compact-model family over an offset sweep: ``name`` (``"crossing"``, ``"mmi"``;
    stored as ``compact_models/<name>_model-<hash>.nc``), its sweep spec class and its pure
    ``fit(sweep, smatrices, provenance=, priors=)``.  A model module exposes the bound methods
    as its ``model_path`` and ``library_specs``.  Defaults (None): the default sweep and
    :func:`default_solver`; reading and fitting from the cache: :mod:`pipeline.library`."""

    name: str
    sweep_spec: type[OffsetSweepSpec]
    fit: Callable[..., OffsetModel]

    def model_path(self, cache: Any, sweep: OffsetSweepSpec | None = None, solver: Any = None) -> Path:
        """Where the model of (sweep, solver) is stored in ``cache`` (anything with ``root`` and
        ``key``): :func:`model_hash` over the sweep's entry keys.  Reading and fitting it from
        the cache: :mod:`pipeline.library`."""
        sweep, solver = sweep or self.sweep_spec(), solver or default_solver()
        return model_hash(f"{self.name}_model", sweep, solver,
                          [cache.key(sweep.device(a, b), solver) for _, a, b in sweep.runs()], cache)

    def library_specs(self, sweep: OffsetSweepSpec | None = None) -> list[Any]:
        """Every device spec of the sweep, fit and held out, for the library build."""
        sweep = sweep or self.sweep_spec()
        return [sweep.device(a, b) for _, a, b in sweep.runs()]

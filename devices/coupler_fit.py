"""The fitted directional-coupler model (:class:`CouplerModel`: polynomial coefficients of
the supermode parameters, ``to_dataset``/``from_dataset``/``load``) and its pure fit from the
sweep's S-matrices (:func:`fit`), with the accuracy at the fit grid and the held-out points.
Physics and accuracy: :mod:`devices.coupler_model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from devices.coupler_supermodes import extract_pair, rebuild
from devices.coupler_sweep import DESCRIPTION, QUANTITIES, TERMS, CouplerSweepSpec
from pipeline.errors import CacheError, ExtrapolationError


@dataclass(frozen=True)
class CouplerModel:
    """Polynomial coefficients of the supermode parameters (read from a stored Dataset or
    fitted from cached FDTD entries: no other numbers)."""

    coefficients: np.ndarray  # (quantity, term)
    terms: np.ndarray  # (term, 3): powers of (δw, δt, λ) in scaled units
    centre: np.ndarray  # (3,) δw, δt, λ centre [µm]
    scale: np.ndarray  # (3,) half ranges [µm]
    nominal_length: float  # µm (default coupling_length)
    dataset: xr.Dataset  # everything, incl. accuracy and provenance

    def _check(self, lam: np.ndarray, dw: np.ndarray, dt: np.ndarray) -> None:
        for name, v, i in (("wavelength", lam, 2), ("dw", dw, 0), ("dt", dt, 1)):
            lo, hi = self.centre[i] - self.scale[i], self.centre[i] + self.scale[i]
            tol = 1e-9 + 1e-6 * self.scale[i]
            if np.any((v < lo - tol) | (v > hi + tol)):
                bad = v[(v < lo - tol) | (v > hi + tol)].ravel()[0]
                raise ExtrapolationError(
                    f"{name} = {bad:.6g} um is outside the swept range {lo:.6g}..{hi:.6g} um of the coupler model. "
                    f"Fix: stay inside it, or widen CouplerSweepSpec.{'band' if i == 2 else name} and rebuild.")

    def parameters(self, *, wavelength: Any, dw: Any = 0.0, dt: Any = 0.0,
                   quantities: tuple[str, ...] = QUANTITIES) -> dict[str, np.ndarray]:
        """The interpolated supermode parameters (broadcast over the arguments)."""
        lam, w, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (wavelength, dw, dt)))
        self._check(lam, w, t)
        x = [(v - c) / s for v, c, s in zip((w, t, lam), self.centre, self.scale)]
        pw = [[np.ones_like(v), v, v * v] for v in x]
        out = {}
        for q in quantities:
            c = self.coefficients[QUANTITIES.index(q)]
            acc = np.zeros(lam.shape)
            for cn, (i, j, k) in zip(c, self.terms):
                acc = acc + cn * (pw[0][i] * pw[1][j] * pw[2][k])
            out[q] = acc
        return out

    def to_dataset(self) -> xr.Dataset:
        return self.dataset

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "CouplerModel":
        if list(ds.quantity.values) != list(QUANTITIES):
            raise CacheError(f"coupler model dataset has quantities {list(ds.quantity.values)}, expected "
                             f"{list(QUANTITIES)}. Fix: rebuild it (pipeline.library.Library().fit('coupler')).")
        return cls(np.asarray(ds.coefficients.values), np.asarray(ds.term_powers.values, dtype=int),
                   np.asarray(ds.attrs["centre_um"], dtype=float), np.asarray(ds.attrs["scale_um"], dtype=float),
                   float(ds.attrs["nominal_length_um"]), ds)

    @classmethod
    def load(cls, path: Path | str) -> "CouplerModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return cls.from_dataset(ds.load())


def _design(points: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    x = (points - centre) / scale
    return np.stack([x[:, 0] ** i * x[:, 1] ** j * x[:, 2] ** k for i, j, k in TERMS], axis=-1)


def _grid_quantities(grid: dict[tuple[float, float], dict[str, np.ndarray]],
                     nominal: tuple[float, float]) -> dict[tuple[float, float], dict[str, np.ndarray]]:
    """Align the bends' 2π branches across the grid (nearest the nominal point at the band
    centre) and convert to the fitted quantities."""
    ref = grid[nominal]
    kc = ref["phi_even0"].size // 2
    out = {}
    for pt, p in grid.items():
        pe = p["phi_even0"] + 2 * np.pi * np.round((ref["phi_even0"][kc] - p["phi_even0"][kc]) / (2 * np.pi))
        po = p["phi_odd0"] + 2 * np.pi * np.round((ref["phi_odd0"][kc] - p["phi_odd0"][kc]) / (2 * np.pi))
        out[pt] = {"pe": pe, "po": po, **p}
    # one common 2π shift of φ_even puts the nominal Δφ0 in (−π, π] (shifts φ̄0 by π everywhere)
    shift = 2 * np.pi * np.round((out[nominal]["po"][kc] - out[nominal]["pe"][kc]) / (2 * np.pi))
    for p in out.values():
        pe = p["pe"] + shift
        p.update(log_dn=np.log(p["dn"]), dphi0=pe - p["po"], phi_mean0=0.5 * (pe + p["po"]))
    return out


def fit(sweep: CouplerSweepSpec, smatrices: dict[tuple, xr.DataArray], n_prior: dict[tuple, float], *,
        provenance: dict[str, Any] | None = None) -> CouplerModel:
    """Fit the model to the fit-grid S-matrices and measure it on the held-out ones.

    ``smatrices``: ``{(role, δw, δt, L): S}`` as returned (as entries) by
    ``pipeline.library.Library.run_sweep('coupler')``;
    ``n_prior``: ``{(δw, δt): strip n_eff at the band centre}`` (2π branch of the mean phase)."""
    l1, l2 = sweep.coupling_lengths
    lam = np.asarray(sweep.band.wavelengths())

    def pair(role: str, pt: tuple[float, float]) -> dict[str, np.ndarray]:
        try:
            s1, s2 = smatrices[(role, *pt, l1)], smatrices[(role, *pt, l2)]
        except KeyError as exc:
            raise CacheError(f"sweep run {exc.args[0]} missing. "
                             "Fix: pipeline.library.Library(cache).run_sweep('coupler').") from None
        return extract_pair(s1, l1, s2, l2, n_prior[pt])

    fit_pts = sweep.points()
    grid = _grid_quantities({pt: pair("fit", pt) for pt in fit_pts}, (0.0, 0.0))
    pts = np.array([(w, t, lm) for w, t in fit_pts for lm in lam])
    centre = np.array([0.5 * (min(sweep.dw) + max(sweep.dw)), 0.5 * (min(sweep.dt) + max(sweep.dt)), lam.mean()])
    scale = np.array([0.5 * (max(sweep.dw) - min(sweep.dw)), 0.5 * (max(sweep.dt) - min(sweep.dt)),
                      0.5 * (lam.max() - lam.min())])
    a = _design(pts, centre, scale)
    coef, resid = [], []
    for q in QUANTITIES:
        y = np.concatenate([grid[pt][q] for pt in fit_pts])
        c, *_ = np.linalg.lstsq(a, y, rcond=None)
        coef.append(c)
        resid.append(float(np.sqrt(np.mean((a @ c - y) ** 2))))
    ds = xr.Dataset(
        {"coefficients": (("quantity", "term"), np.array(coef)),
         "term_powers": (("term", "axis"), np.array(TERMS)),
         "fit_rms_residual": (("quantity",), np.array(resid))},
        coords={"quantity": list(QUANTITIES), "term": np.arange(len(TERMS)), "axis": ["dw", "dt", "wavelength"]})
    ds.attrs.update(
        centre_um=centre.tolist(), scale_um=scale.tolist(), nominal_length_um=float(l1),
        sweep_spec=sweep.canonical_json(), description=DESCRIPTION,
        quantities="log_dn = ln(n_even - n_odd), L_c = lambda/(2 exp(log_dn)); dphi0 = bends' supermode phase "
                   "difference (phi0 = dphi0/2); n_mean = (n_even + n_odd)/2; phi_mean0 = bends' mean phase [rad]; "
                   "log_amp_even/odd = ln|S_bar +/- S_cross|",
        **({k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()}))
    model = CouplerModel(np.array(coef), np.array(TERMS), centre, scale, float(l1), ds)
    acc = _accuracy(model, sweep, smatrices, fit_pts, "fit")
    hold = sweep.points(holdout=True)
    if hold:
        acc_h = _accuracy(model, sweep, smatrices, hold, "holdout", lc_direct={pt: pair("holdout", pt)["lc"]
                                                                                  for pt in hold})
        ds = ds.merge(acc_h)
    ds = ds.merge(acc)
    summary = {}
    for role in ("fit", "holdout"):
        if f"{role}_dkappa2" in ds:
            summary.update({f"{role}_max_abs_dkappa2": float(ds[f"{role}_dkappa2"].max()),
                            f"{role}_max_phase_error_rad": float(np.maximum(ds[f"{role}_phase_error_bar"],
                                                                            ds[f"{role}_phase_error_cross"]).max()),
                            f"{role}_max_excess_loss_error_db": float(np.abs(ds[f"{role}_loss_error_db"]).max())})
    if "holdout_lc_rel_error" in ds:
        summary["holdout_max_lc_rel_error"] = float(np.abs(ds["holdout_lc_rel_error"]).max())
    ds.attrs["accuracy"] = json.dumps(summary)
    return CouplerModel(np.array(coef), np.array(TERMS), centre, scale, float(l1), ds)


def _accuracy(model: CouplerModel, sweep: CouplerSweepSpec, smatrices: dict[tuple, xr.DataArray],
              points: list[tuple[float, float]], role: str, lc_direct: dict | None = None) -> xr.Dataset:
    """Model vs direct FDTD at ``points``: |Δκ²|, bar/cross phase errors, excess-loss error."""
    lam = np.asarray(sweep.band.wavelengths())
    shape = (len(points), len(sweep.coupling_lengths), lam.size)
    dk2, eb, ec, dloss = (np.zeros(shape) for _ in range(4))
    for i, (w, t) in enumerate(points):
        p = model.parameters(wavelength=lam, dw=w, dt=t)
        for j, length in enumerate(sweep.coupling_lengths):
            s = smatrices[(role, w, t, length)]
            sb = np.asarray(s.sel(port_in="o1", port_out="o4").values)
            sc = np.asarray(s.sel(port_in="o1", port_out="o3").values)
            mb, mc = rebuild(lam, length, p)
            dk2[i, j] = np.abs(np.abs(mc) ** 2 - np.abs(sc) ** 2)
            eb[i, j] = np.abs(np.angle(mb / sb))
            ec[i, j] = np.abs(np.angle(mc / sc))
            dloss[i, j] = (10 * np.log10(np.abs(sb) ** 2 + np.abs(sc) ** 2)
                           - 10 * np.log10(np.abs(mb) ** 2 + np.abs(mc) ** 2))
    dims = (f"{role}_point", "length", "wavelength")
    coords = {f"{role}_point": np.arange(len(points)), "length": list(sweep.coupling_lengths), "wavelength": lam,
              f"{role}_dw": ((f"{role}_point",), [p[0] for p in points]),
              f"{role}_dt": ((f"{role}_point",), [p[1] for p in points])}
    out = xr.Dataset({f"{role}_dkappa2": (dims, dk2), f"{role}_phase_error_bar": (dims, eb),
                      f"{role}_phase_error_cross": (dims, ec), f"{role}_loss_error_db": (dims, dloss)},
                     coords=coords)
    if lc_direct is not None:
        rel = []
        for w, t in points:
            lc_model = lam / (2 * np.exp(model.parameters(wavelength=lam, dw=w, dt=t)["log_dn"]))
            rel.append(lc_model / lc_direct[(w, t)] - 1)
        out[f"{role}_lc_rel_error"] = ((f"{role}_point", "wavelength"), np.array(rel))
    return out

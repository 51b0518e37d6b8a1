"""Directional-coupler compact model from a cached FDTD sweep of fabrication offsets.

Sweep (:class:`CouplerSweepSpec`).  One nominal design (default: the shipped 3-dB coupler,
500×220 nm strips, gap 0.2 µm, L = 16.5 µm) is simulated for fabrication offsets δw of
both core widths and δt of the Si layer on a grid, at two straight-section lengths
L1 < L2 (same bends), with the 2D calibrated Meep engine (the 2D material model is fitted
to 3D MPB solves of each actual width × thickness, so δw and δt are physical).  Held-out
(δw, δt) points are simulated the same way and never enter the fit.

Gap convention: lithography fixes the centre-to-centre pitch; a width error δw moves both
edges of each guide by δw/2, so the edge-to-edge gap becomes ``gap − δw`` (wider guides →
narrower gap).  The nominal gap itself is a design choice, not a random variable: one
model per nominal design.

Physics of the model.  A symmetric coupler is diagonal in its even/odd supermodes:
``S_bar ± S_cross = A_e,o exp(i φ_e,o)`` (:mod:`pipeline.fdtd.coupling`).  With
φ̄ = (φ_e + φ_o)/2 and Δφ = φ_e − φ_o, and for each (δw, δt, λ):

* Δφ(L) = (2π/λ) Δn L + Δφ0   →  L_c = λ/(2Δn) and the bends' φ0 = Δφ0/2,
* φ̄(L) = (2π/λ) n̄ L + φ̄0     →  mean supermode index n̄ and the bends' mean phase φ̄0,
* A_e, A_o: supermode amplitudes (bend radiation; the straight section is lossless, so
  they are taken as the mean over the two lengths).

Two lengths determine (Δn, Δφ0, n̄, φ̄0) exactly; branch ambiguities are resolved with
priors (|Δβ ΔL| < π; n̄ nearest the 3D-calibrated strip n_eff stored in the entry's
provenance).  The resulting smooth real quantities (ln Δn, Δφ0, n̄, φ̄0, ln A_e, ln A_o)
are each fitted by least squares with all monomials of total degree ≤ 2 in the scaled
(δw, δt, λ) (10 terms, 99 data per quantity for the default 3×3×11 grid, so the grid
residual is measured).  ln Δn is the natural variable of evanescent coupling (Δn ∝
exp(−γ·gap): linear in δw at fixed γ; the quadratic terms carry γ(w, t, λ)); quadratic
is the lowest order with curvature, and the FDTD scatter between geometries (~1 % in L_c,
~1e-3 in n̄ at 30 px/µm) forbids more: with 3 levels per offset a higher order would
interpolate that noise.  The rebuilt S-matrix:

    S_bar  = [A_e e^{iφ_e} + A_o e^{iφ_o}]/2,  S_cross = [A_e e^{iφ_e} − A_o e^{iφ_o}]/2,
    κ² ≈ sin²(πL/(2L_c) + φ0)  (exact for A_e = A_o),

bar: o1↔o4, o2↔o3; cross: o1↔o3, o2↔o4; reflections and o1↔o2 terms are set to zero
(|S| ≤ 0.02, ≤ −34 dB, over the default sweep).  Supermode amplitudes are clipped at 1
(the FDTD's own passivity error is ~1e-3), so the rebuilt S is reciprocal and passive.  Excess loss = −10 log10((A_e² + A_o²)/2) = the unitarity
deviation of the rebuilt S-matrix.

Accuracy against the held-out direct FDTD runs (|Δκ²|, bar/cross phase error, loss, L_c)
is measured when the model is built and stored with it (:attr:`CouplerModel.dataset`,
a netCDF ``compact_models/coupler_model-<hash>.nc`` next to the sweep's cache entries,
see :func:`model_path`).  Every coefficient comes from the cached FDTD entries.
Measured for the default sweep (benchmarks/results/coupler_model.txt), held out
(δw, δt) = (+10, −5) nm over 1.50–1.60 µm and both lengths: |Δκ²| ≤ 0.012, L_c within
0.9 %, bar/cross phase ≤ 0.18 rad (n̄ scatter of the FDTD, 1e-3), loss within 0.06 dB.
Against converged 3D MPB supermodes: dL_c/dδt +276 vs +264 µm/µm (+4.5 %); dL_c/dδw at
fixed pitch −55 vs −23 µm/µm — width and gap effects nearly cancel (L_c moves 2.4 % over
±20 nm) and the 30 px/µm FDTD scatters by ~3 % between geometries (exact 2D slab modes with
the same calibrated indices: −27.3 µm/µm); straight lengths 16.5/56.5 µm instead of
16.5/26.5 give the same −54.5 µm/µm (so it is the grid, not phase noise in the two-length
extraction): the width sensitivity needs a much finer FDTD grid.
"""

from __future__ import annotations

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
#: polynomial terms: powers (i, j, k) of the scaled offsets x = δw/s_w, y = δt/s_t, z = (λ − λc)/s_λ,
#: all monomials of total degree ≤ 2 (1, x, y, z, x², y², z², xy, xz, yz).
TERMS: tuple[tuple[int, int, int], ...] = tuple(
    (i, j, k) for i in range(3) for j in range(3) for k in range(3) if i + j + k <= 2)
QUANTITIES = ("log_dn", "dphi0", "n_mean", "phi_mean0", "log_amp_even", "log_amp_odd")
MODEL_FILE = "coupler_model.nc"


class CouplerSweepSpec(Spec):
    """Fabrication-offset sweep of one directional-coupler design (FDTD, cached)."""

    width: float = quantity(0.5, "um", "nominal core width of both guides", gt=0.1, le=3.0)
    thickness: float = quantity(0.22, "um", "nominal Si layer thickness", gt=0.05, le=1.0)
    gap: float = quantity(0.2, "um", "nominal edge-to-edge gap (at dw = 0; the pitch is fixed)", gt=0.05, le=2.0)
    coupling_lengths: tuple[float, float] = quantity(
        (16.5, 26.5), "um", "two straight-section lengths L1 < L2 (separate L_c from the bends' phase)")
    bend_radius: float = quantity(5.0, "um", "S-bend arc radius", ge=1.0, le=500.0)
    port_separation: float = quantity(2.0, "um", "centre-to-centre distance at the ports", gt=0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of every run")
    dw: tuple[float, ...] = quantity((-0.02, 0.0, 0.02), "um", "width offsets of the fit grid (both guides)")
    dt: tuple[float, ...] = quantity((-0.01, 0.0, 0.01), "um", "thickness offsets of the fit grid")
    holdout: tuple[tuple[float, float], ...] = quantity(
        ((0.01, -0.005),), "um", "(dw, dt) validation points simulated but never fitted")

    @model_validator(mode="after")
    def _consistent(self) -> "CouplerSweepSpec":
        l1, l2 = self.coupling_lengths
        problems = []
        if not 0 <= l1 < l2:
            problems.append(f"coupling_lengths = {self.coupling_lengths} um: need 0 <= L1 < L2. "
                            "Fix: e.g. coupling_lengths=(16.5, 26.5).")
        for name in ("dw", "dt"):
            vals = getattr(self, name)
            if len(set(vals)) < 3 or list(vals) != sorted(vals):
                problems.append(f"{name} = {vals} um: a quadratic fit needs >= 3 distinct ascending values. "
                                f"Fix: e.g. {name}={(-0.02, 0.0, 0.02) if name == 'dw' else (-0.01, 0.0, 0.01)}.")
        if min(self.dw) <= -self.width / 2 or max(self.dw) >= self.gap:
            problems.append(f"dw = {self.dw} um: the width {self.width} + dw and gap {self.gap} - dw must stay "
                            "positive. Fix: use smaller offsets.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def device(self, dw: float = 0.0, dt: float = 0.0, length: float | None = None) -> Any:
        """The DirectionalCouplerSpec of one sweep point (fixed pitch: gap − δw)."""
        from devices.directional_coupler import DirectionalCouplerSpec

        r = lambda v: round(float(v), 9)  # noqa: E731  (clean, reproducible cache keys)
        return DirectionalCouplerSpec(
            width=r(self.width + dw), thickness=r(self.thickness + dt), gap=r(self.gap - dw),
            coupling_length=r(self.coupling_lengths[0] if length is None else length),
            bend_radius=self.bend_radius, port_separation=self.port_separation, band=self.band)

    def points(self, *, holdout: bool = False) -> list[tuple[float, float]]:
        """(δw, δt) of the fit grid, or of the held-out validation points."""
        if holdout:
            return [tuple(map(float, p)) for p in self.holdout]
        return [(float(a), float(b)) for a in self.dw for b in self.dt]

    def runs(self) -> list[tuple[str, float, float, float]]:
        """Every FDTD run: (role, δw, δt, L) — fit grid first, then held-out points."""
        out = []
        for role, pts in (("fit", self.points()), ("holdout", self.points(holdout=True))):
            for dw, dt in pts:
                out += [(role, dw, dt, length) for length in self.coupling_lengths]
        return out


# -- extraction (pure) ---------------------------------------------------------------------
def _wrap(x: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * np.asarray(x)))


def supermodes(s: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd supermode transmissions S_bar ± S_cross (from o1) per wavelength."""
    sb = np.asarray(s.sel(port_in="o1", port_out="o4").values)
    sc = np.asarray(s.sel(port_in="o1", port_out="o3").values)
    return sb + sc, sb - sc


def extract_pair(s1: xr.DataArray, length1: float, s2: xr.DataArray, length2: float,
                 n_prior: float) -> dict[str, np.ndarray]:
    """Per-wavelength supermode parameters from one (δw, δt) point at two lengths.

    Returns ``dn`` (n_even − n_odd), ``n_mean``, ``phi_even0``/``phi_odd0`` (the bends'
    supermode phases at L = 0, unwrapped along λ), ``log_amp_even``/``log_amp_odd`` (mean of
    ln|S_bar ± S_cross| over the two lengths) and ``lc`` = λ/(2 dn).  ``n_prior`` (the
    strip's n_eff at the band centre) picks the 2π branch of the mean phase; the
    supermode splitting assumes L2 − L1 < L_c (|Δβ ΔL| < π)."""
    lam = np.asarray(s1.wavelength.values, dtype=float)
    if not np.allclose(lam, s2.wavelength.values):
        raise SpecError("the two S-matrices of a length pair have different wavelengths.")
    dl = float(length2 - length1)
    if dl <= 0:
        raise SpecError(f"length2 = {length2} um must exceed length1 = {length1} um.")
    e1, o1 = supermodes(s1)
    e2, o2 = supermodes(s2)
    pe1, po1, pe2, po2 = (np.angle(v) for v in (e1, o1, e2, o2))
    dphi1, dphi2 = pe1 - po1, pe2 - po2
    dbdl = _wrap(dphi2 - dphi1)  # Δβ·ΔL, branch |.| < π
    if np.any(dbdl <= 0):
        raise SpecError(f"supermode splitting Δβ·ΔL = {np.round(dbdl, 3).tolist()} rad is not in (0, π): "
                        f"L2 − L1 = {dl} um is not below the coupling length. Fix: use a smaller length step.")
    m = np.round((dbdl + dphi1 - dphi2) / (2 * np.pi))  # φ_e2 − φ_o2 branch consistent with Δβ
    u = np.unwrap(0.5 * (pe2 + po2 - pe1 - po1) + np.pi * m)  # β̄·ΔL up to 2π b
    kc = int(np.argmin(np.abs(lam - lam.mean())))
    u += 2 * np.pi * np.round((2 * np.pi * n_prior * dl / lam[kc] - u[kc]) / (2 * np.pi))
    n_mean = u * lam / (2 * np.pi * dl)
    dn = dbdl * lam / (2 * np.pi * dl)
    k1 = 2 * np.pi * length1 / lam
    phi_e0 = np.unwrap(pe1 - k1 * (n_mean + dn / 2))
    phi_o0 = np.unwrap(po1 - k1 * (n_mean - dn / 2))
    return {"dn": dn, "n_mean": n_mean, "phi_even0": phi_e0, "phi_odd0": phi_o0,
            "log_amp_even": 0.5 * (np.log(np.abs(e1)) + np.log(np.abs(e2))),
            "log_amp_odd": 0.5 * (np.log(np.abs(o1)) + np.log(np.abs(o2))), "lc": lam / (2 * dn)}


def rebuild(wavelength: np.ndarray, length: np.ndarray, p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(S_bar, S_cross) from supermode parameters (broadcast over all arrays)."""
    k = 2 * np.pi * np.asarray(length) / np.asarray(wavelength)
    dn = np.exp(p["log_dn"])
    pe = k * (p["n_mean"] + dn / 2) + p["phi_mean0"] + p["dphi0"] / 2
    po = k * (p["n_mean"] - dn / 2) + p["phi_mean0"] - p["dphi0"] / 2
    ae = np.exp(np.minimum(p["log_amp_even"], 0.0))  # passivity: |supermode| <= 1
    ao = np.exp(np.minimum(p["log_amp_odd"], 0.0))
    ee, eo = ae * np.exp(1j * pe), ao * np.exp(1j * po)
    return 0.5 * (ee + eo), 0.5 * (ee - eo)


def assemble(s_bar: np.ndarray, s_cross: np.ndarray) -> np.ndarray:
    """4×4 S (last two axes [out, in], ports o1..o4): bar o1↔o4, o2↔o3; cross o1↔o3, o2↔o4."""
    s = np.zeros(np.broadcast(s_bar, s_cross).shape + (4, 4), complex)
    for a, b in ((0, 3), (1, 2)):
        s[..., a, b] = s[..., b, a] = s_bar
    for a, b in ((0, 2), (1, 3)):
        s[..., a, b] = s[..., b, a] = s_cross
    return s


# -- the model -----------------------------------------------------------------------------
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
        sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0],
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


# -- the stored model's name (pure; reading and fitting from the cache: pipeline.library) --------
def default_sweep() -> CouplerSweepSpec:
    """The library's coupler sweep (the shipped 3-dB coupler design)."""
    return CouplerSweepSpec()


def default_solver() -> Any:
    """The sweep's solver: 2D calibrated Meep, default resolution."""
    from pipeline.fdtd.specs import Meep2DSpec

    return Meep2DSpec()


def model_path(cache: Any, sweep: CouplerSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the model of (sweep, solver) is stored in ``cache`` (anything with ``root`` and
    ``key(device, solver)``): ``<root>/compact_models/coupler_model-<hash>.nc``
    (:func:`devices.offset_model.model_hash`, form: the fitted quantities and terms; the run
    keys carry the solver package versions, so a stale model is never picked up)."""
    from devices.offset_model import model_hash

    sweep = sweep or default_sweep()
    solver = solver or default_solver()
    keys = [cache.key(sweep.device(*run[1:]), solver) for run in sweep.runs()]  # versions enter the keys
    return model_hash("coupler_model", sweep, solver, keys, cache, form=(QUANTITIES, TERMS))


def neff_centre(entry: Any) -> float:
    """The 3D strip n_eff at the band centre recorded by the calibrated 2D material model."""
    mm = entry.provenance.get("material_model", {})
    wl, neff = mm.get("wavelengths_um"), mm.get("neff_3d")
    if not wl or not neff:
        raise CacheError(f"entry {entry.key[:12]} records no 3D n_eff (material model {mm.get('model')!r}). "
                         "Fix: use Meep2DSpec(material_model='calibrated').")
    return float(np.interp(entry.device_spec.band.center, wl, neff))


# -- public compact model ----------------------------------------------------------------------
def power_coupling(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, coupling_length: Any = None,
                   model: CouplerModel) -> np.ndarray:
    """Cross-port power |S[o3, o1]|² (κ², loss included), numpy-broadcast over all
    arguments — the fast path for Monte-Carlo sampling of couplers."""
    m = model
    length = m.nominal_length if coupling_length is None else np.asarray(coupling_length, dtype=float)
    lam = np.asarray(wavelength, dtype=float)
    p = m.parameters(wavelength=lam, dw=dw, dt=dt, quantities=("log_dn", "dphi0", "log_amp_even", "log_amp_odd"))
    # |A_e e^{iφe} − A_o e^{iφo}|²/4 with φe − φo = 2π Δn L/λ + Δφ0
    dphi = 2 * np.pi * np.exp(p["log_dn"]) * length / lam + p["dphi0"]
    ae, ao = np.exp(np.minimum(p["log_amp_even"], 0.0)), np.exp(np.minimum(p["log_amp_odd"], 0.0))
    return 0.25 * (ae * ae + ao * ao - 2 * ae * ao * np.cos(dphi))


def coupling_length_um(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                       model: CouplerModel) -> np.ndarray:
    """L_c = λ / (2 Δn) [µm] (straight-section length for full transfer)."""
    m = model
    return np.asarray(wavelength, dtype=float) / (2 * np.exp(m.parameters(wavelength=wavelength, dw=dw,
                                                                          dt=dt)["log_dn"]))


def excess_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                   model: CouplerModel) -> np.ndarray:
    """Excess loss −10 log10((A_e² + A_o²)/2) [dB] (= 1 − Σ|S|² of the rebuilt S, in dB)."""
    m = model
    p = m.parameters(wavelength=wavelength, dw=dw, dt=dt)
    a2 = 0.5 * (np.exp(2 * np.minimum(p["log_amp_even"], 0)) + np.exp(2 * np.minimum(p["log_amp_odd"], 0)))
    return -10 * np.log10(a2)


def coupler(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, coupling_length: Any = None,
            model: CouplerModel) -> xr.DataArray:
    """4-port S-matrix of the swept coupler design with fabrication offsets.

    ``wavelength`` [µm] (1D) is the S-matrix's wavelength axis; ``dw``, ``dt`` [µm] and
    ``coupling_length`` [µm, default: the design's] broadcast together into instances: all
    scalars give dims (wavelength, port_out, port_in); otherwise a leading ``instance`` dim
    with coordinates dw, dt, coupling_length."""
    m = model
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    if lam.ndim != 1:
        raise SpecError(f"wavelength must be a scalar or 1D array, got shape {lam.shape}.")
    length = m.nominal_length if coupling_length is None else coupling_length
    w, t, ln = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (dw, dt, length)))
    if np.any(ln < 0):
        raise SpecError(f"coupling_length = {length!r} um: must be >= 0.")
    scalar = w.ndim == 0
    w, t, ln = (np.atleast_1d(v).ravel() for v in (w, t, ln))
    p = m.parameters(wavelength=lam[None, :], dw=w[:, None], dt=t[:, None])
    sb, sc = rebuild(lam[None, :], ln[:, None], p)
    s = assemble(sb, sc)
    prov = {"model": "devices.coupler_model", "sweep_spec": m.dataset.attrs.get("sweep_spec"),
            "accuracy": json.loads(m.dataset.attrs.get("accuracy", "{}"))}
    if scalar:
        out = make_smatrix(s[0], lam, list(PORTS), provenance=prov)
        return out.assign_attrs(dw_um=float(w[0]), dt_um=float(t[0]), coupling_length_um=float(ln[0]))
    out = make_smatrix(s, lam, list(PORTS), sweep={"instance": np.arange(w.size)}, provenance=prov)
    return out.assign_coords(dw=("instance", w), dt=("instance", t), coupling_length=("instance", ln))


def library_specs(sweep: CouplerSweepSpec | None = None) -> list[Any]:
    """Every DirectionalCouplerSpec of the default sweep (fit grid and held-out points), for
    the library build (``generator`` in workflows/library.toml)."""
    sweep = sweep or CouplerSweepSpec()
    return [sweep.device(dw, dt, length) for _, dw, dt, length in sweep.runs()]

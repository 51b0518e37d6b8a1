"""Carrier-depletion phase-shifter compact model: Δn_eff(V, λ) and the free-carrier mode
loss α(V, λ) over the implant offsets, from a cached sweep of the co-simulation
(:mod:`devices.pn_phase_shifter`: scikit-fem Poisson + Nedeljkovic 2011 + MPB overlap).

Sweep (:class:`PNShifterSweepSpec`).  The library shifter (500 × 220 nm rib, 90 nm slab,
N_A = N_D = 5e17 cm⁻³, shipped solver settings) is simulated on the grid
δN ∈ {−20, 0, +20} % × δx_j ∈ {−50, 0, +50} nm, each run over the shipped biases
(0 … −4 V, 7 points) and band (1.50, 1.55, 1.60 µm); the nominal node is the shipped entry.
δN is a common relative dose offset of the two lightly doped implants (N_A = N_D =
5e17 (1 + δN)); δx_j moves the junction (the p/n implant-mask edge) laterally, > 0 toward
the n side.  Held-out points (δN, δx_j) = (+10 %, +25 nm) and (−12 %, −35 nm) are
simulated the same way and never fitted.

Why these axes (design choice).  The implants set everything the shifter does: Δn_eff
scales with the depleted charge (∝ √N at fixed bias for an abrupt junction) and the
0-V loss with N itself, while a 20 nm width or 10 nm thickness offset moves the rib mode's
overlap with the junction by a few per mille only (the mode is ~0.5 µm wide; δw/δt enter a
ring's resonance through the waveguide model's n_eff, where they dominate).  The junction
position is the process step that self-aligned designs exist to remove ("alignment
variations are an unavoidable characteristic of semiconductor fabrication processes":
Thomson, Gardes, Reed & Fedeli, Opt. Express 18, 19064 (2010)).  The ranges ±20 % dose and
±50 nm junction shift are a named design choice: an envelope wider than the spread we
expect of a DUV foundry's implant dose/activation and implant-mask overlay, so that a die's
sampled offsets stay inside the table; they are not a measured spread.  One common δN (not
separate p and n offsets) keeps the sweep to 3 × 3 runs on this machine (each run ~75 s of
CPU); p/n dose asymmetry is not modelled.

Model (:class:`PNShifterModel`).  Interpolation on the grid, exact at the nodes: at every
simulated (V, λ) the tensor-product quadratic Lagrange polynomial through the 3 × 3
(δN, δx_j) nodes (the lowest order with curvature in each offset; √(1 + δN) is the
expected δN dependence, whose quadratic interpolation error at |δN| ≤ 0.2 is < 0.1 %), then
between biases the monotone cubic (PCHIP) in V and across the band the quadratic in λ of
:func:`devices.pn_phase_shifter.model`.  Outside the swept ranges: ExtrapolationError.

Accuracy: measured on the held-out runs when the model is built and stored with it
(``compact_models/pn_phase_shifter_model-<hash>.nc``, attrs ``accuracy``); the tolerance
the tests hold it to is :data:`HOLDOUT_TOLERANCE` (2 % of the nominal |Δn_eff| and α).
Default sweep, both held-out points, 0 … −4 V, 1.50–1.60 µm: |ΔΔn_eff| ≤ 9.1e-8 (0.06 % of
the nominal |Δn_eff|; 0.4 mrad per mm of shifter), |Δα| ≤ 0.086 /m (0.03 %), where the
offsets themselves move Δn_eff and α by up to 10.7 % and 10.8 % (the nominal-only model's
error).  The dose axis against the abrupt-junction closed form (depletion width × Nedeljkovic
index change per carrier): the simulated Δn_eff(δN = ±20 %)/Δn_eff(0) within 1.6 %.  Over the
grid V_πL (−2 V, 1.55 µm) spans 1.48–1.91 V·cm (nominal 1.59); a junction 50 nm into the p
side costs 8 % (holes carry most of Δn at 5e17 cm⁻³), 50 nm into the n side < 1 %.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import model_validator

from devices.offset_model import check_in_range, lagrange_weights
from pipeline.errors import CacheError, SpecError
from pipeline.specs import Spec, WavelengthBand, quantity

#: Held-out tolerance (relative, design choice stated before the sweep was run): the model's
#: |Δn_eff| error at a held-out point ≤ 2 % of max_V |Δn_eff| of the nominal shifter at the
#: same λ, and its α error ≤ 2 % of the nominal α at the same (V, λ).  2 % is below the
#: co-simulation's own accuracy (depletion width vs the abrupt-junction formula 2.6–5 %,
#: first order vs re-solve 0.5 %) and a fifth or less of the offset effect at the held-out
#: points (~10 % in Δn_eff and α for δN = ±10 %).
HOLDOUT_TOLERANCE = 0.02
QUANTITIES = ("dneff", "alpha_carriers")  # Δn_eff vs 0 V [1]; mode power absorption [1/m]


class PNShifterSweepSpec(Spec):
    """Implant-offset sweep of the library PN phase shifter (co-simulation, cached)."""

    doping: tuple[float, ...] = quantity((-0.2, 0.0, 0.2), "1", "relative dose offsets δN of both implants (fit grid)")
    junction: tuple[float, ...] = quantity((-0.05, 0.0, 0.05), "um", "junction offsets δx_j of the fit grid")
    holdout: tuple[tuple[float, float], ...] = quantity(
        ((0.1, 0.025), (-0.12, -0.035)), "1, um", "(δN, δx_j) points simulated for validation, never fitted")
    nominal_doping: float = quantity(5e17, "cm^-3", "N_A = N_D at δN = 0", ge=1e15, le=1e19)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=3), "um", "wavelengths of every run")
    bias_voltages: tuple[float, ...] = quantity((0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0), "V",
                                                "biases of every run (0 V first, decreasing)")

    @model_validator(mode="after")
    def _consistent(self) -> "PNShifterSweepSpec":
        problems = []
        for name, example in (("doping", "(-0.2, 0.0, 0.2)"), ("junction", "(-0.05, 0.0, 0.05)")):
            v = getattr(self, name)
            if len(v) != 3 or list(v) != sorted(set(v)):
                problems.append(f"{name} = {v}: the quadratic interpolation needs exactly 3 distinct ascending "
                                f"nodes. Fix: e.g. {name}={example}.")
        if any(d <= -0.9 for d in (*self.doping, *(p[0] for p in self.holdout))):
            problems.append(f"doping offsets {self.doping} / holdout {self.holdout}: δN <= -0.9 leaves no junction. "
                            "Fix: |δN| < 0.9.")
        if self.band.points < 3:
            problems.append(f"band.points = {self.band.points}: the quadratic in λ needs >= 3. Fix: points=3.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    def device(self, doping: float = 0.0, junction: float = 0.0) -> Any:
        """The PNPhaseShifterSpec of one sweep point (N_A = N_D = nominal (1 + δN), junction δx_j [µm])."""
        from devices.pn_phase_shifter import PNPhaseShifterSpec

        n = float(f"{self.nominal_doping * (1.0 + doping):.9g}")  # clean, reproducible cache keys
        return PNPhaseShifterSpec(p_doping=n, n_doping=n, junction_offset=round(float(junction), 9), band=self.band,
                                  bias_voltages=self.bias_voltages)

    def runs(self) -> list[tuple[str, float, float]]:
        """Every run: (role, δN, δx_j) — fit grid first, then the held-out points."""
        return ([("fit", float(a), float(b)) for a in self.doping for b in self.junction]
                + [("holdout", float(a), float(b)) for a, b in self.holdout])


def default_sweep() -> PNShifterSweepSpec:
    """The library's PN-shifter sweep."""
    return PNShifterSweepSpec()


def default_solver() -> Any:
    """The sweep's solver: the shipped co-simulation settings (PNSolverSpec defaults)."""
    from devices.pn_phase_shifter import PNSolverSpec

    return PNSolverSpec()


def library_specs(sweep: PNShifterSweepSpec | None = None) -> list[Any]:
    """Every PNPhaseShifterSpec of the sweep (fit and held out), for the library build
    (``generator`` in workflows/library.toml)."""
    sweep = sweep or default_sweep()
    return [sweep.device(a, b) for _, a, b in sweep.runs()]


# -- interpolation helpers (pure numpy) ----------------------------------------------------------
def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Fritsch–Carlson derivatives of y (..., n) on ascending x (n,) — scipy's
    PchipInterpolator rule (weighted harmonic mean inside, shape-preserving 3-point ends)."""
    h = np.diff(x)
    m = np.diff(y, axis=-1) / h
    d = np.zeros_like(y)
    if x.size == 2:
        d[...] = m[..., :1]
        return d
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    m0, m1 = m[..., :-1], m[..., 1:]
    same = (np.sign(m0) == np.sign(m1)) & (m0 != 0) & (m1 != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d[..., 1:-1] = np.where(same, (w1 + w2) / (w1 / np.where(same, m0, 1) + w2 / np.where(same, m1, 1)), 0.0)

    def edge(h0: float, h1: float, ma: np.ndarray, mb: np.ndarray) -> np.ndarray:
        e = ((2 * h0 + h1) * ma - h0 * mb) / (h0 + h1)
        e = np.where(np.sign(e) != np.sign(ma), 0.0, e)
        return np.where((np.sign(ma) != np.sign(mb)) & (np.abs(e) > 3 * np.abs(ma)), 3 * ma, e)

    d[..., 0] = edge(h[0], h[1], m[..., 0], m[..., 1])
    d[..., -1] = edge(h[-1], h[-2], m[..., -1], m[..., -2])
    return d


def pchip(x: np.ndarray, y: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Monotone cubic Hermite (PCHIP) through (x, y[..., :]) at xi (...): one curve per point."""
    d = _pchip_slopes(x, y)
    k = np.clip(np.searchsorted(x, xi, side="right") - 1, 0, x.size - 2)
    h = x[k + 1] - x[k]
    t = (xi - x[k]) / h
    take = lambda a, i: np.take_along_axis(a, i[..., None], axis=-1)[..., 0]  # noqa: E731
    y0, y1, d0, d1 = take(y, k), take(y, k + 1), take(d, k), take(d, k + 1)
    return ((2 * t**3 - 3 * t**2 + 1) * y0 + (t**3 - 2 * t**2 + t) * h * d0 + (-2 * t**3 + 3 * t**2) * y1
            + (t**3 - t**2) * h * d1)


# -- the model ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PNShifterModel:
    """Δn_eff and α tabulated on (δN node, δx_j node, voltage, wavelength) (module doc)."""

    doping: np.ndarray  # (3,) relative dose offsets, ascending
    junction: np.ndarray  # (3,) junction offsets [µm], ascending
    voltage: np.ndarray  # (n_V,) [V], ascending (most negative first)
    wavelength: np.ndarray  # (n_λ,) [µm], ascending
    table: np.ndarray  # (3, 3, n_V, n_λ, 2): dneff [1], alpha_carriers [1/m]
    dataset: xr.Dataset

    @property
    def neff(self) -> np.ndarray:
        """n_eff (n_λ,) of the undoped rib at the band's wavelengths (the same frozen rib in every run)."""
        return np.asarray(self.dataset["neff"].values, dtype=float)

    def neff_at(self, wavelength: Any) -> np.ndarray:
        """n_eff of the undoped rib at ``wavelength`` [µm]: the polynomial in λ of the Δn_eff table."""
        lam = np.asarray(wavelength, dtype=float)
        self.check(wavelength=lam)
        deg = min(2, self.wavelength.size - 1)
        return np.polyval(np.polyfit(self.wavelength, self.neff, deg), lam)

    def check(self, **values: np.ndarray) -> None:
        """ExtrapolationError if a value leaves the swept range of its axis."""
        fix = {"voltage": "bias_voltages", "wavelength": "band", "doping": "doping", "junction": "junction"}
        check_in_range(self, values, model="PN phase-shifter", fix=lambda name: f"widen PNShifterSweepSpec.{fix[name]}")

    def evaluate(self, voltage: Any, wavelength: Any, doping: Any = 0.0, junction: Any = 0.0
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(Δn_eff vs 0 V, α [1/m]) at broadcast (voltage [V], wavelength [µm], δN [1], δx_j [µm]),
        range-checked."""
        v, lam, dn, dj = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (voltage, wavelength, doping,
                                                                                     junction)))
        self.check(voltage=v, wavelength=lam, doping=dn, junction=dj)
        shape = v.shape
        v, lam, dn, dj = (a.ravel() for a in (v, lam, dn, dj))
        w = np.einsum("pa,pb->pab", lagrange_weights(self.doping, dn), lagrange_weights(self.junction, dj))
        mixed = np.einsum("pab,abvlq->pvlq", w, self.table)  # (point, V, λ, q)
        deg = min(2, self.wavelength.size - 1)
        vander = self.wavelength[:, None] ** np.arange(deg, -1, -1)[None, :]
        coef = np.einsum("cl,pvlq->pqcv", np.linalg.pinv(vander), mixed)  # polynomial in λ per V (as pn.model)
        curves = pchip(self.voltage, coef, np.broadcast_to(v[:, None, None], coef.shape[:3]))  # (point, q, c)
        out = np.einsum("pqc,pc->qp", curves, lam[:, None] ** np.arange(deg, -1, -1)[None, :])
        return out[0].reshape(shape), out[1].reshape(shape)

    def at(self, doping: float = 0.0, junction: float = 0.0):
        """``f(voltage_V, wavelength_um) -> (dneff, dalpha_per_m)`` at fixed offsets: the
        interface of :func:`devices.pn_phase_shifter.model`."""
        return lambda voltage_V, wavelength_um: self.evaluate(voltage_V, wavelength_um, doping, junction)

    def to_dataset(self) -> xr.Dataset:
        """The stored form: the table (and, if fitted, its held-out accuracy and attributes)."""
        return self.dataset

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> "PNShifterModel":
        missing = [q for q in QUANTITIES if f"table_{q}" not in ds]
        if missing or "doping_node" not in ds.dims:
            raise CacheError(f"PN phase-shifter model dataset lacks {missing or ['doping_node']}. "
                             "Fix: rebuild it (pipeline.library.Library().fit('pn_phase_shifter')).")
        dims = ("doping_node", "junction_node", "voltage", "wavelength")
        table = np.stack([np.asarray(ds[f"table_{q}"].transpose(*dims).values, dtype=float) for q in QUANTITIES], -1)
        return cls(*(np.asarray(ds[c].values, dtype=float) for c in dims), table, ds)

    @classmethod
    def load(cls, path: Path | str) -> "PNShifterModel":
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return cls.from_dataset(ds.load())


def tabulate(sweep: PNShifterSweepSpec, data: dict[tuple[str, float, float], xr.Dataset]) -> PNShifterModel:
    """The model of the fit runs' entry datasets ``data[(role, δN, δx_j)]`` (no accuracy yet)."""
    first = data[("fit", float(sweep.doping[0]), float(sweep.junction[0]))]
    volts = np.asarray(first.voltage.values, dtype=float)
    lam = np.asarray(first.wavelength.values, dtype=float)
    order = np.argsort(volts)
    table = np.zeros((3, 3, volts.size, lam.size, len(QUANTITIES)))
    for i, a in enumerate(sweep.doping):
        for j, b in enumerate(sweep.junction):
            ds = data[("fit", float(a), float(b))]
            if not (np.allclose(ds.voltage.values, volts) and np.allclose(ds.wavelength.values, lam)):
                raise SpecError(f"sweep run (δN={a:+g}, δx_j={b:+g} um) has other biases or wavelengths than the "
                                "first run; rebuild the sweep on one grid.")
            for q, name in enumerate(QUANTITIES):
                table[i, j, :, :, q] = np.asarray(ds[name].transpose("voltage", "wavelength").values)[order]
    neff = np.asarray(data[("fit", 0.0, 0.0) if ("fit", 0.0, 0.0) in data else next(iter(data))].neff.values, float)
    dims = ("doping_node", "junction_node", "voltage", "wavelength")
    out = xr.Dataset({**{f"table_{q}": (dims, table[..., k]) for k, q in enumerate(QUANTITIES)},
                      "neff": ("wavelength", neff, {"units": "1", "long_name": "n_eff of the undoped rib"})},
                     coords={"doping_node": np.asarray(sweep.doping, float),
                             "junction_node": np.asarray(sweep.junction, float), "voltage": volts[order],
                             "wavelength": lam})
    out["table_dneff"].attrs.update(units="1", long_name="n_eff(V) - n_eff(0 V)")
    out["table_alpha_carriers"].attrs.update(units="1/m", long_name="free-carrier mode power absorption")
    return PNShifterModel(out.doping_node.values, out.junction_node.values, out.voltage.values, lam, table, out)


def accuracy(model: PNShifterModel, data: dict[tuple[str, float, float], xr.Dataset],
             points: list[tuple[float, float]]) -> tuple[xr.Dataset, dict[str, float]]:
    """Errors of ``model`` at the held-out ``points`` against their simulated datasets, relative
    as :data:`HOLDOUT_TOLERANCE` defines them: (per-point arrays, summary)."""
    V, lam = model.voltage, model.wavelength
    nominal = model.table[1, 1]  # (V, λ, q) at δN = δx_j = 0
    scale_dn = np.abs(nominal[..., 0]).max(axis=0)  # (λ,)
    err = np.zeros((len(points), V.size, lam.size, 2))
    direct = np.zeros_like(err)
    for k, (a, b) in enumerate(points):
        ds = data[("holdout", a, b)]
        direct[k] = np.stack([np.asarray(ds[q].sel(voltage=V).transpose("voltage", "wavelength").values)
                              for q in QUANTITIES], -1)
        m = model.evaluate(V[:, None], lam[None, :], a, b)
        err[k] = np.stack(m, -1) - direct[k]
    rel_dn = np.abs(err[..., 0]) / scale_dn
    rel_a = np.abs(err[..., 1]) / np.abs(nominal[..., 1])
    phase = 2 * np.pi * np.abs(err[..., 0]) * 1000.0 / lam  # rad per mm
    offset_effect_dn = np.abs(direct[..., 0] - nominal[..., 0]) / scale_dn
    offset_effect_a = np.abs(direct[..., 1] - nominal[..., 1]) / np.abs(nominal[..., 1])
    dims = ("holdout_point", "voltage", "wavelength")
    ds = xr.Dataset({"holdout_dneff": (dims, direct[..., 0]), "holdout_alpha_carriers": (dims, direct[..., 1]),
                     "holdout_dneff_error": (dims, err[..., 0]), "holdout_alpha_error": (dims, err[..., 1]),
                     "holdout_rel_dneff_error": (dims, rel_dn), "holdout_rel_alpha_error": (dims, rel_a)},
                    coords={"voltage": V, "wavelength": lam,
                            "holdout_doping": ("holdout_point", [p[0] for p in points]),
                            "holdout_junction": ("holdout_point", [p[1] for p in points])})
    summary = {"holdout_max_rel_dneff_error": float(rel_dn.max()), "holdout_max_rel_alpha_error": float(rel_a.max()),
               "holdout_max_abs_dneff_error": float(np.abs(err[..., 0]).max()),
               "holdout_max_abs_alpha_error_per_m": float(np.abs(err[..., 1]).max()),
               "holdout_max_phase_error_rad_per_mm": float(phase.max()),
               "holdout_offset_effect_rel_dneff": float(offset_effect_dn.max()),
               "holdout_offset_effect_rel_alpha": float(offset_effect_a.max()), "tolerance": HOLDOUT_TOLERANCE}
    return ds, summary


def fit(sweep: PNShifterSweepSpec, data: dict[tuple[str, float, float], xr.Dataset],
        provenance: dict[str, Any] | None = None) -> PNShifterModel:
    """Tabulate the fit runs and measure the held-out accuracy (pure: entry datasets in, model out)."""
    model = tabulate(sweep, data)
    points = [(float(a), float(b)) for a, b in sweep.holdout]
    ds = model.dataset
    summary: dict[str, float] = {}
    if points:
        acc, summary = accuracy(model, data, points)
        ds = xr.merge([ds, acc])
    ds.attrs.update(sweep_spec=sweep.canonical_json(), description=__doc__.split("\n\n")[0],
                    accuracy=json.dumps(summary), model=MODEL_FORM,
                    **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in (provenance or {}).items()})
    return PNShifterModel(model.doping, model.junction, model.voltage, model.wavelength, model.table, ds)


MODEL_FORM = ("quadratic Lagrange in (dN, dx_j) through the 3x3 nodes at each simulated (V, lambda); polynomial of "
              "degree min(2, n_lambda - 1) in lambda (least squares), PCHIP in V on its coefficients")


def model_path(cache: Any, sweep: PNShifterSweepSpec | None = None, solver: Any = None) -> Path:
    """Where the model of (sweep, solver) is stored in ``cache`` (anything with ``root`` and
    ``key``): ``<root>/compact_models/pn_phase_shifter_model-<hash>.nc``
    (:func:`devices.offset_model.model_hash`, form: the quantities and :data:`MODEL_FORM`)."""
    from devices.offset_model import model_hash

    sweep, solver = sweep or default_sweep(), solver or default_solver()
    keys = [cache.key(sweep.device(a, b), solver) for _, a, b in sweep.runs()]
    return model_hash("pn_phase_shifter_model", sweep, solver, keys, cache, form=(QUANTITIES, MODEL_FORM))


# -- public compact model ----------------------------------------------------------------------
DB_PER_NEPER = 10 * np.log10(np.e)


def index_change(*, voltage: Any = -2.0, wavelength: Any = 1.55, doping_offset: Any = 0.0,
                 junction_offset: Any = 0.0, model: PNShifterModel) -> tuple[np.ndarray, np.ndarray]:
    """(Δn_eff vs 0 V [1], free-carrier mode power absorption α [1/m]) of the library PN shifter
    at ``voltage`` [V] (≤ 0), ``wavelength`` [µm], relative dose offset ``doping_offset`` and
    junction offset ``junction_offset`` [µm] (numpy-broadcast)."""
    return model.evaluate(voltage, wavelength, doping_offset, junction_offset)


def phase_shift(*, voltage: Any = -2.0, wavelength: Any = 1.55, doping_offset: Any = 0.0, junction_offset: Any = 0.0,
                length: Any = 1000.0, model: PNShifterModel) -> np.ndarray:
    """Phase change vs 0 V, 2π Δn_eff L/λ [rad], over ``length`` [µm] (numpy-broadcast)."""
    dn, _ = model.evaluate(voltage, wavelength, doping_offset, junction_offset)
    return 2 * np.pi * dn * np.asarray(length, dtype=float) / np.asarray(wavelength, dtype=float)


def loss_db_per_cm(*, voltage: Any = -2.0, wavelength: Any = 1.55, doping_offset: Any = 0.0,
                   junction_offset: Any = 0.0, model: PNShifterModel) -> np.ndarray:
    """Free-carrier loss [dB/cm] (without the undoped propagation loss; numpy-broadcast)."""
    return DB_PER_NEPER * model.evaluate(voltage, wavelength, doping_offset, junction_offset)[1] / 100.0


def pn_phase_shifter(*, wavelength: Any = 1.55, voltage: float = -2.0, doping_offset: float = 0.0,
                     junction_offset: float = 0.0, length: float = 1000.0, propagation_loss: float = 2.0,
                     model: PNShifterModel) -> xr.DataArray:
    """2-port S-matrix (wavelength, port_out, port_in) of the shifter at one bias and offset:
    S21 = S12 = 10^(−IL/20) exp(i 2π (n_eff + Δn_eff(V)) L/λ), IL = (free-carrier loss +
    ``propagation_loss`` [dB/cm]) × ``length`` [µm] — the form of the library entry's S;
    no reflections.  ``wavelength`` [µm] 1-D, ``voltage`` [V] ≤ 0, offsets as in :func:`index_change`."""
    from pipeline.smatrix import make_smatrix

    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    if lam.ndim != 1:
        raise SpecError(f"wavelength must be a scalar or 1D array [um], got shape {lam.shape}.")
    if not (np.isfinite(propagation_loss) and propagation_loss >= 0):
        raise SpecError(f"propagation_loss = {propagation_loss!r} dB/cm: need a finite value >= 0.")
    dn, alpha = model.evaluate(float(voltage), lam, float(doping_offset), float(junction_offset))
    il_db = (DB_PER_NEPER * alpha / 100.0 + propagation_loss) * length * 1e-4
    t = 10 ** (-il_db / 20) * np.exp(2j * np.pi * (model.neff_at(lam) + dn) * length / lam)
    s = np.zeros((lam.size, 2, 2), complex)
    s[:, 1, 0] = s[:, 0, 1] = t
    return make_smatrix(s, lam, ["o1", "o2"], provenance={
        "model": "devices.pn_phase_shifter_model", "voltage_V": float(voltage), "doping_offset": float(doping_offset),
        "junction_offset_um": float(junction_offset), "length_um": float(length),
        "accuracy": json.loads(model.dataset.attrs.get("accuracy", "{}"))})


def vpi_l(*, voltage: Any = -2.0, wavelength: Any = 1.55, doping_offset: Any = 0.0, junction_offset: Any = 0.0,
          model: PNShifterModel) -> np.ndarray:
    """V_πL = |V| λ / (2 |Δn_eff(V)|) [V·cm] at ``voltage`` [V] < 0 (numpy-broadcast)."""
    v = np.asarray(voltage, dtype=float)
    if np.any(v >= 0):
        raise SpecError(f"voltage = {voltage!r}: V_pi L needs a reverse bias < 0 V. Fix: e.g. voltage=-2.0.")
    dn, _ = model.evaluate(v, wavelength, doping_offset, junction_offset)
    return np.abs(v) * np.asarray(wavelength, dtype=float) / (2 * np.abs(dn)) * 1e-4

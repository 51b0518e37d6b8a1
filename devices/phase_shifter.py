"""Thermo-optic phase shifter: TiN heater over a Si strip in SiO2, BOX on a Si substrate.

Co-simulation of the cross-section (x lateral, z = y_thermal vertical, origin at the
core bottom = BOX top): a steady heat solve (:mod:`pipeline.thermal`, isothermal sink at
the substrate bottom, convection at the top, adiabatic sides) gives ΔT per heater power
per length P' = P/L; the first-order thermo-optic kernel of the TE0 mode
(:mod:`pipeline.thermo_optic`) gives Δn_eff, hence Δφ = 2π Δn_eff L/λ = (2π/λ)(dn_eff/dP') P
(independent of L in this 2D model), P_π = λ / (2 dn_eff/dP'), and the crosstalk (phase
in a waveguide at distance d / phase of the driven one).

Material constants: k(Si) = 148 W/(m·K) at 300 K (Glassbrenner & Slack, Phys. Rev. 134,
A1058 (1964)); k(SiO2) = 1.38 W/(m·K) (fused silica at 300 K, Touloukian et al.,
Thermophysical Properties of Matter vol. 2 (1970)); k(TiN) = 28 W/(m·K) (project
DESIGN.md value for thin TiN films; the heater's k barely matters: it is 0.12 µm thick).
dn/dT and n(λ) from :mod:`pipeline.materials` (Li 1980, Malitson 1965, Cocorullo 1992).
Air convection h = 10 W/(m²·K) (natural convection, 2–25 W/(m²·K): Incropera, Fundamentals
of Heat and Mass Transfer, Table 1.1) removes < 0.1 % of the heat.

Substrate: a 2D cross-section is valid while heat spreads less than the heater length;
deeper in the substrate the spreading is 3D and the wafer acts as a sink.  The simulated
substrate is therefore cut (isothermal bottom) at ``substrate_thickness`` (default 100 µm
≈ the default heater length).  P_π depends on it only weakly (Si conducts 100× better
than SiO2), far-pitch crosstalk strongly (benchmarks/results/phase_shifter.txt).

Reference: standard TiN/metal heaters ~2 µm above a 500×220 nm strip need P_π ≈ 20–30 mW
(e.g. N. C. Harris et al., Opt. Express 22, 10487 (2014): P_π ≈ 24 mW); the check range
is 15–40 mW.  Not modelled: T-dependence of k and dn/dT (2nd order), trenches, optical
leakage to the substrate (2 µm BOX), heater series resistance and its electrical model.

Pure: :func:`build` (heat problems, wavelengths, mode options) and :func:`extract` (the
entry from the solver results); the solver calls and the cache are in
:mod:`pipeline.simulate.heater_cosim` (reached through :func:`pipeline.simulate.simulate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr
from pydantic import model_validator

from pipeline.errors import ExtrapolationError, SpecError
from pipeline.smatrix import make_smatrix, summary_checks
from pipeline.specs import DeviceSpec, WavelengthBand, quantity
from pipeline.thermo_optic import ThermoOpticSolverSpec

#: Heater absorption is a loss: |S21| < 1.
LOSSLESS = False
#: Simulated by the thermal + mode-solver co-simulation, not FDTD.
DEFAULT_SOLVER = "thermo_optic"
#: Literature range of P_π for this geometry [W] (see module doc).
P_PI_RANGE_W = (0.015, 0.040)
#: Generous ceiling on Im ε of TiN at 1.55 µm (a Drude metal with ε₂ of order tens, e.g.
#: P. Patsalas et al., Materials 8, 3128 (2015)): the stored heater loss is an upper bound.
HEATER_EPS_IMAG_CEILING = 1e3
#: Heater powers of the stored sweep, in units of P_π at the band centre.
POWER_FRACTIONS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


class PhaseShifterSpec(DeviceSpec):
    """TiN heater above a Si strip waveguide (no trenches)."""

    device: ClassVar[str] = "phase_shifter"
    core_width: float = quantity(0.5, "um", "Si core width", gt=0.1, le=3.0)
    core_thickness: float = quantity(0.22, "um", "Si core thickness", gt=0.05, le=1.0)
    box_thickness: float = quantity(2.0, "um", "buried oxide between substrate and core", gt=0.5, le=10.0)
    substrate_thickness: float = quantity(100.0, "um", "Si substrate simulated down to the isothermal heat sink",
                                          gt=1.0, le=1000.0)
    heater_width: float = quantity(2.0, "um", "TiN heater width", gt=0.1, le=20.0)
    heater_thickness: float = quantity(0.12, "um", "TiN heater thickness", gt=0.01, le=2.0)
    heater_height: float = quantity(2.0, "um", "oxide between core top and heater bottom", gt=0.3, le=10.0)
    top_oxide: float = quantity(1.0, "um", "oxide above the heater (top surface: convection to air)", gt=0.0, le=20.0)
    heater_length: float = quantity(100.0, "um", "heater (and phase-shifter) length", gt=1.0, le=10000.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=3), "um",
                                    "wavelengths simulated (P_π quoted at the band centre)")
    k_si: float = quantity(148.0, "W/(m K)", "thermal conductivity of Si (core, substrate)", gt=0)
    k_sio2: float = quantity(1.38, "W/(m K)", "thermal conductivity of SiO2 (BOX, cladding)", gt=0)
    k_heater: float = quantity(28.0, "W/(m K)", "thermal conductivity of the TiN heater", gt=0)
    h_top: float = quantity(10.0, "W/(m^2 K)", "convective coefficient of the top surface", ge=0)
    ambient_temperature: float = quantity(300.0, "K", "heat-sink / air temperature", gt=200, lt=500)
    propagation_loss: float = quantity(2.0, "dB/cm", "waveguide propagation loss (user parameter)", ge=0)
    pitch: float = quantity(20.0, "um", "centre-to-centre pitch of neighbouring heaters", gt=0.5, le=500.0)
    neighbours: int = quantity(3, "1", "neighbours on each side in the crosstalk row (2n+1 heaters)", ge=1, le=8)

    @model_validator(mode="after")
    def _row_fits(self) -> "PhaseShifterSpec":
        widest = max(self.heater_width, self.core_width)
        if self.pitch <= widest:
            raise ValueError(f"pitch = {self.pitch} um: neighbouring heaters ({self.heater_width} um wide) and cores "
                             f"({self.core_width} um) would touch or overlap. Fix: set pitch > {widest:g} um.")
        return self


Spec = PhaseShifterSpec


def _layers(spec: PhaseShifterSpec) -> dict[str, float]:
    """Vertical positions [µm] (z = 0 at the BOX top)."""
    z_h = spec.core_thickness + spec.heater_height
    return {"sink": -spec.box_thickness - spec.substrate_thickness, "box": -spec.box_thickness,
            "heater_bottom": z_h, "heater_top": z_h + spec.heater_thickness,
            "top": z_h + spec.heater_thickness + spec.top_oxide}


def thermal_problem(spec: PhaseShifterSpec, solver: ThermoOpticSolverSpec, *, centres: tuple[float, ...] = (0.0,),
                    powered: int = 0, power_per_length: float = 1.0, max_cell: float | None = None):
    """Heat problem of a row of waveguides + heaters at ``centres`` [µm]; heater ``powered``
    dissipates ``power_per_length`` [W/m]."""
    from pipeline.thermal import Rect, ThermalProblem

    z = _layers(spec)
    x0, x1 = min(centres) - solver.lateral_extent, max(centres) + solver.lateral_extent
    hw, cw = spec.heater_width / 2, spec.core_width / 2
    rects = [Rect(name="substrate", x0=x0, x1=x1, y0=z["sink"], y1=z["box"], conductivity=spec.k_si)]
    for i, c in enumerate(centres):
        rects.append(Rect(name=f"core_{i}", x0=c - cw, x1=c + cw, y0=0.0, y1=spec.core_thickness,
                          conductivity=spec.k_si))
        rects.append(Rect(name=f"heater_{i}", x0=c - hw, x1=c + hw, y0=z["heater_bottom"], y1=z["heater_top"],
                          conductivity=spec.k_heater, power_per_length=power_per_length if i == powered else 0.0))
    return ThermalProblem(x_min=x0, x_max=x1, y_min=z["sink"], y_max=z["top"], background_conductivity=spec.k_sio2,
                          rects=tuple(rects), ambient_K=spec.ambient_temperature, h_top=spec.h_top,
                          max_cell=max_cell or solver.thermal_max_cell, growth=solver.thermal_growth)


def cross_section(spec: PhaseShifterSpec):
    """The optical cross-section: the Si strip in SiO2 (:func:`pipeline.modes.strip`)."""
    from pipeline.modes import strip

    return strip(spec.core_width, spec.core_thickness)


# -- build → run → extract -----------------------------------------------------------------
# ``build`` and ``extract`` are pure; the solver calls between them (heat solves, mode solves,
# the heated re-solve) are made by :mod:`pipeline.simulate.heater_cosim`, which also writes
# the entry through the cache.
@dataclass(frozen=True)
class CoSimPlan:
    """What the co-simulation solves, from the spec and solver alone (pure data)."""

    cross_section: Any  # pipeline.modes cross-section (Si strip in SiO2)
    wavelengths: np.ndarray  # µm
    centre: int  # index of the band centre in ``wavelengths``
    mode_options: dict[str, Any]  # keyword arguments of every mode solve (temperature_K: ambient)
    isolated: Any  # ThermalProblem: one heater dissipating 1 W/m
    row: tuple[Any, ...]  # ThermalProblems: the row at the spec pitch, heater j = 0..n powered
    centres: tuple[float, ...]  # heater x positions of the row [µm]
    distances: np.ndarray  # µm, where the isolated heater's crosstalk is sampled


@dataclass(frozen=True)
class CoSimRun:
    """The solver results :func:`extract` turns into the entry (made by the runner)."""

    heat: Any  # ThermalSolution of ``plan.isolated`` (ΔT per 1 W/m)
    kernels: tuple[Any, ...]  # thermo-optic kernel of the TE0 mode per wavelength
    ng_dispersive: tuple[float, ...]  # group index (material dispersion) per wavelength
    powers: np.ndarray  # W, heater powers of the stored sweep (:func:`sweep_powers`)
    resolved: dict[str, Any]  # pipeline.thermo_optic.resolve_heated at the centre, powers[1:]
    neff_hot: float  # TE0 n_eff at ambient + 5 K (uniform), band centre
    neff_cold: float  # ... at ambient − 5 K
    row_heat: tuple[Any, ...]  # ThermalSolutions of ``plan.row``


#: Uniform temperature step [K] of the independent dn_eff/dT check: TE0 re-solved at ambient ± this
#: (the step the shipped entry was computed with).
UNIFORM_STEP_K = 5.0


def build(spec: PhaseShifterSpec, solver: ThermoOpticSolverSpec) -> CoSimPlan:
    """The heat problems, wavelengths and mode-solve options of the co-simulation."""
    lams = np.asarray(spec.band.wavelengths())
    mode_options = dict(num_modes=1, solver=solver.mode_solver, resolution=solver.mode_resolution,
                        margin=(solver.mode_margin, solver.mode_margin), temperature_K=spec.ambient_temperature)
    dist = np.unique(np.round(np.concatenate([np.geomspace(1.0, 0.4 * solver.lateral_extent, 41),
                                              spec.pitch * np.arange(1, spec.neighbours + 1)]), 6))
    n, N = spec.neighbours, 2 * spec.neighbours + 1
    centres = tuple(float((i - n) * spec.pitch) for i in range(N))
    row = tuple(thermal_problem(spec, solver, centres=centres, powered=j, max_cell=max(solver.thermal_max_cell, 0.1))
                for j in range(n + 1))
    return CoSimPlan(cross_section(spec), lams, int(np.argmin(np.abs(lams - spec.band.center))), mode_options,
                     thermal_problem(spec, solver), row, centres, dist)


def first_order(plan: CoSimPlan, heat: Any, kernels: tuple[Any, ...]) -> dict[str, np.ndarray]:
    """``dneff_dpl`` [m/W] (per power per length), ``dphase_dpower`` [rad/W] and ``p_pi`` [W] per
    wavelength, from the isolated heater's ΔT and the kernels (first order)."""
    from pipeline.thermo_optic import sample

    dneff_dpl = np.array([float(k.dneff(sample(heat.interpolate, k.x, k.z)[0])) for k in kernels])
    dphase_dpower = 2 * np.pi / (plan.wavelengths * 1e-6) * dneff_dpl
    return {"dneff_dpl": dneff_dpl, "dphase_dpower": dphase_dpower, "p_pi": np.pi / dphase_dpower}


def sweep_powers(plan: CoSimPlan, heat: Any, kernels: tuple[Any, ...]) -> np.ndarray:
    """Heater powers [W] of the stored sweep: :data:`POWER_FRACTIONS` × P_π at the band centre."""
    return first_order(plan, heat, kernels)["p_pi"][plan.centre] * np.asarray(POWER_FRACTIONS)


def extract(spec: PhaseShifterSpec, solver: ThermoOpticSolverSpec, plan: CoSimPlan, run: CoSimRun
            ) -> tuple[xr.Dataset, dict, dict]:
    """The entry's (dataset, provenance, checks) from the solver results (pure)."""
    from pipeline.thermo_optic import sample

    cs, T, lams, ic = plan.cross_section, spec.ambient_temperature, plan.wavelengths, plan.centre
    sol, kernels, dist, centres = run.heat, run.kernels, plan.distances, plan.centres
    kc = kernels[ic]
    fo = first_order(plan, sol, kernels)
    dneff_dpl, dphase_dpower, p_pi = fo["dneff_dpl"], fo["dphase_dpower"], fo["p_pi"]
    lam_m = lams * 1e-6
    # independent paths at the centre wavelength
    L_m = spec.heater_length * 1e-6
    powers, res = run.powers, run.resolved
    phase_resolved = np.concatenate([[0.0], 2 * np.pi / lam_m[ic] * res["dneff"] * L_m])
    dneff_dT_resolved = float(run.neff_hot - run.neff_cold) / (2 * UNIFORM_STEP_K)
    # crosstalk vs distance (isolated heater) and the row matrix at the spec pitch
    xt_curve = kc.dneff(sample(sol.interpolate, kc.x, kc.z, dist)) / dneff_dpl[ic]
    n, N = spec.neighbours, 2 * spec.neighbours + 1
    matrix = np.zeros((N, N))
    flux_row = []
    for j, row_sol in enumerate(run.row_heat):
        flux_row.append(row_sol.flux_balance)
        dn = kc.dneff(sample(row_sol.interpolate, kc.x, kc.z, centres))
        matrix[:, j] = dn / dn[j]
        matrix[::-1, N - 1 - j] = matrix[:, j]
    # loss: propagation + heater absorption bound (first order, Im ε ceiling)
    n_clad = float(cs.cladding.index(lams[ic], T))
    gamma_heater = kc.energy_fraction_above(_layers(spec)["heater_bottom"], n_clad)
    alpha_heater = 2 * np.pi / lams[ic] * kc.ng * HEATER_EPS_IMAG_CEILING * gamma_heater  # 1/µm (power)
    heater_db_per_cm = 10 * np.log10(np.e) * alpha_heater * 1e4
    il_db = (spec.propagation_loss + heater_db_per_cm) * spec.heater_length * 1e-4
    neff = np.array([k.neff for k in kernels])
    phase = 2 * np.pi * neff[None, :] * spec.heater_length / lams[None, :] + dphase_dpower[None, :] * powers[:, None]
    s = np.zeros((powers.size, lams.size, 2, 2), complex)
    s[..., 1, 0] = s[..., 0, 1] = 10 ** (-il_db / 20) * np.exp(1j * phase)
    S = make_smatrix(s, lams, ["o1", "o2"], sweep={"power": powers},
                     reference_planes={"o1": (-spec.heater_length / 2, 0.0), "o2": (spec.heater_length / 2, 0.0)},
                     provenance={"model": "thermal FEM + first-order thermo-optic kernel"})
    ds = xr.Dataset(
        {"S": S,
         "neff": ("wavelength", neff, {"units": "1"}),
         "ng": ("wavelength", np.array(run.ng_dispersive), {"units": "1", "long_name": "group index (dispersive)"}),
         "ng_frozen": ("wavelength", np.array([k.ng for k in kernels]), {"units": "1"}),
         "dneff_dpower_per_length": ("wavelength", dneff_dpl, {"units": "m/W"}),
         "dphase_dpower": ("wavelength", dphase_dpower, {"units": "rad/W"}),
         "p_pi": ("wavelength", p_pi, {"units": "W"}),
         "phase_first_order": ("power", dphase_dpower[ic] * powers, {"units": "rad"}),
         "phase_resolved": ("power", phase_resolved, {"units": "rad", "long_name": "Tidy3D heated re-solve"}),
         "crosstalk": ("distance", xt_curve, {"units": "1", "long_name": "phase at distance / phase driven"}),
         "crosstalk_matrix": (("heater_out", "heater_in"), matrix, {"units": "1"}),
         "delta_T_core_per_power": ((), sol.mean_over(-spec.core_width / 2, spec.core_width / 2, 0.0,
                                                      spec.core_thickness), {"units": "K m/W"}),
         "dneff_dT_first_order": ((), kc.dneff_dT_uniform, {"units": "1/K"}),
         "dneff_dT_resolved": ((), dneff_dT_resolved, {"units": "1/K"}),
         "heater_energy_fraction": ((), gamma_heater, {"units": "1"}),
         "heater_loss": ((), heater_db_per_cm, {"units": "dB/cm", "long_name": "upper bound"}),
         "insertion_loss": ((), il_db, {"units": "dB"}),
         "heater_length": ((), spec.heater_length, {"units": "um"}),
         "flux_balance": ((), sol.flux_balance, {"units": "1"}),
         "flux_sink": ((), sol.flux_sink, {"units": "W/m"}), "flux_top": ((), sol.flux_top, {"units": "W/m"}),
         "power_in": ((), sol.power_in, {"units": "W/m"})},
        coords={"distance": dist, "heater_out": np.arange(N), "heater_in": np.arange(N),
                "heater_x": ("heater_in", np.asarray(centres))},
    )
    ds["power"].attrs["units"] = "W"
    ds["distance"].attrs["units"] = "um"
    i_p = POWER_FRACTIONS.index(1.0)
    lin = phase_resolved[1:] / powers[1:]
    checks = {**summary_checks(S),
              "flux_balance": float(sol.flux_balance), "flux_balance_row_max": float(np.max(np.abs(flux_row))),
              "first_order_vs_resolve": float(dphase_dpower[ic] * powers[i_p] / phase_resolved[i_p] - 1),
              "uniform_dT_first_order_vs_resolve": float(kc.dneff_dT_uniform / dneff_dT_resolved - 1),
              "linearity_error": float(np.max(np.abs(lin / lin[0] - 1))),
              "crosstalk_monotonic": bool(np.all(np.diff(xt_curve) < 0)),
              "crosstalk_row_vs_pair": float(matrix[n + 1, n] / xt_curve[np.argmin(np.abs(dist - spec.pitch))] - 1),
              "p_pi_mw": float(p_pi[ic] * 1e3),
              "p_pi_in_literature_range": bool(P_PI_RANGE_W[0] <= p_pi[ic] <= P_PI_RANGE_W[1])}
    checks["passed"] = bool(abs(checks["flux_balance"]) < 1e-3 and abs(checks["first_order_vs_resolve"]) < 0.05
                            and abs(checks["uniform_dT_first_order_vs_resolve"]) < 0.05 and checks["crosstalk_monotonic"]
                            and checks["max_singular_value"] <= 1 + 1e-12)
    prov = {"mode_solver": solver.mode_solver, "thermal_nodes": int(sol.x_um.size),
            "check_grid_points": list(res["grid_points"])}
    return ds, prov, checks


def figures_of_merit(entry: Any, **_: Any) -> dict[str, float]:
    """``p_pi_mw`` (band centre), ``insertion_loss_db``, ``crosstalk`` (fractional phase at
    the nearest neighbour of the centre heater of the row at the spec pitch)."""
    ds, spec = entry.data, entry.device_spec
    n = spec.neighbours
    p = ds["p_pi"].sel(wavelength=spec.band.center, method="nearest")
    return {"p_pi_mw": float(p) * 1e3, "insertion_loss_db": float(ds["insertion_loss"]),
            "crosstalk": float(ds["crosstalk_matrix"].isel(heater_out=n + 1, heater_in=n))}


# -- compact model -----------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseShifterModel:
    """Parameters of the compact model, read from a cache entry (no other numbers)."""

    wavelength: np.ndarray  # µm
    dphase_dpower: np.ndarray  # rad/W per wavelength
    neff: np.ndarray  # per wavelength
    length: float  # µm
    insertion_loss_db: float
    distance: np.ndarray  # µm
    crosstalk: np.ndarray  # per distance

    @classmethod
    def from_entry(cls, entry: Any) -> "PhaseShifterModel":
        """From a CacheEntry or its Dataset."""
        ds = entry.data if hasattr(entry, "data") else entry
        return cls(np.asarray(ds.wavelength), np.asarray(ds.dphase_dpower), np.asarray(ds.neff),
                   float(ds.heater_length), float(ds.insertion_loss), np.asarray(ds.distance),
                   np.asarray(ds.crosstalk))

    def _in_band(self, lam: np.ndarray) -> None:
        lo, hi = self.wavelength.min(), self.wavelength.max()
        if np.any((lam < lo - 1e-9) | (lam > hi + 1e-9)):
            raise ExtrapolationError(f"wavelength outside the simulated band {lo}-{hi} um. "
                                     "Fix: simulate a wider PhaseShifterSpec.band.")

    def _poly(self, values: np.ndarray, lam: np.ndarray) -> np.ndarray:
        deg = min(2, self.wavelength.size - 1)
        return np.polyval(np.polyfit(self.wavelength, values, deg), lam) if deg else np.full(lam.shape, values[0])


def phase(*, wavelength: Any = 1.55, power_w: Any = 0.0, model: PhaseShifterModel) -> np.ndarray:
    """Thermo-optic phase [rad] at heater power(s) ``power_w`` [W] and wavelength(s) [µm]
    (broadcast; linear in P as the simulated response, quadratic in λ across the band)."""
    m = model
    lam = np.asarray(wavelength, dtype=float)
    m._in_band(lam)
    return np.asarray(power_w, dtype=float) * m._poly(m.dphase_dpower, lam)


def phase_shifter(*, wavelength: Any = 1.55, power_w: Any = 0.0, model: PhaseShifterModel,
                  loss_db: float | None = None) -> xr.DataArray:
    """2-port S-matrix (sweep ``power``, wavelength, port_out, port_in), ports o1/o2:
    S21 = S12 = 10^(−IL/20) exp(i(2π n_eff L/λ + dφ/dP · P)).  ``loss_db`` overrides the
    stored insertion loss [dB]."""
    m = model
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    p = np.atleast_1d(np.asarray(power_w, dtype=float))
    m._in_band(lam)
    ph = 2 * np.pi * m._poly(m.neff, lam) * m.length / lam + p[:, None] * m._poly(m.dphase_dpower, lam)[None, :]
    il = m.insertion_loss_db if loss_db is None else float(loss_db)
    s = np.zeros((p.size, lam.size, 2, 2), complex)
    s[..., 1, 0] = s[..., 0, 1] = 10 ** (-il / 20) * np.exp(1j * ph)
    return make_smatrix(s, lam, ["o1", "o2"], sweep={"power": p})


def crosstalk_matrix(n: int, pitch_um: float, *, model: PhaseShifterModel) -> np.ndarray:
    """(n, n) matrix: phase in waveguide i per phase of driven heater j (1 on the diagonal),
    log-interpolated from the simulated crosstalk vs distance (superposition of one heater)."""
    m = model
    if int(n) != n or n < 1 or not pitch_um > 0:
        raise SpecError(f"n = {n!r}, pitch_um = {pitch_um!r}: need an integer n >= 1 and pitch_um > 0.")
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) * float(pitch_um)
    off = d[d > 0]
    if off.size and (off.min() < m.distance.min() or off.max() > m.distance.max()):
        raise ExtrapolationError(f"distances {off.min():g}-{off.max():g} um outside the simulated "
                                 f"{m.distance.min():g}-{m.distance.max():g} um. Fix: raise lateral_extent.")
    out = np.ones_like(d)
    out[d > 0] = np.exp(np.interp(off, m.distance, np.log(np.clip(m.crosstalk, 1e-300, None))))
    return out

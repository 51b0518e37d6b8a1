"""Carrier-depletion phase shifter: lateral PN junction in a Si rib waveguide (SiO2 clad).

Cross-section (x lateral, rib centred at x = 0; z = 0 at the BOX top): rib ``rib_width`` ×
``rib_height`` on a ``slab_thickness`` slab that runs ``contact_distance`` beyond each rib edge
to the p++ / n++ regions (``contact_width`` wide, ohmic contact at the slab end).  p for
x < ``junction_offset``, n above.  Co-simulation:

1. carriers n(x, z), p(x, z) at each bias from :mod:`pipeline.charge` (nonlinear Poisson,
   flat quasi-Fermi levels; checked against the abrupt-junction closed forms);
2. Δn, Δα of silicon from the carriers (:mod:`pipeline.free_carrier`, Nedeljkovic 2011);
3. first order on the MPB TE0 mode of the frozen rib (``CrossSection.at(λ)``):
   Δn_eff = n_g Σ f_Si n_Si Δn |E|² dA / Σ n² |E|² dA and α_mode = n_g Σ f_Si n_Si Δα |E|² dA /
   Σ n² |E|² dA (same kernel as :mod:`pipeline.thermo_optic`, f_Si the pixel's Si fraction);
   cross-checked by re-solving the mode on the perturbed index map (Tidy3D CustomMedium,
   :func:`pipeline.thermo_optic.resolve_heated` with the index change as its field).

Outputs vs applied voltage V (≤ 0: reverse bias) and wavelength: Δφ = 2π (Δn_eff(V) −
Δn_eff(0)) L/λ, free-carrier loss, V_πL = |V| λ / (2 |ΔΔn_eff|) at ``vpi_bias``, and the
junction capacitance per length C' = dQ/dV_R of the simulated n-side charge, beside the
depletion formula C' = ε_Si h / W with h = rib_height (the junction plane spans the rib; the
oxide's fringe field is neglected, as in the Poisson model).

Design choices (defaults): 500 × 220 nm rib on a 90 nm slab (the common foundry rib, e.g.
Chrostowski & Hochberg, Silicon Photonics Design, 2015, ch. 6); N_A = N_D = 5e17 cm⁻³ (the
doping the issue targets; symmetric so the closed forms apply unchanged; holes give more Δn per
carrier, an offset junction is available); p++/n++ 1e20 cm⁻³ at 1.0 µm from the rib edges
(keeps their absorption in the mode tail small; a typical foundry spacing); no junction offset.
Reference for V_πL: 1.5–3 V·cm at −2 V for ~5e17 cm⁻³ lateral junctions (range of the issue;
published 2D-simulated/measured lateral shifters, e.g. Reed et al., Nat. Photon. 4, 518 (2010)
review of depletion modulators) — the check range.  Not modelled: forward bias, series
resistance / RF, the intermediate p+/n+ steps, carrier-dependent loss beyond the Nedeljkovic
fits, oxide fringe capacitance.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import xarray as xr
from pydantic import model_validator

from pipeline.errors import ExtrapolationError, SpecError
from pipeline.smatrix import make_smatrix, summary_checks
from pipeline.specs import DeviceSpec, SolverSpec, WavelengthBand, quantity

LOSSLESS = False
DEFAULT_SOLVER = "pn_depletion"
#: V_πL check range [V·cm] at −2 V for ~5e17 cm⁻³ lateral junctions (module doc).
VPIL_RANGE_V_CM = (1.5, 3.0)
DB_PER_NEPER = 10 * np.log10(np.e)


class PNPhaseShifterSpec(DeviceSpec):
    """Lateral PN-junction (carrier-depletion) phase shifter in a Si rib."""

    device: ClassVar[str] = "pn_phase_shifter"
    rib_width: float = quantity(0.5, "um", "rib width", gt=0.2, le=2.0)
    rib_height: float = quantity(0.22, "um", "rib height (Si device layer)", gt=0.1, le=1.0)
    slab_thickness: float = quantity(0.09, "um", "slab thickness beside the rib", gt=0.02, le=1.0)
    p_doping: float = quantity(5e17, "cm^-3", "acceptors of the p side", ge=1e15, le=1e19)
    n_doping: float = quantity(5e17, "cm^-3", "donors of the n side", ge=1e15, le=1e19)
    junction_offset: float = quantity(0.0, "um", "junction x from the rib centre (> 0: toward the n side)")
    contact_doping_p: float = quantity(1e20, "cm^-3", "acceptors of the p++ contact region", ge=1e18, le=1e21)
    contact_doping_n: float = quantity(1e20, "cm^-3", "donors of the n++ contact region", ge=1e18, le=1e21)
    contact_distance: float = quantity(1.0, "um", "rib edge to the p++ / n++ edge", gt=0.1, le=5.0)
    contact_width: float = quantity(1.0, "um", "p++ / n++ width up to the ohmic contact", gt=0.1, le=5.0)
    length: float = quantity(1000.0, "um", "phase-shifter length", gt=1.0, le=1e5)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=3), "um", "wavelengths simulated")
    bias_voltages: tuple[float, ...] = quantity((0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0), "V",
                                                "applied voltages (<= 0: reverse bias), 0 V first")
    vpi_bias: float = quantity(-2.0, "V", "voltage at which V_pi L is quoted (one of bias_voltages)")
    propagation_loss: float = quantity(2.0, "dB/cm", "undoped rib propagation loss (user parameter)", ge=0)
    temperature: float = quantity(300.0, "K", "temperature of V_t = kT/q and the Si index (n_i kept at 300 K)",
                                  gt=200, lt=500)

    @model_validator(mode="after")
    def _consistent(self) -> "PNPhaseShifterSpec":
        v = self.bias_voltages
        if not v or v[0] != 0.0 or any(b >= a for a, b in zip(v[:-1], v[1:])):
            raise ValueError(f"bias_voltages = {v} V: need 0 V first, then strictly decreasing reverse biases "
                             "(forward bias is not modelled). Fix: e.g. (0, -1, -2, -3).")
        if self.vpi_bias not in v or self.vpi_bias == 0.0:
            raise ValueError(f"vpi_bias = {self.vpi_bias} V must be a non-zero entry of bias_voltages {v}.")
        if self.slab_thickness >= self.rib_height:
            raise ValueError(f"slab_thickness = {self.slab_thickness} um >= rib_height = {self.rib_height} um: "
                             "not a rib. Fix: slab_thickness < rib_height.")
        if abs(self.junction_offset) >= self.rib_width / 2:
            raise ValueError(f"junction_offset = {self.junction_offset} um puts the junction outside the rib "
                             f"(half-width {self.rib_width / 2} um). Fix: |junction_offset| < rib_width/2.")
        return self

    @property
    def half_span(self) -> float:
        """x of the ohmic contacts (slab ends) [µm]."""
        return self.rib_width / 2 + self.contact_distance + self.contact_width


Spec = PNPhaseShifterSpec


class PNSolverSpec(SolverSpec):
    """Settings of the Poisson (scikit-fem) + mode (MPB; Tidy3D re-solve check) co-simulation."""

    solver: ClassVar[str] = "pn_depletion"
    numerics_versions: ClassVar[dict[str, int]] = {"skfem-poisson": 1, "mpb-modes": 1, "tidy3d-modes": 1}
    version_packages: ClassVar[tuple[str, ...]] = ("scikit-fem", "meep", "tidy3d", "numpy", "scipy")
    fine_cell: float = quantity(0.002, "um", "Poisson mesh in the junction window", gt=0, le=0.05)
    max_cell: float = quantity(0.04, "um", "largest lateral Poisson cell", gt=0, le=0.5)
    vertical_cell: float = quantity(0.02, "um", "largest vertical Poisson cell", gt=0, le=0.2)
    mode_solver: Literal["mpb", "tidy3d"] = quantity("mpb", "1", "mode solver of the first-order path")
    mode_resolution: float = quantity(48.0, "1/um", "mode-solver resolution (px/um)", ge=8, le=256)
    mode_margin: float = quantity(1.0, "um", "oxide around the silicon in the mode window", gt=0.3, le=4)
    check_resolution: float = quantity(40.0, "1/um", "Tidy3D resolution of the perturbed re-solve", ge=8, le=256)
    carrier_grid: float = quantity(0.01, "um", "spacing of the stored n(x, z), p(x, z) grid", gt=0.001, le=0.1)


def junction_problem(spec: PNPhaseShifterSpec, solver: PNSolverSpec):
    """The :class:`~pipeline.charge.JunctionProblem` of ``spec`` (reverse biases −V)."""
    from pipeline.charge import JunctionProblem

    X, w2 = spec.half_span, spec.rib_width / 2
    return JunctionProblem(rib_width=spec.rib_width, rib_height=spec.rib_height, slab_thickness=spec.slab_thickness,
                           x_left=-X, x_right=X, junction_x=spec.junction_offset, p_doping=spec.p_doping,
                           n_doping=spec.n_doping, p_contact_doping=spec.contact_doping_p,
                           n_contact_doping=spec.contact_doping_n, p_contact_edge=-w2 - spec.contact_distance,
                           n_contact_edge=w2 + spec.contact_distance, temperature_K=spec.temperature,
                           reverse_biases=tuple(-v for v in spec.bias_voltages), fine_cell=solver.fine_cell,
                           max_cell=solver.max_cell, vertical_cell=solver.vertical_cell)


def cross_section(spec: PNPhaseShifterSpec):
    """The rib as three adjacent Si cores (left slab, rib, right slab) in SiO2."""
    from pipeline.modes import Core, CrossSection

    X, w2, t = spec.half_span, spec.rib_width / 2, spec.slab_thickness
    slab = X - w2
    return CrossSection(cores=(Core(x_center=-(w2 + slab / 2), width=slab, thickness=t),
                               Core(x_center=0.0, width=spec.rib_width, thickness=spec.rib_height),
                               Core(x_center=w2 + slab / 2, width=slab, thickness=t)))


def _in_si(spec: PNPhaseShifterSpec, x: np.ndarray, z: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    slab = (np.abs(x) <= spec.half_span + tol) & (z >= -tol) & (z <= spec.slab_thickness + tol)
    return slab | ((np.abs(x) <= spec.rib_width / 2 + tol) & (z >= -tol) & (z <= spec.rib_height + tol))


def carriers_at(sol, spec: PNPhaseShifterSpec, index: int, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, p) [cm⁻³] of bias ``index`` at points [µm]: 0 outside Si; points on or just outside a
    Si face (pixel centres of partly filled pixels) take the value at the nearest Si point."""
    x, z = np.asarray(x, float), np.asarray(z, float)
    X, w2, t, h = spec.half_span, spec.rib_width / 2, spec.slab_thickness, spec.rib_height
    xc = np.clip(x, -X, X)
    zc = np.clip(z, 0.0, h)
    above = (zc > t) & (np.abs(xc) > w2)  # in the oxide beside the rib: move to the nearer Si face
    to_side = above & (np.abs(xc) - w2 < zc - t)
    xc = np.where(to_side, np.sign(xc) * w2, xc)
    zc = np.where(above & ~to_side, t, zc)
    xc, zc = xc * (1 - 1e-9), np.clip(zc, 1e-9, h - 1e-9)
    n, p = (sol.interpolate(k, index, xc, zc) for k in ("n", "p"))
    return np.nan_to_num(n), np.nan_to_num(p)


def pixel_average(sol, spec: PNPhaseShifterSpec, x: np.ndarray, z: np.ndarray, wx: np.ndarray, wz: np.ndarray,
                  wavelengths: np.ndarray, sub: float = 0.0025, biases: list[int] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Box averages of Δn and Δα [1/cm] of silicon (0 in the oxide) over pixels centred at
    (x, z) of widths (wx, wz) [µm], on ``sub``-µm sub-samples laterally (the junction's depletion
    edges are vertical) and 10 nm vertically: shape (bias, λ, point), biases ``biases`` (default all)."""
    from pipeline.free_carrier import delta_alpha, delta_index

    mx, mz = max(1, int(np.ceil(np.max(wx) / sub))), max(1, int(np.ceil(np.max(wz) / 0.01)))
    ox, oz = (np.arange(mx) + 0.5) / mx - 0.5, (np.arange(mz) + 0.5) / mz - 0.5
    X = (x[:, None, None] + wx[:, None, None] * ox[None, :, None]) + 0 * oz[None, None, :]
    Z = (z[:, None, None] + wz[:, None, None] * oz[None, None, :]) + 0 * ox[None, :, None]
    inside = _in_si(spec, X, Z, tol=0.0)
    biases = list(range(sol.reverse_bias.size)) if biases is None else biases
    dn = np.zeros((len(biases), len(wavelengths), x.size))
    da = np.zeros_like(dn)
    for k, i in enumerate(biases):
        n, p = carriers_at(sol, spec, i, X[inside], Z[inside])
        for j, lam in enumerate(wavelengths):
            for out, fn in ((dn, delta_index), (da, delta_alpha)):
                full = np.zeros(X.shape)
                full[inside] = fn(n, p, float(lam))
                out[k, j] = full.mean(axis=(1, 2))
    return dn, da


def _first_order(cs, modes, sol, spec: PNPhaseShifterSpec) -> dict[str, Any]:
    """Δn_eff and α_mode [1/cm] per bias of the mode in ``modes`` (module doc), with pixel-averaged Δn, Δα."""
    from pipeline.thermo_optic import cell_edges, material_fractions

    sel = modes.isel(wavelength=0, mode=0)
    lam, ng = float(sel.wavelength), float(sel.ng)
    x, z = np.asarray(modes.x.values, float), np.asarray(modes.z.values, float)
    inten = sum(np.abs(np.asarray(sel[c].values)) ** 2 for c in ("Ex", "Ey", "Ez"))
    wx, wz = np.diff(cell_edges(x)), np.diff(cell_edges(z))
    area = np.outer(wx, wz)
    n2, f_si = np.zeros_like(inten), np.zeros_like(inten)
    for mat, frac in material_fractions(cs, x, z):
        n2 += frac * float(mat.index(lam)) ** 2
        if mat.name == "Si":
            f_si += frac
    weight = ng * area * float(cs.cores[1].material.index(lam)) * inten / float(np.sum(area * n2 * inten))
    ix, iz = np.nonzero(f_si > 0)
    dn, da = pixel_average(sol, spec, x[ix], z[iz], wx[ix], wz[iz], np.array([lam]))
    w = weight[ix, iz]
    return {"neff": float(sel.neff), "ng": ng, "dneff": dn[:, 0] @ w, "alpha": da[:, 0] @ w}


def _compute(spec: PNPhaseShifterSpec, solver: PNSolverSpec) -> tuple[xr.Dataset, dict, dict]:
    from pipeline.charge import capacitance_per_length, depletion_width, solve_junction
    from pipeline.free_carrier import delta_index
    from pipeline.materials import SILICON
    from pipeline.modes import solve_modes
    from pipeline.thermo_optic import resolve_heated

    lams, V = np.asarray(spec.band.wavelengths()), np.asarray(spec.bias_voltages)
    ic, iv = int(np.argmin(np.abs(lams - spec.band.center))), spec.bias_voltages.index(spec.vpi_bias)
    for lam in lams:
        delta_index(0.0, 0.0, float(lam))  # fail early outside the fits' band
    sol = solve_junction(junction_problem(spec, solver))
    cs, T = cross_section(spec), spec.temperature
    mode_kw = dict(num_modes=1, solver=solver.mode_solver, resolution=solver.mode_resolution,
                   margin=(solver.mode_margin, solver.mode_margin), temperature_K=T)
    kernels = [_first_order(cs.at(lam, T), solve_modes(cs.at(lam, T), lam, fields=True, **mode_kw), sol, spec)
               for lam in lams]
    ng_disp = np.array([float(solve_modes(cs, lam, **mode_kw).ng[0, 0]) for lam in lams])
    dneff_abs = np.array([k["dneff"] for k in kernels]).T  # (voltage, wavelength)
    alpha_cm = np.array([k["alpha"] for k in kernels]).T  # mode power absorption [1/cm]
    dneff = dneff_abs - dneff_abs[0]
    phase = 2 * np.pi * dneff * spec.length / lams[None, :]
    vpil = np.abs(spec.vpi_bias) * lams / (2 * np.abs(dneff[iv])) * 1e-4  # V·cm
    loss_db_cm = DB_PER_NEPER * alpha_cm
    il_db = (loss_db_cm + spec.propagation_loss) * spec.length * 1e-4
    # independent path: re-solve on the perturbed index maps (0 V and vpi_bias, centre λ)
    lam_c = float(lams[ic])

    cell = 1.0 / solver.check_resolution

    def field(i: int):
        def dn_as_dT(x: np.ndarray, z: np.ndarray) -> np.ndarray:  # Δn box-averaged over one solver cell
            x, z = np.asarray(x, float), np.asarray(z, float)
            w = np.full(x.shape, cell)
            dn = pixel_average(sol, spec, x, z, w, w, np.array([lam_c]), biases=[i])[0][0, 0]
            return dn / SILICON.dn_dT
        return dn_as_dT

    rs = [resolve_heated(cs, lam_c, field(i), resolution=solver.check_resolution, margin=solver.mode_margin,
                         temperature_K=T) for i in (0, iv)]
    dneff_resolved = float(rs[1]["dneff"][0] - rs[0]["dneff"][0])
    # junction charge and capacitance vs the depletion formulas
    vr = -V
    cap = np.gradient(sol.charge_n_side, vr) * 1e12  # fF/mm
    z_mid = spec.rib_height / 2
    w_sim = np.array([sol.depletion_width(i, z_mid) for i in range(V.size)])
    kw = dict(ni=sol.problem.intrinsic_density, temperature_K=T)
    w_form = depletion_width(spec.p_doping, spec.n_doping, vr, **kw)
    w_corr = depletion_width(spec.p_doping, spec.n_doping, vr, corrected=True, **kw)
    cap_form = capacitance_per_length(w_form, spec.rib_height) * 1e12
    # stored carriers on a regular grid (NaN in the oxide)
    gx = np.arange(-spec.half_span, spec.half_span + 1e-9, solver.carrier_grid)
    gz = np.linspace(0.0, spec.rib_height, max(3, int(round(spec.rib_height / solver.carrier_grid)) + 1))
    GX, GZ = np.meshgrid(gx, gz, indexing="ij")
    inside = _in_si(spec, GX, GZ)
    n_grid = np.array([np.where(inside, carriers_at(sol, spec, i, GX, GZ)[0], np.nan) for i in range(V.size)])
    p_grid = np.array([np.where(inside, carriers_at(sol, spec, i, GX, GZ)[1], np.nan) for i in range(V.size)])
    neff = np.array([k["neff"] for k in kernels])
    tot = 2 * np.pi * neff[None, :] * spec.length / lams[None, :] + phase
    s = np.zeros((V.size, lams.size, 2, 2), complex)
    s[..., 1, 0] = s[..., 0, 1] = 10 ** (-il_db / 20) * np.exp(1j * tot)
    S = make_smatrix(s, lams, ["o1", "o2"], sweep={"voltage": V},
                     reference_planes={"o1": (-spec.length / 2, 0.0), "o2": (spec.length / 2, 0.0)},
                     provenance={"model": "scikit-fem Poisson + Nedeljkovic 2011 + first-order MPB kernel"})
    VL, VW = ("voltage", "wavelength"), ("voltage",)
    ds = xr.Dataset(
        {"S": S, "phase": (VL, phase, {"units": "rad", "long_name": "phase change vs 0 V over the length"}),
         "dneff": (VL, dneff, {"units": "1", "long_name": "n_eff(V) - n_eff(0 V)"}),
         "dneff_carriers": (VL, dneff_abs, {"units": "1", "long_name": "carrier n_eff change vs undoped Si"}),
         "alpha_carriers": (VL, alpha_cm * 100.0, {"units": "1/m", "long_name": "free-carrier mode power absorption"}),
         "loss_carriers": (VL, loss_db_cm, {"units": "dB/cm"}),
         "insertion_loss": (VL, il_db, {"units": "dB", "long_name": "free-carrier + propagation loss over length"}),
         "neff": ("wavelength", neff, {"units": "1"}), "ng": ("wavelength", ng_disp, {"units": "1"}),
         "ng_frozen": ("wavelength", np.array([k["ng"] for k in kernels]), {"units": "1"}),
         "vpi_l": ("wavelength", vpil, {"units": "V cm", "long_name": f"V_pi L at {spec.vpi_bias} V"}),
         "charge_n_side": (VW, sol.charge_n_side, {"units": "C/m"}),
         "capacitance": (VW, cap, {"units": "fF/mm", "long_name": "dQ/dV_R of the simulated charge"}),
         "capacitance_formula": (VW, cap_form, {"units": "fF/mm", "long_name": "eps_Si rib_height / W"}),
         "depletion_width": (VW, w_sim, {"units": "um", "long_name": "carriers at half doping, rib mid-height"}),
         "depletion_width_formula": (VW, w_form, {"units": "um"}),
         "depletion_width_corrected": (VW, w_corr, {"units": "um", "long_name": "V_bi + V_R - 2kT/q"}),
         "electrons": (("voltage", "x", "z"), n_grid, {"units": "cm^-3"}),
         "holes": (("voltage", "x", "z"), p_grid, {"units": "cm^-3"}),
         "dneff_resolved": ((), dneff_resolved, {"units": "1", "long_name": "Tidy3D re-solve at vpi_bias, centre"}),
         "length": ((), spec.length, {"units": "um"})},
        coords={"x": gx, "z": gz})
    ds["voltage"].attrs["units"] = "V"
    ds["x"].attrs["units"] = ds["z"].attrs["units"] = "um"
    neutral = float(np.max(np.abs(sol.charge_total / sol.charge_n_side)))
    checks = {**summary_checks(S), "charge_neutrality": neutral,
              "first_order_vs_resolve": float(dneff[iv, ic] / dneff_resolved - 1),
              "depletion_width_vs_formula_max": float(np.max(np.abs(w_sim / w_form - 1))),
              "depletion_width_vs_corrected_max": float(np.max(np.abs(w_sim / w_corr - 1))),
              "capacitance_vs_formula_at_vpi_bias": float(cap[iv] / cap_form[iv] - 1),
              "vpi_l_v_cm": float(vpil[ic]),
              "vpi_l_in_literature_range": bool(VPIL_RANGE_V_CM[0] <= vpil[ic] <= VPIL_RANGE_V_CM[1])}
    checks["passed"] = bool(neutral < 1e-6 and abs(checks["first_order_vs_resolve"]) < 0.05
                            and abs(checks["capacitance_vs_formula_at_vpi_bias"]) < 0.1
                            and checks["max_singular_value"] <= 1 + 1e-12)
    prov = {"mode_solver": solver.mode_solver, "poisson_nodes": int(sol.x_um.size),
            "newton_iterations": [int(i) for i in sol.iterations], "poisson_wall_time_s": sol.wall_time_s,
            "check_grid_points": [list(r["grid_points"]) for r in rs]}
    return ds, prov, checks


def simulate(device_spec: PNPhaseShifterSpec, solver_spec: PNSolverSpec | None = None, *, cache: Any,
             overwrite: bool = False) -> tuple[Any, bool]:
    """The co-simulation through ``cache`` (a DeviceCache): ``(CacheEntry, cached)``."""
    solver_spec = solver_spec or PNSolverSpec()
    if not isinstance(solver_spec, PNSolverSpec):
        raise SpecError(f"solver spec {type(solver_spec).__name__}: the PN phase shifter needs a PNSolverSpec "
                        "(--solver pn_depletion).")
    return cache.get_or_compute(device_spec, solver_spec, lambda: _compute(device_spec, solver_spec),
                                overwrite=overwrite)


def figures_of_merit(entry: Any, **_: Any) -> dict[str, float]:
    """V_πL [V·cm] and V_π [V] (length of the spec) at ``vpi_bias`` and the band centre,
    C' [fF/mm] at 0 V and ``vpi_bias`` (simulated and depletion formula), free-carrier loss
    [dB/cm] at 0 V and ``vpi_bias``, Δn_eff at ``vpi_bias`` (first order and re-solved)."""
    ds, spec = entry.data, entry.device_spec
    c = ds.sel(wavelength=spec.band.center, method="nearest")
    at = {"voltage": spec.vpi_bias}
    vpil = float(c["vpi_l"])
    return {"vpi_l_v_cm": vpil, "vpi_v": vpil / (spec.length * 1e-4),
            "capacitance_ff_per_mm_0v": float(ds["capacitance"].sel(voltage=0.0)),
            "capacitance_ff_per_mm_at_vpi_bias": float(ds["capacitance"].sel(**at)),
            "capacitance_formula_ff_per_mm_at_vpi_bias": float(ds["capacitance_formula"].sel(**at)),
            "loss_db_per_cm_0v": float(c["loss_carriers"].sel(voltage=0.0)),
            "loss_db_per_cm_at_vpi_bias": float(c["loss_carriers"].sel(**at)),
            "dneff_at_vpi_bias": float(c["dneff"].sel(**at)), "dneff_resolved_at_vpi_bias": float(ds["dneff_resolved"]),
            "vpi_bias_v": spec.vpi_bias}


def model(entry: Any):
    """A compact model from a cache entry (or its Dataset): ``f(voltage_V, wavelength_um) ->
    (dneff, dalpha_per_m)`` — Δn_eff vs 0 V and the free-carrier mode power absorption [1/m]
    (absolute: doping included), broadcast over the arguments.  Monotone cubic (PCHIP) in V
    through the simulated biases, quadratic (or lower) polynomial in λ across the band;
    outside the simulated ranges it raises ExtrapolationError."""
    from scipy.interpolate import PchipInterpolator

    ds = entry.data if hasattr(entry, "data") else entry
    V = np.asarray(ds.voltage, float)[::-1]  # increasing
    lam = np.asarray(ds.wavelength, float)
    deg = min(2, lam.size - 1)
    fits = {k: PchipInterpolator(V, np.array([np.polyfit(lam, row, deg) for row in np.asarray(ds[k].values)[::-1]]),
                                 axis=0) for k in ("dneff", "alpha_carriers")}  # polynomial coefficients vs V

    def f(voltage_V: Any, wavelength_um: Any) -> tuple[np.ndarray, np.ndarray]:
        v, lm = np.broadcast_arrays(np.asarray(voltage_V, float), np.asarray(wavelength_um, float))
        if np.any((v < V[0] - 1e-9) | (v > V[-1] + 1e-9)):
            raise ExtrapolationError(f"voltage outside the simulated {V[0]}..{V[-1]} V. Fix: extend bias_voltages.")
        if np.any((lm < lam.min() - 1e-9) | (lm > lam.max() + 1e-9)):
            raise ExtrapolationError(f"wavelength outside the simulated {lam.min()}..{lam.max()} um. Fix: widen band.")
        powers = lm.ravel()[:, None] ** np.arange(deg, -1, -1)[None, :]
        return tuple(np.sum(fits[k](v.ravel()) * powers, axis=1).reshape(v.shape) for k in ("dneff", "alpha_carriers"))

    return f

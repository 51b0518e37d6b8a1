"""Thermo-optic phase shifter: converged figures, convergence, cross-checks, sensitivities.

Prints: the default device (TiN 2 µm wide, 2 µm above a 500×220 nm strip, 1 µm top oxide,
100 µm substrate to the sink) through the cache path; P_π vs mode resolution and thermal
mesh; first order vs the Tidy3D heated re-solve vs check resolution; crosstalk vs
distance and the row matrix; P_π / crosstalk vs substrate thickness, top oxide, heater
height; the thermal flux balance of symmetric and asymmetric problems.

    .venv/bin/python benchmarks/bench_phase_shifter.py | tee benchmarks/results/phase_shifter.txt
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from devices.phase_shifter import PhaseShifterSpec, thermal_problem
from pipeline.simulate import simulate
from pipeline.cache import DeviceCache
from pipeline.modes import solve_modes, strip
from pipeline.thermal import solve_steady_state
from pipeline.thermo_optic import ThermoOpticSolverSpec, resolve_heated, sample, thermo_optic_kernel

LAM, T = 1.55, 300.0
CS = strip(0.5, 0.22)


def kernel(res: float, solver: str = "mpb"):
    ds = solve_modes(CS.at(LAM), LAM, num_modes=1, solver=solver, resolution=res, temperature_K=T, fields=True)
    return thermo_optic_kernel(CS, ds, temperature_K=T)


def p_pi_mw(k, sol) -> float:
    dn = float(k.dneff(sample(sol.interpolate, k.x, k.z)[0]))
    return 1e3 * LAM * 1e-6 / (2 * dn)


def main() -> None:
    t0 = time.perf_counter()
    entry, _ = simulate(PhaseShifterSpec(), ThermoOpticSolverSpec(), cache=DeviceCache(tempfile.mkdtemp()))
    ds, c = entry.data, entry.checks
    print("Default phase shifter (ThermoOpticSolverSpec defaults: thermal max_cell 0.05 um, growth 1.2,"
          " MPB 48 px/um, Tidy3D check 40 px/um)")
    print(f"wall time {time.perf_counter() - t0:.1f} s, thermal nodes {entry.provenance['thermal_nodes']}")
    print(f"{'lambda um':>10} {'n_eff':>8} {'n_g':>7} {'n_g frozen':>10} {'dphi/dP rad/mW':>15} {'P_pi mW':>8}")
    for i, lam in enumerate(ds.wavelength.values):
        print(f"{lam:10.3f} {float(ds.neff[i]):8.4f} {float(ds.ng[i]):7.4f} {float(ds.ng_frozen[i]):10.4f} "
              f"{float(ds.dphase_dpower[i]) * 1e-3:15.4f} {float(ds.p_pi[i]) * 1e3:8.3f}")
    print(f"core dT per heater power per length: {float(ds.delta_T_core_per_power):.4f} K/(W/m)"
          f" = {float(ds.delta_T_core_per_power) * 1e-3 / 100e-6:.2f} K/mW for L = 100 um")
    print(f"insertion loss {float(ds.insertion_loss):.4f} dB (heater absorption bound "
          f"{float(ds.heater_loss):.2e} dB/cm, energy fraction above heater {float(ds.heater_energy_fraction):.1e})")
    for key in ("flux_balance", "flux_balance_row_max", "first_order_vs_resolve", "uniform_dT_first_order_vs_resolve",
                "linearity_error", "crosstalk_row_vs_pair", "crosstalk_monotonic", "p_pi_in_literature_range",
                "passed"):
        print(f"  check {key:36s} {c[key]}")
    print(f"dn_eff/dT uniform: first order {float(ds.dneff_dT_first_order):.5e}, "
          f"solve_modes(T+-5 K) {float(ds.dneff_dT_resolved):.5e} /K")
    print("phase vs power (centre wavelength):")
    print(f"{'P mW':>8} {'first order rad':>16} {'re-solved rad':>14}")
    for p, a, b in zip(ds.power.values, ds.phase_first_order.values, ds.phase_resolved.values):
        print(f"{p * 1e3:8.3f} {a:16.5f} {b:14.5f}")
    print("crosstalk vs centre-to-centre distance (one heater driven):")
    for d, x in zip(ds.distance.values, ds.crosstalk.values):
        print(f"  {d:8.2f} um  {x:.4e}")
    print(f"crosstalk matrix, row of {ds.heater_in.size} heaters at pitch 20 um (column = driven heater):")
    print(np.array2string(ds.crosstalk_matrix.values, precision=4, suppress_small=False))

    print("\nConvergence of P_pi [mW] at 1.55 um (mode resolution x thermal mesh)")
    meshes = [(0.1, 1.3), (0.05, 1.2), (0.025, 1.1)]
    sols = {m: solve_steady_state(thermal_problem(PhaseShifterSpec(), ThermoOpticSolverSpec(
        thermal_max_cell=m[0], thermal_growth=m[1]))) for m in meshes}
    print(f"{'MPB px/um':>10}" + "".join(f"   mesh {m[0]}/{m[1]}" for m in meshes))
    for res in (24, 32, 48, 64, 96):
        k = kernel(res)
        print(f"{res:10d}" + "".join(f"{p_pi_mw(k, sols[m]):18.3f}" for m in meshes))
    print("flux balance of those meshes: " + ", ".join(f"{sols[m].flux_balance:.1e}" for m in meshes))

    print("\nFirst order (MPB 64 px/um) vs Tidy3D heated re-solve, Delta n_eff at P = 25 mW, L = 100 um")
    k = kernel(64)
    sol = sols[(0.05, 1.2)]
    pl = 0.025 / 100e-6
    first = pl * float(k.dneff(sample(sol.interpolate, k.x, k.z)[0]))
    for res in (24, 40, 64, 96):
        t1 = time.perf_counter()
        r = resolve_heated(CS, LAM, sol.interpolate, scales=(pl,), resolution=res, temperature_K=T)
        print(f"  Tidy3D {res:3d} px/um: re-solved {r['dneff'][0]:.6e}, first order {first:.6e}, "
              f"rel. diff {first / r['dneff'][0] - 1:+.4f}  ({time.perf_counter() - t1:.1f} s)")

    print("\nSensitivity (MPB 48 kernel, thermal 0.05/1.2): P_pi [mW], crosstalk at 20 / 50 um")
    k = kernel(48)
    for name, values in (("substrate_thickness", (20.0, 50.0, 100.0, 300.0, 725.0)),
                         ("top_oxide", (0.5, 1.0, 2.0, 3.0)), ("heater_height", (1.0, 1.5, 2.0, 3.0)),
                         ("heater_width", (1.0, 2.0, 4.0))):
        for v in values:
            spec = PhaseShifterSpec(**{name: v})
            extent = max(500.0, 3 * spec.substrate_thickness)
            s = solve_steady_state(thermal_problem(spec, ThermoOpticSolverSpec(lateral_extent=extent)))
            dn = k.dneff(sample(s.interpolate, k.x, k.z, (0.0, 20.0, 50.0)))
            print(f"  {name:20s} {v:7.2f} um  P_pi {1e3 * LAM * 1e-6 / (2 * dn[0]):7.3f}  "
                  f"xt20 {dn[1] / dn[0]:.4f}  xt50 {dn[2] / dn[0]:.4f}  flux {s.flux_balance:+.1e}")

    print("\nLateral extent (adiabatic side walls) vs crosstalk at 50 / 150 um")
    for extent in (250.0, 500.0, 1000.0):
        s = solve_steady_state(thermal_problem(PhaseShifterSpec(), ThermoOpticSolverSpec(lateral_extent=extent)))
        dn = k.dneff(sample(s.interpolate, k.x, k.z, (0.0, 50.0, 150.0)))
        print(f"  extent {extent:6.0f} um: P_pi {1e3 * LAM * 1e-6 / (2 * dn[0]):.3f} mW, xt50 {dn[1] / dn[0]:.4e},"
              f" xt150 {dn[2] / dn[0]:.4e}")

    print("\nThermal flux balance (pipeline.thermal, FE-gradient sink flux): symmetric vs asymmetric meshes")
    spec = PhaseShifterSpec()
    for mc, g in ((0.1, 1.3), (0.05, 1.2), (0.05, 1.1)):
        sv = ThermoOpticSolverSpec(thermal_max_cell=mc, thermal_growth=g)
        sym = solve_steady_state(thermal_problem(spec, sv)).flux_balance
        edge = solve_steady_state(thermal_problem(spec, sv, centres=(-20.0, 0.0, 20.0), powered=0)).flux_balance
        print(f"  mesh {mc}/{g}: single heater (mirror-symmetric) {sym:+.2e}, edge heater of a row {edge:+.2e}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

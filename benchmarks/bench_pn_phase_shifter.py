"""Benchmark: the default carrier-depletion phase shifter beside its independent references.

Run: ``.venv/bin/python benchmarks/bench_pn_phase_shifter.py`` (writes
benchmarks/results/pn_phase_shifter.txt).  References: abrupt-junction depletion formulas
(Sze & Ng §2.2; 2kT/q correction, Kennedy et al. 1968); V_πL range 1.5–3 V·cm at −2 V for
~5e17 cm⁻³ lateral junctions (issue 15; Reed et al., Nat. Photon. 4, 518 (2010)); the Tidy3D
re-solve of the perturbed index map; and a mode-resolution sweep of the first-order path.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from devices.pn_phase_shifter import VPIL_RANGE_V_CM, PNPhaseShifterSpec, PNSolverSpec, figures_of_merit, simulate
from pipeline.cache import DeviceCache

OUT = Path(__file__).parent / "results" / "pn_phase_shifter.txt"


def main() -> None:
    lines = []
    cache = DeviceCache(Path(tempfile.mkdtemp()))
    spec = PNPhaseShifterSpec()
    t0 = time.perf_counter()
    e = simulate(spec, PNSolverSpec(), cache=cache)[0]
    wall = time.perf_counter() - t0
    ds, f = e.data, figures_of_merit(e)
    lines.append(f"Default PN phase shifter (PNSolverSpec defaults: Poisson fine cell 2 nm, MPB 48 px/um, "
                 f"Tidy3D check 40 px/um), wall time {wall:.1f} s")
    lines.append(f"{'quantity':<44s}{'simulated':>12s}{'reference':>14s}  reference source")
    lines.append(f"{'V_pi L at -2 V, 1.55 um [V cm]':<44s}{f['vpi_l_v_cm']:>12.3f}{'1.5-3.0':>14s}  "
                 f"issue 15 range / Reed 2010 review; in range: {e.checks['vpi_l_in_literature_range']}")
    lines.append(f"{'dn_eff(-2 V) first order / Tidy3D re-solve':<44s}{f['dneff_at_vpi_bias']:>12.4e}"
                 f"{f['dneff_resolved_at_vpi_bias']:>14.4e}  ratio-1 = {e.checks['first_order_vs_resolve']:+.4f}")
    c = ds.sel(voltage=spec.vpi_bias)
    label = "C' at -2 V [fF/mm] (dQ/dV vs eps h/W)"
    lines.append(f"{label:<44s}{float(c.capacitance):>12.1f}"
                 f"{float(c.capacitance_formula):>14.1f}  h = rib height 0.22 um, W abrupt junction")
    lines.append(f"{'free-carrier loss 0 V / -2 V [dB/cm]':<44s}{f['loss_db_per_cm_0v']:>12.2f}"
                 f"{f['loss_db_per_cm_at_vpi_bias']:>14.2f}  (both simulated)")
    lines.append("")
    lines.append("  V [V]   dn_eff      phase/mm [rad]  loss [dB/cm]  C' [fF/mm]  C' formula  W [nm]  W formula  "
                 "W corrected")
    for v in ds.voltage.values:
        r = ds.sel(voltage=v)
        rc = r.sel(wavelength=spec.band.center, method="nearest")
        lines.append(f"{v:7.2f}  {float(rc.dneff):.4e}  {float(rc.phase) / spec.length * 1e3:14.4f}  "
                     f"{float(rc.loss_carriers):12.2f}  {float(r.capacitance):10.1f}  {float(r.capacitance_formula):10.1f}"
                     f"  {float(r.depletion_width) * 1e3:6.1f}  {float(r.depletion_width_formula) * 1e3:9.1f}"
                     f"  {float(r.depletion_width_corrected) * 1e3:11.1f}")
    lines.append("(C' at the end biases 0 V and -4 V is a one-sided difference; the others are central.)")
    lines.append("")
    lines.append("V_pi L [V cm] vs wavelength: " + ", ".join(f"{l:.3f} um {v:.3f}" for l, v in
                                                             zip(ds.wavelength.values, ds.vpi_l.values)))
    lines.append("")
    lines.append("first-order V_pi L vs mode resolution (1.55 um; Tidy3D check at the same resolution):")
    one = spec.model_copy(update={"band": spec.band.model_copy(update={"start": 1.55, "stop": 1.55, "points": 1})})
    for res in (24, 32, 48, 64):
        r = simulate(one, PNSolverSpec(mode_resolution=res, check_resolution=min(res, 48)), cache=cache)[0]
        lines.append(f"  {res:3d} px/um  V_pi L {figures_of_merit(r)['vpi_l_v_cm']:.4f}  first order vs re-solve "
                     f"{r.checks['first_order_vs_resolve']:+.4f}")
    lines.append("")
    lines.append(f"checks: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in e.checks.items()))
    text = "\n".join(lines) + "\n"
    OUT.write_text(text)
    print(text)
    assert VPIL_RANGE_V_CM[0] <= f["vpi_l_v_cm"] <= VPIL_RANGE_V_CM[1]


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()

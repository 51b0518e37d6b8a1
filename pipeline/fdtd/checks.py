"""Physics checks on every extracted FDTD S-matrix, with stated tolerances.

=====================  ==========================================  =========
check                  quantity                                    tolerance
=====================  ==========================================  =========
reciprocity            max |S − Sᵀ| (amplitude)                    0.02
passivity              largest singular value of S                 ≤ 1.02
energy balance         max over inputs of Σ_out |S|²               ≤ 1.02
field decay            final |H|² / peak at the output monitors    ≤ 10 × decay_by
=====================  ==========================================  =========

Tolerances are for the coarse grids used in tests (mode-overlap normalisation errors of
~1 % at 10–20 px/µm); converged runs sit far inside them. A violation raises
:class:`~pipeline.errors.CheckError` in strict mode (``strict=True`` in the solver spec)
and a :class:`~pipeline.errors.PhotopropWarning` otherwise; either way every value and
verdict is stored in the entry's ``checks``. When columns were filled by symmetry,
reciprocity is partly implied by construction (``reciprocity_by_symmetry`` says so).
"""

from __future__ import annotations

import warnings
from typing import Any

import xarray as xr

from pipeline.errors import CheckError, PhotopropWarning
from pipeline.smatrix import summary_checks

TOLERANCES = {"reciprocity_error": 0.02, "max_singular_value": 1.02, "max_output_power": 1.02,
              "decay_factor": 10.0}


def evaluate(s: xr.DataArray, *, final_decay: float, decay_by: float, by_symmetry: bool,
             extra: dict[str, Any] | None = None, below_floor: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """All check values, tolerances and verdicts, as JSON-able plain values.

    Entries listed in ``below_floor`` (``{port_in: [port_out]}``, under the reflection noise
    floor) are not data: they are zeroed for the checks (raw values kept as ``*_raw``)."""
    c: dict[str, Any] = {}
    if below_floor:
        c.update({f"{k}_raw": v for k, v in summary_checks(s).items()})
        s = s.copy()
        for pin, outs in below_floor.items():
            for pout in outs:
                s.loc[{"port_in": pin, "port_out": pout}] = 0.0
    c.update(summary_checks(s))
    c["loss_max"] = 1.0 - c["min_output_power"]
    c["final_field_decay"] = final_decay
    c["tolerances"] = dict(TOLERANCES, decay_limit=TOLERANCES["decay_factor"] * decay_by)
    c["reciprocity_by_symmetry"] = by_symmetry
    failures = []
    if c["reciprocity_error"] > TOLERANCES["reciprocity_error"]:
        failures.append(f"reciprocity: max|S-S^T| = {c['reciprocity_error']:.3g} > {TOLERANCES['reciprocity_error']}")
    if c["max_singular_value"] > TOLERANCES["max_singular_value"]:
        failures.append(f"passivity: max singular value = {c['max_singular_value']:.4f} > {TOLERANCES['max_singular_value']}")
    if c["max_output_power"] > TOLERANCES["max_output_power"]:
        failures.append(f"energy balance: sum_out |S|^2 = {c['max_output_power']:.4f} > {TOLERANCES['max_output_power']}")
    if final_decay > TOLERANCES["decay_factor"] * decay_by:
        failures.append(f"field decay: final |H|^2 ratio {final_decay:.3g} > {TOLERANCES['decay_factor'] * decay_by:.3g} "
                        "(run stopped at max_time)")
    c.update(extra or {})
    c["failures"] = failures
    c["passed"] = not failures
    return c


def enforce(checks: dict[str, Any], *, strict: bool, label: str) -> None:
    """Raise (strict) or warn loudly about failed checks."""
    if checks["passed"]:
        return
    msg = (f"{label}: physics checks failed: " + "; ".join(checks["failures"]) +
           ". Fix: raise the resolution, lengthen max_time or lower decay_by; the values are stored in the "
           "entry's checks.")
    if strict:
        raise CheckError(msg + " (strict mode: nothing was cached)")
    warnings.warn(msg, PhotopropWarning, stacklevel=3)

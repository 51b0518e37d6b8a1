"""The main job's results across calibrations: a ``calibration`` dim for any study, and the
accuracies the claims pair — the calibration-independent algorithms filled across it
(:mod:`workflows.paper`, :mod:`workflows.paper_plots`)."""

from __future__ import annotations

import numpy as np
import xarray as xr

#: Algorithms whose result does not depend on the die's calibration: ``ideal`` and
#: ``ideal-best`` are the digital model (no die at all), ``offline-calibrated`` always runs on
#: the lab-calibrated die (:func:`pipeline.training.run.train`).  They are trained once (in the
#: readout cells) and, in the claims only, paired with the other calibrations' rows: same die,
#: same init and split seeds, so the per-die differences are valid pairs.
CALIBRATION_INDEPENDENT = ("ideal", "ideal-best", "offline-calibrated")


def with_calibration(res: xr.Dataset | xr.DataArray) -> xr.Dataset | xr.DataArray:
    """``res`` with a ``calibration`` dim: a study of one calibration has it as a scalar
    coordinate (or, from older results, not at all: the readout calibration)."""
    if "calibration" in res.dims:
        return res
    cal = str(res["calibration"].item()) if "calibration" in res.coords else "readout"
    return res.drop_vars("calibration", errors="ignore").expand_dims(calibration=[cal])


def paired_accuracy(acc: xr.DataArray) -> tuple[xr.DataArray, dict[tuple[str, str], dict[str, str]]]:
    """The accuracies the claims pair: ``acc`` (dims incl. dataset, algorithm) with each
    calibration-independent algorithm (:data:`CALIBRATION_INDEPENDENT`) filled across the
    calibration dim, where NaN, from the calibration that computed it (its first calibration
    with a finite value; same die, init and split seeds: a valid pair).  results.nc keeps
    the unfilled record.  Returns (filled accuracies, ``{(dataset, calibration): {algorithm:
    source calibration}}`` for every filled entry)."""
    acc = with_calibration(acc)
    cals = [str(c) for c in acc.calibration.values]
    filled, shared = acc.copy(), {}
    for name in (a for a in CALIBRATION_INDEPENDENT if a in set(map(str, acc.algorithm.values))):
        v = acc.sel(algorithm=name)
        source = v.isel(calibration=0)
        for c in cals[1:]:
            source = source.fillna(v.sel(calibration=c))
        filled = filled.where((filled.algorithm != name) | filled.notnull(), source).transpose(*acc.dims)
        for d in acc.dataset.values:
            has = {c: bool(np.isfinite(v.sel(dataset=d, calibration=c).values).any()) for c in cals}
            src = next((c for c in cals if has[c]), None)
            for c in cals:
                if src is not None and not has[c]:
                    shared.setdefault((str(d), c), {})[name] = src
    return filled, shared

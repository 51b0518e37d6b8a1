"""Headline numbers of a die (``photoprop chip show``): loss budget, coupler splitting
spread, thermal crosstalk, noise floor — from the die's own Dataset."""

from __future__ import annotations

from typing import Any

import numpy as np


def summarize_die(die: Any) -> dict[str, Any]:
    """A flat dict of the die's headline numbers (floats; units in the key names)."""
    ds = die.to_dataset()
    out: dict[str, Any] = {"architecture": die.architecture.name, "seed": int(die.seed),
                           "n_params": int(np.size(die.architecture.init_params(np.random.default_rng(0))))}
    if hasattr(die, "summary"):
        out.update(die.summary())
    else:
        out.update({"kappa2_mean": float(ds.kappa2.mean()), "kappa2_std": float(ds.kappa2.std()),
                    "coupler_loss_db_mean": float(ds.coupler_loss.mean()),
                    "dw_std_um": float(ds.dw.std()), "dt_std_um": float(ds.dt.std())})
        for name in ("heater_loss_db", "column_loss_db", "p_pi_w"):
            if name in ds.attrs:
                out[name] = float(ds.attrs[name])
        if "p_pi_w" in out:
            out["p_pi_mw"] = out.pop("p_pi_w") * 1e3
    out["width_offset_mean_um"] = float(ds.dw.mean())
    out["thickness_offset_mean_um"] = float(ds.dt.mean())
    return out

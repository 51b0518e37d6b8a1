"""3D strip-waveguide mode solves for the 2D material calibration (runs inside the
worker process, so it may import meep).

Delegates to :mod:`pipeline.modes` (MPB, subpixel averaging on a grid aligned to every
core edge — without the alignment MPB stretches its grid and Δn of a coupled pair jitters
by ±2 % between resolutions). Constant indices per wavelength: the calibration
evaluates the materials itself. Returned n_eff are k/ω in units of 1/λ.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.materials import Material
from pipeline.modes import coupled_strips, solve_modes, strip
from pipeline.modes.coupling import coupling_length


def strip_modes(task: dict[str, Any]) -> dict[str, Any]:
    """``task``: wavelengths [µm], width, thickness, gap [µm], n_core, n_clad (lists per λ),
    resolution. Returns ``{"neff": [...], "neff_even": [...], "neff_odd": [...]}``."""
    out: dict[str, Any] = {"neff": [], "neff_even": [], "neff_odd": []}
    for lam, nc, ncl in zip(task["wavelengths"], task["n_core"], task["n_clad"]):
        core, clad = Material(name="core", n=float(nc)), Material(name="clad", n=float(ncl))
        single = solve_modes(strip(task["width"], task["thickness"], core=core, cladding=clad), lam,
                             num_modes=1, resolution=task["resolution"], group_index=False)
        out["neff"].append(float(single.neff.values[0, 0]))
        if task.get("gap") is not None:
            pair = coupled_strips(task["width"], task["thickness"], task["gap"], core=core, cladding=clad)
            lc = coupling_length(pair, lam, resolution=task["resolution"])
            out["neff_even"].append(lc["n_even"])
            out["neff_odd"].append(lc["n_odd"])
    out["n_sorted_ok"] = bool(np.all(np.asarray(out["neff_even"]) >= np.asarray(out["neff_odd"])))
    return out

"""3D strip-waveguide mode solves with MPB (imports meep; runs inside the worker process).

Full-vectorial, subpixel-averaged (MPB's default) cross-section solves of a Si strip
(``width`` × ``thickness``, index ``n_core``) in SiO2 (``n_clad``) and of two such strips
``gap`` apart. ``find_k`` at fixed frequency; TE-like (E horizontal) modes are the top
bands of a 500×220 nm strip; the two coupled TE supermodes are bands 1 and 2 (the TM
supermodes are ~0.6 lower in n_eff). Returned n_eff are k/ω in units of 1/λ.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _solve(mp: Any, mpb: Any, wavelength: float, width: float, thickness: float, n_core: float,
           n_clad: float, gap: float | None, resolution: int) -> list[float]:
    f = 1.0 / wavelength
    core = mp.Medium(index=n_core)
    if gap is None:
        geometry = [mp.Block(size=mp.Vector3(width, thickness, mp.inf), material=core)]
        sx, bands = width + 3.0, 1
    else:
        c = 0.5 * (width + gap)
        geometry = [mp.Block(center=mp.Vector3(s * c), size=mp.Vector3(width, thickness, mp.inf), material=core)
                    for s in (-1, 1)]
        sx, bands = 2 * width + gap + 3.0, 2
    sy = thickness + 2.0
    ms = mpb.ModeSolver(geometry_lattice=mp.Lattice(size=mp.Vector3(sx, sy)), geometry=geometry,
                        default_material=mp.Medium(index=n_clad), resolution=resolution, num_bands=bands)
    ks = ms.find_k(mp.NO_PARITY, f, 1, bands, mp.Vector3(0, 0, 1), 1e-9,
                   f * 0.5 * (n_core + n_clad), f * n_clad, f * n_core)
    return [float(k) / f for k in ks]


def strip_modes(task: dict[str, Any]) -> dict[str, Any]:
    """``task``: wavelengths [µm], width, thickness, gap [µm], n_core, n_clad (lists per λ),
    resolution. Returns ``{"neff": [...], "neff_even": [...], "neff_odd": [...]}``."""
    import meep as mp
    from meep import mpb

    mp.verbosity(0)
    out: dict[str, list[float]] = {"neff": [], "neff_even": [], "neff_odd": []}
    for lam, nc, ncl in zip(task["wavelengths"], task["n_core"], task["n_clad"]):
        args = (lam, task["width"], task["thickness"], nc, ncl)
        out["neff"].append(_solve(mp, mpb, *args, None, task["resolution"])[0])
        if task.get("gap") is not None:
            even, odd = _solve(mp, mpb, *args, task["gap"], task["resolution"])
            out["neff_even"].append(even)
            out["neff_odd"].append(odd)
    out["n_sorted_ok"] = bool(np.all(np.asarray(out["neff_even"]) >= np.asarray(out["neff_odd"])))
    return out

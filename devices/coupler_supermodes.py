"""Supermode algebra of a symmetric directional coupler (pure): the even/odd supermode
transmissions of an S-matrix, their parameters from one geometry at two lengths
(:func:`extract_pair`), and the S-matrix rebuilt from them (:func:`rebuild`, :func:`assemble`).
Physics and conventions: :mod:`devices.coupler_model`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pipeline.errors import SpecError


def _wrap(x: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * np.asarray(x)))


def supermodes(s: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Even and odd supermode transmissions S_bar ± S_cross (from o1) per wavelength."""
    sb = np.asarray(s.sel(port_in="o1", port_out="o4").values)
    sc = np.asarray(s.sel(port_in="o1", port_out="o3").values)
    return sb + sc, sb - sc


def extract_pair(s1: xr.DataArray, length1: float, s2: xr.DataArray, length2: float,
                 n_prior: float) -> dict[str, np.ndarray]:
    """Per-wavelength supermode parameters from one (δw, δt) point at two lengths.

    Returns ``dn`` (n_even − n_odd), ``n_mean``, ``phi_even0``/``phi_odd0`` (the bends'
    supermode phases at L = 0, unwrapped along λ), ``log_amp_even``/``log_amp_odd`` (mean of
    ln|S_bar ± S_cross| over the two lengths) and ``lc`` = λ/(2 dn).  ``n_prior`` (the
    strip's n_eff at the band centre) picks the 2π branch of the mean phase; the
    supermode splitting assumes L2 − L1 < L_c (|Δβ ΔL| < π)."""
    lam = np.asarray(s1.wavelength.values, dtype=float)
    if not np.allclose(lam, s2.wavelength.values):
        raise SpecError("the two S-matrices of a length pair have different wavelengths.")
    dl = float(length2 - length1)
    if dl <= 0:
        raise SpecError(f"length2 = {length2} um must exceed length1 = {length1} um.")
    e1, o1 = supermodes(s1)
    e2, o2 = supermodes(s2)
    pe1, po1, pe2, po2 = (np.angle(v) for v in (e1, o1, e2, o2))
    dphi1, dphi2 = pe1 - po1, pe2 - po2
    dbdl = _wrap(dphi2 - dphi1)  # Δβ·ΔL, branch |.| < π
    if np.any(dbdl <= 0):
        raise SpecError(f"supermode splitting Δβ·ΔL = {np.round(dbdl, 3).tolist()} rad is not in (0, π): "
                        f"L2 − L1 = {dl} um is not below the coupling length. Fix: use a smaller length step.")
    m = np.round((dbdl + dphi1 - dphi2) / (2 * np.pi))  # φ_e2 − φ_o2 branch consistent with Δβ
    u = np.unwrap(0.5 * (pe2 + po2 - pe1 - po1) + np.pi * m)  # β̄·ΔL up to 2π b
    kc = int(np.argmin(np.abs(lam - lam.mean())))
    u += 2 * np.pi * np.round((2 * np.pi * n_prior * dl / lam[kc] - u[kc]) / (2 * np.pi))
    n_mean = u * lam / (2 * np.pi * dl)
    dn = dbdl * lam / (2 * np.pi * dl)
    k1 = 2 * np.pi * length1 / lam
    phi_e0 = np.unwrap(pe1 - k1 * (n_mean + dn / 2))
    phi_o0 = np.unwrap(po1 - k1 * (n_mean - dn / 2))
    return {"dn": dn, "n_mean": n_mean, "phi_even0": phi_e0, "phi_odd0": phi_o0,
            "log_amp_even": 0.5 * (np.log(np.abs(e1)) + np.log(np.abs(e2))),
            "log_amp_odd": 0.5 * (np.log(np.abs(o1)) + np.log(np.abs(o2))), "lc": lam / (2 * dn)}


def rebuild(wavelength: np.ndarray, length: np.ndarray, p: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(S_bar, S_cross) from supermode parameters (broadcast over all arrays)."""
    k = 2 * np.pi * np.asarray(length) / np.asarray(wavelength)
    dn = np.exp(p["log_dn"])
    pe = k * (p["n_mean"] + dn / 2) + p["phi_mean0"] + p["dphi0"] / 2
    po = k * (p["n_mean"] - dn / 2) + p["phi_mean0"] - p["dphi0"] / 2
    ae = np.exp(np.minimum(p["log_amp_even"], 0.0))  # passivity: |supermode| <= 1
    ao = np.exp(np.minimum(p["log_amp_odd"], 0.0))
    ee, eo = ae * np.exp(1j * pe), ao * np.exp(1j * po)
    return 0.5 * (ee + eo), 0.5 * (ee - eo)


def assemble(s_bar: np.ndarray, s_cross: np.ndarray) -> np.ndarray:
    """4×4 S (last two axes [out, in], ports o1..o4): bar o1↔o4, o2↔o3; cross o1↔o3, o2↔o4."""
    s = np.zeros(np.broadcast(s_bar, s_cross).shape + (4, 4), complex)
    for a, b in ((0, 3), (1, 2)):
        s[..., a, b] = s[..., b, a] = s_bar
    for a, b in ((0, 2), (1, 3)):
        s[..., a, b] = s[..., b, a] = s_cross
    return s

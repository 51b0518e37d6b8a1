"""Microring composition (pure numpy) and figures of merit from a spectrum.

Composition. A coupler S-matrix ``c`` (..., 4, 4), ports o1 bus in, o2 ring in, o3 ring
out, o4 bus out (:mod:`devices.ring_coupler`), is closed by the rest of the ring: the
wave leaving o3 re-enters o2 multiplied by the arc transmission ``p`` (and the reverse
wave likewise), i.e. with internal ports i = (o2, o3) and Γ = [[0, p], [p, 0]]:

    S_ext = S_ee + S_ei (I − Γ S_ii)⁻¹ Γ S_ie          (connection-matrix method)

For a reflection-free coupler this is the textbook all-pass ring,
S[o4, o1] = t + κ κ' p / (1 − t_r p). An add-drop ring closes two couplers (bottom and
top, the top one the bottom one rotated by 180°) by two junction transmissions.

Closed forms (Bogaerts et al., "Silicon microring resonators", Laser Photonics Rev. 6,
47 (2012), eqs. 1, 7, 9, 10), used as independent references: with self-coupling r,
round-trip amplitude a and round-trip phase φ,

    T = (a² − 2 r a cos φ + r²) / (1 − 2 a r cos φ + (r a)²),   FSR = λ² / (n_g L),
    FWHM = (1 − r a) λ² / (π n_g L √(r a)),   Q = λ / FWHM,   T_min = (a − r)² / (1 − a r)².

Figures of merit from a sampled spectrum (:func:`resonances`): the all-pass dip is
exactly 1 − T = D / (1 + 4 r a sin²(φ/2) / (1 − r a)²), so 1/(1 − T) is quadratic in
sin(φ/2) ≈ (λ − λ₀) · const near a resonance; a parabola fitted to 1/(1 − T) over the
samples where 1 − T exceeds half the dip depth gives λ₀, the full width at half depth
(FWHM, Bogaerts' definition) and T_min without depending on the grid step.
"""

from __future__ import annotations

import numpy as np


def close_loop(coupler: np.ndarray, p: np.ndarray) -> np.ndarray:
    """All-pass ring: (..., 2, 2) S over (o1, o4) from a (..., 4, 4) coupler and arc ``p``."""
    c = np.asarray(coupler, dtype=complex)
    p = np.asarray(p, dtype=complex)
    e, i = [0, 3], [1, 2]
    see, sei, sie, sii = (c[..., e, :][..., :, e], c[..., e, :][..., :, i], c[..., i, :][..., :, e],
                          c[..., i, :][..., :, i])
    gam = np.zeros(p.shape + (2, 2), complex)
    gam[..., 0, 1] = gam[..., 1, 0] = p
    m = np.eye(2) - gam @ np.broadcast_to(sii, gam.shape)
    return see + sei @ np.linalg.solve(m, gam @ np.broadcast_to(sie, gam.shape))


def close_add_drop(bottom: np.ndarray, top: np.ndarray, p_right: np.ndarray, p_left: np.ndarray) -> np.ndarray:
    """Add-drop ring: (..., 4, 4) S over (in, through, drop, add) = (bottom o1, bottom o4,
    top o4, top o1). ``p_right`` joins bottom o3 ↔ top o2, ``p_left`` top o3 ↔ bottom o2."""
    b, t = np.broadcast_arrays(np.asarray(bottom, complex), np.asarray(top, complex))
    p_right, p_left = np.broadcast_arrays(np.asarray(p_right, complex), np.asarray(p_left, complex))
    shape = b.shape[:-2]
    big = np.zeros(shape + (8, 8), complex)
    big[..., :4, :4], big[..., 4:, 4:] = b, t
    e, i = [0, 3, 7, 4], [1, 2, 5, 6]  # bottom o1, o4, top o4, o1 | bottom o2, o3, top o2, o3
    gam = np.zeros(p_right.shape + (4, 4), complex)
    gam[..., 1, 2] = gam[..., 2, 1] = p_right  # bottom o3 <-> top o2
    gam[..., 0, 3] = gam[..., 3, 0] = p_left   # top o3 <-> bottom o2
    see, sei = big[..., e, :][..., :, e], big[..., e, :][..., :, i]
    sie, sii = big[..., i, :][..., :, e], big[..., i, :][..., :, i]
    m = np.eye(4) - gam @ np.broadcast_to(sii, gam.shape)
    return see + sei @ np.linalg.solve(m, gam @ np.broadcast_to(sie, gam.shape))


def allpass_closed_form(r: np.ndarray, a: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Bogaerts 2012 eq. 1: all-pass power transmission for self-coupling r, round-trip
    amplitude a, round-trip phase φ [rad]."""
    return (a**2 - 2 * r * a * np.cos(phi) + r**2) / (1 - 2 * a * r * np.cos(phi) + (r * a) ** 2)


def closed_form_figures(r: float, a: float, wavelength: float, ng: float, length: float) -> dict[str, float]:
    """Bogaerts 2012: FSR [µm], FWHM [µm], loaded Q, T_min, T_max, extinction [dB]."""
    fsr = wavelength**2 / (ng * length)
    fwhm = (1 - r * a) * wavelength**2 / (np.pi * ng * length * np.sqrt(r * a))
    tmin, tmax = (a - r) ** 2 / (1 - a * r) ** 2, (a + r) ** 2 / (1 + a * r) ** 2
    return {"fsr_um": fsr, "fwhm_um": fwhm, "q_loaded": wavelength / fwhm, "t_min": tmin, "t_max": tmax,
            "extinction_db": 10 * np.log10(tmax / tmin)}


def resonances(wavelength: np.ndarray, power: np.ndarray, *, min_depth: float = 0.02) -> list[dict[str, float]]:
    """Dips of a sampled transmission ``power`` (linear) vs ``wavelength`` [µm]: per dip
    λ₀ [µm], FWHM [µm] (full width at half depth, measured from T = 1), Q = λ₀/FWHM,
    T_min. Dips shallower than ``min_depth`` or with fewer than 5 samples inside the
    half-depth width are skipped (too coarse a grid to measure)."""
    wl, tp = np.asarray(wavelength, float), np.asarray(power, float)
    out = []
    loss = 1.0 - tp
    for k in range(1, wl.size - 1):
        if not (loss[k] >= loss[k - 1] and loss[k] > loss[k + 1] and loss[k] > min_depth):
            continue
        half = 0.5 * loss[k]
        lo = k
        while lo > 0 and loss[lo - 1] > half:
            lo -= 1
        hi = k
        while hi < wl.size - 1 and loss[hi + 1] > half:
            hi += 1
        if hi - lo + 1 < 5 or lo == 0 or hi == wl.size - 1:
            continue
        x = wl[lo:hi + 1] - wl[k]
        c2, c1, c0 = np.polyfit(x, 1.0 / loss[lo:hi + 1], 2)
        x0 = -c1 / (2 * c2)
        vmin = c0 - c1**2 / (4 * c2)
        fwhm = 2 * np.sqrt(vmin / c2)  # 1/(1-T) doubles: c2 (x - x0)² = vmin
        lam0 = wl[k] + x0
        out.append({"wavelength_um": float(lam0), "fwhm_um": float(fwhm), "q_loaded": float(lam0 / fwhm),
                    "t_min": float(1 - 1 / vmin)})
    return out


def figures(wavelength: np.ndarray, power: np.ndarray, *, near: float) -> dict[str, float]:
    """FSR [µm] (spacing of the two resonances around ``near``), λ_res, Q, extinction [dB]
    (max of the spectrum / T_min) of the resonance nearest ``near`` [µm]."""
    res = resonances(wavelength, power)
    if not res:
        raise ValueError("no resolved resonance in the spectrum: widen the span or add points")
    k = int(np.argmin([abs(r["wavelength_um"] - near) for r in res]))
    best = res[k]
    out = {"resonance_um": best["wavelength_um"], "q_loaded": best["q_loaded"], "fwhm_um": best["fwhm_um"],
           "t_min": best["t_min"], "t_max": float(np.max(power)),
           "extinction_db": float(10 * np.log10(np.max(power) / max(best["t_min"], 1e-12)))}
    if len(res) > 1:
        j = k + 1 if k + 1 < len(res) else k - 1
        out["fsr_um"] = abs(res[j]["wavelength_um"] - best["wavelength_um"])
        out["fsr_partner_um"] = res[j]["wavelength_um"]  # the neighbour FSR was measured to
    return out

"""Directional-coupler compact model from a cached FDTD sweep of fabrication offsets.

Sweep (:class:`CouplerSweepSpec`).  One nominal design (default: the shipped 3-dB coupler,
500×220 nm strips, gap 0.2 µm, L = 16.5 µm) is simulated for fabrication offsets δw of
both core widths and δt of the Si layer on a grid, at two straight-section lengths
L1 < L2 (same bends), with the 2D calibrated Meep engine (the 2D material model is fitted
to 3D MPB solves of each actual width × thickness, so δw and δt are physical).  Held-out
(δw, δt) points are simulated the same way and never enter the fit.

Gap convention: lithography fixes the centre-to-centre pitch; a width error δw moves both
edges of each guide by δw/2, so the edge-to-edge gap becomes ``gap − δw`` (wider guides →
narrower gap).  The nominal gap itself is a design choice, not a random variable: one
model per nominal design.

Physics of the model.  A symmetric coupler is diagonal in its even/odd supermodes:
``S_bar ± S_cross = A_e,o exp(i φ_e,o)`` (:mod:`pipeline.fdtd.coupling`).  With
φ̄ = (φ_e + φ_o)/2 and Δφ = φ_e − φ_o, and for each (δw, δt, λ):

* Δφ(L) = (2π/λ) Δn L + Δφ0   →  L_c = λ/(2Δn) and the bends' φ0 = Δφ0/2,
* φ̄(L) = (2π/λ) n̄ L + φ̄0     →  mean supermode index n̄ and the bends' mean phase φ̄0,
* A_e, A_o: supermode amplitudes (bend radiation; the straight section is lossless, so
  they are taken as the mean over the two lengths).

Two lengths determine (Δn, Δφ0, n̄, φ̄0) exactly; branch ambiguities are resolved with
priors (|Δβ ΔL| < π; n̄ nearest the 3D-calibrated strip n_eff stored in the entry's
provenance).  The resulting smooth real quantities (ln Δn, Δφ0, n̄, φ̄0, ln A_e, ln A_o)
are each fitted by least squares with all monomials of total degree ≤ 2 in the scaled
(δw, δt, λ) (10 terms, 99 data per quantity for the default 3×3×11 grid, so the grid
residual is measured).  ln Δn is the natural variable of evanescent coupling (Δn ∝
exp(−γ·gap): linear in δw at fixed γ; the quadratic terms carry γ(w, t, λ)); quadratic
is the lowest order with curvature, and the FDTD scatter between geometries (~1 % in L_c,
~1e-3 in n̄ at 30 px/µm) forbids more: with 3 levels per offset a higher order would
interpolate that noise.  The rebuilt S-matrix:

    S_bar  = [A_e e^{iφ_e} + A_o e^{iφ_o}]/2,  S_cross = [A_e e^{iφ_e} − A_o e^{iφ_o}]/2,
    κ² ≈ sin²(πL/(2L_c) + φ0)  (exact for A_e = A_o),

bar: o1↔o4, o2↔o3; cross: o1↔o3, o2↔o4; reflections and o1↔o2 terms are set to zero
(|S| ≤ 0.02, ≤ −34 dB, over the default sweep).  Supermode amplitudes are clipped at 1
(the FDTD's own passivity error is ~1e-3), so the rebuilt S is reciprocal and passive.  Excess loss = −10 log10((A_e² + A_o²)/2) = the unitarity
deviation of the rebuilt S-matrix.

Accuracy against the held-out direct FDTD runs (|Δκ²|, bar/cross phase error, loss, L_c)
is measured when the model is built and stored with it (:attr:`CouplerModel.dataset`,
a netCDF ``compact_models/coupler_model-<hash>.nc`` next to the sweep's cache entries,
see :func:`model_path`).  Every coefficient comes from the cached FDTD entries.
Measured for the default sweep (benchmarks/results/coupler_model.txt), held out
(δw, δt) = (+10, −5) nm over 1.50–1.60 µm and both lengths: |Δκ²| ≤ 0.012, L_c within
0.9 %, bar/cross phase ≤ 0.18 rad (n̄ scatter of the FDTD, 1e-3), loss within 0.06 dB.
Against converged 3D MPB supermodes: dL_c/dδt +276 vs +264 µm/µm (+4.5 %); dL_c/dδw at
fixed pitch −55 vs −23 µm/µm — width and gap effects nearly cancel (L_c moves 2.4 % over
±20 nm) and the 30 px/µm FDTD scatters by ~3 % between geometries (exact 2D slab modes with
the same calibrated indices: −27.3 µm/µm); straight lengths 16.5/56.5 µm instead of
16.5/26.5 give the same −54.5 µm/µm (so it is the grid, not phase noise in the two-length
extraction): the width sensitivity needs a much finer FDTD grid.

This module is the family's facade (what :data:`pipeline.library.families.FAMILIES` and the
dies use): the model functions below, and re-exported from the modules that hold each part —
the sweep, model form and stored name (:mod:`devices.coupler_sweep`), the supermode algebra
(:mod:`devices.coupler_supermodes`), the fitted model and its fit (:mod:`devices.coupler_fit`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from devices.coupler_fit import CouplerModel, fit
from devices.coupler_supermodes import assemble, extract_pair, rebuild, supermodes
from devices.coupler_sweep import (MODEL_FILE, PORTS, QUANTITIES, TERMS, CouplerSweepSpec, default_solver,
                                   default_sweep, library_specs, model_path, neff_centre)
from pipeline.errors import SpecError
from pipeline.smatrix import make_smatrix

__all__ = ["MODEL_FILE", "PORTS", "QUANTITIES", "TERMS", "CouplerModel", "CouplerSweepSpec", "assemble",
           "coupler", "coupling_length_um", "default_solver", "default_sweep", "excess_loss_db", "extract_pair",
           "fit", "library_specs", "model_path", "neff_centre", "power_coupling", "rebuild", "supermodes"]


# -- public compact model ----------------------------------------------------------------------
def power_coupling(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, coupling_length: Any = None,
                   model: CouplerModel) -> np.ndarray:
    """Cross-port power |S[o3, o1]|² (κ², loss included), numpy-broadcast over all
    arguments — the fast path for Monte-Carlo sampling of couplers."""
    m = model
    length = m.nominal_length if coupling_length is None else np.asarray(coupling_length, dtype=float)
    lam = np.asarray(wavelength, dtype=float)
    p = m.parameters(wavelength=lam, dw=dw, dt=dt, quantities=("log_dn", "dphi0", "log_amp_even", "log_amp_odd"))
    # |A_e e^{iφe} − A_o e^{iφo}|²/4 with φe − φo = 2π Δn L/λ + Δφ0
    dphi = 2 * np.pi * np.exp(p["log_dn"]) * length / lam + p["dphi0"]
    ae, ao = np.exp(np.minimum(p["log_amp_even"], 0.0)), np.exp(np.minimum(p["log_amp_odd"], 0.0))
    return 0.25 * (ae * ae + ao * ao - 2 * ae * ao * np.cos(dphi))


def coupling_length_um(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                       model: CouplerModel) -> np.ndarray:
    """L_c = λ / (2 Δn) [µm] (straight-section length for full transfer)."""
    m = model
    return np.asarray(wavelength, dtype=float) / (2 * np.exp(m.parameters(wavelength=wavelength, dw=dw,
                                                                          dt=dt)["log_dn"]))


def excess_loss_db(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0,
                   model: CouplerModel) -> np.ndarray:
    """Excess loss −10 log10((A_e² + A_o²)/2) [dB] (= 1 − Σ|S|² of the rebuilt S, in dB)."""
    m = model
    p = m.parameters(wavelength=wavelength, dw=dw, dt=dt)
    a2 = 0.5 * (np.exp(2 * np.minimum(p["log_amp_even"], 0)) + np.exp(2 * np.minimum(p["log_amp_odd"], 0)))
    return -10 * np.log10(a2)


def coupler(*, wavelength: Any = 1.55, dw: Any = 0.0, dt: Any = 0.0, coupling_length: Any = None,
            model: CouplerModel) -> xr.DataArray:
    """4-port S-matrix of the swept coupler design with fabrication offsets.

    ``wavelength`` [µm] (1D) is the S-matrix's wavelength axis; ``dw``, ``dt`` [µm] and
    ``coupling_length`` [µm, default: the design's] broadcast together into instances: all
    scalars give dims (wavelength, port_out, port_in); otherwise a leading ``instance`` dim
    with coordinates dw, dt, coupling_length."""
    m = model
    lam = np.atleast_1d(np.asarray(wavelength, dtype=float))
    if lam.ndim != 1:
        raise SpecError(f"wavelength must be a scalar or 1D array, got shape {lam.shape}.")
    length = m.nominal_length if coupling_length is None else coupling_length
    w, t, ln = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (dw, dt, length)))
    if np.any(ln < 0):
        raise SpecError(f"coupling_length = {length!r} um: must be >= 0.")
    scalar = w.ndim == 0
    w, t, ln = (np.atleast_1d(v).ravel() for v in (w, t, ln))
    p = m.parameters(wavelength=lam[None, :], dw=w[:, None], dt=t[:, None])
    sb, sc = rebuild(lam[None, :], ln[:, None], p)
    s = assemble(sb, sc)
    prov = {"model": "devices.coupler_model", "sweep_spec": m.dataset.attrs.get("sweep_spec"),
            "accuracy": json.loads(m.dataset.attrs.get("accuracy", "{}"))}
    if scalar:
        out = make_smatrix(s[0], lam, list(PORTS), provenance=prov)
        return out.assign_attrs(dw_um=float(w[0]), dt_um=float(t[0]), coupling_length_um=float(ln[0]))
    out = make_smatrix(s, lam, list(PORTS), sweep={"instance": np.arange(w.size)}, provenance=prov)
    return out.assign_coords(dw=("instance", w), dt=("instance", t), coupling_length=("instance", ln))

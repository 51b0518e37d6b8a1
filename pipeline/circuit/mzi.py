"""The MZI composed from cached device entries: two FDTD couplers + two analytic arms.

Circuit (ports as :mod:`devices.mzi`, the whole-MZI FDTD device it is checked against)::

    o2 ─ c1.o2   c1.o3 ─ upper arm (unheated | heated Δn | unheated) ─ c2.o2   c2.o3 ─ o3
    o1 ─ c1.o1   c1.o4 ─ lower arm ─────────────────────────────────── c2.o1   c2.o4 ─ o4

composed by the connection-matrix method (:func:`pipeline.circuit.netlist.compose`).
The couplers are library entries (FDTD S-matrices de-embedded to their port planes). An
arm of length L transmits t = exp(+i 2π n_eff(λ) L / λ) (time convention exp(−iωt));
n_eff is the exact TE0 (Hz) mode of the 2D slab with the calibrated indices the coupler
entry was simulated with (:func:`pipeline.fdtd.slab.single_neff`, transfer-matrix root
finding — independent of any FDTD run), and the heated section's n_eff that of the same
slab with the core index raised by Δn. Reflections at the ends of the heated section are
neglected: for a step Δn_eff they are of order (Δn_eff / 2 n_eff)² (≤ 3e-4 in power for
Δn ≤ 0.08), below the couplers' own reflection noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from pipeline.circuit.netlist import Netlist, compose
from pipeline.errors import CacheError, SpecError
from pipeline.smatrix import make_smatrix


def _medium_index(medium: Mapping[str, float], wavelengths: np.ndarray) -> np.ndarray:
    from pipeline.fdtd.material2d import Medium

    m = Medium(eps_inf=float(medium["eps_inf"]), sigma=float(medium.get("sigma", 0.0)),
               f0=float(medium.get("f0", 1.0)))
    return np.broadcast_to(m.index(wavelengths), wavelengths.shape).astype(float)


def entry_indices(entry: Any, wavelengths: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n_core, n_clad, n_heated) per wavelength [µm] (default: the entry's grid) of the
    media an FDTD entry was run with (its provenance); n_heated = n_core without a
    ``heated`` medium."""
    wl = np.asarray(entry.smatrix.wavelength.values if wavelengths is None else wavelengths, dtype=float)
    info = entry.provenance.get("material_model", {})
    if "core_medium" not in info or "clad_medium" not in info:
        raise SpecError(f"entry {entry.key[:12]} records no core/clad media in provenance['material_model']. "
                        "Fix: use an entry of the 2D FDTD engine (solver meep2d).")
    core = _medium_index(info["core_medium"], wl)
    clad = _medium_index(info["clad_medium"], wl)
    heated = _medium_index(info["heated_medium"], wl) if "heated_medium" in info else core
    return core, clad, heated


def guide_neff(wavelengths: Any, width: float, n_core: Any, n_clad: Any) -> np.ndarray:
    """Exact TE0 (Hz) n_eff of the 2D slab guide of ``width`` [µm] per wavelength [µm]."""
    from pipeline.fdtd.slab import single_neff

    wl = np.atleast_1d(np.asarray(wavelengths, dtype=float))
    nc = np.broadcast_to(np.asarray(n_core, dtype=float), wl.shape)
    nb = np.broadcast_to(np.asarray(n_clad, dtype=float), wl.shape)
    out = np.array([single_neff(float(w), width, float(a), float(b)) for w, a, b in zip(wl, nc, nb)])
    if np.any(~np.isfinite(out)):
        raise SpecError(f"no guided TE0 mode for width = {width} um, n_core = {nc.min():.4f}, "
                        f"n_clad = {nb.min():.4f}. Fix: check the media (n_core > n_clad) and the width.")
    return out


def heater_phase(wavelengths: Any, width: float, n_core: Any, n_clad: Any, delta_n: float,
                 length: float) -> np.ndarray:
    """Extra phase [rad] of a ``length`` [µm] section whose core index is raised by
    ``delta_n``: 2π (n_eff(n_core + Δn) − n_eff(n_core)) L / λ."""
    wl = np.atleast_1d(np.asarray(wavelengths, dtype=float))
    n_core = np.asarray(n_core, dtype=float)
    dneff = guide_neff(wl, width, n_core + delta_n, n_clad) - guide_neff(wl, width, n_core, n_clad)
    return 2 * np.pi * dneff * length / wl


def delta_n_for_phase(phase: float, wavelength: float, width: float, n_core: float, n_clad: float,
                      length: float) -> float:
    """Core index rise that gives a heated section of ``length`` [µm] the extra ``phase``
    [rad] at ``wavelength`` [µm] (inverse of :func:`heater_phase`, |Δn| ≤ 0.3)."""
    from scipy.optimize import brentq

    if phase == 0:
        return 0.0

    def f(dn: float) -> float:
        return float(heater_phase(wavelength, width, n_core, n_clad, dn, length)[0]) - phase

    lo, hi = (0.0, 0.3) if phase > 0 else (-0.3, 0.0)
    if f(lo) * f(hi) > 0:
        raise SpecError(f"phase = {phase} rad needs |delta_n_core| > 0.3 over a heated length of {length} um. "
                        "Fix: lengthen the heated section.")
    return float(brentq(f, lo, hi, xtol=1e-12))


def straight(wavelengths: Any, phase: Any, ports: tuple[str, str] = ("a", "b")) -> xr.DataArray:
    """A reflectionless, lossless 2-port with transmission exp(i ``phase``) [rad] per wavelength."""
    wl = np.asarray(wavelengths, dtype=float)
    t = np.exp(1j * np.broadcast_to(np.asarray(phase, dtype=float), wl.shape))
    v = np.zeros((wl.size, 2, 2), complex)
    v[:, 0, 1] = v[:, 1, 0] = t
    return make_smatrix(v, wl, list(ports))


def compose_mzi(coupler_in: xr.DataArray, coupler_out: xr.DataArray, upper: xr.DataArray,
                lower: xr.DataArray) -> xr.DataArray:
    """The MZI (ports o1..o4 as :mod:`devices.mzi`) from two 4-port couplers (ports o1..o4 of
    :mod:`devices.directional_coupler`) and two 2-port arms (ports a → b, left to right)."""
    net = Netlist(
        instances={"c1": coupler_in, "upper": upper, "lower": lower, "c2": coupler_out},
        connections=[("c1,o3", "upper,a"), ("upper,b", "c2,o2"), ("c1,o4", "lower,a"), ("lower,b", "c2,o1")],
        ports={"o1": "c1,o1", "o2": "c1,o2", "o3": "c2,o3", "o4": "c2,o4"},
        provenance={"circuit": "MZI: coupler - arms (upper heated) - coupler"},
    )
    return compose(net)


def mzi_smatrix(coupler: xr.DataArray, *, width: float, arm_length: float, heated_length: float,
                delta_n_core: float, n_core: Any, n_clad: Any,
                coupler_out: xr.DataArray | None = None) -> xr.DataArray:
    """Composed MZI S-matrix on ``coupler``'s wavelength grid. ``n_core``, ``n_clad``: the 2D
    indices (scalars or per wavelength) of the arms; lengths [µm]."""
    if not 0 < heated_length <= arm_length:
        raise SpecError(f"heated_length = {heated_length} um must lie in (0, arm_length = {arm_length}] um. "
                        "Fix: shorten the heater or lengthen the arm.")
    wl = np.asarray(coupler.wavelength.values, dtype=float)
    beta = 2 * np.pi * guide_neff(wl, width, n_core, n_clad) / wl
    lower = straight(wl, beta * arm_length)
    upper = straight(wl, beta * arm_length + heater_phase(wl, width, n_core, n_clad, delta_n_core, heated_length))
    return compose_mzi(coupler, coupler if coupler_out is None else coupler_out, upper, lower)


def compose_mzi_from_entries(spec: Any, coupler: Any, coupler_out: Any = None) -> xr.DataArray:
    """The composed MZI of ``spec`` (a :class:`devices.mzi.MZISpec`) from coupler cache
    entries; the arms use the 2D media recorded in the (first) coupler entry."""
    if coupler.device_spec != spec.coupler_spec():
        raise SpecError(f"coupler entry {coupler.key[:12]} is not the MZI's coupler "
                        f"({coupler.device_spec.canonical_json()} vs {spec.coupler_spec().canonical_json()}). "
                        "Fix: pass the entry of spec.coupler_spec().")
    n_core, n_clad, _ = entry_indices(coupler)
    out = coupler_out.smatrix if coupler_out is not None else None
    return mzi_smatrix(coupler.smatrix, width=spec.width, arm_length=spec.arm_length,
                       heated_length=spec.heated_length, delta_n_core=spec.delta_n_core,
                       n_core=n_core, n_clad=n_clad, coupler_out=out)


def compose_mzi_from_cache(spec: Any, solver: Any = None, cache: Any = None) -> tuple[xr.DataArray, Any]:
    """(composed S, coupler entry) reading the coupler of ``spec`` from the library; never
    simulates. ``solver`` defaults to the 2D engine's default spec, ``cache`` to the
    shipped library."""
    from pipeline.cache import DeviceCache
    from pipeline.fdtd.specs import Meep2DSpec

    solver = solver if solver is not None else Meep2DSpec()
    cache = cache if cache is not None else DeviceCache()
    entry = cache.get(spec.coupler_spec(), solver)
    if entry is None:
        raise CacheError(f"the library {cache.root} has no entry for the MZI's coupler "
                         f"{spec.coupler_spec().canonical_json()} with {solver.canonical_json()}. Fix: "
                         "`photoprop library build` (the default library holds gap 0.2, coupling_length 16.5).")
    return compose_mzi_from_entries(spec, entry), entry

"""Microring modulator (all-pass or add-drop): ring–bus coupler from 2D calibrated FDTD,
round trip from the waveguide model and a phase-shifter section, composed over
wavelength × voltage × temperature.

Chain (solver ``ring_circuit``, :class:`RingCircuitSpec`):

1. Coupler: the bottom half ring beside the bus, Meep 2D calibrated
   (:mod:`devices.ring_coupler`), cached; its S is de-embedded of the straight 2D slab's
   propagation per port (ring ports π R / 2 each, bus ports their straight length),
   interpolated onto the spectrum grid and re-embedded with the *waveguide model's* β —
   so the whole circumference carries the 3D n_eff(λ) with silicon's dispersion.
2. Round trip: n_eff, n_g, dn_eff/dT of the TE0 strip from the cached mode-solver sweep
   (:mod:`devices.waveguide_model`, width offset = ring_width − model width); propagation
   loss = the waveguide model's ``propagation_loss`` parameter (2 dB/cm, a stated
   parameter of that model, not simulated). Bend radiation of the free half ring is not
   in the model and is neglected: ≤ 0.013 dB per 90° already at R = 2 µm for 500×220 nm
   strips (Vlasov & McNab, Opt. Express 12, 1622 (2004)); the coupler half's radiation is
   in the FDTD. The bent mode's n_eff shift is not modelled (straight-guide n_eff).
3. Phase-shifter section (``pn_fraction`` of the circumference): any object with
   ``delta_neff(voltage, wavelength)`` and ``delta_alpha_db_per_cm(voltage, wavelength)``
   (:class:`PhaseSection`); its Δn_eff, Δα are spread uniformly over the ring (only the
   round-trip sum matters for a reflection-free ring). Temperature: a uniform offset ΔT
   of the whole ring (ambient or heater), Δn_eff = dn_eff/dT · ΔT.

Ports: all-pass o1 (in), o2 (through); add-drop also o3 (drop, top bus left end) and o4
(add, top bus right end). Figures of merit: FSR, loaded Q, extinction, resonance shift
in pm/V and pm/K, beside Bogaerts et al. (2012) closed forms (:mod:`pipeline.circuit.ring`).
``layout(spec)`` is the whole ring in one FDTD cell (solver meep2d): the check.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Protocol

import numpy as np
import xarray as xr
from pydantic import model_validator

from devices import ring_coupler as rc
from pipeline.circuit import ring as circuit
from pipeline.errors import SpecError
from pipeline.fdtd.specs import Meep2DSpec
from pipeline.smatrix import make_smatrix
from pipeline.specs import DeviceSpec, SolverSpec, WavelengthBand, quantity

LOSSLESS = False
DEFAULT_SOLVER = "ring_circuit"


class PhaseSection(Protocol):
    """A phase-shifter section per unit length: Δn_eff [1] and Δα [dB/cm] vs voltage [V]
    and wavelength [µm] (numpy-broadcast)."""

    def delta_neff(self, voltage: Any, wavelength: Any) -> np.ndarray: ...
    def delta_alpha_db_per_cm(self, voltage: Any, wavelength: Any) -> np.ndarray: ...


class RingModulatorSpec(DeviceSpec):
    """Si microring modulator: ring, bus(es), PN section and heater around it."""

    device: ClassVar[str] = "ring_modulator"
    radius: float = quantity(7.5, "um", "ring centre-line radius (design choice: FSR ≈ 12 nm at n_g 4.2)",
                             ge=2.0, le=100.0)
    gap: float = quantity(0.2, "um", "through-bus gap (edge to edge)", gt=0.05, le=1.5)
    drop_gap: float | None = quantity(None, "um", "drop-bus gap; null = all-pass ring", gt=0.05, le=1.5)
    ring_width: float = quantity(0.5, "um", "ring core width", gt=0.2, le=2.0)
    bus_width: float = quantity(0.5, "um", "bus core width", gt=0.2, le=2.0)
    thickness: float = quantity(0.22, "um", "Si layer thickness", gt=0.1, le=1.0)
    bus_extension: float = quantity(1.0, "um", "bus beyond the ring's outer edge (port planes)", ge=0.2, le=20.0)
    pn_fraction: float = quantity(0.7, "1", "fraction of the circumference carrying the PN phase shifter", ge=0, le=1)
    heater_fraction: float = quantity(0.8, "1", "fraction of the circumference under the heater", ge=0, le=1)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the coupler FDTD")
    spectrum_span: float = quantity(0.02, "um", "width of the composed spectrum, centred on the band centre",
                                    gt=0, le=0.2)
    spectrum_points: int = quantity(4001, "1", "wavelength samples of the composed spectrum", ge=101, le=100001)
    voltages: tuple[float, ...] = quantity((-2.0, -1.0, 0.0), "V",
                                           "junction voltages (negative = reverse bias; non-zero values need the "
                                           "pn_phase_shifter entry)")
    temperatures: tuple[float, ...] = quantity((-5.0, 0.0, 5.0), "K", "ring temperature offsets from 300 K")

    @model_validator(mode="after")
    def _checks(self) -> "RingModulatorSpec":
        lo, hi = self.band.center - self.spectrum_span / 2, self.band.center + self.spectrum_span / 2
        if lo < self.band.start or hi > self.band.stop:
            raise ValueError(f"spectrum_span = {self.spectrum_span} um reaches outside band "
                             f"{self.band.start}..{self.band.stop} um. Fix: a narrower span or a wider band.")
        for name in ("voltages", "temperatures"):
            v = getattr(self, name)
            if not v or list(v) != sorted(set(v)):
                raise ValueError(f"{name} = {v!r}: need distinct increasing values. Fix: e.g. (-2.0, -1.0, 0.0).")
        return self

    def coupler_spec(self, which: str = "through") -> rc.RingCouplerSpec:
        """The coupler entry to simulate: ``through`` (gap) or ``drop`` (drop_gap)."""
        gap = self.gap if which == "through" else self.drop_gap
        if gap is None:
            raise SpecError("drop coupler requested for an all-pass ring. Fix: set drop_gap.")
        return rc.RingCouplerSpec(radius=self.radius, gap=gap, ring_width=self.ring_width, bus_width=self.bus_width,
                                  thickness=self.thickness, bus_extension=self.bus_extension, band=self.band)

    def wavelengths(self) -> np.ndarray:
        """The composed spectrum's wavelengths [µm]."""
        c = self.band.center
        return np.linspace(c - self.spectrum_span / 2, c + self.spectrum_span / 2, self.spectrum_points)


Spec = RingModulatorSpec


class RingCircuitSpec(SolverSpec):
    """Coupler FDTD settings of the ring composition (Meep 2D, calibrated material)."""

    solver: ClassVar[str] = "ring_circuit"
    numerics_versions: ClassVar[dict[str, int]] = {"ring-circuit": 1, "meep-fdtd": 1, "mpb-modes": 1}
    version_packages: ClassVar[tuple[str, ...]] = ("meep", "numpy", "scipy")
    resolution: int = quantity(30, "1/um", "coupler FDTD grid points per µm", ge=10, le=200)
    calibration_resolution: int = quantity(64, "1/um", "MPB resolution of the 2D calibration", ge=16, le=256)

    def coupler_solver(self) -> Meep2DSpec:
        return Meep2DSpec(resolution=self.resolution, calibration_resolution=self.calibration_resolution)


class PNSection:
    """:class:`PhaseSection` from a simulated carrier-depletion shifter entry
    (:func:`devices.pn_phase_shifter.model`: Δn_eff vs 0 V and the absolute free-carrier
    power absorption [1/m], doping included, hence Δα over the undoped guide)."""

    def __init__(self, entry: Any) -> None:
        from devices import pn_phase_shifter as pn

        self.key, self._f = entry.key, pn.model(entry)

    def delta_neff(self, voltage: Any, wavelength: Any) -> np.ndarray:
        return self._f(voltage, wavelength)[0]

    def delta_alpha_db_per_cm(self, voltage: Any, wavelength: Any) -> np.ndarray:
        return 10 * np.log10(np.e) * self._f(voltage, wavelength)[1] * 1e-2  # 1/m power -> dB/cm


def default_section(cache: Any) -> PhaseSection | None:
    """The PN section of the default depletion shifter if its entry is in ``cache`` or the
    shipped library (never computed here: `photoprop device simulate pn_phase_shifter`
    builds it), else None."""
    try:
        from devices import pn_phase_shifter as pn
    except ImportError:
        return None
    from pipeline.cache import DeviceCache

    for lib in (cache, DeviceCache()):  # the given cache, else the shipped library
        entry = lib.get(pn.PNPhaseShifterSpec(), pn.PNSolverSpec()) if lib is not None else None
        if entry is not None:
            return PNSection(entry)
    return None


def waveguide_model(cache: Any) -> Any:
    """The strip-waveguide model of the default sweep, from ``cache`` or else the shipped library."""
    from devices import waveguide_model as wm
    from pipeline.cache import DeviceCache
    from pipeline.errors import CacheError
    from pipeline.modes.spec import ModeSolverSpec

    for lib in (cache, DeviceCache()):
        entry = lib.get(wm.WaveguideModelSpec(), ModeSolverSpec()) if lib is not None else None
        if entry is not None:
            return wm.WaveguideModel.from_entry(entry)
    raise CacheError("no waveguide_model entry for the default specs. Fix: "
                     "`photoprop library build --devices waveguide_model`.")


def _round_trip(spec: RingModulatorSpec, model: Any, wl: np.ndarray, v: np.ndarray, dtemp: np.ndarray,
                section: PhaseSection | None) -> dict[str, np.ndarray]:
    dw_r, dw_b = spec.ring_width - model.spec.width, spec.bus_width - model.spec.width
    n_r = model.evaluate("neff", wavelength=wl, dw=dw_r)
    dndt = model.evaluate("dneff_dT", wavelength=wl, dw=dw_r)
    dn_pn = section.delta_neff(v, wl) if section is not None else np.zeros_like(v * wl)
    da_pn = section.delta_alpha_db_per_cm(v, wl) if section is not None else np.zeros_like(v * wl)
    n_ring = n_r + dndt * dtemp + spec.pn_fraction * dn_pn
    alpha = (model.spec.propagation_loss + spec.pn_fraction * da_pn) * 1e-4  # dB/µm
    n_bus = model.evaluate("neff", wavelength=wl, dw=dw_b) + model.evaluate("dneff_dT", wavelength=wl, dw=dw_b) * dtemp
    return {"beta_ring": 2 * np.pi * n_ring / wl, "alpha_db_um": alpha + 0 * n_ring, "beta_bus": 2 * np.pi * n_bus / wl,
            "ng": model.evaluate("ng", wavelength=wl, dw=dw_r), "dneff_dT": dndt, "neff": n_r,
            "pn_delta_neff": dn_pn + 0 * n_ring}


#: Entries kept from the FDTD coupler: co-directional transfer only (o1→o4, o1→o3, o2→o3,
#: o2→o4 and their reciprocals). Reflections and backscatter into the counter-propagating
#: ring mode are dropped: in the FDTD they are the discretisation floor (|S| ≈ 0.01–0.06 at
#: the ring ports at 30 px/µm: the staircased straight-to-bend junction), while a smooth ring
#: coupler's real backscatter is orders below; kept, that floor would split every resonance.
#: The largest dropped |S| is recorded in the entry's checks (``dropped_max``).
FORWARD = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=float)


def embedded_coupler(entry: Any, wl: np.ndarray, beta_ring: np.ndarray, amp_half: np.ndarray,
                     beta_bus: np.ndarray) -> np.ndarray:
    """The FDTD coupler (..., 4, 4) on ``wl``: de-embedded of the 2D slab's propagation,
    interpolated, re-embedded with ``beta_ring`` [rad/µm] over π R (amplitude ``amp_half``)
    and ``beta_bus`` over the bus length."""
    s, _ = rc.coupler_smatrix(entry)
    wl_f = np.asarray(entry.smatrix.wavelength.values)
    spec = entry.device_spec
    lay = rc.layout(spec)
    xb = lay.bbox[1]
    half = np.pi * spec.radius / 2
    b2 = rc.beta_2d(entry, wl_f)
    d = np.exp(-1j * np.stack([b2 * xb, b2 * half, b2 * half, b2 * xb], axis=-1))
    flat = d[:, :, None] * s * d[:, None, :] * FORWARD
    from scipy.interpolate import CubicSpline

    mag = CubicSpline(wl_f, np.abs(flat), axis=0)(wl)
    ph = CubicSpline(wl_f, np.unwrap(np.angle(flat), axis=0), axis=0)(wl)
    f = mag * np.exp(1j * ph) * FORWARD
    dm = np.stack(np.broadcast_arrays(np.exp(1j * beta_bus * xb), np.exp(1j * beta_ring * half) * np.sqrt(amp_half),
                                      np.exp(1j * beta_ring * half) * np.sqrt(amp_half), np.exp(1j * beta_bus * xb)),
                  axis=-1)
    return dm[..., :, None] * f * dm[..., None, :]


def compose(spec: RingModulatorSpec, couplers: dict[str, Any], model: Any, section: PhaseSection | None, *,
            voltages: Any = None, temperatures: Any = None, wavelengths: Any = None) -> xr.Dataset:
    """Through/drop S (voltage, temperature, wavelength, port_out, port_in) and the round
    trip's ingredients, every variable with units. ``couplers``: {"through": entry[, "drop"]}."""
    wl = spec.wavelengths() if wavelengths is None else np.asarray(wavelengths, float)
    v = np.asarray(spec.voltages if voltages is None else voltages, float)
    tt = np.asarray(spec.temperatures if temperatures is None else temperatures, float)
    if section is None and np.any(v != 0):
        raise SpecError(f"voltages = {v.tolist()} V need a phase-shifter section. Fix: pass section=... or "
                        "voltages=(0.0,).")
    V, T, L = np.meshgrid(v, tt, wl, indexing="ij")
    rt = _round_trip(spec, model, L, V, T, section)
    half_len = math.pi * spec.radius
    amp_half = 10 ** (-rt["alpha_db_um"] * half_len / 20)
    bottom = embedded_coupler(couplers["through"], L, rt["beta_ring"], amp_half, rt["beta_bus"])
    if spec.drop_gap is None:
        p = -np.exp(1j * rt["beta_ring"] * half_len) * amp_half  # free top half: its 180° turn gives −1
        s, ports = circuit.close_loop(bottom, p), ["o1", "o2"]
    else:
        top = embedded_coupler(couplers["drop"], L, rt["beta_ring"], amp_half, rt["beta_bus"])
        s, ports = circuit.close_add_drop(bottom, top, -np.ones_like(L), -np.ones_like(L)), ["o1", "o2", "o3", "o4"]
    cp = rc.coupling(couplers["through"])
    S = make_smatrix(s, wl, ports, sweep={"voltage": v, "temperature": tt},
                     provenance={"model": "devices.ring_modulator", "coupler_key": couplers["through"].key})
    dims = ("voltage", "temperature", "wavelength")
    ds = xr.Dataset({
        "S": S,
        "round_trip_amplitude": (dims, amp_half**2, {"units": "1", "meaning": "propagation only (coupler excluded)"}),
        "neff": (("wavelength",), rt["neff"][0, 0], {"units": "1"}),
        "ng": (("wavelength",), rt["ng"][0, 0], {"units": "1"}),
        "dneff_dT": (("wavelength",), rt["dneff_dT"][0, 0], {"units": "1/K"}),
        "pn_delta_neff": (("voltage", "wavelength"), rt["pn_delta_neff"][:, 0], {
            "units": "1", "meaning": "Delta n_eff of the PN section vs 0 V (applied over pn_fraction of the ring)"}),
        "coupler_t": (("coupler_wavelength",), cp["t"], {"units": "1", "meaning": "|S[o4,o1]| bus self-coupling"}),
        "coupler_kappa": (("coupler_wavelength",), cp["kappa"], {"units": "1", "meaning": "|S[o3,o1]|"}),
        "coupler_t_ring": (("coupler_wavelength",), cp["t_ring"], {"units": "1", "meaning": "|S[o3,o2]| ring self-coupling"}),
        "coupler_loss": (("coupler_wavelength",), cp["loss"], {"units": "1", "meaning": "1 - |t|^2 - |kappa|^2"}),
        "coupler_excess_phase": (("coupler_wavelength",), cp["excess_phase"], {"units": "rad"}),
    }, coords={"coupler_wavelength": ("coupler_wavelength", cp["wavelength"], {"units": "um"})})
    ds["voltage"].attrs["units"], ds["temperature"].attrs["units"], ds["wavelength"].attrs["units"] = "V", "K", "um"
    return ds


def simulate(device: RingModulatorSpec, solver: RingCircuitSpec | None = None, *, cache: Any,
             overwrite: bool = False, timeout_s: float = 1800.0, section: PhaseSection | None = None) -> tuple[Any, bool]:
    """Coupler FDTD entries (cached) + waveguide model → the composed entry ``(entry, cached)``."""
    solver = solver or RingCircuitSpec()
    section = section if section is not None else default_section(cache)
    if section is None and any(v != 0 for v in device.voltages):
        raise SpecError(f"voltages = {device.voltages} V: no PN phase-shifter model is available yet "
                        "in the library (pn_phase_shifter entry). Fix: `photoprop device simulate pn_phase_shifter` first, or "
                        "--set voltages='[0.0]'.")
    kinds = ["through"] + (["drop"] if device.drop_gap is not None else [])

    def compute() -> tuple[xr.Dataset, dict, dict]:
        fdtd = {k: rc.simulate(device.coupler_spec(k), solver.coupler_solver(), cache=cache, timeout_s=timeout_s)[0]
                for k in kinds}
        ds = compose(device, fdtd, waveguide_model(cache), section)
        checks = {f"{k}_coupler_{c}": fdtd[k].checks.get(c) for k in kinds for c in ("passed", "reciprocity_error")}
        checks["dropped_max"] = max(float(np.max(np.abs(rc.coupler_smatrix(e)[0] * (1 - FORWARD))))
                                    for e in fdtd.values())
        checks["reciprocity_ratio_error"] = max(rc.coupling(e)["reciprocity_ratio_error"] for e in fdtd.values())
        checks["max_output_power"] = float(np.max(np.sum(np.abs(ds.S.values) ** 2, axis=-2)))
        checks["passed"] = bool(checks["max_output_power"] <= 1.02 and all(
            checks[f"{k}_coupler_passed"] for k in kinds) and checks["reciprocity_ratio_error"] <= 0.02)
        prov = {"couplers": {k: e.key for k, e in fdtd.items()}, "section": getattr(section, "key", type(section).__name__) if section else None,
                "waveguide_model": "devices.waveguide_model default entry"}
        return ds, prov, checks

    return cache.get_or_compute(device, solver, compute, overwrite=overwrite)


def layout(spec: RingModulatorSpec) -> Any:
    """The whole ring in one FDTD cell (solver meep2d): the check of the composition."""
    return rc.ring_layout(spec.radius, spec.gap, spec.ring_width, spec.bus_width, spec.thickness,
                          spec.bus_extension, spec.drop_gap)


def shift_per(ds: xr.Dataset, dim: str, near: float) -> float | None:
    """Resonance shift [pm per unit of ``dim``] by a straight-line fit over ``dim``."""
    if ds.sizes[dim] < 2:
        return None
    other = "temperature" if dim == "voltage" else "voltage"
    sel = ds.S.sel({other: 0.0}, method="nearest").sel(port_out="o2", port_in="o1")
    x = ds[dim].values
    lam = [circuit.figures(ds.wavelength.values, np.abs(sel.sel({dim: xi}).values) ** 2, near=near)["resonance_um"]
           for xi in x]
    return float(np.polyfit(x, lam, 1)[0] * 1e6)


def figures_of_merit(entry: Any, **_: Any) -> dict[str, Any]:
    """FSR, loaded Q, extinction, pm/V, pm/K at 0 V, 0 K beside the Bogaerts closed forms."""
    spec = entry.device_spec
    ds = entry.data
    if "voltage" not in ds.dims:  # a whole-ring FDTD entry
        s = ds.S if "S" in ds else entry.smatrix
        p = np.abs(s.sel(port_out="o2", port_in="o1").values) ** 2
        return {"kind": "whole-ring FDTD", **circuit.figures(s.wavelength.values, p, near=spec.band.center)}
    s0 = ds.S.sel(voltage=0.0, temperature=0.0, method="nearest").sel(port_out="o2", port_in="o1")
    wl = ds.wavelength.values
    fom = circuit.figures(wl, np.abs(s0.values) ** 2, near=spec.band.center)
    lam = fom["resonance_um"]
    ng, dndt = float(ds.ng.interp(wavelength=lam)), float(ds.dneff_dT.interp(wavelength=lam))
    length = 2 * math.pi * spec.radius
    t = float(np.interp(lam, ds.coupler_wavelength.values, ds.coupler_t.values))
    a = float(ds.round_trip_amplitude.sel(voltage=0.0, temperature=0.0, method="nearest").interp(wavelength=lam))
    # loop gain r·a = |t_ring| · a_prop exactly (r = |t| of the bus, Bogaerts' point coupler)
    a_c = a * float(np.interp(lam, ds.coupler_wavelength.values, ds.coupler_t_ring.values)) / t
    ref = circuit.closed_form_figures(t, a_c, lam, ng, length)
    if "fsr_partner_um" in fom:  # the measured spacing is λ1 λ2 / (n_g L), n_g between the two resonances
        lam2 = fom["fsr_partner_um"]
        ng_mid = float(ds.ng.interp(wavelength=0.5 * (lam + lam2)))
        ref["fsr_um"] = lam * lam2 / (ng_mid * length)
    out = {"resonance_um": lam, "fsr_nm": fom.get("fsr_um", float("nan")) * 1e3, "q_loaded": fom["q_loaded"],
           "extinction_db": fom["extinction_db"], "pm_per_K": shift_per(ds, "temperature", lam),
           "pm_per_V": shift_per(ds, "voltage", lam),
           "reference_fsr_nm": ref["fsr_um"] * 1e3, "reference_q_loaded": ref["q_loaded"],
           "reference_extinction_db": ref["extinction_db"], "reference_pm_per_K": lam * dndt / ng * 1e6,
           "self_coupling_t": t, "power_coupling": 1 - t**2, "round_trip_amplitude": a_c, "ng": ng,
           "dneff_dT_per_K": dndt, "coupler_loss": float(np.interp(lam, ds.coupler_wavelength.values,
                                                                  ds.coupler_loss.values)),
           "pn_section": entry.provenance.get("section")}
    if "pn_delta_neff" in ds and ds.sizes["voltage"] > 1:  # first order: Δλ = λ f Δn_eff(V) / n_g
        v = ds.voltage.values
        dn = np.array([float(ds.pn_delta_neff.sel(voltage=vi).interp(wavelength=lam)) for vi in v])
        out["reference_pm_per_V"] = float(np.polyfit(v, lam * spec.pn_fraction * dn / ng, 1)[0] * 1e6)
        out["voltages_V"] = [float(x) for x in v]
    if out["pm_per_V"] is None:
        out["pm_per_V_note"] = "one voltage only: set voltages (needs the pn_phase_shifter entry in the library)"
    return out

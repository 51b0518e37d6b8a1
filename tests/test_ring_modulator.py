"""Microring modulator: composition against the closed-form all-pass ring (Bogaerts et al.,
Laser Photonics Rev. 6, 47 (2012)), the FoM extractor, the voltage and temperature paths,
spec errors; slow: the FDTD coupler and a whole-ring FDTD run.

Fast tests use a closed-form *reference* coupler (unitary, reflection-free) in an entry-like
object so that the composition machinery is checked against the closed form to round-off;
the waveguide model is the real cached MPB sweep."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import devices.ring_modulator as rm
from devices import ring_coupler as rc
from pipeline.circuit import ring as circuit
from pipeline.errors import SpecError
from pipeline.fdtd import slab
from pipeline.smatrix import make_smatrix

NC, NB = 2.835, 1.161  # a 2D core/cladding pair (any constant indices will do for the reference)


@pytest.fixture(scope="module")
def model():
    return rm.waveguide_model(None)


def reference_entry(spec: rm.RingModulatorSpec, r: float) -> SimpleNamespace:
    """A unitary, reflection-free coupler t = r, κ = i√(1−r²) carrying the 2D slab's
    propagation over its port paths (so that the de-embedding removes it exactly)."""
    cs = spec.coupler_spec()
    wl = np.asarray(cs.band.wavelengths())
    b2 = np.array([2 * np.pi / w * slab.single_neff(float(w), cs.ring_width, NC, NB) for w in wl])
    xb, half = rc.layout(cs).bbox[1], np.pi * cs.radius / 2
    k = 1j * math.sqrt(1 - r * r)
    s = np.zeros((wl.size, 4, 4), complex)
    s[:, 3, 0] = s[:, 0, 3] = s[:, 2, 1] = s[:, 1, 2] = r
    s[:, 2, 0] = s[:, 0, 2] = s[:, 1, 3] = s[:, 3, 1] = k
    d = np.exp(1j * np.stack([b2 * xb, b2 * half, b2 * half, b2 * xb], axis=-1))
    s = d[:, :, None] * s * d[:, None, :]
    media = {"core_medium": {"eps_inf": NC**2, "sigma": 0.0}, "clad_medium": {"eps_inf": NB**2, "sigma": 0.0}}
    return SimpleNamespace(smatrix=make_smatrix(s, wl, list(rc.PORTS)), device_spec=cs, key="reference",
                           provenance={"material_model": media})


class LinearSection:
    """Closed-form test input: Δn_eff = c V, Δα = d |V| [dB/cm]."""

    def __init__(self, c: float, d: float) -> None:
        self.c, self.d = c, d

    def delta_neff(self, voltage, wavelength):
        return self.c * np.asarray(voltage) + 0 * np.asarray(wavelength)

    def delta_alpha_db_per_cm(self, voltage, wavelength):
        return self.d * np.abs(voltage) + 0 * np.asarray(wavelength)


def test_composed_allpass_equals_bogaerts_to_round_off(model):
    spec = rm.RingModulatorSpec(radius=5.0, spectrum_points=2001, voltages=(0.0,))
    r = 0.97
    ds = rm.compose(spec, {"through": reference_entry(spec, r)}, model, None)
    wl = ds.wavelength.values
    n = model.evaluate("neff", wavelength=wl)
    length = 2 * np.pi * spec.radius
    phi = 2 * np.pi * n * length / wl + np.pi  # the free half ring's 180° turn: −1
    a = 10 ** (-model.spec.propagation_loss * 1e-4 * length / 20)
    want = circuit.allpass_closed_form(r, a, phi)
    got = np.abs(ds.S.sel(voltage=0.0, temperature=0.0, port_out="o2", port_in="o1").values) ** 2
    assert np.max(np.abs(got - want)) < 1e-9


def test_fom_extractor_recovers_closed_form(model):
    r, a, radius = 0.99, 0.995, 5.0
    length = 2 * np.pi * radius
    wl = np.linspace(1.53, 1.57, 40001)
    phi = 2 * np.pi * model.evaluate("neff", wavelength=wl) * length / wl
    fom = circuit.figures(wl, circuit.allpass_closed_form(r, a, phi), near=1.55)
    lam = 0.5 * (fom["resonance_um"] + fom["fsr_partner_um"])  # FSR = λ1 λ2 / (n_g L), n_g at the midpoint
    ng = float(model.evaluate("neff", wavelength=lam)
               - lam * (model.evaluate("neff", wavelength=lam + 1e-4) - model.evaluate("neff", wavelength=lam - 1e-4)) / 2e-4)
    ref = circuit.closed_form_figures(r, a, lam, ng, length)  # n_g of the n_eff that built the spectrum
    fsr_ref = fom["resonance_um"] * fom["fsr_partner_um"] / (ng * length)
    assert fom["fsr_um"] == pytest.approx(fsr_ref, rel=2e-3)
    ref = circuit.closed_form_figures(r, a, fom["resonance_um"], ng, length)
    assert fom["q_loaded"] == pytest.approx(ref["q_loaded"], rel=0.01)
    assert fom["extinction_db"] == pytest.approx(ref["extinction_db"], abs=0.05)


def test_voltage_and_temperature_shifts_match_first_order(model):
    c, frac = -2e-5, 0.7
    spec = rm.RingModulatorSpec(radius=5.0, pn_fraction=frac, voltages=(-2.0, -1.0, 0.0), temperatures=(0.0, 2.0),
                                spectrum_span=0.03, spectrum_points=30001)
    ds = rm.compose(spec, {"through": reference_entry(spec, 0.98)}, model, LinearSection(c, 1.0))
    entry = SimpleNamespace(device_spec=spec, data=ds, provenance={"section": "linear"})
    fom = rm.figures_of_merit(entry)
    lam, ng = fom["resonance_um"], fom["ng"]
    assert fom["pm_per_V"] == pytest.approx(lam * frac * c / ng * 1e6, rel=0.02)
    assert fom["pm_per_K"] == pytest.approx(fom["reference_pm_per_K"], rel=0.02)
    assert fom["q_loaded"] == pytest.approx(fom["reference_q_loaded"], rel=0.01)


def _shipped_pn_section():
    from devices import pn_phase_shifter as pn
    from pipeline.cache import DeviceCache

    entry = DeviceCache().get(pn.PNPhaseShifterSpec(), pn.PNSolverSpec())
    if entry is None:
        pytest.skip("no shipped pn_phase_shifter entry")
    return rm.PNSection(entry), entry.key


def test_pm_per_volt_from_the_shipped_pn_shifter_matches_first_order(model):
    """The real depletion shifter (shipped pn_phase_shifter entry through PNSection):
    the resonance shift per voltage is λ f Δn_eff(V) / n_g (f = PN fraction of the
    circumference), per voltage and as the fitted pm/V, within 2 %."""
    section, key = _shipped_pn_section()
    frac = 0.7
    spec = rm.RingModulatorSpec(radius=5.0, pn_fraction=frac, voltages=(-2.0, -1.0, 0.0), temperatures=(0.0,),
                                spectrum_span=0.03, spectrum_points=30001)
    ds = rm.compose(spec, {"through": reference_entry(spec, 0.98)}, model, section)
    fom = rm.figures_of_merit(SimpleNamespace(device_spec=spec, data=ds, provenance={"section": key}))
    lam, ng = fom["resonance_um"], fom["ng"]
    v = np.asarray(spec.voltages)
    shift = lam * frac * np.asarray(section.delta_neff(v, lam)) / ng * 1e6  # pm, vs 0 V
    assert abs(shift[0]) > 5.0  # a real depletion shift (tens of pm at -2 V), not round-off
    assert fom["pm_per_V"] == pytest.approx(np.polyfit(v, shift, 1)[0], rel=0.02)
    s = ds.S.sel(temperature=0.0, port_out="o2", port_in="o1")
    for vi, want in zip(v, shift):
        got = circuit.figures(ds.wavelength.values, np.abs(s.sel(voltage=vi).values) ** 2, near=lam)["resonance_um"]
        assert (got - lam) * 1e6 == pytest.approx(want, rel=0.02, abs=0.5)


def test_shipped_default_ring_entry_figures_against_closed_forms():
    """The shipped default entry (FDTD coupler at 30 px/µm, PN shifter, waveguide model):
    physics checks pass without any correction and the figures sit beside their closed forms."""
    from pipeline.cache import DeviceCache

    entry = DeviceCache().get(rm.RingModulatorSpec(), rm.RingCircuitSpec())
    if entry is None:
        pytest.skip("no shipped ring_modulator entry")
    assert entry.checks["passed"] and entry.checks["through_coupler_passed"]
    assert entry.checks["reciprocity_ratio_error"] < 0.02
    fom = rm.figures_of_merit(entry)
    assert fom["fsr_nm"] == pytest.approx(fom["reference_fsr_nm"], rel=0.01)
    assert fom["q_loaded"] == pytest.approx(fom["reference_q_loaded"], rel=0.05)
    assert fom["pm_per_K"] == pytest.approx(fom["reference_pm_per_K"], rel=0.02)
    assert fom["pm_per_V"] is not None and fom["pm_per_V"] < 0  # reverse bias red-shifts
    assert fom["pm_per_V"] == pytest.approx(fom["reference_pm_per_V"], rel=0.03)


def test_add_drop_conserves_power_without_loss(model):
    spec = rm.RingModulatorSpec(radius=5.0, drop_gap=0.25, spectrum_points=501, voltages=(0.0,))
    e = reference_entry(spec, 0.95)
    lossless = SimpleNamespace(evaluate=model.evaluate, spec=SimpleNamespace(width=model.spec.width, propagation_loss=0.0))
    ds = rm.compose(spec, {"through": e, "drop": e}, lossless, None)
    s = ds.S.sel(voltage=0.0, temperature=0.0)
    power = (np.abs(s.sel(port_in="o1")) ** 2).sum("port_out").values
    assert np.max(np.abs(power - 1)) < 1e-9


def test_spec_errors_name_field_and_fix():
    with pytest.raises(SpecError, match="spectrum_span"):
        rm.RingModulatorSpec(spectrum_span=0.15)
    with pytest.raises(SpecError, match="voltages"):
        rm.RingModulatorSpec(voltages=(0.0, -1.0))
    with pytest.raises(SpecError, match="drop_gap"):
        rm.RingModulatorSpec().coupler_spec("drop")


@pytest.mark.slow
def test_fdtd_coupler_and_whole_ring_against_composition(tmp_path):
    """Coupler FDTD (30 px/µm) composed vs the whole ring in one FDTD cell (zero bias):
    resonance nearest 1.55 µm within 0.1 FSR and its extinction within 3 dB (the whole-ring
    run has the 2D slab's constant-index n_g ≈ 4.0 and no 2 dB/cm loss; the composition the
    3D model's n_g ≈ 4.18 and the loss; resonances are calibrated to coincide at the band centre)."""
    from solvers import needs_solver

    needs_solver("meep")
    from pipeline.cache import DeviceCache
    from pipeline.fdtd.simulate import compute_smatrix
    from pipeline.fdtd.specs import Meep2DSpec

    lib = DeviceCache(tmp_path)
    spec = rm.RingModulatorSpec(radius=3.0, gap=0.15, band={"start": 1.50, "stop": 1.60, "points": 11},
                                spectrum_span=0.06, spectrum_points=30001, temperatures=(0.0,), voltages=(0.0,))
    entry, _ = rm.simulate(spec, rm.RingCircuitSpec(resolution=30, calibration_resolution=32), cache=lib)
    fom = rm.figures_of_merit(entry)
    ring = spec.model_copy(update={"band": {"start": 1.52, "stop": 1.58, "points": 3001}})
    s, _, _ = compute_smatrix(ring, Meep2DSpec(resolution=30, calibration_resolution=32, max_time=20000,
                                               normalize_reflections=False), rm.layout(ring), timeout_s=7200)
    p = np.abs(s.sel(port_out="o2", port_in="o1").values) ** 2
    whole = circuit.figures(s.wavelength.values, p, near=fom["resonance_um"])
    assert abs(whole["resonance_um"] - fom["resonance_um"]) < 0.1 * fom["fsr_nm"] * 1e-3
    assert whole["extinction_db"] == pytest.approx(fom["extinction_db"], abs=3.0)

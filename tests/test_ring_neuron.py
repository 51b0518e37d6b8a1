"""The microring neuron (pipeline.chip.ring_neuron, ring_lock): its transmission is the
library's ring composition; its shape follows the operating point (ReLU- or sigmoid-like,
with the Lorentzian's inflection where the closed form puts it); the detuned-pair
derivative stays within the bound the junction's pm/V spread, the finite difference and
the loss modulation give (and a wrongly locked pair leaves it); the lock reaches its
DAC/convergence bound from counted readings (a one-pass lock does not); a temperature
offset moves the activation by the entry's pm/K."""

import math

import numpy as np
import pytest

from devices import pn_phase_shifter as pn
from devices import ring_modulator as rm
from pipeline.chip import neuron as nr
from pipeline.chip import ring_neuron as rn
from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.errors import SpecError


@pytest.fixture(scope="module")
def entry(library):
    return [e for e in library.entries("ring_modulator") if e.device_spec == rm.RingModulatorSpec()][0]


@pytest.fixture(scope="module")
def resp(library, entry):
    return rn.response(library, float(entry.data.wavelength.values[2000]))


@pytest.fixture(scope="module")
def ring_die(library):
    return AttenuatorArchitecture(neuron={"kind": "ring"}).sample_die("realistic", 0, library=library)


def test_transmission_is_the_stored_composition(entry, resp, library):
    """At the entry's own voltages, temperatures and a grid wavelength the closed loop equals
    the stored |S[o2,o1]|²; off the grid (V = −1.3 V, ΔT = 2.1 K) it equals a fresh compose."""
    s = entry.data.S.sel(port_out="o2", port_in="o1").values[..., 2000]
    for iv, v in enumerate(entry.data.voltage.values):
        for it, t in enumerate(entry.data.temperature.values):
            got = resp.transmission(np.array(resp.theta0 + resp.dtheta_dT * t), np.array(v))
            assert got == pytest.approx(abs(s[iv, it]) ** 2, rel=1e-9, abs=1e-12)
    cp = [e for e in library.entries("ring_coupler") if e.key == entry.provenance["couplers"]["through"]][0]
    sec = rm.PNSection([e for e in library.entries("pn_phase_shifter") if e.key == entry.provenance["section"]][0])
    ds = rm.compose(entry.device_spec, {"through": cp}, library.model("waveguide"), sec, voltages=[-1.3],
                    temperatures=[2.1], wavelengths=[resp.wavelength])
    ref = abs(ds.S.sel(port_out="o2", port_in="o1").values[0, 0, 0]) ** 2
    assert resp.transmission(np.array(resp.theta0 + resp.dtheta_dT * 2.1), np.array(-1.3)) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("detuning", [0.0, -20.0])
def test_operating_point_puts_the_resonance_detuning_away(entry, resp, library, detuning):
    """Full-spectrum composition at the ring temperature the operating point implies: the dip
    sits at λ_L − detuning (0.3 pm: the n_g linearisation of the detuning ↔ phase map)."""
    op = rn.RingOperatingPoint(rn.RingNeuronSpec(detuning=detuning), resp, 1.0)
    dtheta = np.angle(np.exp(1j * (op.target_theta[0] - resp.theta0)))
    cp = [e for e in library.entries("ring_coupler") if e.key == entry.provenance["couplers"]["through"]][0]
    sec = rm.PNSection([e for e in library.entries("pn_phase_shifter") if e.key == entry.provenance["section"]][0])
    wl = resp.wavelength + np.linspace(-0.2e-3, 0.2e-3, 4001)
    ds = rm.compose(entry.device_spec, {"through": cp}, library.model("waveguide"), sec, voltages=[0.0],
                    temperatures=[dtheta / resp.dtheta_dT], wavelengths=wl)
    t = np.abs(ds.S.sel(port_out="o2", port_in="o1").values[0, 0]) ** 2
    k = int(np.argmin(t))
    y0, y1, y2 = t[k - 1:k + 2]
    lam_res = wl[k] + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) * (wl[1] - wl[0])
    assert (resp.wavelength - lam_res) * 1e6 == pytest.approx(detuning, abs=0.3)


def test_shape_follows_the_operating_point(resp, entry):
    """ReLU-like at bias −1 V / swing 1 V on resonance, sigmoid-like over 0 → −2 V; the slope
    per pm of resonance shift peaks where the resonance has moved HWHM/√3 (the Lorentzian's
    inflection, HWHM = λ/(2Q) from the entry's loaded Q)."""
    relu, sig = rn.shape_table(rn.RELU, resp), rn.shape_table(rn.SIGMOID, resp)
    assert relu["shape"] == "relu-like" and sig["shape"] == "sigmoid-like"
    assert rn.shape_table(rn.RingNeuronSpec(detuning=-20.0), resp)["shape"] == "saturating"
    assert relu["f"][0] < 0.1 and sig["f"][0] < 0.05 and relu["f"][-1] == pytest.approx(1.0)
    fom = rm.figures_of_merit(entry)
    hwhm = fom["resonance_um"] / (2 * fom["q_loaded"]) * 1e6
    op = rn.RingOperatingPoint(rn.SIGMOID, resp, 1.0)
    z = np.linspace(0, 1, 4001)[1:-1]
    x = (resp.theta_v(op.voltage(z)) - resp.theta_v(np.array(0.0))) / resp.dtheta_dpm  # resonance moved [pm]
    per_pm = op.activation_derivative(z) / np.abs(np.gradient(x, z))  # df/dx: the dip's own slope
    assert abs(x[np.argmax(per_pm)]) == pytest.approx(hwhm / math.sqrt(3), rel=0.1)
    text = rn.format_shape_table({"relu": relu, "sigmoid": sig})
    assert "relu-like" in text and "sigmoid-like" in text


def test_drive_outside_the_simulated_voltages_is_refused(resp):
    with pytest.raises(SpecError, match="drive_swing"):
        rn.RingNeuronSpec(bias_voltage=-0.5, drive_swing=2.0)
    with pytest.raises(SpecError, match="bias_voltage"):
        rn.RingNeuronSpec(bias_voltage=0.3)
    with pytest.raises(SpecError, match="outside the simulated"):
        resp.check_voltage(np.array([-2.5]), "bias_voltage/drive_swing")


def _bound(resp, entry, spec: rn.RingNeuronSpec, library) -> dict:
    """Independent terms of the pair derivative's error (relative to max f'): the PN model's
    pm/V spread about the chord (weighted by the Lorentzian slope where it occurs), the Lorentzian finite-difference term δ²/6 max|T'''|/max|T'|
    (HWHM from the entry's Q) and the loss modulation (Bogaerts' all-pass form with the entry's
    loop gain and round-trip amplitude vs V)."""
    fom = rm.figures_of_merit(entry)
    lam = resp.wavelength
    v = np.linspace(spec.bias_voltage - spec.drive_swing, spec.bias_voltage, 2001)
    pnf = pn.model([e for e in library.entries("pn_phase_shifter") if e.key == entry.provenance["section"]][0])
    shift = lam * entry.device_spec.pn_fraction * pnf(v, lam)[0] / fom["ng"] * 1e6
    s = np.gradient(shift, v)
    chord = (shift[-1] - shift[0]) / (v[-1] - v[0])
    g = fom["resonance_um"] / (2 * fom["q_loaded"]) * 1e6
    # the chord error |s/s̄ − 1| weighted by the Lorentzian's slope there, |T'(x(V))| · |s(V)|
    xv = spec.detuning - (shift - shift[-1])
    w = np.abs(2 * xv / g ** 2 / (1 + (xv / g) ** 2) ** 2) * np.abs(s)
    spread = float(np.max(np.abs(s / chord - 1) * w / w.max()))
    x = np.linspace(-5 * g, 5 * g, 20001)
    t = 1 / (1 + (x / g) ** 2)
    d1, d3 = np.gradient(t, x), np.gradient(np.gradient(np.gradient(t, x), x), x)
    fd = spec.derivative_detuning ** 2 / 6 * np.max(np.abs(d3)) / np.max(np.abs(d1))
    # loss: T(φ, a) = (a² − 2ra cos φ + r²)/(1 − 2ar cos φ + r²a²); relative change of ∂T/∂φ-driven slope
    r, a0 = fom["self_coupling_t"], fom["round_trip_amplitude"]
    amp = entry.data.round_trip_amplitude.sel(temperature=0.0).interp(wavelength=fom["resonance_um"]).values
    da = a0 * (math.sqrt(amp[0] / amp[-1]) - 1)  # a(−2 V) − a(0 V)
    phi = np.linspace(-0.1, 0.1, 20001)

    def tb(p, a):
        return (a * a - 2 * r * a * np.cos(p) + r * r) / (1 - 2 * a * r * np.cos(p) + (r * a) ** 2)

    dphi = abs(chord * spec.drive_swing) * resp.dtheta_dpm
    slope_phi = np.max(np.abs(np.gradient(tb(phi, a0), phi))) * dphi
    slope_a = np.max(np.abs(tb(phi, a0 + 1e-6) - tb(phi, a0 - 1e-6)) / 2e-6) * abs(da)
    return {"spread": spread, "fd": fd, "loss": slope_a / slope_phi, "total": spread + fd + slope_a / slope_phi}


@pytest.mark.parametrize("spec", [rn.SIGMOID, rn.RELU], ids=["sigmoid", "relu"])
def test_pair_derivative_error_within_the_physical_bound(resp, entry, spec, library):
    op = rn.RingOperatingPoint(spec, resp, 1.0)
    z = np.linspace(0, 1, 2001)[1:-1]
    exact = op.activation_derivative(z)
    err = np.max(np.abs(op.pair_derivative(z) - exact)) / exact.max()
    b = _bound(resp, entry, spec, library)
    print(f"{spec.bias_voltage} V/{spec.drive_swing} V: error {err:.3f} of max f'; bound {b}")
    assert err <= b["total"]
    assert err >= 0.5 * b["spread"]  # the junction's non-linearity is the real, dominant term
    # a deliberately wrong pair: both derivative rings locked 3 pm off their detunings
    wrong = op.target_theta - resp.dtheta_dpm * np.array([0.0, 3.0, 3.0])
    err_wrong = np.max(np.abs(op.pair_derivative(z, wrong) - exact)) / exact.max()
    assert err_wrong > b["total"]


def test_lock_reaches_its_bound_from_counted_readings(ring_die, library):
    """Residual ≤ half a 16-bit DAC step over 1.25 FSR + the stop tolerance (0.01 HWHM) +
    the Lorentzian fit's width error on the ±δ rings (2 % of δ): 0.12 + 0.24 + 0.1 pm."""
    n = ring_die.neuron
    hw = n.op.hwhm_pm
    bound = 0.5 * 1.25 * n.resp.fsr_pm / 2 ** 16 + 0.01 * hw + 0.02 * n.op.spec.derivative_detuning
    assert np.max(np.abs(n.residual_pm())) <= bound
    assert np.std(n.fabricated_offset_pm()) > 100 * bound  # the fabrication spread it removed
    mzm = AttenuatorArchitecture().sample_die("realistic", 0, library=library)
    assert ring_die.calibration_measurements == mzm.calibration_measurements + n.lock_measurements > 0
    err = n.activation_error()
    assert err["activation"] < 0.02
    # nominal heater powers (no lock) leave the rings wherever fabrication put them
    unlocked = AttenuatorArchitecture(neuron={"kind": "ring", "ring": {"lock": False}}).sample_die(
        "realistic", 0, library=library)
    assert np.median(np.abs(unlocked.neuron.residual_pm())) > 100 * bound
    # a broken lock — one pass, no crosstalk correction — misses the bound
    one = AttenuatorArchitecture(neuron={"kind": "ring", "ring": {"lock_passes": 1}}).sample_die(
        "realistic", 0, library=library)
    assert np.max(np.abs(one.neuron.residual_pm())) > 10 * bound


def test_temperature_offset_moves_the_activation_by_the_entry_pm_per_K(ring_die, entry):
    n = ring_die.neuron
    before, z = n.residual_pm().copy(), np.linspace(0, 1, 11)
    f0 = n.transmissions(z[:, None], slice(0, 1))[0]
    n.ambient += 0.1
    try:
        moved = before - n.residual_pm()
        f1 = n.transmissions(z[:, None], slice(0, 1))[0]
    finally:
        n.ambient -= 0.1
    assert np.mean(moved) == pytest.approx(0.1 * rm.figures_of_merit(entry)["pm_per_K"], rel=0.02)  # red shift
    assert np.max(np.abs(f1 - f0)) > 0.05


def test_ring_die_trains_its_gradient_direction(library):
    """Ideal-impairment ring die: the in-situ gradient points along the finite-difference
    gradient of the die's own loss (the pair's pm/V error scales it per sample)."""
    arch = AttenuatorArchitecture(neuron={"kind": "ring"})
    die = arch.sample_die("ideal", 0, library=library)
    rng = np.random.default_rng(1)
    p = arch.init_params(rng)
    x, t = rng.uniform(0, 1, (40, 2)), rng.uniform(0.2, 0.8, (40, 1))
    die.program(p)
    _, g = die.insitu_gradient(x, t)
    h = 1e-5
    fd = np.array([(die.true_loss(np.clip(p + h * e, -1, 1), x, t) - die.true_loss(np.clip(p - h * e, -1, 1), x, t))
                   / (2 * h) for e in np.eye(arch.n_params)])
    cos = g @ fd / np.linalg.norm(g) / np.linalg.norm(fd)
    assert cos > 0.95


def test_mzm_neuron_model_is_the_modulator_functions():
    rng = np.random.default_rng(0)
    a, b = nr.mzi_coefficients(rng.uniform(0.4, 0.6, 5), rng.uniform(0.4, 0.6, 5))
    bias = 0.05 * rng.standard_normal((5, 3))
    m = nr.MZMNeuron(a, b, bias, 1.0)
    z = rng.uniform(-0.2, 1.2, (7, 3))
    got, ref = m.transmissions(z, slice(2, 5)), nr.modulator_transmissions(z, a[2:5], b[2:5], bias[2:5], 1.0)
    assert all(np.array_equal(g, r) for g, r in zip(got, ref))
    np.testing.assert_allclose(m.stacked(z, slice(2, 5)), np.stack(ref, -1), rtol=0, atol=1e-15)
    assert m.derivative_scale * 0.3 == nr.onchip_derivative(0.3)


def test_chip_show_reports_the_ring_neuron(tmp_path):
    import json

    import xarray as xr
    from typer.testing import CliRunner

    from pipeline.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["chip", "show", "--neuron", "ring", "--out", str(tmp_path / "die.nc"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ring_detuning_pm"] == 0.0 and doc["ring_drive_swing_V"] == 2.0
    assert doc["ring_resonance_spread_pm"] > 100 and doc["ring_lock_residual_max_pm"] < 0.5
    assert doc["ring_lock_readings"] > 0 and "modulator_extinction_db_min" not in doc
    ds = xr.open_dataset(tmp_path / "die.nc", engine="h5netcdf")
    assert ds.attrs["neuron_kind"] == "ring" and ds.ring_lock_residual.attrs["units"] == "pm"
    bad = runner.invoke(app, ["chip", "show", "--neuron", "disk"])
    assert bad.exit_code != 0 and "--neuron" in bad.output


def test_nominal_activation_by_kind(ring_die, library):
    z = np.linspace(-0.2, 1.2, 15)
    np.testing.assert_array_equal(nr.nominal(nr.NeuronSpec()).activation(z), nr.activation(z))
    ring = nr.nominal(nr.NeuronSpec(kind="ring"), library, ring_die.wavelength)
    np.testing.assert_allclose(ring.activation(z), ring_die.neuron.activation(z), rtol=1e-12)
    with pytest.raises(SpecError, match="library"):
        nr.nominal(nr.NeuronSpec(kind="ring"))


def test_voltage_pair_is_a_finite_difference_in_voltage(resp, entry, library):
    """derivative = voltage: the pair's error is the central difference's in V — bounded by that
    of a Lorentzian dip of the entry's Q moved by the PN model's shift (× 1.5 for the ring's
    Airy shape), far below the detuning pair's at the same point; a pair locked 3 pm off
    fails that bound."""
    spec = rn.RingNeuronSpec(bias_voltage=-0.1, drive_swing=1.8, derivative="voltage")
    op = rn.RingOperatingPoint(spec, resp, 1.0)
    z = np.linspace(0, 1, 2001)[1:-1]
    exact = op.activation_derivative(z)
    err = np.max(np.abs(op.pair_derivative(z) - exact)) / exact.max()
    fom = rm.figures_of_merit(entry)
    g, dv = fom["resonance_um"] / (2 * fom["q_loaded"]) * 1e6, spec.derivative_voltage
    pnf = pn.model([e for e in library.entries("pn_phase_shifter") if e.key == entry.provenance["section"]][0])

    def lor(v):  # Lorentzian dip of the entry's Q at the resonance the PN model puts at v
        x = spec.detuning - resp.wavelength * entry.device_spec.pn_fraction * (
            pnf(v, resp.wavelength)[0] - pnf(-0.1, resp.wavelength)[0]) / fom["ng"] * 1e6
        return 1 - 1 / (1 + (x / g) ** 2)

    v = np.linspace(-1.9, -0.1, 4001)
    h = 1e-6
    d_exact = (lor(v + h) - lor(v - h)) / (2 * h)
    d_pair = (lor(v + dv) - lor(v - dv)) / (2 * dv)
    bound = 1.5 * np.max(np.abs(d_pair - d_exact)) / np.max(np.abs(d_exact))  # 1.5: Lorentzian vs the ring's Airy dip
    print(f"voltage pair: error {err:.4f} of max f', FD bound {bound:.4f}")
    assert err <= bound
    detuned = rn.RingOperatingPoint(spec.model_copy(update={"derivative": "detuning"}), resp, 1.0)
    assert err < 0.1 * np.max(np.abs(detuned.pair_derivative(z) - exact)) / exact.max()
    wrong = op.target_theta - resp.dtheta_dpm * np.array([0.0, 3.0, 3.0])
    assert np.max(np.abs(op.pair_derivative(z, wrong) - exact)) / exact.max() > bound
    with pytest.raises(SpecError, match="derivative_voltage"):
        rn.RingNeuronSpec(derivative="voltage")


# -- the attenuator's ideal model for the ring neuron ------------------------------------------
def _chain_gradient(arch, p, x, t, dsigma):
    """The ideal model's chain rule (pipeline.chip.attenuator doc) with σ′ = ``dsigma``."""
    c = arch._ideal(p, x)
    d2 = (c["y"] - t) * dsigma(c["z2"]) / len(x)
    d1 = (d2 @ c["w2"][:, :-1]) * dsigma(c["z1"])
    return np.concatenate([(d1.T @ c["a0"]).ravel(), (d2.T @ c["a1"]).ravel()])


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def ring_arch(library):
    return AttenuatorArchitecture(neuron={"kind": "ring"}, library=library)


def test_ring_ideal_model_is_the_ring_activation_and_its_gradient(ring_arch, library):
    """kind = ring: the ideal model's σ is the library ring's nominal activation (not sin²), and
    ideal_loss_and_grad is the central finite difference of ideal_forward's loss (rel. 1e-4;
    the activation's own derivative is a 1e-5 central difference); the former model's sin²
    derivative on the ring's forward fails that check."""
    rng = np.random.default_rng(0)
    p = ring_arch.init_params(rng)
    x, t = rng.uniform(0, 1, (40, 2)), rng.uniform(0.2, 0.8, (40, 1))
    z = np.linspace(-0.2, 1.2, 29)
    np.testing.assert_allclose(ring_arch.nominal.activation(z),
                               nr.nominal(nr.NeuronSpec(kind="ring"), library).activation(z), rtol=1e-12)
    assert np.max(np.abs(ring_arch.nominal.activation(z) - nr.activation(z))) > 0.05  # 0.065; f(0) = leak 0.03
    assert ring_arch.lab_calibrated().library is library

    def loss(q):
        return 0.5 * np.mean(np.sum((ring_arch.ideal_forward(q, x) - t) ** 2, axis=1))

    h = 1e-6
    fd = np.array([(loss(p + h * e) - loss(p - h * e)) / (2 * h) for e in np.eye(ring_arch.n_params)])
    val, g = ring_arch.ideal_loss_and_grad(p, x, t)
    assert val == pytest.approx(loss(p), rel=1e-12)
    assert np.linalg.norm(g - fd) <= 1e-4 * np.linalg.norm(fd)
    wrong = _chain_gradient(ring_arch, p, x, t, nr.activation_derivative)  # sin²'s σ′ with the ring's σ
    assert np.linalg.norm(wrong - fd) > 1e-2 * np.linalg.norm(fd)


def test_ideal_ring_die_gradient_is_the_ideal_chain_with_the_pair_derivative(ring_arch, library):
    """An ideal-impairment ring die's in-situ gradient is the ideal model's chain rule with σ′
    replaced by the detuned pair's on-chip derivative (RingOperatingPoint.pair_derivative,
    max error 0.18 of max f′): cosine > 0.9999 on init seeds 0–5 (what is left: the lock's
    residual detuning and the mid-drive gain calibration).  Its direction against the exact
    ideal gradient is therefore the pair's error alone — 0.90 to 1.00 on these seeds — and the
    exact chain fails the 0.9999 check (the test can fail)."""
    die = ring_arch.sample_die("ideal", 0, library=library)
    op = die.neuron.op
    exact_cos = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        p = ring_arch.init_params(rng)
        x, t = rng.uniform(0, 1, (40, 2)), rng.uniform(0.2, 0.8, (40, 1))
        die.program(p)
        _, g_die = die.insitu_gradient(x, t)
        _, g_ideal = ring_arch.ideal_loss_and_grad(p, x, t)
        assert _cos(g_die, _chain_gradient(ring_arch, p, x, t, op.pair_derivative)) > 0.9999
        exact_cos.append(_cos(g_die, g_ideal))
    print("cos(in-situ, ideal) on init seeds 0-5:", np.round(exact_cos, 4))
    assert min(exact_cos) < 0.9999 and np.median(exact_cos) > 0.95


@pytest.mark.xfail(strict=True, reason="target cos(in-situ, ideal) > 0.95 on every init seed 0-5 of an ideal ring die: "
                   "measured min 0.896 (seed 3; 0.954, 0.983, 0.920, 0.896, 0.998, 1.000) — the detuned pair's "
                   "0.18 derivative error, which the worst-case chain bound does not keep above 0.95; the "
                   "voltage pair meets it (next test)")
def test_ideal_ring_die_gradient_direction_target(ring_arch, library):
    die = ring_arch.sample_die("ideal", 0, library=library)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        p = ring_arch.init_params(rng)
        x, t = rng.uniform(0, 1, (40, 2)), rng.uniform(0.2, 0.8, (40, 1))
        die.program(p)
        assert _cos(die.insitu_gradient(x, t)[1], ring_arch.ideal_loss_and_grad(p, x, t)[1]) > 0.95


@pytest.mark.slow  # 19 s (samples and locks a realistic ring die)
def test_voltage_pair_ring_die_gradient_meets_the_direction_target(library):
    """derivative = voltage (a finite difference in V, 0.009 of max f′ at bias −0.1 V, swing
    1.8 V): the ideal ring die's in-situ gradient is along the ideal model's, cos > 0.999 on
    init seeds 0–5 (measured ≥ 0.9999) — the detuned pair's error is what the target above misses."""
    arch = AttenuatorArchitecture(neuron={"kind": "ring", "ring": {"bias_voltage": -0.1, "drive_swing": 1.8,
                                                                   "derivative": "voltage"}}, library=library)
    die = arch.sample_die("ideal", 0, library=library)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        p = arch.init_params(rng)
        x, t = rng.uniform(0, 1, (40, 2)), rng.uniform(0.2, 0.8, (40, 1))
        die.program(p)
        assert _cos(die.insitu_gradient(x, t)[1], arch.ideal_loss_and_grad(p, x, t)[1]) > 0.999

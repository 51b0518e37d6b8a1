"""The attenuator architecture and its die: ideal model, in-situ gradients, impairments."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from finite_difference import fd_grad
from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.attenuator_chip import splitter_stages
from pipeline.chip.attenuator_spec import AttenuatorLayout
from pipeline.chip.impairments import impairments
from pipeline.chip.interface import Architecture, Die
from pipeline.errors import SpecError
from pipeline.library import Library

Q = 1.602176634e-19
KB = 1.380649e-23

#: The static phase errors (arm offsets, heater efficiency spread, drift) off: for tests of
#: other effects in isolation (tests/test_phase_errors.py tests those).
NO_PHASE_ERRORS = dict(arm_phase_sigma=0.0, heater_efficiency_sigma=0.0, phase_drift=0.0)

#: The neuron-major single-column fan-out reached through waveguide crossings.
OPTICAL = AttenuatorLayout(fanout_routing="optical")


@pytest.fixture(scope="module")
def arch():
    return AttenuatorArchitecture()


@pytest.fixture(scope="module")
def batch(arch):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, arch.n_in))
    t = (x[:, :1] + x[:, 1:] > 1).astype(float)
    return arch.init_params(rng), x, t


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def test_protocols(arch):
    die = arch.sample_die("ideal", 0)
    assert isinstance(arch, Architecture) and isinstance(die, Die)
    assert arch.n_params == 3 * 8 + 9


def test_ideal_gradient_matches_finite_differences(arch, batch):
    p, x, t = batch
    g = arch.ideal_loss_and_grad(p, x, t)[1]
    g_fd = fd_grad(lambda q: arch.ideal_loss_and_grad(q, x, t)[0], p)
    assert rel(g, g_fd) < 1e-6


def test_ideal_die_forward_equals_ideal_model(arch, batch):
    p, x, _ = batch
    die = arch.sample_die("ideal", 3)
    die.program(p)
    assert np.max(np.abs(die.infer(x) - arch.ideal_forward(p, x))) < 1e-12
    assert die.measurements == len(x) * arch.n_out


def test_ideal_die_insitu_gradient_equals_fd_of_true_loss(arch, batch):
    p, x, t = batch
    die = arch.sample_die("ideal", 0)
    die.program(p)
    loss, g = die.insitu_gradient(x, t)
    g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
    assert rel(g, g_fd) < 1e-6, rel(g, g_fd)
    assert abs(loss - die.true_loss(p, x, t)) < 1e-14


def test_off_nominal_couplers_insitu_gradient_equals_fd_of_own_loss(arch, batch):
    p, x, t = batch
    imp = impairments("ideal", width_sigma=0.005, thickness_sigma=0.002, die_width_offset=0.01,
                      die_thickness_offset=0.005)
    die = arch.sample_die(imp, 4)
    assert np.std(die.kappa2) > 0.003  # the couplers really are off nominal
    die.program(p)
    g = die.insitu_gradient(x, t)[1]
    g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
    assert rel(g, g_fd) < 1e-6, rel(g, g_fd)
    # ... and that die's loss differs from the ideal model's
    assert abs(die.true_loss(p, x, t) - arch.ideal_loss_and_grad(p, x, t)[0]) > 1e-4


def test_thermal_crosstalk_shifts_neighbour_phases(arch):
    from devices.phase_shifter import crosstalk_matrix

    imp = impairments("ideal", thermal_crosstalk_scale=1.0)
    die = arch.sample_die(imp, 0)
    p = np.full(arch.n_params, -1.0)  # θ = 0: all heaters off
    k = 10
    p[k] = 1.0  # one heater at P_π
    die.program(p)
    ph = die.phases()
    assert abs(ph[k] - np.pi) < 1e-12
    c = crosstalk_matrix(4, arch.spec.layout.heater_pitch, model=Library().model("phase_shifter"))
    for d in (1, 2, 3):
        assert abs(ph[k + d] / ph[k] - c[d, 0]) < 1e-12
        assert abs(ph[k - d] / ph[k] - c[d, 0]) < 1e-12
    assert np.all(ph[arch.n1:] == 0)  # the other layer's column is far away
    # and the realised weight of a neighbour follows: w = −cos(θ)
    assert abs(die.realised_weights()[k + 1] - (-np.cos(np.pi * c[1, 0]))) < 1e-12
    # the scale knob scales the off-diagonal
    die2 = arch.sample_die(impairments("ideal", thermal_crosstalk_scale=2.0), 0)
    die2.program(p)
    assert abs(die2.phases()[k + 1] / np.pi - 2 * c[1, 0]) < 1e-12


def test_output_reading_noise_matches_shot_and_thermal(arch):
    """Saturated output neuron (upstream node noise cannot reach it): the output reading's
    variance [A²] is the detector's 2q(RP + I_d)B + 4k_BTB/R_L (chi-square band)."""
    imp = impairments("ideal", detector_noise=True, optical_power=1e-5)
    die = arch.sample_die(imp, 0)
    w1 = np.full(arch.shape1, 0.5)
    w2 = np.ones(arch.shape2)  # z2 = Σh + 1 >= 5: clipped at V_pi, output = P_s
    p = np.concatenate([w1.ravel(), w2.ravel()])
    die.program(p)
    n = 20000
    x = np.random.default_rng(2).uniform(0, 1, (n, arch.n_in))
    y = die.infer(x)[:, 0]
    spec = die.det  # the die's detectors: responsivity from the library Ge photodetector
    r, bw, p0 = spec.responsivity, imp.measurement_bandwidth, imp.optical_power
    var = (2 * Q * (r * p0 + spec.dark_current) * bw + 4 * KB * spec.temperature * bw / spec.load_resistance)
    # the readout's calibrated gain G scales signal and noise alike: y = G·(1 + noise/(R P0))
    gain = die.cal_readout[-1]
    s2 = np.var(y * r * p0 / gain, ddof=1)
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], n - 1) / (n - 1)
    assert lo * var < s2 < hi * var, (s2 / var, lo, hi)
    assert abs(np.mean(y) / gain - 1) < 5 * np.sqrt(var / n) / (r * p0)
    # G itself is a two-point calibration averaged over N readings per rail (lossless die: 1 ± noise)
    n_cal = arch.spec.calibration_samples
    sigma_gain = np.sqrt(2 * var / n_cal) / (r * p0)
    assert 0 < abs(gain - 1) < 5 * sigma_gain, (gain, sigma_gain)


def test_realised_weights_differ_by_first_order_crosstalk(batch):
    """Realistic die, crosstalk not pre-compensated: realised − programmed weight ≈
    sin θ · (C − I)θ (crosstalk, first order) plus coupler terms; checked against that
    independent estimate (the calibrated die: tests/test_crosstalk_calibration.py)."""
    p, _, _ = batch
    arch = AttenuatorArchitecture(crosstalk_calibration=False)
    die = arch.sample_die(impairments("realistic", **NO_PHASE_ERRORS), 5)
    die.program(p)
    err = die.realised_weights() - p
    th = np.arccos(-p)
    xt = die.crosstalk - np.eye(p.size)
    pred = np.sin(th) * (xt @ th)
    assert 0.02 < np.sqrt(np.mean(err ** 2)) < 0.5
    assert np.corrcoef(err, pred)[0, 1] > 0.9
    assert 0.7 < np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(pred ** 2)) < 1.4
    # without crosstalk the error is the couplers' + DAC's: much smaller
    die0 = arch.sample_die(impairments("realistic", thermal_crosstalk_scale=0, **NO_PHASE_ERRORS), 5)
    die0.program(p)
    err0 = die0.realised_weights() - p
    assert 1e-4 < np.sqrt(np.mean(err0 ** 2)) < 0.1 * np.sqrt(np.mean(err ** 2))


def test_noisy_gradient_cosine_grows_with_optical_power(arch, batch):
    """Detector noise vs power.  Thermal crosstalk is off here: the in-situ procedure measures
    each heater's own slope, not its neighbours' (dL/dP_k = Σ_m dL/dθ_m C_mk), a bias of its
    own (benchmarks/bench_gradient_noise.py reports it) that no optical power removes; so is
    the heater efficiency spread (the slope steps are ε off, tests/test_phase_errors.py).
    Arm offsets are off as well: on this die they leave the output neuron dark for these
    weights (zero gradient); the slope conversion is exact for them (test_phase_errors.py)."""
    p, x, t = batch
    base = impairments("realistic", thermal_crosstalk_scale=0, **NO_PHASE_ERRORS)
    clean = base.scaled(dac_bits=0, phase_noise=0, detector_noise=False, laser_rin=None)
    ref = arch.sample_die(clean, 1)
    g_true = fd_grad(lambda q: ref.true_loss(q, x, t), p)
    table = {}
    for power in (1e-6, 1e-5, 1e-4):
        die = arch.sample_die(base.scaled(optical_power=power), 1)
        die.program(p)
        cos = [float(g @ g_true / np.linalg.norm(g) / np.linalg.norm(g_true))
               for g in (die.insitu_gradient(x, t)[1] for _ in range(4))]
        table[power] = (np.mean(cos), np.std(cos))
    msg = "\n".join(f"P0 = {k * 1e6:7.1f} uW   cos = {m:.4f} +- {s:.4f}" for k, (m, s) in table.items())
    means = [m for m, _ in table.values()]
    assert means[0] < means[1] < means[2], msg
    assert means[2] > 0.95 and means[0] < 0.8, msg


def test_measurement_counts(arch, batch):
    p, x, t = batch
    die = arch.sample_die("realistic", 0)
    die.program(p)
    die.insitu_gradient(x, t)
    ni, nh, no = arch.n_in, arch.n_hidden, arch.n_out
    per_sample = 2 * no + 2 * nh + 2 * nh
    calib = 3 * (ni + 1) * nh + 6 * no * nh + 3 * no
    assert die.measurements == len(x) * per_sample + calib


@pytest.mark.parametrize("bad,match", [
    (lambda a: np.zeros((4, 3)), "x has shape"),
    (lambda a: np.full((4, 2), 1.5), "x = 1.5"),
    (lambda a: np.full((4, 2), np.nan), "x contains NaN"),
    (lambda a: np.zeros(2), "x has shape")])
def test_bad_x(arch, batch, bad, match):
    die = arch.sample_die("ideal", 0)
    with pytest.raises(SpecError, match=match) as err:
        die.infer(bad(arch))
    assert "Fix:" in str(err.value)


def test_bad_params_and_targets(arch, batch):
    p, x, t = batch
    die = arch.sample_die("ideal", 0)
    with pytest.raises(SpecError, match=r"params has shape \(32,\).*33"):
        die.program(p[:-1])
    with pytest.raises(SpecError, match="params = 1.2"):
        die.program(np.full(p.size, 1.2))
    with pytest.raises(SpecError, match="t has shape"):
        die.insitu_gradient(x, t[:-1])
    with pytest.raises(SpecError, match="n_hidden"):
        AttenuatorArchitecture(n_hidden=0)
    with pytest.raises(SpecError, match="unknown preset"):
        arch.sample_die("perfect", 0)


def test_sizes_configurable_and_ideal_exact():
    arch = AttenuatorArchitecture(n_in=4, n_hidden=5, n_out=3)
    rng = np.random.default_rng(3)
    p = arch.init_params(rng)
    x = rng.uniform(0, 1, (16, 4))
    t = np.eye(3)[rng.integers(0, 3, 16)]
    die = arch.sample_die("ideal", 0)
    die.program(p)
    assert np.max(np.abs(die.infer(x) - arch.ideal_forward(p, x))) < 1e-12
    g = die.insitu_gradient(x, t)[1]
    assert rel(g, arch.ideal_loss_and_grad(p, x, t)[1]) < 1e-10
    assert splitter_stages(5) == 3 and splitter_stages(1) == 0


def test_metal_fanout_has_no_optical_crossings():
    """The default layout joins each neuron's pairs in metal: no crossing loss or leak anywhere,
    while the optical single-node column of the same network needs C(3,2)·C(8,2) = 84."""
    metal = AttenuatorArchitecture().sample_die("realistic", 0)
    optical = AttenuatorArchitecture(layout=OPTICAL).sample_die("realistic", 0)
    assert metal.summary()["crossings_total"] == 0 and float(metal.to_dataset().crossing_leak.max()) == 0
    assert optical.summary()["crossings_total"] == 84
    np.testing.assert_allclose(optical.loss_forward_db - metal.loss_forward_db, optical.crossing_loss_db, atol=1e-12)


def test_die_dataset(arch):
    arch = AttenuatorArchitecture(layout=OPTICAL)
    die = arch.sample_die("realistic", 2)
    ds = die.to_dataset()
    assert isinstance(ds, xr.Dataset)
    assert ds.kappa2.dims == ("weight", "coupler") and ds.crosstalk.dims == ("heater_out", "heater_in")
    assert ds.modulator_bias_error.dims == ("neuron", "modulator")
    assert ds.dw.attrs["units"] == "um" and ds.loss_forward.attrs["units"] == "dB"
    assert float(ds.dw.std()) > 0 and float(ds.loss_forward.min()) > 0
    assert np.isfinite(ds.modulator_extinction).all()
    assert ds.crossings.dims == ("weight",) and ds.crossing_loss.attrs["units"] == "dB"
    ideal = arch.sample_die("ideal", 2).to_dataset()  # crossings are there, but lossless and leak-free
    assert int(ideal.crossings.sum()) == 168 and float(abs(ideal.crossing_loss).max()) == 0
    assert float(ideal.crossing_leak.max()) == 0 and float(ds.crossing_leak.max()) > 0
    again = arch.sample_die("realistic", 2).to_dataset()
    xr.testing.assert_identical(ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds, again.drop_attrs()
                                if hasattr(again, "drop_attrs") else again)


def test_forward_is_fast(arch, batch):
    import time

    p, _, _ = batch
    die = arch.sample_die("realistic", 0)
    die.program(p)
    x = np.random.default_rng(0).uniform(0, 1, (256, 2))
    die.infer(x)
    t0 = time.perf_counter()
    for _ in range(20):
        die.infer(x)
    assert (time.perf_counter() - t0) / 20 < 0.02


# -- fan-out crossings and the library detector ---------------------------------------------
H_PLANCK, C_LIGHT = 6.62607015e-34, 299792458.0  # SI 2019, exact


def brute_force_crossings(n_channels, n_dest):
    """Crossings of the transpose fan-out counted from the geometry: wires leave the trees
    channel-major (c·D + d) and reach the MZI column neuron-major (d·C + c); two monotone
    wires cross iff their order is reversed.  Returns (count[d, c], m[d, c, c'])."""
    wires = [(c, d) for c in range(n_channels) for d in range(n_dest)]
    count = np.zeros((n_dest, n_channels), int)
    mult = np.zeros((n_dest, n_channels, n_channels), int)
    for c, d in wires:
        for c2, d2 in wires:
            src = (c * n_dest + d) - (c2 * n_dest + d2)
            dst = (d * n_channels + c) - (d2 * n_channels + c2)
            if src * dst < 0:
                count[d, c] += 1
                mult[d, c, c2] += 1
    return count, mult


@pytest.fixture(scope="module")
def library_crossing():
    from devices.crossing import CrossingSpec, figures_of_merit
    from pipeline import DeviceCache
    from pipeline.fdtd.specs import Meep2DSpec

    entry = DeviceCache().get(CrossingSpec(), Meep2DSpec())
    assert entry is not None, "shipped crossing entry missing"
    fom = figures_of_merit(entry)
    return fom["insertion_loss_db"], 10 ** (fom["crosstalk_db"] / 10)


@pytest.mark.parametrize("c,d", [(3, 8), (9, 1), (9, 3), (5, 4), (1, 6)])
def test_crossing_counts_are_the_inversions_of_the_fanout(c, d):
    from pipeline.chip import fanout

    count, mult = brute_force_crossings(c, d)
    np.testing.assert_array_equal(fanout.crossings(c, d), count)
    np.testing.assert_array_equal(fanout.leak_multiplicity(c, d), mult)
    assert fanout.total_crossings(c, d) == count.sum() // 2
    if d == 1 or c == 1:
        assert count.sum() == 0


def test_crossing_figures_are_the_library_entry(library_crossing, library):
    il, xt = library_crossing
    f = library.crossing_figures(1.55)
    assert abs(f.insertion_loss_db - il) < 1e-9 and abs(f.crosstalk / xt - 1) < 1e-9
    assert 0.6 < il < 0.9 and -45 < f.crosstalk_db < -39  # parabolic-taper crossing, 2D FDTD
    die = AttenuatorArchitecture(layout=OPTICAL).sample_die("realistic", 0)
    assert die.crossing_leak == pytest.approx(xt, rel=1e-12) and die.crossing_figures.key == f.key


def _mmi_db():
    import devices.mmi as mmi
    from pipeline import DeviceCache

    cache = DeviceCache()
    entries = [cache.read_path(p) for p in cache.entry_paths() if p.parent.name == "mmi"]
    return [mmi.figures_of_merit(e)["excess_loss_db"] for e in entries if e.device_spec == mmi.MMISpec()][0]


@pytest.mark.parametrize("n_out", [1, 3])
def test_forward_loss_is_crossings_times_il_plus_the_rest(n_out, library_crossing, library):
    """Independent bookkeeping of every forward path, and the light actually sees it."""

    il, _ = library_crossing
    arch = AttenuatorArchitecture(n_out=n_out, layout=OPTICAL)
    die = arch.sample_die(impairments("ideal", insertion_loss_scale=1.0, propagation_loss=2.0), 0)
    lay, ni, nh = arch.spec.layout, arch.n_in, arch.n_hidden
    prop, mmi, heater = 2.0e-4, _mmi_db(), library.model("phase_shifter").insertion_loss_db
    stages = lambda n: int(np.ceil(np.log2(n))) if n > 1 else 0  # noqa: E731
    mzi = prop * lay.mzi_length + die.coupler_loss_db.sum(1) + heater
    det = prop * lay.detector_routing_length
    n1c, _ = brute_force_crossings(ni + 1, nh)
    n2c, _ = brute_force_crossings(nh + 1, n_out)
    rest1 = prop * lay.input_routing_length + stages(nh) * mmi + mzi[:arch.n1] + det
    rest2 = (mzi[arch.n1:] + det).reshape(n_out, nh + 1) + stages(n_out) * mmi
    rest2[:, :nh] += die.modulator_loss_db[:nh] + prop * lay.neuron_routing_length
    rest2[:, nh] += prop * lay.input_routing_length
    expect = np.concatenate([n1c.ravel() * il + rest1, (n2c * il + rest2).ravel()])
    np.testing.assert_allclose(die.loss_forward_db, expect, rtol=0, atol=1e-12)
    assert die.loss_forward_db.max() - die.loss_forward_db.min() > 10 * il  # the crossings dominate the spread
    # gain calibration (3-dB couplers, equal detectors): node gain = 1 / mean path transmission
    # of the node; readout and derivative gains = 1 / readout-path transmission; output nodes
    # per unit *monitored* activation, so the hidden columns' readout loss cancels
    eta = 10 ** (-expect / 10)
    eta1, eta2 = eta[:arch.n1].reshape(arch.shape1), eta[arch.n1:].reshape(arch.shape2)
    eta_read = 10 ** (-(die.modulator_loss_db + det) / 10)
    np.testing.assert_allclose(die.cal_node, 1 / np.r_[eta1.mean(1), eta2.mean(1)], rtol=1e-9)
    np.testing.assert_allclose(die.cal_readout, 1 / eta_read, rtol=1e-9)
    np.testing.assert_allclose(die.cal_derivative, 1 / eta_read, rtol=1e-9)
    # measured: channel i alone, every MZI at bar (w = 1) → node j reads G_j 10^(−loss(j, i)/10)
    p = np.ones(arch.n_params)
    hp = die.heater_powers(p)
    for i in range(ni + 1):
        a0 = np.zeros((1, ni + 1))
        a0[0, i] = 1.0
        z1 = die._forward(hp, a0, False)["z1"][0] * eta1.mean(1)
        np.testing.assert_allclose(-10 * np.log10(z1 / die.realised_weights(hp)[:arch.n1][i::ni + 1]),
                                   expect[:arch.n1].reshape(nh, ni + 1)[:, i], rtol=0, atol=1e-9)
    ds, summ = die.to_dataset(), die.summary()
    np.testing.assert_array_equal(ds.crossings.values, np.concatenate([n1c.ravel(), n2c.ravel()]))
    np.testing.assert_allclose(ds.crossing_loss.values, ds.crossings.values * il, atol=1e-12)
    assert summ["crossing_loss_db_max"] == pytest.approx(max(n1c.max(), n2c.max()) * il)
    assert summ["crossings_total"] == n1c.sum() // 2 + n2c.sum() // 2


@pytest.mark.parametrize("n_out", [1, 3])
def test_leaked_power_is_the_crosstalk_fraction(n_out, library_crossing):
    """Lossless die with crossing crosstalk only: channel 0 alone, its own MZIs balanced
    (w = 0), the others at bar: node j reads X × (channel-0 wires crossing its paths)."""
    _, xt = library_crossing
    # nominal normalisation: readings in units of the launched light (the calibration would
    # fold part of the leaks into the node gains)
    arch = AttenuatorArchitecture(n_out=n_out, layout=OPTICAL, gain_calibration=False)
    ni, nh, no = arch.n_in, arch.n_hidden, n_out
    _, m1 = brute_force_crossings(ni + 1, nh)
    _, m2 = brute_force_crossings(nh + 1, no)
    for scale in (1.0, 3.0):
        die = arch.sample_die(impairments("ideal", crossing_crosstalk_scale=scale), 0)
        w1 = np.ones(arch.shape1)
        w1[:, 0] = 0.0
        p = np.concatenate([w1.ravel(), np.zeros(arch.n_params - arch.n1)])
        a0 = np.zeros((1, ni + 1))
        a0[0, 0] = 1.0
        z1 = die._forward(die.heater_powers(p), a0, False)["z1"][0]
        np.testing.assert_allclose(z1, scale * xt * m1[:, 1:, 0].sum(1), rtol=1e-12, atol=1e-15)
        assert z1[0] > 1e-4 and abs(z1[-1]) < 1e-15  # neuron 0's paths are crossed by channel 0, the last neuron's not
        # general: random weights, all channels → z = Σ w (a + X Σ m a'), both layers
        rng = np.random.default_rng(1)
        p = arch.init_params(rng)
        a0 = np.c_[rng.uniform(0, 1, (5, ni)), np.ones(5)]
        fw = die._forward(die.heater_powers(p), a0, False)
        w1, w2 = arch.split(p)
        a_in = a0[:, None, :] + scale * xt * np.einsum("dce,be->bdc", m1, a0)
        np.testing.assert_allclose(fw["z1"], (w1 * a_in).sum(-1), rtol=1e-12, atol=1e-15)
        a1 = np.c_[fw["h"], np.ones(5)]
        a1_in = a1[:, None, :] + scale * xt * np.einsum("dce,be->bdc", m2, a1)
        np.testing.assert_allclose(fw["z2"], (w2 * a1_in).sum(-1), rtol=1e-12, atol=1e-15)


def test_crossing_crosstalk_biases_insitu_gradient_by_its_closed_form(library_crossing):
    """Lossless, noise-free die with crossing crosstalk only (n_out = 1: layer 2 has no
    crossings).  Forward leaks have no backward counterpart, and the readout forms
    δ_j·x_i where the die's loss has δ_j·(x_i + X Σ_c' m x_c'): per sample, layer-1
    in-situ = FD × x_i / (x_i + X Σ m x_c'); layer 2 = FD."""
    _, xt = library_crossing
    arch = AttenuatorArchitecture(layout=OPTICAL)
    ni, nh = arch.n_in, arch.n_hidden
    _, m1 = brute_force_crossings(ni + 1, nh)
    die = arch.sample_die(impairments("ideal", crossing_crosstalk_scale=1.0), 0)
    rng = np.random.default_rng(5)
    p = arch.init_params(rng)
    die.program(p)
    for _ in range(3):
        x = rng.uniform(0.05, 1, (1, ni))
        t = np.array([[0.8]])
        g = die.insitu_gradient(x, t)[1]
        g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
        a0 = np.r_[x[0], 1.0]
        ratio = a0[None, :] / (a0[None, :] + xt * np.einsum("dce,e->dc", m1, a0))
        expect = np.concatenate([(g_fd[:arch.n1].reshape(nh, ni + 1) * ratio).ravel(), g_fd[arch.n1:]])
        assert rel(g, expect) < 1e-6, rel(g, expect)
        assert rel(g, g_fd) > 1e-5  # the bias is really there (X·m ~ 1e-4)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("calibrated", [False, True])
def test_crossing_loss_insitu_gradient_bias_closed_form(n_out, calibrated, library_crossing):
    """Noise-free die with device insertion losses (crossings included), no crosstalk.

    Without gain calibration: the slope calibration absorbs every calibrated path's loss;
    what remains is the path asymmetry of layer 2: in-situ / true = η_bwd(o,j)·η_read(j)/η_fwd(o,j),
    in dB crossings(o,j)·IL + (stages(n_out) − stages(n_hidden))·MMI (propagation off) — the
    forward fan-out crosses, the backward light does not.  n_out = 1: layer-1 row j and
    layer-2 weight j scale by ρ_j, output bias exact; n_out = 3: layer-2 weights by ρ_oj.

    With it (module doc): in-situ / true = S_o G_b(j) / M_oj for layer-2 weight (o, j), where
    M_oj = forward / backward slope of MZI (o, j) and S_o G_b(j) its additive fit in log.
    log M = const + row(o) + column(j) − (IL ln10/10)·crossings(o,j), and crossings(o,j) =
    j(D − 1) + (C − 1)o − 2jo (fanout doc, c = j, d = o): only −2jo is not additive, and its
    residual after removing row and column means is −2(j − j̄)(o − ō).  So ρ_dB(o,j) =
    −2·IL·(j − j̄)(o − ō): n_out = 1 → exact everywhere; n_out = 3 → ±2·IL·3.5 dB at the
    corners, bias column exact."""
    il, _ = library_crossing
    arch = AttenuatorArchitecture(n_out=n_out, layout=OPTICAL, gain_calibration=calibrated)
    nh = arch.n_hidden
    die = arch.sample_die(impairments("ideal", insertion_loss_scale=1.0), 2)
    rng = np.random.default_rng(6)
    p = arch.init_params(rng)
    die.program(p)
    x = rng.uniform(0, 1, (16, arch.n_in))
    t = rng.uniform(0.2, 0.8, (16, n_out))
    g = die.insitu_gradient(x, t)[1]
    g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
    stages = lambda n: int(np.ceil(np.log2(n))) if n > 1 else 0  # noqa: E731
    n2c, _ = brute_force_crossings(nh + 1, n_out)
    if calibrated:
        j, o = np.arange(nh)[None, :], np.arange(n_out)[:, None]
        rho = 10 ** (-2 * il * (j - j.mean()) * (o - o.mean()) / 10)
    else:
        rho = 10 ** ((n2c[:, :nh] * il + (stages(n_out) - stages(nh)) * _mmi_db()) / 10)  # (n_out, nh)
    g2, f2 = g[arch.n1:].reshape(arch.shape2), g_fd[arch.n1:].reshape(arch.shape2)
    assert rel(g2[:, :nh], f2[:, :nh] * rho) < 1e-6
    assert rel(g2[:, nh], f2[:, nh]) < 1e-6
    if n_out == 1:
        g1, f1 = g[:arch.n1].reshape(arch.shape1), g_fd[:arch.n1].reshape(arch.shape1)
        assert rel(g1, f1 * rho[0][:, None]) < 1e-6
    if n_out == 3 or not calibrated:
        assert rel(g2[:, :nh], f2[:, :nh]) > 0.05  # a real, loss-induced bias
    assert np.ptp(die.loss_forward_db) > 5  # ... on a die with very unequal paths


def test_detector_responsivity_from_the_library_photodetector():
    """R = η_c · A · qλ/(hc): A the library entry's FDTD absorbed fraction (10 µm Ge)."""
    import devices.photodetector as pd
    from pipeline import DeviceCache
    from pipeline.errors import CacheError
    from pipeline.fdtd.specs import Meep2DSpec

    entry = DeviceCache().get(pd.PhotodetectorSpec(ge_length=10.0), Meep2DSpec(resolution=50))
    fom = pd.figures_of_merit(entry)
    limit = Q * 1.55e-6 / (H_PLANCK * C_LIGHT)
    assert abs(limit - 1.2502) < 1e-3
    arch = AttenuatorArchitecture()
    die = arch.sample_die("realistic", 0)
    r = die.det.responsivity
    assert r == pytest.approx(0.8 * fom["absorbed_fraction"] * limit, rel=1e-12)
    assert r == pytest.approx(0.8 * fom["responsivity_a_per_w"], rel=1e-9)
    assert 0.9 < r < 1.0 < limit  # real Ge-on-Si devices: 0.8-1.0 A/W (Michel 2010)
    ds = die.to_dataset()
    assert float(ds.responsivity) == r and ds.attrs["detector_absorbed_fraction"] == fom["absorbed_fraction"]
    # a shorter absorber absorbs less; a laser offset onto a band point reads that point
    r5 = AttenuatorArchitecture(detector_ge_length=5.0).sample_die("ideal", 0).det.responsivity
    assert 0.8 < r5 < r
    fom_wl = fom["responsivity_vs_wavelength"]
    k = fom_wl["wavelength_um"].index(pytest.approx(1.56))
    r_off = arch.sample_die(impairments("ideal", wavelength_offset=10.0), 0).det.responsivity
    assert r_off == pytest.approx(0.8 * fom_wl["a_per_w"][k], rel=1e-9)
    # the electrical spec's value only when asked for
    assert AttenuatorArchitecture(detector_ge_length=None).sample_die("ideal", 0).det.responsivity == 0.9
    with pytest.raises(CacheError, match=r"ge_length = 7.0 um.*photoprop library build --devices photodetector"):
        AttenuatorArchitecture(detector_ge_length=7.0).sample_die("ideal", 0)
    with pytest.raises(SpecError, match="detector_collection_efficiency"):
        AttenuatorArchitecture(detector_collection_efficiency=1.2)


# -- gain calibration and the data-aware initialisation ----------------------------------------
LOSSY_CLEAN = impairments("realistic", thermal_crosstalk_scale=0, modulator_bias_sigma=0, detector_gain_sigma=0,
                          detector_noise=False, laser_rin=None, phase_noise=0, dac_bits=0, adc_bits=0,
                          **NO_PHASE_ERRORS)


def test_calibration_off_is_the_nominal_normalisation():
    die = AttenuatorArchitecture(gain_calibration=False).sample_die("realistic", 0)
    for g in (die.cal_node, die.cal_readout, die.cal_derivative, die.cal_backward, die.cal_source):
        assert np.all(g == 1.0)
    assert die.calibration_measurements == 0 and die.to_dataset().attrs["gain_calibration"] == 0
    on = AttenuatorArchitecture().sample_die("realistic", 0)
    np.testing.assert_array_equal(on.kappa2, die.kappa2)  # same fabrication
    nh, no, ni = 8, 1, 2
    n = on.architecture.spec.calibration_samples
    expect = n * (3 * (ni + 1) * nh + 4 * nh + 3 * (nh + 1) * no + 4 * no + 8 * (nh + no) + 6 * no * nh)
    assert on.calibration_measurements == expect and on.measurements == 0
    assert on.summary()["calibration_measurements"] == expect
    # the crosstalk calibration's readings (off by default; tests/test_crosstalk_calibration.py):
    # 3 (n + 1) settings per MZI of each n-heater row, backward read-outs count two passes
    n1, n2 = nh * (ni + 1), no * (nh + 1)
    xtalk = n * 3 * ((n1 + 1) * n1 + (n2 + 1) * (2 * no * nh + no))
    both = AttenuatorArchitecture(crosstalk_calibration=True).sample_die("realistic", 0)
    assert both.calibration_measurements == expect + xtalk


def test_calibration_restores_the_nominal_gain_of_a_lossy_die():
    """Effective gain of the hidden nodes, z1(die) vs z1(ideal model) over random weights and
    inputs (least-squares slope): without calibration the mean path transmission
    10^(−loss/10) of the loss budget, with it 1 (within the path spread)."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (64, 2))
    slopes = {}
    for cal in (False, True):
        arch = AttenuatorArchitecture(gain_calibration=cal)
        die = arch.sample_die(LOSSY_CLEAN, 1)
        num = den = 0.0
        for _ in range(8):
            p = rng.uniform(-1, 1, arch.n_params)
            z_die = die._forward(die.heater_powers(p), die._inputs(x), False)["z1"]
            z_ideal = arch._ideal(p, x)["z1"]
            num, den = num + np.sum(z_die * z_ideal), den + np.sum(z_ideal ** 2)
        slopes[cal] = num / den
    eta = np.mean(10 ** (-die.loss_forward_db[:arch.n1] / 10))
    assert 0.55 < eta < 0.7  # ~2 dB
    assert abs(slopes[False] / eta - 1) < 0.03, (slopes, eta)
    assert abs(slopes[True] - 1) < 0.03, slopes


def test_calibrated_lossy_die_with_one_output_has_exact_insitu_gradient(batch):
    """Loss (forward ≠ backward paths), off-nominal couplers, no crosstalk / bias errors /
    gain spread / noise: with one output the backward fit is exact (module doc), so the
    in-situ gradient is the FD gradient of the die's own loss; uncalibrated it is biased."""
    p, x, t = batch
    for cal, check in ((True, lambda r: r < 1e-6), (False, lambda r: r > 1e-3)):
        die = AttenuatorArchitecture(gain_calibration=cal).sample_die(LOSSY_CLEAN, 4)
        die.program(p)
        g = die.insitu_gradient(x, t)[1]
        g_fd = fd_grad(lambda q: die.true_loss(q, x, t), p)
        assert check(rel(g, g_fd)), (cal, rel(g, g_fd))


def test_calibration_noise_falls_as_one_over_sqrt_samples():
    """Gains from noisy readings scatter around the noise-free calibration of the same die by
    σ/√N: the rms error ratio between N = 16 and N = 256 is √16 = 4 (statistical band)."""
    low = impairments("realistic", optical_power=3e-6, thermal_crosstalk_scale=0)
    clean = low.scaled(detector_noise=False, laser_rin=None, phase_noise=0)

    def gains(die):
        return np.concatenate([die.cal_node, die.cal_readout, die.cal_derivative, die.cal_backward])

    err = {}
    for n in (16, 256):
        arch = AttenuatorArchitecture(calibration_samples=n)
        ref = gains(arch.sample_die(clean, 0))
        err[n] = np.sqrt(np.mean((gains(arch.sample_die(low, 0)) - ref) ** 2))
    assert 2.5 < err[16] / err[256] < 6.5, err
    assert err[256] > 1e-4  # the noise is really there


def test_data_aware_init_hyperplanes_cross_the_data_region():
    arch = AttenuatorArchitecture(n_hidden=64)
    rng = np.random.default_rng(0)
    w1, w2 = (np.concatenate(v) for v in zip(*(arch.split(arch.init_params(rng, scheme="hyperplane"))
                                                for _ in range(32))))
    d, b = w1[:, :2], w1[:, 2]
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1, atol=1e-12)
    # −b = d·q for q in [0.2, 0.8]²: between the extremes of d·q over the box corners
    corners = np.array([[0.2, 0.2], [0.2, 0.8], [0.8, 0.2], [0.8, 0.8]]) @ d.T
    assert np.all((corners.min(0) - 1e-12 <= -b) & (-b <= corners.max(0) + 1e-12))
    # directions uniform on the circle (KS), q uniform: mean of d·q = 0.5·Σd
    angle = np.arctan2(d[:, 1], d[:, 0])
    assert stats.kstest(angle, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    assert abs(np.mean(-b - 0.5 * d.sum(1))) < 5 * 0.18 / np.sqrt(len(b))
    assert np.all(np.abs(w2[:, :-1]) <= 1 / np.sqrt(64)) and np.all((w2[:, -1] >= 0) & (w2[:, -1] <= 0.25))


def test_calibration_lost_in_noise_keeps_nominal_gains(batch):
    """At 0.3 µW per channel some calibration readings drown in detector noise: those nodes
    keep gain 1 instead of a negative or infinite one, and the readings stay finite (whether
    such a die trains is the main job's optical-power sweep, not this test)."""
    p, x, t = batch
    die = AttenuatorArchitecture().sample_die(impairments("realistic", optical_power=0.3e-6), 1)
    gains = np.concatenate([die.cal_node, die.cal_readout, die.cal_derivative, die.cal_backward, die.cal_source])
    assert np.all(np.isfinite(gains)) and np.all((gains > 0.1) & (gains < 10))
    assert np.any(gains == 1.0)  # some fell back
    die.program(p)
    assert np.all(np.isfinite(die.insitu_gradient(x, t)[1]))

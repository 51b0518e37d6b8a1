"""Meshes over a wavelength axis (issue 16, item 2): every wavelength slice of the
vectorised forward, gradients, tap readings and Hughes procedure equals an independently
built single-wavelength mesh; W = 1 is bit-identical to the single-wavelength code; the
gradient of the wavelength-summed loss matches finite differences; the phase-dispersion
formula against the compact model's own n_eff(λ)."""

import numpy as np
import pytest

from pipeline.circuit import mesh_kernels
from pipeline.circuit import mesh_spectral as ms
from pipeline.circuit.mesh import MeshHardware, coupler_matrix, mesh_layout
from pipeline.circuit.mesh_gradients import hughes_gradients, mesh_gradients, tap_powers
from pipeline.errors import SpecError

FIELDS = ("coupler1", "coupler2", "internal", "external", "output", "input", "columns")


def single(lay, seed):
    """A lossy single-wavelength mesh: couplers off 50:50, lossy arms with fixed phases."""
    r, k, n = np.random.default_rng(seed), lay.n_mzi, lay.n
    arm = lambda: r.uniform(0.85, 1, (k, 2)) * np.exp(1j * r.uniform(-0.5, 0.5, (k, 2)))  # noqa: E731
    return MeshHardware(lay, coupler_matrix(r.uniform(0.35, 0.65, k), 0.99),
                        coupler_matrix(r.uniform(0.35, 0.65, k), 0.98), arm(), arm(),
                        r.uniform(0.8, 1, n) * np.exp(1j * r.uniform(0, 1, n)), r.uniform(0.8, 1, n) + 0j,
                        r.uniform(0.95, 1, lay.n_columns) * np.exp(1j * r.uniform(0, 1, lay.n_columns)))


def stacked(singles, scale=None):
    w = len(singles)
    return MeshHardware(singles[0].layout, *[np.stack([getattr(h, f) for h in singles]) for f in FIELDS],
                        wavelengths=1.55 + 0.01 * np.arange(w),
                        phase_scale=None if scale is None else np.asarray(scale, float))


def problem(lay, w, batch, seed):
    r, k, n = np.random.default_rng(seed), lay.n_mzi, lay.n
    x = r.normal(size=(w, n, batch)) + 1j * r.normal(size=(w, n, batch))
    return (r.uniform(0, 2 * np.pi, (w, k)), r.uniform(0, 2 * np.pi, (w, k)), r.uniform(0, 2 * np.pi, (w, n)),
            x / np.abs(x).max(), r.normal(size=(w, n, batch)) + 1j * r.normal(size=(w, n, batch)))


@pytest.fixture(params=[True, False], ids=["compiled", "numpy"])
def kernels(request):
    old = mesh_kernels.USE_NUMBA
    if request.param and mesh_kernels.compiled() is None:
        pytest.skip("numba not installed")
    mesh_kernels.USE_NUMBA = request.param
    mesh_kernels._NB.clear()
    mesh_kernels._PLANS.clear()
    yield request.param
    mesh_kernels.USE_NUMBA = old
    mesh_kernels._NB.clear()
    mesh_kernels._PLANS.clear()


@pytest.mark.parametrize("n", [5, 8, 16])
def test_every_wavelength_slice_equals_its_own_single_wavelength_mesh(kernels, n):
    lay = mesh_layout(n)
    w = 4
    singles = [single(lay, 10 * n + v) for v in range(w)]
    hw = stacked(singles)
    th, ph, ps, x, g = problem(lay, w, 9, n)
    u = hw.matrix(th, ph, ps)
    gr = mesh_gradients(hw, th, ph, ps, x, g)
    taps = tap_powers(hw, th, ph, x)
    hu = hughes_gradients(hw, th, ph, x, g)
    hu_sum, fwd_sum = np.zeros((2, lay.n_mzi)), np.zeros((2, lay.n_mzi))
    for v, h in enumerate(singles):
        assert np.abs(u[v] - h.matrix(th[v], ph[v], ps[v])).max() < 1e-12
        ref = mesh_gradients(h, th[v], ph[v], ps[v], x[v], g[v])
        for a, b in ((gr.theta[v], ref.theta), (gr.phi[v], ref.phi), (gr.output_phases[v], ref.output_phases)):
            assert np.abs(a - b).max() < 1e-12 * max(1.0, np.abs(b).max())
        assert np.abs(taps[v] - tap_powers(h, th[v], ph[v], x[v])).max() < 1e-12 * np.abs(taps).max()
        # broadband taps: the stack's forward readings and estimate are the wavelength sums
        one = hughes_gradients(h, th[v], ph[v], x[v], g[v])
        hu_sum += np.stack([one.theta, one.phi])
        fwd_sum += one.readings[0]
        assert np.abs(hu.adjoint_inputs[v] - one.adjoint_inputs).max() < 1e-12 * np.abs(one.adjoint_inputs).max()
    assert np.abs(hu.readings[0] - fwd_sum).max() < 1e-12 * np.abs(fwd_sum).max()
    assert np.abs(np.stack([hu.theta, hu.phi]) - hu_sum).max() < 1e-11 * np.abs(hu_sum).max()


def test_one_wavelength_is_bit_identical_to_the_single_wavelength_code():
    lay = mesh_layout(8)
    h = single(lay, 3)
    hw = stacked([h])
    th, ph, ps, x, g = problem(lay, 1, 6, 1)
    assert np.array_equal(hw.matrix(th[0], ph[0], ps[0])[0], h.matrix(th[0], ph[0], ps[0]))
    a, b = mesh_gradients(hw, th[0], ph[0], ps[0], x, g), mesh_gradients(h, th[0], ph[0], ps[0], x[0], g[0])
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("theta", "phi", "output_phases"))
    a, b = hughes_gradients(hw, th[0], ph[0], x, g), hughes_gradients(h, th[0], ph[0], x[0], g[0])
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.readings, b.readings)


def test_gradient_of_the_wavelength_summed_loss_matches_finite_differences(kernels):
    """Shared phases θ realised as c_w θ at each wavelength: dL/dθ = Σ_w c_w ∂L_w/∂θ_w."""
    lay = mesh_layout(6)
    w = 3
    hw = stacked([single(lay, 40 + v) for v in range(w)], scale=[1.012, 1.0, 0.988])
    th, ph, ps, x, target = problem(lay, w, 5, 7)
    th, ph, ps = th[0], ph[0], ps[0]

    def loss(th, ph, ps):
        return float(np.sum(np.abs(np.matmul(hw.matrix(th, ph, ps), x) - target) ** 2))

    y = np.matmul(hw.matrix(th, ph, ps), x)
    gr = mesh_gradients(hw, th, ph, ps, x, 2 * (y - target))
    for which, got in ((0, gr.theta), (1, gr.phi), (2, gr.output_phases)):
        args, fd = [th, ph, ps], []
        for i in range(args[which].size):
            a = [v.copy() for v in args]
            a[which][i] += 1e-6
            lp = loss(*a)
            a[which][i] -= 2e-6
            fd.append((lp - loss(*a)) / 2e-6)
        fd = np.array(fd)
        assert np.abs(got - fd).max() < 1e-6 * np.abs(fd).max()
    # broken: ignoring the dispersion of the programmed phases (c_w = 1) is measurably wrong
    flat = stacked([hw.at(v) for v in range(w)])
    wrong = mesh_gradients(flat, np.outer(hw.phase_scale, th), np.outer(hw.phase_scale, ph),
                           np.outer(hw.phase_scale, ps), x, 2 * (y - target)).theta.sum(0)
    assert np.abs(wrong - gr.theta).max() > 1e-3 * np.abs(gr.theta).max()


def test_hughes_over_wavelengths_measures_the_sum_over_realised_phases():
    """Lossless meshes: broadband taps give Σ_w ∂L_w/∂θ_w exactly (not Σ_w c_w ∂L_w/∂θ_w)."""
    lay = mesh_layout(6)
    r = np.random.default_rng(0)
    cpl = lambda: coupler_matrix(r.uniform(0.4, 0.6, (3, lay.n_mzi)))  # noqa: E731
    ones = lambda *s: np.ones((3,) + s, complex)  # noqa: E731
    hw = MeshHardware(lay, cpl(), cpl(), ones(lay.n_mzi, 2), ones(lay.n_mzi, 2), ones(6), ones(6),
                      ones(lay.n_columns), phase_scale=np.array([1.01, 1.0, 0.99]))
    th, ph, _, x, g = problem(lay, 3, 8, 2)
    m = hughes_gradients(hw, th[0], ph[0], x, g)
    per = mesh_gradients(hw, ms.phases(hw, th[0]), ms.phases(hw, ph[0]), None, x, g)
    assert np.abs(m.theta - per.theta.sum(0)).max() < 1e-10 * np.abs(per.theta).max()
    assert np.abs(m.phi - per.phi.sum(0)).max() < 1e-10 * np.abs(per.phi).max()


def test_bad_wavelength_shapes_are_refused():
    lay = mesh_layout(4)
    hw = stacked([single(lay, v) for v in range(2)])
    with pytest.raises(SpecError, match="phase_scale"):
        stacked([single(lay, v) for v in range(2)], scale=[1.0, 1.0, 1.0])
    with pytest.raises(SpecError, match=r"\(2, 6\)"):
        hw.matrix(np.zeros((3, 6)), np.zeros(6))
    with pytest.raises(SpecError, match="columns"):
        MeshHardware(lay, hw.coupler1, hw.coupler2, hw.internal, hw.external, hw.output, hw.input, hw.columns[0])
    with pytest.raises(SpecError, match="W=2"):
        mesh_gradients(hw, np.zeros(6), np.zeros(6), None, np.zeros((3, 4, 2)), np.zeros((3, 4, 2)))


# -- the phase-dispersion formula against the compact models evaluated directly -------------

LAMBDAS = np.array([1.53, 1.54, 1.545, 1.555, 1.56, 1.57])  # ±20 nm around 1550 nm [µm]


def _second_order(lam, lam0, nu):
    """Size of the terms the first-order formula neglects: (Δλ/λ0)² · 2 max(|ν|, 1)."""
    return 2 * max(abs(nu), 1.0) * ((lam - lam0) / lam0) ** 2


@pytest.fixture(scope="module")
def library():
    from pipeline.library import Library
    return Library()


def test_propagation_phase_dispersion_matches_the_waveguide_models_own_neff(library):
    """φ(λ) = 2π L n_eff(λ)/λ from the waveguide model directly vs φ(λ0)·(λ0/λ)·[1 − (n_g/n_eff − 1)Δλ/λ0]."""
    from devices import waveguide_model as wm
    m, lam0, length = library.model("waveguide"), 1.55, 150.0
    n0, ng = float(wm.neff(wavelength=lam0, model=m)), float(wm.group_index(wavelength=lam0, model=m))
    direct = 2 * np.pi * length * wm.neff(wavelength=LAMBDAS, model=m) / LAMBDAS
    phi0 = 2 * np.pi * length * n0 / lam0
    err = np.abs(phi0 * ms.phase_dispersion(LAMBDAS, lam0, ng / n0) / direct - 1)
    assert np.all(err < _second_order(LAMBDAS, lam0, ng / n0))
    # broken: scaling by λ0/λ alone (phase index, no group index) misses by first-order terms
    naive = np.abs(phi0 * ms.phase_dispersion(LAMBDAS, lam0, 1.0) / direct - 1)
    assert np.all(naive > 10 * _second_order(LAMBDAS, lam0, ng / n0))


def test_heater_and_arm_difference_dispersion_match_their_compact_models(library):
    from devices import phase_shifter, waveguide_model as wm
    lam0 = 1.55
    f = lambda v: phase_shifter.phase(wavelength=v, power_w=1.0, model=library.model("phase_shifter"))  # noqa: E731
    nu_t = -lam0 * (f(lam0 + 1e-3) - f(lam0 - 1e-3)) / 2e-3 / f(lam0)
    err = np.abs(ms.phase_dispersion(LAMBDAS, lam0, nu_t) / (f(LAMBDAS) / f(lam0)) - 1)
    assert np.all(err < _second_order(LAMBDAS, lam0, nu_t))
    assert np.all(np.abs(f(LAMBDAS) / f(lam0) - 1) > 10 * _second_order(LAMBDAS, lam0, nu_t))  # no dispersion: wrong
    m, dw = library.model("waveguide"), 0.002  # two arms 4 nm apart in width
    dn = lambda v, q: q(wavelength=v, dw=dw, model=m) - q(wavelength=v, dw=-dw, model=m)  # noqa: E731
    nu_w = dn(lam0, wm.group_index) / dn(lam0, wm.neff)
    direct = dn(LAMBDAS, wm.neff) / LAMBDAS / (dn(lam0, wm.neff) / lam0)
    assert np.all(np.abs(ms.phase_dispersion(LAMBDAS, lam0, nu_w) / direct - 1) < _second_order(LAMBDAS, lam0, nu_w))


# -- WDM dies ------------------------------------------------------------------------------------

def _quiet(**changes):
    from pipeline.chip.impairments import REALISTIC
    return REALISTIC.scaled(detector_noise=False, laser_rin=None, adc_bits=0, dac_bits=0, phase_noise=0.0,
                            phase_drift=0.0, **changes)


def test_each_wdm_channel_equals_a_single_wavelength_die_at_its_wavelength(library):
    """A 3-channel die (5 nm grid) vs three one-wavelength dies of the same seed at the channel
    wavelengths (those evaluate every model at their wavelength directly; the WDM die scales
    its heaters by the first-order dispersion formula: agreement to its second-order error)."""
    from pipeline.chip.mesh_network import MeshArchitecture
    arch = MeshArchitecture(2, 2)
    rng = np.random.default_rng(0)
    p, x = arch.init_params(rng), rng.uniform(0, 1, (9, 2))
    wdm = arch.sample_die(_quiet(wdm_channels=3, wdm_spacing=5.0), 4, library=library)
    wdm.program(p)
    y = wdm.infer(x)
    diff = []
    for c, off in enumerate((-5.0, 0.0, 5.0)):
        one = arch.sample_die(_quiet(wavelength_offset=off), 4, library=library)
        one.program(p)
        assert np.allclose(wdm.channel_kappa2[c], one.kappa2, rtol=0, atol=1e-15)
        assert np.allclose(wdm.channel_offset[c], one.offset, rtol=0, atol=1e-12)
        diff.append(np.abs(y[c::3] - one.infer(x)[c::3]).max())
    assert max(diff) < 1e-3 and diff[0] > 0  # edge channels: the formula, not the model, sets the heaters
    wdm.heater_scale = np.ones(3)  # broken: no heater dispersion
    one = arch.sample_die(_quiet(wavelength_offset=-5.0), 4, library=library)
    one.program(p)
    assert np.abs(wdm.infer(x)[0::3] - one.infer(x)[0::3]).max() > 1e-3


def test_insitu_gradient_on_a_lossless_wdm_die_is_the_sum_over_realised_phases(library):
    """Ideal die, 3 channels 8 nm apart: the broadband taps measure Σ_w ∂L/∂θ_w — the
    derivative for a shift of every channel's realised phase together (finite differences
    over the realised offsets) — not the programmed-phase gradient Σ_w c_w ∂L/∂θ_w (finite
    differences over the parameters), which it equals only once c_w = 1."""
    from pipeline.chip.impairments import IDEAL
    from pipeline.chip.mesh_network import MeshNetwork, MeshNetworkSpec
    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=2))
    rng = np.random.default_rng(1)
    p, x, t = arch.init_params(rng), rng.uniform(0, 1, (12, 2)), rng.uniform(0, 0.5, (12, 2))
    die = arch.sample_die(IDEAL.scaled(wdm_channels=3, wdm_spacing=8.0), 0, library=library)
    k = arch.k

    def fd_params():
        out = []
        for i in range(p.size):
            e = np.zeros(p.size)
            e[i] = 1e-6
            out.append((die.true_loss(p + e, x, t) - die.true_loss(p - e, x, t)) / 2e-6)
        return np.array(out)

    def fd_realised():
        out, base = [], die.channel_offset.copy()
        for i in range(p.size):
            idx = (slice(None), i // (2 * k), (i // k) % 2, i % k)
            vals = []
            for h in (1e-6, -1e-6):
                die.channel_offset = base.copy()
                die.channel_offset[idx] += h
                vals.append(die.true_loss(p, x, t))
            out.append((vals[0] - vals[1]) / 2e-6)
        die.channel_offset = base
        return np.array(out)

    die.program(p)
    _, measured = die.insitu_gradient(x, t)
    size = np.abs(measured).max()
    assert np.abs(measured - fd_realised()).max() < 1e-6 * size
    assert np.abs(measured - fd_params()).max() > 1e-4 * size  # the heaters' dispersion: a real bias
    die.heater_scale = np.ones(3)
    _, measured = die.insitu_gradient(x, t)
    assert np.abs(measured - fd_params()).max() < 1e-6 * size


def test_one_channel_die_is_the_single_wavelength_die():
    from pipeline.chip.impairments import REALISTIC
    from pipeline.chip.mesh_network import MeshArchitecture
    arch = MeshArchitecture(2, 2)
    rng = np.random.default_rng(2)
    p, x, t = arch.init_params(rng), rng.uniform(0, 1, (8, 2)), rng.uniform(0, 0.5, (8, 2))
    a = arch.sample_die(REALISTIC, 5)
    b = arch.sample_die(REALISTIC.scaled(wdm_spacing=3.0), 5)  # spacing is irrelevant at one channel
    for d in (a, b):
        d.program(p)
    assert not hasattr(b, "channel_hardware")
    assert np.array_equal(a.infer(x), b.infer(x))
    assert np.array_equal(a.insitu_gradient(x, t)[1], b.insitu_gradient(x, t)[1])


def test_wdm_span_outside_the_models_band_is_refused():
    from pipeline.chip.impairments import impairments
    with pytest.raises(SpecError, match="wdm_channels"):
        impairments("realistic", wdm_channels=8, wdm_spacing=15.0)


def test_wider_channel_spacing_trains_worse():
    """In situ on ideal WDM dies (4 channels sharing one mesh, moons): 20 nm spacing
    (couplers 0.41…0.56, heaters ±1 %) leaves a higher training loss than 1 nm."""
    from pipeline.chip.impairments import IDEAL
    from pipeline.chip.mesh_network import MeshArchitecture
    from pipeline.training import algorithms as alg, datasets
    arch = MeshArchitecture(2, 1)
    cfg = alg.TrainConfig(seed=0, epochs=12, learning_rate=arch.default_learning_rate)
    data = datasets.load("moons", n_samples=200, low=cfg.target_low, high=cfg.target_high)
    loss = {}
    for spacing in (1.0, 20.0):
        die = arch.sample_die(IDEAL.scaled(wdm_channels=4, wdm_spacing=spacing), 0)
        loss[spacing] = alg.train_insitu(die, data, cfg).metrics["train_loss"][-1]
    assert loss[20.0] > loss[1.0]

"""Die.vjp (the in-situ backward pass with any output gradient) and the die as a JAX
``custom_vjp`` (pipeline.interop.jax_die).

Checked against independent numbers: central finite differences of the ideal architecture's
forward model (no backward code involved) and its analytic ``ideal_loss_and_grad``; the
readings against ``insitu_gradient``'s; a deliberately broken backward (dy sign flipped)
fails the same check."""

import numpy as np
import pytest

from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import IDEAL
from pipeline.chip.mesh_network import MeshNetwork, MeshNetworkSpec
from pipeline.errors import SpecError
from broken_dies import FlippedVjpDie

ARCHS = {"attenuator": lambda: AttenuatorArchitecture(n_in=2, n_hidden=4, n_out=2),
         "mesh": lambda: MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=2))}


def rel(a, b):
    return float(np.abs(np.asarray(a) - b).max() / np.abs(b).max())


def fd_vjp(arch, p, x, dy, h=1e-6):
    """dyᵀ ∂y/∂p of the ideal model by central differences."""
    out = np.empty(p.size)
    for i in range(p.size):
        e = np.zeros(p.size)
        e[i] = h
        out[i] = np.sum(dy * (arch.ideal_forward(p + e, x) - arch.ideal_forward(p - e, x))) / (2 * h)
    return out


@pytest.fixture(scope="module", params=list(ARCHS))
def setup(request):
    arch = ARCHS[request.param]()
    rng = np.random.default_rng(0)
    p = arch.clip_params(arch.init_params(rng))
    if request.param == "attenuator":
        p = np.clip(p, -0.95, 0.95)  # central differences stay inside [-1, 1]
    x = rng.uniform(0, 1, (9, arch.n_in))
    t = rng.uniform(0.2, 0.8, (9, arch.n_out))
    dy = rng.uniform(-1, 1, (9, arch.n_out)) / 9
    return request.param, arch, p, x, t, dy


# -- Die.vjp ---------------------------------------------------------------------------------

def test_vjp_on_ideal_die_is_the_jacobian_product(setup):
    name, arch, p, x, t, dy = setup
    die = arch.sample_die(IDEAL, 0)
    die.program(p)
    g, info = die.vjp(x, dy)
    assert rel(g, fd_vjp(arch, p, x, dy)) < 1e-6
    assert info["y"].shape == (9, arch.n_out) and info["readings"] > 0
    assert rel(die.vjp(x, 3 * dy)[0], 3 * g) < 1e-12  # linear in dy (attenuator: error gain s = 3·… > 1)


def test_insitu_gradient_is_vjp_of_the_mse_error(setup):
    """Ideal die: vjp with dy = (y − t)/B is insitu_gradient; realistic twins: the same
    readings taken and the same noise draws consumed."""
    name, arch, p, x, t, dy = setup
    die = arch.sample_die(IDEAL, 0)
    die.program(p)
    y = die.infer(x)
    assert rel(die.vjp(x, (y - t) / len(x))[0], die.insitu_gradient(x, t)[1]) < 1e-12
    a, b = arch.sample_die("realistic", 1), arch.sample_die("realistic", 1)
    a.program(p)
    b.program(p)
    a.insitu_gradient(x, t)
    before = b.measurements
    info = b.vjp(x, dy)[1]
    assert a.measurements == b.measurements == before + info["readings"]
    assert np.array_equal(a._rng.standard_normal(3), b._rng.standard_normal(3))


def test_attenuator_batched_vjp_is_pass_by_pass():
    arch = AttenuatorArchitecture(n_in=3, n_hidden=4, n_out=2, crosstalk_calibration=True)
    d1, d2 = arch.sample_die("realistic", 2), arch.sample_die("realistic", 2)
    rng = np.random.default_rng(5)
    for nb, gain in ((6, 1.0), (4, 30.0)):  # the second saturates without the error gain
        p = arch.clip_params(arch.init_params(rng))
        x, dy = rng.uniform(0, 1, (nb, 3)), gain * rng.uniform(-1, 1, (nb, 2)) / nb
        d1.program(p)
        d2.program(p)
        (g1, i1), (g2, i2) = d1.vjp(x, dy), d2.vjp_by_pass(x, dy)
        assert np.array_equal(g1, g2) and i1["readings"] == i2["readings"]
        assert i1["error_scale"] == (1.0 if gain == 1 else np.abs(nb * dy).max())
    assert np.array_equal(d1._rng.standard_normal(3), d2._rng.standard_normal(3))


def test_bad_dy(setup):
    name, arch, p, x, t, dy = setup
    die = arch.sample_die(IDEAL, 0)
    with pytest.raises(SpecError, match="dy"):
        die.vjp(x, dy[:-1])
    with pytest.raises(SpecError, match="dy"):
        die.vjp(x, np.full_like(dy, np.nan))


# -- the JAX function ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # the die's float64 numbers
    return jax


def _mse_grad(jax, die, p, x, t):
    import jax.numpy as jnp
    from pipeline.interop.jax_die import die_function

    f = die_function(die)
    g = jax.grad(lambda q: 0.5 * jnp.mean(jnp.sum((f(q, x) - t) ** 2, 1)))(jnp.asarray(p))
    return np.asarray(g), f


def test_jax_grad_on_ideal_die_is_the_analytic_gradient(jax, setup):
    name, arch, p, x, t, dy = setup
    g, f = _mse_grad(jax, arch.sample_die(IDEAL, 0), p, x, t)
    ideal = arch.ideal_loss_and_grad(p, x, t)[1]
    assert rel(g, ideal) < 1e-10
    assert f.calls == {"forward": 1, "backward": 1} and f.last_vjp["readings"] > 0
    assert rel(jax.jit(f)(p, x), arch.ideal_forward(p, x)) < 1e-12  # jit-able, forward = the die's infer
    broken, _ = _mse_grad(jax, FlippedVjpDie(arch.sample_die(IDEAL, 0)), p, x, t)
    assert rel(broken, ideal) > 1.9  # the broken method fails the same check


def test_jax_grad_is_die_vjp_on_a_realistic_die(jax, setup):
    """Any loss: jax.grad through the die equals die.vjp of that loss's dL/dy, bit for bit
    (twin dies, the same calls: program, infer, program, vjp)."""
    import jax.numpy as jnp
    from pipeline.interop.jax_die import die_function

    name, arch, p, x, t, dy = setup
    a, b = arch.sample_die("realistic", 3), arch.sample_die("realistic", 3)
    f = die_function(a)
    g = jax.grad(lambda q: jnp.sum(jnp.asarray(dy) * f(q, x)))(jnp.asarray(p))
    b.program(p)
    b.infer(x)
    b.program(p)
    assert np.array_equal(np.asarray(g), b.vjp(x, dy)[0])
    assert a.measurements == b.measurements


def test_jax_cross_entropy_on_ideal_die_is_finite_differences(jax):
    """A loss photoprop's dies never had: softmax cross-entropy of the outputs, jax.grad
    through the ideal die vs central differences of the same loss on the ideal model."""
    import jax.numpy as jnp
    from pipeline.interop.jax_die import die_function

    arch = ARCHS["attenuator"]()
    rng = np.random.default_rng(2)
    p = np.clip(arch.init_params(rng), -0.95, 0.95)
    x, labels = rng.uniform(0, 1, (10, 2)), rng.integers(0, 2, 10)
    f = die_function(arch.sample_die(IDEAL, 0))

    def ce(y):
        z = 4.0 * y
        return -np.mean(z[np.arange(10), labels] - np.log(np.exp(z).sum(1)))

    def ce_jax(q):
        z = 4.0 * f(q, x)
        return -jnp.mean(z[jnp.arange(10), labels] - jax.nn.logsumexp(z, axis=1))

    g = np.asarray(jax.grad(ce_jax)(jnp.asarray(p)))
    h, num = 1e-6, np.empty(p.size)
    for i in range(p.size):
        e = np.zeros(p.size)
        e[i] = h
        num[i] = (ce(arch.ideal_forward(p + e, x)) - ce(arch.ideal_forward(p - e, x))) / (2 * h)
    assert rel(g, num) < 1e-6


def test_jax_input_cotangent_is_nan(jax):
    import jax.numpy as jnp
    from pipeline.interop.jax_die import die_function

    arch = ARCHS["attenuator"]()
    p = arch.init_params(np.random.default_rng(0))
    f = die_function(arch.sample_die(IDEAL, 0))
    gx = jax.grad(lambda xx: jnp.sum(f(jnp.asarray(p), xx)))(jnp.full((3, 2), 0.5))
    assert np.all(np.isnan(np.asarray(gx)))
    with pytest.raises(SpecError, match="missing"):
        die_function(object())


# -- optax through the adapter = photoprop train's in-situ algorithm, in distribution -------

SEEDS = range(1, 7)  # six realistic attenuator dies (die 0 starts dark on moons, examples doc)


def test_optax_sgd_mse_matches_insitu_training_in_distribution(jax):
    """MSE, SGD with momentum: optax through the JAX adapter vs ``alg.train_insitu`` on twin
    dies (same die, split, initialisation, batch order and schedule; only the noise
    realisations differ — the adapter takes one more forward pass per step).  Paired over 6
    dies, the 95 % bootstrap interval of the final test-accuracy difference lies inside ±5
    points (2.5 samples of the 50-sample test split, whose resolution is 2 points) and that of
    the final test MSE inside ±0.002 (10 % of a trained die's ≈ 0.02)."""
    pytest.importorskip("optax")
    import xarray as xr

    from pipeline.training import algorithms as alg
    from pipeline.training import verdicts as vd
    from workflows.examples.train_die_optax import _setup, train_optax

    rows = []
    for seed in SEEDS:
        die, data, cfg = _setup("moons", seed, 150, 15, "momentum")
        cfg = cfg.model_copy(update={"learning_rate": 0.02, "lr_decay": 0.5})
        ref = alg.train_insitu(die, data, cfg)
        twin = die.architecture.sample_die("realistic", seed)
        got = train_optax(twin, data, cfg, "mse")
        rows.append([ref.metrics["test_accuracy"][-1], got["test_accuracy"][-1],
                     ref.metrics["test_loss"][-1], got["test_loss"][-1]])
        per_step = len(data.x_train) // cfg.batch_size * cfg.epochs
        assert twin.measurements - die.measurements == per_step * cfg.batch_size * die.architecture.n_out
    rows = np.array(rows)
    for cols, margin in (((0, 1), 0.05), ((2, 3), 0.002)):
        da = xr.DataArray(rows[:, cols], dims=("seed", "algorithm"),
                          coords={"seed": list(SEEDS), "algorithm": ["insitu", "optax"]})
        diff = vd.paired_difference(da, "optax", "insitu")
        assert -margin <= diff.ci_low and diff.ci_high <= margin, diff
    assert rows[:, 0].max() >= 0.84  # the dies do learn (not a comparison of untrained chips)

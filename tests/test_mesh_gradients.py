"""Batch phase gradients of MZI meshes and the simulated Hughes intensity procedure,
against finite differences, a per-sample column sweep and the closed-form loss bias."""

import numpy as np
import pytest

from pipeline.circuit.mesh import MeshHardware, column_groups, mesh_layout
from pipeline.circuit.mesh_gradients import (column_sweep_gradients, hughes_gradients, mesh_gradients,
                                             tap_powers)
from pipeline.errors import SpecError


def coupler(a):
    a = np.asarray(a)
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.stack([c, 1j * s], -1), np.stack([1j * s, c], -1)], -2)


def lossy_hardware(n, seed):
    """Non-ideal couplers (splitting off 50:50), lossy arms with fixed phases, facet loss."""
    rng = np.random.default_rng(seed)
    lay = mesh_layout(n)
    k = lay.n_mzi
    arms = lambda: rng.uniform(0.85, 1.0, (k, 2)) * np.exp(1j * rng.uniform(-0.5, 0.5, (k, 2)))  # noqa: E731
    return MeshHardware(lay, coupler(rng.uniform(0.7, 0.87, k)), 0.97 * coupler(rng.uniform(0.7, 0.87, k)),
                        arms(), arms(), rng.uniform(0.8, 1, n) * np.exp(1j * rng.uniform(0, 1, n)),
                        rng.uniform(0.8, 1, n) + 0j,
                        rng.uniform(0.95, 1, lay.n_columns) * np.exp(1j * rng.uniform(0, 1, lay.n_columns)))


def random_problem(n, batch, seed):
    rng = np.random.default_rng(seed)
    k = n * (n - 1) // 2
    x = rng.normal(size=(n, batch)) + 1j * rng.normal(size=(n, batch))
    return (rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, n),
            x / np.abs(x).max(), rng.normal(size=(n, batch)) + 1j * rng.normal(size=(n, batch)))


def finite_difference(loss, args, which, h=1e-6):
    out = []
    for i in range(args[which].size):
        a = [v.copy() for v in args]
        a[which][i] += h
        lp = loss(*a)
        a[which][i] -= 2 * h
        out.append((lp - loss(*a)) / (2 * h))
    return np.array(out)


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


@pytest.mark.parametrize("n", [2, 5, 8])
def test_gradients_match_finite_differences_and_column_sweep_on_lossy_mesh(n):
    hw = lossy_hardware(n, n)
    th, ph, ps, x, target = random_problem(n, 7, n + 1)

    def loss(th, ph, ps):  # complex-field loss: every phase, output screen included, matters
        return float(np.sum(np.abs(hw.matrix(th, ph, ps) @ x - target) ** 2))

    g = 2 * (hw.matrix(th, ph, ps) @ x - target)  # ∂L/∂Re Y + i ∂L/∂Im Y
    fast = mesh_gradients(hw, th, ph, ps, x, g)
    sweep = column_sweep_gradients(hw, th, ph, ps, x, g)
    for name, which in (("theta", 0), ("phi", 1), ("output_phases", 2)):
        fd = finite_difference(loss, [th, ph, ps], which)
        assert rel(getattr(fast, name), fd) < 1e-7, name
        assert rel(getattr(fast, name), getattr(sweep, name)) < 1e-12, name


def test_power_loss_gradient_matches_finite_differences():
    n = 6
    hw = lossy_hardware(n, 1)
    th, ph, ps, x, _ = random_problem(n, 9, 2)
    t = np.random.default_rng(3).uniform(0, 0.5, (n, 9))

    def loss(th, ph):
        return float(0.5 * np.sum((np.abs(hw.matrix(th, ph) @ x) ** 2 - t) ** 2))

    y = hw.matrix(th, ph) @ x
    g = 2 * (np.abs(y) ** 2 - t) * y  # dL/d|y|² · 2y
    got = mesh_gradients(hw, th, ph, None, x, g)
    assert rel(got.theta, finite_difference(loss, [th, ph], 0)) < 1e-7
    assert rel(got.phi, finite_difference(loss, [th, ph], 1)) < 1e-7


def test_ideal_mesh_hardware_is_unitary():
    lay = mesh_layout(16)
    rng = np.random.default_rng(0)
    u = MeshHardware.ideal(lay).matrix(rng.uniform(0, 6, lay.n_mzi), rng.uniform(0, 6, lay.n_mzi),
                                       rng.uniform(0, 6, 16))
    assert np.abs(u.conj().T @ u - np.eye(16)).max() < 1e-12


def test_tap_powers_equal_per_sample_propagation():
    n = 5
    hw = lossy_hardware(n, 4)
    th, ph, _, z, _ = random_problem(n, 6, 5)
    lay = hw.layout
    fields = hw.input[:, None] * z
    direct = np.zeros((2, lay.n_mzi))
    for ks in column_groups(lay):
        new = fields.copy()
        for k in ks:
            m = lay.modes[k]
            pair = fields[m:m + 2]
            after_phi = hw.external[k, 0] * np.exp(1j * ph[k]) * pair[0]
            inner = hw.coupler1[k] @ np.stack([after_phi, hw.external[k, 1] * pair[1]])
            after_theta = hw.internal[k, 0] * np.exp(1j * th[k]) * inner[0]
            direct[0, k], direct[1, k] = np.sum(np.abs(after_theta) ** 2), np.sum(np.abs(after_phi) ** 2)
            new[m:m + 2] = hw.coupler2[k] @ np.stack([after_theta, hw.internal[k, 1] * inner[1]])
        fields = hw.columns[lay.column[ks[0]]] * new
    assert np.abs(tap_powers(hw, th, ph, z) - direct).max() < 1e-12


def test_hughes_procedure_is_exact_on_a_lossless_mesh():
    n = 8
    hw = MeshHardware.ideal(mesh_layout(n))
    th, ph, _, x, _ = random_problem(n, 11, 7)
    t = np.random.default_rng(8).uniform(0, 0.3, (n, 11))

    def loss(th, ph):
        return float(0.5 * np.mean(np.sum((np.abs(hw.matrix(th, ph) @ x) ** 2 - t) ** 2, 0)))

    y = hw.matrix(th, ph) @ x
    g = 2 * (np.abs(y) ** 2 - t) * y / x.shape[1]
    m = hughes_gradients(hw, th, ph, x, g)
    assert rel(m.theta, finite_difference(loss, [th, ph], 0)) < 1e-6
    assert rel(m.phi, finite_difference(loss, [th, ph], 1)) < 1e-6
    assert m.readings_taken == 3 * 2 * hw.layout.n_mzi * 11


def test_hughes_bias_with_one_db_split_between_facets_is_10_to_minus_2_over_20():
    """0.5 dB at the inputs and 0.5 dB at the outputs: every shifter reads t² = 10^(-2/20)
    of the lossless mesh's true gradient (module doc: α³β with α = β = √t)."""
    n = 6
    lay = mesh_layout(n)
    ideal = MeshHardware.ideal(lay)
    half = np.full(n, 10 ** (-0.5 / 20), complex)
    lossy = MeshHardware(lay, ideal.coupler1, ideal.coupler2, ideal.internal, ideal.external, half, half,
                         ideal.columns)
    th, ph, _, x, g = random_problem(n, 5, 9)
    true = mesh_gradients(ideal, th, ph, None, x, g)
    m = hughes_gradients(lossy, th, ph, x, g)
    assert np.abs(m.theta - 10 ** (-2 / 20) * true.theta).max() < 1e-12 * np.abs(true.theta).max()
    assert np.abs(m.phi - 10 ** (-2 / 20) * true.phi).max() < 1e-12 * np.abs(true.phi).max()
    # the lossy die's own true gradient is t·(lossless): the procedure is biased by a further α² = t
    own = mesh_gradients(lossy, th, ph, None, x, g)
    assert np.allclose(own.theta, 10 ** (-1 / 20) * true.theta, rtol=0, atol=1e-12 * np.abs(true.theta).max())


def test_hughes_bias_with_loss_spread_over_the_columns():
    """1 dB spread evenly over the L columns: a shifter in column c reads t^(1 + 2c/L)."""
    n = 6
    lay = mesh_layout(n)
    ideal = MeshHardware.ideal(lay)
    big_l = lay.n_columns
    t_col = 10 ** (-1 / 20 / big_l)
    lossy = MeshHardware(lay, ideal.coupler1, ideal.coupler2, ideal.internal, ideal.external,
                         ideal.output, ideal.input, np.full(big_l, t_col, complex))
    th, ph, _, x, g = random_problem(n, 5, 10)
    true = mesh_gradients(ideal, th, ph, None, x, g)
    m = hughes_gradients(lossy, th, ph, x, g)
    factor = (10 ** (-1 / 20)) ** (1 + 2 * lay.column / big_l)
    assert np.abs(m.phi - factor * true.phi).max() < 1e-12 * np.abs(true.phi).max()
    assert np.abs(m.theta - factor * true.theta).max() < 1e-12 * np.abs(true.theta).max()


def test_noisy_reader_is_applied_to_the_three_passes():
    n = 4
    hw = MeshHardware.ideal(mesh_layout(n))
    th, ph, _, x, g = random_problem(n, 3, 11)
    m = hughes_gradients(hw, th, ph, x, g, read=lambda p, b: p + 0.01)
    exact = hughes_gradients(hw, th, ph, x, g)
    # a constant offset on every reading biases −(I_sum − I_fwd − I_TR) by +0.01/scale
    assert np.allclose(m.phi - exact.phi, 0.01 / exact.source_scale)


def test_bad_shapes_are_refused():
    hw = MeshHardware.ideal(mesh_layout(4))
    k = hw.layout.n_mzi
    with pytest.raises(SpecError, match="x has shape"):
        mesh_gradients(hw, np.zeros(k), np.zeros(k), None, np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(SpecError, match="theta"):
        mesh_gradients(hw, np.zeros(k + 1), np.zeros(k), None, np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(SpecError, match="coupler1"):
        MeshHardware(hw.layout, hw.coupler1[:2], hw.coupler2, hw.internal, hw.external, hw.output, hw.input,
                     hw.columns)

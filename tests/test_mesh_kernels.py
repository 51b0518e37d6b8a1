"""The fused-column mesh kernels (issue 16) against the straightforward column sweeps:
transfer matrix, all phase gradients and the Hughes tap powers, for random phases on
lossy meshes with imbalanced couplers, Clements and Reck, even and odd N."""

import numpy as np
import pytest

from pipeline.circuit import mesh_kernels
from pipeline.circuit.mesh import MeshHardware, MeshLayout, column_groups, mesh_layout, mesh_matrix
from pipeline.circuit.mesh_gradients import (_swept_gradients, column_sweep_gradients, hughes_gradients,
                                             mesh_gradients, tap_powers)


def coupler(a):
    c, s = np.cos(a), np.sin(a)
    return np.stack([np.stack([c, 1j * s], -1), np.stack([1j * s, c], -1)], -2)


def lossy(n, kind, seed):
    """Imbalanced lossy couplers, lossy arms with fixed phases, facet and column loss."""
    rng = np.random.default_rng(seed)
    lay = mesh_layout(n, kind)
    k = lay.n_mzi
    arms = lambda: rng.uniform(0.85, 1.0, (k, 2)) * np.exp(1j * rng.uniform(-0.5, 0.5, (k, 2)))  # noqa: E731
    return MeshHardware(lay, rng.uniform(0.9, 1, k)[:, None, None] * coupler(rng.uniform(0.6, 0.95, k)),
                        0.97 * coupler(rng.uniform(0.6, 0.95, k)), arms(), arms(),
                        rng.uniform(0.8, 1, n) * np.exp(1j * rng.uniform(0, 1, n)),
                        rng.uniform(0.8, 1, n) * np.exp(1j * rng.uniform(0, 1, n)),
                        rng.uniform(0.95, 1, lay.n_columns) * np.exp(1j * rng.uniform(0, 1, lay.n_columns)))


def problem(hw, batch, seed):
    rng = np.random.default_rng(seed)
    k, n = hw.layout.n_mzi, hw.layout.n
    x = rng.normal(size=(n, batch)) + 1j * rng.normal(size=(n, batch))
    return (rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, k), rng.uniform(0, 2 * np.pi, n),
            x / np.abs(x).max(), rng.normal(size=(n, batch)) + 1j * rng.normal(size=(n, batch)))


def column_matrix(hw, th, ph, ps):
    """U by applying the columns one after another to the identity (the plain reference)."""
    lay, t = hw.layout, hw.parts(th, ph)[2]
    u = np.diag(hw.input).astype(complex)
    for c, ks in enumerate(column_groups(lay)):
        for k in ks:
            m = lay.modes[k]
            u[m:m + 2] = t[k] @ u[m:m + 2]
        u = hw.columns[c] * u
    return (hw.output * np.exp(1j * ps))[:, None] * u


def direct_taps(hw, th, ph, z):
    """Batch-summed powers after every θ and φ shifter by per-sample propagation."""
    lay = hw.layout
    fields = hw.input[:, None] * z
    out = np.zeros((2, lay.n_mzi))
    for c, ks in enumerate(column_groups(lay)):
        new = fields.copy()
        for k in ks:
            m = lay.modes[k]
            after_phi = hw.external[k, 0] * np.exp(1j * ph[k]) * fields[m]
            inner = hw.coupler1[k] @ np.stack([after_phi, hw.external[k, 1] * fields[m + 1]])
            after_theta = hw.internal[k, 0] * np.exp(1j * th[k]) * inner[0]
            out[0, k], out[1, k] = np.sum(np.abs(after_theta) ** 2), np.sum(np.abs(after_phi) ** 2)
            new[m:m + 2] = hw.coupler2[k] @ np.stack([after_theta, hw.internal[k, 1] * inner[1]])
        fields = hw.columns[c] * new
    return out


def rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def _numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def sweeps(request, monkeypatch):
    """Every test runs with the numpy sweeps and, where numba is installed, the compiled ones."""
    if request.param == "numba" and not _numba_available():
        pytest.skip("numba not installed (optional): the numpy sweeps are tested")
    monkeypatch.setattr(mesh_kernels, "USE_NUMBA", request.param == "numba")
    monkeypatch.setattr(mesh_kernels, "_NB", [])
    mesh_kernels._BUILDS.clear()
    yield request.param
    mesh_kernels._BUILDS.clear()
    mesh_kernels._NB.clear()


CASES = [(n, kind) for n in (4, 7, 16) for kind in ("clements", "reck")] + [(2, "clements"), (33, "clements")]


@pytest.mark.parametrize("n, kind", CASES)
def test_fused_matrix_equals_column_by_column_product(n, kind):
    hw = lossy(n, kind, n)
    th, ph, ps, _, _ = problem(hw, 3, n + 1)
    assert mesh_kernels.plan(hw.layout) is not None  # the fused path is the one under test
    ref = column_matrix(hw, th, ph, ps)
    assert np.abs(hw.matrix(th, ph, ps) - ref).max() < 1e-12 * np.abs(ref).max()
    fused = mesh_kernels.build(mesh_kernels.plan(hw.layout), hw.mzis(th, ph)).product  # the blocks' product
    scale = (np.prod(hw.columns) * hw.output * np.exp(1j * ps))[:, None] * hw.input[None, :]
    assert np.abs(scale * fused - ref).max() < 1e-12 * np.abs(ref).max()
    ideal = mesh_matrix(hw.layout, th, ph, ps)
    assert np.abs(ideal.conj().T @ ideal - np.eye(n)).max() < 1e-12


@pytest.mark.parametrize("n, kind", CASES)
def test_fused_gradients_equal_per_sample_column_sweep(n, kind):
    hw = lossy(n, kind, 2 * n)
    th, ph, ps, x, g = problem(hw, 9, 3 * n)
    fast = mesh_gradients(hw, th, ph, ps, x, g)
    sweep = column_sweep_gradients(hw, th, ph, ps, x, g)
    swept = _swept_gradients(hw, th, ph, ps, x, g)
    for name in ("theta", "phi", "output_phases"):
        assert rel(getattr(fast, name), getattr(sweep, name)) < 1e-12, name
        assert rel(getattr(swept, name), getattr(sweep, name)) < 1e-12, name


@pytest.mark.parametrize("n, kind", CASES)
def test_fused_tap_powers_equal_per_sample_propagation(n, kind):
    hw = lossy(n, kind, 3 * n)
    th, ph, _, z, _ = problem(hw, 6, 4 * n)
    assert rel(tap_powers(hw, th, ph, z), direct_taps(hw, th, ph, z)) < 1e-12


def test_hughes_with_own_pass_phases_equals_per_sample_readings():
    """Each pass read with its own phases: the fused tap sweep of every pass equals
    per-sample propagation of that pass's fields."""
    hw = lossy(7, "clements", 5)
    th, ph, _, x, g = problem(hw, 8, 6)
    rng = np.random.default_rng(7)
    passes = [(th + rng.normal(0, 0.05, th.size), ph + rng.normal(0, 0.05, ph.size)) for _ in range(3)]
    m = hughes_gradients(hw, th, ph, x, g, pass_phases=passes)
    u = column_matrix(hw, *passes[0], np.zeros(7))
    x_adj = u.T @ (0.5 * np.conj(g) * m.source_scale)
    x_tr = 1j * np.conj(x_adj)
    want = np.stack([direct_taps(hw, th, ph, x), direct_taps(hw, *passes[1], x_tr),
                     direct_taps(hw, *passes[2], x + x_tr)])
    assert rel(m.readings, want) < 1e-12
    assert rel(m.adjoint_inputs, x_adj / m.source_scale) < 1e-12


def test_build_reuse_follows_phase_changes():
    """The few builds kept for reuse are keyed by hardware and phases: new phases, or another
    mesh with the same phases, never see a stale matrix."""
    hw, other = lossy(8, "clements", 1), lossy(8, "clements", 2)
    th, ph, ps, _, _ = problem(hw, 2, 3)
    first = hw.matrix(th, ph, ps)
    th2 = th.copy()
    th2[5] += 0.3
    assert np.abs(hw.matrix(th2, ph, ps) - column_matrix(hw, th2, ph, ps)).max() < 1e-12
    assert np.abs(other.matrix(th, ph, ps) - column_matrix(other, th, ph, ps)).max() < 1e-12
    assert np.abs(hw.matrix(th, ph, ps) - first).max() == 0


def test_non_brick_layout_uses_the_generic_sweep():
    """A layout whose columns are not on alternating parities (here two MZIs on (0,1) and
    (2,3) both in column 0 followed by one on (0,1) in column 1 — fine — and one on (2,3)
    in column 1, off parity) falls back to the column-by-column path with the same results."""
    lay = MeshLayout(n=4, modes=np.array([0, 2, 0, 2]), column=np.array([0, 0, 1, 1]), kind="custom")
    assert mesh_kernels.plan(lay) is None
    rng = np.random.default_rng(0)
    k = 4
    hw = MeshHardware(lay, coupler(rng.uniform(0.6, 0.9, k)), coupler(rng.uniform(0.6, 0.9, k)),
                      np.full((k, 2), 0.95 + 0j), np.ones((k, 2), complex), np.ones(4, complex), np.ones(4, complex),
                      np.ones(2, complex))
    th, ph, ps, x, g = problem(hw, 5, 1)
    assert np.abs(hw.matrix(th, ph, ps) - column_matrix(hw, th, ph, ps)).max() < 1e-12
    fast, sweep = mesh_gradients(hw, th, ph, ps, x, g), column_sweep_gradients(hw, th, ph, ps, x, g)
    assert rel(fast.theta, sweep.theta) < 1e-12 and rel(fast.phi, sweep.phi) < 1e-12
    assert rel(tap_powers(hw, th, ph, x), direct_taps(hw, th, ph, x)) < 1e-12


@pytest.mark.parametrize("n", [7, 16])
def test_recycled_buffers_never_leak_into_results(n):
    """Build buffers are recycled without zeroing (compiled path): poison the pool with NaN
    and every result must still equal the references."""
    hw = lossy(n, "clements", 11)
    th, ph, ps, x, g = problem(hw, 5, 12)
    for _ in range(mesh_kernels.KEEP + 2):  # fill the cache so that evictions recycle
        hw.matrix(th + np.random.default_rng(_).normal(0, 0.1, th.size), ph, ps)
    for free in mesh_kernels._POOL.values():
        for a in free:
            a.fill(np.nan)
    for shape, free in list(mesh_kernels._POOL.items()):
        free.extend(np.full(shape, np.nan, complex) for _ in range(2))
    th = th + 0.01
    assert np.abs(hw.matrix(th, ph, ps) - column_matrix(hw, th, ph, ps)).max() < 1e-12
    fast, sweep = mesh_gradients(hw, th, ph, ps, x, g), column_sweep_gradients(hw, th, ph, ps, x, g)
    assert rel(fast.theta, sweep.theta) < 1e-12 and rel(fast.phi, sweep.phi) < 1e-12
    assert rel(tap_powers(hw, th + 0.02, ph, x), direct_taps(hw, th + 0.02, ph, x)) < 1e-12

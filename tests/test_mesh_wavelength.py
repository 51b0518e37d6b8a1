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

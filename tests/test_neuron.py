"""Opto-electronic neuron: transfer, on-chip derivative, detector-node noise statistics."""

import numpy as np
import pytest
from scipy import stats

from pipeline.chip import neuron as nr
from pipeline.specs import Spec

Q = 1.602176634e-19  # C (SI exact)
KB = 1.380649e-23  # J/K (SI exact)


def test_ideal_modulator_is_sin2_activation():
    z = np.linspace(-0.5, 1.5, 201)
    f, _, _ = nr.modulator_transmissions(z, 0.5, 0.5, np.zeros(3))
    u = np.clip(z, 0, 1)
    np.testing.assert_allclose(f, np.sin(np.pi * u / 2) ** 2, atol=1e-15)
    np.testing.assert_allclose(nr.activation(z), np.sin(np.pi * u / 2) ** 2, atol=1e-15)


@pytest.mark.parametrize("fs", [1.0, 2.5])
def test_onchip_derivative_equals_analytic_derivative(fs):
    z = np.linspace(-1.0, 1.4, 97) * fs
    _, dp, dm = nr.modulator_transmissions(z, 0.5, 0.5, np.zeros(3), fs)
    d = nr.onchip_derivative(dp - dm, fs)
    # finite differences of the transfer (independent of the closed form), away from the kinks
    h = 1e-6 * fs
    fd = (nr.activation(z + h, fs) - nr.activation(z - h, fs)) / (2 * h)
    inside = (np.abs(z) > 2 * h) & (np.abs(z - fs) > 2 * h)
    np.testing.assert_allclose(d[inside], fd[inside], atol=1e-8)
    np.testing.assert_allclose(d, nr.activation_derivative(z, fs), atol=1e-14)


def test_onchip_derivative_exact_for_any_matched_couplers():
    """Matched (shared) coupler offsets: the pair still gives the modulator's own derivative."""
    a, b = nr.mzi_coefficients(0.46, 0.53)
    z = np.linspace(0.05, 0.95, 19)
    f = lambda zz: nr.modulator_transmissions(zz, a, b, np.zeros(3))[0]  # noqa: E731
    _, dp, dm = nr.modulator_transmissions(z, a, b, np.zeros(3))
    fd = (f(z + 1e-6) - f(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(nr.onchip_derivative(dp - dm), fd, atol=1e-8)
    assert a - b > 1e-4  # finite extinction from unbalanced couplers


def test_bias_errors_bias_the_derivative_by_the_expected_amount():
    rng = np.random.default_rng(1)
    bias = rng.normal(0, 0.05, (50, 3))
    z = rng.uniform(0, 1, 50)
    _, dp, dm = nr.modulator_transmissions(z, 0.5, 0.5, bias)
    d = nr.onchip_derivative(dp - dm)
    th = np.pi * z
    # first order: π/4 [sin(θ+β₊) + sin(θ+β₋)] ≈ f'(z) + π/4 cos θ (β₊ + β₋)
    first_order = nr.activation_derivative(z) + np.pi / 4 * np.cos(th) * (bias[:, 1] + bias[:, 2])
    np.testing.assert_allclose(d, first_order, atol=np.pi / 8 * 4 * 0.05 ** 2 * 10)
    np.testing.assert_allclose(d, nr.expected_derivative(z, 0.5, bias), atol=1e-14)
    assert np.max(np.abs(d - nr.activation_derivative(z))) > 0.01


def test_mzi_coefficients_closed_form():
    th = np.linspace(0, 2 * np.pi, 13)
    k1, k2 = 0.43, 0.58
    c1 = np.array([[np.sqrt(1 - k1), 1j * np.sqrt(k1)], [1j * np.sqrt(k1), np.sqrt(1 - k1)]])
    c2 = np.array([[np.sqrt(1 - k2), 1j * np.sqrt(k2)], [1j * np.sqrt(k2), np.sqrt(1 - k2)]])
    a, b = nr.mzi_coefficients(k1, k2)
    for t in th:
        m = c2 @ np.diag([np.exp(1j * t), 1]) @ c1
        assert abs(abs(m[0, 0]) ** 2 - nr.bar(t, a, b)) < 1e-14
        assert abs(abs(m[1, 1]) ** 2 - abs(m[0, 0]) ** 2) < 1e-14  # used by the backward detectors
        assert abs(abs(m[0, 1]) ** 2 - abs(m[1, 0]) ** 2) < 1e-14


@pytest.mark.parametrize("power_w,n_det", [(1e-6, 2), (50e-6, 6), (1e-3, 1)])
def test_node_noise_matches_shot_plus_thermal(power_w, n_det):
    from devices.photodetector_electrical import PhotodetectorElectricalSpec

    spec = PhotodetectorElectricalSpec()
    bw, n = 1e8, 20000
    iph = spec.responsivity * power_w
    var = 2 * Q * (iph + n_det * spec.dark_current) * bw + 4 * KB * spec.temperature * bw / spec.load_resistance
    reads = nr.read_node(np.full(n, 0.3 * iph), np.full(n, iph), n_det, spec=spec, bandwidth=bw,
                         rng=np.random.default_rng(7))
    s2 = np.var(reads, ddof=1)
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], n - 1) / (n - 1)
    assert lo * var < s2 < hi * var, (s2, var)
    assert abs(np.mean(reads) - 0.3 * iph) < 5 * np.sqrt(var / n)


def test_neuron_spec_v_pi_and_errors():
    s = nr.NeuronSpec()
    assert isinstance(s, Spec)
    assert abs(s.v_pi - 5.0) < 1e-12  # 2 V·cm / 0.4 cm
    from pipeline.errors import SpecError

    with pytest.raises(SpecError, match="full_scale"):
        nr.NeuronSpec(full_scale=-1)

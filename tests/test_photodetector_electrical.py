"""Ge photodetector electrical model: formulas, sampled noise statistics, units, spec errors."""

import numpy as np
import pytest
from scipy import stats

from devices.photodetector_electrical import (
    K_B, Q_E, PhotodetectorElectricalSpec, detect, electrons_per_sample, min_detectable_power, nep,
    noise_variance, photocurrent, quantum_limit, shot_noise_variance, snr, thermal_noise_variance)
from pipeline.errors import SpecError


def _variance_bounds(sigma2: float, n: int, tail: float = 1e-6) -> tuple[float, float]:
    """Two-sided chi-square acceptance interval of the sample variance of n Gaussian draws."""
    return (sigma2 * stats.chi2.ppf(tail, n - 1) / (n - 1), sigma2 * stats.chi2.ppf(1 - tail, n - 1) / (n - 1))


def test_quantum_limit_and_defaults():
    # q*lambda/(h*c) at 1550 nm = 1.2502 A/W (DESIGN.md: 1.25 A/W)
    assert quantum_limit(1.55) == pytest.approx(1.2502, abs=1e-4)
    s = PhotodetectorElectricalSpec()
    assert 0.8 <= s.responsivity <= 1.0 and 1e-9 <= s.dark_current <= 50e-9 and 10e-15 <= s.capacitance <= 20e-15
    assert s.units()["capacitance"] == "F" and s.units()["dark_current"] == "A" and s.units()["responsivity"] == "A/W"
    # RC: 1/(2*pi*1 kOhm*15 fF) = 10.61 GHz; transit 0.45*6e4/0.5e-6 = 54 GHz; combined below both
    assert s.rc_bandwidth == pytest.approx(1 / (2 * np.pi * 1e3 * 15e-15))
    assert s.transit_bandwidth == pytest.approx(54e9)
    assert s.bandwidth_3db < min(s.rc_bandwidth, s.transit_bandwidth)
    assert s.bandwidth_3db == pytest.approx((s.rc_bandwidth ** -2 + s.transit_bandwidth ** -2) ** -0.5)


def test_noise_formulas_hand_values():
    s = PhotodetectorElectricalSpec(responsivity=1.0, dark_current=0.0, load_resistance=50.0, temperature=290.0)
    b = 1e9
    # 1 mW -> 1 mA; shot 2*q*1e-3*1e9 = 3.204e-13 A^2; thermal 4*k*290*1e9/50 = 3.203e-13 A^2
    assert photocurrent(1e-3, spec=s) == pytest.approx(1e-3)
    assert shot_noise_variance(1e-3, bandwidth=b, spec=s) == pytest.approx(3.2043e-13, rel=1e-4)
    assert thermal_noise_variance(bandwidth=b, spec=s) == pytest.approx(4 * K_B * 290 * b / 50)
    assert noise_variance(1e-3, bandwidth=b, spec=s) == pytest.approx(3.2043e-13 + 3.2033e-13, rel=1e-4)
    assert snr(1e-3, bandwidth=b, spec=s) == pytest.approx(1e-6 / (3.2043e-13 + 3.2033e-13), rel=1e-4)
    # SNR grows with power: shot-limited ~P, thermal-limited ~P^2
    p = np.logspace(-9, -2, 8)
    assert np.all(np.diff(snr(p, bandwidth=b, spec=s)) > 0)


def test_nep_and_min_detectable_power():
    s = PhotodetectorElectricalSpec()
    n = nep(spec=s)
    assert n == pytest.approx(np.sqrt(2 * Q_E * s.dark_current + 4 * K_B * s.temperature / s.load_resistance)
                              / s.responsivity)
    for b in (1e6, 1e9, 1e10):
        p = min_detectable_power(bandwidth=b, spec=s)
        assert snr(p, bandwidth=b, spec=s) == pytest.approx(1.0, rel=1e-9)
        # the signal's own shot noise only adds: P_min >= NEP*sqrt(B)
        assert p >= n * np.sqrt(b) * (1 - 1e-12)


@pytest.mark.parametrize("power_w,seed", [(1e-6, 1), (1e-4, 2), (0.0, 3)])
def test_sampled_variance_matches_formula_gaussian(power_w, seed):
    s = PhotodetectorElectricalSpec()
    b = 5e9
    n = 200_000
    i = detect(np.full(n, power_w), rng=np.random.default_rng(seed), bandwidth=b, spec=s)
    sigma2 = float(noise_variance(power_w, bandwidth=b, spec=s))
    lo, hi = _variance_bounds(sigma2, n)
    assert lo < i.var(ddof=1) < hi
    mean = s.responsivity * power_w + s.dark_current
    assert abs(i.mean() - mean) < 5.5 * np.sqrt(sigma2 / n)  # ~1e-7 two-sided tail


def test_each_noise_term_separately():
    s = PhotodetectorElectricalSpec()
    b, n, p = 1e9, 100_000, 1e-5
    shot_only = detect(np.full(n, p), rng=np.random.default_rng(10), bandwidth=b, spec=s, thermal=False)
    lo, hi = _variance_bounds(float(shot_noise_variance(p, bandwidth=b, spec=s)), n)
    assert lo < shot_only.var(ddof=1) < hi
    th_only = detect(np.full(n, p), rng=np.random.default_rng(11), bandwidth=b, spec=s, shot=False)
    lo, hi = _variance_bounds(float(thermal_noise_variance(bandwidth=b, spec=s)), n)
    assert lo < th_only.var(ddof=1) < hi
    quiet = detect(np.full(4, p), rng=np.random.default_rng(0), bandwidth=b, spec=s, shot=False, thermal=False,
                   dark=False)
    np.testing.assert_allclose(quiet, s.responsivity * p, rtol=0, atol=0)


def test_poisson_matches_shot_formula_at_low_light():
    """Poisson counts: same variance 2qIB, and the skewness of a Poisson law (1/sqrt(N)),
    which the Gaussian approximation lacks — this is where Poisson matters."""
    s = PhotodetectorElectricalSpec(dark_current=0.0)
    b, n = 1e10, 400_000
    p = 10e-9 / s.responsivity  # 10 nA: N = I/(2qB) ~ 3.1 electrons per sample
    nbar = float(electrons_per_sample(10e-9, bandwidth=b, spec=s))
    assert nbar == pytest.approx(3.12, abs=0.01)
    i = detect(np.full(n, p), rng=np.random.default_rng(5), bandwidth=b, spec=s, thermal=False, method="poisson")
    sig2 = float(shot_noise_variance(p, bandwidth=b, spec=s))
    # Var(sample variance) = sigma^4 (2/(n-1) + excess kurtosis/n), Poisson excess kurtosis = 1/N
    se = sig2 * np.sqrt(2 / (n - 1) + 1 / (nbar * n))
    assert abs(i.var(ddof=1) - sig2) < 5 * se
    assert stats.skew(i) == pytest.approx(1 / np.sqrt(nbar), rel=0.1)
    g = detect(np.full(n, p), rng=np.random.default_rng(6), bandwidth=b, spec=s, thermal=False)
    assert abs(stats.skew(g)) < 0.05


def test_vectorized_broadcast_and_reproducible():
    s = PhotodetectorElectricalSpec()
    p = np.linspace(0, 1e-3, 12).reshape(3, 4)
    a = detect(p, rng=np.random.default_rng(42), spec=s)
    b = detect(p, rng=np.random.default_rng(42), spec=s)
    assert a.shape == (3, 4) and np.array_equal(a, b)
    bw = np.array([1e8, 1e9, 1e10, 2e10])
    assert noise_variance(p, bandwidth=bw, spec=s).shape == (3, 4)


@pytest.mark.parametrize("kwargs,field", [
    ({"responsivity": 1.3}, "responsivity"),
    ({"responsivity": 0.0}, "responsivity"),
    ({"dark_current": -1e-9}, "dark_current"),
    ({"capacitance": 0.0}, "capacitance"),
    ({"load_resistance": -50.0}, "load_resistance"),
    ({"temperature": float("nan")}, "temperature"),
    ({"bias": 1.0}, "bias"),
    ({"capacitence": 1e-15}, "capacitence"),
])
def test_bad_spec_errors_name_field_value_and_fix(kwargs, field):
    with pytest.raises(SpecError) as err:
        PhotodetectorElectricalSpec(**kwargs)
    msg = str(err.value)
    assert field in msg and "Fix" in msg


def test_bad_call_arguments():
    with pytest.raises(SpecError, match="rng"):
        detect(1e-3, rng=0)
    with pytest.raises(SpecError, match="power_w"):
        detect(-1e-3, rng=np.random.default_rng(0))
    with pytest.raises(SpecError, match="bandwidth"):
        noise_variance(1e-3, bandwidth=0.0)
    with pytest.raises(SpecError, match="method"):
        detect(1e-3, rng=np.random.default_rng(0), method="exact")

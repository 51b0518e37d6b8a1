"""The attenuator die's batched in-situ step (pipeline.chip.attenuator_step) reads exactly what
the pass-by-pass step reads: same loss, gradient, reading count and reading-stream state, bit
for bit; and the precomputed node noise is node_noise_variance bit for bit."""

import numpy as np
import pytest

from devices import photodetector_electrical as pde
from pipeline.chip import neuron as nr
from pipeline.chip.attenuator import AttenuatorArchitecture
from pipeline.chip.impairments import impairments

CASES = {
    "default": (dict(), "realistic"),
    "lab": ("lab", "realistic"),
    "optical": (dict(layout={"fanout_routing": "optical"}, n_out=2), dict(wavelength_offset=3.0)),
    "xtalk-phase-noise": (dict(n_in=4, n_hidden=5, n_out=3, crosstalk_calibration=True),
                          dict(phase_noise=0.01, dac_bits=8, adc_bits=10)),
    "ideal": (dict(), "ideal"),
    "ring": (dict(neuron={"kind": "ring"}), "realistic"),
    "ring-relu-voltage-ideal": (dict(neuron={"kind": "ring", "ring": {"bias_voltage": -1.0, "drive_swing": 0.9,
                                                                     "derivative": "voltage"}}), "ideal"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_batched_step_is_pass_by_pass(name):
    fields, imp = CASES[name]
    arch = AttenuatorArchitecture().lab_calibrated() if fields == "lab" else AttenuatorArchitecture(**fields)
    imp = impairments("realistic", **imp) if isinstance(imp, dict) else imp
    batched, by_pass = arch.sample_die(imp, 4), arch.sample_die(imp, 4)
    rng = np.random.default_rng(0)
    for k in range(3):
        p = arch.clip_params(arch.init_params(rng) * 1.5)
        nb = 5 + 3 * k
        x, t = rng.uniform(0, 1, (nb, arch.n_in)), rng.uniform(0.2, 0.8, (nb, arch.n_out))
        batched.program(p)
        by_pass.program(p)
        l1, g1 = batched.insitu_gradient(x, t)
        l2, g2 = by_pass.insitu_gradient_by_pass(x, t)
        assert l1 == l2 and np.array_equal(g1, g2)
        assert batched.measurements == by_pass.measurements
    assert np.array_equal(batched._rng.standard_normal(4), by_pass._rng.standard_normal(4))


def test_node_noise_is_node_noise_variance():
    spec = pde.PhotodetectorElectricalSpec(responsivity=0.93, dark_current=3e-8)
    photo = np.random.default_rng(1).uniform(0, 2e-5, (6, 4))
    fast = nr.NodeNoise(spec, 1e8)
    for n in (1, 2, 6):
        ref = nr.node_noise_variance(photo, n, spec=spec, bandwidth=1e8)
        assert np.array_equal(fast.variance(photo, n), ref)
        assert np.array_equal(fast.sigma(photo, n), np.sqrt(ref))
    terms = pde.NoiseTerms(bandwidth=1e8, spec=spec)
    assert np.array_equal(terms.shot_variance(photo), pde.shot_noise_variance(photo, bandwidth=1e8, spec=spec))
    with pytest.raises(Exception, match="bandwidth"):
        nr.NodeNoise(spec, -1.0)


def test_vectorised_compensation_is_the_row_by_row_one():
    """crosstalk_calibration.compensate (all rows at once, held sets' factorisations cached) holds
    the same heaters as the row-by-row reference and gives the same powers up to rounding."""
    from pipeline.chip import crosstalk_calibration as xc
    rng = np.random.default_rng(0)
    held = 0
    for _ in range(200):
        n = int(rng.integers(2, 20))
        c = np.eye(n) + 0.08 * rng.standard_normal((n, n)) * (rng.uniform(size=(n, n)) < 0.5)
        inv, p_max, cache = np.linalg.inv(c), 2.0, {}
        t = rng.uniform(-0.1, 2.1, (int(rng.integers(1, 12)), n))
        ref = xc.compensate_by_row(inv, t, p_max)
        for _ in range(2):  # the second call from the cache
            got = xc.compensate(inv, t, p_max, cache)
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * p_max)
            assert np.array_equal((got <= 0) | (got >= p_max), (ref <= 0) | (ref >= p_max))
        held += int(np.sum((ref <= 0) | (ref >= p_max)))
    assert held > 1000
    t1 = rng.uniform(0, 2, 5)
    assert xc.compensate(None, t1, 2.0) is t1

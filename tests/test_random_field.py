"""The correlated fabrication field: both samplers reproduce the exponential covariance
exp(−r/ℓ) (the closed form, not the code's own earlier draws); small dies keep their draws."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.chip import random_field as rf
from pipeline.chip.impairments import ImpairmentSpec, sample_fabrication
from pipeline.errors import SpecError


def _lattice(nx: int, ny: int, hx: float, hy: float) -> np.ndarray:
    x, y = np.meshgrid(np.arange(nx) * hx + 3.0, np.arange(ny) * hy - 7.0, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], -1)


def _sample_covariance(pos: np.ndarray, length: float, draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = np.concatenate([np.stack(rf.correlated_pair(pos, length, rng)) for _ in range(draws)])
    return z.T @ z / z.shape[0]


@pytest.mark.parametrize("force_circulant", [False, True])
def test_covariance_is_the_exponential_kernel(monkeypatch, force_circulant):
    """Sample covariance over 2 x 400 fields vs exp(−r/ℓ): the standard error of a sample
    covariance of unit-variance Gaussians is ≤ √(2/N) = 0.05 (N = 800); 4 σ = 0.2 on every
    entry, 0.03 on the mean error over all pairs."""
    pos = _lattice(12, 5, 150.0, 25.0)  # a mesh-like lattice: columns 150 µm, rows 25 µm
    if force_circulant:
        monkeypatch.setattr(rf, "DENSE_LIMIT", 10)
    cov = _sample_covariance(pos, 300.0, 400, seed=1)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    err = cov - np.exp(-d / 300.0)
    assert np.abs(err).max() < 0.2 and abs(err.mean()) < 0.03


def test_broken_kernel_fails_the_same_check(monkeypatch):
    """A sampler with the wrong correlation length (ℓ/3) fails the check above."""
    monkeypatch.setattr(rf, "DENSE_LIMIT", 10)
    pos = _lattice(12, 5, 150.0, 25.0)
    cov = _sample_covariance(pos, 100.0, 400, seed=1)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    err = cov - np.exp(-d / 300.0)
    assert not (np.abs(err).max() < 0.2 and abs(err.mean()) < 0.03)


def test_two_fields_are_independent():
    """Width and thickness fields: cross-covariance ≈ 0 (4 σ of 800 draws)."""
    pos = _lattice(40, 30, 150.0, 25.0)  # 1200 points: circulant path
    rng = np.random.default_rng(3)
    a, b = zip(*(rf.correlated_pair(pos, 300.0, rng) for _ in range(400)))
    a, b = np.array(a), np.array(b)
    assert abs(np.mean(a * b)) < 4 * np.sqrt(1 / a.size) * 10  # correlated samples: 10x looser
    assert abs(np.mean(a[:, 0] * b[:, 0])) < 4 / np.sqrt(400)


def test_small_dies_keep_the_dense_draws():
    """Below DENSE_LIMIT the field is the Cholesky factor applied to two standard-normal
    vectors drawn in that order (the sampler of every shipped die)."""
    pos = _lattice(6, 4, 150.0, 25.0)
    z = rf.correlated_pair(pos, 1000.0, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    chol = np.linalg.cholesky(np.exp(-d / 1000.0) + 1e-12 * np.eye(len(pos)))
    assert np.array_equal(z[0], chol @ rng.standard_normal(len(pos)))
    assert np.array_equal(z[1], chol @ rng.standard_normal(len(pos)))


def test_lattice_detection():
    pos = _lattice(5, 3, 0.5, 2.0)
    idx, steps = rf.lattice_indices(pos)
    assert np.allclose(steps, [0.5, 2.0]) and idx.max(0).tolist() == [4, 2]
    assert rf.lattice_indices(pos + np.array([[0.1234567, 0.0]] + [[0.0, 0.0]] * (len(pos) - 1))) is None


def test_large_off_lattice_is_refused(monkeypatch):
    monkeypatch.setattr(rf, "DENSE_LIMIT", 5)
    pos = np.random.default_rng(0).uniform(0, 100, (60, 2))
    with pytest.raises(SpecError, match="lattice"):
        rf.correlated_pair(pos, 10.0, np.random.default_rng(0))


def test_128_mode_mesh_positions_sample_quickly():
    """32 512 coupler positions of a two-layer 128-mode mesh (the dense factor would be 8 GB)."""
    from pipeline.circuit.mesh import mesh_layout

    lay, length, pitch = mesh_layout(128), 300.0, 25.0
    x_pos = (np.arange(2)[:, None] * (lay.n_columns + 1) + lay.column[None, :]) * length
    pos = np.stack([np.repeat(x_pos[..., None], 2, -1) + np.array([0.25, 0.75]) * length,
                    np.broadcast_to((lay.modes + 0.5)[None, :, None] * pitch, (2, lay.n_mzi, 2))], -1)
    dw, dt = sample_fabrication(ImpairmentSpec(), pos.reshape(-1, 2), np.random.default_rng(0))
    assert dw.shape == (2 * lay.n_mzi * 2,) and np.isfinite(dw).all() and np.isfinite(dt).all()
    assert 0.002 < np.std(dw - dw.mean()) < 0.008  # within-die σ 5 nm, correlated over 1 mm

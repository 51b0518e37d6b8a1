"""Spatially correlated Gaussian fields at device positions: the within-die fabrication
offsets of :func:`pipeline.chip.impairments.sample_fabrication`.

The field has unit variance and exponential correlation C(r) = exp(−r/ℓ) (r the Euclidean
distance, ℓ the correlation length).  Two exact samplers of that same distribution:

* **dense** (n ≤ :data:`DENSE_LIMIT` points, any positions): the Cholesky factor of the
  n × n covariance, O(n³) time and O(n²) memory — the sampler of every die up to a
  ~32-mode mesh, whose draws it keeps bit-for-bit;
* **circulant embedding** (more points, all on one rectangular lattice, as the MZI couplers
  of a Clements mesh are): the covariance of the lattice's bounding grid is embedded in a
  periodic grid of twice its size (more if needed) whose covariance is diagonalised by the
  2-D FFT; one complex FFT of √λ·(standard complex normal) gives two independent exact
  samples on the grid (Dietrich & Newsam, SIAM J. Sci. Comput. 18, 1088 (1997); Wood &
  Chan, J. Comput. Graph. Stat. 3, 409 (1994)).  O(G log G) for a grid of G points: a
  128-mode mesh (32 512 couplers) takes well under a second where the dense factor would
  need 8 GB and hours.

The embedding is exact when every eigenvalue of the periodic covariance is ≥ 0; the grid is
doubled again until that holds (eigenvalues above −1e−10·max are rounding and set to 0), and
a lattice that would need more than :data:`MAX_GRID_POINTS` falls back to the dense factor
with its cost named in the error.
"""

from __future__ import annotations

import numpy as np

from pipeline.errors import SpecError

#: Largest point count sampled by the dense Cholesky factor (8 MB per covariance copy).
DENSE_LIMIT = 1000
#: Largest periodic grid of the circulant embedding (complex128: 16 bytes a point).
MAX_GRID_POINTS = 1 << 26


def lattice_indices(pos: np.ndarray, *, rtol: float = 1e-9) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer grid indices (n, 2) and spacings (2,) [µm] when every position lies on one
    rectangular lattice x = x₀ + i·hx, y = y₀ + j·hy, else None.  The spacing per axis is the
    smallest gap between distinct coordinates; every coordinate must be an integer multiple
    of it (to ``rtol`` of the extent)."""
    idx, steps = [], []
    for axis in range(2):
        v = pos[:, axis]
        u = np.unique(v)
        if u.size == 1:
            idx.append(np.zeros(v.size, dtype=np.int64))
            steps.append(1.0)
            continue
        h = float(np.min(np.diff(u)))
        k = (v - u[0]) / h
        tol = rtol * max(1.0, float(u[-1] - u[0])) / h
        if np.max(np.abs(k - np.rint(k))) > max(tol, 1e-6):
            return None
        idx.append(np.rint(k).astype(np.int64))
        steps.append(h)
    return np.stack(idx, -1), np.array(steps)


def _embedding_eigenvalues(shape: tuple[int, int], steps: np.ndarray, length: float) -> np.ndarray:
    """Eigenvalues of the periodic covariance on a grid of ``shape`` (the FFT of its first row)."""
    lags = [np.minimum(np.arange(m), m - np.arange(m)) * h for m, h in zip(shape, steps)]
    r = np.hypot(lags[0][:, None], lags[1][None, :])
    return np.fft.fft2(np.exp(-r / length)).real


def _circulant_pair(grid_idx: np.ndarray, steps: np.ndarray, length: float,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    extent = grid_idx.max(0) + 1
    shape = tuple(int(2 * m) if m > 1 else 1 for m in extent)
    while True:
        if np.prod(shape) > MAX_GRID_POINTS:
            raise SpecError(f"correlated fabrication field: a circulant embedding of {tuple(extent)} lattice "
                            f"points needs more than {MAX_GRID_POINTS} grid points at correlation_length = "
                            f"{length} µm. Fix: a shorter correlation_length, or fewer devices.")
        lam = _embedding_eigenvalues(shape, steps, length)
        if lam.min() >= -1e-10 * lam.max():
            break
        shape = tuple(2 * m if m > 1 else 1 for m in shape)
    g = np.sqrt(np.maximum(lam, 0.0) / lam.size)
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    f = np.fft.fft2(g * z)[grid_idx[:, 0], grid_idx[:, 1]]
    return f.real.copy(), f.imag.copy()


def correlated_pair(positions_um: np.ndarray, length: float, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Two independent unit-variance fields (n,) at ``positions_um`` (n, 2) with correlation
    exp(−r/``length``) (module doc: which sampler, and why both are exact)."""
    pos = np.atleast_2d(np.asarray(positions_um, dtype=float))
    n = pos.shape[0]
    if length <= 0 or n == 1:
        return rng.standard_normal(n), rng.standard_normal(n)
    lattice = None if n <= DENSE_LIMIT else lattice_indices(pos)
    if lattice is None:
        if n > 8 * DENSE_LIMIT:
            raise SpecError(f"correlated fabrication field: {n} devices off a common lattice need a dense "
                            f"{n}x{n} Cholesky factor ({8 * n * n / 1e9:.1f} GB). Fix: place devices on a "
                            "rectangular lattice, or correlation_length = 0 (independent offsets).")
        d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
        chol = np.linalg.cholesky(np.exp(-d / length) + 1e-12 * np.eye(n))
        return chol @ rng.standard_normal(n), chol @ rng.standard_normal(n)
    return _circulant_pair(*lattice, length, rng)

"""MPB backend (``meep.mpb``): full-vectorial eigenmodes with subpixel averaging.

The cross-section (x, z) is mapped to MPB's (y, z) plane of a 2D-periodic supercell of
zero extent along MPB's x, the propagation axis; lengths in µm (a = 1 µm), so the
frequency is 1/λ.  Each band b is found at fixed frequency with ``find_k`` (Newton on
ω_b(k) using MPB's group velocity), between the background and the highest index.  The
supercell is periodic: ``margin`` must be wide enough for the fields to decay (1 µm is
for 220 nm Si at 1.55 µm).  Grid: geometry-aligned.  Along x and z the resolution is raised (≤ 1.5×) until every
interface (core edges, substrate top) lies on a grid point, and the cell is an even,
FFT-friendly number of whole pixels (otherwise MPB silently enlarges and stretches the
grid).  With arbitrary alignment n_eff jitters by ±0.1–0.4 % between resolutions even
with MPB's subpixel averaging; aligned, it converges smoothly at second order.
"""

from __future__ import annotations

import atexit
import math
import warnings

import numpy as np

from pipeline.errors import SolverError
from pipeline.modes.cross_section import CrossSection
from pipeline.modes.solver import RawModes, quiet

#: Largest relative mismatch |ω_b(k) − ω| / ω accepted for a mode found by find_k.
FREQ_TOL = 1e-6


def _import():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
        with quiet():
            import meep as mp
            from meep import mpb
    mp.verbosity(0)
    # meep prints "Elapsed run time" at interpreter exit: keep stdout clean (CLI --json)
    atexit.unregister(getattr(mp, "report_elapsed_time", lambda: None))
    try:
        mpb.verbosity(0)  # type: ignore[attr-defined]
    except Exception:  # older bindings share meep's verbosity object
        pass
    return mp, mpb


def _fft_size(n: int) -> int:
    """Smallest even integer >= n with prime factors 2, 3, 5, 7 only (MPB would otherwise
    enlarge the grid to such a size itself and stretch the pixels)."""
    m = max(2, n + (n % 2))
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 2


def aligned_resolution(distances: list[float], resolution: float, tol: float = 1e-6) -> float:
    """Smallest resolution r >= ``resolution`` [px/µm] (searched up to 1.5×) making every
    distance [µm] a whole number of pixels; if none exists, the best-aligned one."""
    ds = [d for d in distances if d > tol]
    if not ds:
        return float(resolution)
    cands = sorted({n / d for d in ds for n in range(math.ceil(d * resolution - tol),
                                                      math.floor(1.5 * d * resolution) + 1)} | {resolution})
    def misfit(r: float) -> float:
        return max(abs(d * r - round(d * r)) for d in ds)
    for r in cands:
        if r >= resolution - tol and misfit(r) < 1e-6:
            return float(r)
    return float(min((r for r in cands if r >= resolution - tol), key=lambda r: (round(misfit(r), 3), r)))


def _axis(breaks: list[float], resolution: float, margin: float) -> tuple[float, float, float]:
    """(resolution, cell centre, cell length) along one axis: interfaces on grid points,
    an even FFT-friendly number of pixels (else MPB enlarges and stretches the grid)."""
    pts = sorted(set(round(b, 9) for b in breaks))
    if margin <= 0:  # the cores fill the period (e.g. a planar slab): no background margin
        length = pts[-1] - pts[0]
        n = _fft_size(math.ceil(round(length * resolution, 6)))
        return n / length, 0.5 * (pts[0] + pts[-1]), (n - 1e-6) / (n / length)
    r = aligned_resolution([p - pts[0] for p in pts[1:]], resolution)
    span = round((pts[-1] - pts[0]) * r)
    n = _fft_size(span + 2 * math.ceil(margin * r - 1e-9))
    left = pts[0] - ((n - span) // 2) / r
    # MPB takes ceil(r * L) pixels: shave the length so float round-off cannot add one
    return r, left + 0.5 * n / r, (n - 1e-6) / r


def _cell(cs: CrossSection, resolution: float, margin: tuple[float, float]):
    """Resolutions (x, z) [px/µm], centre (x, z) and size (Lx, Lz) [µm] of the supercell."""
    xb = [e for c in cs.cores for e in c.x_span]
    zb = [e for c in cs.cores for e in c.z_span]
    x0, x1, z0, z1 = cs.bounds()
    if cs.substrate is not None and cs.substrate.n != cs.cladding.n and z0 - margin[1] < 0 < z1 + margin[1]:
        zb.append(0.0)
    rx, xc, lx = _axis(xb, resolution, margin[0])
    rz, zc, lz = _axis(zb, resolution, margin[1])
    return (rx, rz), (xc, zc), (lx, lz)


def _geometry(mp, cs: CrossSection, xc: float, zc: float, lz: float) -> list:
    geom = []
    if cs.substrate is not None and cs.substrate.n != cs.cladding.n:
        h = max(0.0, min(lz, 0.5 * lz - zc))  # substrate part of the cell: z < 0
        if h > 0:
            geom.append(mp.Block(size=mp.Vector3(mp.inf, mp.inf, h),
                                 center=mp.Vector3(0, 0, -0.5 * lz + 0.5 * h),
                                 material=mp.Medium(index=cs.substrate.n)))
    for c in cs.cores:
        geom.append(mp.Block(size=mp.Vector3(mp.inf, c.width, c.thickness),
                             center=mp.Vector3(0, c.x_center - xc, c.z_bottom + 0.5 * c.thickness - zc),
                             material=mp.Medium(index=c.material.n)))
    return geom


def solve(cs: CrossSection, wavelength: float, *, num_modes: int, resolution: float,
          margin: tuple[float, float], grid_wavelength: float, fields: bool = False,
          tol: float = 1e-8) -> RawModes:
    """Solve one wavelength [µm] of a constant-index cross-section (see module doc)."""
    mp, mpb = _import()
    (rx, rz), (xc, zc), (lx, lz) = _cell(cs, resolution, margin)
    n_bg = cs.background_index(wavelength)
    n_max = cs.max_index(wavelength)
    f = 1.0 / wavelength
    neff = np.full(num_modes, np.nan)
    te = np.full(num_modes, np.nan)
    out_fields: dict[str, list] = {"Ex": [], "Ey": [], "Ez": []}
    log: list[str] = []
    try:
        with quiet() as log:
            ms = mpb.ModeSolver(geometry_lattice=mp.Lattice(size=mp.Vector3(0, lx, lz)),
                                geometry=_geometry(mp, cs, xc, zc, lz),
                                default_material=mp.Medium(index=cs.cladding.n),
                                resolution=mp.Vector3(1, rx, rz), num_bands=num_modes)
            kguess = 0.5 * (n_bg + n_max) * f
            for b in range(1, num_modes + 1):
                try:
                    k = ms.find_k(mp.NO_PARITY, f, b, b, mp.Vector3(1), tol, kguess,
                                  n_bg * f, n_max * f)[0]
                except ValueError as exc:
                    if "bracket" in str(exc):  # band b (and all above) not guided
                        break
                    raise
                neff[b - 1] = k / f
                kguess = k
                ms.num_bands = b
                ms.k_points = [mp.Vector3(k)]
                ms.run_parity(mp.NO_PARITY, False)
                if abs(float(ms.freqs[b - 1]) - f) > FREQ_TOL * f:
                    # find_k stopped on a k where band b is not at ω: not a mode of this λ
                    neff[b - 1] = np.nan
                e = np.asarray(ms.get_efield(b, bloch_phase=False))
                e = e.reshape(-1, e.shape[-1]) if e.ndim > 2 else e
                e = e.reshape(*_grid_shape(ms), 3)
                # MPB (x: propagation, y, z) -> cross-section (Ey longitudinal, Ex, Ez)
                ex, ey, ez = e[..., 1], e[..., 0], e[..., 2]
                px, pz = np.sum(np.abs(ex) ** 2), np.sum(np.abs(ez) ** 2)
                te[b - 1] = px / (px + pz)
                if fields:
                    for name, arr in (("Ex", ex), ("Ey", ey), ("Ez", ez)):
                        out_fields[name].append(arr)
    except Exception as exc:
        tail = "".join(log).strip()[-800:]
        raise SolverError(f"MPB failed ({type(exc).__name__}: {exc}) at {wavelength} um, "
                          f"resolution {rx:.4g}x{rz:.4g} px/um" + (f"; solver output: {tail}" if tail else "")) from exc
    raw = RawModes(neff=neff, te_fraction=te, grid_resolution=(rx, rz))
    if fields and out_fields["Ex"]:
        ny, nz = out_fields["Ex"][0].shape
        raw.x = xc - 0.5 * lx + lx * np.arange(ny) / ny
        raw.z = zc - 0.5 * lz + lz * np.arange(nz) / nz
        raw.fields = _normalised({k: np.array(v) for k, v in out_fields.items()})
    return raw


def _grid_shape(ms) -> tuple[int, int]:
    eps = np.asarray(ms.get_epsilon())
    shape = [s for s in eps.shape if s > 1]
    if len(shape) != 2:
        raise RuntimeError(f"unexpected MPB grid shape {eps.shape}")
    return shape[0], shape[1]


def _normalised(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Scale each mode to max|E| = 1 with the largest component real positive at its peak."""
    stack = np.stack([f["Ex"], f["Ey"], f["Ez"]])  # (3, mode, x, z)
    for m in range(stack.shape[1]):
        flat = stack[:, m].reshape(3, -1)
        c, i = np.unravel_index(np.argmax(np.abs(flat)), flat.shape)
        peak = flat[c, i]
        norm = np.sqrt(np.max(np.sum(np.abs(flat) ** 2, axis=0)))
        stack[:, m] *= np.conj(peak) / abs(peak) / norm
    return {"Ex": stack[0], "Ey": stack[1], "Ez": stack[2]}

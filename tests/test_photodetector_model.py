"""Ge photodetector compact model: the fit on synthetic data (exact), the shipped model
against the held-out FDTD run and the quantum limit qλ/(hc) (CODATA constants here),
and input validation."""

import json

import numpy as np
import pytest
import scipy.constants as sc

import devices.photodetector_model as pm
from pipeline.errors import ExtrapolationError, SpecError

LAM = np.linspace(1.50, 1.60, 11)


def _closed_form(length, lam, a_inf, l_abs):
    return a_inf * (1 - np.exp(-length / l_abs))


def test_fit_recovers_a_known_absorber():
    """Synthetic A(L, λ) with A_∞, L_abs quadratic in λ: the fit reproduces the held-out length."""
    sweep = pm.PhotodetectorSweepSpec()
    z = (LAM - 1.55) / 0.05
    a_inf, l_abs = 0.97 - 0.01 * z - 0.004 * z**2, 2.6 * np.exp(0.05 * z + 0.01 * z**2)
    data = {(role, length): _closed_form(length, LAM, a_inf, l_abs) for role, length in sweep.runs()}
    model = pm.fit(sweep, data)
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["fit_max_abs_absorbed_error"] < 1e-8
    assert acc["holdout_max_abs_absorbed_error"] < 1e-8
    got = model.absorbed_fraction(ge_length=7.0, wavelength=1.523)
    zz = (1.523 - 1.55) / 0.05
    want = _closed_form(7.0, 1.523, 0.97 - 0.01 * zz - 0.004 * zz**2, 2.6 * np.exp(0.05 * zz + 0.01 * zz**2))
    assert got == pytest.approx(want, abs=1e-8)


@pytest.fixture(scope="module")
def shipped():
    from pipeline.cache import DeviceCache

    cache = DeviceCache()
    path = pm.model_path(cache)
    assert path.exists(), f"the shipped model {path.name} is missing: build_model() and commit it"
    return pm.PhotodetectorModel.load(path), cache


def _direct_absorbed(cache, length):
    """Absorbed fraction of one cached FDTD run, straight from its flux box (not the model)."""
    from devices.photodetector import absorbed

    entry = cache.get(pm.PhotodetectorSweepSpec().device(length), pm.default_solver())
    return np.asarray(absorbed(entry).values)


def test_shipped_model_matches_the_held_out_run(shipped):
    model, cache = shipped
    direct = _direct_absorbed(cache, 12.0)
    got = model.absorbed_fraction(ge_length=12.0, wavelength=LAM)
    assert np.max(np.abs(got - direct)) < 0.01
    stored = json.loads(model.dataset.attrs["accuracy"])["holdout_max_abs_absorbed_error"]
    assert stored == pytest.approx(np.max(np.abs(got - direct)), rel=1e-6)


def test_fit_points_reproduced_within_the_residual(shipped):
    model, cache = shipped
    for length in (2.5, 5.0, 10.0, 15.0):
        assert np.max(np.abs(model.absorbed_fraction(ge_length=length, wavelength=LAM)
                             - _direct_absorbed(cache, length))) < 0.015, length


def test_responsivity_below_the_quantum_limit(shipped):
    model, _ = shipped
    lengths, lam = np.meshgrid(np.linspace(2.5, 15, 26), np.linspace(1.5, 1.6, 21), indexing="ij")
    r = pm.responsivity(ge_length=lengths, wavelength=lam, model=model)
    limit = sc.e * lam * 1e-6 / (sc.h * sc.c)
    assert np.all(r <= limit) and np.all(r > 0)
    assert limit[0, 10] == pytest.approx(1.2500, abs=1e-3)  # 1.55 µm
    # longer Ge absorbs more (monotonic), and η_c scales R linearly
    assert np.all(np.diff(r, axis=0) > 0)
    half = pm.responsivity(ge_length=10.0, wavelength=1.55, collection_efficiency=0.5, model=model)
    assert half == pytest.approx(0.5 * pm.responsivity(ge_length=10.0, wavelength=1.55, model=model), rel=1e-12)
    # the 10-µm entry's own figure of merit (η = 1)
    assert pm.responsivity(ge_length=10.0, wavelength=1.55, model=model) == pytest.approx(1.202, abs=0.015)


def test_errors_name_the_field(shipped):
    model, _ = shipped
    with pytest.raises(ExtrapolationError, match="ge_length = 20"):
        pm.responsivity(ge_length=20.0, model=model)
    with pytest.raises(ExtrapolationError, match="wavelength = 1.65"):
        pm.absorbed_fraction(wavelength=1.65, model=model)
    for bad in (0.0, 1.5, np.nan):
        with pytest.raises(SpecError, match="collection_efficiency"):
            pm.responsivity(collection_efficiency=bad, model=model)
    with pytest.raises(ValueError, match="ge_lengths"):
        pm.PhotodetectorSweepSpec(ge_lengths=(5.0, 2.5, 10.0))


def test_library_specs_cover_fit_and_holdout():
    specs = pm.library_specs()
    assert sorted(s.ge_length for s in specs) == [2.5, 5.0, 7.5, 10.0, 12.0, 15.0]


def _stack_modes(lam=1.55, n_si=3.476, n_ox=1.444, n_ge=4.27, alpha_per_um=0.40, t=0.22, tg=0.5):
    """Independent 1D finite-difference TE modes (E parallel to the layers, as the 2D side
    view's out-of-plane field) of the SiO2 / Si / Ge(α) / SiO2 stack, and the Si slab mode:
    complex n_eff of the 4 highest modes and the input mode's power overlap with each."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    k0, dz = 2 * np.pi / lam, 0.002
    z = np.arange(-2.5, 3.0, dz)

    def solve(ge):
        n = np.full(z.shape, n_ox, complex)
        n[(z >= -t / 2) & (z < t / 2)] = n_si
        if ge:
            n[(z >= t / 2) & (z < t / 2 + tg)] = n_ge + 1j * alpha_per_um * lam / (4 * np.pi)
        lap = sp.diags([np.ones(z.size - 1), -2 * np.ones(z.size), np.ones(z.size - 1)], [-1, 0, 1]).astype(complex)
        vals, vecs = sla.eigs((lap / dz**2 + sp.diags(k0**2 * n**2)).tocsc(), k=4, sigma=(k0 * n_ge) ** 2)
        order = np.argsort(-np.sqrt(vals).real)
        return np.sqrt(vals[order]) / k0, vecs[:, order]

    neff, v = solve(True)
    n0, v0 = solve(False)
    e_in = v0[:, 0]
    overlap = np.abs([(v[:, i] @ e_in) ** 2 / ((v[:, i] @ v[:, i]) * (e_in @ e_in)) for i in range(4)])
    return neff, overlap


def test_absorption_against_the_stack_modes(shipped):
    """The Si mode launches the Ge/Si stack's modes (1D mode solve above); each absorbs at
    α_i = 4π Im(n_i)/λ.  The fitted absorption length must lie within their range, and for
    long absorbers (transients gone) A(L) must match the incoherent modal sum Σ c_i (1 − e^{−α_i L})."""
    model, _ = shipped
    neff, c = _stack_modes()
    l_i = 1.55 / (4 * np.pi * neff.imag)
    main = c > 0.05
    coef = model.coefficients
    l_abs = np.exp(coef[3])  # at the band centre (z = 0)
    assert l_i[main].min() <= l_abs <= l_i[main].max()
    for length in (10.0, 12.0, 15.0):
        modal = float(np.sum(c * (1 - np.exp(-length / l_i))))
        assert model.absorbed_fraction(ge_length=length, wavelength=1.55) == pytest.approx(modal, abs=0.03)

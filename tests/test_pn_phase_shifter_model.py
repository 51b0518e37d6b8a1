"""PN phase-shifter compact model (devices.pn_phase_shifter_model): the interpolation exact for
its function class, the nominal node identical to devices.pn_phase_shifter.model, the shipped
model against the held-out co-simulations (HOLDOUT_TOLERANCE), wrong models failing that
check, the dose axis against the abrupt-junction closed form, range checks, the stored model
read through the Library.  Never simulates (reads the shipped entries and model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from scipy.interpolate import PchipInterpolator

import devices.pn_phase_shifter_model as pm
from pipeline.errors import ExtrapolationError, SpecError

V = np.array([0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0])
LAM = np.array([1.50, 1.55, 1.60])


def test_pchip_is_scipys():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(-4, 0, 7))
    for y in (rng.normal(size=(6, 7)), np.cumsum(rng.uniform(0, 1, (6, 7)), axis=1)):
        xi = rng.uniform(x[0], x[-1], 6)
        ref = np.array([PchipInterpolator(x, y[i])(xi[i]) for i in range(6)])
        assert np.max(np.abs(pm.pchip(x, y, xi) - ref)) < 1e-13


def _synthetic(dn: float, dj: float, lam_um: np.ndarray = LAM) -> xr.Dataset:
    """Δn_eff and α quadratic in (δN, δx_j) with a cross term, quadratic in λ, quadratic in V
    (not monotone-cubic-representable in general: only the nodes in V are compared)."""
    v, lam = V[:, None], np.asarray(lam_um)[None, :]
    scale = 1 + 0.5 * dn - 0.3 * dn**2 + 4.0 * dj - 60 * dj**2 + 8 * dn * dj
    dneff = (2e-5 * v + 1e-6 * v**2) * scale * (1 + 3 * (lam - 1.55) + 5 * (lam - 1.55) ** 2)
    alpha = (300 + 20 * v) * (1 + dn + 0.1 * dn**2 - 2 * dj + 30 * dj**2) * (lam / 1.55) ** 2
    neff = 2.566 - 0.85 * (lam[0] - 1.55)
    vl = ("voltage", "wavelength")
    return xr.Dataset({"dneff": (vl, dneff), "alpha_carriers": (vl, alpha), "neff": ("wavelength", neff)},
                      coords={"voltage": V, "wavelength": np.asarray(lam_um)})


def test_table_is_exact_for_its_function_class():
    sweep = pm.PNShifterSweepSpec()
    model = pm.fit(sweep, {(r, a, b): _synthetic(a, b) for r, a, b in sweep.runs()})
    acc = json.loads(model.dataset.attrs["accuracy"])
    assert acc["holdout_max_rel_dneff_error"] < 1e-10 and acc["holdout_max_rel_alpha_error"] < 1e-10
    lam = np.array([1.5, 1.513, 1.55, 1.587])  # off the λ nodes: the quadratic in λ is exact
    for dn, dj in ((0.13, -0.041), (-0.19, 0.007), (0.2, 0.05)):
        want = _synthetic(dn, dj, lam)
        got = model.evaluate(V[:, None], lam[None, :], dn, dj)
        np.testing.assert_allclose(got[0], want.dneff.values, rtol=1e-10, atol=1e-18)
        np.testing.assert_allclose(got[1], want.alpha_carriers.values, rtol=1e-10)
    back = pm.PNShifterModel.from_dataset(model.to_dataset())  # the stored form rebuilds the same model
    assert np.array_equal(back.evaluate(-1.7, 1.532, 0.05, -0.02)[0], model.evaluate(-1.7, 1.532, 0.05, -0.02)[0])


@pytest.fixture(scope="module")
def shipped(library):
    """The stored model (never refitted), the library cache and the sweep's entries."""
    sweep, solver = pm.default_sweep(), pm.default_solver()
    path = pm.model_path(library.cache)
    assert path.exists(), f"the shipped model {path.name} is missing: Library().fit('pn_phase_shifter') and commit it"
    entries = {run: library.cache.get(sweep.device(*run[1:]), solver) for run in sweep.runs()}
    assert all(e is not None for e in entries.values()), "`photoprop library build --devices pn_phase_shifter`"
    return pm.PNShifterModel.load(path), entries


def test_library_reads_the_stored_model(library, shipped):
    model, _ = shipped
    got = library.model("pn_phase_shifter")
    assert isinstance(got, pm.PNShifterModel)
    assert np.array_equal(got.table, model.table)


def test_nominal_node_is_the_pn_shifter_model(shipped):
    from devices import pn_phase_shifter as pn

    model, entries = shipped
    f = pn.model(entries[("fit", 0.0, 0.0)])
    v, lam = np.linspace(-4, 0, 17)[:, None], np.linspace(1.5, 1.6, 9)[None, :]
    for a, b in zip(f(v, lam), model.at(0.0, 0.0)(v, lam)):
        assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


def test_smatrix_is_the_entrys_at_the_nominal_node(shipped):
    """The 2-port S (n_eff + Δn_eff, free-carrier + propagation loss over the length) equals the
    shipped entry's S at its biases and wavelengths."""
    model, entries = shipped
    entry = entries[("fit", 0.0, 0.0)]
    spec, s = entry.device_spec, entry.smatrix
    for v in spec.bias_voltages:
        got = pm.pn_phase_shifter(wavelength=s.wavelength.values, voltage=v, length=spec.length,
                                  propagation_loss=spec.propagation_loss, model=model)
        want = s.sel(voltage=v).transpose("wavelength", "port_out", "port_in").values
        assert np.max(np.abs(got.values - want)) < 1e-9, v


def _errors(model, entry, dn, dj):
    """Relative held-out errors as HOLDOUT_TOLERANCE defines them (max over the simulated V, λ)."""
    ds = entry.data.sel(voltage=model.voltage)
    direct = [np.asarray(ds[q].transpose("voltage", "wavelength").values) for q in pm.QUANTITIES]
    got = model.evaluate(model.voltage[:, None], model.wavelength[None, :], dn, dj)
    nominal = model.table[1, 1]
    return (float(np.max(np.abs(got[0] - direct[0]) / np.abs(nominal[..., 0]).max(axis=0))),
            float(np.max(np.abs(got[1] - direct[1]) / np.abs(nominal[..., 1]))))


@pytest.mark.parametrize("point", [(0.1, 0.025), (-0.12, -0.035)])
def test_held_out_runs(shipped, point):
    model, entries = shipped
    err_dn, err_a = _errors(model, entries[("holdout", *point)], *point)
    assert err_dn <= pm.HOLDOUT_TOLERANCE and err_a <= pm.HOLDOUT_TOLERANCE, (err_dn, err_a)
    stored = json.loads(model.dataset.attrs["accuracy"])
    assert stored["holdout_max_rel_dneff_error"] >= err_dn - 1e-12
    assert stored["holdout_max_rel_alpha_error"] >= err_a - 1e-12


def test_wrong_models_fail_the_held_out_check(shipped):
    """The check can fail: the nominal shifter used for every die (offsets ignored) and a
    table whose dose axis is reversed (a sign error) both miss the held-out runs."""
    model, entries = shipped
    point = (-0.12, -0.035)
    entry = entries[("holdout", *point)]
    nominal_only = pm.PNShifterModel(model.doping, model.junction, model.voltage, model.wavelength,
                                     np.broadcast_to(model.table[1:2, 1:2], model.table.shape).copy(), model.dataset)
    flipped = pm.PNShifterModel(model.doping, model.junction, model.voltage, model.wavelength,
                                model.table[::-1].copy(), model.dataset)
    for wrong in (nominal_only, flipped):
        assert max(_errors(wrong, entry, *point)) > pm.HOLDOUT_TOLERANCE


def test_dose_axis_against_the_abrupt_junction():
    """Δn_eff(V; N)/Δn_eff(V; N0) from the simulated δN = ±20 % nodes against the closed form
    ΔW(V; N)·[δn_e(N) + δn_h(N)] / (same at N0): the depletion edges move by ΔW/2 on each side
    (abrupt junction, V_bi − 2kT/q; pipeline.charge.depletion) and the carriers removed there
    change the Si index by Nedeljkovic's δn_e(N), δn_h(N) (pipeline.free_carrier); the mode
    weight cancels in the ratio.  3 %: the mode intensity is not flat over the ~0.1 µm the
    edges move."""
    from pipeline.charge.depletion import depletion_width
    from pipeline.free_carrier import delta_index
    from pipeline.library import Library

    lib = Library()
    sweep, solver = pm.default_sweep(), pm.default_solver()
    n0 = sweep.nominal_doping

    def closed(n, vr, lam):
        dw = depletion_width(n, n, vr, corrected=True) - depletion_width(n, n, 0.0, corrected=True)
        return dw * float(delta_index(n, 0.0, lam) + delta_index(0.0, n, lam))

    ref = lib.cache.get(sweep.device(0.0, 0.0), solver).data
    for dn in (-0.2, 0.2):
        ds = lib.cache.get(sweep.device(dn, 0.0), solver).data
        for v in (-1.0, -2.0, -4.0):
            for lam in LAM:
                sim = float(ds.dneff.sel(voltage=v, wavelength=lam) / ref.dneff.sel(voltage=v, wavelength=lam))
                want = closed(n0 * (1 + dn), -v, lam) / closed(n0, -v, lam)
                assert abs(sim / want - 1) < 0.03, (dn, v, lam, sim, want)


def test_ranges_and_bad_input(shipped):
    model, _ = shipped
    for kw in ({"voltage": 0.5}, {"voltage": -4.5}, {"wavelength": 1.62}, {"doping_offset": 0.25},
               {"junction_offset": -0.06}):
        with pytest.raises(ExtrapolationError, match="outside the swept range"):
            pm.index_change(**kw, model=model)
    with pytest.raises(SpecError, match="reverse bias"):
        pm.vpi_l(voltage=0.0, model=model)
    with pytest.raises(SpecError, match="3 distinct"):
        pm.PNShifterSweepSpec(doping=(-0.2, 0.2))
    with pytest.raises(TypeError):
        pm.phase_shift(-2.0, model=model)  # keyword-only
    vpil = pm.vpi_l(voltage=-2.0, wavelength=1.55, model=model)
    assert 1.5 <= float(vpil) <= 3.0  # the nominal shifter's literature range (devices.pn_phase_shifter)

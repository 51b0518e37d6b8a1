"""Mode-solver layer: materials, cross-sections, MPB / Tidy3D backends, coupling, CLI.

Physics is checked against independent numbers: closed-form slab dispersion relations,
literature values for 500×220 nm Si strips, and one backend against the other.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from solvers import needs_solver
from scipy.optimize import brentq

from pipeline.errors import SolverError, SpecError
from pipeline.materials import SILICA, SILICON, Material, constant, index
from pipeline.modes import Core, CrossSection, available_backends, coupled_strips, solve_modes, strip
from pipeline.modes.coupling import eim_coupling_length, eim_profile, slab_modes
from pipeline.modes.solver import RawModes, register_backend

LAM = 1.55
N_SI = 3.47640956821813
N_OX = 1.444023621703261


def symmetric_slab_neff(n1: float, n2: float, d: float, lam: float, pol: str) -> float:
    """Fundamental mode of a symmetric slab, textbook even-mode equation
    tan(κd/2) = (p1/p2) γ/κ, p = 1 (TE) or n² (TM)."""
    k0 = 2 * np.pi / lam
    ratio = 1.0 if pol == "TE" else (n1 / n2) ** 2

    def f(n: float) -> float:
        kap, gam = k0 * np.sqrt(n1**2 - n**2), k0 * np.sqrt(n**2 - n2**2)
        return np.tan(kap * d / 2) - ratio * gam / kap

    n_lo = max(n2, np.sqrt(max(n1**2 - (np.pi / (k0 * d)) ** 2, 0))) + 1e-12  # first tan branch
    return brentq(f, n_lo, n1 - 1e-12, xtol=1e-14)


# ---------------------------------------------------------------- materials, specs
def test_material_indices_match_literature():
    assert SILICON.index(1.55) == pytest.approx(3.476, abs=1e-3)  # Li 1980
    assert SILICA.index(1.55) == pytest.approx(1.444, abs=1e-3)  # Malitson 1965
    assert SILICON.group_index(1.55) == pytest.approx(3.6, abs=0.03)
    n = index("Si", np.array([1.5, 1.55, 1.6]), np.array([293.15, 293.15, 393.15]))
    assert n.shape == (3,) and n[0] > n[1]
    assert index("Si", 1.55, 393.15) - index("Si", 1.55) == pytest.approx(1.86e-2, rel=1e-9)
    assert index(SILICA, 1.55, 303.15) - index(SILICA, 1.55) == pytest.approx(0.95e-4, rel=1e-9)


def test_material_spec_errors_name_field():
    with pytest.raises(SpecError, match="exactly one of n"):
        Material(name="x")
    with pytest.raises(SpecError, match="n = 0.5"):
        Material(name="x", n=0.5)
    with pytest.raises(SpecError, match="outside the range"):
        SILICON.index(0.8)
    assert constant(SILICON).n == pytest.approx(SILICON.index(1.55))


def test_cross_section_validation():
    with pytest.raises(SpecError, match=r"gap = -0.1 um.*Fix"):
        coupled_strips(0.5, 0.22, -0.1)
    with pytest.raises(SpecError, match=r"cores\[0\].*cores\[1\].*overlap"):
        CrossSection(cores=(Core(x_center=0.0), Core(x_center=0.3)))
    with pytest.raises(SpecError, match="width"):
        Core(width=-0.5)
    with pytest.raises(SpecError, match="width"):
        strip(0.0, 0.22)
    cs = coupled_strips(0.5, 0.22, 0.2)
    assert cs.bounds() == pytest.approx((-0.6, 0.6, 0.0, 0.22))
    assert cs.at(1.55).cores[0].material.n == pytest.approx(N_SI)


def test_unknown_backend_lists_available():
    with pytest.raises(SpecError, match="'mpb', 'tidy3d'"):
        solve_modes(strip(), 1.55, solver="nope")


def test_backend_failure_wrapped_in_solver_error():
    def broken(*args, **kwargs) -> RawModes:
        raise RuntimeError("eigensolver diverged")

    register_backend("broken-test", broken)
    with pytest.raises(SolverError, match="broken-test.*eigensolver diverged"):
        solve_modes(strip(), 1.55, solver="broken-test")


def test_import_does_not_load_solvers():
    code = "import sys, pipeline.modes, pipeline.modes.coupling; print(any(m.split('.')[0] in ('meep', 'tidy3d') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert set(available_backends()) >= {"mpb", "tidy3d"}


# ---------------------------------------------------------------- analytic slabs, EIM
@pytest.mark.parametrize("pol", ["TE", "TM"])
def test_slab_solver_matches_closed_form(pol):
    exact = symmetric_slab_neff(N_SI, N_OX, 0.22, LAM, pol)
    assert slab_modes([N_OX, N_SI, N_OX], [0.22], LAM, pol)[0] == pytest.approx(exact, abs=1e-9)


def test_eim_coupling_shorter_than_vectorial_and_monotone():
    lcs = [eim_coupling_length(0.5, 0.22, g, LAM) for g in (0.2, 0.25, 0.3)]
    assert lcs[0] < lcs[1] < lcs[2]
    prof = eim_profile(strip(), LAM)
    assert prof.core_indices[0] == pytest.approx(symmetric_slab_neff(N_SI, N_OX, 0.22, LAM, "TE"), abs=1e-9)
    # converged 3D MPB value at gap 0.2 um is 38.1 um (benchmarks): classical EIM ~35 % short
    assert 0.55 < lcs[0] / 38.1 < 0.75


# ---------------------------------------------------------------- MPB
@pytest.mark.meep
def test_mpb_slab_matches_closed_form():
    needs_solver("meep")
    cs = strip(core=constant(SILICON), cladding=constant(SILICA))
    ds = solve_modes(cs, LAM, num_modes=2, resolution=50, margin=(0.0, 1.0), group_index=False)
    te0, tm0 = ds.neff.values[0]
    assert te0 == pytest.approx(symmetric_slab_neff(N_SI, N_OX, 0.22, LAM, "TE"), rel=2e-3)
    assert tm0 == pytest.approx(symmetric_slab_neff(N_SI, N_OX, 0.22, LAM, "TM"), rel=3e-3)
    assert ds.te_fraction.values[0, 0] > 0.999 and ds.te_fraction.values[0, 1] < 0.001


@pytest.mark.meep
def test_mpb_strip_neff_ng_literature():
    needs_solver("meep")
    disp = [solve_modes(strip(), LAM, num_modes=1, resolution=r) for r in (32, 48)]
    const = solve_modes(strip(core=constant(SILICON), cladding=constant(SILICA)), LAM, num_modes=1, resolution=48)
    rich = lambda v: (2.25 * disp[1][v].values[0, 0] - disp[0][v].values[0, 0]) / 1.25  # noqa: E731
    assert 2.44 <= rich("neff") <= 2.45
    assert rich("ng") == pytest.approx(4.2, abs=0.05)
    ng_const = float(const.ng.values[0, 0])
    assert ng_const == pytest.approx(4.05, abs=0.05)
    assert rich("ng") - ng_const > 0.1  # Si dispersion adds ~0.13
    assert disp[1].te_fraction.values[0, 0] > 0.95


@pytest.mark.meep
def test_mpb_fields_and_temperature():
    needs_solver("meep")
    ds = solve_modes(strip(substrate=SILICA), [1.5, 1.55], num_modes=2, resolution=24, fields=True, group_index=False)
    assert ds.Ex.dims == ("wavelength", "mode", "x", "z")
    ex, ez = ds.Ex.values[1, 0], ds.Ez.values[1, 0]
    te = np.sum(abs(ex) ** 2) / np.sum(abs(ex) ** 2 + abs(ez) ** 2)
    assert te == pytest.approx(ds.te_fraction.values[1, 0], rel=1e-9)
    assert np.nanmax(abs(ds.Ex.values[1, 0])) == pytest.approx(1.0)
    assert ds.neff.values[0, 0] > ds.neff.values[1, 0]  # normal dispersion of n_eff
    hot = solve_modes(strip(), 1.55, num_modes=1, resolution=24, temperature_K=393.15, group_index=False)
    cold = solve_modes(strip(), 1.55, num_modes=1, resolution=24, group_index=False)
    dn = float(hot.neff.values[0, 0] - cold.neff.values[0, 0])
    assert 0.5 * 1.86e-2 < dn < 1.86e-2 * 4.2 / 3.48  # dn_eff ~ (n_g/n) Γ dn_Si


@pytest.mark.meep
def test_mpb_unguided_modes_are_nan():
    needs_solver("meep")
    ds = solve_modes(strip(0.3, 0.22), LAM, num_modes=4, resolution=24, group_index=False)
    assert np.isfinite(ds.neff.values[0, 0]) and np.isnan(ds.neff.values[0, -1])


def _pair_fields(x: np.ndarray, z: np.ndarray, signs: list[int], centre: float = 0.3) -> np.ndarray:
    """E_x of Gaussian supermodes of two cores at ±0.5 µm around ``centre``: +1 even, −1 odd."""
    g = lambda x0: np.exp(-((x[:, None] - x0) / 0.25) ** 2 - (z[None, :] / 0.15) ** 2)  # noqa: E731
    return np.stack([(g(centre - 0.5) + s * g(centre + 0.5)) * np.exp(0.7j) for s in signs])


def test_supermodes_classified_by_mirror_symmetry():
    from pipeline.modes.coupling import mirror_parity, mirror_plane, pick_supermodes

    pair = coupled_strips(0.5, 0.22, 0.5).model_copy(update={"cores": tuple(
        c.model_copy(update={"x_center": c.x_center + 0.3}) for c in coupled_strips(0.5, 0.22, 0.5).cores)})
    assert mirror_plane(pair) == pytest.approx(0.3)
    assert mirror_plane(coupled_strips(0.5, 0.22, 0.5, width2=0.45)) is None
    x, z = np.linspace(-2, 2.6, 231), np.linspace(-0.6, 0.8, 57)
    par = mirror_parity(_pair_fields(x, z, [1, -1]), x, 0.3)
    np.testing.assert_allclose(par, [1, -1], atol=1e-3)
    # the odd mode listed first and a TM-like mode in between: still (even, odd)
    assert pick_supermodes(np.array([2.42, 2.0, 2.44]), np.array([0.98, 0.03, 0.98]),
                           np.array([-1.0, 1.0, 1.0])) == (2.44, 2.42)
    with pytest.raises(SolverError, match="no odd TE-like supermode"):  # the same supermode twice
        pick_supermodes(np.array([2.44, 2.4399]), np.array([0.98, 0.98]), np.array([1.0, 0.99]))


def test_coupling_length_repeats_a_solve_that_misses_a_supermode():
    from pipeline.modes.coupling import coupling_length

    calls: list[int] = []

    def flaky(cs, wavelength, *, num_modes, resolution, margin, grid_wavelength, fields):
        calls.append(num_modes)
        x, z = np.linspace(-2, 2, 201), np.linspace(-0.6, 0.8, 57)
        signs = [1, 1, -1, 1, -1, 1][:num_modes] if len(calls) == 1 else [1, -1, 1, -1, 1, -1][:num_modes]
        neff = np.array([2.44, 2.4398, 1.81, 1.70, 1.6, 1.55][:num_modes])
        if len(calls) > 1:
            neff[1] = 2.42
        ex = _pair_fields(x, z, signs, centre=0.0)
        return RawModes(neff=neff, te_fraction=np.array([0.98, 0.98, 0.03, 0.05, 0.5, 0.5][:num_modes]), x=x, z=z,
                        fields={"Ex": ex, "Ey": 0 * ex, "Ez": 0 * ex})

    register_backend("flaky_pair", flaky)
    out = coupling_length(coupled_strips(0.5, 0.22, 0.5), LAM, solver="flaky_pair")
    assert calls == [4, 6]
    assert out["delta_n"] == pytest.approx(0.02) and out["coupling_length_um"] == pytest.approx(LAM / 0.04)
    calls.clear()
    with pytest.raises(SolverError, match="no odd TE-like supermode"):
        coupling_length(coupled_strips(0.5, 0.22, 0.5), LAM, solver="flaky_pair", attempts=1)


@pytest.mark.meep
def test_mpb_coupling_length_decreases_with_gap():
    needs_solver("meep")
    from pipeline.modes.coupling import coupling_length, mirror_parity, mirror_plane

    lc = [coupling_length(coupled_strips(0.5, 0.22, g), LAM, resolution=32)["coupling_length_um"] for g in (0.2, 0.3)]
    assert 30 < lc[0] < lc[1] < 120
    assert lc[0] == pytest.approx(38.1, rel=0.05)
    # coupled-mode theory: the symmetric (even) TE supermode has the higher n_eff
    pair = coupled_strips(0.5, 0.22, 0.2)
    ds = solve_modes(pair, LAM, num_modes=2, resolution=32, group_index=False, fields=True)
    np.testing.assert_allclose(mirror_parity(ds.Ex.values[0], ds.x.values, mirror_plane(pair)), [1, -1], atol=0.01)


@pytest.mark.meep
def test_cli_mode_json():
    needs_solver("meep")
    typer = pytest.importorskip("typer")
    from typer.testing import CliRunner

    from pipeline.cli.mode_cmd import mode

    app = typer.Typer()
    app.command("mode")(mode)
    app.command("other")(lambda: None)
    res = CliRunner().invoke(app, ["mode", "--json", "--gap", "0.2", "--resolution", "16"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert len(out["neff"]) == 4 and out["solver"] == "mpb" and out["coupling_length_um"] > 20
    bad = CliRunner().invoke(app, ["mode", "--gap", "-0.1"])
    assert bad.exit_code == 2 and "gap" in bad.output


# ---------------------------------------------------------------- Tidy3D
@pytest.mark.tidy3d
@pytest.mark.meep
def test_tidy3d_matches_mpb_on_strip():
    needs_solver("tidy3d")
    needs_solver("meep")
    kw = dict(num_modes=2, resolution=64, group_index=False)
    mpb = solve_modes(strip(), LAM, solver="mpb", **kw)
    td = solve_modes(strip(), LAM, solver="tidy3d", **kw)
    assert td.neff.values[0, 0] == pytest.approx(mpb.neff.values[0, 0], rel=5e-3)
    assert td.neff.values[0, 1] == pytest.approx(mpb.neff.values[0, 1], rel=1e-2)  # TM0
    assert td.te_fraction.values[0, 0] == pytest.approx(mpb.te_fraction.values[0, 0], abs=0.01)


@pytest.mark.tidy3d
def test_tidy3d_group_index():
    needs_solver("tidy3d")
    ds = solve_modes(strip(), LAM, num_modes=1, solver="tidy3d", resolution=32)
    assert ds.ng.values[0, 0] == pytest.approx(4.2, abs=0.05)


# ---------------------------------------------------------------- converged (slow)
@pytest.mark.slow
@pytest.mark.meep
def test_converged_strip_and_coupler():
    needs_solver("meep")
    from pipeline.modes.coupling import converged_coupling_length

    ds = solve_modes(strip(), LAM, num_modes=1, resolution=96)
    assert 2.44 <= float(ds.neff.values[0, 0]) <= 2.45
    assert float(ds.ng.values[0, 0]) == pytest.approx(4.19, abs=0.03)
    lcs = [converged_coupling_length(0.5, 0.22, g)["coupling_length_um"] for g in (0.2, 0.25, 0.3)]
    assert lcs[0] < lcs[1] < lcs[2]
    assert all(converged_coupling_length(0.5, 0.22, g)["error_estimate"] < 5e-3 for g in (0.2, 0.25, 0.3))

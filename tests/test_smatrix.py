"""The S-matrix container: convention, checks, interpolation, Touchstone round trips."""

import numpy as np
import pytest

from pipeline.errors import ConventionError, ExtrapolationError, SpecError
from pipeline.smatrix import (
    interp_wavelength,
    make_smatrix,
    max_singular_value,
    passivity_excess,
    power_db,
    reciprocity_error,
    summary_checks,
)
from pipeline.touchstone import export_touchstone, import_touchstone


def test_convention_non_reciprocal(circulator):
    # port a → port b carries the signal, b → a does not: S[out=b, in=a] is the transmission.
    s = circulator
    assert s.dims == ("wavelength", "port_out", "port_in")
    assert s.attrs["convention"] == "S[port_out, port_in]"
    assert s.attrs["time_convention"] == "exp(-iwt)"
    t = s.sel(port_out="b", port_in="a")
    assert np.allclose(np.abs(t), 10 ** (-0.5 / 20))
    assert np.allclose(s.sel(port_out="a", port_in="b"), 0)
    assert float(reciprocity_error(s).max()) == pytest.approx(10 ** (-0.5 / 20))
    assert np.allclose(power_db(s).sel(port_out="b", port_in="a"), -0.5)


def test_reciprocal_and_passive_checks():
    # A lossless symmetric 50:50 coupler, [[t, ik], [ik, t]]: reciprocal, unitary.
    wl = np.linspace(1.5, 1.6, 3)
    m = np.array([[1, 1j], [1j, 1]]) / np.sqrt(2)
    s = make_smatrix(np.broadcast_to(m, (3, 2, 2)), wl, ["o1", "o2"])
    checks = summary_checks(s, lossless=True)
    assert checks["reciprocity_error"] < 1e-15
    assert checks["unitarity_error"] < 1e-15
    assert abs(checks["max_singular_value"] - 1) < 1e-12
    active = make_smatrix(np.broadcast_to(1.2 * m, (3, 2, 2)), wl, ["o1", "o2"])
    assert passivity_excess(active) == pytest.approx(0.2)
    assert np.allclose(max_singular_value(active), 1.2)


def test_interpolation_refuses_extrapolation(circulator):
    inside = interp_wavelength(circulator, [1.5, 1.537, 1.6])
    assert np.allclose(np.abs(inside), np.abs(circulator.isel(wavelength=0)).values[None])
    assert np.allclose(inside.isel(wavelength=[0, 2]), circulator.isel(wavelength=[0, -1]))
    with pytest.raises(ExtrapolationError, match=r"1.61 um is outside the simulated band 1.5-1.6 um"):
        interp_wavelength(circulator, 1.61)


def test_interpolation_follows_phase_not_chord():
    # A pure delay exp(iβL) sampled coarsely: magnitude stays 1 between samples
    # (linear interpolation of Re/Im would dip to |cos(Δφ/2)|).
    wl = np.linspace(1.5, 1.6, 6)
    phase = 2 * np.pi * 2.4 * 40 / wl
    s = make_smatrix(np.exp(1j * phase)[:, None, None], wl, ["o"])
    mid = interp_wavelength(s, 1.55)
    assert abs(abs(complex(mid.values.ravel()[0])) - 1) < 1e-12


def test_make_smatrix_validates():
    with pytest.raises(SpecError, match="strictly ascending"):
        make_smatrix(np.zeros((2, 1, 1)), [1.6, 1.5], ["o"])
    with pytest.raises(SpecError, match="shape"):
        make_smatrix(np.zeros((2, 2, 1)), [1.5, 1.6], ["o"])
    with pytest.raises(SpecError, match="NaN"):
        make_smatrix(np.full((1, 1, 1), np.nan), [1.5], ["o"])


def test_convention_attrs_are_checked(circulator):
    bad = circulator.copy()
    bad.attrs["time_convention"] = "exp(+jwt)"
    with pytest.raises(ConventionError, match="time_convention"):
        reciprocity_error(bad)


@pytest.mark.parametrize("convention", ["exp(-iwt)", "exp(+jwt)"])
def test_touchstone_round_trip_non_reciprocal(tmp_path, circulator, convention):
    path = export_touchstone(circulator, tmp_path / "circ.s3p", time_convention=convention)
    assert path.suffix == ".s3p"
    back = import_touchstone(path)
    # Values written with repr precision: exact round trip; port order and phases preserved.
    assert list(back.port_in.values) == ["a", "b", "c"]
    np.testing.assert_array_equal(back.values, circulator.values)
    np.testing.assert_allclose(back.wavelength.values, circulator.wavelength.values, rtol=1e-15)
    assert back.attrs["reference_planes"] == circulator.attrs["reference_planes"]


def test_touchstone_engineering_convention_is_conjugate(tmp_path, circulator):
    import skrf

    path = export_touchstone(circulator, tmp_path / "circ.s3p", time_convention="exp(+jwt)")
    net = skrf.Network(str(path))
    # skrf's S[f, i, j] = out of i for into j; ascending frequency = descending wavelength.
    np.testing.assert_array_equal(net.s[::-1, 1, 0], np.conj(circulator.sel(port_out="b", port_in="a").values))


def test_foreign_touchstone_needs_a_convention(tmp_path):
    import skrf

    net = skrf.Network(frequency=skrf.Frequency.from_f([190e12, 200e12], unit="hz"),
                       s=np.full((2, 2, 2), 0.5 + 0.5j), z0=50)
    net.write_touchstone(str(tmp_path / "foreign"))
    with pytest.raises(ConventionError, match="time_convention="):
        import_touchstone(tmp_path / "foreign.s2p")
    s = import_touchstone(tmp_path / "foreign.s2p", time_convention="exp(+jwt)")
    assert np.allclose(s.values, 0.5 - 0.5j)

"""Results people can read anywhere (issue 17, point 4): every coordinate and variable of
the S-matrices, dies, training histories and compare() results carries CF-style ``units``
and ``long_name``; specs are stored as structured ``<prefix>.<field>`` attributes beside
their JSON and read back.  The study and main-job results are checked in
tests/test_workflow_study.py and tests/test_main_job.py."""

import re

import numpy as np
import pytest
import xarray as xr

from pipeline import units_attrs as ua
from pipeline.chip.impairments import ImpairmentSpec, impairments
from pipeline.errors import SpecError
from pipeline.smatrix import interp_wavelength, make_smatrix

#: UDUNITS-2 symbols the table may use (udunits2-accepted/-common/-derived), and "dB" (CF practice).
SYMBOLS = {"1", "um", "nm", "mm", "cm", "m", "s", "h", "Hz", "W", "mW", "A", "V", "K", "rad", "dB", "C", "fF", "bit"}


def _parsable(units: str) -> bool:
    """A product/quotient of known symbols with integer powers (and half-integer ones: the NEP's
    W/Hz^0.5, the unit every detector datasheet uses, which UDUNITS itself cannot express)."""
    return all(re.fullmatch(r"([A-Za-z]+|1)(\^-?\d+(\.5)?)?", t) and re.sub(r"\^.*", "", t) in SYMBOLS
               for t in re.split(r"[ /]", units))


def test_table_units_are_udunits_symbols():
    bad = {k: u for k, (u, name) in ua.ATTRS.items() if not _parsable(u) or not name}
    assert not bad
    assert not _parsable("detector readings") and not _parsable("neurons")  # the checker can fail


def test_checker_names_what_is_missing_and_annotate_fills_only_gaps():
    ds = xr.Dataset({"test_accuracy": ("seed", [0.9, 0.8]), "mystery": ("seed", [1, 2], {"units": "W"})},
                    coords={"seed": [0, 1]})
    with pytest.raises(SpecError, match=r"\['mystery', 'seed', 'test_accuracy'\].*Fix"):
        ua.check(ds, "toy")
    out = ua.annotate(ds, {"mystery": ("K", "a mystery")})
    assert ua.missing(out) == []
    assert out.mystery.attrs == {"units": "W", "long_name": "a mystery"}  # units already set: kept
    assert out.seed.attrs["long_name"] == "die seed" and ds.seed.attrs == {}  # the input is not changed


def test_smatrix_coordinates_and_values_carry_units():
    s = make_smatrix(np.zeros((2, 3, 2, 2)), [1.5, 1.55, 1.6], ["o1", "o2"], sweep={"power": [0.0, 0.01]})
    assert ua.missing(s) == [] and s.power.attrs["units"] == "W" and s.attrs["units"] == "1"
    assert ua.missing(interp_wavelength(s, [1.52, 1.58])) == []
    assert ua.missing(interp_wavelength(s.isel(wavelength=[1]), [1.55, 1.55])) == []
    entry = s.to_dataset(name="S")  # as the cache stores it
    assert ua.missing(entry) == []
    with pytest.raises(SpecError, match=r"sweep coordinate\(s\) \['bend'\].*sweep_attrs="):
        make_smatrix(np.zeros((1, 1, 2, 2)), [1.55], ["o1", "o2"], sweep={"bend": [5.0]})
    t = make_smatrix(np.zeros((1, 1, 2, 2)), [1.55], ["o1", "o2"], sweep={"bend": [5.0]},
                     sweep_attrs={"bend": ("um", "bend radius")})
    assert t.bend.attrs == {"units": "um", "long_name": "bend radius"}


def test_composed_circuit_keeps_units():
    from pipeline.circuit.netlist import Netlist, compose

    wg = make_smatrix(np.tile(np.array([[0, 1], [1, 0]], complex), (2, 1, 1)), [1.5, 1.6], ["o1", "o2"])
    net = Netlist(instances={"a": wg, "b": wg}, connections=[("a,o2", "b,o1")], ports={"o1": "a,o1", "o2": "b,o2"})
    assert ua.missing(compose(net)) == []


@pytest.mark.parametrize("arch_name", ["attenuator", "mesh"])
def test_die_datasets_are_annotated_and_their_specs_round_trip(arch_name, tmp_path):
    from pipeline.training.run import architecture

    spec = impairments("realistic", dac_bits=10, laser_rin=-150.0)
    die = architecture(arch_name, 2, 1).sample_die(spec, 3)
    ds = die.to_dataset()
    assert ua.missing(ds) == [], arch_name
    from pipeline.chip.summary import summarize_die
    from workflows.paper import die_summary_attrs

    for key, value in summarize_die(die).items():  # the main job's die_* variables
        if isinstance(value, float):
            units, long_name = die_summary_attrs(key)
            assert _parsable(units) and long_name, key
    ds.to_netcdf(tmp_path / "die.nc", engine="h5netcdf")
    with xr.open_dataset(tmp_path / "die.nc", engine="h5netcdf") as back:
        assert ua.missing(back) == []
        assert back.attrs["impairments.dac_bits"] == 10 and isinstance(back.attrs["impairments.optical_power"],
                                                                         np.floating)
        assert ua.spec_from_attrs(back.attrs, "impairments", ImpairmentSpec) == spec
        assert ua.spec_from_attrs(back.attrs, "spec", type(die.architecture.spec)) == die.architecture.spec


def test_unknown_die_summary_number_is_refused():
    from workflows.paper import die_summary_attrs

    assert die_summary_attrs("heater_gap_um_max") == ("um", "heater gap max")
    with pytest.raises(SpecError, match=r"die summary 'mystery'.*DIE_SUMMARY_ATTRS"):
        die_summary_attrs("mystery")


def test_spec_attrs_round_trip_none_bools_lists_and_nesting():
    from pipeline.chip.attenuator import AttenuatorSpec

    spec = AttenuatorSpec(n_hidden=4, crosstalk_calibration=True)
    flat = ua.spec_attrs("spec", spec)
    assert flat["spec.n_hidden"] == 4 and flat["spec.crosstalk_calibration"] == 1
    assert any(k.startswith("spec.layout.") for k in flat)
    assert ua.spec_from_attrs(flat, "spec", AttenuatorSpec) == spec
    imp = impairments("realistic")  # arm_phase_sigma None: stored as "null", read back as None
    flat = ua.spec_attrs("impairments", imp)
    assert flat["impairments.arm_phase_sigma"] == "null"
    assert ua.spec_from_attrs(flat, "impairments", ImpairmentSpec) == imp
    # a broken round trip is caught: a dropped field comes back as its default, not the value
    wrong = {k: v for k, v in ua.spec_attrs("impairments", impairments("realistic", dac_bits=4)).items()
             if k != "impairments.dac_bits"}
    assert ua.spec_from_attrs(wrong, "impairments", ImpairmentSpec).dac_bits != 4
    with pytest.raises(SpecError, match="no 'config.\\*' attributes"):
        ua.spec_from_attrs(flat, "config", ImpairmentSpec)


def test_history_and_compare_are_annotated():
    from pipeline.training import algorithms as alg
    from pipeline.training.run import compare, train

    cfg = alg.TrainConfig(epochs=1, ideal_restarts=2)
    res = train("moons", "mesh", "ideal,ideal-best,insitu", seed=0, n_samples=30, config=cfg)
    h = res.history
    assert ua.missing(h) == [] and h.params.attrs["units"] == "rad"  # mesh parameters are phases
    assert ua.spec_from_attrs(h.attrs, "config", alg.TrainConfig) == alg.TrainConfig(
        **{**cfg.model_dump(), "learning_rate": h.attrs["config.learning_rate"], "seed": 0})
    c = compare(["moons"], [0], "ideal", config=alg.TrainConfig(epochs=1))
    assert ua.missing(c) == [] and c.sizes["seed"] == 1 and c.attrs["config.epochs"] == 1

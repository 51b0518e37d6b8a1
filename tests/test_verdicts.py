"""Verdicts (pipeline.training.verdicts): the paired bootstrap interval covers the true mean
difference at about the nominal rate, the two-sided equivalence verdict fails a real 3-point
gap and a one-sided artefact (4 points above the reference), and a deliberately broken
training method (in-situ gradient with its sign flipped) fails the verdict on real dies."""

import json

import numpy as np
import pytest
import xarray as xr

from pipeline.errors import SpecError
from pipeline.training import verdicts as vd
from broken_dies import SignFlippedDie


def _acc(per_alg: dict[str, np.ndarray]) -> xr.DataArray:
    names = list(per_alg)
    vals = np.column_stack([np.asarray(per_alg[n], dtype=float) for n in names])
    return xr.DataArray(vals, dims=("seed", "algorithm"),
                        coords={"seed": np.arange(vals.shape[0]), "algorithm": names})


def _study(rng, true_diff: float, spread: float, dies: int = 10, die_spread: float = 0.05) -> xr.DataArray:
    """Synthetic study: a die effect common to both algorithms (cancels in the pair) plus
    per-die noise of the difference."""
    die = 0.9 + die_spread * rng.standard_normal(dies)
    return _acc({"ideal": die, "insitu": die + true_diff + spread * rng.standard_normal(dies)})


# -- the interval ----------------------------------------------------------------------------

def test_paired_interval_covers_true_difference_at_nominal_rate():
    rng = np.random.default_rng(7)
    true = 0.01
    hits = []
    for k in range(200):
        d = vd.paired_difference(_study(rng, true, 0.03), "insitu", "ideal", seed=k)
        hits.append(d.ci_low <= true <= d.ci_high)
    assert 0.90 <= np.mean(hits) <= 0.98, np.mean(hits)


def test_expanded_interval_wider_than_plain_and_deterministic():
    acc = _study(np.random.default_rng(3), 0.0, 0.02)
    e1 = vd.paired_difference(acc, "insitu", "ideal")
    e2 = vd.paired_difference(acc, "insitu", "ideal")
    p = vd.paired_difference(acc, "insitu", "ideal", expanded=False)
    assert (e1.ci_low, e1.ci_high) == (e2.ci_low, e2.ci_high)  # fixed-seed Generator
    assert e1.ci_low < p.ci_low < p.ci_high < e1.ci_high
    assert e1.resamples >= 10_000 and "expanded" in e1.method and "plain" in p.method


def test_pairing_cancels_the_die_effect():
    """A die effect of 5 points (common to both) leaves the paired interval narrow; the
    per-algorithm intervals carry it."""
    acc = _study(np.random.default_rng(11), 0.0, 0.005, die_spread=0.05)
    d = vd.paired_difference(acc, "insitu", "ideal")
    s = vd.algorithm_stats(acc, "insitu")
    assert d.ci_high - d.ci_low < 0.01 < s.ci_high - s.ci_low
    per = acc.sel(algorithm="insitu") - acc.sel(algorithm="ideal")
    assert d.per_die == {str(k): pytest.approx(float(v)) for k, v in zip(acc.seed.values, per.values)}
    assert d.mean == pytest.approx(float(per.mean()))


def test_algorithm_stats_mean_interval_min():
    v = np.array([0.95, 0.97, 0.91, 0.99, 0.96])
    s = vd.algorithm_stats(_acc({"insitu": v, "ideal": v}), "insitu")
    assert s.mean == pytest.approx(v.mean()) and s.min == pytest.approx(0.91) and s.n_dies == 5
    assert v.min() <= s.ci_low < s.mean < s.ci_high <= v.max()


# -- the verdicts ----------------------------------------------------------------------------

def test_equivalence_fails_at_3_points_and_passes_at_0():
    rng = np.random.default_rng(5)
    off = vd.paired_difference(_study(rng, -0.03, 0.005), "insitu", "ideal")
    same = vd.paired_difference(_study(rng, 0.0, 0.005), "insitu", "ideal")
    assert not vd.equivalence_verdict(off, 0.02).passed
    assert vd.difference_verdict(off).verdict == "worse"
    eq = vd.equivalence_verdict(same, 0.02)
    assert eq.passed and eq.verdict == "equivalent" and -0.02 <= same.ci_low <= same.ci_high <= 0.02


def test_one_sided_artefact_fails_equivalence():
    """insitu 4 points ABOVE ideal on every die: the old one-sided check said 'matches'."""
    rng = np.random.default_rng(9)
    acc = _study(rng, 0.04, 0.01)
    d = vd.paired_difference(acc, "insitu", "ideal")
    eq = vd.equivalence_verdict(d, 0.02)
    assert not eq.passed and eq.verdict == "not equivalent" and "outside" in eq.reason
    assert vd.difference_verdict(d).verdict == "better"


def test_wide_interval_is_not_equivalent():
    """Mean difference 0 but 5-point per-die scatter: the interval reaches outside ±2."""
    d = vd.paired_difference(_study(np.random.default_rng(2), 0.0, 0.05), "insitu", "ideal")
    assert abs(d.mean) < 0.03 and not vd.equivalence_verdict(d, 0.02).passed


def test_threshold_needs_mean_and_lower_bound():
    v = np.array([0.99, 0.99, 0.80, 0.99, 0.99, 0.99])  # mean 0.958, one bad die
    s = vd.algorithm_stats(_acc({"insitu": v}), "insitu")
    t = vd.threshold_verdict(s, 0.90)
    assert t.mean_above and not t.ci_low_above and not t.passed


def test_nan_dies_dropped_and_counted_and_json():
    a = np.array([0.9, np.nan, 0.92, 0.95])
    b = np.array([0.9, 0.9, np.nan, 0.93])
    d = vd.paired_difference(_acc({"insitu": a, "ideal": b}), "insitu", "ideal")
    assert d.n_dies == 2 and d.dropped_dies == ["1", "2"] and set(d.per_die) == {"0", "3"}
    out = json.loads(json.dumps(vd.equivalence_verdict(d, 0.02).to_dict(), allow_nan=False))
    assert out["kind"] == "equivalence" and out["difference"]["label"] == "insitu − ideal"
    s = vd.algorithm_stats(_acc({"insitu": a, "ideal": b}), "insitu")
    json.dumps(vd.threshold_verdict(s, 0.9).to_dict(), allow_nan=False)
    json.dumps(s.to_dict(), allow_nan=False)
    json.dumps(vd.difference_verdict(d).to_dict(), allow_nan=False)


def test_errors_name_field_value_and_fix():
    with pytest.raises(SpecError, match=r"insitu − ideal: 1 die.*seed = \['0'\].*Fix: run at least 2 dies"):
        vd.paired_difference(_acc({"insitu": [0.9, np.nan], "ideal": [0.9, 0.9]}), "insitu", "ideal")
    acc = _acc({"insitu": [0.9, 0.8], "ideal": [0.9, 0.9]})
    with pytest.raises(SpecError, match=r"algorithm = 'offline'.*Fix"):
        vd.paired_difference(acc, "offline", "ideal")
    with pytest.raises(SpecError, match=r"extra dims \['dataset'\].*Fix"):
        vd.algorithm_stats(acc.expand_dims(dataset=["moons"]), "insitu")
    with pytest.raises(SpecError, match="margin"):
        vd.equivalence_verdict(vd.paired_difference(acc, "insitu", "ideal"), 0.0)
    with pytest.raises(SpecError, match="resamples"):
        vd.paired_difference(acc, "insitu", "ideal", resamples=10)


# -- a deliberately broken method on real training ------------------------------------------

def test_broken_insitu_fails_the_verdict_on_real_dies():
    """6 realistic attenuator dies, moons, 40 epochs: in-situ − ideal vs the same with the
    gradient sign flipped. The broken method must be 'worse' and not equivalent."""
    from pipeline.training import algorithms as alg
    from pipeline.training.run import train

    seeds = list(range(6))
    rows = []
    for s in seeds:
        cfg = alg.TrainConfig(epochs=40, seed=s)
        res = train("moons", "attenuator", "ideal,insitu", "realistic", seed=s, config=cfg,
                    n_samples=150)
        broken = alg.train_insitu(SignFlippedDie(res.die), res.data, cfg)
        rows.append([res.runs["ideal"].final["test_accuracy"], res.runs["insitu"].final["test_accuracy"],
                     broken.final["test_accuracy"]])
    acc = xr.DataArray(np.array(rows), dims=("seed", "algorithm"),
                       coords={"seed": seeds, "algorithm": ["ideal", "insitu", "insitu-flipped"]})
    good = vd.paired_difference(acc, "insitu", "ideal")
    bad = vd.paired_difference(acc, "insitu-flipped", "ideal")
    assert not vd.equivalence_verdict(bad, 0.02).passed
    assert vd.difference_verdict(bad).verdict == "worse"
    assert bad.ci_high < good.ci_low  # the verdict tells the two apart
    assert vd.difference_verdict(good).verdict != "worse"


def test_skipped_calibration_is_not_equivalent_to_calibrated_offline():
    """Offline deployment on the die as it comes (lab calibration skipped on dies that need it)
    vs the same ideal weights on the lab-calibrated die: must not come out 'equivalent'."""
    from pipeline.training import algorithms as alg
    from pipeline.training.run import train

    seeds = list(range(6))
    rows = []
    for s in seeds:
        res = train("moons", "attenuator", "ideal,offline,offline-calibrated", "realistic", seed=s,
                    config=alg.TrainConfig(epochs=40), n_samples=150, init_seed=1000 + s,
                    split_seed=s)
        rows.append([res.runs[n].final["test_accuracy"] for n in ("offline", "offline-calibrated")])
    acc = xr.DataArray(np.array(rows), dims=("seed", "algorithm"),
                       coords={"seed": seeds, "algorithm": ["offline", "offline-calibrated"]})
    d = vd.paired_difference(acc, "offline", "offline-calibrated")
    assert not vd.equivalence_verdict(d, 0.02).passed
    assert vd.difference_verdict(d).verdict == "worse"

"""Verdicts on final accuracies over dies: statistics that can say no.

Input: an accuracy :class:`xarray.DataArray` whose dims are ``seed`` (the die) and
``algorithm`` (select every other dim first, e.g. ``acc.sel(dataset="moons")``).  Every
algorithm of a main-job cell runs on the same die, with the same data split and the same
initial parameters, so two algorithms' accuracies on one die are a *pair*: the die's own
luck (a hard split, a bad start, a die with large errors) is common to both and cancels in
the per-die difference ``a − b``.  The statistics:

* :func:`algorithm_stats` — per algorithm: mean over dies, a bootstrap 95 % interval of the
  mean, the minimum (the worst die) and the per-die values;
* :func:`paired_difference` — the per-die differences ``a − b``, their mean and a bootstrap
  95 % interval of that mean;
* :func:`equivalence_verdict` — two-sided: *equivalent* iff the whole interval of the mean
  difference lies inside ``[−margin, +margin]`` (an algorithm 4 points better than the
  reference is not "equivalent" to it, and neither is one whose interval is too wide to
  tell);
* :func:`difference_verdict` — ``better`` iff the interval's lower bound > 0, ``worse`` iff
  its upper bound < 0, otherwise ``inconclusive``;
* :func:`threshold_verdict` — "> x %" both for the mean and for the interval's lower bound.

Method: percentile bootstrap over dies (B ≥ 10 000 resamples of the dies with replacement,
one fixed-seed :class:`numpy.random.Generator`, vectorised), *expanded* by default for the
small number of dies (T. C. Hesterberg, Am. Stat. 69, 371 (2015)): the plain percentile
interval of a mean is too narrow by ≈ √((n−1)/n) and uses normal instead of t quantiles,
so at 10 dies it covers only ≈ 90 % instead of 95 %; the expanded interval takes the
percentiles ``Φ(± √(n/(n−1)) · t_{n−1, 0.975})`` of the same bootstrap distribution
(at n = 10: 0.85 % and 99.15 %), which restores ≈ 95 % coverage for roughly normal
per-die values.  ``expanded=False`` gives the plain 2.5 / 97.5 % percentiles.

Limits: the interval is over *dies* (and, with them, splits and initialisations), not
over test points; with 10 dies and a per-die spread of a few points its width is a few
points (half-width ≈ 2.3 σ/√10 ≈ 0.7 σ), so a 2-point equivalence margin can only be
met when the per-die differences scatter by ≲ 2 points; with a discrete test set (100
points → 1-point steps) and a difference that is exactly 0 on every die the bootstrap
interval collapses to [0, 0] — true for these dies, not a guarantee for the next one.
Dies where either value is NaN are dropped and counted; fewer than 2 usable dies is a
:class:`~pipeline.errors.SpecError`.

Every result is a plain dataclass; ``.to_dict()`` gives JSON-ready values (no NaN).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import xarray as xr

from pipeline.errors import SpecError

#: Default bootstrap resamples and the Generator seed (fixed: a rerun gives the same interval).
RESAMPLES = 10_000
BOOTSTRAP_SEED = 20260
CONFIDENCE = 0.95


@dataclass
class AlgorithmStats:
    """One algorithm over dies: mean, bootstrap interval of the mean, worst die."""

    algorithm: str
    mean: float
    ci_low: float
    ci_high: float
    min: float
    n_dies: int
    dropped_dies: list[str]
    per_die: dict[str, float]
    confidence: float = CONFIDENCE

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PairedDifference:
    """Per-die difference ``a − b`` (same die, split and initialisation) and its interval."""

    a: str
    b: str
    mean: float
    ci_low: float
    ci_high: float
    n_dies: int
    dropped_dies: list[str]
    per_die: dict[str, float]
    confidence: float = CONFIDENCE
    resamples: int = RESAMPLES
    method: str = "expanded percentile bootstrap over dies"

    @property
    def label(self) -> str:
        return f"{self.a} − {self.b}"

    def to_dict(self) -> dict:
        return {"label": self.label, **asdict(self)}


@dataclass
class EquivalenceVerdict:
    """Two-sided equivalence: passed iff ``−margin ≤ ci_low`` and ``ci_high ≤ margin``."""

    difference: PairedDifference
    margin: float
    passed: bool
    verdict: Literal["equivalent", "not equivalent"]
    reason: str

    def to_dict(self) -> dict:
        return {"kind": "equivalence", "margin": self.margin, "passed": self.passed, "verdict": self.verdict,
                "reason": self.reason, "difference": self.difference.to_dict()}


@dataclass
class DifferenceVerdict:
    """``better`` iff ci_low > 0, ``worse`` iff ci_high < 0, else ``inconclusive``."""

    difference: PairedDifference
    verdict: Literal["better", "worse", "inconclusive"]
    reason: str

    def to_dict(self) -> dict:
        return {"kind": "difference", "verdict": self.verdict, "reason": self.reason,
                "difference": self.difference.to_dict()}


@dataclass
class ThresholdVerdict:
    """"> threshold": for the mean and for the interval's lower bound (the claim needs both)."""

    algorithm: str
    threshold: float
    mean_above: bool
    ci_low_above: bool
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = bool(self.mean_above and self.ci_low_above)

    def to_dict(self) -> dict:
        return {"kind": "threshold", **asdict(self)}


# -- the bootstrap -------------------------------------------------------------------------

def _check_resamples(resamples: int) -> None:
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1000:
        raise SpecError(f"resamples = {resamples!r}: too few for a 95 % percentile interval. Fix: use >= 1000 "
                        f"(default {RESAMPLES}).")


def bootstrap_interval(values: np.ndarray, *, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       confidence: float = CONFIDENCE, expanded: bool = True) -> tuple[float, float]:
    """Bootstrap interval of the mean of ``values`` (1-D, finite, ≥ 2): resample the values
    with replacement ``resamples`` times (vectorised, ``default_rng(seed)``) and take the
    percentiles of the resampled means — the expanded percentiles (module doc) unless
    ``expanded=False``."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.isfinite(v).all():
        raise SpecError(f"bootstrap_interval: values = {v.tolist()!r}: need >= 2 finite values. Fix: drop NaN "
                        "and pass at least 2 dies.")
    if not 0.5 < confidence < 1:
        raise SpecError(f"confidence = {confidence}: must be in (0.5, 1). Fix: e.g. 0.95.")
    _check_resamples(resamples)
    n = v.size
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, n, size=(int(resamples), n))].mean(axis=1)
    alpha = 1.0 - confidence
    if expanded:
        tail = float(stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(1 - alpha / 2, n - 1)))
    else:
        tail = alpha / 2
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(lo), float(hi)


# -- the statistics --------------------------------------------------------------------------

def _check_dims(acc: xr.DataArray) -> None:
    if not isinstance(acc, xr.DataArray):
        raise SpecError(f"accuracy: expected an xarray.DataArray, got {type(acc).__name__}. Fix: pass e.g. "
                        "res['final_test_accuracy'].sel(dataset='moons').")
    missing = [d for d in ("seed", "algorithm") if d not in acc.dims]
    extra = [d for d in acc.dims if d not in ("seed", "algorithm")]
    if missing or extra:
        raise SpecError(f"accuracy dims = {list(acc.dims)}: "
                        + (f"missing {missing}" if missing else f"extra dims {extra}")
                        + ". Fix: the verdicts need exactly ('seed', 'algorithm'); select one value of the others "
                          "first, e.g. acc.sel(dataset='moons', optical_power=1e-4).")


def _algorithm(acc: xr.DataArray, name: str) -> xr.DataArray:
    names = [str(a) for a in acc.algorithm.values]
    if name not in names:
        raise SpecError(f"algorithm = {name!r}: not in the results {names}. Fix: add it to the study's algorithms "
                        "or compare algorithms that were trained.")
    return acc.sel(algorithm=name)


def _clean(values: np.ndarray, seeds: np.ndarray, what: str) -> tuple[np.ndarray, list[str], list[str]]:
    ok = np.isfinite(values)
    kept = [str(s) for s in seeds[ok]]
    dropped = [str(s) for s in seeds[~ok]]
    if ok.sum() < 2:
        raise SpecError(f"{what}: {int(ok.sum())} die(s) with finite values (seed = {kept}; NaN on {dropped}): a "
                        "paired bootstrap interval needs >= 2. Fix: run at least 2 dies (seeds in [study], "
                        "--dies >= 2) and check why cells are NaN.")
    return values[ok], kept, dropped


def algorithm_stats(acc: xr.DataArray, algorithm: str, *, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED,
                    expanded: bool = True) -> AlgorithmStats:
    """Mean over dies of ``algorithm``, the bootstrap interval of that mean, its minimum
    (worst die) and the per-die values (NaN dies dropped and listed)."""
    _check_dims(acc)
    a = _algorithm(acc, algorithm).transpose("seed")
    v, kept, dropped = _clean(a.values.astype(float), a.seed.values, f"algorithm {algorithm!r}")
    lo, hi = bootstrap_interval(v, resamples=resamples, seed=seed, expanded=expanded)
    return AlgorithmStats(algorithm, float(v.mean()), lo, hi, float(v.min()), int(v.size), dropped,
                          dict(zip(kept, map(float, v))))


def paired_difference(acc: xr.DataArray, a: str, b: str, *, resamples: int = RESAMPLES,
                      seed: int = BOOTSTRAP_SEED, expanded: bool = True) -> PairedDifference:
    """Per-die ``a − b`` (both on the same die: same split, same initialisation), its mean
    and bootstrap interval; dies where either is NaN are dropped and listed."""
    _check_dims(acc)
    va = _algorithm(acc, a).transpose("seed")
    vb = _algorithm(acc, b).transpose("seed")
    d, kept, dropped = _clean((va - vb).values.astype(float), va.seed.values, f"paired difference {a} − {b}")
    lo, hi = bootstrap_interval(d, resamples=resamples, seed=seed, expanded=expanded)
    method = ("expanded" if expanded else "plain") + " percentile bootstrap over dies"
    return PairedDifference(a, b, float(d.mean()), lo, hi, int(d.size), dropped, dict(zip(kept, map(float, d))),
                            resamples=int(resamples), method=method)


def _check_margin(margin: float) -> None:
    if not np.isfinite(margin) or margin <= 0:
        raise SpecError(f"equivalence margin = {margin!r}: must be a positive accuracy difference. Fix: e.g. 0.02 "
                        "(2 points).")


def equivalence_verdict(diff: PairedDifference, margin: float) -> EquivalenceVerdict:
    """Two-sided: equivalent iff the whole interval lies inside ``[−margin, +margin]``."""
    _check_margin(margin)
    passed = bool(-margin <= diff.ci_low and diff.ci_high <= margin)
    iv = f"[{100 * diff.ci_low:+.1f}, {100 * diff.ci_high:+.1f}] pts"
    if passed:
        reason = f"{diff.label}: interval {iv} inside ±{100 * margin:.1f} pts"
    elif diff.ci_low > margin or diff.ci_high < -margin:
        reason = f"{diff.label}: interval {iv} entirely outside ±{100 * margin:.1f} pts"
    else:
        reason = f"{diff.label}: interval {iv} reaches outside ±{100 * margin:.1f} pts"
    return EquivalenceVerdict(diff, float(margin), passed, "equivalent" if passed else "not equivalent", reason)


def difference_verdict(diff: PairedDifference) -> DifferenceVerdict:
    """``better`` (a > b) iff ci_low > 0, ``worse`` iff ci_high < 0, else ``inconclusive``."""
    iv = f"[{100 * diff.ci_low:+.1f}, {100 * diff.ci_high:+.1f}] pts"
    if diff.ci_low > 0:
        return DifferenceVerdict(diff, "better", f"{diff.label}: interval {iv} above 0")
    if diff.ci_high < 0:
        return DifferenceVerdict(diff, "worse", f"{diff.label}: interval {iv} below 0")
    return DifferenceVerdict(diff, "inconclusive", f"{diff.label}: interval {iv} contains 0")


def threshold_verdict(stats: AlgorithmStats, threshold: float) -> ThresholdVerdict:
    """``> threshold`` for the mean and for the interval's lower bound."""
    if not 0 <= threshold <= 1:
        raise SpecError(f"min_accuracy = {threshold!r}: must be an accuracy in [0, 1]. Fix: e.g. 0.90.")
    return ThresholdVerdict(stats.algorithm, float(threshold), bool(stats.mean > threshold),
                            bool(stats.ci_low > threshold))

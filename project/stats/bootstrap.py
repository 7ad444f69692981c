"""Paired percentile bootstrap over seeds: speedup of a variant over the control, quality
differences, and the geometric mean across settings.

Seed ``s`` gives every variant of a setting the same data order and initial shared weights, so
a resample draws seed *pairs* with replacement (10,000 resamples, seeded generator) and the
95% interval is the 2.5th and 97.5th percentiles of the resampled statistic (docs/protocol.md).
``a`` is the variant, ``b`` the control throughout.

Steps to target are censored at the budget for runs that never meet the target. A median is
the Kaplan-Meier median; a censored one (half or more of the runs missed) counts as the
largest censoring time (DeepOBS: misses count as the full budget), so a ratio built from it is
only a bound: a lower bound when the control's median is censored, an upper bound when the
variant's is. Such a bound never produces a finite interval limit on its open side: the
upper limit is ``inf`` when the control's median is censored in the sample or in more than
2.5% of the resamples (their ratios could be arbitrarily large), the lower limit 0 when the
variant's is. ``Estimate.bound`` says which kind of bound the point estimate is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from project.stats.censoring import km_median

N_RESAMPLES = 10_000
SEED = 0
INF = float("inf")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile-bootstrap interval.

    ``bound``: ``""`` (an estimate), ``">="`` (a lower bound: the control's median is
    censored), ``"<="`` (an upper bound: the variant's is) or ``"?"`` (both: no information).
    """

    value: float
    low: float
    high: float
    bound: str = ""


@dataclass(frozen=True)
class Paired:
    """One setting's paired runs: steps (or seconds) to target and whether each run reached it.

    ``a`` is the variant, ``b`` the control; index ``i`` is the same seed for both. A censored
    run's entry is where it stopped (its budget, or its training time).
    """

    a: np.ndarray
    a_reached: np.ndarray
    b: np.ndarray
    b_reached: np.ndarray

    @classmethod
    def of(cls, a: Sequence[float], a_reached: Sequence[bool], b: Sequence[float],
           b_reached: Sequence[bool]) -> "Paired":
        arrays = [np.asarray(a, float), np.asarray(a_reached, bool), np.asarray(b, float),
                  np.asarray(b_reached, bool)]
        if len({x.shape for x in arrays}) != 1 or arrays[0].ndim != 1 or not arrays[0].size:
            raise ValueError("paired runs need equal, non-empty 1-D arrays (one entry per seed)")
        return cls(*arrays)

    def take(self, idx: np.ndarray) -> "Paired":
        return Paired(self.a[idx], self.a_reached[idx], self.b[idx], self.b_reached[idx])

    def swapped(self) -> "Paired":
        return Paired(self.b, self.b_reached, self.a, self.a_reached)


def resample_indices(n: int, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """``(n_resamples, n)`` indices of seed pairs drawn with replacement (seeded)."""
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap samples (``nearest`` rank: safe with ``inf`` values)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    low, high = np.percentile(samples, [100 * alpha, 100 * (1 - alpha)], method="nearest")
    return float(low), float(high)


def censored_median(times: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Kaplan-Meier median, with a censored median replaced by the largest censoring time."""
    med = np.asarray(km_median(times, reached), dtype=float)
    cap = np.max(np.where(np.asarray(reached, bool), -np.inf, np.asarray(times, float)), axis=-1)
    return np.where(np.isinf(med), cap, med)


def median_censored(times: np.ndarray, reached: np.ndarray) -> np.ndarray:
    """Whether the Kaplan-Meier median is censored (half or more of the runs missed)."""
    return np.isinf(np.asarray(km_median(times, reached), dtype=float))


def speedup_stat(p: Paired) -> np.ndarray:
    """Control median / variant median (works on batches of resamples on the last axis)."""
    return censored_median(p.b, p.b_reached) / censored_median(p.a, p.a_reached)


def faster_stat(p: Paired) -> np.ndarray:
    """Fraction of seed pairs where the variant takes strictly fewer steps; ties count half.

    A censored run counts as slower than any run that reached; two censored runs tie.
    """
    a = np.where(p.a_reached, p.a, np.inf)
    b = np.where(p.b_reached, p.b, np.inf)
    return np.mean((a < b) + 0.5 * (a == b), axis=-1)


def bootstrap(stat: Callable[[Paired], np.ndarray], pairs: Paired,
              n_resamples: int = N_RESAMPLES, seed: int = SEED,
              level: float = 0.95) -> Estimate:
    """Point estimate of ``stat`` and its paired percentile-bootstrap interval."""
    value = float(stat(pairs))
    samples = stat(pairs.take(resample_indices(pairs.a.size, n_resamples, seed)))
    return Estimate(value, *percentile_ci(samples, level))


def bound_of(control_censored: bool, variant_censored: bool) -> str:
    """What a ratio control/variant of (possibly censored) medians is: see ``Estimate``."""
    if control_censored and variant_censored:
        return "?"
    return ">=" if control_censored else "<=" if variant_censored else ""


def open_limits(samples: np.ndarray, control_censored: np.ndarray,
                variant_censored: np.ndarray, bound: str,
                level: float = 0.95) -> tuple[float, float]:
    """Percentile limits of ratio ``samples`` where a resample whose control median is
    censored may be arbitrarily large (``inf`` for the upper limit) and one whose variant
    median is censored arbitrarily small (0 for the lower limit); a point estimate that is
    itself a bound opens that side completely."""
    low = percentile_ci(np.where(variant_censored, 0.0, samples), level)[0]
    high = percentile_ci(np.where(control_censored, INF, samples), level)[1]
    if bound in (">=", "?"):
        high = INF
    if bound in ("<=", "?"):
        low = 0.0
    return low, high


def speedup(pairs: Paired, n_resamples: int = N_RESAMPLES, seed: int = SEED,
            level: float = 0.95) -> Estimate:
    """Speedup of the variant over the control (>1: the variant needs fewer steps) with its
    CI; censored medians make it a bound with an open interval (module docstring)."""
    bound = speedup_bound(pairs)
    value = float(speedup_stat(pairs))
    res = pairs.take(resample_indices(pairs.a.size, n_resamples, seed))
    low, high = open_limits(speedup_stat(res), median_censored(res.b, res.b_reached),
                            median_censored(res.a, res.a_reached), bound, level)
    return Estimate(value, low, high, bound)


def speedup_bound(pairs: Paired) -> str:
    """``">="``/``"<="`` when the control's/variant's median is censored, ``"?"`` for both."""
    return bound_of(bool(median_censored(pairs.b, pairs.b_reached)),
                    bool(median_censored(pairs.a, pairs.a_reached)))


def mean_difference(a: Sequence[float], b: Sequence[float], n_resamples: int = N_RESAMPLES,
                    seed: int = SEED, level: float = 0.95) -> Estimate:
    """Mean paired difference ``a - b`` (e.g. test metric, variant minus control) over the
    pairs where both are finite, with its paired bootstrap CI."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        return Estimate(float("nan"), float("nan"), float("nan"))
    d = a[keep] - b[keep]
    idx = resample_indices(d.size, n_resamples, seed)
    return Estimate(float(d.mean()), *percentile_ci(d[idx].mean(axis=-1), level))


def geometric_mean_speedup(settings: Sequence[Paired], n_resamples: int = N_RESAMPLES,
                           seed: int = SEED, level: float = 0.95) -> Estimate:
    """Geometric mean of per-setting speedups; the bootstrap resamples seeds within each
    setting. A resample is a lower (upper) bound when any setting's control (variant) median
    in it is censored; the point estimate's bound combines the settings' bounds."""
    if not settings:
        return Estimate(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    logs, samples = [], np.zeros(n_resamples)
    c_cens, v_cens = np.zeros(n_resamples, bool), np.zeros(n_resamples, bool)
    bounds = set()
    for p in settings:
        logs.append(np.log(float(speedup_stat(p))))
        bounds.add(speedup_bound(p))
        res = p.take(rng.integers(0, p.a.size, size=(n_resamples, p.a.size)))
        samples += np.log(speedup_stat(res))
        c_cens |= median_censored(res.b, res.b_reached)
        v_cens |= median_censored(res.a, res.a_reached)
    value = float(np.exp(np.mean(logs)))
    bound = bound_of(bool({">=", "?"} & bounds), bool({"<=", "?"} & bounds))
    low, high = open_limits(np.exp(samples / len(settings)), c_cens, v_cens, bound, level)
    return Estimate(value, low, high, bound)

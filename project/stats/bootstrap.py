"""Paired percentile bootstrap over seeds: speedup, P(attention faster), quality differences.

Seed ``s`` gives both models the same data order and initial weights, so a resample draws
seed *pairs* with replacement (10,000 resamples, seeded generator) and the 95% interval is
the 2.5th and 97.5th percentiles of the resampled statistic (PROTOCOL.md).

Steps to target are censored at the budget for runs that never meet the target. For the
speedup a cell's median is its Kaplan-Meier median, and a median that is censored (half or
more of the runs missed) counts as the budget (DeepOBS: misses count as the full budget):
the speedup is then a bound (``>=`` when the baseline's median is censored, ``<=`` when
attention's is); ``speedup_bound`` says which.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from project.stats.censoring import km_median

N_RESAMPLES = 10_000
SEED = 0


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its percentile-bootstrap interval."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Paired:
    """One task's paired runs: steps (or seconds) to target and whether each run reached it.

    ``a`` is attention, ``b`` the baseline; index ``i`` is seed ``i`` for both. ``budget_*``
    is where a censored run stops (its steps or seconds trained).
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


def speedup_stat(p: Paired) -> np.ndarray:
    """Baseline median / attention median (works on batches of resamples on the last axis)."""
    return censored_median(p.b, p.b_reached) / censored_median(p.a, p.a_reached)


def faster_stat(p: Paired) -> np.ndarray:
    """Fraction of seed pairs where attention takes strictly fewer steps; ties count half.

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


def speedup(pairs: Paired, **kw) -> Estimate:
    """Speedup of attention over the baseline (>1: attention needs fewer steps) with its CI."""
    return bootstrap(speedup_stat, pairs, **kw)


def speedup_bound(pairs: Paired) -> str:
    """``">="``/``"<="`` when the baseline's/attention's median is censored, else ``""``."""
    b_cens = np.isinf(km_median(pairs.b, pairs.b_reached))
    a_cens = np.isinf(km_median(pairs.a, pairs.a_reached))
    if a_cens and b_cens:
        return "?"  # both censored: no information on the ratio
    return ">=" if b_cens else "<=" if a_cens else ""


def prob_faster(pairs: Paired, **kw) -> Estimate:
    """P(attention faster) over seed pairs, ties half, with its CI."""
    return bootstrap(faster_stat, pairs, **kw)


def mean_difference(a: Sequence[float], b: Sequence[float], **kw) -> Estimate:
    """Mean paired difference ``a - b`` (e.g. test metric) with its paired bootstrap CI."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        return Estimate(float("nan"), float("nan"), float("nan"))
    d = a[keep] - b[keep]
    kw.setdefault("n_resamples", N_RESAMPLES)
    idx = resample_indices(d.size, kw["n_resamples"], kw.get("seed", SEED))
    return Estimate(float(d.mean()), *percentile_ci(d[idx].mean(axis=-1), kw.get("level", 0.95)))


def geometric_mean_speedup(tasks: Sequence[Paired], n_resamples: int = N_RESAMPLES,
                           seed: int = SEED, level: float = 0.95) -> Estimate:
    """Geometric mean of per-task speedups; the bootstrap resamples seeds within each task."""
    if not tasks:
        return Estimate(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    logs, samples = [], np.zeros(n_resamples)
    for p in tasks:
        logs.append(np.log(float(speedup_stat(p))))
        idx = rng.integers(0, p.a.size, size=(n_resamples, p.a.size))
        samples += np.log(speedup_stat(p.take(idx)))
    value = float(np.exp(np.mean(logs)))
    low, high = percentile_ci(samples / len(tasks), level)
    return Estimate(value, float(np.exp(low)), float(np.exp(high)))

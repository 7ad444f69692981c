"""Robust aggregates over seeds (rliable, Agarwal et al. 2021)."""

from __future__ import annotations

import numpy as np
from scipy.stats import trim_mean


def iqm(values: np.ndarray) -> float:
    """Interquartile mean: the mean of the middle 50% (25% trimmed from each end)."""
    values = np.asarray(values, dtype=float)
    return float(trim_mean(values, 0.25)) if values.size else float("nan")


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value; NaN for none)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0


def censored_iqm(values: np.ndarray, reached: np.ndarray) -> tuple[float, bool]:
    """IQM of times to target with censored runs at their censoring time, and whether it is
    only a lower bound: it is when a censored run is among the middle 50% that are averaged
    (its true time is larger). Trimming as ``scipy.stats.trim_mean(x, 0.25)``: ``int(n / 4)``
    values from each end (none for n < 4); at equal values censored runs sort last."""
    values = np.asarray(values, dtype=float)
    censored = ~np.asarray(reached, dtype=bool)
    n = values.size
    if n == 0:
        return float("nan"), False
    k = int(0.25 * n)
    order = np.lexsort((censored, values))
    kept = order[k:n - k]
    return float(values[kept].mean()), bool(censored[kept].any())

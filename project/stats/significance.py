"""Paired significance of the speedup: Wilcoxon signed-rank (scipy) and Holm's correction."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.stats import wilcoxon


def log_step_ratios(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Per seed pair ``log(b / a)`` (> 0: attention needed fewer steps).

    Censored runs enter at their budget (DeepOBS), so the ratio is a bound for those pairs.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.log(b / a)


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value on the paired log step ratios.

    All pairs tied (no non-zero difference): p = 1 (no evidence of a difference).
    """
    d = log_step_ratios(a, b)
    d = d[np.isfinite(d)]
    if not np.any(d != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN
    and does not count towards the number of tests."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out

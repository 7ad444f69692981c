"""Paired significance: Wilcoxon signed-rank (scipy) with the number of pairs it used, the
smallest p-value n pairs can give, and Holm's correction."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wilcoxon


@dataclass(frozen=True)
class Test:
    """A two-sided p-value and the number of pairs the test used (non-zero differences)."""

    p: float
    n: int


def log_step_ratios(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    """Per seed pair ``log(b / a)`` (> 0: the variant ``a`` needed fewer steps than the
    control ``b``).

    Censored runs enter at their budget (DeepOBS), so the ratio is a bound for those pairs.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.log(b / a)


def signed_rank(d: Sequence[float]) -> Test:
    """Two-sided Wilcoxon signed-rank test of paired differences ``d`` against 0.

    Zero (and non-finite) differences drop out (Wilcoxon's own treatment), and ``Test.n``
    counts the pairs left. scipy's ``method="auto"``: exact for n <= 50 without ties, an exact
    enumeration of sign flips for n <= 13 with ties, else the normal approximation. No
    non-zero difference: p = 1 (no evidence of a difference).
    """
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    if d.size == 0:
        return Test(1.0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return Test(min(p, 1.0), int(d.size))


def step_test(a: Sequence[float], b: Sequence[float]) -> Test:
    """Wilcoxon signed-rank on the paired log step ratios ``log(b / a)``."""
    return signed_rank(log_step_ratios(a, b))


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """The p-value of ``step_test``."""
    return step_test(a, b).p


def smallest_p(n: int) -> float:
    """The smallest two-sided exact Wilcoxon p-value ``n`` pairs can give: ``2 / 2**n`` (all
    differences of one sign; capped at 1; 1 for no pairs)."""
    return min(1.0, 2.0 / 2.0 ** n) if n > 0 else 1.0


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

"""Paired significance: the exact sign test the tables use (steps to target with censoring and
ties; test-metric differences), Wilcoxon signed-rank (scipy), the number of pairs each test
used, the smallest p-value n pairs can give, and Holm's correction.

Why a sign test (docs/protocol.md, "Significance"): steps lie on an evaluation grid, so tied
pairs are common and scipy's signed-rank falls back to a normal approximation beyond 13 pairs;
a censored run's time is known only to exceed its censoring time, so its rank is unknown while
its order against a run that reached the target before that time is known. The sign test uses
only the order of each pair, drops the pairs whose order is unknown (ties, both censored, or a
censored run that stopped before the other reached), and its p-value is the exact binomial
one for any n (``scipy.stats.binomtest``): no approximation, valid under ties and censoring.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, wilcoxon

from project.stats.bootstrap import Paired

SIGN_TEST = "exact sign test"
WILCOXON = "Wilcoxon signed-rank"


@dataclass(frozen=True)
class Test:
    """A two-sided p-value, the number of pairs the test used (pairs whose order is known /
    non-zero differences) and the test's name."""

    p: float
    n: int
    method: str = WILCOXON


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


def known_order(pairs: Paired) -> np.ndarray:
    """Per seed pair: +1 when the variant (``a``) certainly reached the target in fewer steps
    than the control (``b``), -1 when certainly in more, 0 when the order is unknown.

    Both reached: their steps decide (equal steps: 0). One censored at ``c`` (it had not met
    the target by step ``c``): it is slower than the other when the other reached at a step
    ``<= c``, else unknown. Both censored: unknown.
    """
    a, b, ar, br = pairs.a, pairs.b, pairs.a_reached, pairs.b_reached
    faster = (ar & br & (a < b)) | (ar & ~br & (a <= b))
    slower = (ar & br & (b < a)) | (br & ~ar & (b <= a))
    return faster.astype(int) - slower.astype(int)


def sign_test(signs: Sequence[float]) -> Test:
    """Two-sided exact sign test: zero (and non-finite) entries drop out; ``k`` positives of
    the ``n`` left are tested against Binomial(n, 1/2) (``scipy.stats.binomtest``). No pair
    left: p = 1."""
    signs = np.sign(np.asarray(signs, dtype=float))
    signs = signs[np.isfinite(signs) & (signs != 0)]
    if signs.size == 0:
        return Test(1.0, 0, SIGN_TEST)
    p = binomtest(int(np.sum(signs > 0)), int(signs.size), 0.5).pvalue
    return Test(min(float(p), 1.0), int(signs.size), SIGN_TEST)


def order_test(pairs: Paired) -> Test:
    """The exact sign test on the pairs whose order is known (``known_order``)."""
    return sign_test(known_order(pairs))


def step_test(a: Sequence[float], b: Sequence[float]) -> Test:
    """Wilcoxon signed-rank on the paired log step ratios ``log(b / a)``."""
    return signed_rank(log_step_ratios(a, b))


def wilcoxon_p(a: Sequence[float], b: Sequence[float]) -> float:
    """The p-value of ``step_test``."""
    return step_test(a, b).p


def smallest_p(n: int) -> float:
    """The smallest two-sided p-value ``n`` pairs can give, for the exact sign test and the
    exact Wilcoxon test alike: ``2 / 2**n`` (all pairs of one sign; capped at 1; 1 for no
    pairs)."""
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

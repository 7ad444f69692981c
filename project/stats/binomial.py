"""P(variant faster) with an exact (Clopper-Pearson) interval (docs/protocol.md, "Small-sample
honesty").

A bootstrap interval for a proportion collapses to a point when every pair agrees (5 of 5
gives [1, 1]); the exact binomial interval does not (5 of 5 gives [0.478, 1]).

Ties: the point estimate counts a tied pair as half a win (Mann-Whitney style). A binomial
interval needs whole successes, so the interval is the conservative union of the two ways to
resolve the ties: its lower limit is the Clopper-Pearson lower limit with every tie counted as
a loss, its upper limit the Clopper-Pearson upper limit with every tie counted as a win.
Without ties it is the plain Clopper-Pearson interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from project.stats.bootstrap import Paired


@dataclass(frozen=True)
class Proportion:
    """A proportion of ``n`` seed pairs (``wins`` + ``ties`` / 2) with its exact interval."""

    value: float
    low: float
    high: float
    wins: int
    ties: int
    n: int


def exact_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for ``k`` successes in ``n`` trials (``scipy.stats.binomtest``)."""
    if n <= 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def faster_counts(pairs: Paired) -> tuple[int, int, int]:
    """``(wins, ties, n)``: pairs where the variant (``a``) needs strictly fewer steps than the
    control (``b``), pairs that tie, and all pairs. A censored run is slower than any run that
    reached; two censored runs tie."""
    a = np.where(pairs.a_reached, pairs.a, np.inf)
    b = np.where(pairs.b_reached, pairs.b, np.inf)
    return int(np.sum(a < b)), int(np.sum(a == b)), int(a.size)


def prob_faster(pairs: Paired, level: float = 0.95) -> Proportion:
    """P(variant faster), ties half, with the exact interval described in the module docstring."""
    wins, ties, n = faster_counts(pairs)
    low = exact_interval(wins, n, level)[0]
    high = exact_interval(wins + ties, n, level)[1]
    return Proportion((wins + 0.5 * ties) / n, low, high, wins, ties, n)

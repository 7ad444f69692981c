"""Restricted mean steps to target: the area under the Kaplan-Meier "not yet reached" curve
from 0 to the budget (docs/protocol.md, "Effect").

Unlike a median, it is finite under any amount of censoring: a run that never reaches the
target contributes its whole budget, so the ratio of two restricted means is always a finite,
positive number (when neither is 0: a target met at step 0 by every run). The paired effect of
a variant over the control is ``RMST(control) / RMST(variant)`` (> 1: the variant reaches the
target sooner), with a percentile bootstrap over seed pairs (``project.stats.bootstrap``).
Functions accept a batch of resamples on the last axis.
"""

from __future__ import annotations

import numpy as np

from project.stats.bootstrap import (N_RESAMPLES, SEED, Estimate, Paired, percentile_ci,
                                     resample_indices)
from project.stats.censoring import km_survival


def restricted_mean(times: np.ndarray, reached: np.ndarray, tau: float) -> np.ndarray | float:
    """Area under the Kaplan-Meier survival curve of time to target on ``[0, tau]``.

    Times beyond ``tau`` are cut to ``tau`` (they change the curve only after it). The curve
    is 1 before the first time, and after the ``k``-th sorted time it is ``km_survival``'s
    ``S_k``, so the area is ``t_1 + sum_k (t_{k+1} - t_k) S_k + (tau - t_n) S_n``.
    """
    t = np.minimum(np.asarray(times, dtype=float), float(tau))
    t, _, surv = km_survival(t, reached)
    zero = np.zeros(t.shape[:-1] + (1,))
    edges = np.concatenate([zero, t, zero + float(tau)], axis=-1)
    heights = np.concatenate([zero + 1.0, surv], axis=-1)
    area = np.sum(np.diff(edges, axis=-1) * heights, axis=-1)
    return area if area.ndim else float(area)


def effect_stat(pairs: Paired, tau: float) -> np.ndarray:
    """``RMST(control) / RMST(variant)``; NaN where the variant's is 0 (target met at step 0)."""
    num = np.asarray(restricted_mean(pairs.b, pairs.b_reached, tau), dtype=float)
    den = np.asarray(restricted_mean(pairs.a, pairs.a_reached, tau), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def rmst_effect(pairs: Paired, tau: float, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                level: float = 0.95) -> Estimate:
    """The restricted-mean ratio and its paired percentile-bootstrap interval (seed pairs
    resampled with replacement, the same indices as every other paired bootstrap)."""
    value = float(effect_stat(pairs, tau))
    samples = effect_stat(pairs.take(resample_indices(pairs.a.size, n_resamples, seed)), tau)
    return Estimate(value, *percentile_ci(samples, level))

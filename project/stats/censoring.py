"""Censored steps/time-to-target over seeds: Kaplan-Meier quantiles and ERT (docs/protocol.md).

A run that never meets the target is right-censored at its budget (``reached = False``): it
tells us only that its time to target exceeds the budget. Functions accept a batch of
samples on the last axis (shape ``(..., n)``), so a bootstrap can evaluate 10,000 resamples
in one call. The Kaplan-Meier estimate itself is ``scipy.stats.ecdf`` on ``CensoredData``;
``tests/stats/test_statistics.py`` checks this vectorised version against it.
"""

from __future__ import annotations

import numpy as np

_TOL = 1e-9


def km_survival(times: np.ndarray, reached: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """Kaplan-Meier survival after each sorted sample: ``(sorted times, sorted reached, S)``.

    Ties: events come before censorings at the same time (the usual convention); within a
    group of tied events the running product passes through intermediate values but ends at
    the Kaplan-Meier value of that time.
    """
    t = np.asarray(times, dtype=float)
    e = np.asarray(reached, dtype=bool)
    order = np.lexsort((~e, t), axis=-1)
    t = np.take_along_axis(t, order, axis=-1)
    e = np.take_along_axis(e, order, axis=-1)
    n = t.shape[-1]
    at_risk = n - np.arange(n)
    surv = np.cumprod(1.0 - e / at_risk, axis=-1)
    return t, e, surv


def km_quantile(times: np.ndarray, reached: np.ndarray, q: float = 0.5) -> np.ndarray:
    """Kaplan-Meier ``q``-quantile of time to target: the first time with ``S(t) <= 1 - q``.

    When ``S`` equals ``1 - q`` exactly on an interval, the midpoint to the next event is used
    (as R's ``survival`` does), so without censoring the median equals the ordinary median.
    ``inf`` when the curve never drops that far (too many censored runs).
    """
    t, e, surv = km_survival(times, reached)
    level = 1.0 - q
    hit = surv <= level + _TOL
    any_hit = hit.any(axis=-1)
    k = np.argmax(hit, axis=-1)[..., None]
    t_k = np.take_along_axis(t, k, axis=-1)[..., 0]
    exact = np.abs(np.take_along_axis(surv, k, axis=-1)[..., 0] - level) <= _TOL
    # time of the first event strictly after position k (inf if none)
    ev_times = np.where(e, t, np.inf)
    nxt = np.minimum.accumulate(ev_times[..., ::-1], axis=-1)[..., ::-1]
    nxt = np.concatenate([nxt[..., 1:], np.full(nxt.shape[:-1] + (1,), np.inf)], axis=-1)
    t_next = np.take_along_axis(nxt, k, axis=-1)[..., 0]
    value = np.where(exact & np.isfinite(t_next), (t_k + t_next) / 2, t_k)
    out = np.where(any_hit, value, np.inf)
    return out if out.ndim else float(out)


def km_median(times: np.ndarray, reached: np.ndarray) -> np.ndarray | float:
    """Kaplan-Meier median time to target (``inf`` if half or more of the runs are censored)."""
    return km_quantile(times, reached, 0.5)


def ert(steps: np.ndarray, reached: np.ndarray) -> float:
    """Expected running time (COCO): all steps spent, reached or not, over the number reached."""
    steps = np.asarray(steps, dtype=float)
    hits = int(np.asarray(reached, dtype=bool).sum())
    return float(steps.sum() / hits) if hits else float("inf")


def success_rate(reached: np.ndarray) -> float:
    """Fraction of runs that met the target."""
    reached = np.asarray(reached, dtype=bool)
    return float(reached.mean()) if reached.size else float("nan")

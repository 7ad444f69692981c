"""Across tasks: the mean P(variant faster) and the interquartile mean of the per-task effects
(restricted-mean ratios), each with two intervals that say what they resample
(docs/protocol.md, "Across tasks"; rliable, Agarwal et al. 2021).

* ``seeds``: seed pairs resampled within every task (the tasks held fixed): how much the
  aggregate moves with the seeds run;
* ``tasks``: tasks resampled with replacement (each at its point estimate): how much it
  depends on which tasks were chosen.

The IQM of effects is taken on the log scale and exponentiated, so swapping variant and
control gives the reciprocal. With fewer than 4 tasks nothing is trimmed (scipy's rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import trim_mean

from project.stats.bootstrap import N_RESAMPLES, SEED, Paired, faster_stat, percentile_ci
from project.stats.restricted_mean import effect_stat


@dataclass(frozen=True)
class Aggregate:
    """An across-task figure with its interval over seeds and its interval over tasks."""

    value: float
    seeds_low: float
    seeds_high: float
    tasks_low: float
    tasks_high: float


def iqm_log(effects: np.ndarray) -> np.ndarray:
    """``exp`` of the IQM of ``log(effects)`` over the last axis."""
    return np.exp(trim_mean(np.log(np.asarray(effects, float)), 0.25, axis=-1))


def mean_last(x: np.ndarray) -> np.ndarray:
    return np.mean(np.asarray(x, float), axis=-1)


def aggregate(per_task: np.ndarray, per_task_resampled: np.ndarray, reduce, rng,
              n_resamples: int, level: float) -> Aggregate:
    """``reduce`` of the per-task values, over seeds (``per_task_resampled``:
    ``(n_resamples, tasks)``) and over tasks (tasks drawn with replacement)."""
    k = per_task.size
    tasks = per_task[rng.integers(0, k, size=(n_resamples, k))]
    return Aggregate(float(reduce(per_task)), *percentile_ci(reduce(per_task_resampled), level),
                     *percentile_ci(reduce(tasks), level))


def across_tasks(settings: Sequence[tuple[Paired, float]], n_resamples: int = N_RESAMPLES,
                 seed: int = SEED, level: float = 0.95) -> dict[str, Aggregate]:
    """``{"p_faster": mean P(faster), "iqm_effect": IQM of restricted-mean ratios}`` over
    ``settings`` (each its pairs and its budget ``tau``)."""
    nan = Aggregate(*[float("nan")] * 5)
    if not settings:
        return {"p_faster": nan, "iqm_effect": nan}
    rng = np.random.default_rng(seed)
    faster, effect, faster_res, effect_res = [], [], [], []
    for pairs, tau in settings:
        res = pairs.take(rng.integers(0, pairs.a.size, size=(n_resamples, pairs.a.size)))
        faster.append(float(faster_stat(pairs)))
        effect.append(float(effect_stat(pairs, tau)))
        faster_res.append(faster_stat(res))
        effect_res.append(effect_stat(res, tau))
    faster_res, effect_res = np.stack(faster_res, -1), np.stack(effect_res, -1)
    return {"p_faster": aggregate(np.array(faster), faster_res, mean_last, rng, n_resamples,
                                  level),
            "iqm_effect": aggregate(np.array(effect), effect_res, iqm_log, rng, n_resamples,
                                    level)}

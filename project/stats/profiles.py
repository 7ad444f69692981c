"""Performance profiles (Dolan & More 2002; AlgoPerf's scoring) over tasks.

For each model, ``rho(tau)`` is the fraction of tasks on which its time to target is within
``tau`` times the fastest model's on that task, for ``tau`` in [1, 4]. A model that never
reaches the target on a task (time ``inf``) is never within any ``tau``. The score is the
area under ``rho`` over [1, 4] divided by 3 (1 = fastest on every task).
"""

from __future__ import annotations

import numpy as np

TAU_MAX = 4.0


def performance_ratios(times: np.ndarray) -> np.ndarray:
    """``(models, tasks)`` times -> ratios to the fastest model per task (``inf`` if unreached
    or if no model reached that task)."""
    times = np.asarray(times, dtype=float)
    best = np.min(times, axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = times / best
    return np.where(np.isfinite(ratios), ratios, np.inf)


def rho(times: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """``(models, len(taus))``: fraction of tasks where each model is within ``tau``."""
    r = performance_ratios(times)
    return (r[:, :, None] <= np.asarray(taus, float)[None, None, :]).mean(axis=1)


def profile_score(times: np.ndarray, tau_max: float = TAU_MAX) -> np.ndarray:
    """Area under ``rho`` on [1, tau_max] / (tau_max - 1), computed exactly per model.

    The step function ``1[r <= tau]`` has area ``max(0, tau_max - r)`` on [1, tau_max].
    """
    r = performance_ratios(times)
    area = np.clip(tau_max - r, 0.0, tau_max - 1.0)
    return area.mean(axis=1) / (tau_max - 1.0)

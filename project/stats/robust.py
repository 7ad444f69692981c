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

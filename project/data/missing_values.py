"""NaN handling for time series: refuse by default, or fill by an explicit policy."""

from __future__ import annotations

import numpy as np
import pandas as pd

FILL_POLICIES = ("ffill", "interpolate", "zero")


def fill_missing(values: np.ndarray, policy: str | None, where: str, axis: int = 0) -> np.ndarray:
    """Return ``values`` with NaNs filled along ``axis`` (time), or raise if there are NaNs and
    no ``policy``. ``ffill`` carries the last value forward (leading gaps take the first
    value), ``interpolate`` is linear in time, ``zero`` writes 0."""
    nan = np.isnan(values)
    if not nan.any():
        return values
    if policy is None:
        pos = np.argwhere(nan)[0]
        raise ValueError(f"{where}: missing value (NaN) at row {pos[0] + 1}, position {pos[1]}; "
                         f"set data.fill to one of {list(FILL_POLICIES)}")
    if policy not in FILL_POLICIES:
        raise ValueError(f"{where}: data.fill={policy!r}: expected one of {list(FILL_POLICIES)}")
    if policy == "zero":
        return np.nan_to_num(values, nan=0.0)
    df = pd.DataFrame(values if axis == 0 else values.T)
    df = df.ffill().bfill() if policy == "ffill" else df.interpolate(limit_direction="both")
    out = df.to_numpy(dtype=np.float32)
    if np.isnan(out).any():
        raise ValueError(f"{where}: a series is entirely missing; cannot fill it")
    return out if axis == 0 else out.T

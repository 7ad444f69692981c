"""Per-run convergence figures from one validation curve (docs/protocol.md, "Per run")."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def meets(value: float, target: float, direction: str) -> bool:
    """Whether ``value`` reaches ``target`` (``>=`` for max, ``<=`` for min); NaN never does.

    Compared at float32, the precision metrics are computed in: 18 of 20 correct logs as
    0.89999998, which must meet a target of 0.9.
    """
    if value is None or math.isnan(value):
        return False
    value, target = np.float32(value), np.float32(target)
    return bool(value >= target if direction == "max" else value <= target)


def steps_to_target(steps: Sequence[int], values: Sequence[float], target: float,
                    direction: str, budget: int) -> tuple[int, bool]:
    """First grid step whose value meets the target, and True; else (budget, False): censored."""
    for step, value in zip(steps, values):
        if meets(value, target, direction):
            return int(step), True
    return int(budget), False


def run_steps_to_target(steps: Sequence[int], values: Sequence[float], target: float,
                        direction: str, budget: int, diverged: bool,
                        ended: int | None = None) -> tuple[int, bool]:
    """``steps_to_target`` of a whole run, censored at ``ended`` (where its curve ends; default
    the budget). A diverged run never reaches the target: censored at the budget (docs/protocol.md)."""
    if diverged:
        return int(budget), False
    return steps_to_target(steps, values, target, direction, budget if ended is None else ended)


def progress_auc(steps: Sequence[int], values: Sequence[float], target: float,
                 budget: int) -> float:
    """Trapezoid mean over [0, budget] of progress ``clip((v - v0) / (target - v0), 0, 1)``.

    ``v0`` is the first value (step 0). A curve that stops before the budget (stopped at its
    target, or diverged) is carried at its last progress to the budget. NaN counts as 0.
    """
    if len(steps) == 0 or budget <= 0:
        return 0.0
    v0 = values[0]
    span = target - v0
    prog = []
    for v in values:
        if v is None or math.isnan(v) or span == 0:
            p = 1.0 if (span == 0 and not math.isnan(v)) else 0.0
        else:
            p = min(1.0, max(0.0, (v - v0) / span))
        prog.append(p)
    xs, ys = list(map(float, steps)), prog
    if xs[-1] < budget:
        xs, ys = xs + [float(budget)], ys + [ys[-1]]
    area = sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1))
    return area / (xs[-1] - xs[0]) if xs[-1] > xs[0] else ys[0]


def best_value(values: Sequence[float], direction: str) -> float | None:
    """Best finite value of a curve (max or min by direction); None if there is none."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return None
    return max(finite) if direction == "max" else min(finite)


def curve_mean(steps: Sequence[int], values: Sequence[float], direction: str,
               budget: int) -> float:
    """The area under a validation curve over [0, budget] divided by the budget (trapezoids on
    the evaluation grid): the run's mean validation value over training. It needs no target.
    A curve that stops early is carried at its last value; a non-finite value anywhere (a
    diverged run) makes it the worst possible (-inf for ``direction: max``, +inf for min)."""
    worst = -math.inf if direction == "max" else math.inf
    if len(steps) == 0 or any(v is None or not math.isfinite(v) for v in values):
        return worst
    xs, ys = [float(s) for s in steps], [float(v) for v in values]
    if xs[-1] < budget:
        xs, ys = xs + [float(budget)], ys + [ys[-1]]
    if xs[-1] <= xs[0]:
        return ys[0]
    area = sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1))
    return area / (xs[-1] - xs[0])

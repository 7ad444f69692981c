"""A task's target, by a rule written before any run: a number, or ``trivial``.

``trivial`` (the default of the custom tasks) is derived from the validation split alone, so
that no model can meet it by doing nothing:

* classification (``val/acc``): halfway from always predicting the validation split's most
  common class to a perfect score, ``m + (1 - m) / 2``;
* forecasting (``val/mse``): 10% below the naive last-value forecast's validation MSE
  (the untrained forecaster starts at about that forecast, since it predicts a residual).

Every run of a setting gets the same value (it depends on the data, not on the model or seed).
"""

from __future__ import annotations

import torch

from project.training.config_check import RULES


def resolve_target(target, val_metric: str, datamodule) -> tuple[float, str]:
    """``(value, rule)`` for a task's ``target`` config value (a number or a rule name)."""
    if isinstance(target, (int, float)) and not isinstance(target, bool):
        return float(target), "config value"
    if target != "trivial":
        raise ValueError(f"task.target={target!r}: expected a number or one of {list(RULES)}")
    metric = val_metric.split("/", 1)[-1]
    if metric == "acc" and datamodule.spec.task_type == "classification":
        labels = datamodule.splits["val"]["y"]
        majority = float(torch.bincount(labels).max()) / len(labels)
        return majority + (1 - majority) / 2, f"trivial: halfway from majority class {majority:.4g}"
    naive = datamodule.spec.extra.get("naive_mse_val")
    if metric == "mse" and naive is not None:
        return 0.9 * naive, f"trivial: 10% below the naive forecast's val MSE {naive:.4g}"
    raise ValueError(f"task.target=trivial is defined for val/acc (classification) and val/mse "
                     f"(forecasting), not {val_metric}: set a number")

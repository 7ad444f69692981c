"""Task metrics by name, as torchmetrics collections (one per stage)."""

from __future__ import annotations

import torch
from torchmetrics import MeanAbsoluteError, MeanSquaredError, Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score


class ToleranceAccuracy(Metric):
    """Fraction of examples whose every output is within ``tol`` of the target (|error| < tol)."""

    full_state_update = False

    def __init__(self, tol: float = 0.04):
        super().__init__()
        self.tol = tol
        self.add_state("hits", default=torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", default=torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        err = (preds - target).abs().reshape(len(target), -1)
        self.hits = self.hits + (err < self.tol).all(dim=1).sum()
        self.total = self.total + len(target)

    def compute(self) -> torch.Tensor:
        return self.hits / self.total.clamp_min(1)


def build_metrics(names: list[str], task_type: str, num_outputs: int) -> MetricCollection:
    """``acc``/``f1`` for classification (macro F1), ``mse``/``mae``/``acc`` for regression
    (regression ``acc`` = fraction within 0.04, the adding problem's criterion)."""
    made = {}
    for name in names:
        if task_type == "classification" and name == "acc":
            made[name] = MulticlassAccuracy(num_classes=num_outputs, average="micro")
        elif task_type == "classification" and name == "f1":
            made[name] = MulticlassF1Score(num_classes=num_outputs, average="macro")
        elif task_type == "regression" and name == "mse":
            made[name] = MeanSquaredError()
        elif task_type == "regression" and name == "mae":
            made[name] = MeanAbsoluteError()
        elif task_type == "regression" and name == "acc":
            made[name] = ToleranceAccuracy()
        else:
            raise ValueError(f"metric {name!r} is not defined for {task_type} tasks")
    return MetricCollection(made)

"""The training loss and the prediction the metrics read, one definition for both executors."""

from __future__ import annotations

import torch
from torch import nn


def loss_function(task_type: str) -> nn.Module:
    """Cross-entropy for classification, mean squared error otherwise."""
    return nn.CrossEntropyLoss() if task_type == "classification" else nn.MSELoss()


def task_loss(loss_fn: nn.Module, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``loss_fn`` of the network's output against the targets (regression targets take the
    output's shape)."""
    return loss_fn(out, y if y.dtype == torch.long else y.reshape(out.shape))


def prediction(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The output as the metrics compare it with ``y`` (regression: ``y``'s shape)."""
    return out if y.dtype == torch.long else out.reshape(y.shape)

"""The one network: features -> ``h_i = f(W x_i + b)`` per position -> pooling -> head.

The attention model and every baseline are this class with a different pooling layer. The
pooling parameters are created *last*, after every shared layer, so that under one seed the
attention model and the baseline start from identical shared weights (paired runs).
"""

from __future__ import annotations

import torch
from torch import nn

from project.models.pooling import build_pooling

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


class PoolingNetwork(nn.Module):
    """Feed-forward pooling network (Raffel & Ellis 2016) with an exchangeable pooling layer."""

    def __init__(
        self,
        features: nn.Module,
        hidden: int,
        out_dim: int,
        pooling: str = "attention",
        heads: int = 1,
        score: str = "dot",
        seed_literal: bool = False,
        activation: str = "relu",
        head_hidden: int = 0,
        dropout: float = 0.0,
        positional: bool = False,
        max_len: int = 0,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}: expected one of {sorted(ACTIVATIONS)}")
        if positional and max_len < 1:
            raise ValueError("positional embeddings need max_len >= 1")
        # Shared layers first (same init under one seed for every pooling) ...
        self.features = features
        self.hidden = nn.Linear(features.out_dim, hidden)  # W, b of h_i = f(W x_i + b)
        self.position = nn.Embedding(max_len, hidden) if positional else None
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        head = [nn.Linear(hidden, head_hidden), ACTIVATIONS[activation](), nn.Dropout(dropout)]
        self.head = nn.Sequential(*(head if head_hidden else []),
                                  nn.Linear(head_hidden or hidden, out_dim))
        # ... pooling last.
        self.pooling = build_pooling(pooling, hidden, heads=heads, score=score,
                                     seed_literal=seed_literal)

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """Per-position hidden states ``h`` (B, T, hidden) and the validity mask (B, T)."""
        feats, mask = self.features(x, mask)
        pre = self.hidden(feats)
        if self.position is not None:
            pre = pre + self.position.weight[: pre.shape[1]]
        return self.dropout(self.activation(pre)), mask

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, mask = self.encode(x, mask)
        return self.head(self.pooling(h, mask))

"""Pooling over positions: the one place where the attention model and its baselines differ.

Every pooling takes ``h`` of shape (B, T, D) and a boolean ``mask`` (B, T), True at valid
positions, and returns (B, D). Padded positions get zero weight in every pooling.
"""

from __future__ import annotations

import torch
from torch import nn


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1 restricted to valid positions (padded positions get exactly 0)."""
    scores = scores.masked_fill(~mask.unsqueeze(-1) if scores.dim() == 3 else ~mask, float("-inf"))
    return torch.softmax(scores, dim=1).nan_to_num(0.0)


class AttentionPooling(nn.Module):
    """Feed-forward attention (Raffel & Ellis 2016): ``a = softmax(score(h))``, ``o = sum a_i h_i``.

    score ``dot``: ``q . h_i`` (a bias-free linear layer D -> 1, the seed's formula);
    score ``tanh``: ``tanh(w . h_i + b)`` (Raffel & Ellis 2016).
    ``heads`` > 1 splits ``h`` into equal subspaces, one query each, and concatenates.
    ``seed_literal`` computes the scores from ``h.detach()``: backprop then follows the seed's
    formulas exactly (the scores are treated as not depending on the encoder's weights).
    """

    def __init__(self, dim: int, heads: int = 1, score: str = "dot", seed_literal: bool = False):
        super().__init__()
        if heads < 1 or dim % heads != 0:
            raise ValueError(f"model.heads={heads} must be >= 1 and divide the hidden size {dim}")
        if score not in ("dot", "tanh"):
            raise ValueError(f"model.score={score!r}: expected 'dot' or 'tanh'")
        self.heads, self.score_kind, self.seed_literal = heads, score, seed_literal
        self.head_dim = dim // heads
        # One query per head: a grouped bias-free projection head_dim -> 1 per subspace.
        self.query = nn.Parameter(torch.empty(heads, self.head_dim))
        nn.init.normal_(self.query, std=self.head_dim**-0.5)
        self.bias = nn.Parameter(torch.zeros(heads)) if score == "tanh" else None
        self.last_weights: torch.Tensor | None = None

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores, shape (B, T, heads)."""
        if self.heads == 1:
            s = (h @ self.query[0]).unsqueeze(-1)
        else:
            s = torch.einsum("bthd,hd->bth", h.view(*h.shape[:2], self.heads, self.head_dim),
                             self.query)
        if self.score_kind == "tanh":
            s = torch.tanh(s + self.bias)
        return s

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = masked_softmax(self.scores(h.detach() if self.seed_literal else h), mask)  # (B,T,H)
        self.last_weights = a.detach()
        if self.heads == 1:  # one batched matmul, no copy of h
            return torch.bmm(a.transpose(1, 2), h).squeeze(1)
        hs = h.view(*h.shape[:2], self.heads, self.head_dim)
        return torch.einsum("bth,bthd->bhd", a, hs).reshape(h.shape[0], -1)


class MeanPooling(nn.Module):
    """The plain baseline: uniform weights over valid positions (divides by the true length)."""

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(h.dtype)
        weights = m / m.sum(1, keepdim=True).clamp_min(1.0)  # 1/length at valid positions
        return torch.bmm(weights.unsqueeze(1), h).squeeze(1)


class MaxPooling(nn.Module):
    """An extra baseline: elementwise max over valid positions."""

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


def build_pooling(kind: str, dim: int, heads: int = 1, score: str = "dot",
                  seed_literal: bool = False) -> nn.Module:
    """Pooling layer by name: ``attention``, ``mean`` or ``max``."""
    if kind == "attention":
        return AttentionPooling(dim, heads=heads, score=score, seed_literal=seed_literal)
    if kind == "mean":
        return MeanPooling()
    if kind == "max":
        return MaxPooling()
    raise ValueError(f"model.pooling={kind!r}: expected one of attention, mean, max")

"""Per-position input features ``x_i`` for each input kind, before the shared ``f(W x_i + b)``.

A feature module maps a batch's raw input (and optional mask) to ``(x, mask)`` with ``x`` of
shape (B, T, F) and ``mask`` (B, T) boolean. Image feature modules live in ``image_features``.
"""

from __future__ import annotations

import torch
from torch import nn


def full_mask(x: torch.Tensor) -> torch.Tensor:
    """All-valid mask (B, T) for a batch with no padding."""
    return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)


class VectorFeatures(nn.Module):
    """Continuous inputs already shaped (B, T, F): the adding problem, time series."""

    def __init__(self, input_dim: int):
        super().__init__()
        self.out_dim = input_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        return x, full_mask(x) if mask is None else mask


class TokenFeatures(nn.Module):
    """Token ids (B, T) -> learned word embeddings (B, T, E); PAD (id 0) is masked out."""

    def __init__(self, vocab_size: int, embed_dim: int = 64, pad_id: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.pad_id, self.out_dim = pad_id, embed_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        return self.embedding(x), (x != self.pad_id) if mask is None else mask

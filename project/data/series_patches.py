"""Group consecutive time steps into patches, so each pooled position is a short segment."""

from __future__ import annotations

import torch


def to_patches(x: torch.Tensor, patch_len: int, where: str) -> torch.Tensor:
    """(N, T, C) -> (N, T / patch_len, patch_len * C); T must be a multiple of patch_len."""
    n, t, c = x.shape
    if patch_len < 1 or t % patch_len:
        raise ValueError(f"{where}: patch_len={patch_len} must be >= 1 and divide the series "
                         f"length {t}")
    return x.reshape(n, t // patch_len, patch_len * c)

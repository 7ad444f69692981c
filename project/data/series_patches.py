"""Group consecutive time steps into patches, so each pooled position is a short segment."""

from __future__ import annotations

import torch


def to_patches(x: torch.Tensor, patch_len: int, where: str, stride: int | None = None
               ) -> torch.Tensor:
    """(N, T, C) -> (N, T', patch_len * C), T' = (T - patch_len) / stride + 1, values in
    time-major order; ``stride`` defaults to ``patch_len`` (non-overlapping patches) and must
    tile the series exactly."""
    stride = stride or patch_len
    n, t, c = x.shape
    if patch_len < 1 or stride < 1 or patch_len > t or (t - patch_len) % stride:
        raise ValueError(f"{where}: patch_len={patch_len}, patch_stride={stride} must tile the "
                         f"series length {t} exactly ((T - patch_len) % stride == 0)")
    windows = x.unfold(1, patch_len, stride)  # (N, T', C, patch_len)
    return windows.transpose(2, 3).reshape(n, windows.shape[1], patch_len * c)


def patch_mask(mask: torch.Tensor, patch_len: int, stride: int | None = None) -> torch.Tensor:
    """(N, T) step mask -> (N, T') patch mask: a patch is valid if any of its steps is."""
    return mask.unfold(1, patch_len, stride or patch_len).any(-1)

"""Image feature modules: an image becomes a sequence of positions for the pooling layer.

``PatchFeatures`` cuts non-overlapping ``p x p`` patches (one position per patch, its raw
pixels as features); ``ConvFeatures`` runs a small CNN and uses each spatial cell of its last
feature map as a position (pooled by attention or by global average pooling, as the seed's
image use case). Both expose ``num_positions`` for positional embeddings.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from project.models.features import full_mask


class PatchFeatures(nn.Module):
    """(B, C, H, W) -> (B, (H/p)(W/p), C p p): flattened non-overlapping patches, row-major."""

    def __init__(self, image_shape: tuple[int, int, int], patch_size: int = 4):
        super().__init__()
        c, h, w = image_shape
        if patch_size < 1 or h % patch_size or w % patch_size:
            raise ValueError(f"patch_size={patch_size} must divide the image size {h}x{w}")
        self.patch_size = patch_size
        self.out_dim = c * patch_size * patch_size
        self.num_positions = (h // patch_size) * (w // patch_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        p = self.patch_size
        feats = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)  # (B, T, C p p)
        return feats, full_mask(feats)


class ConvFeatures(nn.Module):
    """A small CNN: blocks of 3x3 conv + ReLU (+ 2x2 max-pool when ``pool``); the last map's
    cells (B, H' W', channels[-1]) are the positions."""

    def __init__(self, image_shape: tuple[int, int, int], channels: tuple[int, ...] = (32, 64),
                 pool: tuple[bool, ...] | None = None):
        super().__init__()
        c, h, w = image_shape
        pool = tuple(pool) if pool is not None else (True,) * len(channels)
        if len(pool) != len(channels):
            raise ValueError("cnn: pool needs one flag per conv block")
        layers: list[nn.Module] = []
        for out, down in zip(channels, pool):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU()]
            if down:
                if h < 2 or w < 2:
                    raise ValueError(f"cnn: too many pooling blocks for image {image_shape}")
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out
        self.body = nn.Sequential(*layers)
        self.out_dim, self.num_positions = c, h * w

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None):
        feats = self.body(x).flatten(2).transpose(1, 2)  # (B, H' W', C')
        return feats, full_mask(feats)

"""Train-time SpecAugment-style masking (Park et al. 2019) of log-mel batches: one band of
mel channels and one run of positions per example set to 0 (the train mean after z-scoring).
Batch k stays a pure function of (seed, k): the masks are drawn from a generator seeded by
both."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from project.data.base import derived_seed


class MaskedBatches(Dataset):
    """``batches[step]`` with, per example, up to ``freq_mask`` consecutive mel channels
    (``x`` holds ``n_mels``-wide frames stacked along the last axis) and up to ``time_mask``
    consecutive positions zeroed. Widths and offsets are uniform draws."""

    def __init__(self, batches: Dataset, n_mels: int, freq_mask: int, time_mask: int,
                 seed: int):
        if freq_mask < 0 or time_mask < 0 or freq_mask > n_mels:
            raise ValueError(f"augment: need 0 <= freq_mask <= n_mels ({n_mels}) and "
                             f"time_mask >= 0, got {freq_mask}, {time_mask}")
        self.batches, self.n_mels, self.seed = batches, n_mels, seed
        self.freq_mask, self.time_mask = freq_mask, time_mask

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        batch = self.batches[step]
        g = torch.Generator().manual_seed(derived_seed(self.seed, int(step), 1))
        x = batch["x"].clone()
        b, t, width = x.shape
        frames = x.view(b, t, width // self.n_mels, self.n_mels)
        f = torch.arange(self.n_mels)
        fw = torch.randint(0, self.freq_mask + 1, (b, 1), generator=g)
        f0 = (torch.rand(b, 1, generator=g) * (self.n_mels - fw + 1)).long()
        frames.masked_fill_(((f >= f0) & (f < f0 + fw))[:, None, None, :], 0.0)
        lengths = batch["mask"].sum(1, keepdim=True)
        tw = torch.minimum(torch.randint(0, self.time_mask + 1, (b, 1), generator=g), lengths)
        t0 = (torch.rand(b, 1, generator=g) * (lengths - tw + 1)).long()
        pos = torch.arange(t)
        x.masked_fill_(((pos >= t0) & (pos < t0 + tw))[:, :, None], 0.0)
        return {**batch, "x": x}

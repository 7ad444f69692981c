"""Shared base for every DataModule: in-memory tensors, batches served by index slicing.

A subclass implements ``load()`` returning ``{"train"|"val"|"test": {"x": ..., "y": ...,
optional "mask": ...}}`` and sets ``spec``. ``setup`` calls it once; batches are slices of
those tensors chosen by a seeded, epoch-aware sampler, so there is no per-example Python on
the training path and the data order is a pure function of (seed, epoch, position).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler


def derived_seed(*keys: int) -> int:
    """A well-mixed 32-bit seed from integer keys (torch's CPU generator keeps only 32 bits,
    so ``seed << 32 | step`` style packing would collide)."""
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0])


@dataclass
class DataSpec:
    """What the network needs to know about a task's data (known after ``setup``)."""

    task_type: str  # "classification" or "regression"
    num_outputs: int  # classes, or regression outputs
    input_kind: str  # "vector", "tokens" or "image"
    input_dim: int = 0  # features per position ("vector"), channels ("image")
    max_len: int = 0  # longest sequence (positions), for positional embeddings
    vocab_size: int = 0  # "tokens" only
    image_shape: tuple[int, ...] = ()  # (C, H, W), "image" only
    extra: dict = field(default_factory=dict)  # task-specific reference figures


class SlicedTensors(Dataset):
    """A dict of equally long tensors, indexed by a whole tensor of indices at once."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors
        self.n = len(next(iter(tensors.values())))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[idx] for k, v in self.tensors.items()}


class EpochBatchSampler(Sampler):
    """Yields index tensors, one per batch; the order is a pure function of (seed, epoch).

    ``set_epoch`` picks the epoch's permutation; ``start_batch`` skips batches already
    trained (used when resuming mid-epoch).
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool, drop_last: bool):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.shuffle, self.drop_last = shuffle, drop_last
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def __iter__(self):
        if self.shuffle:
            g = torch.Generator().manual_seed(derived_seed(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.arange(self.n)
        start, self.start_batch = self.start_batch, 0
        for b in range(start, len(self)):
            yield order[b * self.batch_size : (b + 1) * self.batch_size]


class TensorDataModule(L.LightningDataModule):
    """Base DataModule: load once into tensors, serve batches by slicing."""

    spec: DataSpec

    def __init__(self, batch_size: int = 64, eval_batch_size: int = 1024, seed: int = 0):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.splits: dict[str, dict[str, torch.Tensor]] | None = None

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = self.load()

    def _loader(self, split: str, train: bool) -> DataLoader:
        self.setup()
        data = SlicedTensors(self.splits[split])
        bs = self.batch_size if train else self.eval_batch_size
        sampler = EpochBatchSampler(len(data), bs, self.seed, shuffle=train,
                                    drop_last=train and len(data) > bs)
        return DataLoader(data, sampler=sampler, batch_size=None)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)

"""Shared base for every DataModule: in-memory tensors, batches served by index slicing.

A subclass implements ``load()`` returning ``{"train"|"val"|"test": {"x": ..., "y": ...,
optional "mask": ...}}`` and sets ``spec``. ``setup`` calls it once; batches are slices of
those tensors chosen by a seeded, epoch-aware sampler, so there is no per-example Python on
the training path and training batch k is a pure function of (seed, k): resumable anywhere.
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
    input_dim: int = 0  # features per position ("vector"), channels ("image")
    max_len: int = 0  # longest sequence (positions), for positional embeddings
    vocab_size: int = 0  # "tokens" only
    image_shape: tuple[int, ...] = ()  # (C, H, W), "image" only
    extra: dict = field(default_factory=dict)  # task-specific reference figures


TRAIN_SAMPLE_SEED = 0  # which training examples ``train_sample_dataloader`` evaluates


class SlicedTensors(Dataset):
    """A dict of equally long tensors, indexed by a whole tensor of indices at once."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors
        self.n = len(next(iter(tensors.values())))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v[idx] for k, v in self.tensors.items()}


class ShuffledBatches(Dataset):
    """Training batch number ``step`` of a seeded, epoch-wise shuffled pass over tensors.

    Data epoch ``e = step // batches_per_epoch`` uses the permutation seeded by (seed, e); the
    batch is a slice of it. Every batch is a pure function of (seed, step), so a run resumed at
    any step sees exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], batch_size: int, seed: int):
        self.data, self.seed = SlicedTensors(tensors), seed
        self.batch_size = min(batch_size, len(self.data))
        self.batches_per_epoch = len(self.data) // self.batch_size  # drop the ragged last batch
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def indices(self, step: int) -> torch.Tensor:
        """The positions in the split of batch ``step``'s examples."""
        epoch, b = divmod(int(step), self.batches_per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(derived_seed(self.seed, epoch))
            self._epoch, self._order = epoch, torch.randperm(len(self.data), generator=g)
        return self._order[b * self.batch_size : (b + 1) * self.batch_size]

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        return self.data[self.indices(step)]


class StepGroups(Dataset):
    """The batches of consecutive training steps, served together: ``groups[steps]`` is
    ``[batches[k] for k in steps]``, one list per Lightning training batch."""

    def __init__(self, batches: Dataset):
        self.batches = batches

    def __getitem__(self, steps: range) -> list[dict[str, torch.Tensor]]:
        return [self.batches[k] for k in steps]


class StepSampler(Sampler):
    """Yields groups of ``per_batch`` consecutive global step numbers, from the trainer's
    current step up to ``stop``: one Lightning batch each.

    Lightning sees one epoch of ``stop / per_batch`` batches whose first ``global_step /
    per_batch`` are done, so the length stays fixed while a resumed iterator starts at the
    restored step. ``per_batch`` divides ``stop`` and every step a run can resume at.
    """

    def __init__(self, trainer, stop: int, per_batch: int = 1):
        self.trainer, self.stop, self.per_batch = trainer, stop, per_batch

    def __len__(self) -> int:
        return self.stop // self.per_batch

    def __iter__(self):
        start = self.trainer.global_step if self.trainer is not None else 0
        k = self.per_batch
        return (range(s, min(s + k, self.stop)) for s in range(start, self.stop, k))


def training_loader(batches: Dataset, trainer, per_batch: int = 1) -> DataLoader:
    """A loader over groups of ``per_batch`` consecutive steps' batches ``batches[step]``,
    from the trainer's (restored) step to its last step.

    Data epochs live in ``batches``; resuming at global step k starts the stream at k, so no
    batch is repeated or skipped. ``loader.dataset.batches`` is ``batches``.
    """
    stop = trainer.max_steps if trainer is not None and trainer.max_steps > 0 else 2**62
    return DataLoader(StepGroups(batches), sampler=StepSampler(trainer, stop, per_batch),
                      batch_size=None)


class TensorDataModule(L.LightningDataModule):
    """Base DataModule: load once into tensors, serve batches by slicing."""

    spec: DataSpec
    updates_per_batch = 1  # training steps per Lightning batch (set by project.training.run)

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

    def transfer_batch_to_device(self, batch: dict | list[dict], device: torch.device,
                                 dataloader_idx: int):
        """Batches are flat dicts of tensors (training: a list of them): move
        them directly (Lightning's generic collection walk costs more than a small model's step
        on CPU). The hook belongs to the DataModule, which knows its batches' shape."""
        if isinstance(batch, list):
            return [self.transfer_batch_to_device(b, device, dataloader_idx) for b in batch]
        if all(v.device == device for v in batch.values()):
            return batch
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    def _eval_loader(self, split: str) -> DataLoader:
        self.setup()
        data = SlicedTensors(self.splits[split])
        batches = torch.arange(len(data)).split(self.eval_batch_size)
        return DataLoader(data, sampler=batches, batch_size=None)

    def train_dataloader(self) -> DataLoader:
        self.setup()
        batches = ShuffledBatches(self.splits["train"], self.batch_size, self.seed)
        return training_loader(batches, self.trainer, self.updates_per_batch)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val")

    def train_sample_dataloader(self) -> DataLoader | None:
        """A fixed random sample of the training split, as large as the test split (or the
        whole split when smaller), in evaluation batches: a model's training metric for the
        train-minus-test gap at the cost of one test pass. None when the data has no fixed
        training split (generated afresh for every batch, as the adding problem)."""
        self.setup()
        if "train" not in self.splits:
            return None
        train = self.splits["train"]
        n = len(next(iter(train.values())))
        size = min(n, len(next(iter(self.splits["test"].values()))))
        sample = torch.randperm(n, generator=torch.Generator().manual_seed(TRAIN_SAMPLE_SEED))
        data = SlicedTensors({k: v[sample[:size].sort().values] for k, v in train.items()})
        return DataLoader(data, sampler=torch.arange(size).split(self.eval_batch_size),
                          batch_size=None)

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test")

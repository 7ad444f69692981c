"""The adding and multiplication problems (Hochreiter & Schmidhuber 1997, sections 5.4-5.5),
as Raffel & Ellis 2016 use them.

Each example has 2 channels over T steps: values (U[-1, 1] for ``add``, U[0, 1] for
``multiply``) and markers (-1 at the first and last valid step, 1 at one step among steps
1..9 and at one step in [10, L/2), 0 elsewhere). The target is ``0.5 + (X1 + X2) / 4``
(add) or ``X1 * X2`` (multiply), X1, X2 the marked values. With ``variable_length`` each
example's length L is drawn from [T, 1.1 T) and the rest is padding (mask False).
Accuracy = fraction of examples with |error| < 0.04.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset

from project.data.base import DataSpec, TensorDataModule, derived_seed, training_loader

PROBLEMS = ("add", "multiply")


def generate_problem(n: int, seq_len: int, problem: str, variable_length: bool,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
    """``n`` examples as tensors ``x`` (n, Tmax, 2), ``mask`` (n, Tmax), ``y`` (n, 1). Vectorised."""
    if problem not in PROBLEMS:
        raise ValueError(f"problem={problem!r}: expected one of {PROBLEMS}")
    if seq_len < 20:
        raise ValueError(f"seq_len={seq_len} must be >= 20 (markers need 10 steps and T/2 > 10)")
    g = generator
    t_max = math.ceil(1.1 * seq_len) - 1 if variable_length else seq_len
    if variable_length:
        lengths = torch.randint(seq_len, t_max + 1, (n,), generator=g)
    else:
        lengths = torch.full((n,), seq_len)
    low = -1.0 if problem == "add" else 0.0
    values = low + (1.0 - low) * torch.rand(n, t_max, generator=g)
    pos = torch.arange(t_max).expand(n, t_max)
    mask = pos < lengths[:, None]
    first = torch.randint(1, 10, (n,), generator=g)
    # second marker uniform in [10, L/2), L the example's own length
    half = torch.div(lengths, 2, rounding_mode="floor")
    second = 10 + (torch.rand(n, generator=g) * (half - 10)).long()
    rows = torch.arange(n)
    markers = torch.zeros(n, t_max)
    markers[:, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    values = values * mask
    x1, x2 = values[rows, first], values[rows, second]
    y = 0.5 + (x1 + x2) / 4.0 if problem == "add" else x1 * x2
    x = torch.stack([values, markers], dim=-1)
    return {"x": x, "mask": mask, "y": y[:, None]}


class GeneratedBatches(Dataset):
    """Training batches made on demand: batch number k comes from a generator seeded by
    (seed, k), so the stream is fresh, reproducible and resumable at any step."""

    def __init__(self, batch_size: int, seed: int, **problem):
        self.batch_size, self.seed, self.problem = batch_size, seed, problem

    def __getitem__(self, batch_no: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(derived_seed(self.seed, batch_no))
        return generate_problem(self.batch_size, generator=g, **self.problem)


class AddingProblemDataModule(TensorDataModule):
    """Adding or multiplication problem; fresh seeded training batches, fixed val/test sets."""

    def __init__(self, problem: str = "add", seq_len: int = 100, variable_length: bool = False,
                 batch_size: int = 100, eval_batch_size: int = 1000, val_size: int = 1000,
                 test_size: int = 1000, eval_seed: int = 1234,
                 seed: int = 0):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        self.problem = dict(seq_len=seq_len, problem=problem, variable_length=variable_length)
        generate_problem(1, generator=torch.Generator().manual_seed(0), **self.problem)  # validate
        self.val_size, self.test_size = val_size, test_size
        self.eval_seed = eval_seed
        t_max = math.ceil(1.1 * seq_len) - 1 if variable_length else seq_len
        self.spec = DataSpec(task_type="regression", num_outputs=1, input_kind="vector",
                             input_dim=2, max_len=t_max)

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        def fixed(n: int, offset: int) -> dict[str, torch.Tensor]:
            g = torch.Generator().manual_seed(derived_seed(self.eval_seed, offset, 2**31))
            return generate_problem(n, generator=g, **self.problem)

        return {"val": fixed(self.val_size, 0), "test": fixed(self.test_size, 1)}

    def train_dataloader(self) -> DataLoader:
        batches = GeneratedBatches(self.batch_size, self.seed, **self.problem)
        return training_loader(batches, self.trainer)

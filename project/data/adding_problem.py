"""The adding and multiplication problems (Hochreiter & Schmidhuber 1997, sections 5.4-5.5),
as Raffel & Ellis 2016 use them.

Each example has 2 channels over T steps: values (U[-1, 1] for ``add``, U[0, 1] for
``multiply``) and markers (-1 at the first and last valid step, 1 at one step among steps
1..9 and at one step in [10, L/2), 0 elsewhere). The target is ``0.5 + (X1 + X2) / 4``
(add) or ``X1 * X2`` (multiply), X1, X2 the marked values. With ``variable_length`` each
example's length L is drawn from [T, 1.1 T) and the rest is padding (mask False).
Accuracy = fraction of examples with |error| < 0.04.

With ``max_seq_len`` (Raffel & Ellis's variable-length experiment, as in the authors'
``toy_problems/variable_length_experiments.py``) every training batch draws one length L
uniformly from the integers [seq_len, max_seq_len] and all its sequences have length L; the
validation and test sets hold sequences whose lengths are evenly spaced over
[seq_len, max_seq_len] (padded to max_seq_len, mask False beyond each length).

``layout="authors"`` draws as the authors' generator does (``craffel/lstm_problems``,
``gen_masked_sequences``): the array is ceil(1.1 T) wide with variable lengths (T without; the
lengths are drawn alike, so its last column is always padding), and the second marker is
uniform in [1, floor(W/2) - 2], W that width (moved one step on when it hits the first
marker), for every sequence; with given ``lengths`` W is each sequence's own length (their
variable-length test batches are one length each, unpadded). The default ``suite`` layout is
described above; its random stream is unchanged.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, Dataset

from project.data.base import DataSpec, TensorDataModule, derived_seed, training_loader

PROBLEMS = ("add", "multiply")
LAYOUTS = ("suite", "authors")


def array_width(seq_len: int, variable_length: bool, layout: str = "suite") -> int:
    """Columns of a batch of length-``seq_len`` problems: the longest length (``suite``) or
    the authors' ceil(1.1 T), one more (``authors``), with variable lengths; T without."""
    if not variable_length:
        return seq_len
    return math.ceil(1.1 * seq_len) - (layout == "suite")


def generate_problem(n: int, seq_len: int, problem: str, variable_length: bool,
                     generator: torch.Generator, lengths: torch.Tensor | None = None,
                     layout: str = "suite") -> dict[str, torch.Tensor]:
    """``n`` examples as tensors ``x`` (n, Tmax, 2), ``mask`` (n, Tmax), ``y`` (n, 1). Vectorised.
    ``lengths`` (n,) sets each example's length (then ``seq_len`` and ``variable_length`` are
    not used and Tmax is the longest). ``layout``: see the module docstring."""
    if problem not in PROBLEMS:
        raise ValueError(f"problem={problem!r}: expected one of {PROBLEMS}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
    g = generator
    if lengths is not None:
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if lengths.shape != (n,):
            raise ValueError(f"lengths has shape {tuple(lengths.shape)}, expected ({n},)")
        seq_len, t_max = int(lengths.min()), int(lengths.max())
    if seq_len < 20:
        raise ValueError(f"seq_len={seq_len} must be >= 20 (markers need 10 steps and T/2 > 10)")
    if lengths is None:
        t_max = array_width(seq_len, variable_length, layout)
        if variable_length:  # [T0, ceil(1.1 T0) - 1] in both layouts
            lengths = torch.randint(seq_len, math.ceil(1.1 * seq_len), (n,), generator=g)
        else:
            lengths = torch.full((n,), seq_len)
        marker_width = torch.full((n,), t_max)
    else:
        marker_width = lengths
    low = -1.0 if problem == "add" else 0.0
    values = low + (1.0 - low) * torch.rand(n, t_max, generator=g)
    pos = torch.arange(t_max).expand(n, t_max)
    mask = pos < lengths[:, None]
    first = torch.randint(1, 10, (n,), generator=g)
    if layout == "suite":  # second marker uniform in [10, L/2), L the example's own length
        half = torch.div(lengths, 2, rounding_mode="floor")
        second = 10 + (torch.rand(n, generator=g) * (half - 10)).long()
    else:  # the authors' np.random.choice(range(1, int(W/2 - 1))), then N_2 += N_1 == N_2
        count = torch.div(marker_width, 2, rounding_mode="floor") - 2
        second = 1 + (torch.rand(n, generator=g) * count).long()
        second += (second == first).long()
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


def spread_lengths(n: int, seq_len: int, max_seq_len: int) -> torch.Tensor:
    """``n`` lengths evenly spaced over [seq_len, max_seq_len] (rounded), for held-out sets."""
    return torch.linspace(seq_len, max_seq_len, n, dtype=torch.float64).round().long()


class GeneratedBatches(Dataset):
    """Training batches made on demand: batch number k comes from a generator seeded by
    (seed, k), so the stream is fresh, reproducible and resumable at any step. With
    ``max_seq_len`` batch k first draws its one length from [seq_len, max_seq_len]."""

    def __init__(self, batch_size: int, seed: int, max_seq_len: int | None = None, **problem):
        self.batch_size, self.seed, self.problem = batch_size, seed, problem
        self.max_seq_len = max_seq_len

    def __getitem__(self, batch_no: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(derived_seed(self.seed, batch_no))
        if self.max_seq_len is None:
            return generate_problem(self.batch_size, generator=g, **self.problem)
        length = int(torch.randint(self.problem["seq_len"], self.max_seq_len + 1, (1,),
                                   generator=g))
        return generate_problem(self.batch_size, generator=g,
                                **{**self.problem, "seq_len": length})


class AddingProblemDataModule(TensorDataModule):
    """Adding or multiplication problem; fresh seeded training batches, fixed val/test sets."""

    def __init__(self, problem: str = "add", seq_len: int = 100, variable_length: bool = False,
                 batch_size: int = 100, eval_batch_size: int = 1000, val_size: int = 1000,
                 test_size: int = 1000, eval_seed: int = 1234,
                 seed: int = 0, max_seq_len: int | None = None, layout: str = "suite"):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if layout not in LAYOUTS:
            raise ValueError(f"task.data.layout={layout!r}: expected one of {', '.join(LAYOUTS)}")
        self.problem = dict(seq_len=seq_len, problem=problem, variable_length=variable_length,
                            layout=layout)
        generate_problem(1, generator=torch.Generator().manual_seed(0), **self.problem)  # validate
        if max_seq_len is not None and (variable_length or max_seq_len < seq_len):
            raise ValueError(f"max_seq_len={max_seq_len} draws one length per batch from "
                             f"[seq_len, max_seq_len]: it needs max_seq_len >= seq_len={seq_len} "
                             f"and variable_length=false (got {str(variable_length).lower()})")
        self.max_seq_len = max_seq_len
        self.val_size, self.test_size = val_size, test_size
        self.eval_seed = eval_seed
        t_max = array_width(seq_len, variable_length, layout)
        t_max = max_seq_len if max_seq_len is not None else t_max
        self.spec = DataSpec(task_type="regression", num_outputs=1,
                             input_dim=2, max_len=t_max)

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        def fixed(n: int, offset: int) -> dict[str, torch.Tensor]:
            g = torch.Generator().manual_seed(derived_seed(self.eval_seed, offset, 2**31))
            lengths = (None if self.max_seq_len is None else
                       spread_lengths(n, self.problem["seq_len"], self.max_seq_len))
            return generate_problem(n, generator=g, lengths=lengths, **self.problem)

        return {"val": fixed(self.val_size, 0), "test": fixed(self.test_size, 1)}

    def train_dataloader(self) -> DataLoader:
        batches = GeneratedBatches(self.batch_size, self.seed, self.max_seq_len, **self.problem)
        return training_loader(batches, self.trainer, self.updates_per_batch)

"""The adding/multiplication generator: targets, marker positions, masks, reproducibility."""

import pytest
import torch

from project.data.adding_problem import AddingProblemDataModule, generate_problem


def gen(seed=0, **kw):
    args = dict(n=500, seq_len=40, problem="add", variable_length=False) | kw
    return generate_problem(generator=torch.Generator().manual_seed(seed), **args)


@pytest.mark.parametrize("problem", ["add", "multiply"])
@pytest.mark.parametrize("variable", [False, True])
def test_markers_and_targets(problem, variable):
    d = gen(problem=problem, variable_length=variable)
    x, mask, y = d["x"], d["mask"], d["y"]
    values, markers = x[..., 0], x[..., 1]
    lengths = mask.sum(1)
    rows = torch.arange(len(x))
    assert torch.all(markers[:, 0] == -1) and torch.all(markers[rows, lengths - 1] == -1)
    ones = (markers == 1).nonzero()
    assert len(ones) == 2 * len(x)  # exactly two marked values per example
    first, second = ones[0::2, 1], ones[1::2, 1]
    assert torch.all((first >= 1) & (first < 10))
    assert torch.all((second >= 10) & (second < lengths // 2))
    x1, x2 = values[rows, first], values[rows, second]
    expected = 0.5 + (x1 + x2) / 4 if problem == "add" else x1 * x2
    torch.testing.assert_close(y[:, 0], expected)
    low = -1.0 if problem == "add" else 0.0
    assert values[mask].min() >= low and values[mask].max() <= 1.0
    assert torch.all(x[~mask] == 0)  # padding is zero
    if variable:
        assert lengths.min() >= 40 and lengths.max() < 44 and len(set(lengths.tolist())) > 1
    else:
        assert torch.all(lengths == 40)


def test_same_seed_same_data_different_seed_different_data():
    a, b, c = gen(seed=5), gen(seed=5), gen(seed=6)
    assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])
    assert not torch.equal(a["x"], c["x"])


def test_training_batches_are_fresh_and_a_pure_function_of_seed_and_step():
    dm = AddingProblemDataModule(seq_len=20, batch_size=8, val_size=16, test_size=16, seed=3)
    dm.setup()
    first = [b["x"] for _, b in zip(range(3), dm.train_dataloader())]
    again = [b["x"] for _, b in zip(range(3), dm.train_dataloader())]
    assert all(torch.equal(p, q) for p, q in zip(first, again))
    assert not torch.equal(first[0], first[1])
    other = AddingProblemDataModule(seq_len=20, batch_size=8, val_size=16, test_size=16, seed=4)
    assert not torch.equal(next(iter(other.train_dataloader()))["x"], first[0])


def test_validation_and_test_sets_are_fixed_and_distinct():
    dm1 = AddingProblemDataModule(seq_len=20, val_size=50, test_size=50, seed=0)
    dm2 = AddingProblemDataModule(seq_len=20, val_size=50, test_size=50, seed=9)
    dm1.setup(), dm2.setup()
    assert torch.equal(dm1.splits["val"]["x"], dm2.splits["val"]["x"])  # same for every seed
    assert not torch.equal(dm1.splits["val"]["x"], dm1.splits["test"]["x"])


def test_sequence_length_below_20_is_refused():
    with pytest.raises(ValueError, match="seq_len=10 must be >= 20"):
        AddingProblemDataModule(seq_len=10)

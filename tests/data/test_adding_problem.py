"""The adding/multiplication generator: targets, marker positions, masks, reproducibility."""

import numpy as np
import pytest
import torch
from scipy import stats

from project.data.adding_problem import AddingProblemDataModule, GeneratedBatches, generate_problem


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
    first = [b["x"] for _, (b,) in zip(range(3), dm.train_dataloader())]
    again = [b["x"] for _, (b,) in zip(range(3), dm.train_dataloader())]
    assert all(torch.equal(p, q) for p, q in zip(first, again))
    assert not torch.equal(first[0], first[1])
    other = AddingProblemDataModule(seq_len=20, batch_size=8, val_size=16, test_size=16, seed=4)
    assert not torch.equal(next(iter(other.train_dataloader()))[0]["x"], first[0])


def test_validation_and_test_sets_are_fixed_and_distinct():
    dm1 = AddingProblemDataModule(seq_len=20, val_size=50, test_size=50, seed=0)
    dm2 = AddingProblemDataModule(seq_len=20, val_size=50, test_size=50, seed=9)
    dm1.setup(), dm2.setup()
    assert torch.equal(dm1.splits["val"]["x"], dm2.splits["val"]["x"])  # same for every seed
    assert not torch.equal(dm1.splits["val"]["x"], dm1.splits["test"]["x"])


def test_sequence_length_below_20_is_refused():
    with pytest.raises(ValueError, match="seq_len=10 must be >= 20"):
        AddingProblemDataModule(seq_len=10)


# -- the paper's protocol (Raffel & Ellis 2016) and the variable-length experiment ----------
def test_default_streams_are_unchanged_by_the_length_options():
    """Sums of data drawn by the generator before max_seq_len/lengths existed (commit 495aa71,
    printed there): existing runs resume on the same data."""
    d = gen(n=7, seq_len=30, seed=3)
    assert float(d["x"].double().sum()) == pytest.approx(-6.4553937911987305, abs=1e-9)
    assert float(d["y"].double().sum()) == pytest.approx(3.968220591545105, abs=1e-9)
    d = gen(n=7, seq_len=30, seed=3, problem="multiply", variable_length=True)
    assert float(d["x"].double().sum()) == pytest.approx(106.50053960084915, abs=1e-9)
    assert d["mask"].sum(1).tolist() == [31, 32, 31, 30, 31, 30, 30]
    dm = AddingProblemDataModule(seq_len=20, variable_length=True, batch_size=4, val_size=5,
                                 test_size=5, seed=2)
    dm.setup()
    batch = next(iter(dm.train_dataloader()))[0]
    assert float(batch["x"].double().sum()) == pytest.approx(-0.9561285972595215, abs=1e-9)
    assert float(dm.splits["val"]["y"].double().sum()) == pytest.approx(2.5669932663440704,
                                                                        abs=1e-9)


def test_paper_protocol_lengths_values_and_markers():
    """Raffel & Ellis: lengths in [T0, 1.1 T0], multiply values in [0, 1], a 1 in the first ten
    steps and one before the midpoint, -1 at the first and last step."""
    d = gen(n=2000, seq_len=50, problem="multiply", variable_length=True)
    lengths = d["mask"].sum(1)
    # [T0, ceil(1.1 T0) - 1] as the authors' np.random.randint(T0, ceil(1.1 T0)); in floating
    # point 1.1 * 50 = 55.000000000000007, so 55 is included, as in their code
    assert lengths.min() == 50 and lengths.max() == 55
    values, markers = d["x"][..., 0], d["x"][..., 1]
    assert values[d["mask"]].min() >= 0 and values[d["mask"]].max() <= 1
    ones = (markers == 1).nonzero()[:, 1]
    assert ones[0::2].max() < 10 and torch.all(ones[1::2] < lengths // 2)


def test_explicit_lengths_pad_to_the_longest_and_place_markers_per_example():
    d = gen(n=3, lengths=torch.tensor([22, 35, 27]))
    assert d["x"].shape == (3, 35, 2)
    assert d["mask"].sum(1).tolist() == [22, 35, 27]
    markers = d["x"][..., 1]
    assert markers[0, 21] == -1 and markers[1, 34] == -1 and markers[2, 26] == -1
    second = (markers == 1).nonzero()[1::2, 1]
    assert torch.all(second < torch.tensor([11, 17, 13]))  # L // 2 of each example
    with pytest.raises(ValueError, match=r"lengths has shape \(2,\), expected \(3,\)"):
        gen(n=3, lengths=torch.tensor([20, 30]))


def test_max_seq_len_draws_one_length_per_batch_uniformly_in_the_range():
    dm = AddingProblemDataModule(seq_len=20, max_seq_len=60, batch_size=3, val_size=5,
                                 test_size=5, seed=1)
    dm.setup()
    batches = GeneratedBatches(3, 1, 60, seq_len=20, problem="add", variable_length=False)
    lengths = []
    for k in range(400):
        b = batches[k]
        assert torch.all(b["mask"])  # one length per batch: no padding
        lengths.append(b["x"].shape[1])
    assert min(lengths) == 20 and max(lengths) == 60  # both ends reachable: [20, 60]
    # uniform over 41 values: mean 40, sd of the mean sqrt((41**2 - 1) / 12 / 400) ~ 0.59
    assert abs(sum(lengths) / len(lengths) - 40) < 3
    assert len(set(lengths)) > 30
    loader_first = next(iter(dm.train_dataloader()))[0]
    assert torch.equal(loader_first["x"], batches[0]["x"])  # the loader serves these batches
    assert dm.spec.max_len == 60


def test_max_seq_len_held_out_sets_spread_lengths_evenly():
    dm = AddingProblemDataModule(seq_len=20, max_seq_len=30, val_size=11, test_size=6, seed=0)
    dm.setup()
    assert dm.splits["val"]["mask"].sum(1).tolist() == list(range(20, 31))
    assert dm.splits["val"]["x"].shape == (11, 30, 2)
    # linspace(20, 30, 6) = 20, 22, 24, 26, 28, 30
    assert dm.splits["test"]["mask"].sum(1).tolist() == [20, 22, 24, 26, 28, 30]


@pytest.mark.parametrize("kw", [dict(max_seq_len=19, seq_len=20),
                                dict(max_seq_len=60, seq_len=20, variable_length=True)])
def test_max_seq_len_refuses_a_bad_range_or_variable_length(kw):
    with pytest.raises(ValueError, match="max_seq_len=.* needs max_seq_len >= seq_len=20 and "
                                         "variable_length=false"):
        AddingProblemDataModule(**kw)


# -- the authors' layout (task.data.layout=authors; craffel/lstm_problems, gen_masked_sequences)
def authors_marker_pairs(width: int) -> dict[tuple[int, int], float]:
    """P(the two 1-markers sit at steps (lo, hi)) by enumeration of the authors' draw: N_1
    uniform in 1..9, N_2 from np.random.choice(range(1, int(width / 2 - 1))), then N_2 += 1
    where N_2 == N_1 (N_2 may fall before N_1)."""
    raw = range(1, int(width / 2 - 1))
    p: dict[tuple[int, int], float] = {}
    for n1 in range(1, 10):
        for n2 in raw:
            n2 = n2 + 1 if n2 == n1 else n2
            pair = (min(n1, n2), max(n1, n2))
            p[pair] = p.get(pair, 0.0) + 1 / (9 * len(raw))
    return p


def marked(d):
    """Steps of the lower and the higher 1-marker, values, markers (numpy)."""
    values, markers = d["x"][..., 0].numpy(), d["x"][..., 1].numpy()
    rows, cols = np.nonzero(markers == 1)
    assert np.array_equal(rows, np.repeat(np.arange(len(values)), 2))  # two 1s per row
    return cols[0::2], cols[1::2], values, markers


@pytest.mark.parametrize("variable", [True, False])
def test_authors_layout_width_and_markers_as_their_generator(variable):
    n, t0 = 20000, 40
    d = gen(n=n, seq_len=t0, variable_length=variable, layout="authors", seed=7)
    width = int(np.ceil(1.1 * t0)) if variable else t0  # their max_length (45: 1.1 * 40 > 44)
    assert d["x"].shape == (n, width, 2)
    lengths = d["mask"].sum(1).numpy()
    if variable:  # their np.random.randint(T0, max_length): the last column is padding
        assert lengths.min() == t0 and lengths.max() == width - 1
        assert not d["mask"][:, -1].any()
    lo, hi, values, markers = marked(d)
    p = authors_marker_pairs(width)
    pairs = sorted(p)
    counts = np.array([((lo == i) & (hi == j)).sum() for i, j in pairs])
    assert counts.sum() == n  # every sequence's pair is one the authors can draw
    assert stats.chisquare(counts, n * np.array([p[k] for k in pairs])).pvalue > 1e-3
    assert hi.max() == max(j for _, j in pairs) and (hi < 10).any()  # reaches below step 10
    np.testing.assert_allclose(d["y"][:, 0].numpy(),  # their target: 0.5 + sum(X * (M == 1))/4
                               0.5 + (values * (markers == 1)).sum(1) / 4, rtol=1e-6)
    assert np.all(markers[np.arange(n), lengths - 1] == -1) and np.all(markers[:, 0] == -1)
    suite = gen(n=2000, seq_len=t0, variable_length=variable, seed=7)
    assert suite["x"].shape[1] == width - variable  # today's: one column narrower
    assert marked(suite)[1].min() >= 10  # today's second marker never falls before step 10


def test_authors_layout_with_given_lengths_uses_each_length_as_the_width():
    lengths = torch.tensor([20, 60] * 1000)
    lo, hi, _, _ = marked(gen(n=2000, lengths=lengths, layout="authors", seed=1))
    for length in (20, 60):
        support = authors_marker_pairs(length)
        rows = lengths.numpy() == length
        assert set(zip(lo[rows], hi[rows])) <= set(support)
        assert hi[rows].max() == max(j for _, j in support)


def test_authors_layout_in_the_data_module_and_a_bad_value():
    dm = AddingProblemDataModule(seq_len=500, variable_length=True, layout="authors",
                                 val_size=10, test_size=10)
    dm.setup()
    assert dm.spec.max_len == dm.splits["val"]["x"].shape[1] == int(np.ceil(1.1 * 500))
    assert AddingProblemDataModule(seq_len=500, variable_length=True).spec.max_len == 549
    with pytest.raises(ValueError, match="task.data.layout='paper': expected one of suite, "
                                         "authors"):
        AddingProblemDataModule(layout="paper")

"""Pooling layers: masking, padding invariance, the elementwise form, multi-head shapes and
parameter counts."""

import pytest
import torch

from project.models.features import VectorFeatures
from project.models.network import PoolingNetwork
from project.models.pooling import AttentionPooling, build_pooling

POOLINGS = [{"pooling": "attention"}, {"pooling": "attention", "heads": 4},
            {"pooling": "attention", "score": "tanh"}, {"pooling": "mean"}, {"pooling": "max"}]


@pytest.mark.parametrize("model", POOLINGS)
def test_padding_never_changes_the_output(model):
    torch.manual_seed(0)
    pool = build_pooling(model, 8)
    h = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    padded_h = torch.cat([h, 100 * torch.randn(3, 4, 8)], dim=1)  # garbage in the padding
    padded_mask = torch.cat([mask, torch.zeros(3, 4, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(pool(h, mask), pool(padded_h, padded_mask))


def test_padded_positions_get_zero_weight_and_weights_sum_to_one():
    pool = AttentionPooling(6, heads=2)
    mask = torch.tensor([[1, 1, 0, 0]], dtype=torch.bool)
    pool(torch.randn(1, 4, 6), mask)
    a = pool.last_weights
    assert torch.all(a[:, 2:] == 0)
    torch.testing.assert_close(a.sum(1), torch.ones(1, 2))


@pytest.mark.parametrize("model", [{"pooling": "attention"}, {"pooling": "attention", "score": "tanh"},
                                   {"pooling": "mean"}])
def test_the_elementwise_form_gives_the_matrix_forms_output_and_gradients(model):
    """``elementwise`` (a vectorised group's poolings) against the default matrix products and
    an explicit loop over positions, output and gradients, with padded positions."""
    torch.manual_seed(0)
    pool = build_pooling(model, 8)
    h = torch.randn(3, 5, 8, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    results = []
    for elementwise in (False, True):
        pool.elementwise = elementwise
        out = pool(h, mask)
        a = pool.last_weights if model["pooling"] == "attention" else (
            mask / mask.sum(1, keepdim=True)).unsqueeze(-1)
        loop = sum(a[:, i] * h[:, i] for i in range(h.shape[1]))
        torch.testing.assert_close(out, loop)
        results.append((out, *torch.autograd.grad(out.square().sum(), [h, *pool.parameters()])))
    assert pool.elementwise and not type(pool).elementwise
    for matrix, elementwise in zip(*results):
        torch.testing.assert_close(elementwise, matrix)


def test_mean_divides_by_true_length():
    h = torch.arange(8.0).reshape(1, 4, 2)
    mask = torch.tensor([[1, 1, 0, 0]], dtype=torch.bool)
    mean = build_pooling({"pooling": "mean"}, 2)
    torch.testing.assert_close(mean(h, mask), torch.tensor([[1.0, 2.0]]))


@pytest.mark.parametrize("heads", [1, 2, 5, 10])
def test_multi_head_shapes_and_parameter_counts(heads):
    pool = AttentionPooling(10, heads=heads)
    assert pool(torch.randn(2, 7, 10), torch.ones(2, 7, dtype=torch.bool)).shape == (2, 10)
    assert sum(p.numel() for p in pool.parameters()) == 10  # one query of size D/H per head
    tanh = AttentionPooling(10, heads=heads, score="tanh")
    assert sum(p.numel() for p in tanh.parameters()) == 10 + heads  # plus one bias per head


def test_heads_must_divide_hidden_size():
    with pytest.raises(ValueError, match="heads=3 must be >= 1 and divide the hidden size 10"):
        AttentionPooling(10, heads=3)


def test_same_seed_gives_identical_shared_init_for_attention_and_baseline():
    def net(pooling):
        torch.manual_seed(7)
        return PoolingNetwork(VectorFeatures(2), hidden=16, out_dim=1, pooling=pooling,
                              head_hidden=8, positional=True, max_len=30)

    att, base = net("attention"), net("mean")
    shared = base.state_dict()
    assert shared, "baseline has parameters"
    for name, value in shared.items():
        torch.testing.assert_close(att.state_dict()[name], value, rtol=0, atol=0)
    assert set(att.state_dict()) - set(shared) == {"pooling.query"}

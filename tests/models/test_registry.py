"""The pooling registry: a pooling's config keys are its constructor's keyword arguments."""

import pytest
import torch
from torch import nn

from project.data.base import DataSpec
from project.models.build import build_network
from project.models.pooling import POOLINGS, build_pooling, register

SPEC = DataSpec(task_type="regression", num_outputs=1, input_dim=2,
                max_len=50)
NET = {"features": "vector", "hidden": 12, "activation": "relu", "head_hidden": 6}


def test_the_registry_holds_the_three_poolings():
    assert {"attention", "mean", "max"} <= set(POOLINGS)


@pytest.mark.parametrize("model,message", [
    ({"pooling": "mean", "score": "dot"},
     "model.score is not a parameter of pooling 'mean' (it takes: none)"),
    ({"pooling": "max", "heads": 1},
     "model.heads is not a parameter of pooling 'max' (it takes: none)"),
    ({"pooling": "attention", "temperature": 2.0},
     "model.temperature is not a parameter of pooling 'attention' "
     "(it takes: heads, score, seed_literal)"),
    ({"pooling": "median"}, "model.pooling='median': expected one of "),
    ({"pooling": "attention", "heads": "two"}, "model.heads='two' must be an integer"),
    ({"pooling": "attention", "heads": 2.5}, "model.heads=2.5 must be an integer"),
    ({"pooling": "attention", "seed_literal": "yes"},
     "model.seed_literal='yes' must be true or false"),
])
def test_a_wrong_model_key_fails_in_one_line_naming_it(model, message):
    with pytest.raises(ValueError) as err:
        build_pooling({"name": "x", **model}, 8)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_every_other_key_reaches_the_pooling_and_name_does_not():
    pool = build_pooling({"name": "whatever", "pooling": "attention", "heads": 4.0,
                          "score": "tanh", "seed_literal": True}, 8)
    assert (pool.heads, pool.score_kind, pool.seed_literal) == (4, "tanh", True)
    assert isinstance(pool.heads, int)


class FirstValid(nn.Module):
    """A test pooling: the first valid position's h, times a learned per-feature gain."""

    def __init__(self, dim: int, gain: float = 1.0):
        super().__init__()
        self.gain = nn.Parameter(torch.full((dim,), gain))

    def forward(self, h, mask):
        first = mask.to(torch.int64).argmax(1)
        return h[torch.arange(len(h)), first] * self.gain


@pytest.fixture
def first_valid():
    register("first_valid")(FirstValid)
    yield FirstValid
    del POOLINGS["first_valid"]


def test_a_new_pooling_is_one_class_and_one_registry_entry(first_valid):
    torch.manual_seed(0)
    net = build_network(NET, {"name": "first", "pooling": "first_valid", "gain": 3.0}, SPEC)
    torch.manual_seed(0)
    base = build_network(NET, {"name": "baseline", "pooling": "mean"}, SPEC)
    assert isinstance(net.pooling, first_valid)
    torch.testing.assert_close(net.pooling.gain, torch.full((12,), 3.0))
    for name, value in base.state_dict().items():  # pooling created last: shared init equal
        torch.testing.assert_close(net.state_dict()[name], value, rtol=0, atol=0)
    x = torch.randn(2, 5, 2)
    mask = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.bool)
    assert net.uses_fused(x) is False  # no fused form: the plain path
    h, _ = net.encode(x, mask)
    torch.testing.assert_close(net.pool(x, mask), 3.0 * torch.stack([h[0, 1], h[1, 0]]))
    with pytest.raises(ValueError, match=r"model.heads is not a parameter of pooling "
                                         r"'first_valid' \(it takes: gain\)"):
        build_network(NET, {"name": "first", "pooling": "first_valid", "heads": 2}, SPEC)


def test_registering_a_name_twice_fails():
    with pytest.raises(ValueError, match="pooling 'mean' is already registered"):
        register("mean")(FirstValid)

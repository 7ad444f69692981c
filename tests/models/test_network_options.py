"""Raffel & Ellis options on the network: output activation and init; defaults unchanged."""

import pytest
import torch
from torch import nn

from project.data.base import DataSpec
from project.models.build import build_network
from project.models.features import VectorFeatures
from project.models.network import PoolingNetwork

SPEC = DataSpec(task_type="regression", num_outputs=3, input_dim=2,
                max_len=40)
NET = {"features": "vector", "hidden": 16, "activation": "relu", "head_hidden": 8}


def test_defaults_draw_the_same_initial_weights_as_the_original_network():
    """The original construction order, by hand: hidden layer, head, then the query."""
    torch.manual_seed(11)
    net = build_network(NET, {"name": "attention", "pooling": "attention"}, SPEC)
    torch.manual_seed(11)
    hidden, head1, head2 = nn.Linear(2, 16), nn.Linear(16, 8), nn.Linear(8, 3)
    query = torch.empty(1, 16)
    nn.init.normal_(query, std=16**-0.5)
    expected = {"hidden.weight": hidden.weight, "hidden.bias": hidden.bias,
                "head.0.weight": head1.weight, "head.0.bias": head1.bias,
                "head.3.weight": head2.weight, "head.3.bias": head2.bias, "pooling.query": query}
    state = net.state_dict()
    assert set(state) == set(expected)
    for name, value in expected.items():
        torch.testing.assert_close(state[name], value.detach(), rtol=0, atol=0, msg=name)


def test_output_activation_leaky_relu_is_a_leaky_rectifier_on_the_output():
    torch.manual_seed(0)
    plain = build_network(NET, {"pooling": "mean"}, SPEC)
    torch.manual_seed(0)
    leaky = build_network({**NET, "output_activation": "leaky_relu"}, {"pooling": "mean"}, SPEC)
    with torch.no_grad():  # outputs of both signs
        for net in (plain, leaky):
            net.head[-1].bias.copy_(torch.tensor([-0.1, 0.0, 0.1]))
    x = 3 * torch.randn(64, 7, 2)
    y, y_leaky = plain(x), leaky(x)
    assert (y < 0).any() and (y > 0).any()
    torch.testing.assert_close(y_leaky, torch.where(y > 0, y, 0.01 * y), rtol=0, atol=0)
    torch.testing.assert_close(
        build_network({**NET, "output_activation": "none"}, {"pooling": "mean"}, SPEC)(x).shape,
        y.shape)


@pytest.mark.parametrize("key,value,message", [
    ("output_activation", "relu", "task.net.output_activation='relu': expected one of none, "
                                  "leaky_relu"),
    ("init", "xavier", "task.net.init='xavier': expected one of default, raffel2016"),
    ("fused", "yes", "task.net.fused='yes': expected one of auto, on, off"),
])
def test_unknown_option_values_fail_naming_the_key(key, value, message):
    with pytest.raises(ValueError, match=message):
        build_network({**NET, key: value}, {"pooling": "mean"}, SPEC)


def test_raffel2016_init_gaussian_with_std_one_over_sqrt_fan_in_and_zero_biases():
    torch.manual_seed(1)
    net = PoolingNetwork(VectorFeatures(50), hidden=400, out_dim=300, head_hidden=200,
                         pooling={"pooling": "attention", "score": "tanh", "heads": 2},
                         init="raffel2016")
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 3
    for layer in linears:
        expected = layer.in_features**-0.5
        assert abs(layer.weight.std().item() / expected - 1) < 0.03
        assert abs(layer.weight.mean().item()) < 0.03 * expected  # centred Gaussian
        assert torch.all(layer.bias == 0)
    assert abs(net.pooling.query.std().item() / 200**-0.5 - 1) < 0.1
    assert torch.all(net.pooling.bias == 0)
    # PyTorch's default is uniform with std 1/sqrt(3 fan_in): clearly different.
    torch.manual_seed(1)
    default = PoolingNetwork(VectorFeatures(50), hidden=400, out_dim=300, head_hidden=200)
    assert default.hidden.weight.std().item() < 0.7 * net.hidden.weight.std().item()


def test_raffel2016_init_keeps_shared_weights_paired_across_poolings():
    def state(model):
        torch.manual_seed(4)
        return build_network({**NET, "init": "raffel2016"}, model, SPEC).state_dict()

    att, base = state({"pooling": "attention", "score": "tanh"}), state({"pooling": "mean"})
    for name, value in base.items():
        torch.testing.assert_close(att[name], value, rtol=0, atol=0)

"""``task.net.padding``: pooling over valid steps (``masked``, the default) or over the whole
padded width as Raffel & Ellis's code does (``unmasked``), on every pooling path the adding
task can take (plain attention, mean, max; the fused attention and mean, one chunk or several).

Expected values are computed by hand in numpy from a hand-built batch: two sequences of width
4, the first of length 2 (its padding zeros, as the adding data has it), the second of length 4.
"""

import dataclasses

import numpy as np
import pytest
import torch

from project.data.base import DataSpec
from project.models.build import build_network
from project.models.features import VectorFeatures
from project.models.network import PoolingNetwork
from project.runs.identity import identity_of
from tests.conftest import compose_train

X = np.array([[[0.5, -1.0], [-0.3, 1.0], [0.0, 0.0], [0.0, 0.0]],
              [[0.2, -1.0], [0.9, 0.0], [-0.7, 1.0], [0.4, -1.0]]])
MASK = np.array([[True, True, False, False], [True, True, True, True]])
W = np.array([[1.0, 0.5], [-2.0, 1.0], [-1.0, -0.4]])  # hidden 3 x inputs 2; row 3 < 0 on
# both valid steps of sequence 1, so there the padded f(b) is the max
B = np.array([0.1, -0.2, 0.3])  # f(b) != 0: a padded step adds f(b) to what is pooled
Q, C = np.array([0.7, -1.2, 0.4]), 0.05  # tanh score: tanh(q . h + c)


def leaky(v):
    return np.where(v > 0, v, 0.01 * v)


def expected(pooling: str, padding: str) -> np.ndarray:
    """The pooled (2, 3) by hand: h = LReLU(x W^T + b) at every step, pooled per sequence over
    its valid steps (masked) or all 4 columns (unmasked)."""
    h = leaky(X @ W.T + B)
    out = []
    for row in range(2):
        cols = MASK[row] if padding == "masked" else np.ones(4, dtype=bool)
        hr = h[row][cols]
        if pooling == "mean":
            out.append(hr.sum(0) / cols.sum())
        elif pooling == "max":
            out.append(hr.max(0))
        else:
            e = np.exp(np.tanh(hr @ Q + C))
            out.append((e / e.sum()) @ hr)
    return np.array(out)


def network(pooling: str, padding: str, fused: str) -> PoolingNetwork:
    model = {"pooling": pooling} | ({"score": "tanh"} if pooling == "attention" else {})
    torch.manual_seed(0)  # the same head on every path
    net = PoolingNetwork(VectorFeatures(2), hidden=3, out_dim=1, pooling=model,
                         activation="leaky_relu", fused=fused, padding=padding).double()
    with torch.no_grad():
        net.hidden.weight.copy_(torch.from_numpy(W))
        net.hidden.bias.copy_(torch.from_numpy(B))
        if pooling == "attention":
            net.pooling.query.copy_(torch.from_numpy(Q)[None])
            net.pooling.bias.fill_(C)
    return net


PATHS = [("attention", "off", 0), ("mean", "off", 0), ("max", "off", 0),
         ("attention", "on", 0), ("mean", "on", 0),  # fused, one chunk
         ("attention", "on", 1), ("mean", "on", 1)]  # fused, one position per chunk


@pytest.mark.parametrize("padding", ["masked", "unmasked"])
@pytest.mark.parametrize("pooling,fused,chunk", PATHS)
def test_each_pooling_path_pools_as_computed_by_hand(pooling, fused, chunk, padding):
    net = network(pooling, padding, fused)
    if chunk:
        net.fused_spec = dataclasses.replace(net.fused_spec, chunk=chunk)
    x, mask = torch.from_numpy(X), torch.from_numpy(MASK)
    assert net.uses_fused(x) == (fused == "on")
    with torch.no_grad():
        got = net.pool(x, mask).numpy()
    np.testing.assert_allclose(got, expected(pooling, padding), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pooling", ["attention", "mean", "max"])
def test_the_options_differ_on_the_padded_sequence_only(pooling):
    masked, unmasked = expected(pooling, "masked"), expected(pooling, "unmasked")
    assert np.abs(masked[0] - unmasked[0]).max() > 1e-3  # the test can tell them apart
    np.testing.assert_allclose(masked[1], unmasked[1])  # no padding: the same


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_unmasked_fused_gradients_match_the_plain_path(pooling):
    torch.manual_seed(1)
    x, mask = torch.randn(3, 9, 2, dtype=torch.float64), torch.from_numpy(
        np.arange(9)[None, :] < np.array([[9], [5], [2]]))
    x[~mask] = 0.0
    grads = []
    for fused in ("off", "on"):
        net = network(pooling, "unmasked", fused)
        if fused == "on":
            net.fused_spec = dataclasses.replace(net.fused_spec, chunk=2)
        out = net(x, mask)
        grads.append([out] + list(torch.autograd.grad((out**2).sum(), list(net.parameters()))))
    for plain, fused in zip(*grads):
        assert plain.abs().max() > 0
        torch.testing.assert_close(fused, plain, rtol=1e-10, atol=1e-12)


def test_build_network_reads_the_option_and_refuses_unknown_values():
    spec = DataSpec(task_type="regression", num_outputs=1, input_dim=2, max_len=4)
    net = {"hidden": 3, "activation": "leaky_relu"}
    assert build_network(net, {"pooling": "mean"}, spec).padding == "masked"  # the default
    assert build_network(net | {"padding": "unmasked"}, {"pooling": "mean"},
                         spec).padding == "unmasked"
    with pytest.raises(ValueError, match="task.net.padding='none': expected one of masked, "
                                         "unmasked"):
        build_network(net | {"padding": "none"}, {"pooling": "mean"}, spec)


def test_the_authors_options_are_part_of_the_run_identity_and_off_by_default(tmp_path):
    base = identity_of(compose_train(["+experiment=raffel2016", "task=adding"], tmp_path))
    authors = identity_of(compose_train(["+experiment=raffel2016", "task=adding",
                                         "+task.net.padding=unmasked",
                                         "+task.data.layout=authors"], tmp_path))
    added = set(authors.setting_overrides) - set(base.setting_overrides)
    assert added == {"task.net.padding=unmasked", "task.data.layout=authors"}
    assert authors.folder() != base.folder()
    assert not any("padding" in o or "layout" in o for o in base.setting_overrides)

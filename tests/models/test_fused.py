"""The fused encoder + pooling (``chunked_pooling``) computes exactly what the plain path does.

Float64, several chunks per sequence (chunk 3 over T = 11), variable lengths with garbage in
the padding, a fully padded row, and trailing all-padding chunks; every parameter's gradient
and the input's within 1e-5 relative (max |fused - plain| / max |plain|) of the plain path.
"""

import dataclasses

import pytest
import torch

from project.data.base import DataSpec
from project.models.build import build_network
from project.models.chunked_pooling import FusedEncodePool
from project.models.features import VectorFeatures
from project.models.network import FUSED_MIN_POSITIONS, PoolingNetwork

POOLINGS = {
    "attention": {"pooling": "attention"},
    "tanh": {"pooling": "attention", "score": "tanh"},
    "heads4": {"pooling": "attention", "heads": 4},
    "seed_literal": {"pooling": "attention", "seed_literal": True},
    "heads2_tanh_seed_literal": {"pooling": "attention", "heads": 2, "score": "tanh",
                                 "seed_literal": True},
    "mean": {"pooling": "mean"},
}
ACTIVATIONS = ["relu", "leaky_relu", "tanh"]
# backward forms: the row trick (x needs no gradient), dL/dpre per chunk, and with dL/dx
BACKWARDS = ["rows", "explicit", "input_grad"]


def pair(model: dict, activation: str, chunk: int = 3, explicit: bool = False, dtype=torch.float64,
         inputs: int = 3, hidden: int = 8):
    """The same network (same seed) on the plain and on the fused path."""
    nets = []
    for fused in ("off", "on"):
        torch.manual_seed(0)
        nets.append(PoolingNetwork(VectorFeatures(inputs), hidden=hidden, out_dim=2,
                                   pooling=model, activation=activation, head_hidden=5,
                                   fused=fused).to(dtype))
    nets[1].fused_spec = dataclasses.replace(nets[1].fused_spec, chunk=chunk,
                                             explicit_backward=explicit)
    return nets


def batch(dtype=torch.float64, T: int = 11):
    torch.manual_seed(1)
    x = torch.randn(5, T, 3, dtype=dtype)
    lengths = torch.tensor([T - 2, T - 4, 2, 0, 1])  # every row padded: trailing chunks skipped
    mask = torch.arange(T)[None, :] < lengths[:, None]
    x[~mask] = 100 * torch.randn(int((~mask).sum()), 3, dtype=dtype)  # garbage in the padding
    return x, mask


def grads(net, x, mask, input_grad):
    x = x.clone().requires_grad_(input_grad)
    y = net(x, mask)
    loss = (y**2 * torch.tensor([1.0, -2.0], dtype=y.dtype)).sum() + y.sum()
    params = [p for p in net.parameters()] + ([x] if input_grad else [])
    return y, torch.autograd.grad(loss, params)


def max_relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-300)).item()


@pytest.mark.parametrize("backward", BACKWARDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pooling", POOLINGS)
def test_fused_gradients_match_the_plain_path_in_float64(pooling, activation, backward):
    plain, fused = pair(POOLINGS[pooling], activation, explicit=backward == "explicit")
    x, mask = batch()
    assert fused.uses_fused(x) and not plain.uses_fused(x)
    y_plain, g_plain = grads(plain, x, mask, backward == "input_grad")
    y_fused, g_fused = grads(fused, x, mask, backward == "input_grad")
    torch.testing.assert_close(y_fused, y_plain, rtol=1e-12, atol=1e-12)
    names = [n for n, _ in plain.named_parameters()] + (["x"] if backward == "input_grad" else [])
    assert len(g_plain) == len(g_fused) == len(names)
    for name, gp, gf in zip(names, g_plain, g_fused):
        assert gp.abs().max() > 0, f"{name}: the plain gradient is zero, nothing is tested"
        assert max_relative(gf, gp) <= 1e-5, name


@pytest.mark.parametrize("pooling", ["attention", "tanh", "heads4", "mean"])
def test_fused_forward_equals_plain_in_float32_with_the_default_chunks(pooling):
    plain, fused = pair(POOLINGS[pooling], "relu", chunk=0, dtype=torch.float32, inputs=2,
                        hidden=100)
    torch.manual_seed(2)
    x = torch.rand(16, 700, 2)
    mask = torch.arange(700)[None, :] < torch.randint(300, 701, (16, 1))
    with torch.no_grad():
        torch.testing.assert_close(fused(x, mask), plain(x, mask), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(fused(x), plain(x), rtol=1e-5, atol=1e-6)  # no mask


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_a_batch_of_padding_only_pools_to_zero_as_the_plain_path(pooling):
    plain, fused = pair(POOLINGS[pooling], "relu")
    x, _ = batch()
    mask = torch.zeros(x.shape[:2], dtype=torch.bool)
    y_plain, g_plain = grads(plain, x, mask, True)
    y_fused, g_fused = grads(fused, x, mask, True)
    torch.testing.assert_close(y_fused, y_plain, rtol=0, atol=0)
    for gp, gf in zip(g_plain, g_fused):
        torch.testing.assert_close(gf, gp, rtol=1e-12, atol=1e-15)


def test_fused_keeps_no_tensor_of_size_batch_x_positions_x_hidden():
    _, fused = pair(POOLINGS["attention"], "relu", chunk=0, dtype=torch.float32, inputs=2,
                    hidden=100)
    x = torch.rand(10, 500, 2)
    y = fused(x)
    nodes, seen = [y.grad_fn], []
    while nodes:  # walk the graph back to the fused node
        node = nodes.pop()
        seen.append(node)
        nodes += [f for f, _ in node.next_functions if f is not None]
    (node,) = [n for n in seen if isinstance(n, FusedEncodePool._backward_cls)]
    saved = sum(t.numel() for t in node.saved_tensors)
    assert saved < 5 * 10 * 500  # x (3 numbers a position) + scores + small: not 10*500*100


SPEC = DataSpec(task_type="regression", num_outputs=1, input_dim=2,
                max_len=200)
TOKENS = DataSpec(task_type="classification", num_outputs=2, vocab_size=50,
                  max_len=200)
NET = {"features": "vector", "hidden": 8, "activation": "relu", "head_hidden": 4, "fused": "on"}


@pytest.mark.parametrize("net,model,spec,why", [
    ({"features": "tokens"}, {"pooling": "attention"}, TOKENS, "the features are not raw vectors"),
    ({"dropout": 0.1}, {"pooling": "attention"}, SPEC, "dropout=0.1"),
    ({"positional": True}, {"pooling": "mean"}, SPEC, "positional embeddings are on"),
    ({"activation": "gelu"}, {"pooling": "mean"}, SPEC, "activation 'gelu' has no fused form"),
    ({}, {"pooling": "max"}, SPEC, "pooling MaxPooling has no fused form"),
])
def test_fused_on_where_it_does_not_apply_fails_saying_why(net, model, spec, why):
    with pytest.raises(ValueError, match=f"task.net.fused=on does not apply here: {why}"):
        build_network({**NET, **net}, model, spec)
    auto = build_network({**NET, **net, "fused": "auto"}, model, spec)  # auto falls back
    assert auto.fused_spec is None


def test_auto_uses_the_fused_path_on_long_sequences_only_and_off_never():
    auto = build_network({**NET, "fused": "auto"}, {"pooling": "attention"}, SPEC)
    off = build_network({**NET, "fused": "off"}, {"pooling": "attention"}, SPEC)
    on = build_network(NET, {"pooling": "attention"}, SPEC)
    long, short = torch.rand(2, FUSED_MIN_POSITIONS, 2), torch.rand(2, FUSED_MIN_POSITIONS - 1, 2)
    assert auto.uses_fused(long) and not auto.uses_fused(short)
    assert not off.uses_fused(long) and on.uses_fused(short)
    assert build_network({k: v for k, v in NET.items() if k != "fused"},
                         {"pooling": "mean"}, SPEC).fused == "auto"  # the default


def test_auto_falls_back_under_vmap():
    torch.manual_seed(0)
    net = build_network({**NET, "fused": "auto"}, {"pooling": "attention"}, SPEC)
    x = torch.rand(3, 2, FUSED_MIN_POSITIONS, 2)
    out = torch.func.vmap(lambda xi: net(xi))(x)
    torch.testing.assert_close(out, torch.stack([net(xi) for xi in x]))


@pytest.mark.parametrize("pooling", ["tanh", "heads4", "mean"])
def test_chunks_split_over_threads_give_the_same_result(pooling):
    """Shares of the chunks run in worker threads (single-threaded kernels): same numbers as
    one thread, the caller's thread count restored, and the same again on a rerun."""
    plain, fused = pair(POOLINGS[pooling], "relu")
    x, mask = batch(T=40)
    before = torch.get_num_threads()
    results = {}
    for threads in (1, 3, 3):
        fused.fused_spec = dataclasses.replace(fused.fused_spec, threads=threads)
        y, g = grads(fused, x, mask, False)
        assert torch.get_num_threads() == before
        results.setdefault(threads, []).append((y, g))
    y1, g1 = results[1][0]
    for y, g in results[3]:
        torch.testing.assert_close(y, y1, rtol=1e-12, atol=1e-14)
        for a, b in zip(g, g1):
            assert max_relative(a, b) <= 1e-12
    (y3, g3), (y3b, g3b) = results[3]
    assert torch.equal(y3, y3b) and all(torch.equal(a, b) for a, b in zip(g3, g3b))
    _, g_plain = grads(plain, x, mask, False)
    for a, b in zip(g3, g_plain):
        assert max_relative(a, b) <= 1e-5

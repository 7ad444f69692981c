"""The seed's backprop formulas against autograd, in float64.

Seed formulas (scores treated as not depending on W): ``dL/dW = sum_i a_i dL/dh_i dh_i/dW``
with ``dL/dh_i = a_i dL/do``, and ``dL/da_i = dL/do . h_i``. ``seed_literal=True`` must match
them exactly; the full model adds the score-path term ``sum_i dL/ds_i q * f'(z_i) x_i^T``.
"""

import torch

from project.models.features import VectorFeatures
from project.models.network import PoolingNetwork


def setup(seed_literal: bool):
    torch.manual_seed(3)
    net = PoolingNetwork(VectorFeatures(3), hidden=6, out_dim=1,
                         pooling={"pooling": "attention", "seed_literal": seed_literal},
                         activation="tanh").double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    y = torch.randn(2, 1, dtype=torch.float64)
    return net, x, mask, y


def seed_formula_terms(net, x, mask, y):
    """Gradients by the seed's formulas, and the score-path term, computed by hand."""
    W, b, q = net.hidden.weight, net.hidden.bias, net.pooling.query[0]
    with torch.no_grad():
        h = torch.tanh(x @ W.T + b)  # (B,T,D)
        s = (h @ q).masked_fill(~mask, float("-inf"))
        a = torch.softmax(s, dim=1)  # (B,T)
        o = (a.unsqueeze(-1) * h).sum(1)
    o_leaf = o.clone().requires_grad_()
    loss = torch.nn.functional.mse_loss(net.head(o_leaf), y)
    (g_o,) = torch.autograd.grad(loss, o_leaf)  # dL/do, (B,D)
    with torch.no_grad():
        fprime = 1 - h**2
        dL_dh = a.unsqueeze(-1) * g_o.unsqueeze(1)  # a_i dL/do
        dW_seed = torch.einsum("btd,btk->dk", dL_dh * fprime, x)
        db_seed = (dL_dh * fprime).sum((0, 1))
        dL_da = torch.einsum("btd,bd->bt", h, g_o)  # dL/do . h_i
        dL_ds = a * (dL_da - (a * dL_da).sum(1, keepdim=True))  # softmax Jacobian
        dq = torch.einsum("bt,btd->d", dL_ds, h)
        score_path = dL_ds.unsqueeze(-1) * q * fprime  # dL/ds_i * ds_i/dz_i
        dW_score = torch.einsum("btd,btk->dk", score_path, x)
        db_score = score_path.sum((0, 1))
    return loss, (dW_seed, db_seed, dq), (dW_score, db_score)


def autograd_grads(net, x, mask, y):
    loss = torch.nn.functional.mse_loss(net(x, mask), y)
    return torch.autograd.grad(loss, [net.hidden.weight, net.hidden.bias, net.pooling.query])


def test_seed_literal_mode_matches_the_seed_formulas_exactly():
    net, x, mask, y = setup(seed_literal=True)
    dW, db, dq = autograd_grads(net, x, mask, y)
    _, (dW_seed, db_seed, dq_seed), _ = seed_formula_terms(net, x, mask, y)
    torch.testing.assert_close(dW, dW_seed, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(db, db_seed, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(dq[0], dq_seed, rtol=1e-12, atol=1e-14)


def test_full_mode_differs_from_the_seed_by_the_score_path_term():
    net, x, mask, y = setup(seed_literal=False)
    dW, db, dq = autograd_grads(net, x, mask, y)
    _, (dW_seed, db_seed, dq_seed), (dW_score, db_score) = seed_formula_terms(net, x, mask, y)
    assert dW_score.abs().max() > 1e-6, "the score-path term is not negligible here"
    torch.testing.assert_close(dW - dW_seed, dW_score, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(db - db_seed, db_score, rtol=1e-10, atol=1e-14)
    torch.testing.assert_close(dq[0], dq_seed, rtol=1e-12, atol=1e-14)  # q's gradient is the same


def test_forward_is_the_same_in_both_modes():
    literal, x, mask, _ = setup(seed_literal=True)
    full, *_ = setup(seed_literal=False)
    torch.testing.assert_close(literal(x, mask), full(x, mask), rtol=0, atol=0)

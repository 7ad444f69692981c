"""Pooling over positions: the one place where the attention model and its baselines differ.

Every pooling takes ``h`` of shape (B, T, D) and a boolean ``mask`` (B, T), True at valid
positions, and returns (B, D). Padded positions get zero weight in every pooling.

Poolings live in a registry: a class registered under a name takes the hidden size ``dim``
and, as keyword arguments, its own hyperparameters, which come from ``conf/model/<x>.yaml``
(every key there except ``name`` and ``pooling``). A new pooling is one class with
``@register("key")`` plus one config file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import nn

POOLINGS: dict[str, type[nn.Module]] = {}
# Keys of a model config that are not pooling hyperparameters.
MODEL_KEYS = ("name", "pooling")


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make a pooling available as ``model.pooling=<name>``."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in POOLINGS:
            raise ValueError(f"pooling {name!r} is already registered ({POOLINGS[name].__name__})")
        POOLINGS[name] = cls
        return cls

    return add


def pooling_params(cls: type[nn.Module]) -> dict[str, inspect.Parameter]:
    """A pooling's hyperparameters: its constructor's keyword parameters other than ``dim``."""
    params = inspect.signature(cls.__init__).parameters
    return {k: p for k, p in params.items()
            if k not in ("self", "dim") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_type(key: str, value, default):
    """A hyperparameter must have its default's type: ``model.heads=abc`` fails naming the key.
    Returns the value (an integral float such as 4.0 becomes the int 4)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = number and float(value).is_integer(), "an integer"
        value = int(value) if ok else value
    elif isinstance(default, float):
        ok, kind = number, "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:
        return value
    if not ok:
        raise ValueError(f"model.{key}={value!r} must be {kind}")
    return value


def build_pooling(model: dict, dim: int) -> nn.Module:
    """The pooling ``model["pooling"]`` with every other key of ``model`` (but ``name``) as its
    hyperparameters. An unknown pooling, an unknown key or a mistyped value fails in one line."""
    kind = model.get("pooling")
    if kind not in POOLINGS:
        raise ValueError(f"model.pooling={kind!r}: expected one of {', '.join(sorted(POOLINGS))}")
    cls = POOLINGS[kind]
    params = pooling_params(cls)
    kwargs = {k: v for k, v in model.items() if k not in MODEL_KEYS}
    for key, value in kwargs.items():
        if key not in params:
            takes = ", ".join(params) or "none"
            raise ValueError(f"model.{key} is not a parameter of pooling {kind!r} "
                             f"(it takes: {takes})")
        kwargs[key] = check_type(key, value, params[key].default)
    return cls(dim, **kwargs)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1 restricted to valid positions (padded positions get exactly 0)."""
    scores = scores.masked_fill(~mask.unsqueeze(-1) if scores.dim() == 3 else ~mask, float("-inf"))
    return torch.softmax(scores, dim=1).nan_to_num(0.0)


def weighted_sum(a: torch.Tensor, h: torch.Tensor, elementwise: bool = False) -> torch.Tensor:
    """``sum_i a_i h_i`` over positions: ``a`` (B, T, 1), ``h`` (B, T, D) -> (B, D).

    One batched matrix product, no copy of ``h`` (the faster form for one run's batch);
    ``elementwise``: a product and a sum, the faster form where the matrix product would run
    as many small ones (a vectorised group: one per member and example; ``StackedMembers``)."""
    if elementwise:
        return (a * h).sum(1)
    return torch.bmm(a.transpose(1, 2), h).squeeze(1)


@register("attention")
class AttentionPooling(nn.Module):
    """Feed-forward attention (Raffel & Ellis 2016): ``a = softmax(score(h))``, ``o = sum a_i h_i``.

    score ``dot``: ``q . h_i`` (a bias-free linear layer D -> 1, the seed's formula);
    score ``tanh``: ``tanh(w . h_i + b)`` (Raffel & Ellis 2016).
    ``heads`` > 1 splits ``h`` into equal subspaces, one query each, and concatenates.
    ``seed_literal`` computes the scores from ``h.detach()``: backprop then follows the seed's
    formulas exactly (the scores are treated as not depending on the encoder's weights).
    ``elementwise``: scores and sum as products and sums (``weighted_sum``), same values to
    float rounding.
    """

    elementwise = False

    def __init__(self, dim: int, heads: int = 1, score: str = "dot", seed_literal: bool = False):
        super().__init__()
        if heads < 1 or dim % heads != 0:
            raise ValueError(f"model.heads={heads} must be >= 1 and divide the hidden size {dim}")
        if score not in ("dot", "tanh"):
            raise ValueError(f"model.score={score!r}: expected 'dot' or 'tanh'")
        self.heads, self.score_kind, self.seed_literal = heads, score, seed_literal
        self.head_dim = dim // heads
        # One query per head: a grouped bias-free projection head_dim -> 1 per subspace.
        self.query = nn.Parameter(torch.empty(heads, self.head_dim))
        nn.init.normal_(self.query, std=self.head_dim**-0.5)
        self.bias = nn.Parameter(torch.zeros(heads)) if score == "tanh" else None
        self.last_weights: torch.Tensor | None = None

    def init_raffel2016(self) -> None:
        """Raffel & Ellis's init: the query (a 1 x D/H matrix per head) N(0, 1/fan_in), bias 0."""
        nn.init.normal_(self.query, std=self.head_dim**-0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores, shape (B, T, heads)."""
        if self.heads == 1 and self.elementwise:
            s = (h * self.query[0]).sum(-1, keepdim=True)
        elif self.heads == 1:
            s = (h @ self.query[0]).unsqueeze(-1)
        else:
            s = torch.einsum("bthd,hd->bth", h.view(*h.shape[:2], self.heads, self.head_dim),
                             self.query)
        if self.score_kind == "tanh":
            s = torch.tanh(s + self.bias)
        return s

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = masked_softmax(self.scores(h.detach() if self.seed_literal else h), mask)  # (B,T,H)
        self.last_weights = a.detach()
        if self.heads == 1:
            return weighted_sum(a, h, self.elementwise)
        hs = h.view(*h.shape[:2], self.heads, self.head_dim)
        return torch.einsum("bth,bthd->bhd", a, hs).reshape(h.shape[0], -1)


@register("mean")
class MeanPooling(nn.Module):
    """The plain baseline: uniform weights over valid positions (divides by the true length).
    ``elementwise``: as ``AttentionPooling``'s."""

    elementwise = False

    def __init__(self, dim: int):
        super().__init__()

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.to(h.dtype)
        weights = m / m.sum(1, keepdim=True).clamp_min(1.0)  # 1/length at valid positions
        return weighted_sum(weights.unsqueeze(-1), h, self.elementwise)


@register("max")
class MaxPooling(nn.Module):
    """An extra baseline: elementwise max over valid positions."""

    def __init__(self, dim: int):
        super().__init__()

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)

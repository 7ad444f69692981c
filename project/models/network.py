"""The one network: features -> ``h_i = f(W x_i + b)`` per position -> pooling -> head.

The attention model and every baseline are this class with a different pooling layer. The
pooling parameters are created *last*, after every shared layer, so that under one seed the
attention model and the baseline start from identical shared weights (paired runs).

Options from Raffel & Ellis (2016): ``output_activation="leaky_relu"`` (``y = LReLU(W_sy s +
b_sy)``), ``init="raffel2016"`` (every linear weight N(0, 1/fan_in), biases 0) and
``padding="unmasked"`` (the authors' code: every pooling runs over the batch's whole padded
width, padded steps included as the data has them; the default ``masked`` pools valid steps
only). ``fused`` picks the long-sequence fast path (``chunked_pooling``) for raw vector inputs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from project.models.chunked_pooling import (FUSED_ACTIVATIONS, FusedSpec, LEAKY_SLOPE,
                                            fused_encode_pool)
from project.models.features import VectorFeatures
from project.models.pooling import AttentionPooling, MeanPooling, build_pooling

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}
OUTPUT_ACTIVATIONS = ("none", "leaky_relu")
INITS = ("default", "raffel2016")
FUSED = ("auto", "on", "off")
PADDINGS = ("masked", "unmasked")
# fused=auto uses the fused path from this many positions on (below it a step is short and
# the plain path's few large kernels are as fast; see docs/benchmarks.md, long-sequence).
FUSED_MIN_POSITIONS = 100


def init_raffel2016(module: nn.Module) -> None:
    """Raffel & Ellis's init in creation order: every linear weight N(0, 1/fan_in), biases 0;
    then a pooling's own parameters through its ``init_raffel2016`` (the attention query)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=1 / math.sqrt(layer.in_features))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    if hasattr(module, "init_raffel2016"):
        module.init_raffel2016()


class PoolingNetwork(nn.Module):
    """Feed-forward pooling network (Raffel & Ellis 2016) with an exchangeable pooling layer.

    ``pooling`` is a model config (``{"pooling": "attention", "heads": 4, ...}``, see
    ``pooling.build_pooling``) or a registered pooling's name with its defaults.
    """

    def __init__(
        self,
        features: nn.Module,
        hidden: int,
        out_dim: int,
        pooling: dict | str = "attention",
        activation: str = "relu",
        head_hidden: int = 0,
        dropout: float = 0.0,
        positional: bool = False,
        max_len: int = 0,
        output_activation: str = "none",
        init: str = "default",
        fused: str = "auto",
        padding: str = "masked",
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}: expected one of {sorted(ACTIVATIONS)}")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"task.net.output_activation={output_activation!r}: expected one "
                             f"of {', '.join(OUTPUT_ACTIVATIONS)}")
        if init not in INITS:
            raise ValueError(f"task.net.init={init!r}: expected one of {', '.join(INITS)}")
        if fused not in FUSED:
            raise ValueError(f"task.net.fused={fused!r}: expected one of {', '.join(FUSED)}")
        if padding not in PADDINGS:
            raise ValueError(f"task.net.padding={padding!r}: expected one of "
                             f"{', '.join(PADDINGS)}")
        if positional and max_len < 1:
            raise ValueError("positional embeddings need max_len >= 1")
        model = {"pooling": pooling} if isinstance(pooling, str) else dict(pooling)
        # Shared layers first (same init under one seed for every pooling) ...
        self.features = features
        self.hidden = nn.Linear(features.out_dim, hidden)  # W, b of h_i = f(W x_i + b)
        self.position = nn.Embedding(max_len, hidden) if positional else None
        self.activation_name = activation
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        head = ([nn.Linear(hidden, head_hidden), ACTIVATIONS[activation](), nn.Dropout(dropout)]
                if head_hidden else [])  # no zero-size layer (it draws no random numbers)
        self.head = nn.Sequential(*head,
                                  nn.Linear(head_hidden or hidden, out_dim))
        self.output_activation = (nn.LeakyReLU(LEAKY_SLOPE) if output_activation == "leaky_relu"
                                  else None)
        if init == "raffel2016":  # re-drawn before the pooling exists: pairing holds
            init_raffel2016(self)
        # ... pooling last.
        self.pooling = build_pooling(model, hidden)
        if init == "raffel2016":
            init_raffel2016(self.pooling)
        self.fused, self.padding = fused, padding
        self.fused_spec, why_not = self._fused_spec()
        if fused == "on" and self.fused_spec is None:
            raise ValueError(f"task.net.fused=on does not apply here: {why_not} "
                             "(use fused=auto or off)")

    def _fused_spec(self) -> tuple[FusedSpec | None, str]:
        """The fused path's spec, or None and why it does not apply."""
        if not isinstance(self.features, VectorFeatures):
            return None, f"the features are not raw vectors ({type(self.features).__name__})"
        if self.dropout.p > 0:
            return None, f"dropout={self.dropout.p} (the fused path needs dropout 0)"
        if self.position is not None:
            return None, "positional embeddings are on"
        if self.activation_name not in FUSED_ACTIVATIONS:
            return None, f"activation {self.activation_name!r} has no fused form"
        pool = self.pooling
        if type(pool) is AttentionPooling:
            return FusedSpec("attention", self.activation_name, heads=pool.heads,
                             score=pool.score_kind, seed_literal=pool.seed_literal), ""
        if type(pool) is MeanPooling:
            return FusedSpec("mean", self.activation_name), ""
        return None, f"pooling {type(pool).__name__} has no fused form"

    def uses_fused(self, x: torch.Tensor) -> bool:
        """Whether ``forward(x)`` takes the fused path."""
        if self.fused == "off" or self.fused_spec is None:
            return False
        if torch._C._are_functorch_transforms_active():  # vmap/grad: autograd.Function lacks rules
            if self.fused == "on":
                raise ValueError("task.net.fused=on cannot run under torch.func transforms")
            return False
        return self.fused == "on" or x.shape[1] >= FUSED_MIN_POSITIONS

    def encode(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """Per-position hidden states ``h`` (B, T, hidden) and the validity mask (B, T)."""
        feats, mask = self.features(x, mask)
        pre = self.hidden(feats)
        if self.position is not None:
            pre = pre + self.position.weight[: pre.shape[1]]
        return self.dropout(self.activation(pre)), mask

    def pooled_positions(self, mask: torch.Tensor) -> torch.Tensor:
        """The positions the pooling runs over: the valid ones (``padding=masked``) or every
        column of the padded batch (``unmasked``, Raffel & Ellis's code, which never passes
        its mask to the network: softmax over all columns, mean divided by the width)."""
        return mask if self.padding == "masked" else torch.ones_like(mask)

    def pool(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled representation (B, hidden): fused where it applies, else encode + pool."""
        if self.uses_fused(x):
            feats, mask = self.features(x, mask)
            mask = self.pooled_positions(mask)
            pool = self.pooling
            attention = self.fused_spec.pooling == "attention"
            if attention:
                pool.last_weights = None  # only the plain path records the weights
            return fused_encode_pool(feats, mask, self.hidden.weight, self.hidden.bias,
                                     self.fused_spec, query=pool.query if attention else None,
                                     score_bias=pool.bias if attention else None)
        h, mask = self.encode(x, mask)
        return self.pooling(h, self.pooled_positions(mask))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.head(self.pool(x, mask))
        return y if self.output_activation is None else self.output_activation(y)

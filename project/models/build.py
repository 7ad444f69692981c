"""Build the network for a task from its config and its data's ``DataSpec``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from project.data.base import DataSpec
from project.models.features import TokenFeatures, VectorFeatures
from project.models.image_features import ConvFeatures, PatchFeatures
from project.models.network import PoolingNetwork

# features name -> factory(net_cfg, spec) -> feature module with an ``out_dim``
FEATURES: dict[str, Callable[[dict, DataSpec], nn.Module]] = {
    "vector": lambda net, spec: VectorFeatures(spec.input_dim),
    "tokens": lambda net, spec: TokenFeatures(spec.vocab_size, net.get("embed_dim", 64)),
    "patches": lambda net, spec: PatchFeatures(spec.image_shape, net.get("patch_size", 4)),
    "cnn": lambda net, spec: ConvFeatures(
        spec.image_shape, tuple(net.get("cnn_channels", (32, 64))), net.get("cnn_pool")),
}


def build_network(net: dict, model: dict, spec: DataSpec) -> PoolingNetwork:
    """Features, shared layers and head from ``task.net``; pooling from ``model`` (its
    ``pooling`` key and that pooling's own hyperparameters, see ``pooling.build_pooling``).

    Call under a fixed seed: shared layers are created before the pooling, so every pooling
    gets the same shared initial weights.
    """
    kind = net.get("features", "vector")
    if kind not in FEATURES:
        raise ValueError(f"task.net.features={kind!r}: expected one of {sorted(FEATURES)}")
    features = FEATURES[kind](net, spec)
    max_len = getattr(features, "num_positions", spec.max_len)
    return PoolingNetwork(
        features,
        hidden=int(net["hidden"]),
        out_dim=spec.num_outputs,
        pooling=model,
        activation=net.get("activation", "relu"),
        head_hidden=int(net.get("head_hidden", 0)),
        dropout=float(net.get("dropout", 0.0)),
        positional=bool(net.get("positional", False)),
        max_len=max_len,
        output_activation=net.get("output_activation", "none"),
        init=net.get("init", "default"),
        fused=net.get("fused", "auto"),
        padding=net.get("padding", "masked"),
    )

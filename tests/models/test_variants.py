"""The named model variants in conf/model/: each composes, builds, and differs only in pooling."""

from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from project.data.base import DataSpec
from project.models.build import build_network
from project.models.pooling import AttentionPooling, MaxPooling, MeanPooling

CONF = Path(__file__).resolve().parents[2] / "conf"
VARIANTS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
SPEC = DataSpec(task_type="regression", num_outputs=1, input_dim=2,
                max_len=100)
# variant -> (pooling class, attributes)
EXPECTED = {
    "attention": (AttentionPooling, {"heads": 1, "score_kind": "dot", "seed_literal": False}),
    "attention_tanh": (AttentionPooling, {"heads": 1, "score_kind": "tanh", "seed_literal": False}),
    "attention_heads4": (AttentionPooling,
                         {"heads": 4, "score_kind": "dot", "seed_literal": False}),
    "attention_seed_literal": (AttentionPooling,
                               {"heads": 1, "score_kind": "dot", "seed_literal": True}),
    "baseline": (MeanPooling, {}),
    "max": (MaxPooling, {}),
}


def compose_train(overrides: list[str]):
    """The real train config (conf/train.yaml) as the command line composes it."""
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose("train", overrides=[*overrides, "run_dir=unused"])


def test_the_expected_variants_are_there():
    assert set(EXPECTED) <= set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_file_names_itself_and_says_what_it_is(variant):
    path = CONF / "model" / f"{variant}.yaml"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# ") and len(lines[0]) > 10, "first line: what this variant is"
    assert not lines[1].startswith("#"), "one comment line"
    assert yaml.safe_load(path.read_text())["name"] == variant


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_composes_and_builds_its_pooling(variant):
    cfg = compose_train(["task=adding", f"model={variant}"])
    model = OmegaConf.to_container(cfg.model, resolve=True)
    assert model["name"] == variant
    net = build_network(OmegaConf.to_container(cfg.task.net, resolve=True), model, SPEC)
    if variant in EXPECTED:
        cls, attrs = EXPECTED[variant]
        assert type(net.pooling) is cls
        assert {k: getattr(net.pooling, k) for k in attrs} == attrs


def test_all_variants_start_from_the_same_shared_weights_under_one_seed():
    cfg = compose_train(["task=adding"])
    net_cfg = OmegaConf.to_container(cfg.task.net, resolve=True)
    nets = {}
    for variant in VARIANTS:
        model = OmegaConf.to_container(compose_train([f"model={variant}"]).model, resolve=True)
        torch.manual_seed(5)
        nets[variant] = build_network(net_cfg, model, SPEC).state_dict()
    shared = nets["baseline"]
    assert shared, "the control has parameters"
    for variant, state in nets.items():
        assert set(state) - set(shared) <= {"pooling.query", "pooling.bias"}, variant
        for name, value in shared.items():
            torch.testing.assert_close(state[name], value, rtol=0, atol=0, msg=variant)

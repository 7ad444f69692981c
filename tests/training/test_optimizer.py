"""The optimizer is a config group (conf/optimizer/*.yaml), instantiated with _partial_."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from project.runs.identity import identity_of
from project.training.module import build_optimizer
from tests.conftest import compose_train


@pytest.mark.parametrize("name, kind", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                        ("sgd", torch.optim.SGD)])
def test_each_optimizer_config_builds_its_torch_optimizer(tmp_path, name, kind):
    cfg = compose_train(["task=italypower", f"optimizer={name}", "optimizer.lr=0.02"], tmp_path)
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt, sched = build_optimizer(params, OmegaConf.to_container(cfg.optimizer, resolve=True),
                                 None, 10)
    assert type(opt) is kind and sched is None
    assert opt.param_groups[0]["lr"] == 0.02 and opt.param_groups[0]["params"] == params


def test_the_default_takes_the_tasks_rate_and_a_new_optimizer_is_a_setting(tmp_path):
    cfg = compose_train(["task=italypower"], tmp_path)
    opt, _ = build_optimizer([torch.nn.Parameter(torch.zeros(1))],
                             OmegaConf.to_container(cfg.optimizer, resolve=True), None, 10)
    assert type(opt) is torch.optim.Adam  # at the model's own rate (task.model_lr)
    assert opt.param_groups[0]["lr"] == cfg.task.model_lr[cfg.model.name]
    shared = compose_train(["task=italypower", "task.model_lr=null"], tmp_path)
    assert shared.optimizer.lr == shared.task.lr != cfg.optimizer.lr  # every model at task.lr
    sgd = identity_of(compose_train(["task=italypower", "optimizer=sgd"], tmp_path))
    assert "optimizer._target_=torch.optim.SGD" in sgd.setting_overrides


def test_an_optimizer_without_target_is_refused():
    with pytest.raises(ValueError, match="no _target_"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], {"name": "adam", "lr": 0.1},
                        None, 10)

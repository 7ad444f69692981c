"""Generalisation at an equal budget: the summary's test and training figures of the weights
training ended with, against an independent evaluation of those weights (``last.ckpt``)."""

from __future__ import annotations

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from project.models.build import build_network
from project.runs import folder as run_folder
from project.training.run import train
from tests.conftest import compose_train

# a rate at which the last evaluation is not the best (the test below checks it)
DIGITS = ["task=digits", "task.budget.max_steps=70", "task.budget.val_every_n_steps=10",
          "optimizer.lr=0.03", "trainer.num_threads=1", "trainer.enable_progress_bar=false"]


def accuracy(network: torch.nn.Module, split: dict[str, torch.Tensor]) -> float:
    network.eval()
    with torch.no_grad():
        predicted = network(split["x"], split.get("mask")).argmax(-1)
    return float((predicted == split["y"]).float().mean())


def test_at_budget_is_the_last_weights_on_test_and_a_fixed_training_sample(tmp_path):
    cfg = compose_train(DIGITS, tmp_path)
    summary = train(cfg)
    data = instantiate(cfg.task.data, seed=0)
    data.setup()
    network = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                            OmegaConf.to_container(cfg.model, resolve=True), data.spec)
    state = torch.load(run_folder.last_checkpoint(tmp_path), weights_only=True)["state_dict"]
    network.load_state_dict({k.removeprefix("network."): v for k, v in state.items()})

    assert summary["final_val"] != summary["best_val"]  # the last weights are not the best
    assert summary["test_at_budget"] == accuracy(network, data.splits["test"])
    train_split, n_test = data.splits["train"], len(data.splits["test"]["y"])
    sample = torch.randperm(len(train_split["y"]), generator=torch.Generator().manual_seed(0))
    chosen = sample[:n_test].sort().values
    assert summary["train_at_budget"] == accuracy(
        network, {k: v[chosen] for k, v in train_split.items()})
    assert set(summary["metrics_at_budget"]) == {"test/loss", "test/acc", "train/loss",
                                                 "train/acc"}


def test_the_adding_problem_has_no_fixed_training_sample(tmp_path, tiny_adding):
    summary = train(compose_train(tiny_adding, tmp_path))
    assert summary["test_at_budget"] is not None and summary["train_at_budget"] is None

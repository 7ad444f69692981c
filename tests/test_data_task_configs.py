"""Every real-data task config composes, names its convergence settings, and trains a few
steps through ``project.train.train`` on the offline copies."""

from __future__ import annotations

import pytest

from project.train import train
from tests.conftest import compose_train

REAL_TASKS = ["sst2", "trec", "etth1", "gunpoint", "italypower", "usps", "digits"]


@pytest.mark.parametrize("task", REAL_TASKS)
def test_task_config_trains_a_few_steps(tmp_path, task):
    full = compose_train([f"task={task}"], tmp_path / "full").task
    assert full.direction in ("max", "min") and full.val_metric.startswith("val/")
    assert full.budget.max_steps % full.budget.val_every_n_steps == 0
    if full.data._target_.endswith(("ForecastDataModule", "SeriesClassificationDataModule",
                                    "ImageClassificationDataModule")):
        assert full.net.positional  # order-aware by default for series and images
    cfg = compose_train([f"task={task}", "task.budget.max_steps=4",
                         "task.budget.val_every_n_steps=2"], tmp_path / "run")
    summary = train(cfg)
    assert summary["steps_trained"] == 4 and not summary["diverged"]
    metric = full.val_metric.replace("val/", "test/")
    assert metric in summary["test_metrics"]
    assert (tmp_path / "run" / "summary.json").exists()

"""Every real-data task config composes and names its convergence settings (training a few
steps of every task x model is ``tests/test_train.py``)."""

from __future__ import annotations

import pytest

from tests.conftest import compose_train

REAL_TASKS = ["sst2", "trec", "etth1", "gunpoint", "italypower", "usps", "digits", "fsdd"]


@pytest.mark.parametrize("task", REAL_TASKS)
def test_task_config_names_its_convergence_settings(tmp_path, task):
    full = compose_train([f"task={task}"], tmp_path / "full").task
    assert full.direction in ("max", "min") and full.val_metric.startswith("val/")
    assert full.budget.max_steps % full.budget.val_every_n_steps == 0
    if full.data._target_.endswith(("ForecastDataModule", "SeriesClassificationDataModule",
                                    "ImageClassificationDataModule")):
        assert full.net.positional  # order-aware by default for series and images

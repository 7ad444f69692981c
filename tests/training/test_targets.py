"""Targets by a written rule: custom tasks default to one no untrained model can meet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from project.runs.folder import read_curve
from project.training.run import train
from tests.conftest import compose_train

ETTH1 = "../shared/data/etth1/ETTh1.csv"


def test_custom_forecast_default_target_is_not_met_by_the_untrained_model(tmp_path):
    # the case: a user's CSV, horizon 96; the old default (val MSE 0.5) was met at step 0
    cfg = compose_train(["task=custom_forecast", f"task.data.path={ETTH1}",
                         "task.data.columns=[OT]", "task.data.horizon=96",
                         "task.budget.max_steps=20", "task.budget.val_every_n_steps=10"],
                        tmp_path)
    summary = train(cfg)
    rows = read_curve(tmp_path)
    naive = float(summary["target_rule"].rsplit(" ", 1)[1])
    assert summary["target"] == pytest.approx(0.9 * naive, rel=1e-3)
    assert rows[0]["step"] == 0 and rows[0]["val/mse"] > summary["target"]
    assert summary["target_met_at_start"] is False and summary["steps_to_target"] > 0


def test_trivial_classification_target_is_halfway_from_the_majority_class(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], 200, p=[0.7, 0.2, 0.1])
    df = pd.DataFrame({"text": [f"w{i % 7} x" for i in range(200)], "label": labels})
    df.to_csv(tmp_path / "t.csv", index=False)
    summary = train(compose_train(["task=custom_text", f"task.data.path={tmp_path / 't.csv'}",
                                   "task.budget.max_steps=4", "task.budget.val_every_n_steps=2"],
                                  tmp_path / "run"))
    from hydra.utils import instantiate

    dm = instantiate(compose_train(["task=custom_text", f"task.data.path={tmp_path / 't.csv'}"],
                                   tmp_path / "x").task.data, seed=0)
    dm.setup()
    val = pd.Series(dm.splits["val"]["y"].numpy())
    majority = val.value_counts(normalize=True).max()
    assert summary["target"] == pytest.approx(majority + (1 - majority) / 2)


def test_a_target_met_at_step_zero_is_flagged(tmp_path, tiny_adding):
    summary = train(compose_train([*tiny_adding, "task.val_metric=val/mse", "task.direction=min",
                                   "task.target=100", "task.stop_at_target=false"], tmp_path))
    assert summary["target_met_at_start"] is True and summary["steps_to_target"] == 0


def test_an_unknown_target_rule_is_refused(tmp_path, tiny_adding):
    with pytest.raises(ValueError, match="task.target='median'"):
        train(compose_train([*tiny_adding, "task.target=median"], tmp_path))

"""Bad input fails before training with one clear line (and exit code 2 from the CLI)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate

from tests.conftest import ROOT, compose_train


def setup_data(task: str, tmp_path, *overrides: str):
    cfg = compose_train([f"task={task}", *overrides], tmp_path / "run")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup()
    return dm


def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_missing_file_exits_2_naming_every_place(tmp_path):
    missing = tmp_path / "nope.csv"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "WANDB_MODE": "offline", "SUITE_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "project.train", "task=sst2", f"task.data.path={missing}",
         f"run_dir={tmp_path / 'run'}", "trainer.enable_progress_bar=false"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for place in (str(missing), str(tmp_path / "sst2" / "train.csv"), "stanfordnlp/sst2",
                  "HF offline mode is on"):
        assert place in lines[0]
    assert not (tmp_path / "run" / "summary.json").exists()


def test_missing_column_lists_available(tmp_path):
    pd.DataFrame({"sentence": ["a b", "c d"] * 10, "y": [0, 1] * 10}).to_csv(
        tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError) as err:
        setup_data("custom_text", tmp_path, f"task.data.path={tmp_path / 't.csv'}")
    msg = one_line(err)
    assert "'text'" in msg and "available: ['sentence', 'y']" in msg


def test_non_numeric_value_names_column_and_row(tmp_path):
    df = pd.DataFrame(np.arange(60, dtype=float).reshape(20, 3), columns=["t0", "t1", "t2"])
    df["label"] = [0, 1] * 10
    df = df.astype({"t1": object})
    df.loc[6, "t1"] = "oops"
    df.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(ValueError) as err:
        setup_data("custom_series", tmp_path, f"task.data.path={tmp_path / 's.csv'}")
    msg = one_line(err)
    assert "column 't1'" in msg and "'oops'" in msg and "row 7" in msg


@pytest.mark.parametrize("content", ["", "text,label\n"])
def test_empty_file(tmp_path, content):
    (tmp_path / "e.csv").write_text(content)
    with pytest.raises(ValueError) as err:
        setup_data("custom_text", tmp_path, f"task.data.path={tmp_path / 'e.csv'}")
    msg = one_line(err)
    assert str(tmp_path / "e.csv") in msg and ("empty" in msg or "no data rows" in msg)


def test_label_out_of_range(tmp_path):
    pd.DataFrame({"text": ["a b"] * 20, "label": [0, 1] * 9 + [1, 7]}).to_csv(
        tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError) as err:
        setup_data("custom_text", tmp_path, f"task.data.path={tmp_path / 't.csv'}",
                   "task.data.num_classes=2", "task.data.val_fraction=0.2",
                   "task.data.test_fraction=0.2")
    msg = one_line(err)
    assert "label 7" in msg and "[0, 2)" in msg


def test_nan_in_series_needs_a_fill_policy(tmp_path):
    values = np.sin(np.arange(300) / 5)
    values[123] = np.nan
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=300, freq="D").astype(str),
                  "v": values}).to_csv(tmp_path / "f.csv", index=False)
    over = [f"task.data.path={tmp_path / 'f.csv'}", "task.data.lookback=20",
            "task.data.horizon=5"]
    with pytest.raises(ValueError) as err:
        setup_data("custom_forecast", tmp_path, *over)
    msg = one_line(err)
    assert "NaN" in msg and "row 124" in msg and "data.fill" in msg
    dm = setup_data("custom_forecast", tmp_path, *over, "task.data.fill=interpolate")
    assert all(np.isfinite(d["x"].numpy()).all() for d in dm.splits.values())

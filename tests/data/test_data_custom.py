"""Bring your own data: each kind trains from files the test writes, by config alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate

from project.training.run import train
from tests.conftest import compose_train

SHORT = ["task.budget.max_steps=6", "task.budget.val_every_n_steps=3", "task.data.batch_size=8"]


def run(task: str, tmp_path, *overrides: str) -> dict:
    cfg = compose_train([f"task={task}", *SHORT, *overrides], tmp_path / "run")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup()
    summary = train(cfg)
    assert summary["steps_trained"] == 6 and summary["test_metrics"]
    return {"dm": dm, "summary": summary}


def test_custom_text_csv_with_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    words = {"pos": ["great", "fine", "lovely"], "neg": ["awful", "bad", "dull"]}
    labels = rng.choice(["neg", "pos"], 120)
    df = pd.DataFrame({"review": [" ".join(rng.choice(words[y], 4)) for y in labels],
                       "stars": labels})
    df.to_csv(tmp_path / "reviews.csv", index=False)
    out = run("custom_text", tmp_path, f"task.data.path={tmp_path / 'reviews.csv'}",
              "task.data.text_column=review", "task.data.label_column=stars")
    dm = out["dm"]
    assert dm.spec.extra["classes"] == ["neg", "pos"]
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == {"train": 96, "val": 12, "test": 12}


def test_custom_series_wide_parquet(tmp_path):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 90)
    t = np.linspace(0, 1, 32)
    values = np.sin(2 * np.pi * (y[:, None] + 1) * t) + 0.1 * rng.standard_normal((90, 32))
    df = pd.DataFrame(values, columns=[f"v{i}" for i in range(32)]).assign(cls=y)
    df.to_parquet(tmp_path / "series.parquet")
    out = run("custom_series", tmp_path, f"task.data.path={tmp_path / 'series.parquet'}",
              "task.data.label_column=cls", "task.data.patch_len=4")
    assert out["dm"].splits["train"]["x"].shape[1:] == (8, 4)
    assert out["dm"].spec.num_outputs == 3


def test_custom_series_long_layout_pads_and_masks(tmp_path):
    rows = []
    for sid in range(30):
        n = 10 + sid % 4  # unequal lengths
        rows += [{"id": f"s{sid}", "t": n - k, "a": float(k), "b": float(sid), "y": sid % 2}
                 for k in range(n)]  # time steps written in reverse order
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    out = run("custom_series", tmp_path, f"task.data.path={tmp_path / 'long.csv'}",
              "task.data.layout=long", "task.data.id_column=id", "task.data.time_column=t",
              "task.data.value_columns=[a,b]", "task.data.label_column=y",
              "task.data.normalize=none")
    d = out["dm"].splits
    x, mask = (np.concatenate([d[s][k].numpy() for s in d]) for k in ("x", "mask"))
    assert x.shape[1:] == (13, 2)
    assert sorted(set(mask.sum(1).tolist())) == [10, 11, 12, 13]
    first = x[0, : int(mask[0].sum()), 0]
    assert np.all(np.diff(first) < 0)  # ordered by the time column (a = n - t counts down)


def test_custom_forecast_csv(tmp_path):
    when = pd.date_range("2024-01-01", periods=400, freq="h")
    df = pd.DataFrame({"day": when.astype(str), "sales": np.sin(np.arange(400) / 10),
                       "price": np.cos(np.arange(400) / 7)})
    df.sample(frac=1, random_state=0).to_csv(tmp_path / "sales.csv", index=False)  # shuffled
    out = run("custom_forecast", tmp_path, f"task.data.path={tmp_path / 'sales.csv'}",
              "task.data.date_column=day", "task.data.columns=[sales]",
              "task.data.lookback=24", "task.data.horizon=6")
    dm = out["dm"]
    assert dm.splits["train"]["x"].shape[1:] == (24, 1) and dm.spec.num_outputs == 6
    assert len(dm.splits["train"]["x"]) == 280 - 24 - 6 + 1  # 70% of 400 rows, sorted by day
    assert dm.spec.extra["naive_mse_test"] > 0


@pytest.mark.parametrize("layout", ["pixel_columns", "pixels_column"])
def test_custom_image(tmp_path, layout):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 80)
    pixels = rng.integers(0, 256, (80, 64)) + 100 * y[:, None]
    if layout == "pixel_columns":
        df = pd.DataFrame(pixels, columns=[f"px{i}" for i in range(64)]).assign(label=y)
        path, extra = tmp_path / "img.csv", ["task.data.pixel_columns=px"]
        df.to_csv(path, index=False)
    else:
        df = pd.DataFrame({"pixels": list(pixels.astype(np.float32)), "label": y})
        path = tmp_path / "img.parquet"
        extra = ["task.data.pixel_columns=null", "task.data.pixels_column=pixels"]
        df.to_parquet(path)
    out = run("custom_image", tmp_path, f"task.data.path={path}", "task.data.image_shape=[1,8,8]",
              "task.net.patch_size=2", *extra)
    assert out["dm"].splits["train"]["x"].shape[1:] == (1, 8, 8)
    assert out["dm"].spec.num_outputs == 4

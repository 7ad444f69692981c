"""Time-series DataModules on the offline copies: ETTh1 (Informer protocol) and UCR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hydra.utils import instantiate

from project.data.sources import offline_data_dir
from tests.conftest import compose_train


def datamodule(task: str, tmp_path, *overrides: str, seed: int = 0):
    dm = instantiate(compose_train([f"task={task}", *overrides], tmp_path).task.data, seed=seed)
    dm.setup()
    return dm


@pytest.fixture(scope="module")
def etth1_raw() -> pd.DataFrame:
    return pd.read_csv(offline_data_dir() / "etth1" / "ETTh1.csv")


def test_etth1_informer_windows(tmp_path, etth1_raw):
    dm = datamodule("etth1", tmp_path, "task.data.subtract_last=false")
    n = {s: len(d["x"]) for s, d in dm.splits.items()}
    # train windows inside [0, 8640); val/test start 96 rows early: 2880 - 24 + 1 each
    assert n == {"train": 8640 - 96 - 24 + 1, "val": 2857, "test": 2857}
    assert dm.splits["train"]["x"].shape[1:] == (96, 1)
    assert dm.splits["train"]["y"].shape[1:] == (24,)
    ot = etth1_raw["OT"].to_numpy()
    mean, std = ot[:8640].mean(), ot[:8640].std()  # train rows only
    assert dm.stats["mean"][0] == pytest.approx(mean, rel=1e-5)
    assert dm.stats["std"][0] == pytest.approx(std, rel=1e-5)
    # the first test window: rows [11520 - 96, 11520) -> [11520, 11544)
    x0, y0 = dm.splits["test"]["x"][0, :, 0], dm.splits["test"]["y"][0]
    np.testing.assert_allclose(x0.numpy(), (ot[11424:11520] - mean) / std, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y0.numpy(), (ot[11520:11544] - mean) / std, rtol=1e-4, atol=1e-5)
    assert dm.spec.extra["naive_mse_test"] == pytest.approx(
        float(((dm.splits["test"]["x"][:, -1:, 0] - dm.splits["test"]["y"]) ** 2).mean()),
        rel=1e-5)


def test_etth1_subtract_last_keeps_errors_and_all_channels(tmp_path):
    rel = datamodule("etth1", tmp_path, "task.data.subtract_last=true")
    # predicting 0 on relative targets is the naive forecast: same MSE
    assert float((rel.splits["test"]["y"] ** 2).mean()) == pytest.approx(
        rel.spec.extra["naive_mse_test"], rel=1e-5)
    assert torch.all(rel.splits["train"]["x"][:, -1] == 0)
    multi = datamodule("etth1", tmp_path, "task.data.columns=null", "task.data.patch_len=4")
    assert multi.splits["train"]["x"].shape[1:] == (24, 4 * 7)  # 96 steps / 4, 4 x 7 values
    assert multi.splits["train"]["y"].shape[1:] == (24 * 7,)
    assert multi.spec.num_outputs == 24 * 7 and multi.spec.max_len == 24


@pytest.mark.parametrize("task,name,length,sizes", [
    ("gunpoint", "GunPoint", 150, {"train": 30, "val": 20, "test": 150}),
    ("italypower", "ItalyPowerDemand", 24, {"train": 54, "val": 13, "test": 1029}),
])
def test_ucr_splits_and_train_only_normalisation(tmp_path, task, name, length, sizes):
    dm = datamodule(task, tmp_path, "task.data.patch_len=1", "++task.data.patch_stride=null")
    assert {s: len(d["y"]) for s, d in dm.splits.items()} == sizes
    assert dm.splits["train"]["x"].shape[1:] == (length, 1)
    assert dm.splits["test"]["mask"].all() and dm.spec.max_len == length
    raw = pd.read_csv(offline_data_dir() / "ucr" / f"{name}_train.csv")
    train_rows = dm.splits["train"]["x"][:, :, 0].numpy() * dm.stats["std"] + dm.stats["mean"]
    # the normalisation statistics are those of the train rows the module kept (not val)
    values = raw.drop(columns="label").to_numpy(dtype=np.float32)
    kept = np.array([np.argmin(np.abs(values - r).sum(1)) for r in train_rows])
    assert len(set(kept)) == sizes["train"]
    assert dm.stats["mean"][0] == pytest.approx(values[kept].mean(), rel=1e-4, abs=1e-5)
    assert set(dm.splits["train"]["y"].tolist()) == {0, 1}  # labels 1, 2 -> 0, 1
    val_rows = dm.splits["val"]["x"][:, :, 0].numpy() * dm.stats["std"] + dm.stats["mean"]
    val_kept = {int(np.argmin(np.abs(values - r).sum(1))) for r in val_rows}
    assert not val_kept & set(kept.tolist())


def test_ucr_patches_and_determinism(tmp_path):
    a = datamodule("gunpoint", tmp_path, "task.data.patch_len=10", "task.data.patch_stride=null",
                   seed=0)
    b = datamodule("gunpoint", tmp_path, "task.data.patch_len=10", "task.data.patch_stride=null",
                   seed=0)
    assert a.splits["train"]["x"].shape[1:] == (15, 10) and a.spec.max_len == 15
    assert datamodule("gunpoint", tmp_path).splits["train"]["x"].shape[1:] == (15, 10)  # default
    windows = datamodule("gunpoint", tmp_path, "task.data.patch_len=20",
                         "task.data.patch_stride=5")  # overlapping: 20 steps every 5 steps
    assert windows.splits["train"]["x"].shape[1:] == (27, 20) and windows.spec.max_len == 27
    assert torch.equal(windows.splits["train"]["x"][:, 1, :15], windows.splits["train"]["x"][:, 0, 5:])
    (first_a,), (first_b,) = next(iter(a.train_dataloader())), next(iter(b.train_dataloader()))
    assert torch.equal(first_a["x"], first_b["x"])

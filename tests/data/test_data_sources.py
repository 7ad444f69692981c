"""Source precedence (explicit path > offline copy > hub id) and the missing-file message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from project.data.sources import (DATA_DIR_ENV, hf_cache_dir, offline_data_dir, read_tables,
                                  resolve_source)
from project.data.splits import carve_splits

FILES = {"train": "train.csv", "test": "test.csv"}


def write_pair(folder: Path, tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        pd.DataFrame({"text": [f"{tag} a", f"{tag} b"], "label": [0, 1]}).to_csv(
            folder / f"{split}.csv", index=False)


def test_explicit_path_wins_over_offline_copy(tmp_path, monkeypatch):
    write_pair(tmp_path / "offline" / "toy", "offline")
    write_pair(tmp_path / "mine", "mine")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "offline"))
    src = resolve_source("toy", FILES, path=str(tmp_path / "mine"), offline_subdir="toy",
                         hub_id="someone/toy")
    assert src.files == {s: tmp_path / "mine" / f for s, f in FILES.items()}
    assert read_tables(src)["train"]["text"].iloc[0] == "mine a"


def test_single_file_path_becomes_train(tmp_path):
    write_pair(tmp_path, "x")
    src = resolve_source("toy", FILES, path=str(tmp_path / "test.csv"))
    assert src.files == {"train": tmp_path / "test.csv"}


def test_offline_copy_from_env_then_hub(tmp_path, monkeypatch):
    write_pair(tmp_path / "toy", "offline")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert offline_data_dir() == tmp_path
    assert resolve_source("toy", FILES, offline_subdir="toy").files["train"].parent == \
        tmp_path / "toy"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    src = resolve_source("toy", FILES, offline_subdir="absent", hub_id="someone/toy")
    assert src.hub_id == "someone/toy" and src.files is None


def test_missing_file_names_every_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError) as err:
        resolve_source("toy", FILES, path=str(tmp_path / "nope.csv"), offline_subdir="toy",
                       hub_id="someone/toy")
    msg = str(err.value)
    assert "\n" not in msg
    assert str(tmp_path / "nope.csv") in msg  # the explicit path
    assert str(tmp_path / "toy" / "train.csv") in msg  # the offline copy
    assert "someone/toy" in msg and "HF offline mode is on" in msg


def test_cache_inside_project():
    assert hf_cache_dir().parts[-3:] == (".cache", "huggingface", "datasets")
    assert hf_cache_dir().parents[2] == Path(__file__).resolve().parents[2]


def test_carved_splits_are_disjoint_and_fixed():
    df = pd.DataFrame({"i": range(100)})
    a = carve_splits({"train": df}, 0.1, 0.2, split_seed=3, where="t")
    b = carve_splits({"train": df}, 0.1, 0.2, split_seed=3, where="t")
    ids = [set(a[s]["i"]) for s in ("train", "val", "test")]
    assert [len(x) for x in ids] == [70, 10, 20]
    assert set().union(*ids) == set(range(100)) and sum(map(len, ids)) == 100
    assert all(a[s].equals(b[s]) for s in a)

"""Text DataModules on the offline copies: shapes, splits, train-only vocabulary, masks."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from hydra.utils import instantiate

from project.data.sources import offline_data_dir
from project.data.tokenizer import WordVocabulary, split_words
from tests.conftest import compose_train


def datamodule(task: str, tmp_path, seed: int = 0, *overrides: str):
    cfg = compose_train([f"task={task}", *overrides], tmp_path)
    dm = instantiate(cfg.task.data, seed=seed)
    dm.setup()
    return dm


@pytest.fixture(scope="module")
def sst2(tmp_path_factory):
    return datamodule("sst2", tmp_path_factory.mktemp("sst2"))


def test_sst2_shapes_and_masks(sst2):
    sizes = {s: len(d["y"]) for s, d in sst2.splits.items()}
    assert sizes == {"train": 6920, "val": 872, "test": 1821}  # as in SOURCE.txt
    for d in sst2.splits.values():
        assert d["x"].dtype == torch.long and d["x"].shape[1] <= 56
        assert torch.equal(d["mask"], d["x"] != 0)
        assert d["mask"][:, 0].all()  # every sentence has at least one token
        # padding only at the end: once False, stays False
        assert (d["mask"].int().diff(dim=1) <= 0).all()
    assert sst2.spec.num_outputs == 2 and sst2.spec.vocab_size == len(sst2.vocab)
    assert int(sst2.splits["train"]["x"].max()) < sst2.spec.vocab_size


def test_vocabulary_is_built_on_train_only(sst2):
    root = offline_data_dir() / "sst2"
    train_words = {w for t in pd.read_csv(root / "train.csv")["sentence"] for w in split_words(t)}
    assert set(sst2.vocab.itos[2:]) <= train_words
    test = pd.read_csv(root / "test.csv")["sentence"]
    unseen = next((i, w) for i, t in enumerate(test) for w in split_words(t)
                  if w not in train_words)
    row, word = unseen
    position = split_words(test[row]).index(word)
    assert sst2.splits["test"]["x"][row, position] == 1  # UNK


def test_trec_validation_carved_disjoint_and_fixed(tmp_path):
    a = datamodule("trec", tmp_path, 0, "task.data.min_freq=1")  # no UNK collisions
    b = datamodule("trec", tmp_path, 5, "task.data.min_freq=1")  # another seed: same split
    sizes = {s: len(d["y"]) for s, d in a.splits.items()}
    assert sizes == {"train": 4907, "val": 545, "test": 500}
    assert a.spec.num_outputs == 6 and set(a.splits["train"]["y"].tolist()) == set(range(6))
    for s in a.splits:
        assert torch.equal(a.splits[s]["x"], b.splits[s]["x"])
    rows = lambda d: {tuple(r[m].tolist()) for r, m in zip(d["x"], d["mask"])}  # noqa: E731
    train, val = rows(a.splits["train"]), rows(a.splits["val"])
    assert len(train & val) < 0.05 * len(val)  # only duplicate questions may coincide


def test_batches_deterministic_by_seed(sst2, tmp_path):
    first = lambda dm: next(iter(dm.train_dataloader()))[0]["y"]  # noqa: E731
    again = datamodule("sst2", tmp_path, 0)
    other = datamodule("sst2", tmp_path, 1)
    assert torch.equal(first(sst2), first(again))
    assert not torch.equal(next(iter(sst2.train_dataloader()))[0]["x"],
                           next(iter(other.train_dataloader()))[0]["x"])


def test_vocabulary_min_frequency_and_truncation():
    vocab = WordVocabulary.build(["a a b", "a c"], min_freq=2)
    assert vocab.itos == ["<pad>", "<unk>", "a"]
    x = vocab.encode(["a b a a", ""], max_len=3)
    assert x.tolist() == [[2, 1, 2], [1, 0, 0]]

"""Text classification (SST-2, TREC, a user's own CSV/Parquet): word ids, padding mask."""

from __future__ import annotations

import torch

from project.data.base import DataSpec, TensorDataModule
from project.data.columns import class_labels, require_columns
from project.data.splits import SplitSource
from project.data.tokenizer import WordVocabulary


class TextClassificationDataModule(TensorDataModule):
    """Sentences -> token ids (N, T) with a mask; vocabulary built on the train split only.

    Source: ``path`` (file or folder) > offline copy ``offline_subdir`` > ``hub_id``; a
    ``.tsv`` is read without quote processing unless ``tsv_quoting``. Splits
    missing from the files are carved from train (``val_fraction``/``test_fraction``,
    fixed ``split_seed``). ``spec.extra`` holds the class names and vocabulary size.
    """

    def __init__(self, name: str = "text", files: dict | None = None, path: str | None = None,
                 offline_subdir: str | None = None, hub_id: str | None = None,
                 hub_config: str | None = None, text_column: str = "text",
                 label_column: str = "label", num_classes: int | None = None,
                 classes: list | None = None, min_freq: int = 1, max_vocab: int | None = None,
                 max_len: int = 64, val_fraction: float = 0.1, test_fraction: float = 0.1,
                 split_seed: int = 0, batch_size: int = 64, eval_batch_size: int = 1024,
                 seed: int = 0, tsv_quoting: bool = False):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if max_len < 1 or min_freq < 1:
            raise ValueError(f"{name}: need max_len >= 1 and min_freq >= 1")
        self.name = name
        self.source = SplitSource(name, files, path, offline_subdir, hub_id, hub_config,
                                  val_fraction, test_fraction, split_seed, tsv_quoting)
        self.text_column, self.label_column = text_column, label_column
        self.num_classes, self.classes = num_classes, classes
        self.min_freq, self.max_vocab, self.max_len = min_freq, max_vocab, max_len
        self.vocab: WordVocabulary | None = None

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        tables = self.source.read_splits()
        for split, df in tables.items():
            require_columns(df, [self.text_column], f"{self.name} ({split})")
        labels, names = class_labels(tables, self.label_column, self.num_classes,
                                     self.classes, self.name)
        texts = {s: df[self.text_column].fillna("").astype(str).tolist()
                 for s, df in tables.items()}
        self.vocab = WordVocabulary.build(texts["train"], self.min_freq, self.max_vocab)
        out = {}
        for split in ("train", "val", "test"):
            x = self.vocab.encode(texts[split], self.max_len)
            out[split] = {"x": x, "mask": x != 0, "y": torch.from_numpy(labels[split])}
        self.spec = DataSpec(task_type="classification", num_outputs=len(names),
                             max_len=self.max_len,
                             vocab_size=len(self.vocab),
                             extra={"classes": [str(c) for c in names],
                                    "vocab_size": len(self.vocab)})
        return out

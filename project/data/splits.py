"""Deterministic carving of missing validation/test splits out of the training table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def carve_splits(tables: dict[str, pd.DataFrame], val_fraction: float, test_fraction: float,
                 split_seed: int, where: str) -> dict[str, pd.DataFrame]:
    """Return ``train``/``val``/``test`` tables; a split absent from ``tables`` is taken from
    ``train`` (a fixed permutation by ``split_seed``, the same for every run seed)."""
    missing = [s for s in ("val", "test") if s not in tables]
    if not missing:
        return {s: tables[s] for s in ("train", "val", "test")}
    train = tables["train"]
    fractions = {"val": val_fraction, "test": test_fraction}
    counts = {s: int(round(fractions[s] * len(train))) for s in missing}
    if any(c < 1 for c in counts.values()) or sum(counts.values()) >= len(train):
        raise ValueError(f"{where}: cannot carve {missing} with fractions "
                         f"{[fractions[s] for s in missing]} from {len(train)} training rows")
    order = np.random.default_rng(split_seed).permutation(len(train))
    out, start = dict(tables), 0
    for s in missing:
        out[s] = train.iloc[np.sort(order[start:start + counts[s]])].reset_index(drop=True)
        start += counts[s]
    out["train"] = train.iloc[np.sort(order[start:])].reset_index(drop=True)
    return {s: out[s] for s in ("train", "val", "test")}


@dataclass
class SplitSource:
    """Where a dataset's files come from (``sources.resolve_source``) and how missing
    validation/test splits are carved from train (fixed ``split_seed``)."""

    name: str
    files: dict[str, str] | None = None  # split -> file name; None: {"train": "train.csv"}
    path: str | None = None
    offline_subdir: str | None = None
    hub_id: str | None = None
    hub_config: str | None = None
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    tsv_quoting: bool = False  # read a .tsv's quotes as CSV quoting (default: plain tab format)

    def __post_init__(self) -> None:
        self.files = dict(self.files or {"train": "train.csv"})

    def read_tables(self) -> dict[str, pd.DataFrame]:
        """Resolve the source and read each of its splits once."""
        from project.data.sources import read_tables, resolve_source

        source = resolve_source(self.name, self.files, self.path, self.offline_subdir,
                                self.hub_id, self.hub_config)
        tables = read_tables(source, self.tsv_quoting)
        if "train" not in tables:
            raise ValueError(f"{self.name}: no train split in {source.describe()} "
                             f"(found {sorted(tables)})")
        return tables

    def carve(self, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Train, val and test, carving the missing ones out of train."""
        return carve_splits(tables, self.val_fraction, self.test_fraction, self.split_seed,
                            self.name)

    def read_splits(self) -> dict[str, pd.DataFrame]:
        return self.carve(self.read_tables())

"""The mechanism CSV that ``python -m project.length_mechanism --out`` writes: one row per run,
keyed by its identity; read back by later invocations (``--earlier``) and by the ablation's
side-by-side table (``python -m project.padding_ablation --mechanism``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RUN_KEY = ["task", "model", "seed", "setting"]  # one run's row
COLUMNS = [*RUN_KEY, "slope", "p"]  # what the readers need


def read_mechanism(path: Path) -> pd.DataFrame:
    """A mechanism CSV's rows, refused in one line when a column the readers need is missing."""
    rows = pd.read_csv(path)
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"{path}: not a length_mechanism CSV (no column {', '.join(missing)})")
    return rows.assign(setting=rows["setting"].fillna("").astype(str))  # "" read back as NaN

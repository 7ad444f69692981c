"""The published per-seed data: one row per run, enough to rebuild every table row
(``python -m project.report --from-csv FILE --out DIR``; docs/analysis.md, "Per-seed data").

Columns (``COLUMNS``): identity (task, model, seed, the setting and variant overrides as JSON
lists), the learning rate, what is measured (validation metric, direction, target, budget),
steps to target with ``reached`` and ``censoring`` (how an unreached run is censored), the
target-at-step-0 flag, the progress AUC, best validation value, test metric at the
best-validation checkpoint and at the full budget, train metric at the budget (for the
train-minus-test gap) and the model's isolated step cost in seconds. A figure a run's summary
does not carry is left empty.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("task", "model", "seed", "setting_overrides", "variant_overrides", "lr",
           "val_metric", "direction", "target", "budget_steps", "steps_to_target", "reached",
           "censoring", "target_met_at_start", "auc", "best_val", "test_at_best",
           "test_at_budget", "train_at_budget", "step_cost_s")
REQUIRED = ("task", "model", "seed", "setting_overrides", "variant_overrides", "val_metric",
            "direction", "target", "budget_steps", "steps_to_target", "reached", "auc",
            "best_val", "test_at_best")
FLAGS = ("reached", "target_met_at_start")


def censoring(row: pd.Series) -> str:
    """``""`` for a run that reached its target; else why it is censored."""
    if bool(row["reached"]):
        return ""
    if bool(row.get("diverged", False)) is True:
        return "diverged: censored at the budget"
    budget = row.get("budget_steps")
    if pd.notna(budget) and float(row["steps_to_target"]) < float(budget):
        return "censored where its curve ends"
    return "censored at the budget"


def export_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The published table of ``runs`` (a runs table of ``project.analysis.sources``)."""
    out = pd.DataFrame(index=runs.index)
    for col in COLUMNS:
        if col in ("setting_overrides", "variant_overrides"):
            out[col] = [json.dumps(list(v)) for v in runs[col]]
        elif col == "lr":
            out[col] = runs["hparams.lr"] if "hparams.lr" in runs else runs.get("lr", np.nan)
        elif col == "censoring":
            out[col] = [censoring(r) for _, r in runs.iterrows()]
        elif col in FLAGS:  # an absent flag is false (as ``comparison.target_at_start``)
            out[col] = (runs[col].fillna(False).astype(bool) if col in runs
                        else False)
        else:
            out[col] = runs[col] if col in runs else np.nan
    return out.reset_index(drop=True)


def write_runs_csv(runs: pd.DataFrame, path: Path) -> Path:
    export_runs(runs).to_csv(path, index=False)
    return path


def read_runs_csv(path: str | Path) -> pd.DataFrame:
    """A runs table for ``project.analysis.comparison`` from a published CSV.

    ``FileNotFoundError`` when missing; ``ValueError`` naming the file and the columns it
    lacks, or the first unreadable override list."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such runs CSV")
    try:
        df = pd.read_csv(path, dtype={"setting_overrides": str, "variant_overrides": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a runs CSV ({str(e).splitlines()[0]})") from e
    lacking = [c for c in REQUIRED if c not in df]
    if lacking:
        raise ValueError(f"{path}: not a runs CSV of the report: no column "
                         f"{', '.join(lacking)}")
    for col in ("setting_overrides", "variant_overrides"):
        try:
            df[col] = [tuple(json.loads(v)) if isinstance(v, str) else () for v in df[col]]
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: {col} must be JSON lists ({e.msg})") from e
    for col in FLAGS:
        if col in df:
            df[col] = df[col].map(lambda x: str(x).strip().lower() == "true").astype(bool)
    df["censoring"] = df.get("censoring", pd.Series("", index=df.index)).fillna("")
    return df

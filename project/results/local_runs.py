"""Local run folders -> one tidy table (one row per finished run) and their validation curves.

A run folder is any folder holding ``summary.json`` (its presence means the run finished);
``config.yaml`` and ``metrics.csv`` sit next to it. Folders are found recursively.
A corrupt ``summary.json`` is reported on stderr with its path and skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from project.run_summary import SUMMARY_FIELDS, SUMMARY_NAME

CURVES_NAME = "metrics.csv"
NESTED_FIELDS = ("test_metrics", "hparams")


def flatten_summary(summary: dict) -> dict:
    """One flat row: nested dicts (``hparams``, ``test_metrics``) become ``hparams.lr`` etc."""
    row = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                row[f"{key}.{sub}"] = v
        else:
            row[key] = value
    return row


def canonical_dtype(col: pd.Series) -> pd.Series:
    """Numbers as nullable ``Int64`` when every value is integral, else ``float64``; flags as
    ``bool``; text unchanged. (JSON from W&B writes ``1.0`` as ``1``: the values decide.)"""
    values = [v for v in col if v is not None and not (isinstance(v, float) and v != v)]
    if values and all(isinstance(v, bool) for v in values):
        return col.astype("boolean") if len(values) < len(col) else col.astype(bool)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        num = pd.to_numeric(col.astype(object).where(col.notna(), None), errors="coerce")
        num = num.astype("float64")
        if values and all(float(v).is_integer() for v in values):
            return num.astype("Int64")
        return num
    return col


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    """The canonical runs table: summary fields first (fixed order), then sorted extra columns,
    rows sorted by (task, model, cell, seed) so two sources of the same runs compare equal."""
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    for col in df.columns:
        df[col] = canonical_dtype(df[col])
    first = [c for c in SUMMARY_FIELDS if c in df.columns]
    rest = sorted(c for c in df.columns if c not in first)
    df = df[first + rest]
    df = df.sort_values(["task", "model", "cell", "seed", "run_dir"], kind="stable")
    return df.reset_index(drop=True)


def read_summary(path: Path) -> dict | None:
    """A parsed ``summary.json``, or None (with one warning line naming the path) if corrupt."""
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or not {"task", "model", "seed"} <= set(data):
            raise ValueError("not a run summary (needs task, model, seed)")
        return data
    except (OSError, ValueError) as e:
        print(f"warning: skipping corrupt {path}: {str(e).splitlines()[0]}", file=sys.stderr)
        return None


def find_run_dirs(root: str | Path) -> list[Path]:
    """Every folder under ``root`` (recursively, ``root`` included) with a ``summary.json``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"runs folder not found: {root}")
    return sorted(p.parent for p in root.rglob(SUMMARY_NAME))


def load_local_runs(root: str | Path) -> pd.DataFrame:
    """One row per finished run under ``root``: flattened summary fields plus ``run_dir``."""
    rows = []
    for run_dir in find_run_dirs(root):
        summary = read_summary(run_dir / SUMMARY_NAME)
        if summary is not None:
            rows.append({**flatten_summary(summary), "run_dir": str(run_dir.resolve())})
    return runs_frame(rows)


def load_local_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table of validation curves: ``run_dir``, ``step``, ``train_time_s`` and the logged
    ``val/*`` / ``train/*`` columns of each run's ``metrics.csv`` (runs without one are left out).
    """
    frames = []
    for run_dir in runs["run_dir"] if "run_dir" in runs else []:
        path = Path(run_dir) / CURVES_NAME
        if not path.exists():
            print(f"warning: no {CURVES_NAME} in {run_dir}", file=sys.stderr)
            continue
        curve = pd.read_csv(path)
        curve.insert(0, "run_dir", run_dir)
        frames.append(curve)
    if not frames:
        return pd.DataFrame(columns=["run_dir", "step", "train_time_s"])
    out = pd.concat(frames, ignore_index=True)
    out["step"] = out["step"].astype(int)
    return out

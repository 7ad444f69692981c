"""Local run folders -> one tidy table (one row per finished run) and their validation curves.

Finished run folders are found recursively (``project.runs.folder``); a damaged summary is
reported on stderr with its path and skipped.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from project.runs import folder as run_folder
from project.analysis.variants import identity_fields
from project.runs.summary import SUMMARY_FIELDS
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
    order = ["task", "model", "setting_overrides", "variant_overrides", "seed", "run_dir"]
    df = df.sort_values([c for c in order if c in df], kind="stable")
    return df.reset_index(drop=True)


def read_summary(run_dir: Path) -> dict | None:
    """A run's parsed summary, or None (with one warning line naming the file) if damaged."""
    try:
        return run_folder.read_summary(run_dir)
    except (OSError, run_folder.DamagedRunFolder) as e:
        print(f"warning: skipping {str(e).splitlines()[0]}", file=sys.stderr)
        return None


def load_local_runs(root: str | Path) -> pd.DataFrame:
    """One row per finished run under ``root``: flattened summary fields plus ``run_dir``."""
    rows = []
    for run_dir in run_folder.find_run_dirs(root):
        summary = read_summary(run_dir)
        if summary is not None:
            rows.append({**flatten_summary(identity_fields(summary)),
                         "run_dir": str(run_dir.resolve())})
    return runs_frame(rows)


def load_local_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table of validation curves: ``run_dir``, ``step``, ``train_time_s`` and the logged
    ``val/*`` / ``train/*`` columns of each run's curve (runs without one are left out)."""
    frames = []
    for run_dir in runs["run_dir"] if "run_dir" in runs else []:
        path = run_folder.curve_path(run_dir)
        if not path.exists():
            print(f"warning: no curve {path}", file=sys.stderr)
            continue
        curve = pd.read_csv(path)
        curve.insert(0, "run_dir", run_dir)
        frames.append(curve)
    if not frames:
        return pd.DataFrame(columns=["run_dir", "step", "train_time_s"])
    out = pd.concat(frames, ignore_index=True)
    out["step"] = out["step"].astype(int)
    return out

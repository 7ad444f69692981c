"""One entry point for every source of runs: ``load_runs(source) -> (runs, curves)``.

``SOURCE`` syntax:
  ``DIR``                   local run folders under DIR (found by their ``summary.json``)
  ``wandb-offline:DIR``     W&B offline run files under DIR (``.../wandb/offline-run-*``)
  ``wandb:ENTITY/PROJECT``  an online W&B project (filters: group, tags, state)
Filters: ``group`` applies to the W&B sources; ``tags`` (model or task names) to all.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from project.results.local_runs import load_local_curves, load_local_runs


def load_runs(source: str, group: str | None = None, tags: Sequence[str] = (),
              state: str | None = "finished") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, curves)`` tables from a source string (see the module docstring)."""
    if source.startswith("wandb-offline:"):
        from project.results.wandb_offline import load_offline_runs

        return load_offline_runs(source.split(":", 1)[1], group, tags)
    elif source.startswith("wandb:"):
        from project.results.wandb_online import load_online_runs

        path = source.split(":", 1)[1]
        if path.count("/") != 1:
            raise ValueError(f"{source!r}: expected wandb:ENTITY/PROJECT")
        return load_online_runs(path, group, tags, state)
    else:
        runs = load_local_runs(source)
        curves = load_local_curves(runs)
    return filter_runs(runs, group, tags), curves


def filter_runs(runs: pd.DataFrame, group: str | None, tags: Sequence[str]) -> pd.DataFrame:
    """Local runs have no W&B group (ignored); ``tags`` keep runs whose model or task is a tag
    (the tags W&B runs get)."""
    if runs.empty or not tags:
        return runs
    keep = pd.Series(True, index=runs.index)
    for tag in tags:
        keep &= (runs["model"] == tag) | (runs["task"] == tag)
    return runs[keep].reset_index(drop=True)

"""One entry point for every source of runs: ``load_runs(source) -> (runs, curves)``.

``SOURCE`` syntax:
  ``DIR``                   local run folders under DIR (found by their summaries)
  ``wandb-offline:DIR``     W&B offline run files under DIR (``.../wandb/offline-run-*``)
  ``wandb:ENTITY/PROJECT``  an online W&B project (filters: group, tags, state)
Filters: ``group`` (the experiment: W&B group, or ``experiment`` in a local run's
saved config, else its task) and ``tags`` (model and task names) apply to every source.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from omegaconf import OmegaConf

from project.runs import folder as run_folder
from project.analysis.local_runs import load_local_curves, load_local_runs


def load_runs(source: str, group: str | None = None, tags: Sequence[str] = (),
              state: str | None = "finished") -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, curves)`` tables from a source string (see the module docstring)."""
    if source.startswith("wandb-offline:"):
        from project.analysis.wandb_offline import load_offline_runs

        return load_offline_runs(source.split(":", 1)[1], group, tags)
    if source.startswith("wandb:"):
        from project.analysis.wandb_online import load_online_runs

        path = source.split(":", 1)[1]
        if path.count("/") != 1:
            raise ValueError(f"{source!r}: expected wandb:ENTITY/PROJECT")
        return load_online_runs(path, group, tags, state)
    runs = filter_runs(load_local_runs(source), group, tags)
    return runs, load_local_curves(runs)


def run_group(run_dir: str) -> str | None:
    """A local run's experiment (its W&B group): ``logger.group`` or ``experiment`` of its
    saved config, else the task name (the order W&B logging uses)."""
    cfg = run_folder.read_config(run_dir)
    if cfg is None:
        return None
    return (OmegaConf.select(cfg, "logger.group") or OmegaConf.select(cfg, "experiment")
            or OmegaConf.select(cfg, "task.name"))


def filter_runs(runs: pd.DataFrame, group: str | None, tags: Sequence[str]) -> pd.DataFrame:
    """Local runs of a ``group`` (see ``run_group``) and with all ``tags`` (a run's tags are its
    model and task names, as on W&B)."""
    if runs.empty or not (tags or group):
        return runs
    keep = pd.Series(True, index=runs.index)
    if group:
        keep &= runs["run_dir"].map(run_group) == group
    for tag in tags:
        keep &= (runs["model"] == tag) | (runs["task"] == tag)
    return runs[keep].reset_index(drop=True)

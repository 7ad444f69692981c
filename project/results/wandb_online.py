"""The runs of an online W&B project (``entity/project``) through W&B's public API.

Filters: ``group`` (the experiment), ``tags`` (all must be present, e.g. a model and a task)
and ``state`` (default ``finished``). Rows and curves have the same columns as the local and
offline loaders; runs without the ``summary.json`` figures in their summary are reported and
skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from project.results.wandb_offline import curves_table, runs_table


def mongo_filters(group: str | None = None, tags: Sequence[str] = (),
                  state: str | None = "finished") -> dict:
    """The W&B API's MongoDB-style filter for the given group, tags and state."""
    clauses: list[dict] = []
    if group:
        clauses.append({"group": group})
    clauses += [{"tags": {"$in": [tag]}} for tag in tags]
    if state:
        clauses.append({"state": state})
    return {"$and": clauses} if clauses else {}


def fetch_runs(path: str, group: str | None = None, tags: Sequence[str] = (),
               state: str | None = "finished", api=None, timeout: int = 60) -> list[dict]:
    """Runs of ``entity/project`` as decoded dicts (config, summary, history, state...)."""
    import wandb

    api = api or wandb.Api(timeout=timeout)
    raw = []
    for run in api.runs(path, filters=mongo_filters(group, tags, state)):
        history = list(run.scan_history())
        raw.append({"id": run.id, "name": run.name, "group": run.group, "tags": list(run.tags),
                    "state": run.state, "config": dict(run.config),
                    "summary": dict(run.summary._json_dict), "history": history})
    return raw


def load_online_runs(path: str, group: str | None = None, tags: Sequence[str] = (),
                     state: str | None = "finished", api=None) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """``(runs, curves)`` of an online W&B project, filtered."""
    raw = fetch_runs(path, group, tags, state, api=api)
    return runs_table(raw, f"wandb:{path}"), curves_table(raw)

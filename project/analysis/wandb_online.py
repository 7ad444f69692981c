"""The runs of an online W&B project (``entity/project``) through W&B's public API.

Filters: ``group`` (the experiment), ``tags`` (all must be present, e.g. a model and a task)
and ``state`` (default ``finished``). Rows and curves have the same columns as the local and
offline loaders; runs without the run-summary figures in their summary are reported and
skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from project.analysis.wandb_offline import curves_table, runs_table
from project.wandb_credentials import has_api_key


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
    """Runs of ``entity/project`` as decoded dicts (config, summary, history, state...).

    Without an API key, or when the API fails, raises ValueError with one line (never prompts).
    """
    import wandb

    if api is None and not has_api_key():
        raise ValueError("no W&B API key: set WANDB_API_KEY or run `wandb login` to read "
                         f"wandb:{path}")
    raw = []
    try:
        api = api or wandb.Api(timeout=timeout)
        for run in api.runs(path, filters=mongo_filters(group, tags, state)):
            raw.append({"id": run.id, "name": run.name, "group": run.group,
                        "tags": list(run.tags), "state": run.state, "config": dict(run.config),
                        "summary": dict(run.summary._json_dict),
                        "history": list(run.scan_history())})
    except (wandb.errors.Error, OSError) as e:
        raise ValueError(f"W&B API, wandb:{path}: {str(e).splitlines()[0]}") from e
    return raw


def load_online_runs(path: str, group: str | None = None, tags: Sequence[str] = (),
                     state: str | None = "finished", api=None) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """``(runs, curves)`` of an online W&B project, filtered."""
    raw = fetch_runs(path, group, tags, state, api=api)
    return runs_table(raw, f"wandb:{path}"), curves_table(raw)

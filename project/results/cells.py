"""Group runs into settings (task + hparams, the same for every model) and model variants.

A run's ``cell`` is ``task,model,override,...`` (the command line without the seed). Overrides
of ``model.*`` belong to the model variant (e.g. ``attention[model.heads=4]``); the others
make the *setting* on which models are compared, seed by seed.
"""

from __future__ import annotations

import pandas as pd

ATTENTION, BASELINE = "attention", "baseline"


def split_cell(cell: str, task: str, model: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(setting overrides, model overrides)`` of a cell string, each sorted."""
    parts = [p for p in str(cell).split(",") if p]
    rest = parts[2:] if parts[:2] == [task, model] else [p for p in parts if "=" in p]
    model_part = tuple(sorted(p for p in rest if p.lstrip("+~").startswith("model.")))
    setting_part = tuple(sorted(p for p in rest if p not in model_part))
    return setting_part, model_part


def add_keys(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``setting`` (a readable label) and ``variant`` (model label) columns.

    A setting's label is its task plus the overrides that distinguish it from the task's
    other settings (overrides shared by all of them are left out).
    """
    runs = runs.copy()
    split = [split_cell(c, t, m) for c, t, m in zip(runs["cell"], runs["task"], runs["model"])]
    runs["setting_key"] = [(t, s) for t, (s, _) in zip(runs["task"], split)]
    runs["variant"] = [m + (f"[{','.join(mo)}]" if mo else "")
                       for m, (_, mo) in zip(runs["model"], split)]
    labels = {}
    for task, group in runs.groupby("task", sort=True):
        keys = sorted(set(group["setting_key"]))
        common = set.intersection(*(set(k[1]) for k in keys))
        for key in keys:
            own = [o for o in key[1] if o not in common]
            labels[key] = task + (f" ({', '.join(own)})" if own else "")
    runs["setting"] = [labels[k] for k in runs["setting_key"]]
    return runs


def model_order(variants: list[str]) -> list[str]:
    """Attention first, the baseline second, then the other variants alphabetically."""
    rank = {ATTENTION: 0, BASELINE: 1}
    return sorted(set(variants), key=lambda v: (rank.get(v, 2), v))

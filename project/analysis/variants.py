"""Group runs into settings (task + what is measured) and variants (model + its overrides).

A run's identity (``project.run_identity``) is stored in its summary as ``setting_overrides``
and ``variant_overrides``. Runs written before identities were stored carry only a ``cell``
string (``task,model,override,...``); ``identity_fields`` reads those too.
"""

from __future__ import annotations

import pandas as pd

ATTENTION, BASELINE = "attention", "baseline"


def split_cell(cell: str, task: str, model: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(setting overrides, model overrides)`` of a legacy cell string, each sorted."""
    parts = [p for p in str(cell).split(",") if p]
    rest = parts[2:] if parts[:2] == [task, model] else [p for p in parts if "=" in p]
    model_part = tuple(sorted(p for p in rest if p.lstrip("+~").startswith("model.")))
    setting_part = tuple(sorted(p for p in rest if p not in model_part))
    return setting_part, model_part


def identity_fields(summary: dict) -> dict:
    """``summary`` with ``setting_overrides`` and ``variant_overrides`` (derived from a legacy
    ``cell`` when absent) as sorted tuples."""
    if "setting_overrides" not in summary:
        setting, variant = split_cell(summary.get("cell", ""), summary["task"], summary["model"])
        summary = {**summary, "setting_overrides": setting, "variant_overrides": variant}
    return {**summary,
            "setting_overrides": tuple(sorted(summary["setting_overrides"] or ())),
            "variant_overrides": tuple(sorted(summary["variant_overrides"] or ()))}


def add_keys(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``setting`` (a readable label) and ``variant`` (model label) columns.

    A setting's label is its task plus the overrides that distinguish it from the task's
    other settings (overrides shared by all of them are left out).
    """
    runs = runs.copy()
    split = list(zip(runs["setting_overrides"], runs["variant_overrides"]))
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

"""Group runs into settings (task + what is measured) and variants (model + its overrides).

A run's identity (``project.runs.identity``) is stored in its summary as ``setting_overrides``
and ``variant_overrides``. Runs written before identities were stored carry only a ``cell``
string (``task,model,override,...``); ``identity_fields`` reads those too.

Which variant is the control is configuration (``project.report --control``), never a name in
this package. A ``model.*`` override that every model of a setting was run with (e.g. a sweep
that sets ``model.hidden=32`` for all of them) is part of the setting, not of a variant: the
runs still pair, and the variant labels stay the bare model names.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


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


def label(name: str, overrides: Iterable[str]) -> str:
    """``name`` or ``name[o1,o2]``."""
    overrides = list(overrides)
    return name + (f"[{','.join(overrides)}]" if overrides else "")


def shared_model_overrides(models: list[str], overrides: list[tuple[str, ...]]) -> set[str]:
    """The ``model.*`` overrides that every model of one setting was run with (each model has
    a run carrying it); empty when the setting has fewer than two models (nothing to pair)."""
    by_model: dict[str, set[str]] = {}
    for model, own in zip(models, overrides):
        by_model.setdefault(model, set()).update(own)
    if len(by_model) < 2:
        return set()
    return set.intersection(*by_model.values())


def add_keys(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``setting_key`` (``(task, overrides)``), ``setting`` (a readable label) and
    ``variant`` (model label) columns.

    The ``model.*`` overrides shared by every model of a setting join the setting (see the
    module docstring). A setting's label is its task plus the overrides that distinguish it
    from the task's other settings (overrides shared by all of them are left out).
    """
    runs = runs.copy()
    base = [(t, tuple(s)) for t, s in zip(runs["task"], runs["setting_overrides"])]
    variant_over = [tuple(v) for v in runs["variant_overrides"]]
    members: dict[tuple, list[int]] = {}
    for i, key in enumerate(base):
        members.setdefault(key, []).append(i)
    models = list(runs["model"])
    shared = {key: shared_model_overrides([models[i] for i in idx],
                                          [variant_over[i] for i in idx])
              for key, idx in members.items()}
    setting_keys, variants = [], []
    for key, model, own in zip(base, runs["model"], variant_over):
        moved = tuple(o for o in own if o in shared[key])
        setting_keys.append((key[0], tuple(sorted(key[1] + moved))))
        variants.append(label(model, (o for o in own if o not in shared[key])))
    runs["setting_key"] = setting_keys
    runs["variant"] = variants
    labels = {}
    for task in sorted(set(runs["task"])):
        keys = sorted({k for k in setting_keys if k[0] == task})
        common = set.intersection(*(set(k[1]) for k in keys))
        for key in keys:
            own = [o for o in key[1] if o not in common]
            labels[key] = task + (f" ({', '.join(own)})" if own else "")
    runs["setting"] = [labels[k] for k in runs["setting_key"]]
    return runs


def find_control(variants: Iterable[str], control: str) -> str | None:
    """The variant of one setting that is the control: the one labelled ``control``, else the
    only one of model ``control`` (``control[...]``); None when there is none or it is
    ambiguous."""
    variants = list(dict.fromkeys(variants))
    if control in variants:
        return control
    same_model = [v for v in variants if v.split("[", 1)[0] == control]
    return same_model[0] if len(same_model) == 1 else None


def variant_order(variants: Iterable[str], control: str) -> list[str]:
    """The control's variants first, then the others alphabetically: the order of columns,
    rows and colours."""
    variants = set(variants)
    return sorted(variants, key=lambda v: (v.split("[", 1)[0] != control, v))

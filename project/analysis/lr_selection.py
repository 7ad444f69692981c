"""Each model at its own learning rate, chosen on validation with pilot seeds (the command:
``python -m project.select_lr RUNS --out DIR``), before any table run.

For every (task, other settings, model) of a learning-rate sweep (``conf/sweep/lr_tuning.yaml``:
pilot seeds 0-4) each rate's runs are scored by ``curve_mean``, the area under the validation
curve over the budget divided by the budget: how good the model was, on average, over its
training. It needs no target (targets are derived afterwards, from the tuned control).
The rate with the best median over the seeds is chosen; ties (equal to 4 significant digits)
go to the larger rate. ``rate_evidence`` is every rate's record, committed beside the chosen
rates (``task.model_lr`` in ``conf/task/*.yaml``).

``rate_results`` / ``pick_best`` are Raffel & Ellis' own rule (most runs solved, then the
lowest median steps to target), used by their Table 1 (``project.analysis.raffel_table``).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from project.stats.censoring import km_median
from project.stats.per_run import curve_mean
from project.runs import folder as run_folder

RATE_OVERRIDE = re.compile(r"^~?(optimizer\.lr|task\.lr|task\.model_lr)(\.|=|$)")


def strip_rate(overrides: tuple[str, ...]) -> tuple[str, ...]:
    """Setting overrides without the learning rate."""
    return tuple(p for p in overrides if not RATE_OVERRIDE.match(p))


def median_of(g: pd.DataFrame, column: str) -> float:
    return float(g[column].median()) if column in g else float("nan")


def rate_results(runs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per (``by``..., lr): runs, solved, KM median steps to target, budget, and the
    medians of ``auc`` (progress toward the target) and ``best_val``."""
    rows = []
    for key, g in runs.groupby([*by, "hparams.lr"], sort=True):
        steps = g["steps_to_target"].to_numpy(dtype=float)
        reached = g["reached"].to_numpy(dtype=bool)
        rows.append({**dict(zip([*by, "lr"], key)), "runs": len(g), "solved": int(reached.sum()),
                     "median_steps": float(km_median(steps, reached)),
                     "budget": int(g["budget_steps"].max()), "auc": median_of(g, "auc"),
                     "best_val": median_of(g, "best_val")})
    return pd.DataFrame(rows)


def pick_best(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per ``by`` group the best rate: most solved, then lowest median steps, then most
    progress toward the target (median ``auc``; decides among rates that never got there),
    then the larger rate."""
    order = results.sort_values([*by, "solved", "median_steps", "auc", "lr"],
                                ascending=[True] * len(by) + [False, True, False, False],
                                kind="stable", na_position="last")
    return order.groupby(by, sort=True).head(1).reset_index(drop=True)


EVIDENCE_KEY = ["task", "setting", "model", "variant", "lr"]


def rate_evidence(runs: pd.DataFrame, earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (task, setting without rate, model, variant, lr): the seeds, each seed's
    ``curve_mean`` of its validation curve, their median, ``chosen`` (the rule above) and
    ``at_edge`` (the chosen rate is the largest tried: the best may lie above it).
    ``earlier``: a committed evidence table whose rates these runs extend (a rate in both is
    taken from ``runs``)."""
    rows = []
    for run in runs.to_dict("records"):
        curve = run_folder.read_curve(run["run_dir"])
        rows.append({"task": run["task"], "setting": " ".join(strip_rate(run["setting_overrides"])),
                     "model": run["model"], "variant": " ".join(run["variant_overrides"]),
                     "lr": float(run["hparams.lr"]), "seed": int(run["seed"]),
                     "direction": run["direction"],
                     "curve_mean": curve_mean([int(r["step"]) for r in curve],
                                              [r.get(run["val_metric"]) for r in curve],
                                              run["direction"], int(run["budget_steps"]))})
    per_run = pd.DataFrame(rows)
    out = (per_run.groupby(EVIDENCE_KEY, sort=True)
           .agg(direction=("direction", "first"),
                seeds=("seed", lambda v: " ".join(map(str, v))),
                curve_means=("curve_mean", lambda v: " ".join(f"{x:.4g}" for x in v)),
                median=("curve_mean", "median"))
           .reset_index())
    if earlier is not None:
        out = merge_evidence(earlier, out)
    return choose_rates(out)



def merge_evidence(earlier: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``earlier``'s rows (without their choice) and ``new``'s; ``new`` wins a shared key."""
    earlier = earlier.drop(columns=["chosen", "at_edge"], errors="ignore").fillna(
        {c: "" for c in ("setting", "variant")})
    missing = set(new.columns) - set(earlier.columns)
    if missing:
        raise ValueError(f"earlier evidence lacks column(s) {', '.join(sorted(missing))}")
    both = pd.concat([earlier[new.columns], new], ignore_index=True)
    return (both.drop_duplicates(EVIDENCE_KEY, keep="last")
            .sort_values(EVIDENCE_KEY, kind="stable").reset_index(drop=True))


def choose_rates(evidence: pd.DataFrame) -> pd.DataFrame:
    """Mark each (task, setting, model, variant)'s best rate (``chosen``: best median, 4
    significant digits, ties to the larger rate) and whether it is the largest tried."""
    out = evidence.copy()
    group = EVIDENCE_KEY[:4]
    sign = out["direction"].map({"max": -1.0, "min": 1.0})
    out["_key"] = [float(f"{x:.4g}") * s if math.isfinite(x) else math.inf
                   for x, s in zip(out["median"], sign)]
    order = out.sort_values([*group, "_key", "lr"], ascending=[True] * 4 + [True, False],
                            kind="stable")
    best = order.groupby(group, sort=False).head(1).index
    out["chosen"] = out.index.isin(best)
    largest = out.groupby(group, sort=False)["lr"].transform("max")
    out["at_edge"] = out["chosen"] & (out["lr"] == largest)
    return out.drop(columns="_key")


def chosen_rates(evidence: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{task: {model: lr}}`` from ``rate_evidence`` (the default setting and variant)."""
    chosen = evidence[evidence["chosen"] & (evidence["setting"] == "") &
                      (evidence["variant"] == "")]
    return {task: {m: float(lr) for m, lr in zip(g["model"], g["lr"])}
            for task, g in chosen.groupby("task", sort=True)}

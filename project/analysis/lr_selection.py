"""Fair tuning: each model at its own best learning rate (the command:
``python -m project.select_lr RUNS --out DIR``).

For every (task, model, other settings) of a learning-rate sweep (``conf/sweep/lr_tuning.yaml``)
the rate whose runs reached the target most often, then with the lowest Kaplan-Meier median
``steps_to_target`` (then the most progress toward the target, median ``auc``), is kept. Its runs are copied to ``DIR`` (summary,
curve and config; no checkpoints) with the rate removed from their setting, so
``python -m project.report DIR`` compares each variant at its best rate with the control at
its own. Selecting and comparing on the same seeds favours no variant but is optimistic for all:
say so when quoting the numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from project.stats.censoring import km_median
from project.runs import folder as run_folder
from project.analysis.variants import identity_fields

RATE_OVERRIDE = re.compile(r"^(optimizer\.lr|task\.lr)=")


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


def tuned_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs at each (setting without rate, variant)'s best rate, with ``setting_cell``."""
    runs = runs.assign(setting_cell=[(t, strip_rate(s), m, v) for t, s, m, v in zip(
        runs["task"], runs["setting_overrides"], runs["model"], runs["variant_overrides"])])
    best = pick_best(rate_results(runs, ["setting_cell"]), ["setting_cell"])
    keep = runs.merge(best[["setting_cell", "lr"]], left_on=["setting_cell", "hparams.lr"],
                      right_on=["setting_cell", "lr"])
    return keep.drop(columns="lr")


def write_tuned(runs: pd.DataFrame, out: Path) -> int:
    """Copy the chosen runs to ``out/<task>/<model>/seed<seed>/<n>``; returns how many."""
    for i, run in enumerate(runs.itertuples(index=False)):
        src = Path(run.run_dir)
        dst = out / run.task / run.model / f"seed{run.seed}" / f"tuned{i}"
        dst.mkdir(parents=True, exist_ok=True)
        summary = identity_fields(run_folder.read_summary(src))
        summary["setting_overrides"] = list(run.setting_cell[1])
        summary.pop("cell", None)
        summary["hparams"] = {**summary.get("hparams", {}), "tuned_from": str(src)}
        run_folder.copy_record(src, dst)
        run_folder.write_summary(dst, summary)
    return len(runs)

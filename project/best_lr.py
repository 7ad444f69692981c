"""Fair tuning: each model at its own best learning rate: ``python -m project.best_lr RUNS --out DIR``.

For every (task, model, other settings) of a learning-rate sweep (``conf/sweep/lr_tuning.yaml``)
the rate whose runs reached the target most often, then with the lowest Kaplan-Meier median
``steps_to_target`` (then the most progress toward the target, median ``auc``), is kept. Its runs are copied to ``DIR`` (summary,
curve and config; no checkpoints) with the rate removed from their cell, so
``python -m project.report DIR`` compares attention at its best rate with the baseline at its
own. Selecting and comparing on the same seeds favours neither model but is optimistic for both:
say so when quoting the numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from project.convergence.censoring import km_median
from project.results.local_runs import load_local_runs
from project.run_summary import SUMMARY_NAME, write_json_atomic

RATE_OVERRIDE = re.compile(r"^(optimizer\.lr|task\.lr)=")
COPIED = ("metrics.csv", "config.yaml")


def strip_rate(cell: str) -> str:
    """The cell without its learning-rate override."""
    return ",".join(p for p in str(cell).split(",") if not RATE_OVERRIDE.match(p))


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
    """The runs at each (cell without rate)'s best rate, with ``setting_cell`` added."""
    runs = runs.assign(setting_cell=runs["cell"].map(strip_rate))
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
        summary = json.loads((src / SUMMARY_NAME).read_text())
        summary["cell"] = run.setting_cell
        summary["hparams"] = {**summary.get("hparams", {}), "tuned_from": str(src)}
        for name in COPIED:
            if (src / name).exists():
                shutil.copy2(src / name, dst / name)
        write_json_atomic(dst / SUMMARY_NAME, summary)
    return len(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.best_lr", description=__doc__)
    p.add_argument("runs", type=Path, help="finished runs of a learning-rate sweep")
    p.add_argument("--out", type=Path, required=True, help="folder for the chosen runs (new)")
    args = p.parse_args(argv)
    try:
        runs = load_local_runs(args.runs)
        if runs.empty:
            raise ValueError(f"no finished runs (summary.json) under {args.runs}")
        if args.out.exists() and any(args.out.iterdir()):
            raise ValueError(f"--out {args.out} is not empty")
        chosen = tuned_runs(runs)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    n = write_tuned(chosen, args.out)
    best = chosen.groupby("setting_cell")["hparams.lr"].first()
    for cell, lr in best.items():
        print(f"{cell}: lr {lr:g}")
    print(f"{n} runs at their best rate -> {args.out}  (next: python -m project.report "
          f"{args.out} --out {args.out}/report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

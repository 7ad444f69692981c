"""Raffel & Ellis 2016, Table 1 from finished runs: ``python -m project.analysis.raffel_table RUNS``.

Rows: problem (add, multiply) x sequence length T. Columns: one per model of ``--models``
(default: the paper's two, attention and the unweighted mean, our ``baseline``), the batches
needed to solve the problem (100% of the validation sequences within 0.04) at the best
learning rate of that cell: the Kaplan-Meier
median over seeds (``>B`` when half or more of the seeds never solved it within the budget B),
how many seeds solved it (n/N), for unsolved cells the median best validation accuracy, and
the rate. Best rate: most seeds solved, then the lowest median, then the most progress toward
the target (``project.analysis.lr_selection``). Runs are read with the shared loader
(``project.analysis.local_runs``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from project.cli import user_error
from project.analysis.lr_selection import pick_best, rate_results
from project.analysis.local_runs import load_local_runs

PROBLEMS = {"adding": "add", "multiply": "multiply"}
# The default of --models: the paper's columns (model config name -> column label).
RAFFEL_MODELS = {"attention": "attention", "baseline": "mean"}
COLUMNS = ["problem", "T", "model", "lr", "median_steps", "solved", "runs", "budget", "auc",
           "best_val"]


def cell_results(runs: pd.DataFrame, models: dict[str, str] = RAFFEL_MODELS) -> pd.DataFrame:
    """One row per (problem, T, model, lr): KM median batches to solve, solved, runs, budget;
    ``models`` maps model config names to column labels."""
    runs = runs[runs["task"].isin(PROBLEMS) & runs["model"].isin(models)]
    if runs.empty:
        raise ValueError(f"no finished adding/multiply runs of {' or '.join(models)}")
    cells = rate_results(runs, ["task", "hparams.seq_len", "model"])
    cells["problem"] = cells["task"].map(PROBLEMS)
    cells["T"] = cells["hparams.seq_len"].astype(int)
    cells["model"] = cells["model"].map(models)
    return cells[COLUMNS]


def format_cell(row: pd.Series) -> str:
    """``median (n/N, lr)``; unsolved: ``>budget (n/N, best acc <median best val>, lr)``."""
    if math.isfinite(row.median_steps):
        return f"{row.median_steps:,.0f} ({row.solved}/{row.runs}, lr {row.lr:g})"
    return (f">{row.budget:,} ({row.solved}/{row.runs}, best acc {row.best_val:.2f}, "
            f"lr {row.lr:g})")


def raffel_table(runs: pd.DataFrame, cells: pd.DataFrame | None = None,
                 models: dict[str, str] = RAFFEL_MODELS) -> pd.DataFrame:
    """The table: index (problem, T); one column per label of ``models`` (formatted cells).
    Per (problem, T, model) the best rate by ``project.analysis.lr_selection``'s rule;
    ``cells`` are ``cell_results(runs, models)`` when the caller already has them."""
    cells = cell_results(runs, models) if cells is None else cells
    best = pick_best(cells, ["problem", "T", "model"])
    best["cell"] = best.apply(format_cell, axis=1)
    table = best.pivot(index=["problem", "T"], columns="model", values="cell")
    table = table.reindex(columns=[m for m in models.values() if m in table.columns])
    return table.fillna("(no runs)")


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table (no extra dependency)."""
    cols = ["problem", "T", *[f"{m}: batches to solve (solved, best lr)" for m in table.columns]]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for (problem, T), row in table.iterrows():
        lines.append("| " + " | ".join([problem, str(T), *row.tolist()]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.analysis.raffel_table", description=__doc__)
    p.add_argument("runs", type=Path, help="folder of finished runs (searched recursively)")
    p.add_argument("--out", type=Path, help="also write the table here (.md, and .csv beside)")
    p.add_argument("--models", nargs="+", metavar="MODEL[=LABEL]",
                   default=[f"{k}={v}" for k, v in RAFFEL_MODELS.items()],
                   help="model configs to tabulate, each with an optional column label "
                        "(default: %(default)s)")
    args = p.parse_args(argv)
    models = dict((m.split("=", 1) + [m])[:2] for m in args.models)
    try:
        runs = load_local_runs(args.runs)
        if runs.empty:
            raise ValueError(f"no finished runs under {args.runs}")
        cells = cell_results(runs, models)
        table = raffel_table(runs, cells, models)
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    text = to_markdown(table)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
        cells.to_csv(args.out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

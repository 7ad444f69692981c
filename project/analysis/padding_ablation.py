"""Issue 29's padding ablation: each arm's Table 1 cells side by side, beside the paper.

An arm is one run of ``scripts/reproduce_raffel2016.sh`` under its own overrides (``--set``):
(a) today's masked pooling, (b) pooling over the padded width without the mask (the authors'
semantics), (c) fixed lengths, (d) (b) with the authors' markers and array width. Each arm's
per-seed CSV (``table_raffel2016_seeds.csv``: per problem x T0 x model x seed, the fewest
epochs any rate needed) gives a cell by the Table 1 rule (``raffel_table.cell_summary``: the
Kaplan-Meier median epochs over seeds, their range, seeds solved n/N) and its agreement with
the paper (``raffel_table.agrees``: within one epoch, or both unsolved).

A row is problem x T0 x model; a column per arm, then the paper's value. The arm that
explains the gap is the one whose cells agree where (a)'s do not.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from project.analysis.raffel_table import (
    PAPER_TABLE1, SEED_COLUMNS, agrees, cell_summary, epochs_cell)


def read_arm(path: Path) -> pd.DataFrame:
    """An arm's per-seed CSV, refused in one line when it lacks a column the cells need."""
    seeds = pd.read_csv(path)
    missing = [c for c in SEED_COLUMNS if c not in seeds.columns]
    if missing:
        raise ValueError(f"{path}: not a per-seed Table 1 CSV (no column {', '.join(missing)})")
    return seeds


def ablation_table(arms: dict[str, pd.DataFrame], lengths: tuple[int, ...]) -> pd.DataFrame:
    """Rows problem x T0 x model (the T0s in ``lengths``); per arm its cell and whether it
    agrees with the paper ("not run" where the arm has no seeds of that cell)."""
    kept = {arm: seeds[seeds["T"].isin(lengths)] for arm, seeds in arms.items()}
    if all(seeds.empty for seeds in kept.values()):
        raise ValueError(f"no arm has runs at T0 in {', '.join(map(str, lengths))}")
    cells = {arm: cell_summary(seeds).set_index(["problem", "T", "model"])
             for arm, seeds in kept.items() if not seeds.empty}
    keys = sorted({key for c in cells.values() for key in c.index})
    rows = []
    for problem, T, model in keys:
        paper = PAPER_TABLE1[(problem, model)][T]
        row = {"problem": problem, "T0": T, "model": model}
        for arm in arms:  # every arm a column, in the order given
            c = cells.get(arm)
            if c is not None and (problem, T, model) in c.index:
                cell = c.loc[(problem, T, model)]
                row[arm] = epochs_cell(cell)
                row[f"{arm}: agree"] = "yes" if agrees(cell["median"], cell["budget_epochs"],
                                                       paper) else "no"
            else:
                row[arm], row[f"{arm}: agree"] = "not run", ""
        row["paper (epochs)"] = str(paper)
        rows.append(row)
    return pd.DataFrame(rows)


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

``mechanism_table`` sets the arms' mechanism checks side by side (each arm's
``project.length_mechanism`` rows, ``mechanism.csv``): per problem x T0 x model, the slope of
the held-out error on z = S (mean L / L - 1) over the runs of one rate (slope 1: blind to 1/L).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from project.analysis.raffel_table import (
    PAPER_MODELS, PAPER_TABLE1, PROBLEMS, RATES, SEED_COLUMNS, agrees, cell_summary,
    epochs_cell)


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
                if cell["rates_run"] < len(RATES):  # an arm stopped part way (-unfinished)
                    row[arm] += f", {cell['rates_run']} of {len(RATES)} rates"
                row[f"{arm}: agree"] = "yes" if agrees(cell["median"], cell["budget_epochs"],
                                                       paper) else "no"
            else:
                row[arm], row[f"{arm}: agree"] = "not run", ""
        row["paper (epochs)"] = str(paper)
        rows.append(row)
    return pd.DataFrame(rows)



def _override(setting: str, key: str) -> str | None:
    """The value of ``key`` in a run's comma-joined setting overrides, or None."""
    for item in str(setting).split(","):
        name, _, value = item.partition("=")
        if name == key:
            return value
    return None


def slope_cell(runs: pd.DataFrame) -> str:
    """Median slope [min, max] over the runs, and how many have p < 0.01 (n/N); "-" where
    no run has a slope (fixed lengths: z is zero)."""
    slopes = runs["slope"].dropna()
    if slopes.empty:
        return "-"
    low = int((runs.loc[slopes.index, "p"] < 0.01).sum())
    return (f"{slopes.median():.2f} [{slopes.min():.2f}, {slopes.max():.2f}], "
            f"p < 0.01 in {low}/{len(slopes)}")


def mechanism_table(arms: dict[str, pd.DataFrame], lengths: tuple[int, ...],
                    lr: float = 0.01, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows problem x T0 x model; per arm the slope cell (``slope_cell``) of its runs at rate
    ``lr`` ("not run" where the arm has none); a column per arm, or per name in ``columns``
    (arms without rows among them)."""
    cells: dict[tuple, dict[str, str]] = {}
    for arm, rows in arms.items():
        rows = rows.assign(T0=[_override(s, "task.seq_len") for s in rows["setting"]],
                           lr=[_override(s, "optimizer.lr") for s in rows["setting"]])
        rows = rows[rows["T0"].notna() & rows["lr"].notna()]
        rows = rows[rows["T0"].astype(int).isin(lengths) & (rows["lr"].astype(float) == lr)]
        for (task, T0, model), runs in rows.groupby(["task", "T0", "model"]):
            key = (PROBLEMS.get(task, task), int(T0), PAPER_MODELS.get(model, model))
            cells.setdefault(key, {})[arm] = slope_cell(runs)
    if not cells:
        raise ValueError(f"no mechanism rows at rate {lr} and T0 in "
                         f"{', '.join(map(str, lengths))}")
    return pd.DataFrame([{"problem": p, "T0": T, "model": m,
                          **{arm: cells[(p, T, m)].get(arm, "not run")
                             for arm in columns or arms}}
                         for p, T, m in sorted(cells)])

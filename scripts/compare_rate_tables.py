"""The "What per-model tuning changed" table of docs/results.md, from the two committed main
tables: ``python scripts/compare_rate_tables.py`` (docs/results/main and docs/results/shared)."""

from pathlib import Path

import pandas as pd

from project.analysis.render.tables import to_markdown

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"


def effect(row: pd.Series) -> str:
    return f"{row.effect:.2f} [{row.effect_low:.2f}, {row.effect_high:.2f}], {row.p_holm:.2g}"


def reached(row: pd.Series) -> str:
    return f"{int(row['variant.reached'])} / {int(row['control.reached'])}"


def comparison(tuned: pd.DataFrame, shared: pd.DataFrame) -> pd.DataFrame:
    """One row per task: each table's rates, effect with its interval and Holm p, and runs
    that reached the target."""
    rows = []
    for task in tuned.index:
        a, b = tuned.loc[task], shared.loc[task]
        rows.append({"task": task,
                     "rates tuned (attention / mean)": f"{a['variant.lr']} / {a['control.lr']}",
                     "effect tuned [95% CI], Holm p": effect(a),
                     "shared rate": b["variant.lr"],
                     "effect shared [95% CI], Holm p": effect(b),
                     "reached tuned (att / mean)": reached(a),
                     "reached shared (att / mean)": reached(b)})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    tables = [pd.read_csv(RESULTS / name / "main_table.csv").set_index("task")
              for name in ("main", "shared")]
    print(to_markdown(comparison(*tables)), end="")

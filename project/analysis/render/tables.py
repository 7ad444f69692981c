"""The report's main table (PROTOCOL.md, table 1) as text cells: Markdown and LaTeX.

Rows are settings; for each model variant the test metric (mean +- std over seeds), steps to
target (Kaplan-Meier median [quartiles]; ``>B`` when censored at budget ``B``) and reached
n/N; then, for attention vs the baseline, the speedup on steps [95% CI], P(attention faster)
[95% CI] and the Wilcoxon p-value after Holm's correction across settings.
"""

from __future__ import annotations

import math

import pandas as pd

DASH = "—"
BOUND = {">=": "≥ ", "<=": "≤ ", "": "", "?": "? "}


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def fmt_steps(x: float, budget: float) -> str:
    """A step (or second) count; ``>budget`` when censored (infinite)."""
    if _nan(x):
        return DASH
    if math.isinf(x):
        return f">{fmt_number(budget)}"
    return fmt_number(x)


def fmt_number(x: float) -> str:
    """Integers without decimals, other numbers with 3 significant digits."""
    if _nan(x):
        return DASH
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def fmt_steps_iqr(row: pd.Series, v: str) -> str:
    b = row.get(f"{v}.steps_budget")
    return (f"{fmt_steps(row[f'{v}.steps_median'], b)} "
            f"[{fmt_steps(row[f'{v}.steps_q1'], b)}, {fmt_steps(row[f'{v}.steps_q3'], b)}]")


def fmt_mean_std(mean: float, std: float) -> str:
    """``mean ± std`` with 3 and 2 significant digits (readable for accuracies and MSEs)."""
    return DASH if _nan(mean) else f"{mean:.3g} ± {std:.2g}"


def fmt_ci(value: float, low: float, high: float, bound: str = "") -> str:
    if _nan(value):
        return DASH
    return f"{BOUND.get(bound, '')}{value:.2f} [{low:.2f}, {high:.2f}]"


def fmt_p(p: float) -> str:
    return DASH if _nan(p) else f"{p:.3g}"


def main_table(table: pd.DataFrame, auto_target: bool = False) -> pd.DataFrame:
    """Text cells of the main table from ``comparison_table``'s numeric rows."""
    variants = table.attrs.get("variants", [])
    rows = []
    for _, row in table.iterrows():
        op = ">=" if row["direction"] == "max" else "<="
        cells = {"Task": row["setting"],
                 "Target": f"{row['val_metric']} {op} {fmt_number(row['target'])}"
                           + (" (auto)" if auto_target else "")}
        for v in variants:
            present = not _nan(row.get(f"{v}.runs"))
            cells[f"{v}: test (mean ± std)"] = (
                fmt_mean_std(row[f"{v}.test_mean"], row[f"{v}.test_std"]) if present else DASH)
            cells[f"{v}: steps to target (median [IQR])"] = (fmt_steps_iqr(row, v) if present
                                                             else DASH)
            cells[f"{v}: reached"] = (f"{int(row[f'{v}.reached'])}/{int(row[f'{v}.runs'])}"
                                      if present else DASH)
        if not _nan(row.get("missing")) and row.get("missing"):
            cells["Speedup [95% CI]"] = row["missing"]
            cells["P(faster) [95% CI]"] = DASH
            cells["p (Holm)"] = DASH
        else:
            cells["Speedup [95% CI]"] = fmt_ci(row["speedup"], row["speedup_low"],
                                               row["speedup_high"], row["speedup_bound"])
            cells["P(faster) [95% CI]"] = fmt_ci(row["p_faster"], row["p_faster_low"],
                                                 row["p_faster_high"])
            cells["p (Holm)"] = fmt_p(row["p_holm"])
        rows.append(cells)
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table."""
    def esc(s) -> str:
        return str(s).replace("|", "\\|")
    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(esc(x) for x in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def to_latex(df: pd.DataFrame, caption: str = "") -> str:
    """A booktabs LaTeX table (``\\toprule``/``\\midrule``/``\\bottomrule``); columns named
    ``model: figure`` are grouped under one ``\\multicolumn`` header per model."""
    df = df.copy()
    df.columns = pd.MultiIndex.from_tuples(
        [tuple(c.split(": ", 1)) if ": " in c else ("", c) for c in df.columns])
    body = df.style.hide(axis="index").format(escape="latex").format_index(
        escape="latex", axis=1).to_latex(hrules=True, column_format="l" * df.shape[1],
                                         multicol_align="c", caption=caption or None,
                                         position="htbp")
    for uni, tex in (("±", r"$\pm$"), ("≥", r"$\geq$"), ("≤", r"$\leq$"), ("—", "--"),
                     (">=", r"$\geq$"), ("<=", r"$\leq$"), (">", "$>$"), ("<", "$<$")):
        body = body.replace(uni, tex)
    return body

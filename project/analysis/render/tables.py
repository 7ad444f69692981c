"""The report's tables as text cells: Markdown and LaTeX (docs/protocol.md, table 1).

Main table: one row per (setting, variant vs control). For the variant and for the control:
the test metric (mean ± std over seeds), steps to target (Kaplan-Meier median [quartiles];
``>B`` when censored at budget ``B``), their IQM (``≥`` when a censored run is among the
middle half) and reached n/N; then the speedup on steps [95% CI] (``≥ x [low, ∞)`` when the
control's median is censored, ``≤ x (0, high]`` when the variant's is), P(variant faster)
[exact 95% CI] (n pairs), the Wilcoxon p-value after Holm's correction (pairs the test used),
and the test-metric difference (variant minus control) [95% CI] with its Holm-corrected
Wilcoxon p (pairs used). The time table: seconds to target and progress AUC, median and IQM,
and the speedup on training time.
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


def fmt_steps_iqr(row: pd.Series, side: str, kind: str = "steps") -> str:
    """``median [q1, q3]`` of a cell's steps (or seconds) to target."""
    b = row.get(f"{side}.{kind}_budget")
    return (f"{fmt_steps(row[f'{side}.{kind}_median'], b)} "
            f"[{fmt_steps(row[f'{side}.{kind}_q1'], b)}, "
            f"{fmt_steps(row[f'{side}.{kind}_q3'], b)}]")


def fmt_bounded(value: float, bound: str) -> str:
    """A number, with ``≥`` when it is only a lower bound."""
    return DASH if _nan(value) else f"{BOUND.get(bound or '', '')}{fmt_number(value)}"


def fmt_mean_std(mean: float, std: float) -> str:
    """``mean ± std`` with 3 and 2 significant digits (readable for accuracies and MSEs)."""
    return DASH if _nan(mean) else f"{mean:.3g} ± {std:.2g}"


def fmt_ci(value: float, low: float, high: float) -> str:
    """``value [low, high]``."""
    return DASH if _nan(value) else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def fmt_ratio_ci(value: float, low: float, high: float, bound: str = "") -> str:
    """A speedup and its interval: ``≥``/``≤`` when the value is a bound, and an open side
    printed ``(0`` or ``∞)`` (a ratio of positive times is 0 or infinite only where a
    censored median leaves that side open); both medians censored: no information."""
    if _nan(value):
        return DASH
    if bound == "?":
        return "? (both medians censored)"
    left = "(0" if low == 0 else f"[{low:.2f}"
    right = "∞)" if math.isinf(high) else f"{high:.2f}]"
    return f"{BOUND.get(bound, '')}{value:.2f} {left}, {right}"


def fmt_p(p: float) -> str:
    return DASH if _nan(p) else f"{p:.3g}"


def fmt_signed(x: float) -> str:
    return DASH if _nan(x) else f"{x:+.3g}"


def side_cells(row: pd.Series, side: str) -> dict:
    """The per-cell columns of one side (``variant`` or ``control``) of a row."""
    present = not _nan(row.get(f"{side}.runs"))
    if not present:
        return {f"{side}: {c}": DASH for c in ("test (mean ± std)",
                                                "steps to target (median [IQR])",
                                                "steps IQM", "reached")}
    return {f"{side}: test (mean ± std)": fmt_mean_std(row[f"{side}.test_mean"],
                                                        row[f"{side}.test_std"]),
            f"{side}: steps to target (median [IQR])": fmt_steps_iqr(row, side),
            f"{side}: steps IQM": fmt_bounded(row[f"{side}.steps_iqm"],
                                              row[f"{side}.steps_iqm_bound"]),
            f"{side}: reached": f"{int(row[f'{side}.reached'])}/{int(row[f'{side}.runs'])}"}


def comparison_label(row: pd.Series) -> str:
    variant = row.get("variant") or DASH
    return f"{variant} vs {row['control']}"


def target_label(row: pd.Series, auto_target: bool) -> str:
    op = ">=" if row["direction"] == "max" else "<="
    return (f"{row['val_metric']} {op} {fmt_number(row['target'])}"
            + (" (auto)" if auto_target else ""))


def missing(row: pd.Series) -> str:
    m = row.get("missing")
    return "" if _nan(m) else str(m)


def main_table(table: pd.DataFrame, auto_target: bool = False) -> pd.DataFrame:
    """Text cells of the main table from ``comparison_table``'s numeric rows."""
    rows = []
    for _, row in table.iterrows():
        cells = {"Setting": row["setting"], "Target": target_label(row, auto_target),
                 "Comparison": comparison_label(row)}
        for side in ("variant", "control"):
            cells.update(side_cells(row, side))
        cols = ("Speedup [95% CI]", "P(faster) [exact 95% CI] (n)", "p (Holm) (n pairs)",
                "Test diff [95% CI], p (Holm) (n)")
        if missing(row):
            cells.update(dict.fromkeys(cols, DASH))
            cells[cols[0]] = missing(row)
            rows.append(cells)
            continue
        if bool(row["target_at_start"]):
            cells[cols[0]] = "target met at step 0: no speedup"
            cells[cols[1]] = cells[cols[2]] = DASH
        else:
            cells[cols[0]] = fmt_ratio_ci(row["speedup"], row["speedup_low"], row["speedup_high"],
                                    row["speedup_bound"])
            cells[cols[1]] = (f"{fmt_ci(row['p_faster'], row['p_faster_low'], row['p_faster_high'])}"
                              f" (n={int(row['n_pairs'])})")
            cells[cols[2]] = f"{fmt_p(row['p_holm'])} (n={int(row['p_n'])})"
        cells[cols[3]] = (DASH if _nan(row.get("test_diff")) else
                          f"{fmt_signed(row['test_diff'])} [{fmt_signed(row['test_diff_low'])}, "
                          f"{fmt_signed(row['test_diff_high'])}], p {fmt_p(row['test_p_holm'])} "
                          f"(n={int(row['test_p_n'])})")
        rows.append(cells)
    return pd.DataFrame(rows)


def time_table(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells of the time table: seconds to target and progress AUC (median and IQM) per
    side, and the speedup on training time."""
    rows = []
    for _, row in table.iterrows():
        cells = {"Setting": row["setting"], "Comparison": comparison_label(row)}
        for side in ("variant", "control"):
            if _nan(row.get(f"{side}.runs")):
                cells.update({f"{side}: {c}": DASH for c in (
                    "seconds to target (median [IQR])", "seconds IQM", "AUC median",
                    "AUC IQM")})
                continue
            cells[f"{side}: seconds to target (median [IQR])"] = fmt_steps_iqr(row, side, "time")
            cells[f"{side}: seconds IQM"] = fmt_bounded(row[f"{side}.time_iqm"],
                                                        row[f"{side}.time_iqm_bound"])
            cells[f"{side}: AUC median"] = f"{row[f'{side}.auc_median']:.3f}"
            cells[f"{side}: AUC IQM"] = f"{row[f'{side}.auc_iqm']:.3f}"
        if missing(row):
            cells["Time speedup [95% CI]"] = missing(row)
        elif bool(row["target_at_start"]):
            cells["Time speedup [95% CI]"] = "target met at step 0: no speedup"
        else:
            cells["Time speedup [95% CI]"] = fmt_ratio_ci(row["time_speedup"],
                                                    row["time_speedup_low"],
                                                    row["time_speedup_high"],
                                                    row["time_speedup_bound"])
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


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    """Plain text for LaTeX (its special characters escaped)."""
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(df: pd.DataFrame, caption: str = "") -> str:
    """A booktabs LaTeX table (``\\toprule``/``\\midrule``/``\\bottomrule``); columns named
    ``side: figure`` are grouped under one ``\\multicolumn`` header per side. ``caption`` is
    LaTeX (escape plain text with ``latex_escape``)."""
    df = df.copy()
    df.columns = pd.MultiIndex.from_tuples(
        [tuple(c.split(": ", 1)) if ": " in c else ("", c) for c in df.columns])
    body = df.style.hide(axis="index").format(escape="latex").format_index(
        escape="latex", axis=1).to_latex(hrules=True, column_format="l" * df.shape[1],
                                         multicol_align="c", caption=caption or None,
                                         position="htbp")
    for uni, tex in (("±", r"$\pm$"), ("≥", r"$\geq$"), ("≤", r"$\leq$"), ("—", "--"),
                     ("∞", r"$\infty$"),
                     (">=", r"$\geq$"), ("<=", r"$\leq$"), (">", "$>$"), ("<", "$<$")):
        body = body.replace(uni, tex)
    return body

"""The report's tables as text cells: Markdown and LaTeX (docs/protocol.md, table 1).

Main table: one row per (setting, variant vs control), with each side's learning rate. For the
variant and for the control:
the test metric (mean ± std over seeds), steps to target (Kaplan-Meier median [quartiles];
``>B`` when censored at budget ``B``), their IQM (``≥`` when a censored run is among the
middle half), the restricted mean steps to target (up to the budget) and reached n/N; then the
effect (restricted-mean ratio control / variant [paired bootstrap 95% CI], always finite),
the ratio of medians (descriptive: a bound under censoring, no interval), P(variant faster)
[exact 95% CI] (n pairs), the steps p-value after Holm's correction naming its test, the pairs
it used and the smallest p those pairs allow, and the test-metric difference (variant minus
control) [95% CI] with its Holm-corrected p. The generalisation table: test metric at the
best-validation checkpoint and at the full budget, and the train-minus-test gap, as paired
differences (where the runs carry them). The time table: isolated step costs, restricted mean
time at those costs, progress AUC, and the time effect.
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
                                                "steps IQM", "restricted mean steps",
                                                "reached")}
    return {f"{side}: test (mean ± std)": fmt_mean_std(row[f"{side}.test_mean"],
                                                        row[f"{side}.test_std"]),
            f"{side}: steps to target (median [IQR])": fmt_steps_iqr(row, side),
            f"{side}: steps IQM": fmt_bounded(row[f"{side}.steps_iqm"],
                                              row[f"{side}.steps_iqm_bound"]),
            f"{side}: restricted mean steps": fmt_number(row[f"{side}.steps_rmst"]),
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


def fmt_effect(value: float, low: float, high: float) -> str:
    """A ratio and its interval, ``value [low, high]`` (always finite: restricted means)."""
    return DASH if _nan(value) else f"{value:.2f} [{low:.2f}, {high:.2f}]"


def fmt_test(row: pd.Series, prefix: str) -> str:
    """``p (method, n=.., floor ..)`` of one Holm family: the Holm-adjusted p, the test, the
    pairs it used and the smallest adjusted p those pairs allow."""
    if prefix == "p":
        p, n, method, floor = (row.get(k) for k in ("p_holm", "p_n", "p_method",
                                                     "p_floor_holm"))
        return f"{fmt_p(p)} ({method}, n={int(n)}, floor {fmt_p(floor)})"
    p, n, method = (row.get(f"{prefix}_p{k}") for k in ("_holm", "_n", "_method"))
    return f"p {fmt_p(p)} ({method}, n={int(n)})"


def fmt_difference(row: pd.Series, prefix: str) -> str:
    """``diff [low, high], p (method, n)`` of a paired per-run figure; — when not carried."""
    if _nan(row.get(f"{prefix}_diff")):
        return DASH
    return (f"{fmt_signed(row[f'{prefix}_diff'])} [{fmt_signed(row[f'{prefix}_diff_low'])}, "
            f"{fmt_signed(row[f'{prefix}_diff_high'])}], {fmt_test(row, prefix)}")


def fmt_median_ratio(value: float, bound: str) -> str:
    """The ratio of medians, descriptive only: no interval; ``?`` when both are censored."""
    if _nan(value):
        return DASH
    if bound == "?":
        return "? (both medians censored)"
    return f"{BOUND.get(bound or '', '')}{value:.2f}"


MAIN_COLUMNS = ("Effect: restricted-mean ratio [95% CI]", "Median ratio (descriptive)",
                "P(faster) [exact 95% CI] (n)", "p (Holm) (test, pairs, floor)",
                "Test diff [95% CI], p (Holm) (test, n)")


def main_table(table: pd.DataFrame, auto_target: bool = False) -> pd.DataFrame:
    """Text cells of the main table from ``comparison_table``'s numeric rows."""
    rows = []
    for _, row in table.iterrows():
        cells = {"Setting": row["setting"], "Target": target_label(row, auto_target),
                 "Comparison": comparison_label(row), "Rate (variant / control)": " / ".join(
                     DASH if _nan(r := row.get(f"{side}.lr")) or not r else str(r)
                     for side in ("variant", "control"))}
        for side in ("variant", "control"):
            cells.update(side_cells(row, side))
        cols = MAIN_COLUMNS
        if missing(row):
            cells.update(dict.fromkeys(cols, DASH))
            cells[cols[0]] = missing(row)
            rows.append(cells)
            continue
        if bool(row["target_at_start"]):
            cells.update(dict.fromkeys(cols[1:4], DASH))
            cells[cols[0]] = "target met at step 0: no effect"
        else:
            cells[cols[0]] = fmt_effect(row["effect"], row["effect_low"], row["effect_high"])
            cells[cols[1]] = fmt_median_ratio(row["speedup"], row["speedup_bound"])
            faster = fmt_ci(row["p_faster"], row["p_faster_low"], row["p_faster_high"])
            cells[cols[2]] = f"{faster} (n={int(row['n_pairs'])})"
            cells[cols[3]] = fmt_test(row, "p")
        cells[cols[4]] = fmt_difference(row, "test")
        rows.append(cells)
    return pd.DataFrame(rows)


GENERALISATION_COLUMNS = {"test": ("test at best validation", "test_mean", "test_std"),
                          "budget": ("test at full budget", "test_at_budget_mean",
                                     "test_at_budget_std"),
                          "gap": ("train − test gap at budget", "gap_at_budget_mean",
                                  "gap_at_budget_std")}


def generalisation_table(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells of the generalisation table: per figure the runs carry (test metric at the
    best-validation checkpoint, at the full budget, train-minus-test gap at the budget), each
    side's mean ± std and the paired difference with its test."""
    present = [k for k in GENERALISATION_COLUMNS if f"{k}_diff" in table
               and table[f"{k}_diff"].notna().any()]
    rows = []
    for _, row in table.iterrows():
        cells = {"Setting": row["setting"], "Comparison": comparison_label(row)}
        for key in present:
            name, mean, std = GENERALISATION_COLUMNS[key]
            for side in ("variant", "control"):
                cells[f"{name}: {side}"] = (fmt_mean_std(row.get(f"{side}.{mean}"),
                                                         row.get(f"{side}.{std}"))
                                            if not _nan(row.get(f"{side}.{mean}")) else DASH)
            cells[f"{name}: diff [95% CI], p (Holm)"] = (missing(row) or
                                                         fmt_difference(row, key))
        rows.append(cells)
    return pd.DataFrame(rows)


def time_table(table: pd.DataFrame) -> pd.DataFrame:
    """Text cells of the time table: per side the isolated step cost, the restricted mean time
    to target at that cost, and the progress AUC (median and IQM); then the time effect (the
    restricted-mean ratio times the ratio of step costs). No per-run clock is used."""
    rows = []
    for _, row in table.iterrows():
        cells = {"Setting": row["setting"], "Comparison": comparison_label(row)}
        for side in ("variant", "control"):
            if _nan(row.get(f"{side}.runs")):
                cells.update({f"{side}: {c}": DASH for c in (
                    "step cost (ms, isolated)", "restricted mean time (s)", "AUC median",
                    "AUC IQM")})
                continue
            cost = row.get(f"{side}.step_cost_s")
            cells[f"{side}: step cost (ms, isolated)"] = (DASH if _nan(cost)
                                                           else f"{1000 * cost:.3g}")
            cells[f"{side}: restricted mean time (s)"] = fmt_number(row.get(f"{side}.time_rmst"))
            cells[f"{side}: AUC median"] = f"{row[f'{side}.auc_median']:.3f}"
            cells[f"{side}: AUC IQM"] = f"{row[f'{side}.auc_iqm']:.3f}"
        col = "Time effect at isolated step costs [95% CI]"
        if missing(row):
            cells[col] = missing(row)
        elif bool(row["target_at_start"]):
            cells[col] = "target met at step 0: no effect"
        else:
            cells[col] = fmt_effect(row.get("time_effect"), row.get("time_effect_low"),
                                    row.get("time_effect_high"))
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

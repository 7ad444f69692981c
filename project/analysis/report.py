"""The report's files from runs: tables (Markdown, LaTeX, CSV), figures and report.html.

Every variant of a setting is compared with the declared control (``control``: a variant
label, or a model name when the setting has one variant of it), paired by seed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from project.stats.bootstrap import N_RESAMPLES, SEED
from project.stats.profiles import profile_score
from project.analysis.auto_target import apply_auto_target
from project.analysis.variants import add_keys
from project.analysis.comparison import (across_tasks, cell_table, comparison_table, p_floor,
                                         profile_times)
from project.analysis.render.figures import curve_figures, forest_figure, profile_figure
from project.analysis.render.html import write_html
from project.analysis.sources import load_runs
from project.analysis.render.tables import (fmt_p, fmt_ratio_ci, latex_escape, main_table,
                                            time_table, to_latex, to_markdown)

DEFAULT_CONTROL = "baseline"  # mean pooling (conf/model/baseline.yaml)

NOTES = [
    "Rows: every variant against the control {control} within a setting, paired by seed "
    "(seeds run by both).",
    "Steps to target: first evaluation step meeting the target; a run that never does is "
    "censored at its budget and never counts as reaching it (median and quartiles are "
    "Kaplan-Meier; '>B' = censored beyond budget B). IQM: mean of the middle half, censored "
    "runs at their budget ('≥': a censored run is in the middle half, so it is a lower "
    "bound).",
    "Speedup = {control} median / variant median (>1: the variant is faster); 95% percentile "
    "bootstrap CI over seed pairs ({n_resamples:,} resamples, seed {seed}). A censored median "
    "counts as the budget, which makes the ratio a bound: '≥ x [low, ∞)' when {control}'s "
    "median is censored, '≤ x (0, high]' when the variant's is; an interval side is also "
    "open when more than 2.5% of the resamples have such a censored median.",
    "P(faster): fraction of seed pairs where the variant needs strictly fewer steps, ties "
    "half (a censored run is slower than any that reached; two censored runs tie); exact "
    "Clopper-Pearson 95% interval, conservative for ties: its lower limit counts every tie as "
    "a loss, its upper limit every tie as a win. n = seed pairs.",
    "p: two-sided Wilcoxon signed-rank test on paired log step ratios (censored runs at their "
    "budget), Holm-corrected over all {m} comparison(s) of the table; n = pairs the test used "
    "(pairs with equal steps drop out).",
    "Test: the test metric of the checkpoint with the best validation value, mean ± std over "
    "seeds. Test diff: mean paired difference variant minus {control} with its 95% bootstrap "
    "CI, and the two-sided Wilcoxon signed-rank p on the paired differences, Holm-corrected "
    "over the table's comparisons (n = pairs with a non-zero difference).",
    "A setting whose target is met at the step-0 evaluation gets no speedup, P(faster) or "
    "steps p-value (steps to target mean nothing there) and is left out of the geometric "
    "means and the performance profile.",
]


def floor_line(table: pd.DataFrame) -> str:
    """The smallest p-value the table could show (printed under it)."""
    f = p_floor(table)
    if not f["m"]:
        return "Smallest p this table could show: no comparison was tested."
    return (f"Smallest p this table could show: 2/2^n = {fmt_p(f['raw'])} with n = {f['n']} "
            f"seed pairs; after Holm over m = {f['m']} comparison(s), m × 2/2^n = "
            f"{fmt_p(f['holm'])}.")


def floor_latex(table: pd.DataFrame) -> str:
    """``floor_line`` in LaTeX, for the table's caption."""
    f = p_floor(table)
    if not f["m"]:
        return "Smallest $p$ this table could show: no comparison was tested."
    return (f"Smallest $p$ this table could show: $2/2^{{n}} = {fmt_p(f['raw'])}$ with "
            f"$n = {f['n']}$ seed pairs; after Holm over $m = {f['m']}$ comparison(s), "
            f"$m \\times 2/2^{{n}} = {fmt_p(f['holm'])}$.")


def notes(table: pd.DataFrame, control: str, n_resamples: int, seed: int,
          target: str) -> list[str]:
    """The definitions printed under the table, with this report's settings."""
    m = p_floor(table)["m"]
    out = [floor_line(table)]
    out += [n.format(control=control, n_resamples=n_resamples, seed=seed, m=m) for n in NOTES]
    if target == "auto":
        out.insert(1, f"Target (auto): per setting, the median over seeds of {control}'s best "
                      "validation value; steps to target re-derived from each run's curve.")
    return out


def across_text(across: pd.DataFrame, cells: pd.DataFrame, variants: list[str],
                control: str) -> str:
    """One paragraph: each variant's geometric-mean speedups and the profile scores."""
    if across.empty:
        return f"Across settings: no setting has runs of {control} and another variant."
    parts = []
    for _, r in across.iterrows():
        steps, time = (fmt_ratio_ci(*(r[f"{name}{end}"] for end in ("", "_low", "_high",
                                                                     "_bound")))
                       for name in ("geomean_speedup", "geomean_time_speedup"))
        parts.append(f"{r['variant']} vs {control} over {int(r['settings'])} setting(s): "
                     f"{steps} on steps, {time} on time")
    out = ["Across settings (geometric-mean speedup, 95% CI, seeds resampled within "
           "settings): " + "; ".join(parts) + "."]
    for kind in ("steps", "time"):
        present, times = profile_times(cells, variants, kind)
        if times.size:
            scores = ", ".join(f"{v} {s:.2f}" for v, s in zip(present, profile_score(times)))
            out.append(f"Performance-profile score ({kind}, {times.shape[1]} setting(s)): "
                       f"{scores}.")
    return " ".join(out)


def build_report(source: str, out: Path, group: str | None = None, tags: list[str] = (),
                 state: str | None = "finished", n_resamples: int = N_RESAMPLES,
                 seed: int = SEED, target: str = "config", *,
                 control: str = DEFAULT_CONTROL) -> dict:
    """Load the runs of ``source`` and write every report file into ``out`` (the command
    line: ``python -m project.report``)."""
    runs, curves = load_runs(source, group, tags, state)
    return write_report(runs, curves, out, source, n_resamples, seed, target, control=control)


def write_report(runs: pd.DataFrame, curves: pd.DataFrame, out: Path, source: str,
                 n_resamples: int = N_RESAMPLES, seed: int = SEED,
                 target: str = "config", *, control: str) -> dict:
    """Write every report file into ``out``; return their paths and the Markdown tables."""
    if runs.empty:
        raise LookupError(f"no finished runs in {source} (a finished run folder holds "
                          "a summary)")
    if target == "auto":
        runs = apply_auto_target(runs, curves, control)
        if runs.empty:
            raise LookupError(f"target=auto: no setting has runs of the control {control}")
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(runs, control, n_resamples, seed)
    variants = table.attrs["variants"]
    keyed = add_keys(runs)
    cells = cell_table(keyed, control)
    across = across_tasks(runs, control, n_resamples, seed)
    main = main_table(table, auto_target=target == "auto")
    times = time_table(table)
    note_lines = notes(table, control, n_resamples, seed, target)
    markdown = to_markdown(main)
    files = {"markdown": out / "main_table.md", "latex": out / "main_table.tex",
             "csv": out / "main_table.csv", "time_markdown": out / "time_table.md",
             "time_latex": out / "time_table.tex", "cells_csv": out / "cells.csv",
             "runs_csv": out / "runs.csv", "across_csv": out / "across_tasks.csv"}
    files["markdown"].write_text(markdown + "\n" + note_lines[0] + "\n")
    control_tex = latex_escape(control)
    caption = (f"Every variant vs {control_tex}: test metric, steps to target, speedup, "
               f"P(faster), $p$ and test difference over seeds. {floor_latex(table)}")
    files["latex"].write_text(to_latex(main, caption))
    files["time_markdown"].write_text(to_markdown(times))
    files["time_latex"].write_text(to_latex(times, f"Every variant vs {control_tex}: seconds "
                                                   "to target, progress AUC, speedup on time."))
    table.to_csv(files["csv"], index=False)
    cells.drop(columns="setting_key").to_csv(files["cells_csv"], index=False)
    runs.to_csv(files["runs_csv"], index=False)
    across.to_csv(files["across_csv"], index=False)
    figures = curve_figures(keyed, curves, out, variants) + \
        profile_figure(cells, variants, out) + forest_figure(table, across, out, variants)
    across_line = across_text(across, cells, variants, control)
    files["html"] = write_html(out / "report.html", title=f"Every variant vs {control}: "
                               "convergence report", source=source,
                               tables=[("Main table", main), ("Time and progress", times)],
                               across=across_line, notes=note_lines,
                               figures=[f for f in figures if f.suffix == ".png"], runs=runs)
    return {"files": files, "figures": figures, "markdown": markdown, "floor": note_lines[0],
            "across": across_line, "table": table, "time_table": times, "cells": cells,
            "across_table": across}

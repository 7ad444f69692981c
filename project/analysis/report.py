"""The report's files from runs: tables (Markdown, LaTeX, CSV), figures and report.html.

Every variant of a setting is compared with the declared control (``control``: a variant
label, or a model name when the setting has one variant of it), paired by seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from project.stats.bootstrap import N_RESAMPLES, SEED
from project.stats.profiles import profile_score
from project.analysis.auto_target import apply_auto_target
from project.analysis.variants import add_keys
from project.analysis.comparison import (across_tasks, cell_table, comparison_table, p_floor,
                                         profile_times)
from project.analysis.render.figures import curve_figures, forest_figure, profile_figure
from project.analysis.render import staging
from project.analysis.render.html import write_html
from project.analysis.sources import load_runs
from project.analysis.render.tables import (fmt_p, generalisation_table, latex_escape,
                                            main_table, time_table, to_latex, to_markdown)
from project.analysis.runs_csv import read_runs_csv, write_runs_csv
from project.analysis.step_costs import read_step_costs, step_cost_label, with_step_costs

DEFAULT_CONTROL = "baseline"  # mean pooling (conf/model/baseline.yaml)

NOTES = [
    "Rows: every variant against the control {control} within a setting, paired by seed "
    "(seeds run by both).",
    "Steps to target: first evaluation step meeting the target; a run that never does is "
    "censored at its budget and never counts as reaching it (median and quartiles are "
    "Kaplan-Meier; '>B' = censored beyond budget B). IQM: mean of the middle half, censored "
    "runs at their budget ('≥': a censored run is in the middle half, so it is a lower "
    "bound). Restricted mean steps: the area under the Kaplan-Meier 'not yet reached' curve "
    "from 0 to the setting's budget (a censored run contributes its whole budget).",
    "Effect = {control}'s restricted mean steps / the variant's (>1: the variant reaches the "
    "target sooner); finite under any censoring; 95% percentile bootstrap CI over seed pairs "
    "({n_resamples:,} resamples, seed {seed}). Median ratio = {control} median / variant "
    "median, descriptive only ('≥'/'≤': a censored median counted at the budget makes it a "
    "bound; no interval).",
    "P(faster): fraction of seed pairs where the variant needs strictly fewer steps, ties "
    "half (a censored run is slower than any that reached; two censored runs tie); exact "
    "Clopper-Pearson 95% interval, conservative for ties: its lower limit counts every tie as "
    "a loss, its upper limit every tie as a win. n = seed pairs.",
    "p: two-sided exact sign test (binomial, no approximation) on the pairs whose order is "
    "known: both reached (equal steps: unknown), or one censored at c and the other reached "
    "at a step <= c; two censored runs, or a censored run that stopped before the other "
    "reached, are unknown and drop out. Holm-corrected over all {m} comparison(s) of the "
    "table; n = pairs the test used; floor = the smallest Holm p those n pairs allow, "
    "m × 2/2^n.",
    "Test: the test metric of the checkpoint with the best validation value, mean ± std over "
    "seeds. Test diff: mean paired difference variant minus {control} with its 95% bootstrap "
    "CI, and the two-sided exact sign test on the pairs with a non-zero difference, "
    "Holm-corrected over the table's comparisons.",
    "A setting whose target is met at the step-0 evaluation gets no effect, P(faster) or "
    "steps p-value (steps to target mean nothing there) and is left out of the across-setting "
    "figures and the performance profile.",
]


def floor_line(table: pd.DataFrame) -> str:
    """The smallest p-value the table could show (printed under it); each row prints its
    own."""
    f = p_floor(table)
    if not f["m"]:
        return "Smallest p this table could show: no comparison was tested."
    return (f"Smallest p this table could show (exact sign test): 2/2^n = {fmt_p(f['raw'])} "
            f"with n = {f['n']} ordered pairs, its largest; after Holm over m = {f['m']} "
            f"comparison(s), m × 2/2^n = {fmt_p(f['holm'])}. Each row prints the floor of its "
            "own ordered pairs.")


def floor_latex(table: pd.DataFrame) -> str:
    """``floor_line`` in LaTeX, for the table's caption."""
    f = p_floor(table)
    if not f["m"]:
        return "Smallest $p$ this table could show: no comparison was tested."
    return (f"Smallest $p$ this table could show (exact sign test): $2/2^{{n}} = "
            f"{fmt_p(f['raw'])}$ with $n = {f['n']}$ ordered pairs; after Holm over "
            f"$m = {f['m']}$ comparison(s), $m \\times 2/2^{{n}} = {fmt_p(f['holm'])}$.")


def notes(table: pd.DataFrame, control: str, n_resamples: int, seed: int,
          target: str, step_costs: str = "") -> list[str]:
    """The definitions printed under the table, with this report's settings."""
    m = p_floor(table)["m"]
    out = [floor_line(table)]
    out += [n.format(control=control, n_resamples=n_resamples, seed=seed, m=m) for n in NOTES]
    if target == "auto":
        out.insert(1, f"Target (auto): per setting, the median over seeds of {control}'s best "
                      "validation value; steps to target re-derived from each run's curve.")
    out.append("Time: steps x each model's step cost measured in isolation, from "
               f"{step_costs} (the time effect is the restricted-mean ratio times the ratio "
               "of step costs; its interval holds the costs fixed); per-run wall clocks are "
               "not used (seeds trained as one vectorised group share one clock)."
               if step_costs else "Time: no isolated step costs given (--step-costs), so no "
               "time figures; per-run wall clocks are not used (seeds trained as one "
               "vectorised group share one clock).")
    return out


def fmt_aggregate(r: pd.Series, name: str, fmt: str) -> str:
    """``value (seeds: [low, high]; tasks: [low, high])``."""
    v, sl, sh, tl, th = (r[f"{name}{end}"] for end in ("", "_seeds_low", "_seeds_high",
                                                        "_tasks_low", "_tasks_high"))
    return (f"{v:{fmt}} (95% CI resampling seeds within settings [{sl:{fmt}}, {sh:{fmt}}]; "
            f"resampling settings [{tl:{fmt}}, {th:{fmt}}])")


def across_text(across: pd.DataFrame, cells: pd.DataFrame, variants: list[str],
                control: str) -> str:
    """One paragraph: each variant's mean P(faster) and IQM effect, and the profile scores."""
    if across.empty:
        return f"Across settings: no setting has runs of {control} and another variant."
    parts = [f"{r['variant']} vs {control} over {int(r['settings'])} setting(s): mean "
             f"P(faster) {fmt_aggregate(r, 'p_faster', '.2f')}, IQM of the effects "
             f"{fmt_aggregate(r, 'iqm_effect', '.2f')}" for _, r in across.iterrows()]
    out = ["Across settings (effect = restricted-mean ratio; IQM on the log scale): "
           + "; ".join(parts) + "."]
    for kind in ("steps", "time"):
        present, times = profile_times(cells, variants, kind)
        if times.size and not np.isnan(times).any():
            scores = ", ".join(f"{v} {s:.2f}" for v, s in zip(present, profile_score(times)))
            label = "steps" if kind == "steps" else "time at isolated step costs"
            out.append(f"Performance-profile score ({label}, {times.shape[1]} setting(s)): "
                       f"{scores}.")
    return " ".join(out)


def build_report(source: str, out: Path, group: str | None = None, tags: list[str] = (),
                 state: str | None = "finished", n_resamples: int = N_RESAMPLES,
                 seed: int = SEED, target: str = "config", step_costs: str | None = None, *,
                 control: str = DEFAULT_CONTROL) -> dict:
    """Load the runs of ``source`` and write every report file into ``out`` (the command
    line: ``python -m project.report``); ``step_costs``: a benchmark JSON of isolated step
    costs (``project.analysis.step_costs``)."""
    runs, curves = load_runs(source, group, tags, state)
    if step_costs and not runs.empty:
        runs = with_step_costs(runs, read_step_costs(step_costs))
    return write_report(runs, curves, out, source, n_resamples, seed, target, control=control,
                        step_costs=step_cost_label(step_costs) if step_costs else "")


def build_from_csv(path: str, out: Path, n_resamples: int = N_RESAMPLES, seed: int = SEED, *,
                   control: str = DEFAULT_CONTROL) -> dict:
    """Every table from a published runs CSV alone (``runs_csv``): no curves, so no curve
    figures and no ``target=auto``; step costs are the CSV's own."""
    runs = read_runs_csv(path)
    label = (f"the runs CSV's step_cost_s column ({Path(path).name})"
             if runs["step_cost_s"].notna().any() else "") if "step_cost_s" in runs else ""
    return write_report(runs, pd.DataFrame(columns=["run_dir", "step"]), out, str(path),
                        n_resamples, seed, "config", control=control, step_costs=label)


def write_report(runs: pd.DataFrame, curves: pd.DataFrame, out: Path, source: str,
                 n_resamples: int = N_RESAMPLES, seed: int = SEED,
                 target: str = "config", *, control: str, step_costs: str = "") -> dict:
    """Write every report file into ``out``; return their paths and the Markdown tables.
    ``step_costs``: where the runs' ``step_cost_s`` came from (empty: none)."""
    if runs.empty:
        raise LookupError(f"no finished runs in {source} (a finished run folder holds "
                          "a summary)")
    if target == "auto":
        runs = apply_auto_target(runs, curves, control)
        if runs.empty:
            raise LookupError(f"target=auto: no setting has runs of the control {control}")
    final, out = Path(out), staging.begin(out)  # written whole into final by commit()
    table = comparison_table(runs, control, n_resamples, seed)
    variants = table.attrs["variants"]
    keyed = add_keys(runs)
    cells = cell_table(keyed, control)
    across = across_tasks(runs, control, n_resamples, seed)
    main = main_table(table, auto_target=target == "auto")
    times = time_table(table)
    general = generalisation_table(table)
    note_lines = notes(table, control, n_resamples, seed, target, step_costs)
    markdown = to_markdown(main)
    files = {"markdown": out / "main_table.md", "latex": out / "main_table.tex",
             "csv": out / "main_table.csv", "time_markdown": out / "time_table.md",
             "time_latex": out / "time_table.tex", "cells_csv": out / "cells.csv",
             "runs_csv": out / "runs.csv", "across_csv": out / "across_tasks.csv",
             "generalisation_markdown": out / "generalisation_table.md"}
    files["markdown"].write_text(markdown + "\n" + note_lines[0] + "\n")
    control_tex = latex_escape(control)
    caption = (f"Every variant vs {control_tex}: test metric, steps to target, effect "
               f"(restricted-mean ratio), P(faster), $p$ and test difference over seeds. "
               f"{floor_latex(table)}")
    files["latex"].write_text(to_latex(main, caption))
    files["time_markdown"].write_text(to_markdown(times))
    files["time_latex"].write_text(to_latex(times, f"Every variant vs {control_tex}: isolated "
                                                   "step costs, restricted mean time to "
                                                   "target, progress AUC, time effect."))
    table.to_csv(files["csv"], index=False)
    cells.drop(columns="setting_key").to_csv(files["cells_csv"], index=False)
    write_runs_csv(runs, files["runs_csv"])
    files["generalisation_markdown"].write_text(to_markdown(general))
    across.to_csv(files["across_csv"], index=False)
    figures = curve_figures(keyed, curves, out, variants) + \
        profile_figure(cells, variants, out) + forest_figure(table, across, out, variants)
    across_line = across_text(across, cells, variants, control)
    files["html"] = write_html(out / "report.html", title=f"Every variant vs {control}: "
                               "convergence report", source=source,
                               tables=[("Main table", main), ("Generalisation", general),
                                       ("Time and progress", times)],
                               across=across_line, notes=note_lines,
                               figures=[f for f in figures if f.suffix == ".png"], runs=runs)
    staging.commit(out, final)
    files, figures = staging.moved(files, final), staging.moved(figures, final)
    return {"files": files, "figures": figures, "markdown": markdown, "floor": note_lines[0],
            "across": across_line, "table": table, "time_table": times, "cells": cells,
            "across_table": across, "generalisation_table": general}

"""The report's files from runs: tables (Markdown, LaTeX, CSV), figures and report.html."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from project.stats.bootstrap import N_RESAMPLES, SEED
from project.stats.profiles import profile_score
from project.analysis.auto_target import apply_auto_target
from project.analysis.variants import add_keys
from project.analysis.comparison import across_tasks, comparison_table, profile_times
from project.analysis.render.figures import curve_figures, forest_figure, profile_figure
from project.analysis.render.html import write_html
from project.analysis.sources import load_runs
from project.analysis.render.tables import fmt_ci, main_table, to_latex, to_markdown

NOTES = [
    "Steps to target: first evaluation step meeting the target; a run that never does is "
    "censored at its budget and never counts as reaching it (median and quartiles are "
    "Kaplan-Meier; '>B' = censored beyond budget B).",
    "Speedup = baseline median / attention median (>1: attention is faster); 95% percentile "
    "bootstrap CI over seed pairs ({n_resamples:,} resamples, seed {seed}). A censored "
    "median counts as the budget: "
    "'≥' marks a lower bound (baseline censored), '≤' an upper bound (attention censored).",
    "P(faster): fraction of seed pairs where attention needs strictly fewer steps, ties half; "
    "evidence of a gain when its CI lies above 0.5.",
    "p: two-sided Wilcoxon signed-rank test on paired log step ratios, Holm-corrected across "
    "settings (with n seed pairs the smallest possible p is 2/2^n: 0.25 for 3, 0.031 for 6).",
    "Test: the test metric of the checkpoint with the best validation value, mean ± std over "
    "seeds.",
]


def notes(n_resamples: int, seed: int, target: str) -> list[str]:
    """The definitions printed under the table, with this report's bootstrap settings."""
    out = [n.format(n_resamples=n_resamples, seed=seed) for n in NOTES]
    if target == "auto":
        out.insert(0, "Target (auto): per setting, the median over seeds of the baseline's best "
                      "validation value; steps to target re-derived from each run's curve.")
    return out


def across_text(across: dict, table: pd.DataFrame) -> str:
    """One line: geometric-mean speedups and performance-profile scores."""
    if not across["settings"]:
        return "Across settings: no setting has runs of both attention and baseline."
    steps, time = (fmt_ci(*(across[f"{name}{end}"] for end in ("", "_low", "_high")))
                   for name in ("geomean_speedup", "geomean_time_speedup"))
    parts = [f"Across {across['settings']} setting(s): geometric-mean speedup {steps} on steps, "
             f"{time} on time (95% CI, seeds resampled within settings)."]
    for kind in ("steps", "time"):
        variants, times = profile_times(table, kind)
        if times.size:
            scores = ", ".join(f"{v} {s:.2f}" for v, s in zip(variants, profile_score(times)))
            parts.append(f"Performance-profile score ({kind}): {scores}.")
    return " ".join(parts)


def build_report(source: str, out: Path, group: str | None = None, tags: list[str] = (),
                 state: str | None = "finished", n_resamples: int = N_RESAMPLES,
                 seed: int = SEED, target: str = "config") -> dict:
    """Load the runs of ``source`` and write every report file into ``out``."""
    runs, curves = load_runs(source, group, tags, state)
    return write_report(runs, curves, out, source, n_resamples, seed, target)


def write_report(runs: pd.DataFrame, curves: pd.DataFrame, out: Path, source: str,
                 n_resamples: int = N_RESAMPLES, seed: int = SEED,
                 target: str = "config") -> dict:
    """Write every report file into ``out``; return their paths and the Markdown table."""
    if runs.empty:
        raise LookupError(f"no finished runs in {source} (a finished run folder holds "
                          "a summary)")
    if target == "auto":
        runs = apply_auto_target(runs, curves)
        if runs.empty:
            raise LookupError("target=auto: no setting has baseline runs")
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(runs, n_resamples, seed)
    across = across_tasks(runs, n_resamples, seed)
    main = main_table(table, auto_target=target == "auto")
    markdown = to_markdown(main)
    files = {"markdown": out / "main_table.md", "latex": out / "main_table.tex",
             "csv": out / "main_table.csv", "runs_csv": out / "runs.csv",
             "across_csv": out / "across_tasks.csv"}
    files["markdown"].write_text(markdown)
    files["latex"].write_text(to_latex(main, "Attention vs baseline: steps to target, "
                                             "speedup and test metric over seeds."))
    table.to_csv(files["csv"], index=False)
    runs.to_csv(files["runs_csv"], index=False)
    pd.DataFrame([across]).to_csv(files["across_csv"], index=False)
    keyed = add_keys(runs)
    figures = curve_figures(keyed, curves, out) + profile_figure(table, out) + \
        forest_figure(table, across, out)
    across_line = across_text(across, table)
    files["html"] = write_html(out / "report.html", title="Attention vs mean pooling: "
                               "convergence report", source=source, main=main,
                               across=across_line, notes=notes(n_resamples, seed, target),
                               figures=[f for f in figures if f.suffix == ".png"], runs=runs)
    return {"files": files, "figures": figures, "markdown": markdown, "across": across_line,
            "table": table}



"""The report's figures (PNG and SVG): validation curves (every variant per setting), the
performance profile over all variants, and the forest plot of every variant vs the control.

Colours come from the report's variant list (control first), so a variant has the same colour
in every figure; no model name is special here."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from project.stats.profiles import TAU_MAX, profile_score, rho  # noqa: E402
from project.analysis.comparison import profile_times  # noqa: E402

LOG_SPAN = 30  # use a log axis when positive values span this factor or more
METRIC_LABELS = {"acc": "accuracy (fraction of examples)", "f1": "macro F1",
                 "mse": "mean squared error", "mae": "mean absolute error", "loss": "loss"}


def palette(variants: list[str]) -> dict[str, str]:
    """One colour per variant, in the order of ``variants`` (matplotlib's cycle C0, C1, ...)."""
    return {v: f"C{i % 10}" for i, v in enumerate(variants)}


SLUG_LIMIT = 80  # longest file-name part; a longer label is cut and given a short hash


def slug(text: str) -> str:
    """A file-name part for ``text``: its characters outside ``A-Za-z0-9.=-`` become ``_``;
    one longer than ``SLUG_LIMIT`` is cut and ends in 12 hex digits of the full text's hash,
    so two labels that share their first characters get different names."""
    name = re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_") or "setting"
    if len(name) > SLUG_LIMIT:
        name = f"{name[:SLUG_LIMIT - 13]}-{label_hash(text)}"
    return name


def label_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def unique_slugs(texts) -> dict[str, str]:
    """``slug`` of each distinct text; texts whose slugs coincide (``a/b`` and ``a_b``) each
    get their hash appended, so every text has its own name."""
    texts = sorted(set(texts))
    names = {t: slug(t) for t in texts}
    counts = Counter(names.values())
    return {t: n if counts[n] == 1 else f"{n[:SLUG_LIMIT - 13]}-{label_hash(t)}"
            for t, n in names.items()}


def save(fig, out: Path, name: str) -> list[Path]:
    """Write ``name.png`` (150 dpi) and ``name.svg``; close the figure."""
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def minor_tick(v: float, _pos=None) -> str:
    """Label minor log ticks 2, 3 and 5 (x 10^k) only, as plain numbers."""
    mantissa = v / 10 ** np.floor(np.log10(v)) if v > 0 else 0
    return f"{v:g}" if round(mantissa) in (2, 3, 5) and abs(mantissa - round(mantissa)) < 1e-6 \
        else ""


def spans_decades(values: np.ndarray) -> bool:
    pos = np.asarray(values, float)
    pos = pos[np.isfinite(pos) & (pos > 0)]
    return pos.size > 1 and pos.max() / pos.min() >= LOG_SPAN


def hold_last(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Value of the step function (evaluation ``y`` at ``x``, held until the next) on ``grid``;
    held at its last value after the run's end (a run that stopped at its target)."""
    idx = np.searchsorted(x, grid, side="right") - 1
    return np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan)


def band(curves: list[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """``(3, len(grid))``: 25th, 50th and 75th percentiles over runs on a common grid."""
    stack = np.vstack([hold_last(x, y, grid) for x, y in curves])
    with np.errstate(all="ignore"):
        return np.nanpercentile(stack, [25, 50, 75], axis=0)


def curve_figures(runs: pd.DataFrame, curves: pd.DataFrame, out: Path,
                  variants: list[str]) -> list[Path]:
    """Per setting: validation metric vs steps and vs seconds, median and IQR over seeds, one
    line per variant (``runs`` keyed by ``add_keys``; ``variants`` fixes order and colours)."""
    paths = []
    if curves.empty:
        return paths
    colors = palette(variants)
    rank = {v: i for i, v in enumerate(variants)}
    names = unique_slugs(runs["setting"])
    for setting, group in runs.groupby("setting", sort=True):
        metric, target = group["val_metric"].iloc[0], float(group["target"].iloc[0])
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
        for ax, xcol, xlabel in ((axes[0], "step", "optimizer steps"),
                                 (axes[1], "train_time_s", "training time (s)")):
            drawn_x = []
            for variant, cell in sorted(group.groupby("variant"),
                                        key=lambda kv: rank.get(kv[0], len(rank))):
                per_run = []
                for run_dir in cell["run_dir"]:
                    c = curves[curves["run_dir"] == run_dir].sort_values("step")
                    c = c[[xcol, metric]].dropna() if metric in c and xcol in c else c.iloc[:0]
                    if len(c):
                        per_run.append((c[xcol].to_numpy(float), c[metric].to_numpy(float)))
                if not per_run:
                    continue
                xs = np.unique(np.concatenate([x for x, _ in per_run]))
                drawn_x.append(xs)  # evaluation points decide the axis scale
                if xcol == "train_time_s":
                    xs = np.linspace(0, xs.max(), 300)
                q1, med, q3 = band(per_run, xs)
                c = colors.get(variant, "k")
                ax.plot(xs, med, color=c, lw=2, label=f"{variant} (median, n={len(per_run)})",
                        drawstyle="steps-post" if xcol == "train_time_s" else "default",
                        marker="o" if xcol == "step" and len(xs) <= 30 else None, ms=3)
                ax.fill_between(xs, q1, q3, color=c, alpha=0.2, lw=0,
                                step="post" if xcol == "train_time_s" else None,
                                label=f"{variant} (IQR over seeds)")
            if not drawn_x:
                ax.text(0.5, 0.5, f"no {xlabel} logged", ha="center", transform=ax.transAxes)
                continue
            ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:g}")
            if spans_decades(np.concatenate(drawn_x)):
                ax.set_xscale("log")
            name = metric.split("/", 1)[-1]
            ax.set_xlabel(xlabel + (" (log scale)" if ax.get_xscale() == "log" else ""))
            ax.set_ylabel(f"validation {METRIC_LABELS.get(name, name)}")
            if name in ("mse", "mae", "loss"):
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="best")
        fig.suptitle(f"{setting}: {metric} over seeds (a run that stopped at its target is "
                     "held at its last value)", fontsize=10)
        paths += save(fig, out, f"curves_{names[setting]}")
    return paths


def profile_figure(cells: pd.DataFrame, variants: list[str], out: Path) -> list[Path]:
    """Performance profiles rho(tau), tau in [1, 4], on steps and on seconds to target (steps
    x isolated step cost), over all variants (``cells``: ``comparison.cell_table``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    taus = np.linspace(1.0, TAU_MAX, 601)
    colors = palette(variants)
    for ax, kind, unit in ((axes[0], "steps", "steps"),
                           (axes[1], "time", "seconds (isolated step cost)")):
        present, times = profile_times(cells, variants, kind)
        if times.size == 0:
            ax.text(0.5, 0.5, "no setting run by every variant" + (
                " with step costs (--step-costs)" if kind == "time" else ""), ha="center",
                transform=ax.transAxes)
        else:
            curves, scores = rho(times, taus), profile_score(times)
            for i, v in enumerate(present):
                ax.step(taus, curves[i], where="post", color=colors[v], lw=2,
                        label=f"{v} (score {scores[i]:.2f})")
            ax.legend(fontsize=9, loc="lower right")
            ax.set_title(f"{times.shape[1]} setting(s) run by every variant; median {unit} "
                         "to target", fontsize=10)
        ax.set_xlim(1, TAU_MAX)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"τ: {unit} to target / fastest variant's (ratio)")
        ax.set_ylabel("ρ(τ): fraction of settings within τ")
        ax.grid(alpha=0.3)
    fig.suptitle("Performance profile (score = area under ρ on [1, 4] / 3; "
                 "a censored median never counts)", fontsize=10)
    return save(fig, out, "performance_profile")


def ratio_text(value: float, low: float, high: float, bound: str) -> str:
    from project.analysis.render.tables import fmt_ratio_ci

    return fmt_ratio_ci(value, low, high, bound)


def forest_figure(table: pd.DataFrame, across: pd.DataFrame, out: Path,
                  variants: list[str]) -> list[Path]:
    """Effect (restricted-mean ratio) of each variant over the control per setting with 95%
    CIs, on steps and on time at isolated step costs, and each variant's IQM of effects across
    settings (its CI over seeds); log x axis, 1 = no effect. Restricted means are finite, so
    no side is open (the arrow drawing stays for non-finite input)."""
    rows = table[table["effect"].notna()] if "effect" in table else table.iloc[:0]
    gm_rows = across if len(across) else pd.DataFrame(columns=["variant"])
    n = len(rows) + len(gm_rows)
    fig, axes = plt.subplots(1, 2, figsize=(13, 1.8 + 0.45 * max(n, 1)),
                             constrained_layout=True, squeeze=False)
    markers = {">=": ">", "<=": "<", "?": "x", "": "o"}
    colors = palette(variants)
    control = table.attrs.get("control", "control")
    for ax, (kind, label, gm) in zip(axes[0], (
            ("effect", "steps", "iqm_effect"),
            ("time_effect", "time at isolated step costs", None))):
        items = [(f"{r['setting']}: {r['variant']}", r["variant"], r[kind], r[f"{kind}_low"],
                  r[f"{kind}_high"], "", "o") for _, r in rows.iterrows()
                 if np.isfinite(r.get(kind, np.nan))]
        items += [(f"IQM of effects: {r['variant']} ({int(r['settings'])} setting"
                   f"{'' if int(r['settings']) == 1 else 's'}; CI over seeds)",
                   r["variant"], r[gm], r[f"{gm}_seeds_low"], r[f"{gm}_seeds_high"], "", "D")
                  for _, r in gm_rows.iterrows() if gm and np.isfinite(r.get(gm, np.nan))]
        y = np.arange(len(items))[::-1]
        finite = [x for it in items for x in it[2:5] if np.isfinite(x) and x > 0]
        lo_x = min(finite + [0.8]) / 1.5
        hi_x = max(finite + [1.25]) * 1.5
        for yi, (_, v, val, lo, hi, bound, mk) in zip(y, items):
            c = colors.get(v, "k")
            left, right = (lo if lo > 0 else lo_x), (hi if np.isfinite(hi) else hi_x)
            ax.plot([left, right], [yi, yi], color=c, lw=1.5)
            for end, is_open, arrow in ((left, lo <= 0, "<"), (right, not np.isfinite(hi), ">")):
                ax.plot(end, yi, marker=arrow if is_open else "|", color=c, ms=8)
            ax.plot(val, yi, marker=mk if mk == "D" else markers.get(bound, "o"), color=c,
                    ms=7, ls="none")
            ax.annotate(ratio_text(val, lo, hi, bound), (right, yi), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.axvline(1.0, color="gray", ls="--", lw=1)
        ax.set_yticks(y, [it[0] for it in items])
        ax.set_xscale("log")
        ax.set_xlim(lo_x / 1.3, hi_x * 3)  # room for open-side arrows and CI labels
        ax.set_ylim(-0.6, max(len(items), 1) - 0.4)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(minor_tick))
        ax.set_xlabel(f"effect on {label} ({control} restricted mean / variant's, log scale)")
        ax.grid(alpha=0.3, axis="x")
        ax.set_title(f"{label}: >1 means the variant reaches the target sooner than "
                     f"{control}", fontsize=10)
        if not items:
            ax.text(0.5, 0.5, f"no setting with a variant, {control} (and step costs)",
                    ha="center", transform=ax.transAxes)
    fig.suptitle(f"Effect over {control} (restricted-mean ratio) with 95% paired bootstrap "
                 "CIs", fontsize=10)
    return save(fig, out, "speedup_forest")

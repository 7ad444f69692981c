"""The report's figures (PNG and SVG): validation curves, performance profiles, forest plot."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from project.stats.profiles import TAU_MAX, profile_score, rho  # noqa: E402
from project.analysis.comparison import profile_times  # noqa: E402

COLORS = {"attention": "tab:red", "baseline": "tab:blue", "max": "tab:green"}
LOG_SPAN = 30  # use a log axis when positive values span this factor or more
METRIC_LABELS = {"acc": "accuracy (fraction of examples)", "f1": "macro F1",
                 "mse": "mean squared error", "mae": "mean absolute error", "loss": "loss"}


def color(variant: str, i: int) -> str:
    return COLORS.get(variant.split("[")[0], f"C{i + 3}")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")[:80] or "setting"


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


def curve_figures(runs: pd.DataFrame, curves: pd.DataFrame, out: Path) -> list[Path]:
    """Per setting: validation metric vs steps and vs seconds, median and IQR over seeds."""
    paths = []
    if curves.empty:
        return paths
    for setting, group in runs.groupby("setting", sort=True):
        metric, target = group["val_metric"].iloc[0], float(group["target"].iloc[0])
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
        for ax, xcol, xlabel in ((axes[0], "step", "optimizer steps"),
                                 (axes[1], "train_time_s", "training time (s)")):
            drawn_x = []
            for i, (variant, cell) in enumerate(sorted(group.groupby("variant"))):
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
                c = color(variant, i)
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
        paths += save(fig, out, f"curves_{slug(setting)}")
    return paths


def profile_figure(table: pd.DataFrame, out: Path) -> list[Path]:
    """Performance profiles rho(tau), tau in [1, 4], on steps and on seconds to target."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    taus = np.linspace(1.0, TAU_MAX, 601)
    for ax, kind, unit in ((axes[0], "steps", "steps"), (axes[1], "time", "seconds")):
        variants, times = profile_times(table, kind)
        if times.size == 0:
            ax.text(0.5, 0.5, "no setting run by every model", ha="center",
                    transform=ax.transAxes)
        else:
            curves, scores = rho(times, taus), profile_score(times)
            for i, v in enumerate(variants):
                ax.step(taus, curves[i], where="post", color=color(v, i), lw=2,
                        label=f"{v} (score {scores[i]:.2f})")
            ax.legend(fontsize=9, loc="lower right")
            ax.set_title(f"{times.shape[1]} setting(s); median {unit} to target", fontsize=10)
        ax.set_xlim(1, TAU_MAX)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"τ: {unit} to target / fastest model's (ratio)")
        ax.set_ylabel("ρ(τ): fraction of settings within τ")
        ax.grid(alpha=0.3)
    fig.suptitle("Performance profile (score = area under ρ on [1, 4] / 3; "
                 "a censored median never counts)", fontsize=10)
    return save(fig, out, "performance_profile")


def forest_figure(table: pd.DataFrame, across: dict, out: Path) -> list[Path]:
    """Speedup of attention over the baseline per setting with 95% CIs, and the geometric
    mean across settings; log x axis, 1 = no speedup."""
    rows = table[table["speedup"].notna()] if "speedup" in table else table.iloc[:0]
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.8 + 0.45 * (len(rows) + 1)),
                             constrained_layout=True, squeeze=False)
    markers = {">=": ">", "<=": "<", "?": "x", "": "o"}
    for ax, (kind, label, gm) in zip(axes[0], (
            ("speedup", "steps", "geomean_speedup"),
            ("time_speedup", "training time", "geomean_time_speedup"))):
        labels = list(rows["setting"]) + ["geometric mean"]
        y = np.arange(len(labels))[::-1]
        for yi, (_, r) in zip(y, rows.iterrows()):
            lo, hi = r[f"{kind}_low"], r[f"{kind}_high"]
            ax.errorbar(r[kind], yi, xerr=[[r[kind] - lo], [hi - r[kind]]], color="k",
                        capsize=3, marker=markers.get(r[f"{kind}_bound"], "o"), ms=7)
            ax.annotate(f"{r[kind]:.2f} [{lo:.2f}, {hi:.2f}]", (hi, yi), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=8)
        if len(rows) and np.isfinite(across.get(gm, np.nan)):
            v, lo, hi = across[gm], across[f"{gm}_low"], across[f"{gm}_high"]
            ax.errorbar(v, y[-1], xerr=[[v - lo], [hi - v]], color="tab:purple", capsize=3,
                        marker="D", ms=8)
            ax.annotate(f"{v:.2f} [{lo:.2f}, {hi:.2f}]", (hi, y[-1]), xytext=(6, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.axvline(1.0, color="gray", ls="--", lw=1)
        ax.set_yticks(y, labels)
        ax.set_xscale("log")
        lo_x, hi_x = ax.get_xlim()
        ax.set_xlim(min(lo_x, 0.8), max(hi_x, 1.25) * 1.6)  # room for the CI labels
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(minor_tick))
        ax.set_xlabel(f"speedup on {label} (baseline median / attention median, log scale)")
        ax.grid(alpha=0.3, axis="x")
        ax.set_title(f"{label}: >1 means attention reaches the target sooner", fontsize=10)
        if not len(rows):
            ax.text(0.5, 0.5, "no setting with both models", ha="center",
                    transform=ax.transAxes)
    fig.suptitle("Speedup with 95% bootstrap CIs (▶ lower bound: baseline censored; "
                 "◀ upper bound: attention censored)", fontsize=10)
    return save(fig, out, "speedup_forest")

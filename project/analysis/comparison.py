"""Per-cell statistics and the attention-vs-baseline comparison, as one numeric table.

One row per setting; per model variant ``<v>.*`` columns (runs, reached, Kaplan-Meier median
and quartiles of steps and seconds to target, ERT, test metric mean and std); then the paired
comparison of ``attention`` with ``baseline`` over seeds both have: speedup on steps and on
time with 95% percentile-bootstrap CIs, P(attention faster) with its CI, the Wilcoxon p-value
and its Holm adjustment across settings, and the test-metric difference with its CI.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from project.stats.bootstrap import (N_RESAMPLES, SEED, Paired, geometric_mean_speedup,
                                           mean_difference, prob_faster, speedup,
                                           speedup_bound)
from project.stats.censoring import ert, km_quantile, success_rate
from project.stats.robust import iqm, mean_std
from project.stats.significance import holm, wilcoxon_p
from project.analysis.variants import ATTENTION, BASELINE, add_keys, model_order


def censored_times(runs: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(times, reached)``: steps (censored at the budget) or seconds (censored at the run's
    training time) to target."""
    reached = runs["reached"].astype(bool).to_numpy()
    if kind == "steps":
        return runs["steps_to_target"].astype(float).to_numpy(), reached
    t = np.where(reached, runs["time_to_target"].astype(float).to_numpy(),
                 runs["train_time_s"].astype(float).to_numpy())
    return t, reached


def cell_stats(runs: pd.DataFrame) -> dict:
    """The per-cell figures of PROTOCOL.md for one (setting, model variant)."""
    out: dict = {"runs": len(runs), "reached": int(runs["reached"].astype(bool).sum())}
    for kind in ("steps", "time"):
        t, r = censored_times(runs, kind)
        q1, med, q3 = (float(km_quantile(t, r, q)) for q in (0.25, 0.5, 0.75))
        out.update({f"{kind}_median": med, f"{kind}_q1": q1, f"{kind}_q3": q3,
                    f"{kind}_budget": float(np.max(t))})
    steps, reached = censored_times(runs, "steps")
    out["ert_steps"] = ert(steps, reached)
    out["success_rate"] = success_rate(reached)
    out["test_mean"], out["test_std"] = mean_std(runs["test_at_best"].astype(float))
    out["auc_iqm"] = iqm(runs["auc"].astype(float))
    out["best_val_median"] = float(np.median(runs["best_val"].astype(float)))
    return out


def seed_pairs(a_runs: pd.DataFrame, b_runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attention (a) and baseline (b) runs indexed by seed, on the seeds both ran (sorted)."""
    a = a_runs.drop_duplicates("seed").set_index("seed")
    b = b_runs.drop_duplicates("seed").set_index("seed")
    seeds = sorted(set(a.index) & set(b.index))
    return a.loc[seeds], b.loc[seeds]


def paired(a: pd.DataFrame, b: pd.DataFrame, kind: str) -> Paired:
    """Censored times of seed-paired runs (from ``seed_pairs``) as a ``Paired``."""
    return Paired.of(*censored_times(a, kind), *censored_times(b, kind))


def compare(a_runs: pd.DataFrame, b_runs: pd.DataFrame, n_resamples: int = N_RESAMPLES,
            seed: int = SEED) -> dict:
    """Attention (a) vs baseline (b) on one setting, paired by seed."""
    kw = {"n_resamples": n_resamples, "seed": seed}
    a, b = seed_pairs(a_runs, b_runs)
    if a.empty:
        return {"missing": "no seed run by both models"}
    steps, time = (paired(a, b, kind) for kind in ("steps", "time"))
    out: dict = {"n_pairs": len(a), "missing": ""}
    for kind, p in (("speedup", steps), ("time_speedup", time)):
        est = speedup(p, **kw)
        out.update({kind: est.value, f"{kind}_low": est.low, f"{kind}_high": est.high,
                    f"{kind}_bound": speedup_bound(p)})
    faster = prob_faster(steps, **kw)
    out.update(p_faster=faster.value, p_faster_low=faster.low, p_faster_high=faster.high)
    out["p_value"] = wilcoxon_p(steps.a, steps.b)
    diff = mean_difference(a["test_at_best"].astype(float), b["test_at_best"].astype(float),
                           **kw)
    out.update(test_diff=diff.value, test_diff_low=diff.low, test_diff_high=diff.high)
    return out


def comparison_table(runs: pd.DataFrame, n_resamples: int = N_RESAMPLES,
                     seed: int = SEED) -> pd.DataFrame:
    """One numeric row per setting: per-variant cell figures and the paired comparison."""
    runs = add_keys(runs)
    variants = model_order(list(runs["variant"]))
    rows = []
    for key, group in sorted(runs.groupby("setting_key", sort=False), key=lambda kv: kv[0]):
        row: dict = {"setting": group["setting"].iloc[0], "task": key[0],
                     "val_metric": group["val_metric"].iloc[0],
                     "direction": group["direction"].iloc[0],
                     "target": float(group["target"].iloc[0])}
        for v in variants:
            cell = group[group["variant"] == v]
            if len(cell):
                row.update({f"{v}.{k}": x for k, x in cell_stats(cell).items()})
        have = set(group["variant"])
        missing = [m for m in (ATTENTION, BASELINE) if m not in have]
        if missing:
            row["missing"] = "no " + " and no ".join(missing) + " runs"
        else:
            row.update(compare(group[group["variant"] == ATTENTION],
                               group[group["variant"] == BASELINE], n_resamples, seed))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"]) if "p_value" in table else np.nan
    table.attrs["variants"] = variants
    return table


def across_tasks(runs: pd.DataFrame, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> dict:
    """Geometric-mean speedups (steps, time) over settings with both models, with CIs that
    resample seeds within each setting."""
    runs = add_keys(runs)
    pairs: dict[str, list[Paired]] = {"steps": [], "time": []}
    for _, group in runs.groupby("setting_key", sort=True):
        a, b = seed_pairs(group[group["variant"] == ATTENTION],
                          group[group["variant"] == BASELINE])
        if len(a):
            for kind in pairs:
                pairs[kind].append(paired(a, b, kind))
    out = {"settings": len(pairs["steps"])}
    for kind, name in (("steps", "geomean_speedup"), ("time", "geomean_time_speedup")):
        est = geometric_mean_speedup(pairs[kind], n_resamples, seed)
        out.update({name: est.value, f"{name}_low": est.low, f"{name}_high": est.high})
    return out


def profile_times(table: pd.DataFrame, kind: str) -> tuple[list[str], np.ndarray]:
    """``(variants, (variants, settings) times)``: KM median time to target of each variant
    on the settings every variant ran (``inf`` when the median is censored)."""
    variants = [v for v in table.attrs.get("variants", [])
                if f"{v}.{kind}_median" in table]
    cols = [f"{v}.{kind}_median" for v in variants]
    complete = table[cols].notna().all(axis=1) if cols else pd.Series(dtype=bool)
    times = table.loc[complete, cols].to_numpy(dtype=float).T if cols else np.zeros((0, 0))
    return variants, times

"""Every variant against the declared control, paired by seed within each setting, as numeric
tables (docs/protocol.md; ../shared/docs/DESIGN.md, "The comparison is N-way").

* ``cell_table``: one row per (setting, variant): runs, reached, Kaplan-Meier median and
  quartiles and IQM of steps and seconds to target, ERT, median and IQM of the progress AUC,
  test metric mean and std.
* ``comparison_table``: one row per (setting, variant other than the control): both cells'
  figures (``variant.*``, ``control.*``) and the paired comparison: speedup on steps and on
  time with bootstrap CIs (open-ended when censoring makes them bounds), P(variant faster) with
  its exact interval, the Wilcoxon p-value on log step ratios with the pairs it used, the
  test-metric difference (variant minus control) with its bootstrap CI and Wilcoxon p. Holm
  corrects each family of p-values (steps; test metric) over every comparison in the table.
* A setting whose target is met at the step-0 evaluation is flagged (``target_at_start``) and
  gets no speedup, P(faster) or steps p-value: steps to target mean nothing there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from project.stats.binomial import prob_faster
from project.stats.bootstrap import (N_RESAMPLES, SEED, Paired, geometric_mean_speedup,
                                     mean_difference, speedup)
from project.stats.censoring import ert, km_quantile, success_rate
from project.stats.robust import censored_iqm, iqm, mean_std
from project.stats.significance import holm, signed_rank, smallest_p, step_test
from project.analysis.variants import add_keys, find_control, variant_order

SIDES = ("variant", "control")


def censored_times(runs: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(times, reached)``: steps (censored at the budget) or seconds (censored at the run's
    training time) to target."""
    reached = runs["reached"].astype(bool).to_numpy()
    if kind == "steps":
        return runs["steps_to_target"].astype(float).to_numpy(), reached
    t = np.where(reached, runs["time_to_target"].astype(float).to_numpy(),
                 runs["train_time_s"].astype(float).to_numpy())
    return t, reached


def target_at_start(runs: pd.DataFrame) -> bool:
    """Whether any run met its target at the step-0 evaluation (``steps_to_target == 0`` and
    reached, or a true ``target_met_at_start`` field)."""
    reached = runs["reached"].astype(bool).to_numpy()
    at_zero = runs["steps_to_target"].astype(float).to_numpy() == 0
    flagged = bool(np.any(reached & at_zero))
    if "target_met_at_start" in runs:
        flagged |= bool(runs["target_met_at_start"].fillna(False).astype(bool).any())
    return flagged


def cell_stats(runs: pd.DataFrame) -> dict:
    """The per-cell figures of docs/protocol.md for one (setting, variant)."""
    out: dict = {"runs": len(runs), "reached": int(runs["reached"].astype(bool).sum())}
    for kind in ("steps", "time"):
        t, r = censored_times(runs, kind)
        q1, med, q3 = (float(km_quantile(t, r, q)) for q in (0.25, 0.5, 0.75))
        value, lower_bound = censored_iqm(t, r)
        out.update({f"{kind}_median": med, f"{kind}_q1": q1, f"{kind}_q3": q3,
                    f"{kind}_budget": float(np.max(t)), f"{kind}_iqm": value,
                    f"{kind}_iqm_bound": ">=" if lower_bound else ""})
    steps, reached = censored_times(runs, "steps")
    out["ert_steps"] = ert(steps, reached)
    out["success_rate"] = success_rate(reached)
    out["test_mean"], out["test_std"] = mean_std(runs["test_at_best"].astype(float))
    auc = runs["auc"].astype(float).to_numpy()
    out["auc_median"] = float(np.median(auc)) if auc.size else float("nan")
    out["auc_iqm"] = iqm(auc)
    out["best_val_median"] = float(np.median(runs["best_val"].astype(float)))
    return out


def setting_info(group: pd.DataFrame) -> dict:
    return {"setting": group["setting"].iloc[0], "task": group["task"].iloc[0],
            "val_metric": group["val_metric"].iloc[0],
            "direction": group["direction"].iloc[0],
            "target": float(group["target"].iloc[0]),
            "target_at_start": target_at_start(group)}


def settings_of(keyed: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame]]:
    """``(setting_key, runs)`` per setting, sorted by key."""
    return sorted(keyed.groupby("setting_key", sort=False), key=lambda kv: kv[0])


def cell_table(runs: pd.DataFrame, control: str) -> pd.DataFrame:
    """One row per (setting, variant) with ``cell_stats`` (``runs`` keyed or not)."""
    keyed = runs if "setting_key" in runs else add_keys(runs)
    rows = []
    for key, group in settings_of(keyed):
        info = setting_info(group)
        for v in variant_order(group["variant"], control):
            rows.append({"setting_key": key, **info, "variant": v,
                         **cell_stats(group[group["variant"] == v])})
    return pd.DataFrame(rows)


def seed_pairs(a_runs: pd.DataFrame, b_runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Variant (a) and control (b) runs indexed by seed, on the seeds both ran (sorted)."""
    a = a_runs.drop_duplicates("seed").set_index("seed")
    b = b_runs.drop_duplicates("seed").set_index("seed")
    seeds = sorted(set(a.index) & set(b.index))
    return a.loc[seeds], b.loc[seeds]


def paired(a: pd.DataFrame, b: pd.DataFrame, kind: str) -> Paired:
    """Censored times of seed-paired runs (from ``seed_pairs``) as a ``Paired``."""
    return Paired.of(*censored_times(a, kind), *censored_times(b, kind))


def compare(a_runs: pd.DataFrame, b_runs: pd.DataFrame, n_resamples: int = N_RESAMPLES,
            seed: int = SEED, steps_comparable: bool = True) -> dict:
    """Variant (a) vs control (b) on one setting, paired by seed. ``steps_comparable=False``
    (target met at step 0): only the test-metric difference."""
    kw = {"n_resamples": n_resamples, "seed": seed}
    a, b = seed_pairs(a_runs, b_runs)
    if a.empty:
        return {"n_pairs": 0, "missing": "no seed run by both"}
    out: dict = {"n_pairs": len(a), "missing": ""}
    if steps_comparable:
        steps, time = (paired(a, b, kind) for kind in ("steps", "time"))
        for name, p in (("speedup", steps), ("time_speedup", time)):
            est = speedup(p, **kw)
            out.update({name: est.value, f"{name}_low": est.low, f"{name}_high": est.high,
                        f"{name}_bound": est.bound})
        faster = prob_faster(steps)
        out.update(p_faster=faster.value, p_faster_low=faster.low, p_faster_high=faster.high,
                   faster_wins=faster.wins, faster_ties=faster.ties)
        test = step_test(steps.a, steps.b)
        out.update(p_value=test.p, p_n=test.n)
    ta, tb = a["test_at_best"].astype(float), b["test_at_best"].astype(float)
    diff = mean_difference(ta, tb, **kw)
    test = signed_rank((ta - tb).to_numpy(float))
    out.update(test_diff=diff.value, test_diff_low=diff.low, test_diff_high=diff.high,
               test_p=test.p, test_p_n=test.n)
    return out


def comparison_table(runs: pd.DataFrame, control: str, n_resamples: int = N_RESAMPLES,
                     seed: int = SEED) -> pd.DataFrame:
    """One numeric row per (setting, variant vs control); see the module docstring.

    ``attrs``: ``control`` and ``variants`` (every variant label, control first)."""
    keyed = add_keys(runs)
    rows = []
    for key, group in settings_of(keyed):
        info = setting_info(group)
        variants = variant_order(group["variant"], control)
        ctrl = find_control(variants, control)
        cstats = cell_stats(group[group["variant"] == ctrl]) if ctrl else {}
        others = [v for v in variants if v != ctrl]
        if not others:  # the control alone
            rows.append({**info, "variant": "", "control": ctrl,
                         **{f"control.{k}": x for k, x in cstats.items()},
                         "missing": f"no variant besides {ctrl}"})
            continue
        for v in others:
            vruns = group[group["variant"] == v]
            row = {**info, "variant": v, "control": ctrl or control,
                   **{f"variant.{k}": x for k, x in cell_stats(vruns).items()},
                   **{f"control.{k}": x for k, x in cstats.items()}}
            if ctrl is None:
                row["missing"] = f"no {control} runs"
            else:
                row.update(compare(vruns, group[group["variant"] == ctrl], n_resamples, seed,
                                   steps_comparable=not info["target_at_start"]))
            rows.append(row)
    table = pd.DataFrame(rows)
    for col, adj in (("p_value", "p_holm"), ("test_p", "test_p_holm")):
        table[adj] = holm(table[col]) if col in table else np.nan
    table.attrs.update(control=control, variants=variant_order(keyed["variant"], control))
    return table


def p_floor(table: pd.DataFrame) -> dict:
    """The smallest p-value the table could show: ``2 / 2**n`` for the largest number of seed
    pairs ``n`` of a tested comparison, times ``m`` comparisons under Holm (its smallest
    adjusted p-value is ``m`` times the smallest raw one)."""
    tested = table[table["p_value"].notna()] if "p_value" in table else table.iloc[:0]
    if tested.empty:
        return {"m": 0, "n": 0, "raw": float("nan"), "holm": float("nan")}
    n = int(tested["n_pairs"].max())
    m = len(tested)
    return {"m": m, "n": n, "raw": smallest_p(n), "holm": min(1.0, m * smallest_p(n))}


def across_tasks(runs: pd.DataFrame, control: str, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> pd.DataFrame:
    """Per variant: geometric-mean speedups (steps, time) over the settings where it and the
    control share seeds (settings with the target met at step 0 left out), with CIs that
    resample seeds within each setting."""
    keyed = add_keys(runs)
    pairs: dict[str, dict[str, list[Paired]]] = {}
    for _, group in settings_of(keyed):
        variants = variant_order(group["variant"], control)
        ctrl = find_control(variants, control)
        if ctrl is None or target_at_start(group):
            continue
        for v in variants:
            if v == ctrl:
                continue
            a, b = seed_pairs(group[group["variant"] == v], group[group["variant"] == ctrl])
            if len(a):
                for kind in ("steps", "time"):
                    pairs.setdefault(v, {"steps": [], "time": []})[kind].append(
                        paired(a, b, kind))
    rows = []
    for v in variant_order(pairs, control):
        row: dict = {"variant": v, "control": control, "settings": len(pairs[v]["steps"])}
        for kind, name in (("steps", "geomean_speedup"), ("time", "geomean_time_speedup")):
            est = geometric_mean_speedup(pairs[v][kind], n_resamples, seed)
            row.update({name: est.value, f"{name}_low": est.low, f"{name}_high": est.high,
                        f"{name}_bound": est.bound})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["variant", "control", "settings"])


def profile_times(cells: pd.DataFrame, variants: list[str],
                  kind: str) -> tuple[list[str], np.ndarray]:
    """``(variants, (variants, settings) times)``: Kaplan-Meier median time to target of each
    of ``variants`` present in ``cells`` on the settings every one of them ran (``inf`` when
    the median is censored); settings with the target met at step 0 are left out."""
    if cells.empty:
        return [], np.zeros((0, 0))
    cells = cells[~cells["target_at_start"].astype(bool)]
    variants = [v for v in variants if v in set(cells["variant"])]
    times = {(s, v): t for s, v, t in zip(cells["setting"], cells["variant"],
                                           cells[f"{kind}_median"])}
    settings = [s for s in dict.fromkeys(cells["setting"])
                if all((s, v) in times for v in variants)]
    return variants, np.array([[times[s, v] for s in settings] for v in variants],
                              dtype=float).reshape(len(variants), len(settings))

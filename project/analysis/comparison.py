"""Every variant against the declared control, paired by seed within each setting, as numeric
tables (docs/protocol.md; ../shared/docs/DESIGN.md, "The comparison is N-way").

* ``cell_table``: one row per (setting, variant): runs, reached, Kaplan-Meier median and
  quartiles and IQM of steps to target, restricted mean steps to target (RMST, up to the
  budget), ERT, median and IQM of the progress AUC, test metric mean and std, and with
  isolated step costs (``step_cost_s``) the step cost and the median time to target.
* ``comparison_table``: one row per (setting, variant other than the control): both cells'
  figures (``variant.*``, ``control.*``) and the paired comparison: the effect (RMST ratio
  control / variant, always finite) with its paired bootstrap CI, the ratio of medians as a
  descriptive figure (a bound under censoring, no interval), P(variant faster) with its exact
  interval, the exact sign test on the pairs whose order is known with the pairs it used and
  the smallest p those pairs can give (``p_floor``, ``p_floor_holm``), the time effect at
  isolated step costs, and the generalisation figures (test metric at the best-validation
  checkpoint, at the full budget, train-minus-test gap at the budget; each only where the
  runs carry it) as paired differences with CIs and exact sign tests. Holm corrects each
  family of p-values over every comparison in the table.
* A setting whose target is met at the step-0 evaluation is flagged (``target_at_start``) and
  gets no effect, P(faster) or steps p-value: steps to target mean nothing there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from project.stats.across_tasks import across_tasks as aggregate_across
from project.stats.binomial import prob_faster
from project.stats.bootstrap import (N_RESAMPLES, SEED, Paired, censored_median,
                                     mean_difference, speedup_bound)
from project.stats.censoring import ert, km_quantile, success_rate
from project.stats.restricted_mean import restricted_mean, rmst_effect
from project.stats.robust import censored_iqm, iqm, mean_std
from project.stats.significance import holm, order_test, sign_test, smallest_p
from project.analysis.variants import add_keys, find_control, variant_order

SIDES = ("variant", "control")
# paired generalisation figures: runs column -> prefix of the table's columns
GENERALISATION = {"test_at_best": "test", "test_at_budget": "budget", "gap_at_budget": "gap"}
P_FAMILIES = {"p_value": "p_holm", **{f"{x}_p": f"{x}_p_holm" for x in GENERALISATION.values()}}


def censored_times(runs: pd.DataFrame, kind: str = "steps") -> tuple[np.ndarray, np.ndarray]:
    """``(steps, reached)``: steps to target, censored at the budget (or where the run's curve
    ended). Seconds are never per-run clocks (see ``project.analysis.step_costs``)."""
    if kind != "steps":
        raise ValueError(f"censored times of {kind!r}: only steps are per-run data")
    return (runs["steps_to_target"].astype(float).to_numpy(),
            runs["reached"].astype(bool).to_numpy())


def setting_budget(runs: pd.DataFrame) -> float:
    """The step budget of a setting's runs (the restricted mean's horizon): the largest
    ``budget_steps``, else the largest steps to target."""
    if "budget_steps" in runs:
        budget = pd.to_numeric(runs["budget_steps"], errors="coerce").max()
        if np.isfinite(budget):
            return float(budget)
    return float(runs["steps_to_target"].astype(float).max())


def with_gap(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``gap_at_budget`` = ``train_at_budget - test_at_budget`` where both are
    carried (the train-minus-test gap at the full budget)."""
    if {"train_at_budget", "test_at_budget"} <= set(runs) and "gap_at_budget" not in runs:
        runs = runs.assign(gap_at_budget=runs["train_at_budget"].astype(float)
                           - runs["test_at_budget"].astype(float))
    return runs


def step_cost(runs: pd.DataFrame) -> float:
    """The cell's isolated step cost in seconds (NaN without one; ``step_costs``)."""
    if "step_cost_s" not in runs:
        return float("nan")
    costs = pd.to_numeric(runs["step_cost_s"], errors="coerce").dropna().unique()
    return float(costs[0]) if len(costs) == 1 else float("nan")


def target_at_start(runs: pd.DataFrame) -> bool:
    """Whether any run met its target at the step-0 evaluation (``steps_to_target == 0`` and
    reached, or a true ``target_met_at_start`` field)."""
    reached = runs["reached"].astype(bool).to_numpy()
    at_zero = runs["steps_to_target"].astype(float).to_numpy() == 0
    flagged = bool(np.any(reached & at_zero))
    if "target_met_at_start" in runs:
        flagged |= bool(runs["target_met_at_start"].fillna(False).astype(bool).any())
    return flagged


def learning_rates(runs: pd.DataFrame) -> str:
    """The cell's learning rate(s), ``"0.01"`` (or ``"0.003, 0.01"`` when its runs differ);
    empty when the runs do not record one."""
    col = "hparams.lr" if "hparams.lr" in runs else "lr" if "lr" in runs else None
    rates = (sorted(set(pd.to_numeric(runs[col], errors="coerce").dropna()))
             if col is not None else [])
    return ", ".join(f"{r:g}" for r in rates)


def cell_stats(runs: pd.DataFrame, budget: float | None = None) -> dict:
    """The per-cell figures of docs/protocol.md for one (setting, variant); ``budget``: the
    setting's (default: this cell's)."""
    runs = with_gap(runs)
    budget = setting_budget(runs) if budget is None else budget
    out: dict = {"runs": len(runs), "reached": int(runs["reached"].astype(bool).sum())}
    t, r = censored_times(runs)
    q1, med, q3 = (float(km_quantile(t, r, q)) for q in (0.25, 0.5, 0.75))
    value, lower_bound = censored_iqm(t, r)
    out.update({"steps_median": med, "steps_q1": q1, "steps_q3": q3,
                "steps_budget": float(np.max(t)), "steps_iqm": value,
                "steps_iqm_bound": ">=" if lower_bound else "",
                "steps_rmst": float(restricted_mean(t, r, budget)), "rmst_budget": budget})
    out["ert_steps"] = ert(t, r)
    out["success_rate"] = success_rate(r)
    out["lr"] = learning_rates(runs)
    out["step_cost_s"] = step_cost(runs)
    out["time_median"] = med * out["step_cost_s"]  # inf (censored) stays inf; NaN without cost
    out["time_rmst"] = out["steps_rmst"] * out["step_cost_s"]
    out["test_mean"], out["test_std"] = mean_std(runs["test_at_best"].astype(float))
    for col in ("test_at_budget", "gap_at_budget"):  # only where the runs carry them
        if col in runs and np.isfinite(runs[col].astype(float)).any():
            out[f"{col}_mean"], out[f"{col}_std"] = mean_std(runs[col].astype(float))
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
        info, budget = setting_info(group), setting_budget(group)
        for v in variant_order(group["variant"], control):
            rows.append({"setting_key": key, **info, "variant": v,
                         **cell_stats(group[group["variant"] == v], budget)})
    return pd.DataFrame(rows)


def seed_pairs(a_runs: pd.DataFrame, b_runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Variant (a) and control (b) runs indexed by seed, on the seeds both ran (sorted)."""
    a = a_runs.drop_duplicates("seed").set_index("seed")
    b = b_runs.drop_duplicates("seed").set_index("seed")
    seeds = sorted(set(a.index) & set(b.index))
    return a.loc[seeds], b.loc[seeds]


def paired(a: pd.DataFrame, b: pd.DataFrame, kind: str = "steps") -> Paired:
    """Censored steps of seed-paired runs (from ``seed_pairs``) as a ``Paired``."""
    return Paired.of(*censored_times(a, kind), *censored_times(b, kind))


def paired_difference(a: pd.DataFrame, b: pd.DataFrame, column: str, prefix: str,
                      kw: dict) -> dict:
    """Mean paired difference ``a - b`` of a per-run figure with its bootstrap CI, and the
    exact sign test on the pairs where both are finite and differ (NaN without the column or
    without a finite pair: the runs do not carry it)."""
    nan = float("nan")
    if column not in a or column not in b:
        return {f"{prefix}_diff": nan, f"{prefix}_p": nan}
    ta, tb = a[column].astype(float).to_numpy(), b[column].astype(float).to_numpy()
    if not np.any(np.isfinite(ta) & np.isfinite(tb)):
        return {f"{prefix}_diff": nan, f"{prefix}_p": nan}
    diff = mean_difference(ta, tb, **kw)
    test = sign_test(ta - tb)
    return {f"{prefix}_diff": diff.value, f"{prefix}_diff_low": diff.low,
            f"{prefix}_diff_high": diff.high, f"{prefix}_p": test.p, f"{prefix}_p_n": test.n,
            f"{prefix}_p_method": test.method}


def compare(a_runs: pd.DataFrame, b_runs: pd.DataFrame, n_resamples: int = N_RESAMPLES,
            seed: int = SEED, steps_comparable: bool = True,
            budget: float | None = None) -> dict:
    """Variant (a) vs control (b) on one setting, paired by seed. ``steps_comparable=False``
    (target met at step 0): only the generalisation figures. ``budget``: the restricted
    mean's horizon (default: the larger of the two cells' budgets)."""
    kw = {"n_resamples": n_resamples, "seed": seed}
    a, b = seed_pairs(with_gap(a_runs), with_gap(b_runs))
    if a.empty:
        return {"n_pairs": 0, "missing": "no seed run by both"}
    out: dict = {"n_pairs": len(a), "missing": ""}
    if steps_comparable:
        steps = paired(a, b)
        tau = budget if budget is not None else max(setting_budget(a), setting_budget(b))
        effect = rmst_effect(steps, tau, **kw)
        out.update(effect=effect.value, effect_low=effect.low, effect_high=effect.high,
                   effect_budget=tau)
        cost_ratio = step_cost(b) / step_cost(a)  # NaN without isolated step costs
        out.update(time_effect=effect.value * cost_ratio,
                   time_effect_low=effect.low * cost_ratio,
                   time_effect_high=effect.high * cost_ratio)
        out.update(speedup=float(censored_median(steps.b, steps.b_reached)
                                 / censored_median(steps.a, steps.a_reached)),
                   speedup_bound=speedup_bound(steps))
        faster = prob_faster(steps)
        out.update(p_faster=faster.value, p_faster_low=faster.low, p_faster_high=faster.high,
                   faster_wins=faster.wins, faster_ties=faster.ties)
        test = order_test(steps)
        out.update(p_value=test.p, p_n=test.n, p_method=test.method, p_floor=smallest_p(test.n))
    for column, prefix in GENERALISATION.items():
        out.update(paired_difference(a, b, column, prefix, kw))
    return out


def comparison_table(runs: pd.DataFrame, control: str, n_resamples: int = N_RESAMPLES,
                     seed: int = SEED) -> pd.DataFrame:
    """One numeric row per (setting, variant vs control); see the module docstring.

    ``attrs``: ``control`` and ``variants`` (every variant label, control first)."""
    keyed = add_keys(runs)
    rows = []
    for key, group in settings_of(keyed):
        info, budget = setting_info(group), setting_budget(group)
        variants = variant_order(group["variant"], control)
        ctrl = find_control(variants, control)
        cstats = cell_stats(group[group["variant"] == ctrl], budget) if ctrl else {}
        others = [v for v in variants if v != ctrl]
        if not others:  # the control alone
            rows.append({**info, "variant": "", "control": ctrl,
                         **{f"control.{k}": x for k, x in cstats.items()},
                         "missing": f"no variant besides {ctrl}"})
            continue
        for v in others:
            vruns = group[group["variant"] == v]
            row = {**info, "variant": v, "control": ctrl or control,
                   **{f"variant.{k}": x for k, x in cell_stats(vruns, budget).items()},
                   **{f"control.{k}": x for k, x in cstats.items()}}
            if ctrl is None:
                row["missing"] = f"no {control} runs"
            else:
                row.update(compare(vruns, group[group["variant"] == ctrl], n_resamples, seed,
                                   steps_comparable=not info["target_at_start"],
                                   budget=budget))
            rows.append(row)
    table = pd.DataFrame(rows)
    for col, adj in P_FAMILIES.items():
        table[adj] = holm(table[col]) if col in table else np.nan
    m = int(table["p_value"].notna().sum()) if "p_value" in table else 0
    table["p_floor_holm"] = (np.minimum(1.0, m * table["p_floor"]) if "p_floor" in table
                             else np.nan)
    table.attrs.update(control=control, variants=variant_order(keyed["variant"], control))
    return table


def p_floor(table: pd.DataFrame) -> dict:
    """The table's p floors: ``m`` tested comparisons (Holm multiplies the smallest raw p by
    ``m``) and, over the rows, the largest number ``n`` of pairs whose order is known, with
    its floor ``2 / 2**n`` raw and after Holm. Each row's own floor is its ``p_floor``."""
    tested = table[table["p_value"].notna()] if "p_value" in table else table.iloc[:0]
    if tested.empty:
        return {"m": 0, "n": 0, "raw": float("nan"), "holm": float("nan")}
    n = int(tested["p_n"].max())
    m = len(tested)
    return {"m": m, "n": n, "raw": smallest_p(n), "holm": min(1.0, m * smallest_p(n))}


def across_tasks(runs: pd.DataFrame, control: str, n_resamples: int = N_RESAMPLES,
                 seed: int = SEED) -> pd.DataFrame:
    """Per variant, over the settings where it and the control share seeds (settings with the
    target met at step 0 left out): the mean P(faster) and the IQM of the per-setting effects
    (RMST ratios), each with an interval resampling seeds within settings and one resampling
    settings (``project.stats.across_tasks``)."""
    keyed = add_keys(runs)
    pairs: dict[str, list[tuple[Paired, float]]] = {}
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
                pairs.setdefault(v, []).append((paired(a, b), setting_budget(group)))
    rows = []
    for v in variant_order(pairs, control):
        row: dict = {"variant": v, "control": control, "settings": len(pairs[v])}
        for name, agg in aggregate_across(pairs[v], n_resamples, seed).items():
            row.update({name: agg.value, f"{name}_seeds_low": agg.seeds_low,
                        f"{name}_seeds_high": agg.seeds_high,
                        f"{name}_tasks_low": agg.tasks_low,
                        f"{name}_tasks_high": agg.tasks_high})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["variant", "control", "settings"])


def profile_times(cells: pd.DataFrame, variants: list[str],
                  kind: str) -> tuple[list[str], np.ndarray]:
    """``(variants, (variants, settings) times)``: Kaplan-Meier median time to target of each
    of ``variants`` present in ``cells`` on the settings every one of them ran (``inf`` when
    the median is censored; time: steps x isolated step cost, settings without one left
    out); settings with the target met at step 0 are left out."""
    if cells.empty:
        return [], np.zeros((0, 0))
    cells = cells[~cells["target_at_start"].astype(bool)]
    variants = [v for v in variants if v in set(cells["variant"])]
    times = {(s, v): t for s, v, t in zip(cells["setting"], cells["variant"],
                                           cells[f"{kind}_median"])}
    settings = [s for s in dict.fromkeys(cells["setting"])  # NaN: no step cost measured
                if all((s, v) in times and not np.isnan(times[s, v]) for v in variants)]
    return variants, np.array([[times[s, v] for s in settings] for v in variants],
                              dtype=float).reshape(len(variants), len(settings))

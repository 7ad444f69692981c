"""``target=auto`` (docs/protocol.md, AlgoPerf): per setting, the median over seeds of the
control's best validation value (the control is the report's ``--control``); every run's steps/time to target are re-derived from its
validation curve against that target.

A run whose curve ends before its budget without meeting the new target (it stopped at the
configured target) is censored where its curve ends; a diverged run is censored at its budget,
as in its summary. Runs stopped early at a
configured target below the new one cannot show later progress, so train with
``task.stop_at_target=false`` when ``target=auto`` is planned.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from project.stats.per_run import run_steps_to_target
from project.analysis.variants import add_keys, find_control


def auto_targets(runs: pd.DataFrame, control: str) -> dict:
    """``setting_key -> target``: median of the control's best validation values."""
    keyed = add_keys(runs)
    targets = {}
    for key, group in keyed.groupby("setting_key", sort=False):
        ctrl = find_control(group["variant"], control)
        if ctrl is not None:
            best = group.loc[group["variant"] == ctrl, "best_val"].astype(float)
            targets[key] = float(np.median(best))
    return targets


def apply_auto_target(runs: pd.DataFrame, curves: pd.DataFrame, control: str) -> pd.DataFrame:
    """``runs`` with ``target``, ``steps_to_target``, ``time_to_target``, ``reached`` and
    ``target_met_at_start`` re-derived for ``target=auto`` (settings without runs of the
    control are dropped, with a note)."""
    keyed = add_keys(runs)
    targets = auto_targets(runs, control)
    out = []
    for _, run in keyed.iterrows():
        if run["setting_key"] not in targets:
            print(f"warning: target=auto: no {control} runs for {run['setting']}; "
                  f"{run['variant']} seed {run['seed']} left out", file=sys.stderr)
            continue
        target = targets[run["setting_key"]]
        curve = curves[curves["run_dir"] == run["run_dir"]].sort_values("step")
        metric = run["val_metric"]
        if curve.empty or metric not in curve:
            raise ValueError(f"target=auto needs the validation curve of {run['run_dir']}")
        steps, values = curve["step"].to_numpy(int), curve[metric].to_numpy(float)
        budget = int(run["budget_steps"])
        ended = min(int(steps[-1]), budget)
        step, reached = run_steps_to_target(steps, values, target, run["direction"], budget,
                                            bool(run["diverged"]), ended)
        time_at = dict(zip(steps, curve["train_time_s"].to_numpy(float)))
        new = run.copy()
        new["target"], new["steps_to_target"], new["reached"] = target, step, reached
        new["time_to_target"] = time_at.get(step, np.nan) if reached else np.nan
        new["target_met_at_start"] = bool(reached and step == 0)
        out.append(new)
    if not out:
        return runs.iloc[:0]
    result = pd.DataFrame(out)
    for col in ("setting_key", "variant", "setting"):  # add_keys' labels, not the summary's
        if col in runs:
            result[col] = runs.loc[result.index, col]
        else:
            result = result.drop(columns=col)
    result["steps_to_target"] = result["steps_to_target"].astype("Int64")
    result["reached"] = result["reached"].astype(bool)
    result["target"] = result["target"].astype(float)
    return result.reset_index(drop=True)

"""``target=auto`` (PROTOCOL.md, AlgoPerf): per setting, the median over seeds of the
baseline's best validation value; every run's steps/time to target are re-derived from its
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
from project.analysis.variants import BASELINE, add_keys


def auto_targets(runs: pd.DataFrame) -> dict:
    """``setting_key -> target``: median of the baseline's best validation values."""
    keyed = add_keys(runs)
    base = keyed[keyed["variant"] == BASELINE]
    return {key: float(np.median(g["best_val"].astype(float)))
            for key, g in base.groupby("setting_key", sort=False)}


def apply_auto_target(runs: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``target``, ``steps_to_target``, ``time_to_target`` and ``reached``
    re-derived for ``target=auto`` (settings without baseline runs are dropped, with a note)."""
    keyed = add_keys(runs)
    targets = auto_targets(runs)
    out = []
    for _, run in keyed.iterrows():
        if run["setting_key"] not in targets:
            print(f"warning: target=auto: no baseline runs for {run['setting']}; "
                  f"{run['model']} seed {run['seed']} left out", file=sys.stderr)
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
        out.append(new)
    result = pd.DataFrame(out).drop(columns=["setting_key", "variant", "setting"])
    result["steps_to_target"] = result["steps_to_target"].astype("Int64")
    result["reached"] = result["reached"].astype(bool)
    result["target"] = result["target"].astype(float)
    return result.reset_index(drop=True)

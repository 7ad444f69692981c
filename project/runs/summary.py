"""A run's summary: the per-run figures of docs/protocol.md (written last into its run folder)."""

from __future__ import annotations

import math

from project.runs.identity import RunIdentity
from project.stats.per_run import best_value, meets, progress_auc, run_steps_to_target

SUMMARY_FIELDS = (
    "task", "model", "seed", "setting", "variant", "setting_overrides", "variant_overrides",
    "data_fingerprint",
    "params", "val_metric", "direction", "target", "target_rule", "target_met_at_start",
    "budget_steps", "steps_trained", "steps_to_target", "time_to_target", "reached", "auc",
    "best_val", "final_val", "test_at_best", "test_metrics", "test_at_budget",
    "train_at_budget", "metrics_at_budget", "diverged", "step_time_ms",
    "samples_per_s", "train_time_s", "clock_shared_by", "peak_mem_mb", "hparams",
)


def _finite(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def summarize_run(rows: list[dict[str, float]], *, identity: RunIdentity, params: int,
                  val_metric: str, direction: str, target: float, target_rule: str,
                  budget: int, steps_trained: int, diverged: bool,
                  test_metrics: dict[str, float] | None,
                  budget_metrics: dict[str, float] | None = None, train_time_s: float, batch_size: int, peak_mem_mb: float,
                  hparams: dict, clock_shared_by: int = 1) -> dict:
    """Every field of ``SUMMARY_FIELDS`` from the evaluation rows of the run's curve.

    ``test_metrics``: the test split at the best-validation checkpoint (``test_at_best``);
    ``budget_metrics``: ``test/*`` and ``train/*`` (a fixed training sample) at the weights
    training ended with (``test_at_budget``, ``train_at_budget``): both models compared after
    the same number of updates, and the train-minus-test gap. ``clock_shared_by``: how many
    runs trained on the clock behind ``train_time_s`` / ``time_to_target`` (a vectorised
    group's members share one: their times are the group's, not a run's own), in the run's
    last training session (a member resumed alone is a group of one)."""
    steps = [int(r["step"]) for r in rows]
    values = [r.get(val_metric, math.nan) for r in rows]
    step, reached = run_steps_to_target(steps, values, target, direction, budget, diverged)
    time_at = {int(r["step"]): r["train_time_s"] for r in rows}
    name = val_metric.split("/", 1)[1]
    test_name = "test/" + name
    at_budget = budget_metrics or {}
    return {
        **identity.to_dict(), "params": params,
        "val_metric": val_metric, "direction": direction, "target": target,
        "target_rule": target_rule,
        # a target met before any training makes steps to target meaningless (flagged)
        "target_met_at_start": bool(rows and steps[0] == 0 and meets(values[0], target,
                                                                       direction)),
        "budget_steps": budget, "steps_trained": steps_trained,
        "steps_to_target": step, "time_to_target": time_at[step] if reached else None,
        "reached": reached, "auc": progress_auc(steps, values, target, budget) if rows else 0.0,
        "best_val": _finite(best_value(values, direction)),
        "final_val": _finite(values[-1]) if values else None,
        "test_at_best": _finite((test_metrics or {}).get(test_name)),
        "test_metrics": {k: _finite(v) for k, v in (test_metrics or {}).items()},
        "test_at_budget": _finite(at_budget.get(test_name)),
        "train_at_budget": _finite(at_budget.get("train/" + name)),
        "metrics_at_budget": {k: _finite(v) for k, v in at_budget.items()},
        "diverged": diverged,
        "step_time_ms": 1000 * train_time_s / steps_trained if steps_trained else None,
        "samples_per_s": steps_trained * batch_size / train_time_s if train_time_s else None,
        "train_time_s": train_time_s, "clock_shared_by": clock_shared_by,
        "peak_mem_mb": peak_mem_mb, "hparams": hparams,
    }

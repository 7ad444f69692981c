"""Synthetic finished runs for report tests: summaries (and curves) written with
``project.runs.folder``, no training."""

from __future__ import annotations

from pathlib import Path

from project.runs import folder as run_folder


def summary(task: str, model: str, seed: int, steps: int, reached: bool, test: float, *,
            budget: int = 1000, setting=("task.seq_len=20",), variant=(), legacy: bool = False,
            target: float = 0.9, auc: float = 0.5, best_val: float | None = None,
            **extra) -> dict:
    """A summary as ``project.runs.summary`` writes it (``legacy``: the old ``cell``
    string instead of the identity fields). Seconds to target are steps / 100."""
    out = {"task": task, "model": model, "seed": seed, "val_metric": "val/acc",
           "direction": "max", "target": target, "budget_steps": budget,
           "steps_trained": steps if reached else budget, "steps_to_target": steps,
           "time_to_target": steps / 100 if reached else None, "reached": reached,
           "auc": auc, "best_val": target + 0.05 if best_val is None else best_val,
           "final_val": target, "test_at_best": test, "test_metrics": {"test/acc": test},
           "diverged": False, "train_time_s": (steps if reached else budget) / 100,
           "hparams": {"lr": 0.001, "seq_len": 20}, **extra}
    if legacy:
        out["cell"] = ",".join([task, model, *setting, *variant])
    else:
        out.update(setting_overrides=list(setting), variant_overrides=list(variant))
    return out


def write_run(root: Path, s: dict, every: int = 100) -> Path:
    """A finished run folder: ``metrics.csv`` (accuracy rising linearly to the target at its
    steps to target, or to half of it when censored) and ``summary.json``."""
    d = Path(root) / s["task"] / s["model"] / f"seed{s['seed']}" / "-".join(
        s.get("variant_overrides", [])) / "run"
    d.mkdir(parents=True, exist_ok=True)
    lines = ["step,train_time_s,val/acc"]
    end = s["steps_to_target"] if s["reached"] else 2 * s["budget_steps"]
    for step in range(0, s["budget_steps"] + 1, every):
        value = s["target"] * min(1.0, step / end) if end else s["target"]
        lines.append(f"{step},{step / 100},{value}")
    run_folder.write_text_atomic(run_folder.curve_path(d), "\n".join(lines) + "\n")
    run_folder.write_summary(d, s)
    return d

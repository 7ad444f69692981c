"""Targets by a written rule, from pilot runs of the control on validation data.

    python scripts/pilot_targets.py [--tasks ...] [--control baseline] [--workers 2]

Rule (docs/protocol.md): a task's target is the lower quartile, over the pilot seeds 0-4,
of the control's best validation value, rounded toward the easier side (accuracies down to
0.01; errors up to 3 significant digits), so that about three in four control runs reach it.
The adding problem keeps Raffel & Ellis' definition (all validation sequences within 0.04).
Pilot runs go to ``runs/pilot`` through the sweep backend; the final tables use seeds >= 100.
Only validation figures are read. Prints a Markdown table of the values to put in conf/task.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from project.cli import user_error
from project.sweeps.backend import plan_runs
from project.sweeps.backends.processes import cpu_count, plan_threads
from project.sweeps.backends.workers import WorkerBackend
from project.sweeps.orchestrate import run_sweep
from project.sweeps.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]

TASKS = ["sst2", "trec", "etth1", "gunpoint", "italypower", "usps", "digits", "fsdd"]
SEEDS = [0, 1, 2, 3, 4]


def rule_target(best_vals: list[float], direction: str) -> float:
    """Lower quartile (the easier side) of the control's best validation values, rounded
    toward the easier side."""
    if direction == "max":
        return math.floor(float(np.quantile(best_vals, 0.25)) * 100) / 100
    q = float(np.quantile(best_vals, 0.75))
    digits = 3 - int(math.floor(math.log10(abs(q)))) - 1
    return math.ceil(q * 10**digits) / 10**digits


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=TASKS)
    p.add_argument("--control", default="baseline")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--root", type=Path, default=ROOT / "runs" / "pilot")
    p.add_argument("--rerun-stale", action="store_true",
                   help="delete and rerun finished runs whose config has changed since")
    args = p.parse_args(argv)
    started = time.perf_counter()
    spec = parse_spec({"method": "grid", "command": ["${env}", "${interpreter}", "-m",
                                                     "project.train", "${args_no_hyphens}"],
                       "parameters": {"task": {"values": args.tasks},
                                      "model": {"value": args.control},
                                      "seed": {"values": SEEDS}}})
    try:
        planned = plan_runs(spec, args.root)
    except ValueError as e:
        return user_error(e)
    workers, threads = plan_threads(args.workers, None, cpu_count())
    console = Console()
    backend = WorkerBackend(workers, threads, console, vectorize_seeds=len(SEEDS))
    outcome = run_sweep(planned, backend, console, rerun_stale=args.rerun_stale,
                        title="pilot", after=f" -> {args.root}")
    if not outcome.ok:
        return user_error(f"{len(outcome.failed)} pilot runs failed, e.g. "
                          f"{outcome.failed[0].error}")
    summaries = outcome.summaries()
    lines = [f"| task | metric | {args.control} best validation value, seeds "
             f"{SEEDS[0]}-{SEEDS[-1]} | target by the rule | config target before |",
             "|---|---|---|---|---|"]
    for task in args.tasks:
        runs = [s for p, s in zip(planned, summaries) if p.run.task == task]
        vals = sorted(r["best_val"] for r in runs)
        target = rule_target(vals, runs[0]["direction"])
        sign = ">=" if runs[0]["direction"] == "max" else "<="
        lines.append(f"| {task} | {runs[0]['val_metric']} | "
                     f"{', '.join(f'{v:.4g}' for v in vals)} | {sign} {target:g} | "
                     f"{runs[0]['target']:g} |")
    print("\n".join(lines))
    print(f"pilot wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

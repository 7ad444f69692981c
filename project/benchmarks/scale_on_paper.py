"""A 10,000-run study sized from measured per-run costs: ``python scripts/scale_on_paper.py``.

Reads docs/bench.json (``scripts/bench.py``: one-thread suite steps/s per task and model, and
the evidence-throughput sweep's wall time per mode) and each task's step budget from
conf/task/, and prints core-seconds, jobs and wall time for 8 tasks x 6 models x 200 seeds
on a 2-core laptop, a 100-job SLURM allocation of CPUs, and the GPU machines (unmeasured).
Every assumption is printed beside the figure it makes.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import yaml

from project.benchmarks.environment import ROOT
from project.cli import user_error
from project.sweeps.backend import AUTO_GROUP_LIMIT


def per_run_seconds(bench: dict) -> tuple[dict[str, float], float, float, float]:
    """(one-thread worker-seconds per run by task, the workers backend's wall/training
    factor, the default options' (seeds grouped by the sweep) / workers cost factor, the
    seconds a fresh process per run adds), from the bench file."""
    modes = bench["throughput"]["modes"]
    w = modes["workers"]
    workers = bench["throughput"]["workers"]
    worker_s = {m: modes[m]["wall_s"] * workers / modes[m]["runs"] for m in modes}
    overhead = worker_s["workers"] / (w["train_clock_s"] / w["runs"])
    grouped_factor = worker_s["default"] / worker_s["workers"]
    cost = {}
    for task, rows in bench["tasks"].items():
        budget = yaml.safe_load((ROOT / "conf/task" / f"{task}.yaml").read_text())["budget"]
        slowest = min(rows[m]["suite_steps_per_s"] for m in ("attention", "baseline"))
        cost[task] = budget["max_steps"] / slowest * overhead
    return cost, overhead, grouped_factor, worker_s["processes"] - worker_s["workers"]


def trains_alone(task: str) -> bool:
    """Whether the task's seeds train one by one in a group's job (their single runs take the
    fused path, ``vectorized.FusedSingleRuns``): the task's data opened, its first batch."""
    from project.runs.compose import compose_train
    from project.training.protocol import open_data
    from project.training.vectorized import single_run_is_fused

    cfg = compose_train([f"task={task}", "seed=0"])
    return single_run_is_fused(cfg, open_data(cfg, 0)[0])


def largest_group(bench: dict) -> int:
    """Members of the largest group the default options made in the bench's sweep."""
    return bench["throughput"]["modes"]["default"].get("largest_group", 0)


def scaling(bench: dict) -> str:
    """How runs/min scaled from 1 to 2 workers in the bench (one process per run)."""
    per_min = bench.get("sweep_runs_per_min") or {}
    if not {"1", "2"} <= set(per_min):
        return "not measured in this bench file"
    return f"measured {per_min['2'] / per_min['1']:.2f}x at 2"


def shown(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def hours(s: float) -> str:
    return f"{s / 3600:.1f} h" if s < 3 * 86400 else f"{s / 86400:.1f} days"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", type=Path, default=ROOT / "docs/bench.json")
    p.add_argument("--spec", type=Path, default=ROOT / "conf/sweep/paper.yaml",
                   help="the study's tasks: this spec's (default: the paper table's 8)")
    p.add_argument("--models", type=int, default=6)
    p.add_argument("--seeds", type=int, default=200)
    p.add_argument("--k", type=int, default=64, help="seeds per vectorised group on a GPU")
    args = p.parse_args(argv)
    try:
        bench = json.loads(args.bench.read_text())
        cost, overhead, vf, fresh = per_run_seconds(bench)
        tasks = yaml.safe_load(args.spec.read_text())["parameters"]["task"]["values"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        return user_error(f"{shown(args.bench)} or {shown(args.spec)}: {e!r}")
    measured = sorted(cost, key=cost.get)
    unmeasured = [t for t in tasks if t not in cost]
    print(f"source: {shown(args.bench)} ({bench['date']}, {bench['machine']}, load "
          f"{bench['load']['start']})")
    print(f"workers backend: wall / training clock per run = {overhead:.2f} "
          f"(evidence sweep, {bench['throughput']['spec']})")
    print(f"default options (seeds grouped, {largest_group(bench)} a group) / workers "
          f"(one run at a time), worker-seconds per run = {vf:.2f} (same sweep)")
    print(f"a fresh process per run (SLURM array task, wandb agent) adds {fresh:.1f} s per run "
          f"(processes - workers, worker-seconds per run, same sweep)")
    print("\n| task | budget steps | s per run, one thread (workers backend) |\n|---|---:|---:|")
    for t in measured:
        steps = yaml.safe_load((ROOT / "conf/task" / f"{t}.yaml").read_text())["budget"]
        print(f"| {t} | {steps['max_steps']} | {cost[t]:.1f} |")
    per_model_seed = args.models * args.seeds
    runs = len(tasks) * per_model_seed
    dearest = cost[measured[-1]]
    price = {t: cost.get(t, dearest) for t in tasks}  # a run's seconds; unmeasured: the dearest
    total = sum(price[t] for t in tasks) * per_model_seed
    print(f"\nruns: {len(tasks)} tasks ({', '.join(tasks)}; {shown(args.spec)}) x "
          f"{args.models} models x {args.seeds} seeds = {runs}")
    print("assumed: every model costs as much as the slower of attention and baseline"
          + (f"; {', '.join(unmeasured)} (not in the bench) as much as the dearest measured "
             f"task ({measured[-1]})" if unmeasured else ""))
    dear = [t for t in tasks if price[t] == dearest]
    share = len(dear) * dearest * per_model_seed / total
    print(f"share of the core-seconds in {', '.join(dear)}: {share:.0%}")
    alone = [t for t in dict.fromkeys(tasks) if trains_alone(t)]
    alone_s = sum(price[t] for t in tasks if t in alone) * per_model_seed
    grouped = (total - alone_s) * vf + alone_s
    print(f"seeds of {', '.join(alone) or 'no task'} train one by one, not grouped (their "
          "single runs take the fused path, which a vectorised group cannot)")
    print(f"one-thread core-seconds, one run at a time: {total:,.0f} ({hours(total)}); "
          f"seeds grouped (the default): {grouped:,.0f} ({hours(grouped)})")
    laptop = 2
    print(f"\nlaptop ({laptop} cores, `python -m project.sweep SPEC --workers {laptop}`): "
          f"{hours(grouped / laptop)} with the default options, {hours(total / laptop)} "
          f"with --vectorize-seeds 1 (assumes runs/min scale with workers: {scaling(bench)})")
    stacked_tasks = len([t for t in tasks if t not in alone])
    groups = stacked_tasks * args.models * math.ceil(args.seeds / args.k)
    jobs = len(tasks) * args.models * math.ceil(args.seeds / AUTO_GROUP_LIMIT)
    slots = 400  # 100 nodes' worth of the slurm.yaml job (4 CPUs), one CPU per job
    print(f"SLURM CPU jobs, {slots} one-CPU jobs at once (`hydra.launcher.cpus_per_task=1 "
          f"hydra.launcher.array_parallelism={slots}`): the default seed_groups sweeper makes "
          f"{jobs} array tasks of at most {AUTO_GROUP_LIMIT} seeds, "
          f"{hours(math.ceil(jobs / slots) * grouped / jobs)} (waves of {slots} jobs, each "
          f"job a group's cost, seeds grouped); one run per job "
          f"(`hydra.sweeper.seeds_per_job=1`): {runs} array tasks, "
          f"{hours((total + runs * fresh) / slots)} (each run's fresh process included; the "
          f"same scaling assumption)")
    print(f"GPU (8-GPU machine, 100-GPU cluster): {groups} groups of K = {args.k} seeds"
          + (f" and {(len(tasks) - stacked_tasks) * per_model_seed} runs one by one "
             f"({', '.join(alone)})" if alone else "")
          + "; wall time = groups x one group's time / GPUs, and one group's time is "
          "UNMEASURED (no GPU lent: scripts/bench_gpu.py has not run)")
    return 0

"""Where a vectorised group's update goes, op by op, beside a single run's, in one run.

    python scripts/bench_vectorized_ops.py [--tasks gunpoint,digits,italypower] [--k 16]
                                           [--steps 300] [--doc docs/benchmarks.md]

Both paths train a task's network (attention, the task config otherwise) for ``--steps``
updates on one thread under ``torch.profiler``: one single run (``project.training.run.train``)
and one group of ``--k`` seeds as a stacked model (``project.training.vectorized``). Per op:
its self CPU time per member-update (the group's divided by K) on each path. Vectorising
amortises what a single run pays per call (Python, Lightning, dispatch, small kernels); it
cannot amortise per-element work, such as drawing each member's dropout mask, which must be
the single run's own random stream, or elementwise passes over K times larger tensors.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import profile

from project.benchmarks.doc_sections import write_section
from project.benchmarks.environment import header
from project.benchmarks.workloads import THROUGHPUT_TASKS, measured_run_config
from project.training.cpu_allocator import keep_freed_memory
from project.training.run import train, train_vectorized

SHOWN = 8  # ops per task, by their single-run time plus their vectorised time


def run_config(task: str, seed: int, steps: int, run_dir: str):
    return measured_run_config([f"task={task}", "model=attention", f"seed={seed}",
                                "trainer.enable_progress_bar=false"], steps, run_dir)


def op_ms(prof) -> dict[str, float]:
    """Self CPU ms per op name over the profiled span."""
    out: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        out[event.key] += event.self_cpu_time_total / 1e3
    return dict(out)


def profiled(task: str, k: int, steps: int) -> dict:
    """ms per member-update per op, and the training clock's ms per member-update, of one
    single run (k = 1) or one group of k seeds."""
    with tempfile.TemporaryDirectory() as d:
        cfgs = [run_config(task, seed, steps, f"{d}/run{seed}") for seed in range(k)]
        with profile() as prof:
            summaries = [train(cfgs[0])] if k == 1 else train_vectorized(cfgs)
    updates = steps * k
    return {"ops": {name: ms / updates for name, ms in op_ms(prof).items()},
            "clock_ms": summaries[0]["train_time_s"] * 1e3 / updates}


def render(result: dict) -> str:
    k = result["k"]
    lines = [f"machine: {result['machine']}; {result['date']}; {result['steps']} updates per "
             f"path, attention, one thread, under torch.profiler (which slows both paths); "
             f"K = {k}; self CPU ms per member-update (the group's / {k})", ""]
    for task, paths in result["tasks"].items():
        single, group = paths["single"], paths["vectorised"]
        names = sorted(set(single["ops"]) | set(group["ops"]),
                       key=lambda n: -(single["ops"].get(n, 0) + group["ops"].get(n, 0)))
        lines += [f"**{task}**", "", "| op | single run | vectorised | vectorised/single |",
                  "|---|---:|---:|---:|"]
        for name in names[:SHOWN]:
            a, b = single["ops"].get(name, 0.0), group["ops"].get(name, 0.0)
            lines.append(f"| {name} | {a:.3f} | {b:.3f} | "
                         f"{f'{b / a:.2f}' if a else '-'} |")
        rest_a = sum(v for n, v in single["ops"].items() if n not in names[:SHOWN])
        rest_b = sum(v for n, v in group["ops"].items() if n not in names[:SHOWN])
        lines.append(f"| every other op | {rest_a:.3f} | {rest_b:.3f} | "
                     f"{f'{rest_b / rest_a:.2f}' if rest_a else '-'} |")
        lines += ["", f"- training clock (profiled), ms per member-update: single run "
                      f"{single['clock_ms']:.3f}, vectorised {group['clock_ms']:.3f} "
                      f"({single['clock_ms'] / group['clock_ms']:.2f}x)", ""]
    return "\n".join(lines).rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(THROUGHPUT_TASKS))
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--doc", type=Path, default=None, help="replace this file's section")
    args = parser.parse_args()
    if args.k < 2 or args.steps < 1:
        parser.error("--k must be at least 2 and --steps at least 1")
    keep_freed_memory()
    torch.set_num_threads(1)
    result = {"k": args.k, "steps": args.steps, **header(), "tasks": {}}
    for task in args.tasks.split(","):
        result["tasks"][task] = {"single": profiled(task, 1, args.steps),
                                 "vectorised": profiled(task, args.k, args.steps)}
    text = (f"Written by `python scripts/bench_vectorized_ops.py {' '.join(sys.argv[1:])}` "
            "(do not edit by hand: rerun it).\n\n" + render(result))
    print(text)
    if args.doc:
        write_section(args.doc, "vectorized-ops", "Where a vectorised update goes, op by op",
                      text)

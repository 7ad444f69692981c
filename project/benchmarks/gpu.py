"""Evidence throughput on one GPU, side by side in one run (issue #12's GPU target):

    python scripts/bench_gpu.py [--seeds 64] [--process-seeds 8] [--workers 4]
                                [--out docs/bench_gpu.json] [--doc docs/benchmarks_gpu.md]

One spec (digits, ItalyPowerDemand and GunPoint x {attention, baseline}, each task's config
budget, ``trainer=gpu``) swept three ways with the same number of sweep workers sharing the
GPU: one ``python -m project.train`` process per run and persistent workers, both over
``--process-seeds`` seeds, and vectorised seeds (all ``--seeds`` seeds of a task x model as
one stacked model, K = ``--seeds``). Throughput is runs per minute of wall time; the
one-process-per-run rate is measured on fewer seeds because it is the slow mode (its rate does
not depend on how many runs are queued once every worker is busy). Target: vectorised K=64
>= 20x the runs/min of one process per run. ``--trainer default`` runs the same comparison on
the CPU (a smoke test of this script).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from project.benchmarks.environment import utc_now
from project.benchmarks.suite import sweep_throughput, throughput_rows
from project.benchmarks.workloads import THROUGHPUT_TASKS

TARGET = 20.0


def device_name(trainer: str) -> str:
    import platform

    import torch

    where = (torch.cuda.get_device_name(0) if trainer == "gpu" and torch.cuda.is_available()
             else f"CPU only ({platform.machine()})")
    return f"{where}; {os.cpu_count()} CPU cores; torch {torch.__version__}"


def render(result: dict) -> str:
    modes, tasks = result["modes"], result["tasks"]
    labels = {mode: f"{mode} ({v['seeds']} seed{'' if v['seeds'] == 1 else 's'})"
              for mode, v in modes.items()}
    ratio = modes["vectorised"]["runs_per_min"] / modes["processes"]["runs_per_min"]
    lines = [f"device: {result['device']}; date: {result['date']}; "
             f"{result['workers']} sweep workers; trainer={result['trainer']}", "",
             *throughput_rows(modes, tasks, labels), "",
             f"vectorised K={result['k']}: {ratio:.1f}x the runs/min of one process per run "
             f"(target {TARGET:.0f}x: {'met' if ratio >= TARGET else 'missed'})"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=64, help="seeds of the vectorised mode (K)")
    parser.add_argument("--process-seeds", type=int, default=8,
                        help="seeds of the one-process-per-run and persistent-worker modes")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--tasks", default=",".join(THROUGHPUT_TASKS))
    parser.add_argument("--trainer", default="gpu", choices=["gpu", "default"])
    parser.add_argument("--out", default="docs/bench_gpu.json")
    parser.add_argument("--doc", default=None, help="also write this Markdown file")
    args = parser.parse_args()
    tasks = tuple(t for t in args.tasks.split(",") if t)
    fixed = {"trainer": args.trainer}
    result = {"device": device_name(args.trainer), "trainer": args.trainer,
              "date": utc_now(),
              "workers": args.workers, "k": args.seeds, "tasks": list(tasks), "modes": {}}
    for mode, seeds in (("processes", args.process_seeds), ("workers", args.process_seeds),
                        ("vectorised", args.seeds)):
        out = sweep_throughput(mode, seeds, args.workers, tasks, k=args.seeds, fixed=fixed)
        result["modes"][mode] = {"seeds": seeds, **out}
        print(f"{mode}: {out['runs']} runs in {out['wall_s']:.0f} s", flush=True)
    text = render(result)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    if args.doc:
        command = " ".join(["python", "scripts/bench_gpu.py", *sys.argv[1:]])
        Path(args.doc).write_text(
            "# Benchmarks on a GPU\n\nWritten by `" + command + "` (do not edit by hand: "
            "rerun it). What is compared: see the docstring of project/benchmarks/gpu.py; ratios are the claim.\n\n"
            + text)

"""Lightning's per-update dispatch, measured: the suite's default (bare) updates against the
same run with the dispatch forced, interleaved in one process.

``python scripts/bench_bare_updates.py [--tasks digits,italypower,gunpoint,usps]
[--repeats 5]``: per task and model, ``--repeats`` pairs of runs of the bench's step count
(``project.benchmarks.workloads``: one thread, one evaluation at the end), each pair one run
as a user gets it (``project.training.bare_updates`` allows bare updates) and one beside a
callback that listens to ``on_before_backward`` (a no-op), which sends every update through
``manual_backward`` and ``LightningOptimizer.step``. A run's ms per update is its training
clock over its updates; the claim is the median over pairs of dispatched / bare (pairs run
back to back, so the machine's load drifts over both alike).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import lightning as L
import torch

from project.benchmarks.environment import header, loadavg
from project.benchmarks.workloads import TASKS, measured_run_config
from project.cli import user_error
from project.training.run import train

SHORT_STEP_TASKS = ("digits", "italypower", "gunpoint", "usps")


class ListensToBackward(L.Callback):
    """Does nothing, but listens to every update's backward: the updates are dispatched."""

    calls = 0

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        self.calls += 1


def ms_per_update(task: str, model: str, dispatched: bool) -> float:
    """One bench run of ``task`` and ``model``; its training clock per update, in ms."""
    overrides, steps = TASKS[task]
    listener = ListensToBackward()
    with tempfile.TemporaryDirectory() as d:
        cfg = measured_run_config([*overrides, f"model={model}"], steps, d)
        summary = train(cfg, callbacks=[listener] if dispatched else [])
    if dispatched != (listener.calls == summary["steps_trained"]):
        raise RuntimeError(f"{task} {model}: {listener.calls} dispatched updates of "
                           f"{summary['steps_trained']}")
    return summary["train_time_s"] / summary["steps_trained"] * 1e3


def measure(tasks: list[str], repeats: int) -> dict:
    """Per task and model: the bare and dispatched ms per update of each pair."""
    torch.set_num_threads(1)
    result = {}
    for task in tasks:
        for model in ("attention", "baseline"):
            pairs = [(ms_per_update(task, model, False), ms_per_update(task, model, True))
                     for _ in range(repeats)]
            result[f"{task} {model}"] = pairs
    return result


def table(result: dict) -> str:
    lines = ["| task, model | bare ms/update | dispatched ms/update | dispatched / bare "
             "(median of pairs) | pairs |", "|---|---:|---:|---:|---|"]
    for name, pairs in result.items():
        ratios = [d / b for b, d in pairs]
        lines.append(f"| {name} | {statistics.median(b for b, _ in pairs):.3f} | "
                     f"{statistics.median(d for _, d in pairs):.3f} | "
                     f"{statistics.median(ratios):.3f} | "
                     f"{', '.join(f'{r:.3f}' for r in ratios)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default=",".join(SHORT_STEP_TASKS))
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or args.repeats < 1:
        return user_error(f"--tasks {','.join(unknown)}: expected some of {', '.join(TASKS)}"
                          if unknown else f"--repeats {args.repeats}: must be >= 1")
    info, start = header(), loadavg()
    result = measure(tasks, args.repeats)
    print(f"machine: {info['machine']}; {info['date']}; load average at the start "
          f"{start}, at the end {loadavg()}; one thread, {args.repeats} pairs per row")
    print(table(result))
    return 0

"""Each table model's step cost measured in isolation, for time to target = steps x step cost
(docs/protocol.md, "Time"): ``python scripts/bench_step_costs.py [--tasks adding,sst2]
[--repeats 6] [--out docs/step_costs.json] [--doc docs/benchmarks.md]``; ``python -m
project.report --step-costs docs/step_costs.json`` reads it. ``--from-json FILE --doc DOC``
writes an earlier result's section without measuring again.

Per task, its table configuration (``conf/task/<task>.yaml``, each model at its own table
rate) trains attention and mean pooling alternately (A B, then B A, ...), ``--repeats`` runs
each, one at a time in this process on one thread: each a fresh run of ``--steps`` updates,
evaluated once at the end. A run's step cost is the time from its ``warmup``-th update to its
last, per update (start-up, data building and the evaluation excluded). Per (task, model):
the median over the repetitions and, as its interval, the repetitions' minimum and maximum (a
distribution-free interval for the median, coverage 1 - 2 / 2^repeats: 96.9% at 6). The load
average is recorded at the start and the end; the figures are for a machine as loaded as that.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L

from project.benchmarks.doc_sections import write_section
from project.benchmarks.environment import header, loadavg, use_offline_services
from project.benchmarks.workloads import measured_run_config
from project.training.run import train

TABLE_TASKS = ("adding", "sst2", "trec", "etth1", "gunpoint", "italypower", "usps", "digits",
               "fsdd")
MODELS = ("attention", "baseline")


class StepClock(L.Callback):
    """Times updates after the first ``warmup``: ``(seconds, updates)`` between them and the
    last update."""

    def __init__(self, warmup: int, clock=time.perf_counter):
        self.warmup, self.clock = warmup, clock
        self.start: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = (self.clock(), trainer.global_step)
        if self.start is None and now[1] >= self.warmup:
            self.start = now
        self.last = now

    def seconds_per_update(self) -> float:
        if self.start is None or self.last[1] <= self.start[1]:
            raise RuntimeError("too few updates after the warm-up to time a step")
        return (self.last[0] - self.start[0]) / (self.last[1] - self.start[1])


def step_cost(task: str, model: str, steps: int, warmup: int) -> float:
    """Seconds per update of one fresh run of ``task`` and ``model`` (its table config)."""
    clock = StepClock(warmup)
    with tempfile.TemporaryDirectory() as d:
        train(measured_run_config([f"task={task}", f"model={model}"], steps, d),
              callbacks=[clock])
    return clock.seconds_per_update()


def interval_coverage(repeats: int) -> float:
    """Coverage of [min, max] of ``repeats`` draws as an interval for their median."""
    return 1.0 - 2.0 / 2 ** repeats


def summarise(costs: list[float]) -> dict:
    """One model's figures from its repetitions' seconds per update."""
    median = statistics.median(costs)
    return {"step_cost_s": median, "suite_steps_per_s": 1.0 / median,
            "interval_s": [min(costs), max(costs)],
            "interval_coverage": interval_coverage(len(costs)), "repeats_s": costs}


def measure(tasks, repeats: int, steps: int, warmup: int) -> dict:
    """The benchmark's result (``tasks``: ``{task: {model: summarise(...)}}``)."""
    result = {**header(), "threads": 1, "steps": steps, "warmup": warmup,
              "load": {"start": loadavg()}, "tasks": {}}
    for task in tasks:
        costs = {m: [] for m in MODELS}
        for r in range(repeats):
            for model in (MODELS if r % 2 == 0 else MODELS[::-1]):
                costs[model].append(step_cost(task, model, steps, warmup))
        result["tasks"][task] = {m: summarise(c) for m, c in costs.items()}
        result["tasks"][task]["attention_over_baseline_step_time"] = (
            result["tasks"][task]["attention"]["step_cost_s"]
            / result["tasks"][task]["baseline"]["step_cost_s"])
    result["load"]["end"] = loadavg()
    return result


def render(result: dict) -> str:
    """The result as a Markdown table, with the machine, load and coverage."""
    lines = [f"Isolated step costs ({result['machine']}, {result['date']}; one thread; "
             f"load average {result['load']['start']} at the start, {result['load']['end']} "
             "at the end)", "",
             "| task | attention ms/step [min, max] | baseline ms/step [min, max] | "
             "attention / baseline |", "|---|---|---|---|"]
    for task, figures in result["tasks"].items():
        cells = []
        for m in MODELS:
            f = figures[m]
            lo, hi = f["interval_s"]
            cells.append(f"{1000 * f['step_cost_s']:.3g} [{1000 * lo:.3g}, {1000 * hi:.3g}]")
        lines.append(f"| {task} | {cells[0]} | {cells[1]} | "
                     f"{figures['attention_over_baseline_step_time']:.2f} |")
    any_task = next(iter(result["tasks"].values()))["attention"]
    lines += ["", f"Median of {len(any_task['repeats_s'])} runs per model, interleaved; "
              f"[min, max] covers the median with probability "
              f"{any_task['interval_coverage']:.1%}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/bench_step_costs.py",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", default=",".join(TABLE_TASKS))
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--steps", type=int, default=300, help="updates per timed run")
    p.add_argument("--warmup", type=int, default=50, help="updates before the clock starts")
    p.add_argument("--out", type=Path, default=Path("docs/step_costs.json"))
    p.add_argument("--doc", type=Path, help="also write the table as this Markdown file's "
                   "'Isolated step costs' section")
    p.add_argument("--from-json", type=Path, help="render this earlier result; measure nothing")
    args = p.parse_args(argv)
    if args.repeats < 2 or args.warmup >= args.steps:
        p.error("need --repeats >= 2 and --warmup < --steps")
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
    else:
        use_offline_services()
        result = measure([t for t in args.tasks.split(",") if t], args.repeats, args.steps,
                         args.warmup)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=2))
        tmp.replace(args.out)
    table = render(result)
    print(table)
    if args.from_json is None:
        print(f"wrote {args.out}")
    if args.doc is not None:
        command = "python scripts/bench_step_costs.py" + (
            f" --tasks {','.join(result['tasks'])}" if list(result["tasks"]) != list(TABLE_TASKS)
            else "")
        write_section(args.doc, "step-costs", "Isolated step costs: the tables' time column",
                      f"Written by `{command} --doc {args.doc}`; read by `python -m "
                      f"project.report --step-costs {args.out}` (docs/protocol.md, \"Time\"). "
                      f"Each task's table config, each model at its table rate; {result['steps']} "
                      f"updates per run, timed after the first {result['warmup']}.\n\n{table}")
        print(f"wrote {args.doc}")
    return 0

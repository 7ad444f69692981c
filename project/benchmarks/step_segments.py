"""Where the suite's step differs from a hand-written loop's, call by call, in one run.

    python scripts/bench_step_segments.py [--tasks sst2] [--doc docs/benchmarks.md]

Finer than ``scripts/bench_step_trace.py``: besides the network's forward, its backward and
Adam's update, the time between them is split at every call the suite's training step makes
(the per-step reseed, the loss, the finite-loss check, ``zero_grad``, Lightning's
``manual_backward`` and ``LightningOptimizer.step`` around their hooks, and the loop between
batches). Both paths run the same network, batches and Adam on one thread, timed by the
thread's CPU clock, ``trainer.updates_per_batch=25``; ms per update, means over the updates
after the first 50, median over interleaved repeats. A segment is named by the marks that
bound it (``a > b``: from mark a to mark b); the raw loop has fewer marks, so its segments are
coarser (``top > fetch1`` is its batch fetch, ``opt1 > top`` its loop).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
from pathlib import Path

from lightning.pytorch.core.optimizer import LightningOptimizer

from project.benchmarks.doc_sections import write_section
from project.benchmarks.environment import header
from project.benchmarks.step_trace import StepMarks, clock, marked_network, marked_optimizer
from project.benchmarks.workloads import TASKS as BENCH_TASKS
from project.benchmarks.workloads import measured_run_config, raw_setup, step_batches
from project.training.cpu_allocator import keep_freed_memory
from project.training.loss import task_loss
from project.training.run import train

WARMUP, PER_BATCH = 50, 25
# the network, its backward and Adam's update: the same code on both paths
NETWORK = {"fwd0 > fwd1", "bw0 > bw1", "opt0 > opt1"}


def segments(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Mean ms per update between consecutive marks, from update ``WARMUP``'s ``top`` to the
    last ``top`` (every update starts with one)."""
    tops = [i for i, (name, _) in enumerate(marks) if name == "top"]
    first, last = tops[WARMUP], tops[-1]
    total: dict[str, float] = collections.defaultdict(float)
    for (a, ta), (b, tb) in zip(marks[first:last], marks[first + 1:last + 1]):
        total[f"{a} > {b}"] += tb - ta
    return {k: v / (len(tops) - 1 - WARMUP) * 1000 for k, v in total.items()}


def wrapped(fn, marks: list, before: str | None, after: str | None):
    def call(*args, **kwargs):
        if before:
            marks.append((before, clock()))
        out = fn(*args, **kwargs)
        if after:
            marks.append((after, clock()))
        return out
    return call


class SegmentMarks(StepMarks):
    """``StepMarks``, plus marks around the module's calls (instance wrappers)."""

    def on_fit_start(self, trainer, module):
        super().on_fit_start(trainer, module)
        marks = self.marks
        module.reseed = wrapped(module.reseed, marks, "top", None)
        module._loss = wrapped(module._loss, marks, None, "loss1")
        module.manual_backward = wrapped(module.manual_backward, marks, "mb0", "mb1")
        optimizer = module.optimizers()
        optimizer.zero_grad = wrapped(optimizer.zero_grad, marks, "zg0", "zg1")


def suite_segments(overrides: list[str], model: str, steps: int) -> dict[str, float]:
    marks: list = []
    step = LightningOptimizer.step
    LightningOptimizer.step = wrapped(step, marks, "st0", "st1")
    try:
        with tempfile.TemporaryDirectory() as d:
            train(measured_run_config([*overrides, f"model={model}",
                                       f"trainer.updates_per_batch={PER_BATCH}",
                                       "trainer.enable_progress_bar=false"], steps, d),
                  callbacks=[SegmentMarks(marks)])
    finally:
        LightningOptimizer.step = step
    return segments(marks)


def raw_segments(overrides: list[str], model: str, steps: int) -> dict[str, float]:
    dm, net, opt, loss_fn, classify = raw_setup(overrides, model)
    marks: list = []
    marked_network(net, marks)
    marked_optimizer(opt, marks)
    batches = step_batches(dm)
    for _ in range(steps):
        marks.append(("top", clock()))
        batch = next(batches)
        marks.append(("fetch1", clock()))
        out = net(batch["x"], batch.get("mask"))
        y = batch["y"]
        loss = task_loss(loss_fn, out, y)
        marks += [("loss1", clock()), ("zg0", clock())]
        opt.zero_grad(set_to_none=True)
        marks += [("zg1", clock()), ("bw0", clock())]
        loss.backward()
        marks += [("bw1", clock()), ("opt0", clock())]
        opt.step()
    marks.append(("top", clock()))
    return segments(marks)


def render(result: dict) -> str:
    lines = [f"Written by `python scripts/bench_step_segments.py {result['args']}` (do not edit "
             "by hand: rerun it).", "",
             f"machine: {result['machine']}; {result['date']}; thread CPU clock, ms per "
             f"update, {result['steps']} updates less {WARMUP}, {result['repeats']} "
             f"interleaved repeats (median; the repeats in brackets), "
             f"`trainer.updates_per_batch={PER_BATCH}`", ""]
    for (task, model), paths in result["runs"].items():
        lines += [f"**{task}, {model}**", "", "| path | segment | ms per update | repeats |",
                  "|---|---|---:|---|"]
        summary = []
        for path, reps in paths.items():
            names = sorted({k for r in reps for k in r},
                           key=lambda k: -statistics.median(r.get(k, 0.0) for r in reps))
            for name in names:
                values = [r.get(name, 0.0) for r in reps]
                lines.append(f"| {path} | {name} | {statistics.median(values):.3f} | "
                             + ", ".join(f"{v:.3f}" for v in values) + " |")
            network = statistics.median(sum(v for k, v in r.items() if k in NETWORK)
                                        for r in reps)
            rest = statistics.median(sum(v for k, v in r.items() if k not in NETWORK)
                                     for r in reps)
            summary.append((path, network, rest))
        lines.append("")
        for path, network, rest in summary:
            lines.append(f"- {path}: network, backward and Adam {network:.3f} ms; every other "
                         f"segment {rest:.3f} ms per update.")
        (_, net_raw, rest_raw), (_, net_suite, rest_suite) = summary
        lines += [f"- The suite's calls around the network add {rest_suite - rest_raw:.3f} ms "
                  f"per update ({(rest_suite - rest_raw) / (net_raw + rest_raw):.1%} of the raw "
                  f"step); its network, backward and Adam take {net_suite - net_raw:+.3f} ms "
                  f"against the raw loop's (the same code: the difference is the processes' "
                  f"memory, not the suite's work).", ""]
    return "\n".join(lines).rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sst2")
    parser.add_argument("--models", default="attention,baseline")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--doc", type=Path, default=None, help="replace this file's section")
    args = parser.parse_args()
    unknown = set(args.tasks.split(",")) - set(BENCH_TASKS)
    if unknown:
        parser.error(f"--tasks: unknown {sorted(unknown)}; choose from {sorted(BENCH_TASKS)}")
    if args.steps % PER_BATCH or args.steps <= WARMUP + PER_BATCH:
        parser.error(f"--steps {args.steps}: a multiple of {PER_BATCH} above "
                     f"{WARMUP + PER_BATCH}")
    keep_freed_memory()  # as the suite does by default, for both paths

    result = {"args": " ".join(sys.argv[1:]), "steps": args.steps, "repeats": args.repeats,
              **header(), "runs": {}}
    for task in args.tasks.split(","):
        overrides = BENCH_TASKS[task][0]
        for model in args.models.split(","):
            paths: dict[str, list] = {"raw": [], "suite": []}
            for _ in range(args.repeats):
                paths["raw"].append(raw_segments(overrides, model, args.steps))
                paths["suite"].append(suite_segments(overrides, model, args.steps))
            result["runs"][(task, model)] = paths
    text = render(result)
    print(text)
    if args.doc:
        write_section(args.doc, "step-segments", "The suite's step, call by call", text)

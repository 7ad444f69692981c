"""Where a suite training step goes, hook by hook, beside a hand-written loop, in one run.

    python scripts/bench_step_trace.py [--tasks sst2,adding] [--per-batch 1,25]
                                       [--doc docs/benchmarks.md]

Both paths run the same network, DataModule batches and Adam on one thread, timed by the
thread's CPU clock (``time.thread_time``: other processes on the machine slow it through
shared caches, but their running time is not counted, unlike the wall clock of
``scripts/bench.py``). The suite runs once per ``--per-batch`` value of
``trainer.updates_per_batch`` (optimizer updates per Lightning batch). Per optimizer update,
means over whole batches after the first five updates (warm-up):

* *forward*: the network's forward (hooks on the network; the loss is in *other*);
* *backward*: ``on_before_backward`` to ``on_after_backward`` (raw: ``loss.backward()``);
* *optimizer*: ``on_before_optimizer_step`` to the end of Adam's update (a torch step hook);
* *step*: the measured span (from one batch's end to the last one's) over its updates;
* *other*: step less the three, which holds the loss and fetching the batch on both paths,
  and, in the suite only, every Lightning hook dispatch and the loop's bookkeeping (once per
  batch, so spread over its updates), the per-step reseed and the suite's callbacks.

The suite's *other* less the raw loop's is the per-update cost Lightning and the suite add.
The marks listen to the update hooks, so traced suite runs take Lightning's dispatched path;
a run as a user gets it skips that dispatch (``project.training.bare_updates``), and
``scripts/bench_bare_updates.py`` measures the difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch

from project.benchmarks.doc_sections import write_section
from project.benchmarks.environment import header, loadavg
from project.benchmarks.workloads import TASKS as BENCH_TASKS
from project.benchmarks.workloads import measured_run_config, raw_setup, step_batches
from project.training.cpu_allocator import keep_freed_memory
from project.training.loss import task_loss
from project.training.run import train

TASKS = {task: overrides for task, (overrides, _) in BENCH_TASKS.items()}  # scripts/bench.py's
PARTS = ("forward", "backward", "optimizer", "other", "step")
WARMUP = 5  # updates: the first ones allocate Adam's state and warm the allocator
clock = time.thread_time


def split(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Mean ms per update of each part. ``marks`` are (name, time) pairs: per update fwd0,
    fwd1, bw0, bw1, opt0, opt1 (its end); ``end`` at each batch's end. The span measured runs
    from the first batch end after ``WARMUP`` updates to the last batch end."""
    updates, current, ends = [], {}, []
    for name, t in marks:
        if name == "end":
            ends.append((t, len(updates)))
            continue
        current[name] = t
        if name == "opt1":
            updates.append(current)
            current = {}
    t0, n0 = next((t, n) for t, n in ends if n >= WARMUP)
    t1, n1 = ends[-1]
    inside = updates[n0:n1]

    def mean(start: str, stop: str) -> float:
        return statistics.fmean(u[stop] - u[start] for u in inside) * 1000

    parts = {"forward": mean("fwd0", "fwd1"), "backward": mean("bw0", "bw1"),
             "optimizer": mean("opt0", "opt1"), "step": (t1 - t0) / (n1 - n0) * 1000}
    parts["other"] = (parts["step"] - parts["forward"] - parts["backward"]
                      - parts["optimizer"])
    return parts


def marked_optimizer(opt: torch.optim.Optimizer, marks: list) -> None:
    opt.register_step_post_hook(lambda *_: marks.append(("opt1", clock())))


def marked_network(net: torch.nn.Module, marks: list) -> None:
    net.register_forward_pre_hook(lambda *_: marks.append(("fwd0", clock())))
    net.register_forward_hook(lambda *_: marks.append(("fwd1", clock())))


class StepMarks(L.Callback):
    """Marks the suite's step at Lightning's hooks (callbacks run before the module's)."""

    def __init__(self, marks: list):
        self.marks = marks

    def on_fit_start(self, trainer, pl_module):
        marked_network(pl_module.network, self.marks)
        for opt in trainer.optimizers:
            marked_optimizer(opt, self.marks)

    def on_before_backward(self, trainer, pl_module, loss):
        self.marks.append(("bw0", clock()))

    def on_after_backward(self, trainer, pl_module):
        self.marks.append(("bw1", clock()))

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.marks.append(("opt0", clock()))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.marks.append(("end", clock()))


def suite_parts(overrides: list[str], model: str, steps: int,
                per_batch: int) -> dict[str, float]:
    """One ``project.train.train`` run, ``per_batch`` updates per Lightning batch, with the
    marks added to its Trainer's callbacks."""
    marks: list = []
    with tempfile.TemporaryDirectory() as d:
        train(measured_run_config([*overrides, f"model={model}",
                                   f"trainer.updates_per_batch={per_batch}",
                                   "trainer.enable_progress_bar=false"], steps, d),
              callbacks=[StepMarks(marks)])
    return split(marks)


def raw_parts(overrides: list[str], model: str, steps: int) -> dict[str, float]:
    """The hand-written loop of ``scripts/bench.py``, marked at the same points."""
    dm, net, opt, loss_fn, classify = raw_setup(overrides, model)
    marks = []
    marked_network(net, marks)
    marked_optimizer(opt, marks)
    batches = step_batches(dm)
    marks.append(("end", clock()))
    for _ in range(steps):
        batch = next(batches)
        out = net(batch["x"], batch.get("mask"))
        y = batch["y"]
        loss = task_loss(loss_fn, out, y)
        opt.zero_grad(set_to_none=True)
        marks.append(("bw0", clock()))
        loss.backward()
        marks.append(("bw1", clock()))
        marks.append(("opt0", clock()))
        opt.step()
        marks.append(("end", clock()))
    return split(marks)


def path_name(per_batch: int) -> str:
    return f"suite, {per_batch} per batch"


def rounded(x: float, places: int = 2) -> float:
    """``x`` rounded, with a mean difference of about zero as 0 (printed 0.00, not -0.00)."""
    return round(x, places) + 0.0


def render(result: dict) -> str:
    lines = [f"Written by `python scripts/bench_step_trace.py {result['args']}` (do not edit by "
             "hand: rerun it).", "",
             f"machine: {result['machine']}; {result['date']}; thread CPU clock, ms per "
             f"optimizer update, means over {result['steps']} updates less warm-up, "
             f"{result['repeats']} repeats (median); load average at the start "
             f"{result['load'][0]}, at the end {result['load'][1]}", "",
             "| task | model | path | forward | backward | optimizer | other | step | "
             "added by the suite | suite/raw |", "|---|---|---|" + "---:|" * 7]
    added: dict[int, list[float]] = {k: [] for k in result["per_batch"]}
    for task, models in result["tasks"].items():
        for model, paths in models.items():
            raw = paths["raw"]
            lines.append(f"| {task} | {model} | raw | "
                         + " | ".join(f"{raw[k]:.2f}" for k in PARTS) + " |  |  |")
            for k in result["per_batch"]:
                suite = paths[path_name(k)]
                cost = suite["other"] - raw["other"]
                added[k].append(cost)
                lines.append(f"| {task} | {model} | {path_name(k)} | "
                             + " | ".join(f"{suite[p]:.2f}" for p in PARTS)
                             + f" | {rounded(cost):.2f} ms ({rounded(cost / suite['step']):.0%}) | "
                             f"{raw['step'] / suite['step']:.3f} |")
    lines += ["", "Columns in ms per optimizer update (see the script's docstring): *other* is "
              "the step less forward, backward and optimizer; *added by the suite* is the "
              "suite's *other* less the raw loop's, and its share of the suite's step; "
              "*N per batch* is `trainer.updates_per_batch=N` (Lightning's per-batch cost is "
              "paid once per N updates). *suite/raw* here divides steps of runs made one after "
              "the other, so it also carries how fast the same network, backward and Adam ran "
              "in each run (compare the forward, backward and optimizer columns, identical work "
              "on both paths); the suite's own cost is the *added* column, and the "
              "wall-clock suite/raw is the interleaved table at the top of this file.", ""]
    for k, costs in added.items():
        lines.append(f"With {k} update{'s' if k > 1 else ''} per batch the suite adds "
                     f"{rounded(min(costs)):.2f} to {rounded(max(costs)):.2f} ms to every update "
                     "whatever its size: "
                     f"suite/raw >= 0.95 needs a hand-written step of at least "
                     f"{19 * max(costs):.0f} ms (19 x the added cost).")
    return "\n".join(lines)


def write_doc(path: Path, body: str) -> None:
    """Replace this script's section of ``path`` (append it when absent)."""
    write_section(path, "step-trace", "Where a suite step goes, hook by hook", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sst2,adding")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-batch", default="1,25",
                        help="trainer.updates_per_batch values to run the suite with")
    parser.add_argument("--doc", type=Path, default=None, help="replace this file's section")
    args = parser.parse_args()
    unknown = set(args.tasks.split(",")) - set(TASKS)
    if unknown:
        parser.error(f"--tasks: unknown {sorted(unknown)}; choose from {sorted(TASKS)}")
    keep_freed_memory()  # as the suite does by default, for both paths
    per_batch = [int(k) for k in args.per_batch.split(",")]
    if any(args.steps % k for k in per_batch):
        parser.error(f"--steps {args.steps} must be a multiple of every --per-batch value")
    result = {"args": " ".join(sys.argv[1:]), "steps": args.steps, "repeats": args.repeats,
              "per_batch": per_batch, **header(), "load": [loadavg()], "tasks": {}}
    for task in args.tasks.split(","):
        result["tasks"][task] = {}
        for model in ("attention", "baseline"):
            runs = {"raw": [], **{path_name(k): [] for k in per_batch}}
            for _ in range(args.repeats):  # interleaved, so a change of load hits all
                runs["raw"].append(raw_parts(TASKS[task], model, args.steps))
                for k in per_batch:
                    runs[path_name(k)].append(suite_parts(TASKS[task], model, args.steps, k))
            result["tasks"][task][model] = {
                path: {p: statistics.median(r[p] for r in rs) for p in PARTS}
                for path, rs in runs.items()}
    result["load"].append(loadavg())
    text = render(result)
    print(text)
    if args.doc:
        write_doc(args.doc, text)

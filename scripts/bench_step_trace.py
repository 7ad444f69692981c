"""Where a suite training step goes, hook by hook, beside a hand-written loop, in one run.

    python scripts/bench_step_trace.py [--tasks sst2,adding] [--doc docs/benchmarks.md]

Both paths run the same network, DataModule batches and Adam on one thread, timed by the
thread's CPU clock (``time.thread_time``: other processes on the machine slow it through
shared caches, but their running time is not counted, unlike the wall clock of
``scripts/bench.py``). Per step, medians over the measured steps:

* *forward*: the network's forward (hooks on the network; the loss is in *other*);
* *backward*: Lightning's ``on_before_backward`` to ``on_after_backward``;
* *optimizer*: ``on_before_optimizer_step`` to the end of Adam's update (a torch step hook);
* *step*: one ``on_train_batch_end`` to the next (suite), one loop iteration (raw);
* *other*: step less the three, which holds the loss and fetching the batch on both paths,
  and, in the suite only, every Lightning hook dispatch, the closure and the loop's
  bookkeeping, the per-step reseed and the suite's callbacks.

The suite's *other* less the raw loop's is the per-step cost Lightning and the suite add.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import lightning as L  # noqa: E402
import torch  # noqa: E402
from bench import raw_setup  # noqa: E402
from doc_sections import write_section  # noqa: E402

from project.training.compose import compose_train  # noqa: E402
from project.training.cpu_allocator import keep_freed_memory  # noqa: E402
from project.training.run import train  # noqa: E402

TASKS = {"sst2": ["task=sst2"], "adding": ["task=adding", "task.seq_len=500"]}
PARTS = ("forward", "backward", "optimizer", "other", "step")
clock = time.thread_time


def split(marks: list[tuple[str, float]]) -> dict[str, float]:
    """Median ms per step of each part, from the marks of consecutive steps."""
    steps, current = [], {}
    for name, t in marks:
        current[name] = t
        if name == "end":
            steps.append(current)
            current = {"start": t}
    parts = {p: [] for p in PARTS}
    for s in steps[5:]:  # the first steps allocate Adam's state and warm the allocator
        if not {"start", "fwd0", "fwd1", "bw0", "bw1", "opt0", "opt1"} <= s.keys():
            continue
        parts["forward"].append(s["fwd1"] - s["fwd0"])
        parts["backward"].append(s["bw1"] - s["bw0"])
        parts["optimizer"].append(s["opt1"] - s["opt0"])
        parts["step"].append(s["end"] - s["start"])
        parts["other"].append(parts["step"][-1] - parts["forward"][-1] - parts["backward"][-1]
                              - parts["optimizer"][-1])
    return {p: statistics.median(v) * 1000 for p, v in parts.items()}


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


def suite_parts(overrides: list[str], model: str, steps: int) -> dict[str, float]:
    """One ``project.train.train`` run with the marks added to its Trainer's callbacks."""
    marks, init = [], L.Trainer.__init__

    def with_marks(self, *args, **kwargs):
        init(self, *args, **{**kwargs, "callbacks": [*kwargs.get("callbacks", []),
                                                     StepMarks(marks)]})

    L.Trainer.__init__ = with_marks
    try:
        with tempfile.TemporaryDirectory() as d:
            train(compose_train([*overrides, f"model={model}", f"task.budget.max_steps={steps}",
                                 f"task.budget.val_every_n_steps={steps}",
                                 "task.stop_at_target=false", "trainer.num_threads=1",
                                 "trainer.enable_progress_bar=false"], d))
    finally:
        L.Trainer.__init__ = init
    return split(marks)


def raw_parts(overrides: list[str], model: str, steps: int) -> dict[str, float]:
    """The hand-written loop of ``scripts/bench.py``, marked at the same points."""
    dm, net, opt, loss_fn, classify = raw_setup(overrides, model)
    marks = []
    marked_network(net, marks)
    marked_optimizer(opt, marks)
    batches = iter(dm.train_dataloader())
    marks.append(("end", clock()))
    for _ in range(steps):
        batch = next(batches)
        out = net(batch["x"], batch.get("mask"))
        y = batch["y"]
        loss = loss_fn(out, y if classify else y.reshape(out.shape))
        opt.zero_grad(set_to_none=True)
        marks.append(("bw0", clock()))
        loss.backward()
        marks.append(("bw1", clock()))
        marks.append(("opt0", clock()))
        opt.step()
        marks.append(("end", clock()))
    return split(marks)


def render(result: dict) -> str:
    lines = [f"Written by `python scripts/bench_step_trace.py {result['args']}` (do not edit by "
             "hand: rerun it).", "",
             f"machine: {result['machine']}; {result['date']}; thread CPU clock, medians over "
             f"{result['steps']} steps, {result['repeats']} repeats (median); load average "
             f"at the start {result['load'][0]}, at the end {result['load'][1]}", "",
             "| task | model | path | forward | backward | optimizer | other | step | "
             "added by the suite | suite/raw |", "|---|---|---|" + "---:|" * 7]
    for task, models in result["tasks"].items():
        for model, paths in models.items():
            raw, suite = paths["raw"], paths["suite"]
            for name, p in (("raw", raw), ("suite", suite)):
                added = (f"{suite['other'] - raw['other']:.2f} ms "
                         f"({(suite['other'] - raw['other']) / suite['step']:.0%})"
                         if name == "suite" else "")
                ratio = f"{raw['step'] / suite['step']:.3f}" if name == "suite" else ""
                lines.append(f"| {task} | {model} | {name} | " + " | ".join(
                    f"{p[k]:.2f}" for k in PARTS) + f" | {added} | {ratio} |")
    added = [paths["suite"]["other"] - paths["raw"]["other"]
             for models in result["tasks"].values() for paths in models.values()]
    lines += ["", "Columns in ms per step (see the script's docstring): *other* is the step "
              "less forward, backward and optimizer; *added by the suite* is the suite's "
              "*other* less the raw loop's, and its share of the suite's step.", "",
              f"The suite adds {min(added):.2f}-{max(added):.2f} ms to every step whatever the "
              "step's size: a fixed cost of Lightning's per-batch loop (the dispatch of its "
              "hooks and its progress bookkeeping around every step) and the suite's per-step "
              "reseed and callbacks. At that cost suite/raw >= 0.95 needs a "
              f"hand-written step of at least {19 * max(added):.0f} ms (19 x the added cost); "
              "shorter steps stay below it on this path, and the vectorised-seeds path "
              "(above) is the answer for them."]
    return "\n".join(lines)


def write_doc(path: Path, body: str) -> None:
    """Replace this script's section of ``path`` (append it when absent)."""
    write_section(path, "step-trace", "Where a suite step goes, hook by hook", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="sst2,adding")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--doc", type=Path, default=None, help="replace this file's section")
    args = parser.parse_args()
    unknown = set(args.tasks.split(",")) - set(TASKS)
    if unknown:
        parser.error(f"--tasks: unknown {sorted(unknown)}; choose from {sorted(TASKS)}")
    keep_freed_memory()  # as the suite does by default, for both paths
    result = {"args": " ".join(sys.argv[1:]), "steps": args.steps, "repeats": args.repeats,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch "
                         f"{torch.__version__}",
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "load": [", ".join(f"{x:.1f}" for x in os.getloadavg())], "tasks": {}}
    for task in args.tasks.split(","):
        result["tasks"][task] = {}
        for model in ("attention", "baseline"):
            runs = {"raw": [], "suite": []}
            for _ in range(args.repeats):  # interleaved, so a change of load hits both
                runs["raw"].append(raw_parts(TASKS[task], model, args.steps))
                runs["suite"].append(suite_parts(TASKS[task], model, args.steps))
            result["tasks"][task][model] = {
                path: {p: statistics.median(r[p] for r in rs) for p in PARTS}
                for path, rs in runs.items()}
    result["load"].append(", ".join(f"{x:.1f}" for x in os.getloadavg()))
    text = render(result)
    print(text)
    if args.doc:
        write_doc(args.doc, text)


if __name__ == "__main__":
    main()

"""Benchmarks, side by side in one run: ``python scripts/bench.py [--out docs/bench.json]``.

(a) a hand-written PyTorch loop vs the suite's Trainer path (same model, data, optimizer)
    on the adding problem (T=500), SST-2, USPS, digits, ItalyPowerDemand and GunPoint:
    steps/s of each and suite/raw, the two interleaved batch by batch in one run
    (``InterleavedRawLoop``), with a 95% bootstrap interval over those batches;
(b) attention vs baseline time per training step (suite path);
(c) the data pipeline's share of a training step (fetching batches alone / suite step time);
(d) sweep throughput (runs per minute) with 1 and 2 one-process-per-run workers;
(e) peak memory (max RSS of a separate ``project.train`` process per task and model);
(f) glibc's defaults vs ``trainer.keep_freed_memory`` (the default): the raw loop on the
    adding problem in two fresh processes, steps/s and minor page faults per step;
(g) evidence throughput on one fixed spec (digits, ItalyPowerDemand and GunPoint x
    {attention, baseline} x 16 seeds, 2 workers): wall time and runs/min for one process
    per run, persistent workers, and vectorised seeds (K=16), in one run; the share of a
    run spent before its first training step in each mode; the vectorised per-member step.
Where a suite step's time goes is ``scripts/bench_step_trace.py``.
Each (a) row pools ``--repeats`` interleaved runs; other figures are medians of ``--repeats``.
Ratios are the claim; absolute times depend on the machine and its load (recorded at start and end).
Targets: suite/raw >= 0.95, attention/baseline <= 1.15, data share < 5%; workers >= 2x and
vectorised seeds >= 6x the runs/min of one process per run.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch

from project.runs import folder as run_folder
from project.benchmarks.doc_sections import marked_sections
from project.benchmarks.environment import ROOT, header, loadavg
from project.benchmarks.workloads import (TASKS, THROUGHPUT_TASKS, measured_run_config,
                                          raw_setup, step_batches)
from project.runs.compose import compose_train
from project.training.cpu_allocator import keep_freed_memory
from project.training.loss import task_loss
from project.training.run import train, train_vectorized

SCRIPT = ROOT / "scripts" / "bench.py"  # its command: the probes run in fresh processes
THROUGHPUT_MODES = ("processes", "workers", "vectorised", "default")
# Measured in this order: K = 16 and the default make the same groups of the 16 seeds, so,
# measured first and last, their gap is the machine's drift across the slow modes between.
MEASURE_ORDER = ("vectorised", "processes", "workers", "default")
THROUGHPUT_TARGETS = {"workers": 2.0, "vectorised": 6.0, "default": 10.0}  # x processes


def mode_options(mode: str, k: int = 16) -> list[str]:
    """The ``project.sweep`` options of a throughput mode (``k``: seeds per vectorised group;
    ``default``: none, so the sweep groups seeds itself)."""
    return {"processes": ["--backend", "processes"],
            "workers": ["--backend", "workers", "--vectorize-seeds", "1"],
            "vectorised": ["--backend", "workers", "--vectorize-seeds", str(k)],
            "default": []}[mode]


def raw_update_fn(overrides: list[str], model: str):
    """One update of the hand-written loop, as a function of nothing, and its DataModule."""
    dm, net, opt, loss_fn, classify = raw_setup(overrides, model)
    batches = step_batches(dm)

    def update():
        batch = next(batches)
        out = net(batch["x"], batch.get("mask"))
        y = batch["y"]
        loss = task_loss(loss_fn, out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return update, dm


def raw_steps_per_s(overrides: list[str], model: str, steps: int) -> float:
    """The hand-written loop alone, in this process: steps/s over ``steps`` updates after 3."""
    update, _ = raw_update_fn(overrides, model)
    for _ in range(3):
        update()
    start = time.perf_counter()
    for _ in range(steps):
        update()
    return steps / (time.perf_counter() - start)


class InterleavedRawLoop(L.Callback):
    """Runs the hand-written loop between the suite's batches, so that both paths share every
    moment of the machine's load (on a shared 2-core VM the same step's wall time moves from one
    second to the next by more than the suite's cost).

    After each suite batch of n optimizer updates, ``raw_update`` runs n times. A *cycle* of
    the suite runs from the end of one raw block to the start of the next: the rest of that
    batch's hooks, the loop's bookkeeping, fetching the next batch, its hooks and its n updates,
    everything the suite does per batch. ``cycles`` holds ``(suite seconds, raw seconds,
    updates)`` per cycle; the first batch and raw block (warm-up) and the cycle after an
    evaluation or a checkpoint save are left out."""

    def __init__(self, raw_update, clock=time.perf_counter):
        self.raw_update, self.clock = raw_update, clock
        self.cycles: list[tuple[float, float, int]] = []
        self._resumed: float | None = None  # when the suite's path resumed after a raw block
        self._step = 0  # the suite's optimizer updates at the last batch end

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = self.clock()
        n, self._step = trainer.global_step - self._step, trainer.global_step
        with torch.enable_grad():
            for _ in range(n):
                self.raw_update()
        end = self.clock()
        if self._resumed is not None:
            self.cycles.append((now - self._resumed, end - now, n))
        self._resumed = end

    def on_validation_start(self, trainer, pl_module) -> None:
        self._resumed = None

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self._resumed = None


def suite_over_raw(cycles: list[tuple[float, float, int]]) -> dict:
    """Steps/s of each path over ``cycles`` and suite/raw (raw time / suite time over the same
    updates), with a 95% bootstrap interval over cycles (paired: a cycle's two blocks ran
    back to back)."""
    from scipy.stats import bootstrap

    suite_s, raw_s, n = (np.array(c, dtype=float) for c in zip(*cycles))
    ratio = raw_s.sum() / suite_s.sum()
    ci = bootstrap((suite_s, raw_s), lambda s, r, axis=-1: r.sum(axis) / s.sum(axis),
                   paired=True, vectorized=True, n_resamples=2000, method="percentile",
                   random_state=0).confidence_interval
    return {"raw_steps_per_s": n.sum() / raw_s.sum(), "suite_steps_per_s": n.sum() / suite_s.sum(),
            "suite_over_raw": ratio, "ci95": [float(ci.low), float(ci.high)],
            "cycles": len(cycles)}


def interleaved_cycles(overrides: list[str], model: str, steps: int) -> tuple[list, float]:
    """One suite run of ``steps`` updates with the raw loop interleaved
    (``InterleavedRawLoop``): its cycles, and the time to fetch one batch alone (for the data
    share)."""
    update, dm = raw_update_fn(overrides, model)
    loop = InterleavedRawLoop(update)
    with tempfile.TemporaryDirectory() as d:
        cfg = measured_run_config([*overrides, f"model={model}"], steps, d)
        train(cfg, callbacks=[loop])
    fetch = step_batches(dm)
    start = time.perf_counter()
    for _ in range(steps):
        next(fetch)
    return loop.cycles, (time.perf_counter() - start) / steps


def peak_memory_mb(overrides: list[str], model: str) -> float:
    """Peak RSS of a fresh ``project.train`` process on the task (a short run)."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "project.train", *overrides, f"model={model}",
               "task.budget.max_steps=20", "task.budget.val_every_n_steps=20",
               "trainer.enable_progress_bar=false", "trainer.num_threads=1", f"run_dir={d}"]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        return run_folder.read_summary(d)["peak_mem_mb"]


def sweep_runs_per_min(workers: int) -> float:
    """Throughput of the local sweep runner on 8 short adding runs."""
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "project.sweep", "conf/sweep/quick.yaml",
               "--workers", str(workers), "--backend", "processes", "--out", d,
               "--set", "task=adding",
               "--set", "seed=0,1,2,3", "--set", "task.budget.max_steps=200"]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
        runs = len(run_folder.find_run_dirs(d))
    return runs / (elapsed / 60)


def allocator_probe(repeats: int) -> dict:
    """In this process: the raw adding loop ``repeats`` times; median steps/s, faults/step."""
    overrides, steps = TASKS["adding"]
    rates, faults = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        rates.append(raw_steps_per_s(overrides, "attention", steps))
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps)
    return {"steps_per_s": statistics.median(rates), "minor_faults_per_step": statistics.median(faults)}


def allocator_effect(repeats: int) -> dict:
    """``allocator_probe`` in two fresh processes: glibc's defaults, then keep_freed_memory."""
    out = {}
    for name, flag in (("glibc_defaults", "0"), ("keep_freed_memory", "1")):
        cmd = [sys.executable, str(SCRIPT), "--allocator-probe", flag, "--repeats", str(repeats)]
        done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        out[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# -- (g) evidence throughput ------------------------------------------------------------------
def throughput_spec(seeds: int, path: Path, tasks=THROUGHPUT_TASKS,
                    fixed: dict | None = None) -> Path:
    """The fixed spec: ``tasks`` x {attention, baseline} x ``seeds`` seeds, each task with its
    own config's budget; ``fixed``: further parameters (e.g. ``{"trainer": "gpu"}``)."""
    import yaml

    spec = {"name": "bench_throughput", "program": "project/train.py", "method": "grid",
            "metric": {"name": "steps_to_target", "goal": "minimize"},
            "command": ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"],
            "parameters": {"task": {"values": list(tasks)},
                           "model": {"values": ["attention", "baseline"]},
                           "seed": {"values": list(range(seeds))},
                           **{k: {"value": v} for k, v in (fixed or {}).items()}}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def sweep_throughput(mode: str, seeds: int, workers: int, tasks=THROUGHPUT_TASKS, k: int = 16,
                     fixed: dict | None = None) -> dict:
    """One ``project.sweep`` of the fixed spec in ``mode``: wall time, runs/min, and the
    runs' summed training clocks (a vectorised group's clock counted once), the largest group."""
    with tempfile.TemporaryDirectory() as d:
        spec = throughput_spec(seeds, Path(d) / "spec.yaml", tasks, fixed)
        cmd = [sys.executable, "-m", "project.sweep", str(spec), "--workers", str(workers),
               "--out", f"{d}/runs", *mode_options(mode, k)]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{mode} sweep failed: {done.stdout[-2000:]}")
        summaries = [run_folder.read_summary(p) for p in run_folder.find_run_dirs(f"{d}/runs")]
    for s in summaries:
        s.setdefault("clock_shared_by", 1)  # a group's members share one clock and step
    clocks = {(s["task"], s["model"], round(s["train_time_s"], 6)) if s["clock_shared_by"] > 1
              else (s["task"], s["model"], s["seed"]): s["train_time_s"] for s in summaries}
    step_ms = {task: statistics.median(s["step_time_ms"] / s["clock_shared_by"]
                                       for s in summaries if s["task"] == task)
               for task in tasks}
    return {"runs": len(summaries), "wall_s": wall, "runs_per_min": len(summaries) / wall * 60,
            "train_clock_s": sum(clocks.values()), "step_ms_per_run": step_ms,
            "largest_group": max(s["clock_shared_by"] for s in summaries)}


def first_step_probe(mode: str, task: str, started: float) -> dict:
    """In this process: one run of ``task`` (attention) in ``mode`` (``process``: this process
    was started for it at ``started``; ``worker``: a second run after a first, as in a
    worker; ``vectorised``: a group of 16). Returns seconds to the first training step and
    in all, from ``started`` (or from the call, in a worker or group)."""
    import lightning as L

    class First(L.Callback):
        at = None

        def on_train_batch_start(self, *args):
            self.at = self.at or time.time()

    base = [f"task={task}", "model=attention", "trainer.num_threads=1",
            "trainer.enable_progress_bar=false"]
    with tempfile.TemporaryDirectory() as d:
        if mode == "worker":  # a worker has trained something before (imports, caches)
            warm = compose_train([*base, "seed=99"], f"{d}/warm")
            warm.task.budget.max_steps = warm.task.budget.val_every_n_steps
            train(warm)
        if mode in ("process", "worker"):
            start = started if mode == "process" else time.time()
            cb = First()
            train(compose_train([*base, "seed=0"], f"{d}/run"), callbacks=[cb])
            first = cb.at
        else:
            start, first = time.time(), None

            def hook(point, group):
                nonlocal first
                if point == "train" and first is None:  # after step 1: less that step
                    first = time.time() - group.elapsed

            composed = compose_train(base)  # once, as a worker does for a group
            members = []
            for k in range(16):
                cfg = copy.deepcopy(composed)
                cfg.seed, cfg.run_dir = k, f"{d}/v{k}"
                members.append(cfg)
            train_vectorized(members, hook)
    end = time.time()
    return {"before_first_step_s": first - start, "run_s": end - start,
            "share": (first - start) / (end - start)}


def first_step_share(mode: str, task: str) -> dict:
    """``first_step_probe`` in a fresh process (its start time taken here, before launch)."""
    started = time.time()
    cmd = [sys.executable, str(SCRIPT), "--first-step-probe", mode, task, repr(started)]
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


DOC_HEAD = """# Benchmarks

Written by `{command}` (do not edit by hand: rerun it).
Ratios are the claim; absolute steps/s depend on the machine and on its load.
Targets: suite/raw >= 0.95, attention/baseline step time <= 1.15, data share < 5%;
persistent workers >= 2x, vectorised seeds (K=16) >= 6x and the default options (seeds grouped by
the sweep itself) >= 10x the runs/min of one process per run.

"""
DOC_TAIL = """
What each column means: *raw* is a hand-written PyTorch loop (same DataModule batches,
network, Adam); *suite* is `project.train.train` with the default trainer config (25
optimizer updates per Lightning batch, `trainer.updates_per_batch`; progress bar on). The two
run interleaved in one process, one thread: after each of the suite's batches of n updates, a
Lightning callback runs n updates of the raw loop. A *cycle* of the suite runs from the end of
one raw block to the start of the next, so it holds everything the suite does per batch
(forward, backward, optimizer, fetching the batch, every Lightning hook and the loop's
bookkeeping); the first batch and raw block (warm-up) are left out, as is any cycle across an
evaluation or a checkpoint save.
*suite/raw* is the raw blocks' summed time over the suite cycles' summed time, pooled over the
runs; *95% interval* is a paired percentile bootstrap over cycles (scipy). Why interleave: on
this shared 2-core VM the same code's wall time moves from one second to the next (other
tenants) by more than the suite's few percent, so two paths timed one after the other landed
on either side of 0.95 from run to run; side by side, each cycle's two blocks meet the same
load. *data share* is the time to fetch the same number of batches alone, divided by the
suite's step time. *peak MB* is the maximum RSS of a separate short `project.train` process.
Every row runs with `keep_freed_memory` on, as the suite does by default; the allocator table
compares it with glibc's defaults in two fresh processes (see
`project/training/cpu_allocator.py`).

*Where a suite step goes, hook by hook* (`scripts/bench_step_trace.py`), and why a short step
stays under suite/raw 0.95, is the section below; *The suite's step, call by call*
(`scripts/bench_step_segments.py`, SST-2) splits the suite's added time per update at every
call of its training step.

*Evidence throughput* runs one spec (every run to its task config's budget) four ways on 2
workers: `--backend processes` (one `python -m project.train` per run, what `wandb agent`
and SLURM do), `--backend workers --vectorize-seeds 1` (persistent processes, one run at a
time), `--vectorize-seeds 16` (each task x model's 16 seeds as one stacked model in one
worker) and no option at all (*default*: persistent workers, seeds grouped as the sweep
chooses), measured in the order K = 16, processes, workers, default: K = 16 and the default
make the same groups of 16 seeds, so their gap, measured first and last, is the machine's
drift across the measurement. *step ms per run* is a run's training step (a group's step
divided by its members);
*before first step* is the share of a run's wall time spent before its first training step
(imports, config, data, network, the step-0 evaluation): one fresh process per run; a
second run in a process that has trained before; a group of 16 seeds from the call.

On a GPU, the same comparison with K = 64 (target 20x the runs/min of one process per run) is
`python scripts/bench_gpu.py --doc docs/benchmarks_gpu.md`; it writes its own file, and until
that file exists it has not been run (no GPU was lent to the sessions so far).
"""


def throughput_rows(modes: dict, tasks, labels: dict | None = None) -> list[str]:
    """The throughput table (Markdown lines): per mode (``labels`` may rename it) its runs,
    wall time, runs/min, ratio to one process per run, and each task's step per run."""
    base = modes["processes"]["runs_per_min"]
    lines = ["| mode | runs | wall s | runs/min | vs one process per run | "
             + " | ".join(f"{task} step ms per run" for task in tasks) + " |",
             "|---|---:|---:|---:|---:|" + "---:|" * len(tasks)]
    for mode, v in modes.items():
        lines.append(f"| {(labels or {}).get(mode, mode)} | {v['runs']} | {v['wall_s']:.0f} | "
                     f"{v['runs_per_min']:.1f} | {v['runs_per_min'] / base:.2f}x | "
                     + " | ".join(f"{v['step_ms_per_run'][k]:.2f}" for k in tasks) + " |")
    return lines


def drift_line(throughput: dict) -> list[str]:
    """The gap between K = 16 and the default (the same groups) when they were measured first
    and last (``MEASURE_ORDER``) and made groups of one size: the machine's drift."""
    modes, order = throughput["modes"], throughput.get("order", [])
    if order[:1] != ["vectorised"] or order[-1:] != ["default"] or len(
            {modes[m]["largest_group"] for m in ("vectorised", "default")}) != 1:
        return []
    first, last = (modes[m]["runs_per_min"] for m in ("vectorised", "default"))
    return [f"\nvectorised (measured first) and default (measured last) make the same groups: "
            f"default / vectorised {last / first:.2f}, this machine's drift across the "
            "measurement; read each ratio to one process per run within it"]


def render(result: dict, repeats: int) -> str:
    """The benchmark tables as Markdown."""
    load = result.get("load", {})
    lines = [f"machine: {result['machine']}; date: {result['date']}; {repeats} interleaved "
             "runs per row" + (f"; load average (1, 5, 15 min) at start {load['start']}, at end "
                               f"{load.get('end')}" if load else ""),
             "", "| task | model | raw steps/s | suite steps/s | suite/raw | 95% interval | "
                 "cycles | data share | peak MB |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|"]
    for task, entry in result["tasks"].items():
        for model in ("attention", "baseline"):
            v = entry[model]
            lo, hi = v["ci95"]
            lines.append(f"| {task} | {model} | {v['raw_steps_per_s']:.1f} | "
                         f"{v['suite_steps_per_s']:.1f} | {v['suite_over_raw']:.3f} | "
                         f"{lo:.3f}-{hi:.3f} | {v['cycles']} | {v['data_share']:.2%} | "
                         f"{v['peak_mem_mb']:.0f} |")
    rows = [(task, m, e[m]) for task, e in result["tasks"].items() for m in ("attention", "baseline")]
    if rows:
        above = [f"{t} {m}" for t, m, v in rows if v["ci95"][0] >= 0.95]
        below = [f"{t} {m} ({1e3 / v['raw_steps_per_s']:.2f} ms)" for t, m, v in rows
                 if v["ci95"][1] < 0.95]
        open_ = [f"{t} {m}" for t, m, v in rows if v["ci95"][0] < 0.95 <= v["ci95"][1]]
        lines += ["", f"suite/raw >= 0.95 in {sum(v['suite_over_raw'] >= 0.95 for _, _, v in rows)}"
                      f" of {len(rows)} rows; its 95% interval lies above 0.95 in {len(above)}, "
                      f"below it in {len(below)}, and holds 0.95 in {len(open_)}"
                      + (f" ({', '.join(open_)})" if open_ else "") + "."]
        if below:
            lines[-1] += (f" Below (hand-written step): {', '.join(below)}. The step trace "
                          "below measures the suite's cost per update and the hand-written step "
                          "under which that cost alone keeps suite/raw under 0.95; runs of such "
                          "short steps are the vectorised path's (Evidence throughput).")
    lines += ["", "| task | attention/baseline step time |", "|---|---:|"]
    for task, entry in result["tasks"].items():
        lines.append(f"| {task} | {entry['attention_over_baseline_step_time']:.3f} |")
    if "allocator" in result:
        a, b = result["allocator"]["glibc_defaults"], result["allocator"]["keep_freed_memory"]
        lines += ["", "| adding T=500, attention, raw loop | steps/s | minor page faults per step |",
                  "|---|---:|---:|",
                  f"| glibc defaults | {a['steps_per_s']:.1f} | {a['minor_faults_per_step']:.0f} |",
                  f"| keep_freed_memory (suite default) | {b['steps_per_s']:.1f} | "
                  f"{b['minor_faults_per_step']:.0f} |",
                  "", f"keep_freed_memory / glibc defaults: "
                      f"{b['steps_per_s'] / a['steps_per_s']:.2f}x steps/s"]
    if "sweep_runs_per_min" in result:
        s = result["sweep_runs_per_min"]
        lines += ["", f"sweep throughput, one process per run (8 short adding runs): "
                      f"{s['1']:.1f} runs/min with 1 worker, {s['2']:.1f} with 2 workers "
                      f"({s['2'] / s['1']:.2f}x)"]
    if "throughput" in result:
        t = result["throughput"]
        base = t["modes"]["processes"]["runs_per_min"]
        lines += ["", f"### Evidence throughput ({t['spec']}, {t['workers']} workers)", "",
                  *throughput_rows(t["modes"], THROUGHPUT_TASKS)]
        for mode, target in THROUGHPUT_TARGETS.items():
            if mode not in t["modes"]:  # a result written before the mode existed
                continue
            ratio = t["modes"][mode]["runs_per_min"] / base
            lines.append(f"\n{mode}: {ratio:.2f}x the runs/min of one process per run "
                         f"(target {target:g}x: {'met' if ratio >= target else 'missed'})")
        lines += drift_line(t)
        if "first_step" in t:
            lines += ["", "| share of a run before its first step | "
                      + " | ".join(THROUGHPUT_TASKS) + " |",
                      "|---|" + "---:|" * len(THROUGHPUT_TASKS)]
            for mode, per_task in t["first_step"].items():
                lines.append(f"| {mode} | " + " | ".join(
                    f"{v['share']:.0%} ({v['before_first_step_s']:.1f} of {v['run_s']:.1f} s)"
                    for v in per_task.values()) + " |")
    return "\n".join(lines) + "\n"


def write_doc(path: Path, text: str) -> None:
    """Write ``text``, keeping the marked sections other scripts own (``doc_sections``:
    bench_long_sequence.py, bench_step_trace.py, bench_step_segments.py) as they are, after it."""
    old = path.read_text() if path.exists() else ""
    path.write_text(text + "".join("\n" + k for k in marked_sections(old)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--out", default="docs/bench.json")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true", help="skip (g)")
    parser.add_argument("--seeds", type=int, default=16, help="(g): seeds per task and model")
    parser.add_argument("--doc", default=None, help="also write this Markdown file")
    parser.add_argument("--allocator-probe", choices=["0", "1"], help=argparse.SUPPRESS)
    parser.add_argument("--first-step-probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.allocator_probe is not None:  # a child of allocator_effect
        if args.allocator_probe == "1":
            keep_freed_memory()
        print(json.dumps(allocator_probe(args.repeats)))
        return
    if args.first_step_probe is not None:  # a child of first_step_share
        mode, task, started = args.first_step_probe
        print(json.dumps(first_step_probe(mode, task, float(started))))
        return
    keep_freed_memory()  # raw and suite in the same allocator state, the suite's default

    result = {**header(), "load": {"start": loadavg()}, "tasks": {}}
    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        overrides, steps = TASKS[task]
        per_model = {}
        for model in ("attention", "baseline"):
            cycles, fetch = [], []
            for _ in range(args.repeats):
                c, f = interleaved_cycles(overrides, model, steps)
                cycles += c
                fetch.append(f)
            ratio = suite_over_raw(cycles)
            per_model[model] = {
                **ratio, "data_share": statistics.median(fetch) * ratio["suite_steps_per_s"],
                "peak_mem_mb": peak_memory_mb(overrides, model),
            }
        att, base = per_model["attention"], per_model["baseline"]
        entry = {**{f"{m}": v for m, v in per_model.items()},
                 "attention_over_baseline_step_time":
                     base["suite_steps_per_s"] / att["suite_steps_per_s"]}
        result["tasks"][task] = entry
    if "adding" in tasks:
        result["allocator"] = allocator_effect(args.repeats)
    if not args.skip_sweep:
        result["sweep_runs_per_min"] = {str(w): sweep_runs_per_min(w) for w in (1, 2)}
    if not args.skip_throughput:
        measured = {mode: sweep_throughput(mode, args.seeds, 2) for mode in MEASURE_ORDER}
        modes = {mode: measured[mode] for mode in THROUGHPUT_MODES}
        first = {mode: {task: first_step_share(mode, task) for task in THROUGHPUT_TASKS}
                 for mode in ("process", "worker", "vectorised")}
        result["throughput"] = {
            "spec": f"{', '.join(THROUGHPUT_TASKS)} x {{attention, baseline}} x {args.seeds} "
                    "seeds, config budgets", "workers": 2, "modes": modes,
            "order": list(MEASURE_ORDER), "first_step": first}
    result["load"]["end"] = loadavg()

    table = render(result, args.repeats)
    print(table)
    if args.doc:
        write_doc(Path(args.doc), DOC_HEAD.format(command=" ".join(["python", *sys.argv]))
                  + table + DOC_TAIL)
        print(f"wrote {args.doc}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")

"""Benchmarks, side by side in one run: ``python scripts/bench.py [--out docs/bench.json]``.

(a) a hand-written PyTorch loop vs the suite's Trainer path (same model, data, optimizer)
    on the adding problem (T=500), SST-2, USPS, digits, ItalyPowerDemand and GunPoint:
    steps/s of each and suite/raw;
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
Raw and suite runs alternate, ``--repeats`` times each; medians are reported. Ratios are the
claim; absolute times depend on the machine and its load (recorded at start and end).
Targets: suite/raw >= 0.95, attention/baseline <= 1.15, data share < 5%; workers >= 2x and
vectorised seeds >= 6x the runs/min of one process per run.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402

from project import run_folder  # noqa: E402
from project.models.build import build_network  # noqa: E402
from project.training.compose import compose_train  # noqa: E402
from project.training.cpu_allocator import keep_freed_memory  # noqa: E402
from project.training.run import train  # noqa: E402

# task -> (extra overrides, measured steps)
TASKS = {  # about 3 s of hand-written steps each on an idle 2-core CPU (2026-12-02)
    "adding": (["task=adding", "task.seq_len=500"], 250),
    "sst2": (["task=sst2"], 500),
    # 8x8 patches, not the task's default CNN: the lightest step, where per-step overhead shows most
    "usps": (["task=usps", "task.net.features=patches"], 1500),
    "digits": (["task=digits"], 2500),
    "italypower": (["task=italypower"], 2500),
    "gunpoint": (["task=gunpoint"], 2500),
}
# (g): the fixed spec of the throughput comparison
THROUGHPUT_TASKS = ("digits", "italypower", "gunpoint")
THROUGHPUT_MODES = ("processes", "workers", "vectorised")


def mode_options(mode: str, k: int = 16) -> list[str]:
    """The ``project.sweep`` options of a throughput mode (``k``: seeds per vectorised group)."""
    return {"processes": ["--backend", "processes"], "workers": ["--backend", "workers"],
            "vectorised": ["--backend", "workers", "--vectorize-seeds", str(k)]}[mode]


def suite_steps_per_s(overrides: list[str], model: str, steps: int) -> float:
    """Trainer path: steps/s over the run's training clock."""
    with tempfile.TemporaryDirectory() as d:
        cfg = compose_train([*overrides, f"model={model}", f"task.budget.max_steps={steps}",
                           f"task.budget.val_every_n_steps={steps}", "task.stop_at_target=false",
                           "trainer.num_threads=1"], d)
        summary = train(cfg)
    return steps / summary["train_time_s"]


def raw_setup(overrides: list[str], model: str):
    """The hand-written loop's parts, as the suite builds them on one thread: ``(DataModule,
    network, Adam, loss function, classify)``."""
    cfg = compose_train([*overrides, f"model={model}"], "/tmp/unused")
    torch.set_num_threads(1)
    dm = instantiate(cfg.task.data, seed=cfg.seed)
    dm.setup("fit")
    torch.manual_seed(cfg.seed)
    net = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                        OmegaConf.to_container(cfg.model, resolve=True), dm.spec)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optimizer.lr)
    classify = dm.spec.task_type == "classification"
    loss_fn = torch.nn.CrossEntropyLoss() if classify else torch.nn.MSELoss()
    return dm, net, opt, loss_fn, classify


def step_batches(dm):
    """The DataModule's training batches one step at a time, as a hand-written loop reads them
    (the suite's loader serves the same batches in groups of ``trainer.updates_per_batch``)."""
    batches = dm.train_dataloader().dataset.batches
    return (batches[step] for step in itertools.count())


def raw_steps_per_s(overrides: list[str], model: str, steps: int) -> tuple[float, float]:
    """Hand-written loop over the same DataModule batches and network: steps/s, and the time
    spent fetching batches alone (for the data share)."""
    dm, net, opt, loss_fn, classify = raw_setup(overrides, model)
    batches = step_batches(dm)
    for _ in range(3):  # warm-up, as the suite's step-0 validation warms up its path
        next(batches)
    start = time.perf_counter()
    for _ in range(steps):
        batch = next(batches)
        out = net(batch["x"], batch.get("mask"))
        y = batch["y"]
        loss = loss_fn(out, y if classify else y.reshape(out.shape))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    fetch = step_batches(dm)
    start = time.perf_counter()
    for _ in range(steps):
        next(fetch)
    return steps / elapsed, (time.perf_counter() - start) / steps


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
        rates.append(raw_steps_per_s(overrides, "attention", steps)[0])
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps)
    return {"steps_per_s": statistics.median(rates), "minor_faults_per_step": statistics.median(faults)}


def allocator_effect(repeats: int) -> dict:
    """``allocator_probe`` in two fresh processes: glibc's defaults, then keep_freed_memory."""
    out = {}
    for name, flag in (("glibc_defaults", "0"), ("keep_freed_memory", "1")):
        cmd = [sys.executable, __file__, "--allocator-probe", flag, "--repeats", str(repeats)]
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
    runs' summed training clocks (a vectorised group's clock counted once)."""
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
    clocks = {}
    for s in summaries:  # members of one group share one clock
        key = (s["task"], s["model"], round(s["train_time_s"], 6)) if mode == "vectorised" \
            else (s["task"], s["model"], s["seed"])
        clocks[key] = s["train_time_s"]
    step_ms = {}
    for task in tasks:
        times = [s["step_time_ms"] for s in summaries if s["task"] == task]
        step_ms[task] = statistics.median(times) / (min(k, seeds) if mode == "vectorised"
                                                    else 1)
    return {"runs": len(summaries), "wall_s": wall, "runs_per_min": len(summaries) / wall * 60,
            "train_clock_s": sum(clocks.values()), "step_ms_per_run": step_ms}


def first_step_probe(mode: str, task: str, started: float) -> dict:
    """In this process: one run of ``task`` (attention) in ``mode`` (``process``: this process
    was started for it at ``started``; ``worker``: a second run after a first, as in a
    worker; ``vectorised``: a group of 16). Returns seconds to the first training step and
    in all, from ``started`` (or from the call, in a worker or group)."""
    import lightning as L

    from project.training.vectorized import train_vectorized

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
    cmd = [sys.executable, __file__, "--first-step-probe", mode, task, repr(started)]
    done = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


DOC_HEAD = """# Benchmarks

Written by `{command}` (do not edit by hand: rerun it).
Ratios are the claim; absolute steps/s depend on the machine and on its load.
Targets: suite/raw >= 0.95, attention/baseline step time <= 1.15, data share < 5%;
persistent workers >= 2x and vectorised seeds (K=16) >= 6x the runs/min of one process per run.

"""
DOC_TAIL = """
What each column means: *raw* is a hand-written PyTorch loop (same DataModule batches,
network, Adam); *suite* is `project.train.train` with the default trainer config (25
optimizer updates per Lightning batch, `trainer.updates_per_batch`), timed by the run's own
training clock (forward, backward, optimizer, data loading, and every
Lightning hook around a step; the step-0 and final evaluations excluded). *data share* is the
time to fetch the same number of batches alone, divided by the suite's step time. *peak MB*
is the maximum RSS of a separate short `project.train` process. Every row runs with
`keep_freed_memory` on, as the suite does by default; the allocator table compares it with
glibc's defaults in two fresh processes (see `project/training/cpu_allocator.py`).

*Where a suite step goes, hook by hook*, and why a short step stays under suite/raw 0.95,
is `scripts/bench_step_trace.py`'s section below.

*Evidence throughput* runs one spec (every run to its task config's budget) three ways on 2
workers: `--backend processes` (one `python -m project.train` per run, what `wandb agent`
and SLURM do), `--backend workers` (persistent processes, the default) and
`--vectorize-seeds 16` (each task x model's 16 seeds as one stacked model in one worker).
*step ms per run* is a run's training step (the group's step / 16 for vectorised seeds);
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


def render(result: dict, repeats: int) -> str:
    """The benchmark tables as Markdown."""
    load = result.get("load", {})
    lines = [f"machine: {result['machine']}; date: {result['date']}; medians of {repeats}"
             + (f"; load average (1, 5, 15 min) at start {load['start']}, at end "
                f"{load.get('end')}" if load else ""),
             "", "| task | model | raw steps/s | suite steps/s | suite/raw | data share | peak MB |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for task, entry in result["tasks"].items():
        for model in ("attention", "baseline"):
            v = entry[model]
            lines.append(f"| {task} | {model} | {v['raw_steps_per_s']:.1f} | "
                         f"{v['suite_steps_per_s']:.1f} | {v['suite_over_raw']:.3f} | "
                         f"{v['data_share']:.2%} | {v['peak_mem_mb']:.0f} |")
    ratios = [e[m]["suite_over_raw"] for e in result["tasks"].values()
              for m in ("attention", "baseline")]
    if ratios:
        lines += ["", f"suite/raw >= 0.95 in {sum(r >= 0.95 for r in ratios)} of {len(ratios)} "
                      "rows"]
        below = [f"{task} {m} {1e3 / v['raw_steps_per_s']:.2f} ms"
                 for task, e in result["tasks"].items() for m in ("attention", "baseline")
                 if (v := e[m])["suite_over_raw"] < 0.95]
        if below:
            lines[-1] += (f"; below it (hand-written step): {', '.join(below)}. The step trace "
                          "below measures the suite's cost per update and the hand-written step "
                          "under which that cost alone keeps suite/raw under 0.95; runs of such "
                          "short steps are the vectorised path's (Evidence throughput)")
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
        for mode, target in (("workers", 2.0), ("vectorised", 6.0)):
            ratio = t["modes"][mode]["runs_per_min"] / base
            lines.append(f"\n{mode}: {ratio:.2f}x the runs/min of one process per run "
                         f"(target {target:g}x: {'met' if ratio >= target else 'missed'})")
        if "first_step" in t:
            lines += ["", "| share of a run before its first step | "
                      + " | ".join(THROUGHPUT_TASKS) + " |",
                      "|---|" + "---:|" * len(THROUGHPUT_TASKS)]
            for mode, per_task in t["first_step"].items():
                lines.append(f"| {mode} | " + " | ".join(
                    f"{v['share']:.0%} ({v['before_first_step_s']:.1f} of {v['run_s']:.1f} s)"
                    for v in per_task.values()) + " |")
    return "\n".join(lines) + "\n"


# Sections of the same file that other scripts own, kept as they are (with their headings):
# scripts/bench_long_sequence.py and scripts/bench_step_trace.py.
OWNED_SECTIONS = [re.compile(rf"(## {heading}[^\n]*\n+)?<!-- {marker}:start -->.*?"
                             rf"<!-- {marker}:end -->\n?", re.S)
                  for heading, marker in (("Long sequences", "long-sequence"),
                                          ("Where a suite step goes, hook", "step-trace"))]


def write_doc(path: Path, text: str) -> None:
    """Write ``text``, keeping the sections other scripts own (``OWNED_SECTIONS``) as they
    are, after it."""
    old = path.read_text() if path.exists() else ""
    kept = [m.group(0) for m in (r.search(old) for r in OWNED_SECTIONS) if m]
    path.write_text(text + "".join("\n" + k for k in kept))


def loadavg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


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

    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                         f"torch {torch.__version__}",
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "load": {"start": loadavg()}, "tasks": {}}
    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        overrides, steps = TASKS[task]
        per_model = {}
        for model in ("attention", "baseline"):
            raw, suite, fetch = [], [], []
            for _ in range(args.repeats):
                r, f = raw_steps_per_s(overrides, model, steps)
                raw.append(r), fetch.append(f)
                suite.append(suite_steps_per_s(overrides, model, steps))
            raw_m, suite_m = statistics.median(raw), statistics.median(suite)
            per_model[model] = {
                "raw_steps_per_s": raw_m, "suite_steps_per_s": suite_m,
                "suite_over_raw": suite_m / raw_m,
                "data_share": statistics.median(fetch) * suite_m,
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
        modes = {mode: sweep_throughput(mode, args.seeds, 2) for mode in THROUGHPUT_MODES}
        first = {mode: {task: first_step_share(mode, task) for task in THROUGHPUT_TASKS}
                 for mode in ("process", "worker", "vectorised")}
        result["throughput"] = {
            "spec": f"{', '.join(THROUGHPUT_TASKS)} x {{attention, baseline}} x {args.seeds} "
                    "seeds, config budgets", "workers": 2, "modes": modes, "first_step": first}
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


if __name__ == "__main__":
    main()

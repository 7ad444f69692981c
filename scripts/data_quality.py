"""Real-data quality bar: each real task x {attention, baseline} x seeds, default configs.

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline \
        nice -n 10 python scripts/data_quality.py --out runs/data_quality/table.md

Runs go through ``project.sweeps.orchestrate.run_sweep`` into ``runs/data_quality/<run folder>``
(a finished run is not rerun; a stale one is kept with a warning unless ``--rerun-stale``), then a
Markdown table of test metrics (median over seeds, per-seed values in brackets) is printed
and written to ``--out``, with the bar and, for ETTh1, the naive last-value forecast's MSE.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(key, "1")
os.environ.setdefault("WANDB_MODE", "offline")

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from rich.console import Console  # noqa: E402

from project.analysis.render.tables import fmt_steps  # noqa: E402
from project.cli import user_error  # noqa: E402
from project.stats.censoring import km_median  # noqa: E402
from project.sweeps.backend import plan_runs  # noqa: E402
from project.sweeps.backends.processes import ProcessBackend, cpu_count, plan_threads  # noqa: E402
from project.sweeps.orchestrate import run_sweep  # noqa: E402
from project.sweeps.spec import parse_spec  # noqa: E402
from project.runs.compose import compose_train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# task -> (test metric, ">=" threshold or "naive" = below the naive last-value test MSE)
BAR = {
    "sst2": ("test/acc", 0.75), "trec": ("test/acc", 0.80), "usps": ("test/acc", 0.93),
    "digits": ("test/acc", 0.93), "gunpoint": ("test/acc", 0.85),
    "italypower": ("test/acc", 0.90), "etth1": ("test/mse", "naive"),
    "fsdd": ("test/acc", 0.90),  # ridge on log-mel mean/std (fsdd/SOURCE.txt); issue #27: 0.95
}
MODELS = ("attention", "baseline")
COMMAND = ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"]


def compose_cfg(task: str, model: str, seed: int, run_dir: Path, overrides: list[str] = ()):
    return compose_train([f"task={task}", f"model={model}", f"seed={seed}",
                          "trainer.enable_progress_bar=false", *overrides], run_dir)


def naive_test_mse(task: str) -> float:
    """The naive last-value forecast's test MSE, from the DataModule's ``spec.extra``."""
    cfg = compose_cfg(task, "baseline", 0, ROOT / "runs" / "unused")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup()
    return dm.spec.extra["naive_mse_test"]


def load_times(tasks: list[str]) -> str:
    """Seconds to read and tensorise each task's offline copy (``setup``), as a table."""
    lines = ["| task | setup s (first, builds the datasets cache) | setup s (cached) |",
             "|---|---|---|"]
    for task in tasks:
        times = []
        for _ in range(2):
            dm = instantiate(compose_cfg(task, "baseline", 0, ROOT / "runs" / "unused").task.data,
                             seed=0)
            start = time.perf_counter()
            dm.setup()
            times.append(time.perf_counter() - start)
        lines.append(f"| {task} | {times[0]:.2f} | {times[1]:.2f} |")
    return "\n".join(lines)


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.4f} [{', '.join(f'{v:.3f}' for v in values)}]"


def table(results: dict, seeds: list[int]) -> str:
    lines = [f"| task | test metric | bar | attention median [seeds {', '.join(map(str, seeds))}] "
             "| baseline median [seeds] | steps to target att / base (median) "
             "| training s per run att / base | bar met |",
             "|---|---|---|---|---|---|---|---|"]
    for task, (metric, bar) in BAR.items():
        if task not in results:
            continue
        r = results[task]
        if bar == "naive":
            naive = naive_test_mse(task)
            bar_text, ok = f"< naive {naive:.4f}", lambda v, n=naive: v < n
        else:
            bar_text, ok = f">= {bar}", lambda v, b=bar: v >= b
        cells, met, steps, secs = [], [], [], []
        for model in MODELS:
            runs = r[model]
            vals = [s["test_metrics"][metric] for s in runs]
            cells.append(fmt(vals))
            met.append(ok(statistics.median(vals)))
            reached = [s["reached"] for s in runs]
            median = km_median(np.array([s["steps_to_target"] for s in runs], float), reached)
            steps.append(f"{fmt_steps(median, runs[0]['budget_steps'])} ({sum(reached)}/"
                         f"{len(runs)})")
            secs.append(f"{statistics.median(s['train_time_s'] for s in runs):.0f}")
        lines.append(f"| {task} | {metric} | {bar_text} | {cells[0]} | {cells[1]} | "
                     f"{' / '.join(steps)} | {' / '.join(secs)} | "
                     f"{'yes' if all(met) else 'NO'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(BAR), choices=list(BAR))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--root", type=Path, default=ROOT / "runs" / "data_quality")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "data_quality" / "table.md")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a Hydra override for every run (repeatable); use with --root")
    parser.add_argument("--workers", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument("--rerun-stale", action="store_true",
                        help="delete and rerun finished runs whose config has changed since "
                             "(without it they are kept, with a warning)")
    parser.add_argument("--load-times", action="store_true",
                        help="only time each task's setup (read + tensorise) and exit")
    args = parser.parse_args()
    if args.load_times:
        print(load_times(args.tasks))
        return
    started = time.perf_counter()
    spec = parse_spec({"method": "grid", "command": COMMAND, "parameters": {
        "task": {"values": args.tasks}, "model": {"values": list(MODELS)},
        "seed": {"values": args.seeds}, **{k: {"value": yaml.safe_load(v)} for k, v in
                                         (item.split("=", 1) for item in args.set)}}})
    try:
        planned = plan_runs(spec, args.root)
    except ValueError as e:
        sys.exit(user_error(e))
    workers, threads = plan_threads(args.workers, None, cpu_count())
    console = Console()
    outcome = run_sweep(planned, ProcessBackend(workers, threads, console), console,
                        rerun_stale=args.rerun_stale, title="data quality",
                        after=f" -> {args.root}")
    if not outcome.ok:
        sys.exit(user_error(f"{len(outcome.failed)} runs failed, e.g. "
                            f"{outcome.failed[0].describe()}: {outcome.failed[0].error}"))
    results: dict = {}
    for summary in outcome.summaries():
        results.setdefault(summary["task"], {m: [] for m in MODELS})[summary["model"]].append(
            summary)
    text = table(results, args.seeds)
    print(text)
    print(f"{sum(len(v) for r in results.values() for v in r.values())} runs in "
          f"{time.perf_counter() - started:.0f} s (finished runs are not rerun)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

"""Choose a task's configuration on validation data only, with pilot seeds.

    python scripts/select_on_validation.py [--tasks gunpoint usps] [--workers 2]

Every candidate of ``conf/selection/candidates.yaml`` runs for each compared model and pilot
seed through the sweep backend (``runs/selection/<task>/<candidate>/<run folder>``; finished
runs are not rerun). The choice is the candidate with the highest mean, over the models, of
the median best validation value (for ``direction: min``, the lowest); ties (equal to 4
decimals) go to the smaller network (fewer parameters), then to the candidate listed first.
Only validation figures are read: the test split of these runs is never looked at. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml
from rich.console import Console

from project.runs import folder as run_folder
from project.cli import user_error
from project.sweeps.backend import plan_runs
from project.sweeps.backends.processes import cpu_count, plan_threads
from project.sweeps.backends.workers import WorkerBackend
from project.sweeps.orchestrate import run_sweep
from project.sweeps.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = ROOT / "conf" / "selection" / "candidates.yaml"


def candidate_spec(task: str, overrides: list[str], models: list[str], seeds: list[int]):
    """A grid spec: models x seeds on ``task``, the candidate's overrides fixed in the command."""
    command = ["${env}", "${interpreter}", "-m", "project.train", f"task={task}", *overrides,
               "${args_no_hyphens}"]
    return parse_spec({"method": "grid", "command": command, "parameters": {
        "model": {"values": models}, "seed": {"values": seeds}}})


def best_vals(planned, model: str) -> list[float]:
    return [run_folder.read_summary(p.run_dir)["best_val"] for p in planned
            if p.run.identity.model == model]


def parameters(planned) -> int:
    """The candidate's network size: the sum over its compared models of their parameters."""
    return sum({p.run.identity.model: run_folder.read_summary(p.run_dir)["params"]
                for p in planned}.values())


def choose(scores: dict[str, tuple[float, int]]) -> str:
    """The candidate with the highest score (rounded to 4 decimals), ties to the fewest
    parameters, then to the first listed; ``scores``: name -> (score, parameters)."""
    names = list(scores)
    return min(names, key=lambda n: (-round(scores[n][0], 4), scores[n][1], names.index(n)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", default=None, help="default: every task in the file")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--root", type=Path, default=ROOT / "runs" / "selection")
    p.add_argument("--out", type=Path, default=None, help="also write the table here")
    p.add_argument("--rerun-stale", action="store_true",
                   help="delete and rerun finished runs whose config has changed since")
    args = p.parse_args(argv)
    conf = yaml.safe_load(CANDIDATES.read_text())
    tasks = args.tasks or list(conf["tasks"])
    started = time.perf_counter()
    console = Console(highlight=False)
    workers, threads = plan_threads(args.workers, None, cpu_count())
    lines = [f"| task | candidate | overrides | median best validation value per model "
             f"({', '.join(conf['models'])}; seeds {', '.join(map(str, conf['seeds']))}) "
             "| mean | parameters | chosen |", "|---|---|---|---|---|---|---|"]
    plans = {}
    for task in tasks:
        if task not in conf["tasks"]:
            return user_error(f"--tasks {task}: not in {CANDIDATES}")
        for name, overrides in conf["tasks"][task].items():
            try:
                spec = candidate_spec(task, overrides, conf["models"], conf["seeds"])
                plans[task, name] = plan_runs(spec, args.root / task / name)
            except ValueError as e:
                return user_error(e)
    # the pilot seeds of one candidate and model train as one vectorised model
    backend = WorkerBackend(workers, threads, console, vectorize_seeds=len(conf["seeds"]))
    outcome = run_sweep([p for planned in plans.values() for p in planned], backend, console,
                        rerun_stale=args.rerun_stale, title="selection",
                        after=f" -> {args.root}")
    if not outcome.ok:
        return user_error(f"{len(outcome.failed)} runs failed, e.g. "
                          f"{outcome.failed[0].describe()}: {outcome.failed[0].error}")
    for task in tasks:
        scores = {}
        for name, overrides in conf["tasks"][task].items():
            planned = plans[task, name]
            direction = run_folder.read_summary(planned[0].run_dir)["direction"]
            medians = [statistics.median(best_vals(planned, m)) for m in conf["models"]]
            sign = 1 if direction == "max" else -1
            scores[name] = (sign * statistics.mean(medians), medians, overrides,
                            parameters(planned))
        chosen = choose({n: (s[0], s[3]) for n, s in scores.items()})
        for name, (score, medians, overrides, size) in scores.items():
            lines.append(f"| {task} | {name} | {' '.join(overrides) or '(config as is)'} | "
                         f"{' / '.join(f'{m:.4f}' for m in medians)} | {abs(score):.4f} | "
                         f"{size:,} | {'**yes**' if name == chosen else ''} |")
    text = "\n".join(lines)
    print(text)
    print(f"selection wall time {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

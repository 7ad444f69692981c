"""Raffel & Ellis 2016's rates as waves with the authors' early abandoning, for
``scripts/reproduce_raffel2016.sh`` (which adds the table and the docs):

    python -m project.raffel_waves --out DIR --lengths 50,100 --seeds 0,1 [--set KEY=VALUE ...]

Rates run one after another in the authors' order (``raffel_table.RATES``), all cells of a rate
in parallel through ``project.sweeps.orchestrate.run_sweep`` (the local process backend); with
abandoning, each (problem, T0, model, seed) gives the next rate only as many updates as the
fewest an earlier rate needed to solve it. ``--set`` adds an override to every run (an
ablation's arm); the keys the waves set themselves are refused. Exit status: 0, 1 when a run
failed, 2 on bad input, 143 when stopped by SIGTERM (its runs checkpoint and resume on a rerun).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from rich.console import Console

from project.analysis.local_runs import load_local_runs
from project.analysis.raffel_table import (PAPER_MODELS, PROBLEMS, RATES, abandon_budget,
                                           earlier_cut, load_earlier, rate_rank)
from project.cli import user_error
from project.sweeps.backend import plan_runs
from project.sweeps.backends.processes import ProcessBackend, cpu_count, plan_threads
from project.sweeps.orchestrate import run_sweep
from project.sweeps.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "conf" / "sweep" / "raffel2016.yaml"
RATE_KEYS = ("optimizer.lr=", "task.budget.max_steps=")
# what the waves set for every run; --set may not replace them (the script has options)
SET_BY_WAVES = ("+experiment", "task", "task.seq_len", "model", "seed", "optimizer.lr",
                "task.budget.max_steps")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m project.raffel_waves",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, required=True, help="runs folder")
    p.add_argument("--experiment", default="raffel2016", help="conf/experiment option")
    p.add_argument("--lengths", required=True, help="T0 values, e.g. 50,100")
    p.add_argument("--seeds", required=True, help="e.g. 0,1,2")
    p.add_argument("--epochs", type=int, default=10, help="budget in epochs of 1000 updates")
    p.add_argument("--problems", default="adding,multiply")
    p.add_argument("--models", default="attention_tanh,baseline",
                   help="the models trained (default both of the paper's)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a Hydra override for every run (repeatable)")
    p.add_argument("--gpu", action="store_true", help="train with trainer=gpu")
    p.add_argument("--no-abandon", action="store_true", help="every rate runs its full budget")
    p.add_argument("--earlier", type=Path, default=None, metavar="CSV",
                   help="an earlier table's per-seed CSV: the rates it covers are not run")
    p.add_argument("--rerun-stale", action="store_true",
                   help="delete and rerun finished runs whose config has changed since")
    p.add_argument("--dry-run", action="store_true",
                   help="list each rate's runs still to do, with their budgets; train nothing")
    return p.parse_args(argv)


def parse_sets(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` items as a dict; the value stays the text given (as Hydra reads it)."""
    sets = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        if key in SET_BY_WAVES:
            raise ValueError(f"--set {item!r}: the waves set {key} themselves (use the "
                             "script's own option)")
        sets[key] = value
    return sets


def models(text: str) -> list[str]:
    """``--models``: a comma list of the paper's two models (``PAPER_MODELS``)."""
    names = text.split(",")
    unknown = [m for m in names if m not in PAPER_MODELS]
    if unknown:
        raise ValueError(f"--models {text}: expected some of {', '.join(PAPER_MODELS)}")
    return names


def key(task, model, seed, setting):
    """A (problem, T0, model, seed) of this very setting: its overrides but rate and budget."""
    return task, model, int(seed), tuple(o for o in setting if not str(o).startswith(RATE_KEYS))


def run_waves(args: argparse.Namespace, console: Console) -> bool:
    """Every rate's wave; True when no run failed."""
    sets = parse_sets(args.set) | ({"trainer": "gpu"} if args.gpu else {})
    earlier = load_earlier(args.earlier) if args.earlier else None
    budget, out, abandon = args.epochs * 1000, args.out, not args.no_abandon
    spec = load_spec(SPEC)
    cells = [{"+experiment": args.experiment, "task": p, "task.seq_len": int(t), "model": m,
              "seed": int(s), "task.budget.max_steps": budget, **sets}
             for p in args.problems.split(",") for t in args.lengths.split(",")
             for m in models(args.models) for s in args.seeds.split(",")]
    workers, threads = plan_threads(args.workers, None, cpu_count())
    backend = None if args.dry_run else ProcessBackend(workers, threads, console, [])
    failed_any = False
    for wave, lr in enumerate(RATES):
        assignments = [{**cell, "optimizer.lr": lr} for cell in cells]
        covered = 0
        if earlier is not None:  # an earlier table's seeds: skip the rates it covers, cut the rest
            cuts = [earlier_cut(earlier, (PROBLEMS[a["task"]], a["task.seq_len"],
                                          PAPER_MODELS[a["model"]], a["seed"]), wave, budget)
                    for a in assignments]
            covered = cuts.count(None)
            assignments = [{**a, "task.budget.max_steps": c if abandon else budget}
                           for a, c in zip(assignments, cuts) if c is not None]
        if not assignments:
            console.print(f"rate {lr:g}: all {covered} runs covered by the earlier table")
            continue
        planned = plan_runs(spec, out, assignments=assignments)
        done = load_local_runs(out) if abandon and wave and out.exists() else None
        if done is not None and not done.empty:
            done = done[done["hparams.lr"].map(rate_rank) < wave]
            done_keys = [key(*r) for r in zip(done["task"], done["model"], done["seed"],
                                              done["setting_overrides"])]
            budgets = [abandon_budget(done[[k == key(i.task, i.model, i.seed,
                                                     i.setting_overrides)
                                            for k in done_keys]], a["task.budget.max_steps"])
                       for i, a in zip((p.run.identity for p in planned), assignments)]
            assignments = [{**a, "task.budget.max_steps": b}
                           for a, b in zip(assignments, budgets)]
            planned = plan_runs(spec, out, assignments=assignments)
        cut = sum(a["task.budget.max_steps"] < budget for a in assignments)
        note = f"; {cut} cut to an earlier rate's count"
        note += f"; {covered} covered by the earlier table" if covered else ""
        outcome = run_sweep(planned, backend, console, rerun_stale=args.rerun_stale,
                            title=f"rate {lr:g}", note=note,
                            after=f" -> {out}", show=lambda p: f"{p.describe()} max_steps="
                            f"{p.run.assignment['task.budget.max_steps']}")
        failed_any |= not outcome.ok and backend is not None
    return not failed_any


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # leave through the backend's cleanup
    args = parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    try:
        ok = run_waves(args, console)
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    except KeyboardInterrupt:
        return 130
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

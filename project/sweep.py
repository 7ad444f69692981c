"""Local sweep: ``python -m project.sweep conf/sweep/X.yaml --workers N [--out DIR]``.

Runs a W&B-format sweep spec on one machine, with no server: every combination is checked
against the Hydra config before anything starts, then a backend (``project.sweeps``) runs
each in the folder its identity names (``DIR/<task>/<model>/seed<seed>/<overrides>``), through
``project.sweeps.orchestrate.run_sweep``. A failed run does not stop the others; failures are
listed at the end and the exit status is 1. Rerunning the same command skips finished runs and
resumes the others.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from rich.console import Console

from project.runs import folder as run_folder
from project.cli import user_error
from project.sweeps.backend import AUTO_GROUP_LIMIT, plan_runs
from project.sweeps.backends.processes import (ProcessBackend, command_for, cpu_count,
                                               plan_threads)
from project.sweeps.backends.workers import WorkerBackend, WorkersCannotStart
from project.sweeps.orchestrate import run_sweep
from project.sweeps.spec import load_spec, parse_spec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m project.sweep", description=__doc__.split("\n")[0])
    p.add_argument("spec", type=Path, help="sweep spec in W&B format (conf/sweep/*.yaml)")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--backend", choices=("workers", "processes"), default="workers",
                   help="workers (default): persistent processes that import once and train "
                        "runs in-process; processes: one python -m project.train per run")
    p.add_argument("--vectorize-seeds", type=vectorize_count, default=None, metavar="K",
                   help="workers backend: train runs that differ only by seed as one stacked "
                        "model, each still in its own run folder: K at a time (1: off; "
                        "default auto: every setting's seeds, at most "
                        f"{AUTO_GROUP_LIMIT} a group, split so that every worker has one)")
    p.add_argument("--max-worker-rss-mb", type=float, default=None, metavar="MB",
                   help="workers backend: replace a worker whose resident memory grows past MB "
                        "(its run checkpoints and resumes in a fresh worker)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads per run (default: cores // workers)")
    p.add_argument("--gpus", default="", metavar="0,1,...",
                   help="GPU ids; worker i runs with CUDA_VISIBLE_DEVICES=gpus[i mod n]")
    p.add_argument("--out", type=Path, default=None, help="runs folder (default runs/<spec name>)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2",
                   help="replace a parameter's values (YAML list items), e.g. --set seed=0,1")
    p.add_argument("--count", type=int, default=None, help="random search: number of runs")
    p.add_argument("--sample-seed", type=int, default=0, help="random search: sampling seed")
    p.add_argument("--dry-run", action="store_true", help="validate and list the runs only")
    p.add_argument("--rerun-stale", action="store_true",
                   help="delete and rerun finished runs whose task/model/optimizer config "
                        "has changed since they ran")
    p.add_argument("--write-spec", type=Path, default=None, metavar="PATH",
                   help="validate, write the spec with --set applied to PATH (for wandb sweep)")
    return p.parse_args(argv)


def vectorize_count(text: str) -> int | None:
    """``--vectorize-seeds``: an integer K, or ``auto`` (None: the backend sizes groups)."""
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or auto") from None


def apply_sets(raw: dict, sets: list[str]) -> dict:
    """``--set key=a,b`` replaces (or adds) ``parameters.key`` with ``values: [a, b]``."""
    import yaml

    params = raw.setdefault("parameters", {})
    for item in sets:
        key, sep, values = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=V1,V2")
        parsed = yaml.safe_load(f"[{values}]") if values else []
        params[key] = {"values": parsed}
    return raw


def check_vectorize(args: argparse.Namespace, planned) -> None:
    """``--vectorize-seeds K``: K >= 1, the workers backend, and runs it can stack."""
    if args.vectorize_seeds is None:  # auto: what cannot be stacked trains alone
        return
    if args.vectorize_seeds < 1:
        raise ValueError(f"--vectorize-seeds {args.vectorize_seeds} must be >= 1")
    if args.vectorize_seeds > 1:
        if args.backend != "workers":
            raise ValueError("--vectorize-seeds needs --backend workers (a vectorised group "
                             "trains in one worker process)")
        from project.training.vectorize_rules import check_setting

        for p in planned:
            check_setting(p.run.config)


def make_backend(args: argparse.Namespace, workers: int, threads: int, console: Console):
    """The backend that runs the sweep (None: ``--dry-run`` or ``--write-spec`` runs nothing).
    Made before planning: the workers' fork server imports torch while the sweep plans."""
    if args.dry_run or args.write_spec:
        return None
    gpus = [g for g in args.gpus.split(",") if g]
    if args.backend == "processes":
        return ProcessBackend(workers, threads, console, gpus)
    backend = WorkerBackend(workers, threads, console, gpus, args.max_worker_rss_mb,
                            vectorize_seeds=args.vectorize_seeds)
    backend.prepare()
    return backend


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    out = args.out or Path("runs") / args.spec.stem
    try:
        workers, threads = plan_threads(args.workers, args.threads, cpu_count())
        backend = make_backend(args, workers, threads, console)
        spec = load_spec(args.spec)
        if args.set:
            spec = parse_spec(apply_sets(dict(spec.raw), args.set), spec.path)
        planned = plan_runs(spec, out, args.count, args.sample_seed)
        check_vectorize(args, planned)
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    if args.write_spec:
        import yaml

        args.write_spec.write_text(yaml.safe_dump(spec.raw, sort_keys=False))
        print(f"{args.write_spec}: {len(planned)} runs, validated")
        return 0
    if not args.dry_run:
        try:
            run_folder.make_folder(out, "runs folder", "--out")
        except OSError as e:
            return user_error(e)
    try:
        outcome = run_sweep(planned, backend, console, rerun_stale=args.rerun_stale,
                            title=str(spec.path),
                            after=f" -> {out}; {workers} {args.backend} x {threads} threads",
                            show=lambda p: " ".join(command_for(p)))
    except WorkersCannotStart as e:
        return user_error(e)
    except (KeyboardInterrupt, SystemExit) as e:
        return e.code if isinstance(e, SystemExit) else 130
    if args.dry_run:
        return 0
    if not outcome.ok:
        return 1
    console.print(f"all {len(planned)} runs finished in {out}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())

"""Local sweep runner: ``python -m project.sweep conf/sweep/X.yaml --workers N [--out DIR]``.

Runs a W&B-format sweep spec on one machine, with no server: every combination is checked
against the Hydra config before anything starts, then ``N`` worker processes each run
``python -m project.train <overrides>`` in a run folder named from the parameters
(``DIR/<task>/<model>/seed<seed>/<other key=value>``). Torch threads per worker are set so
that workers x threads <= cores. A failed run does not stop the others; failures are listed
at the end and the exit status is 1. Rerunning the same command skips finished runs (those
with ``summary.json``) and resumes the others from ``checkpoints/last.ckpt``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from project.run_summary import SUMMARY_NAME, write_json_atomic
from project.sweep_spec import (TRAIN_MODULE, SweepRun, expand, load_spec, override_strings,
                                validate_runs)

LOG_NAME = "sweep_run.log"
MANIFEST_NAME = "sweep.json"
NAME_LIMIT = 200  # longest readable parameter part of a folder name; longer ones are hashed
RUN_OVERRIDES = ("trainer.enable_progress_bar=false",)


@dataclass
class Job:
    """A run to execute: its spec entry, its folder and, while running, its process."""

    run: SweepRun
    run_dir: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    resumed: bool = False
    slot: int = 0


def run_dir_for(out: Path, run: SweepRun) -> Path:
    """``out/<task>/<model>/seed<seed>/<sorted key=value of the other parameters>``."""
    rest = sorted(o for o in override_strings(
        {k: v for k, v in run.assignment.items() if k not in ("task", "model", "seed")}))
    name = ",".join(rest).replace("/", "_")
    if len(name) > NAME_LIMIT:
        name = name[:NAME_LIMIT - 13] + "-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    folder = out / run.task / run.model / f"seed{run.seed}"
    return folder / name if name else folder


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def plan_threads(workers: int, threads: int | None, cores: int) -> tuple[int, int]:
    """(workers, threads per worker) with workers x threads <= cores (workers capped at cores)."""
    workers = max(1, min(workers, cores))
    threads = threads or max(1, cores // workers)
    if workers * threads > cores:
        raise ValueError(f"--workers {workers} x --threads {threads} > {cores} cores")
    return workers, threads


def command_for(job: Job) -> list[str]:
    """What ``wandb agent`` would run, with the run folder and quiet progress added."""
    return [sys.executable, "-m", TRAIN_MODULE, *job.run.overrides, *RUN_OVERRIDES,
            f"hydra.run.dir='{job.run_dir}'"]  # quoted: folder names hold ',' and '=' 


def start(job: Job, threads: int, gpus: list[str]) -> None:
    """Launch the run in the background, its output appended to ``sweep_run.log``."""
    job.run_dir.mkdir(parents=True, exist_ok=True)
    job.resumed = (job.run_dir / "checkpoints" / "last.ckpt").exists()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "HYDRA_FULL_ERROR": "0"}
    if gpus:  # one GPU per worker slot
        env["CUDA_VISIBLE_DEVICES"] = gpus[job.slot % len(gpus)]
    env.setdefault("WANDB_MODE", "offline")
    log = open(job.run_dir / LOG_NAME, "a")
    log.write(f"$ {' '.join(command_for(job))}\n")
    log.flush()
    # same process group as the runner: a signal to the group reaches every run
    job.proc = subprocess.Popen(command_for(job), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    log.close()
    job.started = time.monotonic()


def last_error(run_dir: Path) -> str:
    """The run's one-line ``error: ...`` if it printed one, else the last line of its log."""
    lines = [ln.strip() for ln in (run_dir / LOG_NAME).read_text(errors="replace").splitlines()
             if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") or "Error" in ln.split(":")[0]]
    return (errors or lines or ["(no output)"])[-1][:300]


def describe(job: Job) -> str:
    extra = job.run_dir.name if job.run_dir.name != f"seed{job.run.seed}" else ""
    return f"{job.run.task}/{job.run.model}/seed{job.run.seed} {extra}".strip()


def run_sweep(jobs: list[Job], workers: int, threads: int, console: Console,
              gpus: list[str] = ()) -> list[Job]:
    """Run ``jobs`` on ``workers`` processes with a progress display; returns the failures."""
    pending, running, failed = list(jobs), [], []
    columns = [TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
               TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("sweep", total=len(jobs), running=0, failed=0)
        try:
            loop(pending, running, failed, workers, threads, list(gpus), progress, bar)
        finally:
            stop(running)
    return failed


def stop(running: list[Job], grace_s: float = 10.0) -> None:
    """On interruption: SIGTERM the runs still going (they checkpoint), then SIGKILL."""
    for job in running:
        if job.proc.poll() is None:
            job.proc.terminate()
    deadline = time.monotonic() + grace_s
    for job in running:
        try:
            job.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            job.proc.kill()


def loop(pending: list[Job], running: list[Job], failed: list[Job], workers: int, threads: int,
         gpus: list[str], progress: Progress, bar) -> None:
    """Keep ``workers`` runs going until none is left; report each as it ends."""
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            job.slot = min(set(range(workers)) - {j.slot for j in running})
            start(job, threads, gpus)
            running.append(job)
        time.sleep(0.2)
        for job in [j for j in running if j.proc.poll() is not None]:
            running.remove(job)
            secs = time.monotonic() - job.started
            how = "resumed, " if job.resumed else ""
            if job.proc.returncode == 0 and (job.run_dir / SUMMARY_NAME).exists():
                progress.console.print(f"[green]done[/] {describe(job)} ({how}{secs:.0f}s)")
            else:
                failed.append(job)
                progress.console.print(f"[red]FAILED[/] {describe(job)} (exit "
                                       f"{job.proc.returncode}): {last_error(job.run_dir)}")
            progress.advance(bar)
        progress.update(bar, running=len(running), failed=len(failed))


STALE_SECTIONS = ("task", "model", "optimizer", "scheduler")


def config_changed(config, run_dir: Path) -> bool:
    """Whether ``run_dir/config.yaml`` differs from ``config`` in what it measures (task,
    model, optimizer, scheduler); False when there is no saved config."""
    from omegaconf import OmegaConf

    saved_path = Path(run_dir) / "config.yaml"
    if not saved_path.exists():
        return False
    saved = OmegaConf.load(saved_path)
    for key in STALE_SECTIONS:
        now = OmegaConf.select(config, key)
        before = OmegaConf.select(saved, key)
        now = OmegaConf.to_container(now, resolve=True) if OmegaConf.is_config(now) else now
        before = OmegaConf.to_container(before) if OmegaConf.is_config(before) else before
        if now != before:
            return True
    return False


def is_stale(job: Job) -> bool:
    """A finished run whose saved config differs from what its overrides compose to now
    (a task or model config was edited since): rerunning would silently keep old results."""
    return job.run.config is not None and config_changed(job.run.config, job.run_dir)


def write_manifest(out: Path, spec_path: Path, jobs: list[Job]) -> None:
    """``out/sweep.json``: every run ever launched into ``out`` (its spec, overrides and
    folder), merged with earlier invocations and written atomically."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST_NAME
    runs = {r["run_dir"]: r for r in (json.loads(path.read_text())["runs"]
                                      if path.exists() else [])}
    for j in jobs:
        key = str(j.run_dir.relative_to(out))
        runs[key] = {"run_dir": key, "spec": str(spec_path), "overrides": j.run.overrides}
    write_json_atomic(path, {"runs": sorted(runs.values(), key=lambda r: r["run_dir"])})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m project.sweep", description=__doc__.split("\n")[0])
    p.add_argument("spec", type=Path, help="sweep spec in W&B format (conf/sweep/*.yaml)")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    try:
        spec = load_spec(args.spec)
        if args.set:
            from project.sweep_spec import parse_spec
            spec = parse_spec(apply_sets(dict(spec.raw), args.set), spec.path)
        runs = validate_runs(spec, expand(spec, args.count, args.sample_seed))
        workers, threads = plan_threads(args.workers, args.threads, cpu_count())
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    if args.write_spec:
        import yaml

        args.write_spec.write_text(yaml.safe_dump(spec.raw, sort_keys=False))
        print(f"{args.write_spec}: {len(runs)} runs, validated")
        return 0
    out = args.out or Path("runs") / args.spec.stem
    jobs = [Job(r, run_dir_for(out, r)) for r in runs]
    dirs = [j.run_dir for j in jobs]
    if len(set(dirs)) != len(dirs):
        print("error: two runs map to the same folder (identical parameters?)", file=sys.stderr)
        return 2
    todo = [j for j in jobs if not (j.run_dir / SUMMARY_NAME).exists()]
    stale = [j for j in jobs if j not in todo and is_stale(j)]
    if stale and args.rerun_stale and not args.dry_run:
        for job in stale:
            shutil.rmtree(job.run_dir)
        todo += stale
        console.print(f"{len(stale)} finished runs made with an older config: deleted, to rerun")
    elif stale:
        console.print(f"[yellow]warning:[/] {len(stale)} finished runs were made with a "
                      f"config that differs from today's (e.g. {stale[0].run_dir}); they are "
                      "kept as they are: --rerun-stale deletes and reruns them")
    console.print(f"{spec.path}: {len(jobs)} runs ({len(jobs) - len(todo)} finished, "
                  f"{len(todo)} to run) -> {out}; {workers} workers x {threads} threads")
    if args.dry_run:
        for j in todo:
            console.print(f"  {' '.join(command_for(j))}")
        return 0
    write_manifest(out, spec.path, jobs)
    try:
        gpus = [g for g in args.gpus.split(",") if g]
        failed = run_sweep(todo, workers, threads, console, gpus)
    except (KeyboardInterrupt, SystemExit) as e:
        console.print("interrupted: running runs were stopped (SIGTERM); rerun the same "
                      "command to resume them")
        return e.code if isinstance(e, SystemExit) else 130
    if failed:
        console.print(f"[red]{len(failed)} of {len(todo)} runs failed[/] (logs: {LOG_NAME}):")
        for job in failed:
            console.print(f"  {describe(job)}: {last_error(job.run_dir)}\n    log: "
                          f"{job.run_dir / LOG_NAME}")
        return 1
    console.print(f"all {len(jobs)} runs finished in {out}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())

"""Local backend: one ``python -m project.train`` process per run, N at a time.

Each run gets exactly the command ``wandb agent`` would run, plus its run folder; its output
goes to the folder's log. Torch threads per worker are set so that workers x threads <=
cores. A signal to the process group reaches every run (they checkpoint on SIGTERM).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from project.runs import folder as run_folder
from project.sweeps.backend import PlannedRun, SweepBackend, next_free
from project.sweeps.spec import TRAIN_MODULE

RUN_OVERRIDES = ("trainer.enable_progress_bar=false",)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def plan_threads(workers: int, threads: int | None, cores: int) -> tuple[int, int]:
    """(workers, threads per worker) with workers x threads <= cores (workers capped at cores)."""
    workers = max(1, min(workers, cores))
    threads = threads or max(1, cores // workers)
    if workers * threads > cores:
        raise ValueError(f"--workers {workers} x --threads {threads} > {cores} cores")
    return workers, threads


def command_for(planned: PlannedRun) -> list[str]:
    """What ``wandb agent`` would run, with the run folder and quiet progress added."""
    return [sys.executable, "-m", TRAIN_MODULE, *planned.run.overrides, *RUN_OVERRIDES,
            f"run_dir='{planned.run_dir}'"]  # quoted: folder names hold ',' and '='


def last_error(planned: PlannedRun) -> str:
    """The run's one-line ``error: ...`` if it printed one, else the last line of its log."""
    path = run_folder.log_path(planned.run_dir)
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:") or "Error" in ln.split(":")[0]]
    return (errors or lines or ["(no output)"])[-1][:300]


@dataclass
class _Running:
    planned: PlannedRun
    proc: subprocess.Popen
    slot: int
    started: float


class ProcessBackend(SweepBackend):
    """``workers`` concurrent training processes with a rich progress display."""

    def __init__(self, workers: int, threads: int, console: Console, gpus: list[str] = ()):
        self.workers, self.threads, self.console, self.gpus = workers, threads, console, list(gpus)

    def start(self, planned: PlannedRun, slot: int) -> _Running:
        """Launch the run in the background, its output appended to its log."""
        planned.run_dir.mkdir(parents=True, exist_ok=True)
        planned.resumed = run_folder.last_checkpoint(planned.run_dir).exists()
        env = {**os.environ, "OMP_NUM_THREADS": str(self.threads),
               "MKL_NUM_THREADS": str(self.threads), "HYDRA_FULL_ERROR": "0"}
        if self.gpus:  # one GPU per worker slot
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[slot % len(self.gpus)]
        env.setdefault("WANDB_MODE", "offline")
        with open(run_folder.log_path(planned.run_dir), "a") as log:
            log.write(f"$ {' '.join(command_for(planned))}\n")
            log.flush()
            # same process group as the runner: a signal to the group reaches every run
            proc = subprocess.Popen(command_for(planned), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env)
        return _Running(planned, proc, slot, time.monotonic())

    def execute(self, runs: list[PlannedRun]) -> list[PlannedRun]:
        pending, running, failed = list(runs), [], []
        columns = [TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        with Progress(*columns, console=self.console, transient=False) as progress:
            bar = progress.add_task("sweep", total=len(runs), running=0, failed=0)
            try:
                while pending or running:
                    while pending and len(running) < self.workers:
                        planned = next_free(pending, progress.console.print)
                        if planned is None:  # all held by other processes: wait for them
                            break
                        pending.remove(planned)
                        if run_folder.is_finished(planned.run_dir):  # by another process
                            progress.console.print(f"[green]done[/] {planned.describe()} "
                                                   "(by another process)")
                            progress.advance(bar)
                            continue
                        slot = min(set(range(self.workers)) - {r.slot for r in running})
                        running.append(self.start(planned, slot))
                    time.sleep(0.2)
                    for r in [r for r in running if r.proc.poll() is not None]:
                        running.remove(r)
                        if r.proc.returncode == run_folder.RunFolderInUse.EXIT_STATUS:
                            pending.append(r.planned)  # taken by another process meanwhile
                            continue
                        self.report(r, failed, progress)
                        progress.advance(bar)
                    progress.update(bar, running=len(running), failed=len(failed))
            finally:
                stop(running)
        return failed

    def report(self, r: _Running, failed: list[PlannedRun], progress: Progress) -> None:
        secs = time.monotonic() - r.started
        how = "resumed, " if r.planned.resumed else ""
        if r.proc.returncode == 0 and run_folder.is_finished(r.planned.run_dir):
            progress.console.print(f"[green]done[/] {r.planned.describe()} ({how}{secs:.0f}s)")
        else:
            r.planned.error = f"exit {r.proc.returncode}: {last_error(r.planned)}"
            failed.append(r.planned)
            progress.console.print(f"[red]FAILED[/] {r.planned.describe()} ({r.planned.error})")


def stop(running: list[_Running], grace_s: float = 10.0) -> None:
    """On interruption: SIGTERM the runs still going (they checkpoint), then SIGKILL."""
    for r in running:
        if r.proc.poll() is None:
            r.proc.terminate()
    deadline = time.monotonic() + grace_s
    for r in running:
        try:
            r.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            r.proc.kill()

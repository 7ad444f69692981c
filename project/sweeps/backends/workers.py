"""Local backend, the default: N persistent worker processes, forked from one server that
imported torch and Lightning once (``worker_imports``, while the sweep plans: ``prepare``),
train run after run in-process (``project.training.run.train``).

Each run keeps exactly the contract of ``python -m project.train`` (``backends/processes.py``):
its own run folder (claimed while it trains), config, curve, checkpoints, the run's summary
written atomically and last, its output in the folder's log. Between runs a worker
puts its process state back (``project.training.process_state``: threads, RNGs, Hydra, W&B,
allocator, signal handlers...), so a run's figures do not depend on the runs before it.

* A Python error fails that run only (its traceback is in its log); the worker goes on.
* A worker that dies (a crash, a kill, out of memory) is replaced by a fresh one and its run
  is resumed from its last checkpoint; so is a worker whose resident memory grows past
  ``max_rss_mb``: it is sent SIGTERM (the run checkpoints, as on any SIGTERM), then replaced.
  A run that brings down ``retries + 1`` workers fails, with the reason.
* Runs that differ only by their seed go to one worker as a group and train as one stacked
  model (``project.training.vectorized``), each still in its own run folder:
  ``vectorize_seeds`` None sizes the groups (``seed_groups``; ``project.sweep``'s default),
  K > 1 makes groups of up to K, 1 (this class's default) trains every run alone. A setting that cannot be stacked (a W&B
  logger, another precision, several devices) trains its runs alone.
* Interrupted (Ctrl-C, SIGTERM to the runner): workers get SIGTERM, running runs checkpoint;
  SIGKILL of the whole process group loses only the steps since each run's last checkpoint.
  Workers ignore SIGINT (the runner stops them) and get SIGTERM if the runner dies.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_for
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from project.runs import folder as run_folder
from project.sweeps.backend import PlannedRun, SweepBackend, longest_first, seed_groups
from project.sweeps.backends.processes import RUN_OVERRIDES

POLL_S = 0.2


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB (0 when it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


# -- the worker process ---------------------------------------------------------------------
class _Stop:
    """The worker's SIGTERM policy: while no run listens (Lightning or a vectorised group
    installs its own handler and chains to this one), exit at once; otherwise let the run
    checkpoint and stop, and exit after it."""

    requested = False

    @classmethod
    def handle(cls, signum, frame) -> None:
        cls.requested = True
        if signal.getsignal(signal.SIGTERM) is cls.handle:  # nobody else is listening
            raise SystemExit(143)


def _die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when the runner dies (best effort)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Output:
    """This process's stdout and stderr (file descriptors 1 and 2) into a run's log."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        sys.stdout.flush(), sys.stderr.flush()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.saved = os.dup(1), os.dup(2)
        os.dup2(fd, 1), os.dup2(fd, 2)
        os.close(fd)
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout.flush(), sys.stderr.flush()
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def _outcome(error: BaseException | None, interrupted: bool = False) -> dict:
    from project.cli import error_line
    from project.cli import USER_ERRORS

    if error is None:
        return {"status": "interrupted" if interrupted else "ok", "error": ""}
    if isinstance(error, run_folder.RunFolderInUse):
        return {"status": "in_use", "error": error_line(error)}
    if isinstance(error, USER_ERRORS):
        return {"status": "failed", "error": f"error: {error_line(error)}"}
    return {"status": "failed", "error": f"{type(error).__name__}: {error_line(error)}"}


FINISHED_ELSEWHERE = "already finished by another process: not trained again"


def _finished_elsewhere() -> dict:
    """The outcome of a run whose folder was finished before this worker reached it."""
    print(FINISHED_ELSEWHERE, flush=True)
    return {"status": "finished_elsewhere", "error": ""}


_COMPOSED: dict[tuple[str, ...], object] = {}


def _compose(overrides: list[str], run_dir: str):
    """The run's composed config: composed once per setting and variant in this worker
    (Hydra's compose costs about as much as a short run's setup), then the seed and run
    folder set on a copy, as ``spec.validate_runs`` does (no config interpolates ``seed``)."""
    import copy

    from omegaconf import open_dict

    from project.sweeps.spec import SEED_KEY
    from project.runs.compose import compose_train

    seeds = [o for o in overrides if o.split("=", 1)[0] == SEED_KEY]
    key = tuple(o for o in overrides if o not in seeds)
    if key not in _COMPOSED:
        _COMPOSED[key] = compose_train([*key, *RUN_OVERRIDES])
    cfg = copy.deepcopy(_COMPOSED[key])
    with open_dict(cfg):
        if seeds:
            cfg.seed = int(seeds[-1].split("=", 1)[1])
        cfg.run_dir = run_dir  # set, not an override: folder names hold ',' and '='
    return cfg


def _run_one(overrides: list[str], run_dir: str) -> dict:
    """One run in this process, its output in its log; never raises but SystemExit."""
    import traceback

    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from project.training.run import train

    with _Output(run_folder.log_path(run_dir)):
        print(f"$ [worker pid {os.getpid()}] python -m project.train {' '.join(overrides)} "
              f"{' '.join(RUN_OVERRIDES)} run_dir='{run_dir}'", flush=True)
        try:
            summary = train(_compose(overrides, run_dir))
        except SIGTERMException:
            print(f"stopped by SIGTERM; resume point {run_folder.last_checkpoint(run_dir)}: "
                  "rerun the sweep to continue")
            return _outcome(None, interrupted=True)
        except Exception as e:  # noqa: BLE001 - a Python error fails this run only
            out = _outcome(e)
            if not out["error"].startswith("error:"):
                traceback.print_exc()
            print(out["error"], flush=True)
            return out
        if isinstance(summary, run_folder.AlreadyFinished):
            return _finished_elsewhere()
        print(run_folder.describe_summary(summary, run_dir), flush=True)
        return _outcome(None)


def _run_group(runs: list[tuple[list[str], str]]) -> list[dict]:
    """Runs differing by seed as one vectorised group; output in the first run's log (the
    others' logs say where it is)."""
    import traceback

    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from project.training.run import train_vectorized

    first = run_folder.log_path(runs[0][1])
    seeds = [next((o.split("=", 1)[1] for o in ov if o.startswith("seed=")), "?")
             for ov, _ in runs]
    for overrides, run_dir in runs:
        with _Output(run_folder.log_path(run_dir)):
            print(f"$ [worker pid {os.getpid()}] vectorised seeds {','.join(seeds)}: python -m "
                  f"project.train {' '.join(overrides)} run_dir='{run_dir}'"
                  + ("" if run_folder.log_path(run_dir) == first else f" (output in {first})"),
                  flush=True)
    out = None  # the group's failure, when it fails
    with _Output(first):
        try:
            results = train_vectorized([_compose(ov, d) for ov, d in runs])
        except SIGTERMException:
            print("stopped by SIGTERM; the runs checkpointed: rerun the sweep to continue")
            return [_outcome(None, interrupted=True) for _ in runs]
        except Exception as e:  # noqa: BLE001 - fails this group only
            out = _outcome(e)
            told = "" if out["error"].startswith("error:") else traceback.format_exc()
    if out is not None:  # every member's log says why it failed
        for _, run_dir in runs:
            with _Output(run_folder.log_path(run_dir)):
                print(told + out["error"], flush=True)
        return [out for _ in runs]
    outcomes = []
    for (overrides, run_dir), result in zip(runs, results):
        with _Output(run_folder.log_path(run_dir)):
            if isinstance(result, run_folder.AlreadyFinished):
                outcomes.append(_finished_elsewhere())
            elif isinstance(result, BaseException):
                outcomes.append(_outcome(result))
                print(outcomes[-1]["error"], flush=True)
            else:  # how many runs its clock timed: 1 where the group trained one by one
                outcomes.append({**_outcome(None), "shared_by": result.get("clock_shared_by")})
                print(run_folder.describe_summary(result, run_dir), flush=True)
    return outcomes


def _call(target: str, args: list) -> list[dict]:
    """``module:function(*args)`` in this process (tests leave state behind with it)."""
    import importlib

    module, name = target.split(":")
    try:
        getattr(importlib.import_module(module), name)(*args)
    except Exception as e:  # noqa: BLE001
        return [_outcome(e)]
    return [_outcome(None)]


def worker_main(conn, threads: int, gpu: str | None, max_rss_mb: float | None) -> None:
    """A worker: import once, then execute ``(task id, kind, payload)`` messages until told to
    stop (``None``), until SIGTERM, or after a task that left it past ``max_rss_mb``."""
    os.environ.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                       "HYDRA_FULL_ERROR": "0"})
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as a single run (training.threads)
    os.environ.setdefault("WANDB_MODE", "offline")
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the runner stops the workers
    signal.signal(signal.SIGTERM, _Stop.handle)
    _die_with_parent()
    try:
        import torch  # noqa: F401 - the imports every run needs, once (done by the server)

        import project.training.run  # noqa: F401
        from project.training import process_state

        baseline = process_state.capture(threads)
        # the imports live as long as the worker: no collection (process_state.restore's
        # between runs, the automatic ones) scans their objects again
        gc.freeze()
        conn.send(("ready", os.getpid()))
        while not _Stop.requested:
            try:
                message = conn.recv()
            except EOFError:
                break
            if message is None:
                break
            task_id, kind, payload = message
            process_state.restore(baseline)
            if kind == "run":
                outcomes = [_run_one(*payload)]
            elif kind == "group":
                outcomes = _run_group(payload)
            else:
                outcomes = _call(*payload)
            conn.send(("done", task_id, outcomes))
            if max_rss_mb and rss_mb(os.getpid()) > max_rss_mb:
                conn.send(("recycle", f"grew to {rss_mb(os.getpid()):.0f} MB"))
                break
    except SystemExit:
        pass
    except KeyboardInterrupt:
        pass


class WorkersCannotStart(RuntimeError):
    """Workers keep dying before their first run (a broken environment, not a run's fault)."""


# -- the runner side ------------------------------------------------------------------------
@dataclass
class Task:
    """One run, or a group of runs differing only by seed (vectorised)."""

    runs: list[PlannedRun]
    vectorized: bool = False
    attempts: int = 0  # workers lost while running it
    started: float = 0.0
    why: str = ""  # why the last worker was lost
    id: int = 0

    def message(self) -> tuple:
        payload = [(p.run.overrides, str(p.run_dir)) for p in self.runs]
        return (self.id, "group", payload) if self.vectorized else (self.id, "run", payload[0])


class Worker:
    """One worker process and the task it is running."""

    def __init__(self, ctx, slot: int, threads: int, gpu: str | None, max_rss_mb: float | None):
        self.slot = slot
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=worker_main, args=(child, threads, gpu, max_rss_mb),
                                name=f"sweep-worker-{slot}", daemon=False)
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.retiring = ""  # why it is being replaced (memory), if it is
        self.signalled_at: float | None = None
        self.ready = False  # imported and waiting for tasks
        self.stopped = False
        self.reaped = False  # its end has been handled

    @property
    def pid(self) -> int:
        return self.proc.pid

    def submit(self, task: Task) -> bool:
        """Hand ``task`` to this worker; False when it has just died (the task is not taken)."""
        try:
            self.conn.send(task.message())
        except (BrokenPipeError, OSError):
            return False
        self.task, task.started = task, time.monotonic()
        return True

    def stop(self) -> None:
        """Ask an idle worker to exit."""
        if not self.stopped:
            self.stopped = True
            self.signalled_at = time.monotonic()
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass

    def alive(self) -> bool:
        return self.proc.exitcode is None

    def terminate(self) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.signalled_at = self.signalled_at or time.monotonic()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()

    def death(self) -> str:
        code = self.proc.exitcode
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"


def start_method() -> str:
    """``forkserver`` where the platform has it (workers start from a clean server process,
    not a copy of the runner), else ``spawn``."""
    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


PRELOAD = "project.sweeps.backends.worker_imports"


def stackable(p: PlannedRun) -> bool:
    """Whether the run's setting may train in a vectorised group (``check_setting``)."""
    from project.training.vectorize_rules import VectorizeError, check_setting

    try:
        check_setting(p.run.config)
    except VectorizeError:
        return False
    return True


class WorkerBackend(SweepBackend):
    """``workers`` persistent processes with a rich progress display (the default backend)."""

    def __init__(self, workers: int, threads: int, console: Console, gpus: list[str] = (),
                 max_rss_mb: float | None = None, vectorize_seeds: int | None = 1, retries: int = 2,
                 grace_s: float = 20.0):
        self.workers, self.threads, self.console = workers, threads, console
        self.gpus, self.max_rss_mb = list(gpus), max_rss_mb
        self.vectorize_seeds, self.retries, self.grace_s = vectorize_seeds, retries, grace_s
        self.ctx = mp.get_context(start_method())
        self.pool: list[Worker] = []
        self.replaced = 0  # workers replaced (died or over the memory limit)
        self.failed_starts = 0

    def prepare(self) -> None:
        """Start the workers' fork server now, importing what every worker imports
        (``worker_imports``) while the caller plans; ``execute`` calls it too. Not with
        ``gpus`` (each worker sets its devices before importing torch), nor where the
        platform has no ``forkserver``; a server already running in this process is kept."""
        if self.ctx.get_start_method() != "forkserver" or self.gpus:
            return
        from multiprocessing import forkserver

        self.ctx.set_forkserver_preload(["__main__", PRELOAD])
        forkserver.ensure_running()

    def _spawn(self, slot: int) -> Worker:
        gpu = self.gpus[slot % len(self.gpus)] if self.gpus else None
        return Worker(self.ctx, slot, self.threads, gpu, self.max_rss_mb)

    def tasks(self, runs: list[PlannedRun]) -> list[Task]:
        groups = longest_first(seed_groups(runs, self.vectorize_seeds, self.workers, stackable))
        return [Task(g, vectorized=len(g) > 1, id=i) for i, g in enumerate(groups)]

    # -- the loop -------------------------------------------------------------------------
    def execute(self, runs: list[PlannedRun]) -> list[PlannedRun]:
        pending, failed = self.tasks(runs), []
        self.prepare()
        columns = [TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        with Progress(*columns, console=self.console, transient=False) as progress:
            bar = progress.add_task("sweep", total=len(runs), running=0, failed=0)
            say = progress.console.print
            try:
                self.pool = [self._spawn(slot) for slot in range(min(self.workers, len(pending)))]
                while pending or any(w.task for w in self.pool):
                    for worker in [w for w in self.pool if w.task is None and w.alive()
                                   and not w.retiring and not w.stopped]:
                        task = self._next(pending, say, progress, bar)
                        if task is None:
                            break
                        if not worker.submit(task):
                            pending.insert(0, task)
                    self._poll(pending, failed, progress, bar)
                    running = sum(len(w.task.runs) for w in self.pool if w.task)
                    progress.update(bar, running=running, failed=len(failed))
            finally:
                self.shutdown()
        return failed

    def _next(self, pending: list[Task], say, progress, bar) -> Task | None:
        """The first pending task none of whose folders another process owns; runs finished
        by another process meanwhile are done."""
        for task in list(pending):
            held = [(p, h) for p in task.runs if (h := run_folder.lock_holder(p.run_dir))]
            for p, holder in held:
                if not p.waiting:
                    p.waiting = True
                    say(f"waiting: {p.describe()} is in use by {holder}")
            if held:
                continue
            pending.remove(task)
            for p in [p for p in task.runs if run_folder.is_finished(p.run_dir)]:
                say(f"[green]done[/] {p.describe()} (by another process)")
                progress.advance(bar)
                task.runs.remove(p)
            if not task.runs:
                continue
            for p in task.runs:
                p.resumed = run_folder.last_checkpoint(p.run_dir).exists()
            return task
        return None

    def _poll(self, pending: list[Task], failed: list[PlannedRun], progress, bar) -> None:
        """Wait a moment for a worker to report or die; handle what happened."""
        live = [w for w in self.pool if not w.reaped]
        if live:
            wait_for([w.conn for w in live] + [w.proc.sentinel for w in live], timeout=POLL_S)
        else:
            time.sleep(POLL_S)
        for worker in live:  # messages first: a worker may report, then exit
            while True:
                try:
                    if not worker.conn.poll():
                        break
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    break
                self._message(worker, message, pending, failed, progress, bar)
        for slot, worker in enumerate(self.pool):
            if not worker.alive():
                if not worker.reaped:  # once per worker: its task goes back or fails
                    worker.reaped = True
                    self._lost(worker, pending, failed, progress, bar)
                if pending:
                    self.pool[slot] = self._spawn(worker.slot)
                    self.replaced += 1
            elif worker.task and self.max_rss_mb and not worker.retiring \
                    and rss_mb(worker.pid) > self.max_rss_mb:
                worker.retiring = (f"grew past the memory limit ({rss_mb(worker.pid):.0f} MB > "
                                   f"{self.max_rss_mb:.0f} MB)")
                progress.console.print(f"[yellow]worker {worker.pid} {worker.retiring}: "
                                       "stopping it (its run checkpoints), then replacing it")
                worker.terminate()
            elif worker.retiring and worker.task is None:
                worker.stop()
            if worker.signalled_at and time.monotonic() - worker.signalled_at > self.grace_s:
                worker.kill()

    def _message(self, worker: Worker, message: tuple, pending, failed, progress, bar) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            return
        if kind == "recycle":
            worker.retiring = message[1]
            return
        if kind != "done" or worker.task is None:
            return
        task, outcomes = worker.task, message[2]
        worker.task = None
        secs = time.monotonic() - task.started
        requeue = []
        for p, out in zip(task.runs, outcomes):
            stacked = out.get("shared_by") or len(task.runs)
            how = ("resumed, " if p.resumed else "") + (
                f"vectorised x{stacked}, " if task.vectorized and stacked > 1 else "")
            if out["status"] == "ok" and run_folder.is_finished(p.run_dir):
                progress.console.print(f"[green]done[/] {p.describe()} ({how}{secs:.0f}s)")
                progress.advance(bar)
            elif out["status"] == "finished_elsewhere":
                progress.console.print(f"[green]done[/] {p.describe()} (by another process)")
                progress.advance(bar)
            elif out["status"] == "in_use":
                requeue.append(p)  # taken by another process meanwhile: wait for it
            elif out["status"] == "interrupted" and worker.retiring:
                requeue.append(p)
            else:
                p.error = out["error"] or ("stopped by SIGTERM" if out["status"] == "interrupted"
                                           else "ended without a summary")
                failed.append(p)
                progress.advance(bar)
                progress.console.print(f"[red]FAILED[/] {p.describe()} ({p.error})")
        if requeue:
            retry = Task(requeue, vectorized=task.vectorized and len(requeue) > 1, id=task.id,
                         attempts=task.attempts + (1 if worker.retiring else 0),
                         why=worker.retiring or task.why)
            self._retry(retry, pending, failed, progress, bar)

    def _lost(self, worker: Worker, pending, failed, progress, bar) -> None:
        """A worker ended: if it had a task, the task goes back (resumes) or fails."""
        task = worker.task
        if not worker.ready and not worker.retiring:
            self.failed_starts += 1
            if self.failed_starts > self.retries:
                raise WorkersCannotStart(f"sweep workers die before their first run ({worker.death()} "
                                         f"{self.failed_starts} times): run one with python -m "
                                         "project.train to see why")
        if task is None:
            return
        worker.task = None
        why = worker.retiring or worker.death()
        progress.console.print(f"[yellow]worker {worker.pid} {why} while running "
                               f"{', '.join(p.describe() for p in task.runs)}: replaced")
        task.attempts += 1
        task.why = why
        self._retry(task, pending, failed, progress, bar)

    def _retry(self, task: Task, pending, failed, progress, bar) -> None:
        if task.attempts > self.retries:
            for p in task.runs:
                p.error = (f"its worker was lost {task.attempts} times (last: {task.why}); "
                           "see its log")
                failed.append(p)
                progress.advance(bar)
                progress.console.print(f"[red]FAILED[/] {p.describe()} ({p.error})")
            return
        pending.insert(0, task)

    # -- stopping -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every worker: idle ones at once, busy ones after their run checkpointed
        (SIGTERM), any left after ``grace_s`` by SIGKILL."""
        for worker in self.pool:
            if worker.alive():
                if worker.task is None:
                    worker.stop()
                else:
                    worker.terminate()
        deadline = time.monotonic() + self.grace_s
        for worker in self.pool:
            worker.proc.join(max(0.1, deadline - time.monotonic()))
            if worker.alive():
                worker.kill()
                worker.proc.join(5)
        self.pool = []

"""The persistent-workers sweep backend: runs in a reused worker give the figures they give
alone; a Python error fails one run; a worker that dies or grows past its memory limit is
replaced and its run resumed; vectorised groups of seeds; refusals in one line."""

from __future__ import annotations

import io
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from project.runs import folder as run_folder
from project.sweeps.backend import longest_first, plan_runs, seed_groups
from project.sweeps.backends.workers import Worker, WorkerBackend, start_method
from project.sweeps.spec import parse_spec

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
COMMAND = ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"]
ITALY = {"task": {"value": "italypower"}, "task.budget.max_steps": {"value": 50},
         "task.budget.val_every_n_steps": {"value": 25}}
TIME_FIELDS = {"train_time_s", "time_to_target", "step_time_ms", "samples_per_s", "peak_mem_mb"}


def spec_dict(**params) -> dict:
    return {"program": "project/train.py", "method": "grid", "command": list(COMMAND),
            "metric": {"name": "steps_to_target", "goal": "minimize"},
            "parameters": {**ITALY, **params}}


def planned(tmp_path: Path, **params):
    return plan_runs(parse_spec(spec_dict(**params)), tmp_path / "runs")


def sweep_cli(tmp_path: Path, spec: dict, *extra: str, **kw) -> subprocess.Popen:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    cmd = [sys.executable, "-m", "project.sweep", str(path), "--out", str(tmp_path / "runs"),
           *extra]
    return subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


# -- isolation --------------------------------------------------------------------------------
def leave_state_behind() -> None:
    """What a careless run could leave in its process (called inside a worker)."""
    import numpy as np
    import torch
    from hydra import initialize_config_dir

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(99)
    torch.rand(7)
    np.random.seed(3)
    random.seed(3)
    os.environ["PL_GLOBAL_SEED"] = "77"
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")).__enter__()
    os.chdir("/")
    torch.set_grad_enabled(False)


def execute(worker: Worker, kind: str, payload, timeout: float = 600) -> list[dict]:
    """Send one task to ``worker`` and wait for its outcomes."""
    worker.conn.send((0, kind, payload))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.conn.poll(1):
            message = worker.conn.recv()
            if message[0] == "done":
                return message[2]
    raise TimeoutError(kind)


def figures(run_dir: Path) -> tuple[dict, list[dict]]:
    summary = {k: v for k, v in run_folder.read_summary(run_dir).items() if k not in TIME_FIELDS}
    curve = [{k: v for k, v in r.items() if k != "train_time_s"}
             for r in run_folder.read_curve(run_dir)]
    return summary, curve


def test_a_runs_figures_do_not_depend_on_the_runs_before_it_in_its_worker(tmp_path):
    """Run A alone in a fresh worker, and in a worker that first ran a state-leaving call and
    another task (digits, 2 threads, deterministic, glibc defaults): same summary and curve,
    time fields aside."""
    import multiprocessing as mp

    ctx = mp.get_context(start_method())
    run_a = ["task=italypower", "model=attention", "seed=3", "task.budget.max_steps=50",
             "task.budget.val_every_n_steps=25"]
    run_b = ["task=digits", "model=baseline", "seed=1", "task.budget.max_steps=20",
             "task.budget.val_every_n_steps=10", "trainer.num_threads=2",
             "trainer.deterministic=true", "trainer.keep_freed_memory=false"]
    busy, fresh = Worker(ctx, 0, 1, None, None), Worker(ctx, 1, 1, None, None)
    try:
        assert execute(busy, "call", ("tests.sweeps.test_workers:leave_state_behind", []))[0][
            "status"] == "ok"
        assert execute(busy, "run", (run_b, str(tmp_path / "b")))[0]["status"] == "ok"
        assert execute(busy, "run", (run_a, str(tmp_path / "a_after")))[0]["status"] == "ok"
        assert execute(fresh, "run", (run_a, str(tmp_path / "a_alone")))[0]["status"] == "ok"
    finally:
        for w in (busy, fresh):
            w.stop()
            w.proc.join(30)
    after, alone = figures(tmp_path / "a_after"), figures(tmp_path / "a_alone")
    assert after == alone
    assert len(alone[1]) == 3 and alone[0]["steps_trained"] == 50
    logs = [run_folder.log_path(tmp_path / d).read_text() for d in ("b", "a_after")]
    pids = {line.split("]")[0] for log in logs for line in log.splitlines() if "[worker" in line}
    assert len(pids) == 1, pids  # both ran in the same worker process


def openmp_waits_passively() -> None:
    """Called inside a worker: the wait policy in its environment (set before its torch
    import, which loads OpenMP, in ``worker_main``)."""
    assert os.environ.get("OMP_WAIT_POLICY") == "PASSIVE", os.environ.get("OMP_WAIT_POLICY")


def test_a_worker_sets_openmp_to_wait_passively_as_a_single_run_does(monkeypatch):
    """Idle OpenMP threads must not spin on a core a neighbour needs (issue #31 item 4):
    a worker sets ``OMP_WAIT_POLICY=PASSIVE`` before importing torch, as ``project.train``
    does (``project.training.threads``), unless the user set it."""
    import multiprocessing as mp

    if os.environ.get("OMP_WAIT_POLICY", "PASSIVE") != "PASSIVE":
        pytest.skip("OMP_WAIT_POLICY is set in this environment")
    worker = Worker(mp.get_context(start_method()), 0, 2, None, None)
    try:
        outcome = execute(worker, "call", ("tests.sweeps.test_workers:openmp_waits_passively", []))
        assert outcome[0]["status"] == "ok", outcome
    finally:
        worker.stop()
        worker.proc.join(30)


def worker_threads() -> None:
    """Called inside a worker: the intra-op threads its runs get (``worker_main``'s count)."""
    import torch

    assert torch.get_num_threads() == 2, torch.get_num_threads()


FORK_SERVER_CHECK = """
import os
from multiprocessing import forkserver
from rich.console import Console
from project.sweeps.backends.workers import WorkerBackend
from tests.sweeps.test_workers import execute

backend = WorkerBackend(2, 2, Console(file=open(os.devnull, "w")))
backend.prepare()
worker = backend._spawn(0)
try:
    assert worker.conn.recv()[0] == "ready"
    server = forkserver._forkserver._forkserver_pid
    print("server imported torch:", "libtorch_cpu" in open(f"/proc/{server}/maps").read())
    print("worker:", execute(worker, "call", ("tests.sweeps.test_workers:worker_threads", []))[0])
finally:
    worker.stop()
    worker.proc.join(30)
"""

THREADS_AFTER_IMPORTS = """
import os
import project.sweeps.backends.worker_imports
print("threads:", len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(start_method() != "forkserver", reason="no forkserver on this platform")
def test_workers_fork_from_a_server_that_imported_torch_with_no_thread_started():
    """N workers pay for one import of torch and Lightning: ``prepare`` starts a fork server
    that imports them (``worker_imports``); forking is safe only while that import starts no
    thread (here with a user's OMP_NUM_THREADS=2). A worker forked from it still runs with
    its own thread count (2 here)."""
    env = {**ENV, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", THREADS_AFTER_IMPORTS], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "threads: 1", out.stdout + out.stderr[-2000:]
    out = subprocess.run([sys.executable, "-c", FORK_SERVER_CHECK], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "server imported torch: True" in out.stdout, out.stdout
    assert "worker: {'status': 'ok', 'error': ''}" in out.stdout, out.stdout


def test_a_run_finished_before_its_worker_reached_it_is_reported_not_retrained(tmp_path):
    """Two sweep runners can hand the same run to their workers; the second one to get its
    folder finds it finished: it says so and trains nothing (curve and summary untouched)."""
    import multiprocessing as mp

    run = (["task=italypower", "model=baseline", "seed=0", "task.budget.max_steps=20",
            "task.budget.val_every_n_steps=10"], str(tmp_path / "run"))
    worker = Worker(mp.get_context(start_method()), 0, 1, None, None)
    try:
        assert execute(worker, "run", run)[0]["status"] == "ok"
        before = {p.name: p.read_bytes() for p in (run_folder.summary_path(run[1]),
                                                   run_folder.curve_path(run[1]))}
        assert execute(worker, "run", run)[0]["status"] == "finished_elsewhere"
    finally:
        worker.stop()
        worker.proc.join(30)
    assert before == {p.name: p.read_bytes() for p in (run_folder.summary_path(run[1]),
                                                       run_folder.curve_path(run[1]))}
    log = run_folder.log_path(run[1]).read_text()
    assert log.count(f"-> {run[1]}") == 1 and "already finished by another process" in log


# -- failures ---------------------------------------------------------------------------------
def test_a_python_error_fails_that_run_only_and_the_worker_goes_on(tmp_path):
    """features=tokens on float series raises a Python error inside training (an IndexError
    in the embedding): those runs fail with that line (traceback in their log); the others
    finish in the same worker; exit 1."""
    spec = spec_dict(**{"task.net.features": {"values": ["tokens", "vector"]},
                        "seed": {"values": [0, 1]}})
    proc = sweep_cli(tmp_path, spec, "--workers", "1")
    log, _ = proc.communicate(timeout=900)
    assert proc.returncode == 1, log
    assert "2 of 4 runs failed" in log and "IndexError: index 0 is out of bounds" in log, log
    runs = sorted((tmp_path / "runs").rglob("run.log"))
    assert len(runs) == 4 and len(list((tmp_path / "runs").rglob("summary.json"))) == 2
    pids = {line.split("]")[0] for path in runs for line in path.read_text().splitlines()
            if line.startswith("$ [worker")}
    assert len(pids) == 1, pids
    failed = [p for p in runs if "features=tokens" in str(p)]
    assert all("Traceback" in p.read_text() for p in failed)


def run_backend(tmp_path: Path, act, **params) -> tuple[WorkerBackend, list, str]:
    """Execute the planned runs with one worker while ``act(backend, runs)`` runs beside it
    (in a thread); returns the backend, the failed runs and the console output."""
    runs = planned(tmp_path, **params)
    text = io.StringIO()
    backend = WorkerBackend(1, 1, Console(file=text, width=200), grace_s=60)
    stop = threading.Event()
    helper = threading.Thread(target=act, args=(backend, runs, stop), daemon=True)
    helper.start()
    try:
        failed = backend.execute(runs)
    finally:
        stop.set()
        helper.join(5)
    return backend, failed, text.getvalue()


def wait_for_checkpoint(runs, stop) -> bool:
    while not stop.is_set():
        if any(run_folder.last_checkpoint(p.run_dir).exists() for p in runs):
            return True
        time.sleep(0.05)
    return False


SLOW_RUN = {"task.budget.max_steps": {"value": 300}, "trainer.checkpoint_every_n_steps":
            {"value": 10}}


def test_a_worker_that_dies_is_replaced_and_its_run_resumes(tmp_path):
    def kill_once(backend, runs, stop):
        if wait_for_checkpoint(runs, stop):
            os.kill(backend.pool[0].pid, signal.SIGKILL)

    backend, failed, out = run_backend(tmp_path, kill_once, **SLOW_RUN)
    assert not failed, out
    assert backend.replaced == 1 and "killed by SIGKILL" in out and "replaced" in out
    (run,) = planned(tmp_path, **SLOW_RUN)
    assert run_folder.read_summary(run.run_dir)["steps_trained"] == 300
    log = run_folder.log_path(run.run_dir).read_text()
    assert "resuming" in log and len({ln.split("]")[0] for ln in log.splitlines()
                                      if ln.startswith("$ [worker")}) == 2


def test_a_worker_past_its_memory_limit_is_replaced_and_its_run_resumes(tmp_path):
    """The limit drops below the worker's size while it trains: it is sent SIGTERM, its run
    checkpoints and resumes in a fresh worker (the limit is lifted again meanwhile)."""
    def squeeze(backend, runs, stop):
        if not wait_for_checkpoint(runs, stop):
            return
        backend.max_rss_mb = 1.0
        while not stop.is_set() and not any(w.retiring for w in backend.pool):
            time.sleep(0.01)
        backend.max_rss_mb = None

    backend, failed, out = run_backend(tmp_path, squeeze, **SLOW_RUN)
    assert not failed, out
    assert "grew past the memory limit" in out and backend.replaced == 1
    (run,) = planned(tmp_path, **SLOW_RUN)
    log = run_folder.log_path(run.run_dir).read_text()
    assert "stopped by SIGTERM" in log and "resuming" in log
    assert run_folder.read_summary(run.run_dir)["steps_trained"] == 300


@pytest.mark.slow
def test_a_run_that_keeps_losing_its_worker_fails_with_the_reason(tmp_path):
    def keep_killing(backend, runs, stop):
        while not stop.is_set():
            for w in list(backend.pool):
                if w.task is not None and w.ready:
                    try:
                        os.kill(w.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            time.sleep(0.1)

    backend, failed, out = run_backend(tmp_path, keep_killing)
    assert len(failed) == 1 and "worker was lost 3 times (last: killed by SIGKILL)" in failed[0].error


# -- vectorised groups ------------------------------------------------------------------------
def test_runs_differing_only_by_seed_are_grouped(tmp_path):
    runs = planned(tmp_path, model={"values": ["attention", "baseline"]},
                   seed={"values": [0, 1, 2, 3, 4]}, **{"optimizer.lr": {"values": [0.01, 0.003]}})
    groups = seed_groups(runs, 2)
    assert [len(g) for g in groups] == [2, 2, 1] * 4
    for g in groups:
        assert len({(p.run.identity.setting, p.run.identity.variant) for p in g}) == 1
        assert len({p.run.identity.seed for p in g}) == len(g)
    assert sorted(p.run_dir for g in groups for p in g) == sorted(p.run_dir for p in runs)
    assert seed_groups(runs, 1) == [[p] for p in runs]


def test_automatic_groups_hold_each_settings_seeds_and_fill_the_workers(tmp_path):
    runs = planned(tmp_path, model={"values": ["attention", "baseline"]},
                   seed={"values": list(range(25))})
    assert [len(g) for g in seed_groups(runs, None)] == [13, 12, 13, 12]  # at most 20 a group
    assert [len(g) for g in seed_groups(runs[:10], None, workers=1)] == [10]
    assert [len(g) for g in seed_groups(runs[:10], None, workers=4)] == [3, 3, 2, 2]
    assert [len(g) for g in seed_groups(runs[:2], None, workers=4)] == [1, 1]
    for g in seed_groups(runs, None, workers=3):
        assert len({p.run.identity.model for p in g}) == 1
    # a setting that cannot be stacked trains alone
    alone = seed_groups(runs[:4], None, can_stack=lambda p: p.run.identity.seed != 2)
    assert sorted(len(g) for g in alone) == [1, 3]


def test_workers_start_the_groups_with_the_most_updates_first(tmp_path):
    runs = planned(tmp_path, seed={"values": [0, 1, 2]},
                   **{"task.budget.max_steps": {"values": [50, 200, 100]}})
    groups = seed_groups(runs, 2)  # per budget: 2 seeds, then 1 (50, 50, 200, 200, 100, 100)
    ordered = longest_first(groups)
    updates = [len(g) * g[0].run.config.trainer.max_steps for g in ordered]
    assert updates == [400, 200, 200, 100, 100, 50]  # 2 x 200, then ties in their order
    assert [g[0].run.config.trainer.max_steps for g in ordered[1:3]] == [200, 100]
    assert sorted(map(id, ordered)) == sorted(map(id, groups))


def test_a_group_whose_single_runs_are_fused_trains_one_by_one_and_says_so(tmp_path):
    """The adding problem at T = 100 (its single run takes the fused path): the sweep's group
    of two seeds trains them one by one, and the done lines do not call them vectorised."""
    spec = spec_dict(task={"value": "adding"}, seed={"values": [0, 1]},
                     **{"task.budget.max_steps": {"value": 20},
                        "task.budget.val_every_n_steps": {"value": 10}})
    proc = sweep_cli(tmp_path, spec, "--workers", "1")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    done = [line for line in out.splitlines() if line.startswith("done ")]
    assert len(done) == 2 and not any("vectorised" in line for line in done), out
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "runs").rglob("summary.json")]
    assert sorted(s["clock_shared_by"] for s in summaries) == [1, 1]


@pytest.mark.parametrize("extra, message", [
    (["--vectorize-seeds", "4", "--backend", "processes"], "needs --backend workers"),
    (["--vectorize-seeds", "4", "--set", "logger=wandb"], "logger=wandb cannot log"),
    (["--vectorize-seeds", "0"], "--vectorize-seeds 0 must be >= 1"),
])
def test_vectorize_seeds_it_cannot_honour_is_refused_in_one_line(tmp_path, extra, message):
    proc = sweep_cli(tmp_path, spec_dict(seed={"values": [0, 1]}), *extra)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, out
    assert out.strip().splitlines()[-1].startswith("error:") and message in out
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_sigkill_of_a_vectorised_sweep_then_rerun_gives_each_run_exactly_once(tmp_path):
    spec = spec_dict(model={"values": ["attention", "baseline"]}, seed={"values": [0, 1]},
                     **{"task.budget.max_steps": {"value": 300}})
    proc = sweep_cli(tmp_path, spec, "--workers", "2", "--vectorize-seeds", "2",
                     start_new_session=True)
    out, deadline, mid = tmp_path / "runs", time.monotonic() + 600, []
    while time.monotonic() < deadline and proc.poll() is None:
        mid = [c for c in out.rglob("last.ckpt")
               if not run_folder.is_finished(c.parent.parent)]
        if mid:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert mid, "no run had checkpointed before the kill"
    assert len(list(out.rglob("summary.json"))) < 4
    rerun = sweep_cli(tmp_path, spec, "--workers", "2", "--vectorize-seeds", "2")
    log, _ = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, log
    assert "resumed, vectorised x2" in log, log
    summaries = [json.loads(p.read_text()) for p in out.rglob("summary.json")]
    assert sorted((s["model"], s["seed"]) for s in summaries) == [
        ("attention", 0), ("attention", 1), ("baseline", 0), ("baseline", 1)]
    assert all(s["steps_trained"] == 300 and math.isfinite(s["best_val"]) for s in summaries)

"""submitit through Hydra (conf/hydra/launcher/local.yaml and slurm.yaml; the requeue
handling in hydra_plugins/attention_backprop_submitit/submitit_launcher.py): the same runs as
the local runner, and a job signalled like a time limit saves its last checkpoint, is
requeued and ends as if never interrupted. The slow tests run real multiruns on submitit's
local executor."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from project.runs import folder as run_folder
from project.runs.compose import CONF_DIR

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1",
       "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
QUIET = ["trainer.num_threads=1", "trainer.enable_progress_bar=false"]
# 2 tasks x 2 variants x 1 seed, short budgets (every task evaluates on this grid)
GRID = {"task": ["adding", "italypower"], "model": ["attention", "baseline"], "seed": [0],
        "task.budget.max_steps": [100], "task.budget.val_every_n_steps": [25]}
# figures of a run that do not depend on the clock
MEASURED = ("steps_to_target", "reached", "auc", "best_val", "final_val", "test_at_best",
            "test_metrics", "steps_trained", "diverged", "setting", "variant", "seed")


def launcher(name: str):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("train", overrides=[f"hydra/launcher={name}"], return_hydra_config=True)
    return cfg.hydra.launcher


def test_local_and_slurm_launchers_share_all_but_the_executor():
    local, slurm = launcher("local"), launcher("slurm")
    module = "hydra_plugins.attention_backprop_submitit.submitit_launcher"
    assert (local._target_, slurm._target_) == (f"{module}.LocalLauncher",
                                                f"{module}.SlurmLauncher")
    assert local.max_num_timeout > 0 and slurm.max_num_timeout > 0
    shared = ("timeout_min", "max_num_timeout", "cpus_per_task", "mem_gb", "nodes",
              "tasks_per_node", "submitit_folder")
    assert {k: local[k] for k in shared} == {k: slurm[k] for k in shared}
    assert slurm.signal_delay_s > 0


def test_lightning_leaves_requeueing_to_submitit_on_slurm(tmp_path, monkeypatch):
    from lightning.pytorch.plugins.environments import SLURMEnvironment

    from project.runs.compose import compose_train
    from project.training.single import build_trainer
    from project.training.tracker import ConvergenceTracker

    for key, value in dict(SLURM_NTASKS="1", SLURM_JOB_NAME="train", SLURM_JOB_ID="7",
                           SLURM_NODELIST="node1", SLURM_PROCID="0", SLURM_LOCALID="0",
                           SLURM_NODEID="0").items():
        monkeypatch.setenv(key, value)
    cfg = compose_train(["task=adding", *QUIET], tmp_path)
    tracker = ConvergenceTracker(tmp_path, cfg.task.val_metric, cfg.task.direction,
                                 float(cfg.task.target), False)
    trainer, _ = build_trainer(cfg, tmp_path, tracker, False)
    env = trainer._accelerator_connector.cluster_environment
    assert isinstance(env, SLURMEnvironment) and env.auto_requeue is False


def spec_file(path: Path) -> Path:
    params = {k: {"values": v} for k, v in GRID.items()}
    path.write_text(json.dumps({"program": "project/train.py", "method": "grid",
                                "metric": {"name": "steps_to_target", "goal": "minimize"},
                                "parameters": params,
                                "command": ["${env}", "${interpreter}", "-m", "project.train",
                                            "${args_no_hyphens}"]}))
    return path


def multirun_command(runs_root: Path, jobs: Path, overrides: list[str]) -> list[str]:
    return [sys.executable, "-m", "project.train", "-m", "hydra/launcher=local", *overrides,
            *QUIET, f"runs_root={runs_root}", f"hydra.sweep.dir={jobs}"]


def start(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def finish(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    try:
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()[-3000:]


def runs_under(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in run_folder.find_run_dirs(root)
            if run_folder.is_finished(p)}


def curve(run_dir: Path) -> list[dict]:
    """``metrics.csv`` without the clock; a missing value ("" or "nan") reads as None."""
    return [{k: None if math.isnan(v) else v for k, v in row.items() if k != "train_time_s"}
            for row in run_folder.read_curve(run_dir)]


def measured(run_dir: Path) -> dict:
    summary = run_folder.read_summary(run_dir)
    return {k: summary.get(k) for k in MEASURED}


def report_table(source: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "project.report", str(source), "--out",
                          str(source.parent / f"{source.name}_report"), "--resamples", "200"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return (source.parent / f"{source.name}_report" / "main_table.md").read_text()


@pytest.mark.slow
def test_submitit_local_multirun_gives_the_local_runners_runs_and_table(tmp_path):
    local, sub, jobs = tmp_path / "local", tmp_path / "submitit", tmp_path / "jobs"
    overrides = [f"{k}={','.join(map(str, v))}" for k, v in GRID.items()]
    procs = [
        (start([sys.executable, "-m", "project.sweep", str(spec_file(tmp_path / "grid.yaml")),
                "--workers", "2", "--threads", "1", "--out", str(local)],
               tmp_path / "local.log"), tmp_path / "local.log"),
        (start(multirun_command(sub, jobs, overrides), tmp_path / "submitit.log"),
         tmp_path / "submitit.log"),
    ]
    for proc, log in procs:
        finish(proc, log, timeout=300)

    local_runs, sub_runs = runs_under(local), runs_under(sub)
    assert len(local_runs) == 4 and sorted(sub_runs) == sorted(local_runs)
    assert len(list(jobs.glob(".submitit/*/*_result.pkl"))) == 4  # one submitit job per run
    for name, run_dir in local_runs.items():
        assert measured(sub_runs[name]) == measured(run_dir), name
        assert curve(sub_runs[name]) == curve(run_dir), name
        sub_config = run_folder.read_config(sub_runs[name])
        assert sub_config.identity == run_folder.read_config(run_dir).identity, name
        # every measured key alike (how many threads ran it is not one of them)
        assert run_folder.config_differences(sub_config, run_dir) == [], name
    assert report_table(sub) == report_table(local)


def job_process(jobs: Path) -> int | None:
    """The pid of the submitit job (``python -m submitit.core._submit <jobs>/.submitit/...``)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"submitit.core._submit" in args and any(str(jobs).encode() in a for a in args):
            return int(cmdline.parent.name)
    return None


def evaluated_steps(root: Path) -> int:
    curves = list(root.rglob(run_folder.CURVE))
    return len(curve(curves[0].parent)) if curves else 0


@pytest.mark.slow
def test_signalled_job_saves_last_ckpt_is_requeued_and_ends_as_if_uninterrupted(tmp_path):
    # 3000 steps (a few seconds on an idle 2-core CPU, ~1 ms a step): long enough that the
    # signal, sent once step 200 is evaluated, lands well before the end on fast machines too
    # (300 steps ended before it there)
    overrides = ["task=italypower", "model=attention", "seed=0",
                 "task.budget.max_steps=3000", "task.budget.val_every_n_steps=100"]
    reference = start([sys.executable, "-m", "project.train", *overrides, *QUIET,
                       f"runs_root={tmp_path / 'reference'}"], tmp_path / "reference.log")
    jobs = tmp_path / "jobs"
    job = start(multirun_command(tmp_path / "requeued", jobs, overrides), tmp_path / "job.log")
    try:
        deadline = time.monotonic() + 240
        while evaluated_steps(tmp_path / "requeued") < 3:  # steps 0, 100, 200 evaluated
            assert job.poll() is None and time.monotonic() < deadline, "job ended early"
            time.sleep(0.05)
        pid = job_process(jobs)
        assert pid is not None
        time.sleep(0.3)  # usually lands between two evaluations
        os.kill(pid, signal.SIGUSR2)  # what submitit sends before a time limit / preemption
    except BaseException:
        for proc in (job, reference):
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    finish(job, tmp_path / "job.log", timeout=300)
    finish(reference, tmp_path / "reference.log", timeout=300)

    logs = "".join(p.read_text() for p in jobs.glob(".submitit/*/*_log.*"))
    assert "Caught signal SIGUSR2" in logs  # submitit's handler ran ...
    # ... the run took the signal as a SIGTERM, saved last.ckpt at the step's end and stopped
    saved = re.search(r"stopped by SIGTERM; resume point \S+last\.ckpt \(step (\d+)\)", logs)
    assert saved, logs[-3000:]
    assert 200 <= int(saved[1]) < 3000
    assert "Requeued job" in logs
    assert re.search(rf"resuming \S+ from step {saved[1]}\b", logs), logs[-3000:]
    assert len(list(jobs.glob(".submitit/*/*_result.pkl"))) == 1

    (name, ref_dir), = runs_under(tmp_path / "reference").items()
    requeued = runs_under(tmp_path / "requeued")
    assert list(requeued) == [name]
    assert measured(requeued[name]) == measured(ref_dir)
    assert curve(requeued[name]) == curve(ref_dir)

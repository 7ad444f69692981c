"""Faults a long sweep meets: each ends with one line, a non-zero exit, and nothing lost."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from project.cli import error_line
from project.runs.folder import read_curve
from project.cli import USER_ERRORS
from project.training.run import train
from tests.conftest import ROOT, compose_train

TINY = ["task=adding", "task.seq_len=20", "task.data.val_size=100", "task.data.test_size=100",
        "trainer.enable_progress_bar=false", "trainer.num_threads=1"]


def cli(*args: str, run_dir, timeout: int = 180):
    return subprocess.run([sys.executable, "-m", "project.train", *args, f"run_dir={run_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(proc, message: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(message), proc.stderr[-1500:]


def snapshot(folder) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("override,message", [
    ("task.budget.max_steps=abc", "task.budget.max_steps='abc' must be an integer"),
    ("optimizer.lr=fast", "optimizer.lr='fast' must be a number"),
    ("optimizer.lr=-1", "optimizer.lr=-1 must be > 0"),
    ("seed=1.5", "seed=1.5 must be an integer"),
    ("task.seq_len=0", "seq_len=0 must be >= 20"),
    ("task.seq_len=5", "seq_len=5 must be >= 20"),
    ("model.heads=7", "model.heads=7 must be >= 1 and divide the hidden size 100"),
])
def test_wrong_values_fail_before_training_and_write_nothing(override, message, tmp_path):
    with pytest.raises(USER_ERRORS) as e:  # what project.train turns into one line, exit 2
        train(compose_train([*TINY, override], tmp_path))
    assert error_line(e.value).startswith(message)
    assert not list(tmp_path.iterdir())


def test_a_wrong_value_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    """The command line's side of the test above (one process: the exit policy is
    ``project.cli``'s, the same for every user error)."""
    proc = cli(*TINY, "optimizer.lr=fast", run_dir=tmp_path)
    assert proc.returncode == 2
    assert_one_line_error(proc, "error: optimizer.lr='fast' must be a number")
    assert not list(tmp_path.iterdir())  # nothing written


def test_nan_loss_is_recorded_as_diverged(tmp_path):
    proc = cli(*TINY, "optimizer.lr=1e6", "task.budget.max_steps=200", run_dir=tmp_path)
    assert proc.returncode == 0, proc.stderr[-1500:]
    import json
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["diverged"] is True and summary["reached"] is False
    last = proc.stdout.strip().splitlines()[-1]  # the console says it, not just the file
    assert f"DIVERGED (non-finite loss) after step {summary['steps_trained']}" in last, last


def finished_tiny_run(run_dir) -> None:
    proc = cli(*TINY, "task.budget.max_steps=40", "task.budget.val_every_n_steps=20",
               run_dir=run_dir)
    assert proc.returncode == 0, proc.stderr[-1500:]
    (run_dir / "summary.json").unlink()  # as if it had been killed before the end


def set_read_only(paths, read_only: bool) -> None:
    """chmod for ordinary users; root ignores modes, so there the immutable flag is used."""
    for p in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i" if read_only else "-i", str(p)], check=True)
        else:
            p.chmod((0o555 if p.is_dir() else 0o444) if read_only else
                    (0o755 if p.is_dir() else 0o644))


def test_read_only_run_folder_is_refused_and_left_as_it_was(tmp_path):
    run_dir = tmp_path / "run"
    finished_tiny_run(run_dir)
    before = snapshot(run_dir)
    paths = [run_dir, *run_dir.rglob("*")]
    set_read_only(paths, True)
    try:
        proc = cli(*TINY, "task.budget.max_steps=40", "task.budget.val_every_n_steps=20",
                   run_dir=run_dir)
    finally:
        set_read_only(paths, False)
    assert_one_line_error(proc, f"error: run folder {run_dir} is not writable")
    assert snapshot(run_dir) == before


@pytest.mark.parametrize("damage", ["truncated", "unsafe_pickle"])
def test_unreadable_checkpoint_is_refused_not_silently_restarted(damage, tmp_path):
    finished_tiny_run(tmp_path)
    last = tmp_path / "checkpoints" / "last.ckpt"
    if damage == "truncated":
        last.write_bytes(last.read_bytes()[:500])
    else:  # loads only with weights_only=False: arbitrary code on load is never allowed
        torch.save({"state_dict": {}, "payload": subprocess.CompletedProcess("x", 0)}, last)
    before = snapshot(tmp_path)
    proc = cli(*TINY, "task.budget.max_steps=40", "task.budget.val_every_n_steps=20",
               run_dir=tmp_path)
    assert_one_line_error(proc, f"error: cannot resume: checkpoint {last} is unreadable")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_exits_cleanly_and_the_rerun_finishes(tmp_path):
    args = [*TINY, "task.budget.max_steps=1000", "task.budget.val_every_n_steps=50",
            "task.stop_at_target=false"]
    proc = subprocess.Popen([sys.executable, "-m", "project.train", *args, f"run_dir={tmp_path}"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until training is under way (two evaluations)
        csv = tmp_path / "metrics.csv"
        if csv.exists() and len(read_curve(csv.parent)) >= 2:
            break
        time.sleep(0.2)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr[-1500:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("stopped by SIGTERM; resume point")
    step = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert 50 <= step < 1000 and f"(step {step})" in stderr
    assert not (tmp_path / "summary.json").exists()
    rows = read_curve(tmp_path)
    assert [r["step"] for r in rows] == list(range(0, 50 * len(rows), 50))

    rerun = subprocess.run([sys.executable, "-m", "project.train", *args, f"run_dir={tmp_path}"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-1500:]
    # a resume, not a restart from step 0 (which would end with the same curve)
    assert f"resuming {tmp_path} from step {step}\n" in rerun.stdout, rerun.stdout[-1500:]
    rows = read_curve(tmp_path)
    assert [r["step"] for r in rows] == list(range(0, 1001, 50))


def test_a_failed_job_does_not_stop_a_hydra_multirun(tmp_path):
    """lr=-1 fails its two jobs with one line each; the other two finish; exit 1 at the end."""
    proc = subprocess.run(
        [sys.executable, "-m", "project.train", "-m", "model=attention,baseline",
         "optimizer.lr=-1,3e-3", *TINY, "task.budget.max_steps=20",
         "task.budget.val_every_n_steps=10", f"runs_root={tmp_path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "2 run(s) failed:" in proc.stderr
    assert proc.stderr.count("error: optimizer.lr=-1 must be > 0") == 2
    finished = sorted(p.parent.relative_to(tmp_path).parts[1] for p in
                      tmp_path.rglob("summary.json"))
    assert finished == ["attention", "baseline"]


def test_a_read_only_runs_root_names_runs_root(tmp_path):
    """The folder was derived from ``runs_root``: the remedy names that key, not run_dir."""
    root = tmp_path / "runs"
    root.mkdir()
    set_read_only([root], True)
    try:
        with pytest.raises(USER_ERRORS) as e:
            train(compose_train([*TINY, f"runs_root={root}"], None))
    finally:
        set_read_only([root], False)
    assert error_line(e.value).endswith("set runs_root to a folder you can write to"), \
        error_line(e.value)

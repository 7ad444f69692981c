"""Fault injection: the ten ways issue #13 found to lose work or get a wrong figure silently.

Each test does the damage a user or a machine would do, then checks the principle: the run
folder is checked before it is trusted, one process owns a folder, every refusal is one
``error:`` line naming the file or key and the remedy (nothing half-written or left empty),
W&B never prompts and keeps its history after a kill, and checkpoints are written atomically
inside the run folder. What the suite guarantees, case by case: docs/faults.md.
"""

from __future__ import annotations

import errno
import json
import os
import pty
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from project.runs import folder as run_folder
from project.runs.folder import ConfigChanged, DamagedRunFolder, RunFolderInUse, read_curve
from project.training.run import train
from tests.conftest import ROOT, compose_train

pytestmark = pytest.mark.slow

# T=20 adding problem, evaluated at 0, 20, 40, 60; the whole budget is trained.
RUN = ["task=adding", "task.seq_len=20", "task.data.val_size=100", "task.data.test_size=100",
       "task.budget.max_steps=60", "task.budget.val_every_n_steps=20",
       "task.stop_at_target=false", "optimizer.lr=0.003"]  # the rate these scenarios were sized at
GRID = [0, 20, 40, 60]
FIGURES = ("steps_to_target", "reached", "auc", "best_val", "final_val", "test_at_best",
           "steps_trained", "train_time_s")
ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def cli(*args: str, env=None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "project.train", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env or ENV,
                          stdin=subprocess.DEVNULL)


def one_error_line(proc, start: str, status: int = 2) -> str:
    """The process failed with exactly one ``error:`` line (no traceback) starting ``start``."""
    assert proc.returncode == status, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(start), proc.stderr[-2000:]
    return errors[0]


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict]:
    """One uninterrupted run: its folder and its summary (the reference)."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    summary = train(compose_train(RUN, run_dir))
    assert [r["step"] for r in read_curve(run_dir)] == GRID
    return run_dir, summary


def unfinished_copy(finished, tmp_path: Path) -> Path:
    """The finished run as if killed after its last checkpoint, before its summary."""
    run_dir = tmp_path / "run"
    shutil.copytree(finished[0], run_dir)
    run_folder.summary_path(run_dir).unlink()
    return run_dir


# -- 1. a resumed run whose curve does not reach its checkpoint -------------------------------
def cut_curve(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))  # header + steps 0 and 20 of 0..60


def doubled_rows(path: Path) -> None:  # two processes appending to one curve
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([lines[0], *lines[1:3], *lines[2:]]))


@pytest.mark.parametrize("damage", [lambda p: p.unlink(), cut_curve, doubled_rows],
                         ids=["deleted", "cut", "doubled-rows"])
def test_1_a_curve_that_misses_the_checkpoint_is_refused_not_summarised(damage, finished,
                                                                        tmp_path):
    run_dir = unfinished_copy(finished, tmp_path)
    damage(run_folder.curve_path(run_dir))
    with pytest.raises(DamagedRunFolder, match=r"metrics\.csv does not match the resume point "
                       r".*last\.ckpt \(step 60\).*resume=never"):
        train(compose_train(RUN, run_dir))
    assert not run_folder.summary_path(run_dir).exists()
    # the remedy: train again from step 0, which gives the uninterrupted run's figures
    again = train(compose_train([*RUN, "resume=never"], run_dir))
    assert [r["step"] for r in read_curve(run_dir)] == GRID
    for key in FIGURES[:-1]:  # all but the clock
        assert again[key] == finished[1][key], key


def test_1_an_intact_folder_resumes_to_the_same_summary(finished, tmp_path, capsys):
    """The control: killed after its last checkpoint, resumed with nothing left to train, the
    run is summarised from its whole curve (it once summarised an empty one)."""
    run_dir = unfinished_copy(finished, tmp_path)
    again = train(compose_train(RUN, run_dir))
    assert f"resuming {run_dir} from step 60" in capsys.readouterr().out
    for key in FIGURES:
        assert again[key] == finished[1][key], key


def test_1_killed_while_testing_after_meeting_its_target_it_trains_no_further(tmp_path):
    """stop_at_target ended the run early; killed before its summary (testing can be long) and
    resumed, it stops where it stopped instead of training on to the next evaluation."""
    early = [*RUN, "task.stop_at_target=true", "task.target=0.12"]
    reference = train(compose_train(early, tmp_path / "ref"))
    assert reference["reached"] and reference["steps_trained"] < 60  # it did stop early
    run_dir = unfinished_copy((tmp_path / "ref", reference), tmp_path)
    again = train(compose_train(early, run_dir))
    for key in FIGURES:
        assert again[key] == reference[key], key


# -- 2. a truncated summary.json ----------------------------------------------------------------
def sweep(spec: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "project.sweep", str(spec), "--workers", "1",
                           "--out", str(out), *extra], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=600)


def write_spec(tmp_path: Path, models: list[str]) -> Path:
    params = {o.split("=")[0]: {"value": yaml.safe_load(o.split("=")[1])} for o in RUN}
    params["task.budget.max_steps"] = {"value": 40}
    params["model"] = {"values": models}
    spec = {"program": "project/train.py", "method": "grid",
            "metric": {"name": "steps_to_target", "goal": "minimize"},
            "command": ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"],
            "parameters": params}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_2_a_truncated_summary_is_named_by_train_and_sweep_and_rebuilt_on_request(tmp_path):
    spec, out = write_spec(tmp_path, ["baseline"]), tmp_path / "runs"
    first = sweep(spec, out)
    assert first.returncode == 0, first.stdout[-2000:]
    (path,) = out.rglob("summary.json")
    original = json.loads(path.read_text())
    path.write_text(path.read_text()[:400])  # cut mid-file (a copy interrupted, a full disk)
    damaged = path.read_bytes()

    proc = cli(*RUN, "task.budget.max_steps=40", "model=baseline", f"run_dir='{path.parent}'")
    one_error_line(proc, f"error: {path} is damaged (")
    assert "delete it and rerun" in proc.stderr

    rerun = sweep(spec, out)  # neither counted finished nor trained again
    assert rerun.returncode == 1, rerun.stdout[-2000:]
    assert "(0 finished, 0 to run, 1 damaged)" in rerun.stdout
    assert f"{path} is damaged" in rerun.stdout.replace("\n", "")
    assert path.read_bytes() == damaged

    path.unlink()  # the remedy: the run is rebuilt from its checkpoint and curve
    rebuilt = sweep(spec, out)
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:]
    again = json.loads(path.read_text())
    for key in FIGURES:
        assert again[key] == original[key], key


# -- 3. two processes on one run folder ---------------------------------------------------------
def test_3_a_second_train_on_an_owned_folder_says_who_owns_it(finished, tmp_path):
    run_dir = unfinished_copy(finished, tmp_path)
    before = snapshot(run_dir)
    with run_folder.claim(run_dir):  # this test process owns it, as a running train would
        proc = cli(*RUN, f"run_dir={run_dir}")
    line = one_error_line(proc, f"error: run folder {run_dir} is in use by pid {os.getpid()} on ",
                          status=RunFolderInUse.EXIT_STATUS)
    assert "wait for it to end" in line
    assert snapshot(run_dir) == before  # nothing touched, the lock file gone with its owner


def test_3_two_sweep_runners_on_one_out_train_each_run_once(tmp_path):
    spec, out = write_spec(tmp_path, ["attention", "baseline"]), tmp_path / "runs"
    cmd = [sys.executable, "-m", "project.sweep", str(spec), "--workers", "1", "--out", str(out)]
    runners = [subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=900)[0] for r in runners]
    assert [r.returncode for r in runners] == [0, 0], outputs
    for run_dir in [p.parent for p in out.rglob("summary.json")]:
        assert [r["step"] for r in read_curve(run_dir)] == [0, 20, 40]  # no doubled rows
        log = run_folder.log_path(run_dir).read_text()
        assert log.count(f"-> {run_dir}") == 1, log  # one process trained it to its end
    assert len(list(out.rglob("summary.json"))) == 2
    assert sum(o.count("(by another process)") for o in outputs) == 2, outputs


# -- 4. resuming under an edited config ---------------------------------------------------------
def test_4_resuming_under_a_config_that_measures_something_else_is_refused(finished, tmp_path):
    run_dir = unfinished_copy(finished, tmp_path)
    before = snapshot(run_dir)
    with pytest.raises(ConfigChanged, match=r"cannot resume .*optimizer\.lr: 0\.003 -> 0\.01.*"
                                            r"resume=never"):
        train(compose_train([*RUN, "optimizer.lr=0.01"], run_dir))
    assert snapshot(run_dir) == before  # config.yaml not overwritten, nothing trained


# -- 5. unwritable places -----------------------------------------------------------------------
def test_5_places_that_cannot_hold_a_run_folder_give_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    proc = cli(*RUN, f"run_dir={blocker}/run")
    one_error_line(proc, f"error: run folder {blocker}/run: {blocker} is a file, not a folder")
    proc = cli(*RUN, "run_dir=/proc/suite_run")
    one_error_line(proc, "error: cannot create run folder /proc/suite_run (")
    assert not Path("/proc/suite_run").exists() and blocker.read_text() == "not a folder"

    spec = write_spec(tmp_path, ["baseline"])
    for out, start in [(blocker, f"error: runs folder {blocker}: {blocker} is a file"),
                       (Path("/proc/suite_runs"), "error: cannot create runs folder /proc")]:
        proc = sweep(spec, out)
        one_error_line(proc, start)
        assert "set --out to" in proc.stderr


@pytest.mark.parametrize("override,message", [("seed=abc", "seed='abc' must be an integer"),
                                              ("optimizer.lr=-1", "optimizer.lr=-1 must be > 0"),
                                              ("task.seq_len=0", "seq_len=0 must be >= 20")])
def test_5_refused_values_leave_no_folder(override, message, tmp_path):
    from hydra.errors import InstantiationException

    from project.cli import error_line

    with pytest.raises((ValueError, InstantiationException)) as refused:
        train(compose_train([*RUN, override, f"runs_root={tmp_path}/runs"], None))
    assert error_line(refused.value).startswith(message)
    assert not (tmp_path / "runs").exists()


def test_5_read_only_run_folder_is_refused_untouched(finished, tmp_path):
    run_dir = unfinished_copy(finished, tmp_path)
    before = snapshot(run_dir)
    paths = [run_dir, *run_dir.rglob("*")]
    read_only(paths, True)
    try:
        with pytest.raises(PermissionError, match=f"run folder {run_dir} is not writable"):
            train(compose_train(RUN, run_dir))
    finally:
        read_only(paths, False)
    assert snapshot(run_dir) == before


def read_only(paths, on: bool) -> None:
    """chmod for ordinary users; root ignores modes, so there the immutable flag is used."""
    for p in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i" if on else "-i", str(p)], check=True)
        else:
            p.chmod((0o555 if p.is_dir() else 0o444) if on else (0o755 if p.is_dir() else 0o644))


# -- 6. a budget shorter than one evaluation interval -------------------------------------------
def test_6_a_budget_shorter_than_one_evaluation_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match=r"trainer\.max_steps=10 is shorter than one evaluation "
                                         r"interval \(trainer\.val_every_n_steps=20\)"):
        train(compose_train([*RUN, "trainer.max_steps=10", f"runs_root={tmp_path}/runs"], None))
    assert not (tmp_path / "runs").exists()


# -- 7. divergence ------------------------------------------------------------------------------
def test_7_divergence_is_said_on_the_console_and_in_the_summary(tmp_path):
    summary = train(compose_train([*RUN, "optimizer.lr=1e6"], tmp_path))
    assert summary["diverged"] is True and summary["reached"] is False
    line = run_folder.describe_summary(summary, tmp_path)
    assert "DIVERGED (non-finite loss)" in line and "censored" not in line


# -- 8. W&B online without a key, in a terminal --------------------------------------------------
def run_in_terminal(cmd: list[str], env: dict, timeout: float) -> tuple[int | None, str]:
    """Run ``cmd`` with a pseudo-terminal as stdin/stdout/stderr; stop at W&B's login menu."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                out += chunk
                if b"Enter your choice" in out or b"Create a W&B account" in out:
                    break  # the login menu: it would wait forever
            elif proc.poll() is not None:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    return proc.returncode, out.decode(errors="replace")


def test_8_wandb_online_without_a_key_in_a_terminal_logs_offline_without_asking(tmp_path):
    env = {k: v for k, v in ENV.items() if k not in ("WANDB_API_KEY", "NETRC")}
    env.update(WANDB_MODE="online", HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    status, output = run_in_terminal(
        [sys.executable, "-m", "project.train", *RUN, "task.budget.max_steps=20", "logger=wandb",
         f"run_dir={tmp_path / 'run'}"], env, timeout=300)
    assert "Enter your choice" not in output, output[-2000:]
    assert status == 0, output[-2000:]
    assert "no API key found (mode online asked for" in output
    assert run_folder.summary_path(tmp_path / "run").exists()


# -- 9. W&B history after a kill ----------------------------------------------------------------
def test_9_wandb_history_is_whole_after_a_kill_and_the_reader_skips_the_empty_segment(tmp_path):
    from project.analysis.wandb_offline import find_wandb_files, load_offline_runs

    run_dir = tmp_path / "run"
    env = {**ENV, "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "tests.training.kill_switch", str(run_dir), "train", "45",
           *RUN, "task.budget.max_steps=80", "logger=wandb"]
    killed = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    cmd[4:6] = ["none", "-1"]
    time.sleep(1.1)  # W&B names segment folders by the second
    resumed = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {run_dir} from step 40" in resumed.stdout
    assert len(find_wandb_files(run_dir)) == 2

    runs, curves = load_offline_runs(run_dir)  # crashed with KeyError 'id' on an empty segment
    assert len(runs) == 1 and runs.iloc[0]["seed"] == 0
    local = read_curve(run_dir)
    assert curves["step"].tolist() == [r["step"] for r in local] == [0, 20, 40, 60, 80]
    assert curves["val/acc"].tolist() == pytest.approx([r["val/acc"] for r in local])


# -- 10. checkpoints: atomic inside the run folder ----------------------------------------------
def trainer_checkpoint_io(run_dir: Path):
    """The checkpoint writer of the trainer a run builds (``build_trainer``)."""
    from project.training.single import build_trainer
    from project.training.tracker import ConvergenceTracker

    cfg = compose_train(RUN, run_dir)
    tracker = ConvergenceTracker(run_dir, "val/acc", "max", 1.0)
    trainer, _ = build_trainer(cfg, run_dir, tracker, False)
    return trainer.strategy.checkpoint_io


def test_10_a_checkpoint_copy_cut_short_across_filesystems_keeps_the_resume_point(
        tmp_path, monkeypatch):
    """The system temp folder on another filesystem (tmpfs, node-local scratch): renaming from
    it fails with EXDEV, so a writer that goes through it copies into place, and a kill or a
    full disk during that copy truncates the resume point."""
    run_dir, scratch = tmp_path / "run", tmp_path / "scratch"
    (run_dir / "checkpoints").mkdir(parents=True)
    scratch.mkdir()
    io = trainer_checkpoint_io(run_dir)
    last = run_folder.last_checkpoint(run_dir)
    io.save_checkpoint({"global_step": 40, "w": torch.arange(1000.0)}, last)

    real_rename, real_replace = os.rename, os.replace

    def across_filesystems(real):
        def rename(src, dst, *a, **k):
            if Path(src).parent != Path(dst).parent:
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real(src, dst, *a, **k)
        return rename

    def copy_cut_short(src, dst, *a, **k):
        Path(dst).write_bytes(Path(src).read_bytes()[:100])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(os, "rename", across_filesystems(real_rename))
    monkeypatch.setattr(os, "replace", across_filesystems(real_replace))
    monkeypatch.setattr(shutil, "copyfile", copy_cut_short)
    try:
        io.save_checkpoint({"global_step": 60, "w": torch.arange(1000.0) * 2}, last)
    except (OSError, RuntimeError):
        pass
    assert torch.load(last, weights_only=True)["global_step"] in (40, 60)  # whole, either one
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]  # no leftovers


def test_10_a_full_disk_while_saving_keeps_the_previous_checkpoint_and_says_where(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    io = trainer_checkpoint_io(run_dir)
    last = run_folder.last_checkpoint(run_dir)
    io.save_checkpoint({"global_step": 40, "w": torch.zeros(1000)}, last)
    size = last.stat().st_size
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, limits[1]))  # writes past it: EFBIG
    try:
        with pytest.raises(OSError, match=f"cannot write {last} .*then rerun"):
            io.save_checkpoint({"global_step": 60, "w": torch.ones(1000)}, last)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    assert torch.load(last, weights_only=True)["global_step"] == 40
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]

"""The run folder decides finished / unfinished / stale and reads its files back safely."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from project.runs import folder as run_folder

ROOT = Path(__file__).resolve().parents[1]


def test_states(tmp_path):
    tmp_path = tmp_path / "run"
    tmp_path.mkdir()
    assert not run_folder.is_finished(tmp_path) and not run_folder.is_unfinished(tmp_path)
    run_folder.save_config(tmp_path, OmegaConf.create({"task": {"target": 1.0}}))
    assert run_folder.is_unfinished(tmp_path)
    run_folder.write_summary(tmp_path, {"task": "adding", "model": "baseline", "seed": 0})
    assert run_folder.is_finished(tmp_path) and not run_folder.is_unfinished(tmp_path)
    assert run_folder.find_run_dirs(tmp_path.parent) == [tmp_path]
    same = OmegaConf.create({"task": {"target": 1.0}})
    assert not run_folder.is_stale(same, tmp_path)
    assert run_folder.is_stale(OmegaConf.create({"task": {"target": 0.9}}), tmp_path)


def test_summary_is_written_atomically_and_refuses_nan(tmp_path):
    run_folder.write_summary(tmp_path, {"task": "a", "model": "b", "seed": 0})
    with pytest.raises(ValueError):
        run_folder.write_summary(tmp_path, {"task": "a", "model": "b", "seed": float("nan")})
    # the failed write left the old summary whole and no temporary file behind
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_damaged_summary_is_named_with_its_remedy(tmp_path):
    (tmp_path / "summary.json").write_text('{"task": "adding", "model"')
    with pytest.raises(run_folder.DamagedRunFolder, match="summary.json is damaged.*delete it"):
        run_folder.read_summary(tmp_path)


def test_curve_reads_floats_and_blank_cells_as_nan(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,train_time_s,val/acc\n0,0.0,0.5\n10,1.5,\n")
    rows = run_folder.read_curve(tmp_path)
    assert rows[0] == {"step": 0.0, "train_time_s": 0.0, "val/acc": 0.5}
    assert rows[1]["step"] == 10.0 and rows[1]["val/acc"] != rows[1]["val/acc"]


# -- owning a folder (issue #13) ----------------------------------------------------------------
HOLD = ("import sys, time; from project.runs import folder as run_folder\n"
        "with run_folder.claim(sys.argv[1]):\n"
        "    print('held', flush=True); time.sleep(600)\n")


def test_a_second_claim_is_refused_naming_the_owner_and_the_lock_goes_with_it(tmp_path):
    run_dir = tmp_path / "a" / "run"
    with run_folder.claim(run_dir):
        assert run_folder.lock_path(run_dir).exists()
        assert run_folder.lock_holder(run_dir).startswith(f"pid {os.getpid()} on ")
        with pytest.raises(run_folder.RunFolderInUse,
                           match=f"run folder {run_dir} is in use by pid {os.getpid()} on "):
            with run_folder.claim(run_dir, wait_s=0.2):
                pass
    assert run_folder.lock_holder(run_dir) is None
    assert not run_folder.lock_path(run_dir).exists()
    assert not (tmp_path / "a").exists()  # created by the claim, left empty: removed
    with run_folder.claim(run_dir):  # free again
        (run_dir / "kept").write_text("x")
    assert [p.name for p in run_dir.iterdir()] == ["kept"]


def test_the_lock_of_a_killed_owner_is_free_at_once(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout.readline().strip() == "held"
        assert run_folder.lock_holder(tmp_path).startswith(f"pid {owner.pid} on ")
        with pytest.raises(run_folder.RunFolderInUse, match=f"in use by pid {owner.pid} on "):
            with run_folder.claim(tmp_path, wait_s=0.2):
                pass
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert run_folder.lock_holder(tmp_path) is None  # the kernel dropped it: no stale lock
    with run_folder.claim(tmp_path):
        assert run_folder.lock_holder(tmp_path).startswith(f"pid {os.getpid()} on ")


def test_places_that_cannot_be_run_folders_fail_in_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(NotADirectoryError) as e:
        run_folder.make_folder(blocker / "run")
    assert str(e.value) == (f"run folder {blocker}/run: {blocker} is a file, not a folder: "
                            "move it away or set run_dir to another folder")
    with pytest.raises(PermissionError, match=r"^cannot create runs folder /proc/x/y \(.*\): "
                                              "set --out to a folder you can write to$"):
        run_folder.make_folder("/proc/x/y", "runs folder", "--out")


def test_an_atomic_write_that_fails_keeps_the_old_file_and_names_the_path(tmp_path,
                                                                          monkeypatch):
    path = tmp_path / "summary.json"
    run_folder.write_text_atomic(path, "old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as e:
        run_folder.write_text_atomic(path, "new")
    assert str(e.value).startswith(f"cannot write {path} (No space left on device)")
    assert e.value.errno == errno.ENOSPC
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [path.name]


def curve(tmp_path, steps) -> None:
    (tmp_path / "metrics.csv").write_text(
        "step,train_time_s,val/acc\n" + "".join(f"{s},{s / 10},0.5\n" for s in steps))


def test_check_curve_wants_every_evaluation_up_to_the_checkpoint(tmp_path):
    curve(tmp_path, [0, 10, 20, 30])
    assert [r["step"] for r in run_folder.check_curve(tmp_path, 20, 10)] == [0, 10, 20]
    assert len(run_folder.check_curve(tmp_path, 25, 10)) == 3  # a periodic checkpoint
    for steps, ckpt in [([0, 10], 20), ([0, 10, 10, 20], 20), ([10, 20], 20), ([0, 20], 20)]:
        curve(tmp_path, steps)
        with pytest.raises(run_folder.DamagedRunFolder,
                           match=r"metrics\.csv does not match the resume point .*last\.ckpt "
                                 r"\(step 20\): it should hold the evaluations at steps "
                                 r"0, 10, 20 and holds .*resume=never"):
            run_folder.check_curve(tmp_path, ckpt, 10)
    (tmp_path / "metrics.csv").unlink()
    with pytest.raises(run_folder.DamagedRunFolder, match="holds nothing: the file is missing"):
        run_folder.check_curve(tmp_path, 20, 10)
    (tmp_path / "metrics.csv").write_text("step,train_time_s,val/acc\n0,0.0,0.5\n10,x,0.5\n")
    with pytest.raises(run_folder.DamagedRunFolder, match=r"metrics\.csv is damaged"):
        run_folder.read_curve(tmp_path)


def test_resuming_under_a_config_that_measures_something_else_is_refused(tmp_path):
    saved = {"task": {"target": 1.0, "net": {"hidden": 64}}, "optimizer": {"lr": 0.003},
             "trainer": {"num_threads": 1}}
    run_folder.save_config(tmp_path, OmegaConf.create(saved))
    same_measure = OmegaConf.create({**saved, "trainer": {"num_threads": 2}})
    run_folder.check_resume_config(same_measure, tmp_path)  # threads measure nothing
    edited = OmegaConf.create({**saved, "optimizer": {"lr": 0.01},
                               "task": {"target": 1.0, "net": {"hidden": 32}}})
    assert run_folder.config_differences(edited, tmp_path) == [
        "task.net.hidden: 64 -> 32", "optimizer.lr: 0.003 -> 0.01"]
    with pytest.raises(run_folder.ConfigChanged,
                       match=r"cannot resume .*: it was started under another config "
                             r"\(task\.net\.hidden: 64 -> 32; optimizer\.lr: 0\.003 -> 0\.01, "
                             r"recorded in .*config\.yaml\); .*resume=never"):
        run_folder.check_resume_config(edited, tmp_path)


def test_a_damaged_summary_is_reported_not_counted_finished(tmp_path):
    run_folder.write_summary(tmp_path, {"task": "a", "model": "b", "seed": 0})
    assert run_folder.summary_damage(tmp_path) is None
    (tmp_path / "summary.json").write_text('{"task": "a", "mod')
    assert run_folder.summary_damage(tmp_path).startswith(
        f"{tmp_path / 'summary.json'} is damaged (")

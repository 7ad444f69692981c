"""Uploading resumed offline W&B runs (project/training/wandb_sync.py), checked offline with
the installed wandb CLI: every segment is listed, in order, in one `wandb sync` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from project.sync_wandb import main
from project.training.wandb_sync import offline_segments, sync_command

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}

SEGMENT = textwrap.dedent("""
    import sys, wandb
    run = wandb.init(project="p", id=sys.argv[2], resume="allow", mode="offline",
                     dir=sys.argv[1], settings=wandb.Settings(console="off",
                     x_disable_stats=True))
    run.define_metric("val/acc", step_metric="trainer/global_step")
    for step in range(int(sys.argv[3]), int(sys.argv[3]) + 2):
        run.log({"trainer/global_step": step, "val/acc": step / 10})
    run.finish()
""")


def make_dir(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / f"run-{name.rsplit('-', 1)[1]}.wandb").write_bytes(b"")
    return path


def test_segments_of_a_run_are_grouped_and_ordered_by_start_time(tmp_path):
    later = make_dir(tmp_path / "a/wandb", "offline-run-20260102_000000-abc")
    first = make_dir(tmp_path / "a/wandb", "offline-run-20260101_235959-abc")
    other = make_dir(tmp_path / "b/wandb", "offline-run-20260101_120000-xyz")
    (tmp_path / "a/wandb/latest-run").symlink_to(later)
    make_dir(tmp_path / "a/wandb", "run-20260101_000000-online")  # online: not a segment
    assert offline_segments(tmp_path) == {"xyz": [other], "abc": [first, later]}
    assert sync_command(tmp_path, entity="me") == [
        "wandb", "sync", "-e", "me", str(other), str(first), str(later)]
    with pytest.raises(LookupError, match="no offline W&B runs"):
        sync_command(tmp_path / "a/wandb/run-20260101_000000-online")


def test_resumed_offline_run_is_uploaded_by_one_command_naming_every_segment(tmp_path,
                                                                             capsys):
    run_dir = tmp_path / "adding/attention/seed0"
    (run_dir / "wandb").mkdir(parents=True)
    for start in (0, 2):  # first job, then the requeued job resuming the same run id
        # W&B names a segment's folder by its start time in whole seconds: a requeued job
        # starts seconds later, so keep two quick segments out of the same second
        time.sleep(1.1 * (start > 0))
        subprocess.run([sys.executable, "-c", SEGMENT, str(run_dir), "res12345", str(start)],
                       env=ENV, check=True, timeout=120, stdin=subprocess.DEVNULL,
                       capture_output=True)
    segments = offline_segments(tmp_path)["res12345"]
    assert len(segments) == 2
    assert [p.parent for p in segments] == [run_dir / "wandb"] * 2

    assert main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == "wandb sync " + " ".join(map(str, segments))

    # the installed wandb accepts the command and would upload both segments' files
    dry = subprocess.run(sync_command(tmp_path, project="p", dry_run=True), env=ENV,
                         capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert dry.returncode == 0, dry.stderr
    listed = re.findall(r"offline-run-\S+/run-res12345\.wandb", dry.stdout + dry.stderr)
    assert "Would sync 2 run(s)" in dry.stdout + dry.stderr
    assert sorted(listed) == sorted(f"{p.name}/run-res12345.wandb" for p in segments)


def test_wandb_cli_has_every_option_the_command_uses():
    out = subprocess.run(["wandb", "sync", "--help"], env=ENV, capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0
    for option in ("-e, --entity", "-p, --project", "--dry-run"):
        assert option in out.stdout
    # 0.31 syncs a resumed run's files in start order by itself (no --append flag)
    assert "in order of start time" in " ".join(out.stdout.split())


def test_docs_give_the_sync_command():
    docs = (ROOT / "docs" / "sweeps.md").read_text()
    assert "python -m project.sync_wandb" in docs

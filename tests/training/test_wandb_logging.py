"""W&B logging: offline by itself, files in the run folder, summary figures, resumable id."""

import json
import os
import subprocess
import sys
import time

import pytest

from project.analysis.local_runs import load_local_curves, load_local_runs
from project.analysis.wandb_offline import find_wandb_files, load_offline_runs_raw
from project.runs.summary import SUMMARY_FIELDS
from project.training.wandb_logging import (RUN_ID_FILE, build_wandb_logger, finish_wandb_run,
                                   resolve_mode)
from tests.conftest import ROOT, compose_train

TINY = ["task=adding", "model=attention", "seed=3", "task.seq_len=20",
        "task.budget.max_steps=40", "task.budget.val_every_n_steps=20",
        "task.data.val_size=100", "task.data.test_size=100", "trainer.enable_progress_bar=false",
        "trainer.num_threads=1", "logger=wandb"]


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory):
    """One tiny training run with ``logger=wandb``, no API key and no WANDB_MODE, in a
    subprocess bounded by a timeout (it must neither prompt nor hang)."""
    tmp = tmp_path_factory.mktemp("wb")
    run_dir, home = tmp / "run", tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("WANDB_MODE", "WANDB_API_KEY", "NETRC")}
    env.update(HOME=str(home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "project.train", *TINY, f"run_dir={run_dir}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_dir, proc.stdout + proc.stderr


def test_offline_by_itself_with_one_line_and_files_in_the_run_folder(wandb_run):
    run_dir, output = wandb_run
    assert output.count("no API key found") == 1
    files = find_wandb_files(run_dir)
    assert len(files) == 1 and files[0].is_relative_to(run_dir / "wandb")
    assert files[0].parent.name.startswith("offline-run-")
    assert (run_dir / RUN_ID_FILE).read_text().strip() in files[0].name


def test_summary_figures_config_and_step_aligned_curves(wandb_run):
    run_dir, _ = wandb_run
    (run,) = load_offline_runs_raw(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {k: run["summary"][k] for k in SUMMARY_FIELDS} == summary
    assert run["state"] == "finished" and run["name"] == "adding-attention-s3"
    assert run["group"] == "adding" and run["tags"] == ["attention", "adding"]
    assert run["config"]["task"]["budget"]["max_steps"] == 40  # the full resolved config
    assert run["summary"]["val/acc"]["max"] == pytest.approx(summary["best_val"])
    # validation curves share metrics.csv's step grid (x axis trainer/global_step)
    local = load_local_curves(load_local_runs(run_dir))
    val = [h for h in run["history"] if "val/acc" in h]
    assert [h["trainer/global_step"] for h in val] == local["step"].tolist() == [0, 20, 40]
    assert [h["val/acc"] for h in val] == pytest.approx(local["val/acc"].tolist())
    assert [h["train_time_s"] for h in val] == pytest.approx(local["train_time_s"].tolist())


def test_resumed_run_continues_the_same_id_and_failure_is_recorded(tmp_path):
    cfg = compose_train(TINY, tmp_path)
    first = build_wandb_logger(cfg, tmp_path)
    rid = first.experiment.id
    finish_wandb_run(first, None)  # a failed attempt: finish still runs, exit code 1
    time.sleep(1.1)  # W&B names run folders by the second: keep the two attempts apart
    second = build_wandb_logger(cfg, tmp_path)
    assert second.experiment.id == rid == (tmp_path / RUN_ID_FILE).read_text().strip()
    finish_wandb_run(second, {"task": "adding", "model": "attention", "seed": 3})
    runs = load_offline_runs_raw(tmp_path)
    assert len(find_wandb_files(tmp_path)) == 2 and len(runs) == 1  # two files, one run
    assert runs[0]["id"] == rid and runs[0]["state"] == "finished"
    assert runs[0]["summary"]["model"] == "attention"


def test_mode_resolution(monkeypatch, capsys, tmp_path):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert resolve_mode("disabled") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert resolve_mode(None) == "offline"  # WANDB_MODE is respected
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("WANDB_MODE", "online")  # ... but online without a key would prompt
    assert resolve_mode(None) == "offline" and resolve_mode("online") == "offline"
    assert capsys.readouterr().out.count("no API key found (mode online asked for") == 2
    monkeypatch.delenv("WANDB_MODE")
    assert resolve_mode(None) == "offline"
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert resolve_mode(None) == "online"
    monkeypatch.setenv("WANDB_MODE", "online")
    assert resolve_mode(None) == "online" and capsys.readouterr().out == ""


def test_reader_skips_a_segment_with_no_records(wandb_run, tmp_path, capsys):
    """A process killed by SIGKILL can leave its W&B file with the header alone; the reader
    failed on it with KeyError 'id' (`python -m project.report wandb-offline:...`)."""
    import shutil

    run_dir, _ = wandb_run
    (path,) = find_wandb_files(run_dir)
    shutil.copytree(path.parent, tmp_path / "wandb" / path.parent.name)
    empty = tmp_path / "wandb" / "offline-run-20000101_000000-killed0" / "run-killed0.wandb"
    empty.parent.mkdir()
    empty.write_bytes(path.read_bytes()[:7])  # the file's header: no records
    (run,) = load_offline_runs_raw(tmp_path)
    assert run["state"] == "finished" and run["summary"]["seed"] == 3
    assert f"warning: skipping {empty}: it holds no W&B run records" in capsys.readouterr().err


def test_reader_falls_back_to_the_wandb_cli(wandb_run, monkeypatch):
    import project.analysis.wandb_offline as offline

    run_dir, _ = wandb_run
    (path,) = find_wandb_files(run_dir)
    direct = offline.read_records(path)
    monkeypatch.setattr(offline, "inspect_command", lambda p: ["false"])
    assert offline.read_records(path) == direct


@pytest.mark.slow
def test_unreachable_server_falls_back_to_offline_without_hanging(tmp_path):
    env = {**os.environ, "WANDB_MODE": "online", "WANDB_API_KEY": "a" * 40,
           "WANDB_BASE_URL": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "project.train", *TINY,
                           "logger.init_timeout=5", f"run_dir={tmp_path}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "online init failed" in proc.stdout
    assert any(p.parent.name.startswith("offline-run-") for p in find_wandb_files(tmp_path))
    (run,) = load_offline_runs_raw(tmp_path)  # the failed online attempt merges by run id
    assert run["state"] == "finished" and run["summary"]["seed"] == 3

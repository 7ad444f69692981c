"""The training entry on every task x model config, shrunk: run folder, summary, curve."""

import json
import math
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from project.runs.folder import find_run_dirs, read_curve
from project.stats.per_run import meets
from project.training.run import train
from project.runs.summary import SUMMARY_FIELDS
from tests.conftest import CONF, ROOT, compose_train

TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml") if not p.stem.startswith("custom"))
HUB_ONLY = {"mnist", "cifar10"}  # no offline copy: exercised through local files in data tests
MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))


def shrink(task: str) -> list[str]:
    extra = ["task.seq_len=20", "task.data.val_size=100", "task.data.test_size=100"] \
        if task in ("adding", "multiply") else []
    return [f"task={task}", "task.budget.max_steps=4", "task.budget.val_every_n_steps=2", *extra]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("task", [t for t in TASKS if t not in HUB_ONLY])
def test_every_task_and_model_trains_a_few_steps(task, model, tmp_path):
    summary = train(compose_train([*shrink(task), f"model={model}"], tmp_path))
    assert set(SUMMARY_FIELDS) <= set(summary)
    assert summary["steps_trained"] == 4 and summary["task"] == task
    assert summary["val_metric"].replace("val/", "test/") in summary["test_metrics"]
    rows = read_curve(tmp_path)
    assert [r["step"] for r in rows] == [0, 2, 4]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "checkpoints/last.ckpt").exists()


def test_summary_agrees_with_the_metrics_csv(tmp_path, tiny_adding):
    summary = train(compose_train([*tiny_adding, "task.target=0.2", "task.stop_at_target=false"],
                                  tmp_path))
    rows = read_curve(tmp_path)
    assert [r["step"] for r in rows] == [0, 20, 40, 60]
    hits = [r["step"] for r in rows if meets(r["val/acc"], 0.2, "max")]
    if hits:
        assert summary["reached"] and summary["steps_to_target"] == hits[0]
        row = next(r for r in rows if r["step"] == hits[0])
        assert summary["time_to_target"] == pytest.approx(row["train_time_s"])
    else:
        assert not summary["reached"] and summary["steps_to_target"] == 60
    assert summary["best_val"] == pytest.approx(max(r["val/acc"] for r in rows))
    assert summary["final_val"] == pytest.approx(rows[-1]["val/acc"])
    assert 0 <= summary["auc"] <= 1 and summary["test_at_best"] is not None


def test_every_evaluation_row_carries_the_training_loss_of_the_step_before(tmp_path, tiny_adding):
    # evaluations every 20 steps, train/loss logged every 100: the step before each evaluation
    # must still log it, or metrics.csv would carry a stale or missing loss
    train(compose_train([*tiny_adding, "trainer.log_every_n_steps=100"], tmp_path))
    rows = read_curve(tmp_path)
    assert [math.isfinite(r.get("train/loss", math.nan)) for r in rows] == [False, True, True, True]


def test_a_run_that_reaches_its_target_stops_there_with_a_consistent_step(tmp_path, tiny_adding):
    # Target: a validation MSE any trained model beats quickly; stop_at_target ends the run.
    summary = train(compose_train([*tiny_adding, "task.val_metric=val/mse", "task.direction=min",
                                   "task.target=0.05", "task.budget.max_steps=400"], tmp_path))
    rows = read_curve(tmp_path)
    assert summary["reached"]
    first = next(r for r in rows if r["val/mse"] <= 0.05)
    assert summary["steps_to_target"] == first["step"] == rows[-1]["step"]
    assert summary["steps_trained"] == first["step"] < 400
    assert 0 < summary["time_to_target"] <= summary["train_time_s"]


def test_non_finite_loss_stops_the_run_as_diverged(tmp_path, tiny_adding):
    summary = train(compose_train([*tiny_adding, "optimizer.lr=1e12", "task.net.activation=relu"],
                                  tmp_path))
    assert summary["diverged"] and not summary["reached"]
    assert summary["steps_to_target"] == 60 and summary["steps_trained"] < 60
    assert (tmp_path / "summary.json").exists()


def test_a_finished_run_is_not_trained_again(tmp_path, tiny_adding):
    first = train(compose_train(tiny_adding, tmp_path))
    mtime = (tmp_path / "summary.json").stat().st_mtime_ns
    assert train(compose_train(tiny_adding, tmp_path)) == first
    assert (tmp_path / "summary.json").stat().st_mtime_ns == mtime


def test_training_leaves_the_callers_config_as_it_was(tmp_path, tiny_adding):
    cfg = compose_train([*tiny_adding, f"runs_root={tmp_path}"], None)
    before = OmegaConf.to_yaml(cfg)
    summary = train(cfg)
    assert OmegaConf.to_yaml(cfg) == before  # no run_dir, no identity written into it
    (run_dir,) = find_run_dirs(tmp_path)  # the folder its identity names under runs_root
    saved = OmegaConf.load(run_dir / "config.yaml")
    assert saved.run_dir == str(run_dir) and saved.identity.setting == summary["setting"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "project.train", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("override,expected", [
    ("task=nope", "Could not find 'task/nope'"),
    ("model=nope", "Could not find 'model/nope'"),
    ("task.no_such_key=1", "Key 'no_such_key' is not in struct"),
])
def test_unknown_names_and_keys_fail_with_hydras_message(override, expected, tmp_path):
    proc = run_cli(override, f"run_dir={tmp_path}")
    assert proc.returncode != 0 and expected in proc.stderr
    if "Could not find" in expected:
        assert "Available options" in proc.stderr  # Hydra lists the valid names


def test_summary_clock_is_the_whole_run_even_when_the_best_checkpoint_is_earlier(tmp_path,
                                                                                  tiny_adding):
    # "best" = highest validation MSE: an early checkpoint, since training lowers the MSE.
    # Testing it restores callback state from that checkpoint; the summary must still carry
    # the run's own clock and step count (the last curve row), not the checkpoint's.
    summary = train(compose_train([*tiny_adding, "task.val_metric=val/mse",
                                   "task.direction=max", "task.target=100",
                                   "task.stop_at_target=false"], tmp_path))
    rows = read_curve(tmp_path)
    best_step = max(rows[1:], key=lambda r: r["val/mse"])["step"]
    assert best_step < rows[-1]["step"], "precondition: the best checkpoint is not the last"
    assert summary["train_time_s"] == pytest.approx(rows[-1]["train_time_s"])
    assert summary["steps_trained"] == 60
    assert summary["step_time_ms"] == pytest.approx(1000 * rows[-1]["train_time_s"] / 60)


def test_validation_and_checkpoint_time_is_not_on_the_training_clock(tmp_path, tiny_adding,
                                                                      monkeypatch):
    import time
    from types import SimpleNamespace

    import lightning as L

    from project.training import tracker

    # The tracker's clock jumps 1000 s in every evaluation and every checkpoint save (a fake
    # clock: deterministic, unlike sleeping). None of that may count as training time.
    skipped = [0.0]
    monkeypatch.setattr(tracker, "time",
                        SimpleNamespace(perf_counter=lambda: time.perf_counter() + skipped[0]))

    class SlowValidation(L.Callback):
        def on_validation_end(self, trainer, pl_module):
            skipped[0] += 1000

        def on_save_checkpoint(self, trainer, pl_module, checkpoint):
            skipped[0] += 1000

    summary = train(compose_train(tiny_adding, tmp_path), callbacks=[SlowValidation()])
    rows = read_curve(tmp_path)
    assert skipped[0] >= 8000  # evaluations at 20 and 40 fall between training batches
    assert summary["train_time_s"] < 1000
    assert rows[-1]["train_time_s"] < 1000

"""Several optimizer updates per Lightning batch (``trainer.updates_per_batch``): the same
updates as one per batch, on the same step grid, and checkpoints from either resume."""

import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from project.runs.folder import read_curve
from project.training.run import train
from project.training.single import updates_per_batch
from tests.conftest import ROOT, compose_train

# dropout makes every update's reseed matter; the cosine schedule, every update's lr step
GROUPED = ["task.net.dropout=0.2", "+scheduler={name:cosine,warmup_steps:7}",
           "task.stop_at_target=false", "trainer.enable_progress_bar=false"]


def figures(rows: list[dict]) -> list[dict]:
    """A curve's figures: every value but the clock (and the NaN train loss of step 0)."""
    return [{k: v for k, v in r.items() if k != "train_time_s" and v == v} for r in rows]


def final_weights(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.parametrize("configured,grid,expected", [
    (25, dict(val=50, max=1000, ckpt=0, log=100), 25),
    (25, dict(val=20, max=60, ckpt=0, log=100), 5),
    (25, dict(val=100, max=5000, ckpt=30, log=100), 5),
    (25, dict(val=8, max=48, ckpt=5, log=100), 1),
    (4, dict(val=20, max=60, ckpt=0, log=0), 4),
    (1, dict(val=50, max=1000, ckpt=0, log=100), 1),
])
def test_updates_per_batch_is_the_largest_divisor_on_the_step_grid(configured, grid, expected):
    t = OmegaConf.create({"updates_per_batch": configured, "val_every_n_steps": grid["val"],
                          "max_steps": grid["max"], "checkpoint_every_n_steps": grid["ckpt"],
                          "log_every_n_steps": grid["log"]})
    assert updates_per_batch(t) == expected
    assert updates_per_batch(t, resumed=1) == 1  # a resumed run keeps its checkpoint's count


def test_a_resumed_run_refuses_a_step_grid_its_checkpoints_count_misses():
    t = OmegaConf.create({"updates_per_batch": 25, "val_every_n_steps": 50, "max_steps": 1000,
                          "checkpoint_every_n_steps": 0, "log_every_n_steps": 100})
    assert updates_per_batch(t, resumed=25) == 25
    t.checkpoint_every_n_steps = 30  # changed on resume: 30 is not a multiple of 25
    with pytest.raises(ValueError, match="trainer.checkpoint_every_n_steps=30: .* 25 updates"):
        updates_per_batch(t, resumed=25)
    assert updates_per_batch(t, resumed=5) == 5


def test_grouped_updates_are_the_updates_of_one_per_batch(tmp_path, tiny_adding):
    """Curves (train loss included), final weights and test figures are bitwise equal."""
    runs = {}
    for k in (1, 4):
        run_dir = tmp_path / f"k{k}"
        summary = train(compose_train([*tiny_adding, *GROUPED, f"trainer.updates_per_batch={k}"],
                                      run_dir))
        runs[k] = (read_curve(run_dir), final_weights(run_dir), summary)
    (curve1, weights1, summary1), (curve4, weights4, summary4) = runs[1], runs[4]
    assert [r["step"] for r in curve4] == [0, 20, 40, 60]
    assert figures(curve4) == figures(curve1)
    assert weights4.keys() == weights1.keys()
    assert all(torch.equal(weights4[n], weights1[n]) for n in weights1)
    assert summary4["test_at_best"] == summary1["test_at_best"]
    assert summary4["steps_trained"] == summary1["steps_trained"] == 60
    for k in (1, 4):  # 60 / k Lightning batches; the schedule stepped once per update
        ckpt = torch.load(tmp_path / f"k{k}" / "checkpoints" / "last.ckpt", weights_only=True)
        assert ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["processed"] \
            == 60 // k
        assert ckpt["lr_schedulers"][0]["last_epoch"] == 60


def to_automatic_optimisation_format(path) -> None:
    """Rewrite a checkpoint as the suite wrote it before updates were grouped: steps counted
    by Lightning's automatic optimisation (the layout read from such a checkpoint), none by
    manual optimisation."""
    ckpt = torch.load(path, weights_only=True)
    loops = ckpt["loops"]["fit_loop"]
    manual = loops["epoch_loop.manual_optimization.optim_step_progress"]
    counts = {key: dict(manual[key]) for key in ("total", "current")}
    loops["epoch_loop.automatic_optimization.optim_progress"] = {"optimizer": {
        "step": counts,
        "zero_grad": {key: {**counts[key], "started": counts[key]["ready"]} for key in counts}}}
    zero = {"ready": 0, "completed": 0}
    loops["epoch_loop.manual_optimization.optim_step_progress"] = {"total": dict(zero),
                                                                   "current": dict(zero)}
    torch.save(ckpt, path)


def kill_switch(run_dir, point: str, step: int, overrides: list[str]):
    cmd = [sys.executable, "-m", "tests.training.kill_switch", str(run_dir), point, str(step),
           *overrides]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_checkpoint_from_automatic_optimisation_resumes_at_its_step(tmp_path, tiny_adding):
    """A run killed inside its evaluation at step 40 (last checkpoint: step 20), its checkpoint
    put in the old layout, resumes at step 20 and ends as the uninterrupted run does."""
    overrides = [*tiny_adding, *GROUPED, "trainer.updates_per_batch=1"]
    killed = kill_switch(tmp_path / "killed", "validation", 40, overrides)
    assert killed.returncode == -9, killed.stderr[-2000:]
    to_automatic_optimisation_format(tmp_path / "killed" / "checkpoints" / "last.ckpt")
    resumed = kill_switch(tmp_path / "killed", "none", -1,
                          [*tiny_adding, *GROUPED])  # the default count: kept at 1
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "train starts at step 20\n" in resumed.stdout, resumed.stdout[-2000:]
    train(compose_train(overrides, tmp_path / "whole"))
    assert figures(read_curve(tmp_path / "killed")) == figures(read_curve(tmp_path / "whole"))
    w1, w2 = final_weights(tmp_path / "killed"), final_weights(tmp_path / "whole")
    assert all(torch.equal(w1[n], w2[n]) for n in w2)


def test_the_progress_bar_counts_optimizer_steps(tmp_path, tiny_adding, capfd):
    """60 steps in 15 batches of 4: the bar ends at 60/60 (Lightning's own would say 15/15)."""
    train(compose_train([*tiny_adding, "trainer.updates_per_batch=4",
                         "trainer.enable_progress_bar=true", "trainer.progress_bar_refresh=8"],
                        tmp_path))
    shown = "".join(capfd.readouterr())  # Lightning's bars write to stdout
    assert "60/60" in shown and "15/15" not in shown

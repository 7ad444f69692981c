"""A resume is checked against the checkpoint's own record (not the editable config.yaml), and
a resumed run's optimizer holds the hyperparameters of the config it claims."""

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf

from project.runs import folder as run_folder
from project.training.run import train
from tests.conftest import compose_train

TINY = ["task=adding", "task.seq_len=20", "task.data.val_size=100", "task.data.test_size=100",
        "task.budget.max_steps=40", "task.budget.val_every_n_steps=20"]


def optimizer_lr(run_dir) -> float:
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return state["optimizer_states"][0]["param_groups"][0]["lr"]


class Crash(L.Callback):
    """A crash right after the checkpoint of step 20 (of 40) is written."""

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit" and trainer.global_step == 20:
            raise RuntimeError("crash")


@pytest.fixture
def killed_run(tmp_path):
    """An unfinished run: its resume point is step 20 of 40."""
    cfg = compose_train(TINY, tmp_path)
    with pytest.raises(RuntimeError, match="crash"):
        train(cfg, callbacks=[Crash()])
    assert run_folder.checkpoint_step(tmp_path) == 20
    return tmp_path, float(cfg.optimizer.lr)


def edit_saved_lr(run_dir, lr: float) -> None:
    """What a user editing ``optimizer.lr`` in the run's config.yaml by hand does."""
    path = run_folder.config_path(run_dir)
    saved = OmegaConf.load(path)
    saved.optimizer.lr = lr
    path.write_text(OmegaConf.to_yaml(saved))


def test_an_edited_config_yaml_does_not_block_the_same_command(killed_run):
    run_dir, lr = killed_run
    edit_saved_lr(run_dir, 0.005)
    summary = train(compose_train(TINY, run_dir))  # the checkpoint says what it was trained under
    assert summary["steps_trained"] == 40
    assert optimizer_lr(run_dir) == lr == summary["hparams"]["lr"]


def test_an_edited_config_yaml_is_not_a_licence_to_resume_at_its_rate(killed_run):
    """The issue's case: config.yaml says 0.005, the command says 0.005, the checkpoint's
    optimizer was trained at the task's rate: refused, naming the checkpoint's record."""
    run_dir, lr = killed_run
    edit_saved_lr(run_dir, 0.005)
    with pytest.raises(run_folder.ConfigChanged, match=r"optimizer.lr: .* -> 0.005.*last.ckpt"):
        train(compose_train([*TINY, "optimizer.lr=0.005"], run_dir))


def test_a_changed_lr_on_the_command_line_is_refused_and_its_advice_works(killed_run):
    run_dir, lr = killed_run
    with pytest.raises(run_folder.ConfigChanged, match="rerun with its settings") as e:
        train(compose_train([*TINY, "optimizer.lr=0.005"], run_dir))
    assert f"optimizer.lr: {lr} -> 0.005" in str(e.value)
    summary = train(compose_train([*TINY, f"optimizer.lr={lr}"], run_dir))  # its settings
    assert summary["steps_trained"] == 40 and optimizer_lr(run_dir) == lr


def test_a_checkpoint_without_a_record_is_checked_by_its_optimizer_state(killed_run):
    """A checkpoint written before records existed is checked against config.yaml; when that
    was edited too, the optimizer state itself refuses the resume."""
    run_dir, lr = killed_run
    last = run_folder.last_checkpoint(run_dir)
    state = torch.load(last, weights_only=True)
    del state[run_folder.RECORD]
    torch.save(state, last)
    edit_saved_lr(run_dir, 0.005)
    with pytest.raises(ValueError, match=rf"optimizer state holds lr={lr}, the config "
                                         r"optimizer.lr=0.005"):
        train(compose_train([*TINY, "optimizer.lr=0.005"], run_dir))

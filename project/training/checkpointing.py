"""The run's two checkpoints: the last one to resume from and the best one to test.

``LastCheckpoint`` keeps the resume point current after each evaluation, every N steps and on
SIGTERM. Lightning writes checkpoints atomically (temporary file, then rename), so a run killed
while saving keeps its previous resume point. ``BestCheckpoint`` is Lightning's
``ModelCheckpoint`` with ties on the validation metric broken by the validation loss.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class LastCheckpoint(L.Callback):
    """Saves ``path`` after every evaluation during fit (after its metrics row is written),
    every ``every_n_steps`` training steps off the evaluation grid, and when SIGTERM arrives."""

    def __init__(self, path: str | Path, every_n_steps: int, val_every_n_steps: int):
        self.path = Path(path)
        self.every, self.val_every = every_n_steps, val_every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        periodic = self.every > 0 and step % self.every == 0 and step % self.val_every != 0
        if periodic or trainer.received_sigterm:
            trainer.save_checkpoint(self.path)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking:
            trainer.save_checkpoint(self.path)


class BestCheckpoint(ModelCheckpoint):
    """Keeps the single best evaluation by ``monitor``; among equal values, the lowest ``tie_break``.

    Lightning keeps the earliest of tied values. On a 20-series validation set accuracy moves
    in steps of 0.05, so ties are the rule and the earliest is often an undertrained model;
    the validation loss tells tied checkpoints apart. The tie-break value is part of the
    callback's state, so a resumed run decides as an uninterrupted one would.
    """

    def __init__(self, dirpath: str | Path, monitor: str, mode: str,
                 tie_break: str = "val/loss"):
        super().__init__(dirpath=dirpath, filename="best", monitor=monitor, mode=mode,
                         save_top_k=1, save_last=False, enable_version_counter=False)
        self.tie_break = tie_break if tie_break != monitor else None
        self.best_tie_break = math.inf

    def check_monitor_top_k(self, trainer, current: torch.Tensor | None = None) -> bool:
        better = super().check_monitor_top_k(trainer, current)
        value = trainer.callback_metrics.get(self.tie_break) if self.tie_break else None
        value = math.inf if value is None or torch.isnan(value) else float(value)
        if not better and current is not None and self.best_model_score is not None:
            better = bool(current == self.best_model_score) and value < self.best_tie_break
        if better:
            self.best_tie_break = value
        return better

    def state_dict(self) -> dict:
        return {**super().state_dict(), "best_tie_break": self.best_tie_break}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.best_tie_break = state_dict.get("best_tie_break", math.inf)


def check_checkpoint(path: Path) -> None:
    """Refuse a checkpoint that cannot be read (truncated, corrupt) with one clear line."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read means the file is unusable
        raise ValueError(f"cannot resume: checkpoint {path} is unreadable "
                         f"({type(e).__name__}); delete it or pass resume=never") from e

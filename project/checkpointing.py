"""``last.ckpt`` for resuming: kept current after each evaluation, every N steps, and on SIGTERM.

Lightning writes checkpoints atomically (temporary file, then rename), so a run killed while
saving keeps its previous ``last.ckpt``. The best-validation checkpoint is Lightning's own
``ModelCheckpoint``; this callback only keeps the resume point.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


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


def check_checkpoint(path: Path) -> None:
    """Refuse a checkpoint that cannot be read (truncated, corrupt) with one clear line."""
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read means the file is unusable
        raise ValueError(f"cannot resume: checkpoint {path} is unreadable "
                         f"({type(e).__name__}); delete it or pass resume=never") from e

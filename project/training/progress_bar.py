"""Lightning's progress bar, counting optimizer steps rather than Lightning batches."""

from __future__ import annotations

from lightning.pytorch.callbacks import TQDMProgressBar


class StepProgressBar(TQDMProgressBar):
    """The training bar runs from 0 to ``max_steps`` in optimizer steps (a training batch
    makes ``trainer.updates_per_batch`` of them); ``refresh_rate`` is in steps too."""

    @property
    def total_train_batches(self) -> int:
        return self.trainer.max_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, trainer.global_step - 1)

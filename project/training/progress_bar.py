"""Lightning's progress bar as the run's one bar: optimizer steps, steps/s and ETA; no bars
for validation or testing (``project.training.console.EvaluationLines`` prints one line per
evaluation instead)."""

from __future__ import annotations

from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"


class StepProgressBar(TQDMProgressBar):
    """The training bar runs from 0 to ``max_steps`` in optimizer steps (a training batch
    makes ``trainer.updates_per_batch`` of them); ``refresh_rate`` is in steps too."""

    @property
    def total_train_batches(self) -> int:
        return self.trainer.max_steps

    @property
    def train_description(self) -> str:
        return "training"

    def init_train_tqdm(self) -> Tqdm:
        bar = super().init_train_tqdm()
        bar.unit, bar.bar_format = " steps", BAR_FORMAT
        return bar

    def _hidden(self) -> Tqdm:
        return Tqdm(disable=True)

    init_sanity_tqdm = init_validation_tqdm = init_test_tqdm = init_predict_tqdm = _hidden

    def on_train_epoch_start(self, trainer, *_) -> None:
        """Lightning's, without renaming the bar "Epoch 0" (the run is one stream of steps)."""
        self.train_progress_bar.reset(total=self.total_train_batches)
        self.train_progress_bar.initial = 0

    def get_metrics(self, trainer, pl_module) -> dict:
        return {}  # figures go on the evaluation lines, not the bar

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, trainer.global_step - 1)

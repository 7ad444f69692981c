"""Lightning callback that records the validation curve and the training clock.

``train_time_s`` counts the forward, backward, optimizer step and data loading of every
training batch; validation, checkpoint saving and the loop's bookkeeping around them are
excluded (the clock pauses from the start of a validation or a checkpoint save until the
next training batch starts). On a GPU the device is synchronised before reading the clock.
Each evaluation appends one row to the run folder's curve (flushed at once).
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import lightning as L
import torch

from project.runs import folder as run_folder
from project.stats.per_run import meets


class ConvergenceTracker(L.Callback):
    """Records (step, train_time_s, val metrics) at every evaluation; optionally stops at target."""

    def __init__(self, run_dir: str | Path, metric: str, direction: str, target: float,
                 stop_at_target: bool = False):
        self.run_dir = Path(run_dir)
        self.path = run_folder.curve_path(run_dir)
        self.metric, self.direction, self.target = metric, direction, target
        self.stop_at_target = stop_at_target
        self.train_time = 0.0
        self.rows: list[dict[str, float]] = []
        self._header: list[str] | None = None  # columns of the file as last written
        self._batch_start: float | None = None
        self._last_end: float | None = None
        self._paused = True
        self._cuda = False

    # -- clock ---------------------------------------------------------------------------
    def _now(self) -> float:
        if self._cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._cuda = trainer.strategy.root_device.type == "cuda"

    def on_train_start(self, trainer, pl_module) -> None:
        """Runs after a checkpoint is restored: on resume keep only the rows up to the restored
        step (later ones belong to training that the checkpoint does not contain)."""
        self._paused = True
        if self.path.exists():
            self.rows = [r for r in run_folder.read_curve(self.run_dir)
                         if r["step"] <= trainer.global_step]
            self._rewrite()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        now = self._now()
        if not self._paused and self._last_end is not None:
            self.train_time += now - self._last_end  # fetching this batch
        self._batch_start, self._paused = now, False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = self._now()
        self.train_time += now - self._batch_start
        self._last_end = now

    def on_validation_start(self, trainer, pl_module) -> None:
        self._paused = True

    def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
        self._paused = True

    # -- curve -----------------------------------------------------------------------------
    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                   if k.startswith(("val/", "train/"))}
        row = {"step": trainer.global_step, "train_time_s": self.train_time, **metrics}
        if not self.record(row):
            return  # already evaluated at this step (e.g. resumed right after an evaluation)
        if self.stop_at_target and meets(metrics.get(self.metric, math.nan), self.target,
                                         self.direction):
            trainer.should_stop = True

    def record(self, row: dict[str, float]) -> bool:
        """Append one evaluation row to the curve (flushed at once); False, and nothing
        written, when the curve already ends at that step. The vectorised-seeds path
        (``project.training.vectorized``) writes each member's curve through this too."""
        if self.rows and self.rows[-1]["step"] == row["step"]:
            return False
        self.rows.append(row)
        self._append(row)
        return True

    def _columns(self) -> list[str]:
        keys = {k for r in self.rows for k in r} - {"step", "train_time_s"}
        return ["step", "train_time_s", *sorted(keys)]

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".csv.tmp")
        self._header = self._columns()
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, self._header, restval="")
            w.writeheader()
            w.writerows({**r, "step": int(r["step"])} for r in self.rows)
        tmp.replace(self.path)

    def _append(self, row: dict[str, float]) -> None:
        if self._header is None or not self.path.exists() or set(row) - set(self._header):
            self._rewrite()  # first row or new columns: rewrite the whole file atomically
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self._header, restval="").writerow(row)
            f.flush()

    # -- checkpointed state ----------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"train_time": self.train_time}

    def load_state_dict(self, state_dict: dict) -> None:
        self.train_time = float(state_dict["train_time"])

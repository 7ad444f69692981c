"""The run's two checkpoints: the last one to resume from and the best one to test.

``LastCheckpoint`` keeps the resume point current after each evaluation, every N steps and on
SIGTERM. ``AtomicCheckpointIO`` writes every checkpoint atomically *inside the run folder*
(temporary file beside it, fsync, rename), so a run killed or out of disk while saving keeps
its previous resume point whole. (Lightning's own save writes into the system temp folder and
moves the file: across filesystems that move is a copy, and a kill during it leaves a
truncated checkpoint.) ``BestCheckpoint`` is Lightning's ``ModelCheckpoint`` with ties on the
validation metric broken by the validation loss (``tie_break_metric``, ``wins_tie``: the rule the vectorised path
applies too). ``check_resume_point`` checks a run folder before a run resumes from it;
``is_vectorized_checkpoint`` tells which executor wrote its resume point.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins import TorchCheckpointIO

from project.runs import folder as run_folder


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, with the file written by ``run_folder.write_bytes_atomic``
    (same folder, fsync, ``os.replace``, folder fsync) instead of through the temp folder."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        run_folder.write_bytes_atomic(path, buffer.getbuffer())


class LastCheckpoint(L.Callback):
    """Saves ``path`` after every evaluation during fit (after its metrics row is written),
    every ``every_n_steps`` training steps off the evaluation grid, and when SIGTERM arrives.

    It also records whether training was stopping when it saved (the target was met with
    ``stop_at_target``), so that a run killed after that evaluation (while testing, say) and
    resumed stops where the uninterrupted run stopped instead of training on."""

    def __init__(self, path: str | Path, every_n_steps: int, val_every_n_steps: int):
        self.path = Path(path)
        self.every, self.val_every = every_n_steps, val_every_n_steps
        self.stopping = False
        self._trainer = None

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._trainer = trainer

    def on_train_start(self, trainer, pl_module) -> None:
        if self.stopping:  # restored from a checkpoint saved as training stopped
            trainer.should_stop = True

    def state_dict(self) -> dict:
        return {"stopping": bool(self._trainer is not None and self._trainer.should_stop)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.stopping = bool(state_dict.get("stopping", False))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        periodic = self.every > 0 and step % self.every == 0 and step % self.val_every != 0
        if periodic or trainer.received_sigterm:
            trainer.save_checkpoint(self.path, weights_only=False)

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking:
            trainer.save_checkpoint(self.path, weights_only=False)


class RunRecord(L.Callback):
    """Puts the run's record (``run_folder.measured_record``: what it measures, on which data)
    into every checkpoint, under ``run_folder.RECORD``: a resume is checked against the
    checkpoint's own record, not against ``config.yaml``, which a user may have edited."""

    def __init__(self, record: dict):
        self.record = record

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint[run_folder.RECORD] = self.record


VECTORIZED_FORMAT = "vectorized-seeds/1"  # a vectorised member's checkpoint (last and best)
TIE_BREAK = "val/loss"


def is_vectorized_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a member checkpoint written by a vectorised-seeds group."""
    path = Path(path)
    if not path.exists():
        return False
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: the single-run path reports it
        return False
    return isinstance(ckpt, dict) and ckpt.get("format") == VECTORIZED_FORMAT


def tie_break_metric(monitor: str, tie_break: str = TIE_BREAK) -> str | None:
    """The metric that breaks ties on ``monitor`` (None when it is ``monitor`` itself)."""
    return tie_break if tie_break != monitor else None


def tie_value(value) -> float:
    """A tie-break value as compared: a missing or NaN one never wins (``inf``)."""
    return math.inf if value is None or math.isnan(float(value)) else float(value)


def wins_tie(current: float, best: float | None, tie: float, best_tie: float) -> bool:
    """THE tie rule: an evaluation equal to the best by the monitored metric replaces it
    when its tie-break value (the validation loss) is lower."""
    return best is not None and current == best and tie < best_tie


class BestCheckpoint(ModelCheckpoint):
    """Keeps the single best evaluation by ``monitor``; among equal values, the lowest ``tie_break``.

    Lightning keeps the earliest of tied values. On a 20-series validation set accuracy moves
    in steps of 0.05, so ties are the rule and the earliest is often an undertrained model;
    the validation loss tells tied checkpoints apart. The tie-break value is part of the
    callback's state, so a resumed run decides as an uninterrupted one would.
    """

    def __init__(self, dirpath: str | Path, monitor: str, mode: str,
                 tie_break: str = TIE_BREAK):
        self._state_key: str | None = None  # before Lightning's init, which may read it
        super().__init__(dirpath=dirpath, filename="best", monitor=monitor, mode=mode,
                         save_top_k=1, save_last=False, enable_version_counter=False)
        self.tie_break = tie_break_metric(monitor, tie_break)
        self.best_tie_break = math.inf

    @property
    def state_key(self) -> str:
        """Lightning's key, built once: it is formatted for every callback hook Lightning calls
        (three per optimizer update), and the settings it names do not change after init."""
        if self._state_key is None:
            self._state_key = super().state_key
        return self._state_key

    def check_monitor_top_k(self, trainer, current: torch.Tensor | None = None) -> bool:
        better = super().check_monitor_top_k(trainer, current)
        value = tie_value(trainer.callback_metrics.get(self.tie_break) if self.tie_break
                          else None)
        if not better and current is not None and self.best_model_score is not None:
            better = wins_tie(float(current), float(self.best_model_score), value,
                              self.best_tie_break)
        if better:
            self.best_tie_break = value
        return better

    def state_dict(self) -> dict:
        return {**super().state_dict(), "best_tie_break": self.best_tie_break}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.best_tie_break = state_dict.get("best_tie_break", math.inf)


def check_checkpoint(path: Path) -> dict:
    """The checkpoint, loaded; one that cannot be read (truncated, corrupt) is refused with one
    clear line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read means the file is unusable
        raise ValueError(f"cannot resume: checkpoint {path} is unreadable "
                         f"({type(e).__name__}); delete it or pass resume=never") from e


def check_resume_point(run_dir: str | Path,
                       val_every_n_steps: int) -> tuple[int, list[dict], int | None]:
    """``(step, rows, updates per batch)``: the step of the run folder's last checkpoint, the
    curve's rows up to it, and the optimizer updates per training batch it was trained with
    (None for a vectorised group's checkpoint), after checking the checkpoint and the curve (an
    unreadable checkpoint, or a curve that does not hold every evaluation up to the
    checkpoint's step, is refused in one line with the remedy). The rows are the resumed run's
    curve so far (its summary is computed from them)."""
    checkpoint = check_checkpoint(run_folder.last_checkpoint(run_dir))
    step = int(checkpoint["global_step"])
    return step, run_folder.check_curve(run_dir, step, val_every_n_steps), \
        updates_per_batch_of(checkpoint)


def updates_per_batch_of(checkpoint: dict) -> int | None:
    """The optimizer updates per Lightning batch a single run's checkpoint was trained with:
    its steps over the batches it processed (1 before steps were grouped); None without
    Lightning's loop state (a vectorised group's checkpoint) or before the first batch."""
    progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress")
    batches = progress["total"]["processed"] if progress else 0
    return int(checkpoint["global_step"]) // batches if batches else None

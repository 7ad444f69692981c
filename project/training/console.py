"""A training run's console: one progress bar, one line per evaluation, the suite's messages only.

* ``quiet_libraries``: every log record is printed once (Lightning's own handler removed, so
  only the root handler Hydra configures prints it) and library chatter below WARNING (the
  GPU/TPU banner, Lightning's litlogger tip, "`Trainer.fit` stopped") is off unless
  ``verbose=true`` or ``SUITE_DEBUG=1``.
* ``progress_bar``: the training bar (steps, steps/s, ETA) in a terminal; none in a log file,
  CI or a batch job's output, where a bar would write carriage-return fragments.
* ``EvaluationLines``: one short line per evaluation (step, the validation metric, the best so
  far, whether the target is reached), printed above the bar in a terminal.

Figures on the console are rounded (``figure``); the run folder's files keep full precision.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import lightning as L

from project.stats.per_run import meets

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning")
# Lightning 2.6's CombinedLoader builds torch's LeafSpec, which torch >= 2.10 deprecates: the
# warning comes from the pairing of the two libraries' versions, not from anything the suite
# does, so it is filtered (by its exact text); verbose shows it.
LIBRARY_VERSION_WARNINGS = (r"`isinstance\(treespec, LeafSpec\)` is deprecated",)


def is_verbose(verbose: bool = False) -> bool:
    """Library banners wanted: the ``verbose`` setting or ``SUITE_DEBUG`` set (as
    ``project.cli`` reads it)."""
    return bool(verbose) or bool(os.environ.get("SUITE_DEBUG"))


def quiet_libraries(verbose: bool = False) -> None:
    """One handler per log record and no library INFO lines unless ``verbose``.

    ``import lightning`` gives its logger a handler of its own (``INFO: ...``) that also
    propagates to the root handler: each message came twice. The handler is removed; records
    go to the root handler (Hydra's, or Python's last-resort one for warnings)."""
    verbose = is_verbose(verbose)
    level = logging.INFO if verbose else logging.WARNING
    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(level)
    if not verbose:
        for text in LIBRARY_VERSION_WARNINGS:
            warnings.filterwarnings("ignore", message=text, category=FutureWarning)


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stdout, where Lightning's bars write) is a terminal."""
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def progress_bar(enabled: bool, refresh_steps: int, stream=None):
    """The training bar (``StepProgressBar``) when ``enabled`` and stdout is a terminal;
    else None, and the run's console is plain lines."""
    if not (enabled and is_terminal(stream)):
        return None
    from project.training.progress_bar import StepProgressBar

    return StepProgressBar(refresh_rate=refresh_steps)


def figure(value: float | None, digits: int = 4) -> str:
    """A metric for the console: ``digits`` significant digits (0.9666666 -> 0.9667)."""
    if value is None:
        return "n/a"
    return f"{value:.{digits}g}"


def write_line(trainer: L.Trainer | None, text: str) -> None:
    """Print ``text`` as one line: above the training bar while one is drawn (the bar is
    redrawn below it), else plainly on stdout."""
    bar = getattr(trainer, "progress_bar_callback", None) if trainer is not None else None
    active = getattr(bar, "_train_progress_bar", None)
    if active is not None and not active.disable:
        active.write(text, file=sys.stdout)
    else:
        print(text, flush=True)


class EvaluationLines(L.Callback):
    """One console line per evaluation the ``tracker`` records (it must run before this
    callback): ``step 200/600: val/acc 0.9444, best 0.9667, target 0.97 not reached (1.6 s)``,
    the seconds being the run's training clock."""

    def __init__(self, tracker, max_steps: int):
        self.tracker, self.max_steps = tracker, int(max_steps)
        self._last_step: int | None = None

    def line(self) -> str:
        """The line for the tracker's last evaluation row."""
        t = self.tracker
        rows = t.rows
        values = [r.get(t.metric) for r in rows]
        finite = [v for v in values if v is not None and v == v]
        best = (max if t.direction == "max" else min)(finite) if finite else None
        reached = next((int(r["step"]) for r, v in zip(rows, values)
                        if v is not None and meets(v, t.target, t.direction)), None)
        goal = (f"target {figure(t.target)} reached at step {reached}" if reached is not None
                else f"target {figure(t.target)} not reached")
        row = rows[-1]
        return (f"step {int(row['step'])}/{self.max_steps}: {t.metric} "
                f"{figure(values[-1])}, best {figure(best)}, {goal} "
                f"({row['train_time_s']:.1f} s training)")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not self.tracker.rows:
            return
        step = int(self.tracker.rows[-1]["step"])
        if step != trainer.global_step or step == self._last_step:
            return  # nothing recorded at this step (already evaluated before a resume)
        self._last_step = step
        write_line(trainer, self.line())

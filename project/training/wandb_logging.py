"""Weights & Biases logging for one run (``logger=wandb``), through Lightning's WandbLogger.

The run is named ``<task>-<model>-s<seed>``, grouped by experiment, with job type = task and
tags = model and task; its config is the full resolved Hydra config. Validation curves use
``trainer/global_step`` as their x axis and keep their best value (max or min) in the run
summary; at the end the run's summary figures join the summary. W&B's files live in
``<run_dir>/wandb``; the run id is kept in ``<run_dir>/wandb_run_id`` so a resumed run
continues the same W&B run. Mode: ``logger.mode``, else ``$WANDB_MODE``, else online when an
API key is configured and offline (said in one line) when none is. It never prompts: online
without an API key (W&B would show its login menu in a terminal and wait) logs offline too.

A resumed run replays the run folder's curve into W&B before its first new row: a process
killed by SIGKILL takes W&B's unwritten records with it (its offline file can hold none), and
the run folder has every evaluation up to the checkpoint, so W&B's history is whole again.
"""

from __future__ import annotations

import math
import os
import secrets
import string
from pathlib import Path

from lightning.pytorch.loggers import WandbLogger
from omegaconf import DictConfig, OmegaConf

from project.runs import folder as run_folder
from project.wandb_credentials import has_api_key

RUN_ID_FILE = "wandb_run_id"
LOWER_IS_BETTER = ("loss", "mse", "mae")


def resolve_mode(configured: str | None) -> str:
    """``online``/``offline``/``disabled``: the config, then ``$WANDB_MODE``, then the API key."""
    mode = configured or os.environ.get("WANDB_MODE")
    if mode and mode != "online":
        return "offline" if mode == "dryrun" else mode
    if has_api_key():
        return "online"
    asked = " (mode online asked for, but W&B would ask to log in)" if mode else ""
    print(f"wandb: no API key found{asked}, logging offline into the run folder "
          "(upload later with `wandb sync <run_dir>/wandb/offline-run-*`)")
    return "offline"


def run_id(run_dir: Path) -> str:
    """The W&B run id kept in the run folder (created on first use: the id ``wandb agent``
    assigned in ``WANDB_RUN_ID`` if there is one, else a fresh random id)."""
    path = Path(run_dir) / RUN_ID_FILE
    if path.exists():
        return path.read_text().strip()
    rid = os.environ.get("WANDB_RUN_ID") or "".join(
        secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    path.write_text(rid + "\n")
    return rid


def metric_direction(name: str, val_metric: str, direction: str) -> str:
    """``max`` or ``min``: the task's direction for its validation metric (also at test time),
    else by name (loss, mse, mae: min)."""
    if name.split("/", 1)[-1] == val_metric.split("/", 1)[-1]:
        return direction
    return "min" if name.rsplit("/", 1)[-1] in LOWER_IS_BETTER else "max"


class GlobalStepWandbLogger(WandbLogger):
    """WandbLogger whose ``trainer/global_step`` is the trainer's optimizer-step count.

    Validation rows also carry ``train_time_s`` (the ConvergenceTracker's training clock), so
    W&B curves can be drawn against seconds as well.

    Inside ``fit`` Lightning logs at the step count before the current batch's increment
    (evaluation after 100 steps lands at 99); the run folder's curve uses
    ``trainer.global_step`` (100). The module handed to ``log_graph`` at the start of every
    ``fit``/``validate``/``test`` gives the trainer, so both records share one step grid.
    """

    _module = None
    replay_dir: Path | None = None  # a resumed run's folder: its curve is replayed once

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        """Nothing: the run's config already is the full resolved Hydra config."""

    def log_graph(self, model, input_array=None) -> None:
        self._module = model
        super().log_graph(model, input_array)

    def log_metrics(self, metrics, step=None) -> None:
        trainer = getattr(self._module, "_trainer", None)
        if trainer is not None and self.replay_dir is not None:
            self.replay_curve(trainer.global_step)
        if trainer is not None:
            step = trainer.global_step
            clock = next((c for c in trainer.callbacks if hasattr(c, "train_time")), None)
            if clock is not None and any(k.startswith("val/") for k in metrics):
                metrics = {**metrics, "train_time_s": clock.train_time}
        super().log_metrics(metrics, step)

    def replay_curve(self, before_step: int) -> None:
        """Log the run folder's evaluations before ``before_step`` that W&B does not have
        (all of them offline, where each resumed segment is a file of its own; online, those
        after the last step W&B received), each at its own ``trainer/global_step``."""
        run_dir, self.replay_dir = self.replay_dir, None
        logged = self.experiment.summary.get("trainer/global_step")
        after = logged if isinstance(logged, (int, float)) else -1
        for row in run_folder.read_curve(run_dir):
            step = int(row["step"])
            if after < step < before_step:
                values = {k: v for k, v in row.items() if k != "step" and not math.isnan(v)}
                super().log_metrics(values, step)


def make_logger(cfg: DictConfig, run_dir: Path, mode: str) -> GlobalStepWandbLogger:
    """The (not yet initialised) logger with this run's name, group, tags and config."""
    import wandb

    from project.training.console import is_verbose

    lc = cfg.logger
    task, model, seed = cfg.task.name, cfg.model.name, int(cfg.seed)
    resumed = (Path(run_dir) / RUN_ID_FILE).exists()  # a W&B run this folder started before
    logger = GlobalStepWandbLogger(
        name=f"{task}-{model}-s{seed}", save_dir=str(run_dir), id=run_id(run_dir),
        project=lc.project, entity=lc.get("entity"), group=lc.get("group") or task,
        job_type=task, tags=[model, task, *lc.get("tags", [])],
        config={**OmegaConf.to_container(cfg, resolve=True), "run_dir": str(run_dir.resolve())},
        mode=mode, resume="allow",
        settings=wandb.Settings(init_timeout=float(lc.get("init_timeout", 60)),
                                console="off", x_disable_stats=True,
                                # W&B's banners and run-history footer only when asked
                                quiet=not is_verbose(cfg.get("verbose", False))),
    )
    logger._wandb_init.pop("anonymous", None)  # deprecated in wandb 0.31 (warns when passed)
    logger.replay_dir = Path(run_dir) if resumed else None
    return logger


def build_wandb_logger(cfg: DictConfig, run_dir: Path) -> WandbLogger:
    """Lightning's WandbLogger for this run, already initialised (metrics defined).

    An online ``wandb.init`` that fails (server unreachable, bad key: bounded by
    ``logger.init_timeout``) falls back to offline logging, said in one line.
    """
    import wandb

    run_dir = Path(run_dir)
    mode = resolve_mode(cfg.logger.get("mode"))
    logger = make_logger(cfg, run_dir, mode)
    try:
        run = logger.experiment  # wandb.init now: fails fast here rather than mid-training
    except wandb.errors.Error as e:
        if mode != "online":
            raise
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        print(f"wandb: online init failed ({reason}); logging offline into "
              "the run folder")
        wandb.teardown()  # release the failed attempt's run id in W&B's service
        logger = make_logger(cfg, run_dir, "offline")
        run = logger.experiment
    val_metric, direction = cfg.task.val_metric, cfg.task.direction
    for metric in ["loss", *cfg.task.metrics]:
        for stage in ("val", "test"):
            name = f"{stage}/{metric}"
            run.define_metric(name, step_metric="trainer/global_step",
                              summary=metric_direction(name, val_metric, direction))
    run.define_metric("train/loss", step_metric="trainer/global_step", summary="min")
    return logger


def finish_wandb_run(logger: WandbLogger, summary: dict | None) -> None:
    """Put the run's summary figures into the run summary and finish the run.

    ``wandb.finish`` always runs; its exit code is 1 when the run failed (no summary).
    """
    import wandb

    try:
        if summary is not None:
            logger.experiment.summary.update(summary)
    finally:
        wandb.finish(exit_code=0 if summary is not None else 1)

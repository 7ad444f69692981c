"""The single-run executor: one run trained by a Lightning ``Trainer``.

Validation runs on a fixed step grid, the test split is read once at the checkpoint with the
best validation value, and the run folder (``project.runs.folder``) is written as it goes,
the summary last (``project.training.protocol``). A run with a resume point resumes from it.
"""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig

from project.runs import folder as run_folder
from project.training import console
from project.training.checkpointing import (AtomicCheckpointIO, BestCheckpoint, LastCheckpoint,
                                            RunRecord, check_resume_point)
from project.training.loggers import build_logger, finish_logger
from project.training.module import PoolingTaskModule
from project.training.protocol import (LocatedRun, initial_network, open_data, plain,
                                       prepare_process, record_config, write_summary)
from project.training.tracker import ConvergenceTracker


def updates_per_batch(t: DictConfig, resumed: int | None = None) -> int:
    """Optimizer updates per Lightning training batch: ``trainer.updates_per_batch`` reduced
    to its largest divisor that divides the run's step grid (evaluations, the last step,
    periodic checkpoints, logging), so that every one of those falls on a batch's end; a
    resumed run keeps the count its checkpoint was written with (``resumed``), and refuses a
    step grid (changed since, e.g. ``trainer.checkpoint_every_n_steps``) that count misses."""
    grid = {"val_every_n_steps": t.val_every_n_steps, "max_steps": t.max_steps,
            "checkpoint_every_n_steps": t.checkpoint_every_n_steps,
            "log_every_n_steps": t.log_every_n_steps}
    grid = {key: int(every) for key, every in grid.items() if every}
    if resumed is not None:
        for key, every in grid.items():
            if every % resumed:
                raise ValueError(f"trainer.{key}={every}: the checkpoint being resumed makes "
                                 f"{resumed} updates per batch, and {every} is not a multiple "
                                 f"of it; resume with a multiple of {resumed}")
        return resumed
    return math.gcd(int(t.updates_per_batch), *grid.values())


def build_trainer(cfg: DictConfig, run_dir: Path, tracker: ConvergenceTracker, logger,
                  extra_callbacks: list[L.Callback] = (),
                  per_batch: int = 1) -> tuple[L.Trainer, BestCheckpoint]:
    """The run's Trainer and its best-checkpoint callback; a training batch makes ``per_batch``
    optimizer updates (``updates_per_batch``), so Lightning's batch-counted intervals (the
    evaluation grid, logging) are the step grid divided by it."""
    t = cfg.trainer
    ckpt = BestCheckpoint(run_folder.checkpoint_dir(run_dir), monitor=cfg.task.val_metric,
                          mode=cfg.task.direction)
    last = LastCheckpoint(run_folder.last_checkpoint(run_dir), t.checkpoint_every_n_steps,
                          t.val_every_n_steps)
    # tracker first: its metrics row is written before the checkpoint of that step
    callbacks = [tracker, last, ckpt, RunRecord(run_folder.measured_record(cfg)),
                 *extra_callbacks,
                 console.EvaluationLines(tracker, t.max_steps)]  # after the tracker's row
    console.quiet_libraries(cfg.get("verbose", False))
    refresh = max(1, t.progress_bar_refresh // per_batch) * per_batch  # whole batches
    if (bar := console.progress_bar(bool(t.enable_progress_bar), refresh)) is not None:
        callbacks.append(bar)  # a terminal's one bar; none in a log file
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, precision=t.precision,
        max_steps=t.max_steps, max_epochs=-1, val_check_interval=t.val_every_n_steps // per_batch,
        check_val_every_n_epoch=None, num_sanity_val_steps=0,
        # a run shorter than the logging interval logs at its end (Lightning warns otherwise)
        log_every_n_steps=min(t.log_every_n_steps, t.max_steps) // per_batch,
        enable_progress_bar=bar is not None, enable_model_summary=False,
        logger=logger, callbacks=callbacks, default_root_dir=str(run_dir),
        deterministic=t.deterministic, inference_mode=False,
        # on SLURM, submitit requeues (hydra_plugins/attention_backprop_submitit), not Lightning
        plugins=[AtomicCheckpointIO(),  # checkpoints written atomically inside the run folder
                 *([SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else [])],
    )
    return trainer, ckpt


def train_single(run: LocatedRun, callbacks: list[L.Callback] = ()) -> dict:
    """Train the located run in its folder, which this process owns (``protocol.open_run``);
    its summary is returned (and written last into the folder). ``callbacks`` are added to
    the suite's own (tracker, checkpoints, progress bar)."""
    prepare_process(run.cfg)
    datamodule, target, target_rule = open_data(run.cfg, int(run.cfg.seed))
    spec = datamodule.spec
    network = initial_network(run.cfg, int(run.cfg.seed), spec)
    cfg = run.cfg
    module = PoolingTaskModule(
        network, task_type=spec.task_type, num_outputs=spec.num_outputs,
        metrics=list(cfg.task.metrics), optimizer=plain(cfg, "optimizer"),
        scheduler=plain(cfg, "scheduler") if cfg.scheduler else None,
        max_steps=cfg.trainer.max_steps, seed=int(cfg.seed),
    )
    run = record_config(run)

    tracker = ConvergenceTracker(run.run_dir, cfg.task.val_metric, cfg.task.direction,
                                 target, bool(cfg.task.stop_at_target))
    logger = build_logger(run.cfg, run.run_dir)
    summary = None
    try:
        summary = fit_and_summarize(run, datamodule, network, module, tracker, logger,
                                    callbacks, target_rule)
    finally:
        finish_logger(logger, summary)
    return summary


def fit_and_summarize(run: LocatedRun, datamodule, network, module, tracker, logger,
                      callbacks: list[L.Callback], target_rule: str = "config value") -> dict:
    """Fit (resuming if possible), test the best checkpoint, write the summary."""
    cfg, run_dir = run.cfg, run.run_dir
    last = run_folder.last_checkpoint(run_dir)
    resume_from = str(last) if run.resumes else None
    resumed_per_batch = None
    if resume_from is not None:  # the curve must reach the checkpoint's step (it is summarised)
        step, tracker.rows, resumed_per_batch = check_resume_point(
            run_dir, int(cfg.trainer.val_every_n_steps))
        print(f"resuming {run_dir} from step {step}")
    per_batch = updates_per_batch(cfg.trainer, resumed_per_batch)
    datamodule.updates_per_batch = per_batch
    trainer, ckpt = build_trainer(cfg, run_dir, tracker, logger, callbacks, per_batch)
    if resume_from is None:
        run_folder.curve_path(run_dir).unlink(missing_ok=True)
        trainer.validate(module, datamodule=datamodule, verbose=False)  # step 0 of the grid
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    # read the run's clock and step now: testing the best checkpoint restores callback state
    # (the tracker's clock included) from that checkpoint
    train_time, steps_trained = tracker.train_time, int(trainer.global_step)

    test_metrics, budget_metrics = None, None
    if ckpt.best_model_path and not module.diverged:  # the weights training ended with
        budget_metrics = module.evaluate(datamodule.test_dataloader(), "test/")
        if (sample := datamodule.train_sample_dataloader()) is not None:
            budget_metrics.update(module.evaluate(sample, "train/"))
    if ckpt.best_model_path and not module.diverged:
        result = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt.best_model_path,
                              verbose=False, weights_only=True)
        test_metrics = {k: float(v) for k, v in result[0].items()}
    return write_summary(
        run, tracker.rows, params=sum(p.numel() for p in network.parameters()),
        target=tracker.target, target_rule=target_rule, steps_trained=steps_trained,
        diverged=module.diverged, test_metrics=test_metrics, train_time_s=train_time,
        batch_size=datamodule.batch_size, device=module.device, budget_metrics=budget_metrics)



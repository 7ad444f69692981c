"""Train one run: compose-checked config in, run folder and summary out.

Validation runs on a fixed step grid, the test split is read once at the checkpoint with the
best validation value, and the run folder (``project.run_folder``) is written as it goes,
the summary last. Rerunning resumes from the last checkpoint; a finished run is returned.
"""

from __future__ import annotations

import math
import resource
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf, open_dict

from project import run_folder
from project.models.build import build_network
from project.run_identity import RunIdentity, identity_of
from project.training.checkpointing import (AtomicCheckpointIO, BestCheckpoint, LastCheckpoint,
                                            check_resume_point)
from project.training.config_check import check_config
from project.training.cpu_allocator import keep_freed_memory
from project.training.loggers import build_logger, finish_logger
from project.training.module import PoolingTaskModule
from project.training.progress_bar import StepProgressBar
from project.training.summary import summarize_run
from project.training.targets import resolve_target
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


def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated, or this process's peak resident set size on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    status = Path("/proc/self/status")
    if status.exists():  # VmHWM: this process's own high-water mark (ru_maxrss survives exec)
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux units: KiB


def resolve_run_dir(cfg: DictConfig, identity: RunIdentity) -> Path:
    """``cfg.run_dir``, or the folder the run's identity names under ``cfg.runs_root``."""
    if cfg.run_dir is None:
        with open_dict(cfg):
            cfg.run_dir = str(Path(cfg.runs_root) / identity.folder())
    return Path(cfg.run_dir)


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
    callbacks = [tracker, last, ckpt, *extra_callbacks]
    if t.enable_progress_bar:
        refresh = max(1, t.progress_bar_refresh // per_batch) * per_batch  # whole batches
        callbacks.append(StepProgressBar(refresh_rate=refresh))
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, precision=t.precision,
        max_steps=t.max_steps, max_epochs=-1, val_check_interval=t.val_every_n_steps // per_batch,
        check_val_every_n_epoch=None, num_sanity_val_steps=0,
        log_every_n_steps=t.log_every_n_steps // per_batch,
        enable_progress_bar=bool(t.enable_progress_bar), enable_model_summary=False,
        logger=logger, callbacks=callbacks, default_root_dir=str(run_dir),
        deterministic=t.deterministic, inference_mode=False,
        # on SLURM, submitit requeues (hydra_plugins/attention_backprop_submitit), not Lightning
        plugins=[AtomicCheckpointIO(),  # checkpoints written atomically inside the run folder
                 *([SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else [])],
    )
    return trainer, ckpt


def train(cfg: DictConfig, callbacks: list[L.Callback] = ()) -> dict:
    """Train one run and return its summary (also written to the run folder); a run already
    finished is not trained again: its summary comes back as ``run_folder.AlreadyFinished``.

    ``callbacks`` are added to the suite's own (tracker, checkpoints, progress bar).
    """
    check_config(cfg)
    identity = identity_of(cfg)
    run_dir = resolve_run_dir(cfg, identity)
    if (finished := run_folder.already_finished(run_dir)) is not None:
        return finished
    if cfg.resume == "auto" and is_vectorized_checkpoint(run_folder.last_checkpoint(run_dir)):
        return resume_vectorized(cfg)  # a member of a vectorised group: resumed as one
    with run_folder.claim(run_dir):  # one process per run folder; a second one is refused
        # finished meanwhile by the owner we raced
        if (finished := run_folder.already_finished(run_dir)) is not None:
            return finished
        if cfg.resume == "auto" and run_folder.last_checkpoint(run_dir).exists():
            run_folder.check_resume_config(cfg, run_dir)
        return train_owned(cfg, identity, run_dir, callbacks)


def is_vectorized_checkpoint(path: Path) -> bool:
    from project.training.vectorized import is_vectorized_checkpoint as check

    return path.exists() and check(path)


def resume_vectorized(cfg: DictConfig) -> dict:
    """Resume a run whose resume point a vectorised-seeds group wrote, by that path (as a
    group of one, from the member checkpoint it wrote)."""
    from project.training.vectorized import train_vectorized

    (outcome,) = train_vectorized([cfg])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def train_owned(cfg: DictConfig, identity: RunIdentity, run_dir: Path,
                callbacks: list[L.Callback]) -> dict:
    """``train`` in a run folder this process owns (``run_folder.claim``)."""
    if cfg.trainer.num_threads:
        torch.set_num_threads(cfg.trainer.num_threads)
    if cfg.trainer.keep_freed_memory:
        keep_freed_memory()

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.task.data, seed=cfg.seed)
    datamodule.setup("fit")
    spec = datamodule.spec
    target, target_rule = resolve_target(cfg.task.target, cfg.task.val_metric, datamodule)
    torch.manual_seed(cfg.seed)  # the network's init depends on the seed alone (paired runs)
    network = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                            OmegaConf.to_container(cfg.model, resolve=True), spec)
    module = PoolingTaskModule(
        network, task_type=spec.task_type, num_outputs=spec.num_outputs,
        metrics=list(cfg.task.metrics),
        optimizer=OmegaConf.to_container(cfg.optimizer, resolve=True),
        scheduler=OmegaConf.to_container(cfg.scheduler, resolve=True) if cfg.scheduler else None,
        max_steps=cfg.trainer.max_steps, seed=int(cfg.seed),
    )
    with open_dict(cfg):
        cfg.identity = identity.to_dict()
    run_folder.save_config(run_dir, cfg)

    tracker = ConvergenceTracker(run_dir, cfg.task.val_metric, cfg.task.direction,
                                 target, bool(cfg.task.stop_at_target))
    logger = build_logger(cfg, run_dir)
    summary = None
    try:
        summary = fit_and_summarize(cfg, run_dir, identity, datamodule, network, module,
                                    tracker, logger, callbacks, target_rule)
    finally:
        finish_logger(logger, summary)
    return summary


def fit_and_summarize(cfg: DictConfig, run_dir: Path, identity: RunIdentity, datamodule,
                      network, module, tracker, logger, callbacks: list[L.Callback],
                      target_rule: str = "config value") -> dict:
    """Fit (resuming if possible), test the best checkpoint, write the summary."""
    last = run_folder.last_checkpoint(run_dir)
    resume_from = str(last) if cfg.resume == "auto" and last.exists() else None
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

    test_metrics = None
    if ckpt.best_model_path and not module.diverged:
        result = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt.best_model_path,
                              verbose=False, weights_only=True)
        test_metrics = {k: float(v) for k, v in result[0].items()}
    summary = summarize_run(
        tracker.rows, identity=identity, params=sum(p.numel() for p in network.parameters()),
        val_metric=cfg.task.val_metric, direction=cfg.task.direction,
        target=tracker.target, target_rule=target_rule, budget=int(cfg.trainer.max_steps),
        steps_trained=steps_trained, diverged=module.diverged,
        test_metrics=test_metrics, train_time_s=train_time,
        batch_size=datamodule.batch_size, peak_mem_mb=peak_memory_mb(module.device),
        hparams={"lr": float(cfg.optimizer.lr), "batch_size": datamodule.batch_size,
                 "hidden": int(cfg.task.net.hidden), "seq_len": cfg.task.get("seq_len")},
    )
    run_folder.write_summary(run_dir, summary)
    return summary



"""Training entry: ``python -m project.train task=adding model=attention seed=0``.

Composes the Hydra config, trains with validation on a fixed step grid, tests the checkpoint
with the best validation value, and writes the run folder: ``config.yaml``, ``metrics.csv``,
``checkpoints/`` and, atomically and last, ``summary.json``. Rerunning the same command
resumes from ``checkpoints/last.ckpt``; a finished run (with ``summary.json``) is not rerun.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

from project.models.build import build_network
from project.checkpointing import BestCheckpoint, LastCheckpoint, check_checkpoint
from project.cpu_allocator import keep_freed_memory
from project.convergence.callback import ConvergenceTracker
from project.loggers import build_logger, finish_logger
from project.module import PoolingTaskModule
from project.run_summary import SUMMARY_NAME, summarize_run, write_json_atomic

# Overrides that do not change what is measured (where, how it is logged or run, the seed).
NOT_CELL_PREFIXES = ("seed", "run_dir", "resume", "logger", "hydra")
# Trainer settings that change how a run executes, not what it measures (trainer.max_steps,
# precision or the evaluation grid do change it).
RUN_MECHANICS = {"trainer", "trainer.accelerator", "trainer.devices", "trainer.num_threads",
                 "trainer.keep_freed_memory", "trainer.enable_progress_bar",
                 "trainer.progress_bar_refresh", "trainer.log_every_n_steps",
                 "trainer.checkpoint_every_n_steps"}


NUMERIC_KEYS = {  # key -> required type, checked before anything is built
    "seed": int, "optimizer.lr": float, "task.target": float, "task.net.hidden": int,
    "task.budget.max_steps": int, "task.budget.val_every_n_steps": int, "model.heads": int,
    "trainer.checkpoint_every_n_steps": int, "trainer.num_threads": int,
}


def check_types(cfg: DictConfig) -> None:
    """Numbers must be numbers: ``task.budget.max_steps=abc`` fails naming the key."""
    for key, kind in NUMERIC_KEYS.items():
        value = OmegaConf.select(cfg, key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is int:
            ok = ok and float(value).is_integer()
        if not ok:
            name = "an integer" if kind is int else "a number"
            raise ValueError(f"{key}={value!r} must be {name}")


def check_config(cfg: DictConfig) -> None:
    """Fail before training, with one line, on values that cannot make a valid run."""
    check_types(cfg)
    task, budget = cfg.task, cfg.task.budget
    if cfg.optimizer.lr <= 0:
        raise ValueError(f"optimizer.lr={cfg.optimizer.lr} must be > 0")
    if task.direction not in ("max", "min"):
        raise ValueError(f"task.direction={task.direction!r}: expected max or min")
    if task.val_metric.split("/", 1)[-1] not in task.metrics:
        raise ValueError(f"task.val_metric={task.val_metric!r} is not among task.metrics "
                         f"{list(task.metrics)}")
    if budget.val_every_n_steps < 1 or budget.max_steps < budget.val_every_n_steps:
        raise ValueError(f"budget: need 1 <= val_every_n_steps ({budget.val_every_n_steps}) "
                         f"<= max_steps ({budget.max_steps})")
    if budget.max_steps % budget.val_every_n_steps:
        raise ValueError(f"budget.max_steps={budget.max_steps} must be a multiple of "
                         f"val_every_n_steps={budget.val_every_n_steps} (a fixed step grid)")


def is_cell_override(override: str) -> bool:
    """Whether a command-line override changes the cell (``task.seq_len=500`` does;
    ``seed=1``, ``trainer.num_threads=1`` and ``task=adding``, already named, do not)."""
    key = override.split("=", 1)[0].lstrip("+~")
    return (key not in ("task", "model", *RUN_MECHANICS)
            and key.split(".")[0] not in NOT_CELL_PREFIXES)


def cell_name(cfg: DictConfig) -> str:
    """The run's cell (task, model, hparams without the seed), from the command line."""
    overrides = []
    if HydraConfig.initialized():
        overrides = [o for o in HydraConfig.get().overrides.task if is_cell_override(o)]
    return ",".join([cfg.task.name, cfg.model.name, *sorted(overrides)])


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


def build_trainer(cfg: DictConfig, run_dir: Path, tracker: ConvergenceTracker, logger,
                  extra_callbacks: list[L.Callback] = ()) -> tuple[L.Trainer, BestCheckpoint]:
    t = cfg.trainer
    ckpt = BestCheckpoint(run_dir / "checkpoints", monitor=cfg.task.val_metric,
                          mode=cfg.task.direction)
    last = LastCheckpoint(run_dir / "checkpoints" / "last.ckpt", t.checkpoint_every_n_steps,
                          t.val_every_n_steps)
    # tracker first: its metrics row is written before the checkpoint of that step
    callbacks = [tracker, last, ckpt, *extra_callbacks]
    if t.enable_progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=t.progress_bar_refresh))
    trainer = L.Trainer(
        accelerator=t.accelerator, devices=t.devices, precision=t.precision,
        max_steps=t.max_steps, max_epochs=-1, val_check_interval=t.val_every_n_steps,
        check_val_every_n_epoch=None, num_sanity_val_steps=0, log_every_n_steps=t.log_every_n_steps,
        enable_progress_bar=bool(t.enable_progress_bar), enable_model_summary=False,
        logger=logger, callbacks=callbacks, default_root_dir=str(run_dir),
        deterministic=t.deterministic, inference_mode=False,
    )
    return trainer, ckpt


def train(cfg: DictConfig, callbacks: list[L.Callback] = ()) -> dict:
    """Train one run and return its summary (also written to ``<run_dir>/summary.json``).

    ``callbacks`` are added to the suite's own (tracker, checkpoints, progress bar).
    """
    check_config(cfg)
    run_dir = Path(cfg.run_dir)
    if (run_dir / SUMMARY_NAME).exists():
        return json.loads((run_dir / SUMMARY_NAME).read_text())
    run_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(run_dir, os.W_OK):
        raise PermissionError(f"run folder {run_dir} is not writable")
    if cfg.trainer.num_threads:
        torch.set_num_threads(cfg.trainer.num_threads)
    if cfg.trainer.keep_freed_memory:
        keep_freed_memory()

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.task.data, seed=cfg.seed)
    datamodule.setup("fit")
    spec = datamodule.spec
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
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)

    tracker = ConvergenceTracker(run_dir, cfg.task.val_metric, cfg.task.direction,
                                 float(cfg.task.target), bool(cfg.task.stop_at_target))
    logger = build_logger(cfg, run_dir)
    summary = None
    try:
        summary = fit_and_summarize(cfg, run_dir, datamodule, network, module, tracker, logger,
                                    callbacks)
    finally:
        finish_logger(logger, summary)
    return summary


def fit_and_summarize(cfg: DictConfig, run_dir: Path, datamodule, network, module, tracker,
                      logger, callbacks: list[L.Callback]) -> dict:
    """Fit (resuming if possible), test the best checkpoint, write ``summary.json``."""
    trainer, ckpt = build_trainer(cfg, run_dir, tracker, logger, callbacks)
    last = run_dir / "checkpoints" / "last.ckpt"
    resume_from = str(last) if cfg.resume == "auto" and last.exists() else None
    if resume_from is not None:
        check_checkpoint(last)
    else:
        (run_dir / "metrics.csv").unlink(missing_ok=True)
        trainer.validate(module, datamodule=datamodule, verbose=False)  # step 0 of the grid
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)

    test_metrics = None
    if ckpt.best_model_path and not module.diverged:
        result = trainer.test(module, datamodule=datamodule, ckpt_path=ckpt.best_model_path,
                              verbose=False, weights_only=True)
        test_metrics = {k: float(v) for k, v in result[0].items()}
    summary = summarize_run(
        tracker.rows, task=cfg.task.name, model=cfg.model.name, seed=int(cfg.seed),
        cell=cell_name(cfg), params=sum(p.numel() for p in network.parameters()),
        val_metric=cfg.task.val_metric, direction=cfg.task.direction,
        target=float(cfg.task.target), budget=int(cfg.trainer.max_steps),
        steps_trained=int(trainer.global_step), diverged=module.diverged,
        test_metrics=test_metrics, train_time_s=tracker.train_time,
        batch_size=datamodule.batch_size, peak_mem_mb=peak_memory_mb(module.device),
        hparams={"lr": float(cfg.optimizer.lr), "batch_size": datamodule.batch_size,
                 "hidden": int(cfg.task.net.hidden), "seq_len": cfg.task.get("seq_len")},
    )
    write_json_atomic(run_dir / SUMMARY_NAME, summary)
    return summary


USER_ERRORS = (ValueError, FileNotFoundError, KeyError, PermissionError, OSError,
               InstantiationException)


def user_error_message(error: BaseException) -> str:
    """The first line of the error that names the problem (unwrapping Hydra's instantiate)."""
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().strip("'\"")
    return text.splitlines()[0] if text else type(error).__name__


def fail(message: str) -> dict:
    """One clear line on stderr and a non-zero exit (set SUITE_DEBUG=1 for the traceback).

    In a Hydra multirun the job returns ``{"error": ...}`` instead, so the launcher goes on
    with the next job; ``MultirunFailures`` lists the failures and exits 1 at the end.
    """
    print(f"error: {message}", file=sys.stderr)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return {"error": message}
    sys.exit(2)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> dict | None:
    try:
        summary = train(cfg)
    except SIGTERMException:
        last = Path(cfg.run_dir) / "checkpoints" / "last.ckpt"
        step = (torch.load(last, map_location="cpu", weights_only=True)["global_step"]
                if last.exists() else 0)
        print(f"stopped by SIGTERM; resume point {last} (step {step}): rerun the same command "
              "to continue", file=sys.stderr)
        sys.exit(143)
    except USER_ERRORS as e:
        if os.environ.get("SUITE_DEBUG"):
            raise
        return fail(user_error_message(e))
    status = "reached" if summary["reached"] else "censored"
    print(f"{summary['task']} {summary['model']} seed={summary['seed']}: {status} at step "
          f"{summary['steps_to_target']}, best {summary['val_metric']}={summary['best_val']}, "
          f"test={summary['test_at_best']} -> {cfg.run_dir}")


if __name__ == "__main__":
    main()

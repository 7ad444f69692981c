"""External experiment loggers by config name (``logger=none|csv|wandb``)."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger


def build_logger(cfg, run_dir: Path) -> Logger | bool:
    """The Lightning logger for ``cfg.logger.name``, writing inside ``run_dir``; False for none."""
    name = cfg.logger.name
    if name == "none":
        return False
    if name == "csv":
        return CSVLogger(save_dir=str(run_dir), name="csv_logs", version="")
    if name == "wandb":
        from project.training.wandb_logging import build_wandb_logger

        return build_wandb_logger(cfg, run_dir)
    raise ValueError(f"logger.name={name!r}: expected none, csv or wandb")


def finish_logger(logger: Logger | bool, summary: dict | None) -> None:
    """Put the run's summary figures into the logger and close it (also after a failure)."""
    if logger is False:
        return
    if isinstance(logger, WandbLogger):
        from project.training.wandb_logging import finish_wandb_run

        finish_wandb_run(logger, summary)
    else:
        logger.finalize("success" if summary is not None else "failed")

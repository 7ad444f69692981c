"""THE run folder: the one module that spells its file names and decides its state.

A run folder holds::

    config.yaml          the resolved config (with the run's identity) it was trained under
    metrics.csv          one row per evaluation: step, train_time_s, val/*, train/*
    checkpoints/         last.ckpt (resume point) and best.ckpt (tested once)
    summary.json         the per-run figures, written atomically and last
    run.log              output of a run launched by a sweep backend

A folder with a readable ``summary.json`` is *finished*; one with a config or a checkpoint
but no summary is *unfinished* (rerunning resumes it); a finished run whose saved config
measures something else than today's config is *stale*. Everyone else asks this module.
"""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

CONFIG = "config.yaml"
CURVE = "metrics.csv"
CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"
BEST = "best"  # Lightning's ModelCheckpoint filename (it adds .ckpt)
SUMMARY = "summary.json"
LOG = "run.log"

# Sections of the config that change what a run measures (a change makes a run stale).
MEASURED_SECTIONS = ("task", "model", "optimizer", "scheduler")


class DamagedRunFolder(ValueError):
    """A file in a run folder cannot be trusted; the message names it and the remedy."""


# -- paths ----------------------------------------------------------------------------------
def config_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CONFIG


def curve_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CURVE


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def last_checkpoint(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / LAST


def summary_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / SUMMARY


def log_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / LOG


# -- writing --------------------------------------------------------------------------------
def write_text_atomic(path: str | Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync it, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | Path, data: Any) -> None:
    """``data`` as JSON (no NaN), written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False, default=float))


def write_summary(run_dir: str | Path, summary: dict) -> None:
    """The run's ``summary.json``, atomically: the last thing a run writes."""
    write_json_atomic(summary_path(run_dir), summary)


def copy_record(src: str | Path, dst: str | Path) -> None:
    """Copy a run's config and curve (not its checkpoints) into ``dst`` (created)."""
    import shutil

    Path(dst).mkdir(parents=True, exist_ok=True)
    for path in (config_path(src), curve_path(src)):
        if path.exists():
            shutil.copy2(path, Path(dst) / path.name)


def save_config(run_dir: str | Path, cfg) -> None:
    """The resolved config as ``config.yaml`` (atomically)."""
    from omegaconf import OmegaConf

    write_text_atomic(config_path(run_dir), OmegaConf.to_yaml(cfg, resolve=True))


# -- reading --------------------------------------------------------------------------------
def read_summary(run_dir: str | Path) -> dict:
    """The parsed ``summary.json``; a damaged one raises ``DamagedRunFolder`` naming it."""
    path = summary_path(run_dir)
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise DamagedRunFolder(f"{path} is damaged ({str(e).splitlines()[0]}): delete it to "
                               "rebuild the run's summary") from e
    if not isinstance(data, dict) or not {"task", "model", "seed"} <= set(data):
        raise DamagedRunFolder(f"{path} is not a run summary (needs task, model, seed): "
                               "delete it to rebuild the run's summary")
    return data


def read_curve(run_dir: str | Path) -> list[dict[str, float]]:
    """Rows of ``metrics.csv`` as floats (empty cells become NaN); [] when there is none."""
    path = curve_path(run_dir)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
                for row in csv.DictReader(f)]


def read_config(run_dir: str | Path):
    """The saved ``config.yaml`` (an OmegaConf DictConfig), or None."""
    from omegaconf import OmegaConf

    path = config_path(run_dir)
    return OmegaConf.load(path) if path.exists() else None


def checkpoint_step(run_dir: str | Path) -> int:
    """The global step stored in ``last.ckpt`` (0 when there is none)."""
    path = last_checkpoint(run_dir)
    if not path.exists():
        return 0
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


# -- state ----------------------------------------------------------------------------------
def is_finished(run_dir: str | Path) -> bool:
    """A ``summary.json`` exists (read it with ``read_summary`` to know it is sound)."""
    return summary_path(run_dir).exists()


def is_unfinished(run_dir: str | Path) -> bool:
    """Started (a config or a resume point) but not finished: rerunning resumes it."""
    return not is_finished(run_dir) and (config_path(run_dir).exists()
                                         or last_checkpoint(run_dir).exists())


def config_changed(config, run_dir: str | Path) -> bool:
    """Whether the saved ``config.yaml`` differs from ``config`` in what it measures
    (``MEASURED_SECTIONS``); False when there is no saved config."""
    from omegaconf import OmegaConf

    saved = read_config(run_dir)
    if saved is None:
        return False
    for key in MEASURED_SECTIONS:
        now, before = OmegaConf.select(config, key), OmegaConf.select(saved, key)
        now = OmegaConf.to_container(now, resolve=True) if OmegaConf.is_config(now) else now
        before = OmegaConf.to_container(before) if OmegaConf.is_config(before) else before
        if now != before:
            return True
    return False


def is_stale(config, run_dir: str | Path) -> bool:
    """A finished run made under a config that measures something else than ``config``."""
    return is_finished(run_dir) and config_changed(config, run_dir)


def find_run_dirs(root: str | Path) -> list[Path]:
    """Every finished run folder under ``root`` (recursively, ``root`` included)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"runs folder not found: {root}")
    return sorted(p.parent for p in root.rglob(SUMMARY))


def describe_summary(summary: dict, run_dir: str | Path) -> str:
    """The one console line that ends a run."""
    if summary.get("diverged"):
        status = f"DIVERGED (non-finite loss) after step {summary['steps_trained']}"
    elif summary["reached"]:
        status = f"reached at step {summary['steps_to_target']}"
    else:
        status = f"censored at step {summary['steps_to_target']}"
    who = summary.get("variant", summary["model"])
    return (f"{summary['task']} {who} seed={summary['seed']}: {status}, best "
            f"{summary['val_metric']}={summary['best_val']}, test={summary['test_at_best']} "
            f"-> {run_dir}")

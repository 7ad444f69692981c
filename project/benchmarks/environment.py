"""What every benchmark records about where it ran, and the services it runs without."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: conf/, docs/, scripts/
OFFLINE = {"WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def use_offline_services() -> None:
    """W&B and the Hugging Face hub offline, unless the caller's environment says otherwise."""
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)


def machine() -> str:
    """``arch, N cores, torch X``."""
    import torch

    return f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def utc_now() -> str:
    """The date and minute, as the benchmark files record them."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, ``a, b, c``."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def header() -> dict[str, str]:
    """``machine`` and ``date``: the head of every benchmark's result."""
    return {"machine": machine(), "date": utc_now()}

"""Shared test helpers: compose the real Hydra configs, shrunk to a tiny CPU setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import DictConfig

from project.runs.compose import CONF_DIR
from project.runs.compose import compose_train as compose_config

ROOT = Path(__file__).resolve().parents[1]
CONF = CONF_DIR

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

TINY = ["trainer.enable_progress_bar=false", "trainer.num_threads=1"]


def compose_train(overrides: list[str], run_dir: Path | str) -> DictConfig:
    """The real ``train`` config with ``overrides``, shrunk to one thread and no bar."""
    return compose_config([*TINY, *overrides], run_dir)


@pytest.fixture
def tiny_adding() -> list[str]:
    """A short adding problem: T=20, 60 steps, evaluated every 20."""
    return ["task=adding", "task.seq_len=20", "task.budget.max_steps=60",
            "task.budget.val_every_n_steps=20", "task.data.val_size=200",
            "task.data.test_size=200"]

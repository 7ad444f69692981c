"""The ``train`` config composed from Python (scripts, tests), as the command line would."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_train(overrides: list[str], run_dir: str | Path) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, writing into ``run_dir``."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=[*overrides, f"run_dir={run_dir}"])

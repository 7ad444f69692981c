"""The ``train`` config composed from Python (scripts, tests, sweeps), as the command line would."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose_defaults(overrides: list[str]) -> DictConfig:
    """``conf/train.yaml`` with ``overrides`` (inside a running Hydra app too)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # under @hydra.main: its search path is conf/
        return compose("train", overrides=overrides)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("train", overrides=overrides)


def compose_train(overrides: list[str], run_dir: str | Path | None = None) -> DictConfig:
    """``conf/train.yaml`` with ``overrides``, writing into ``run_dir`` (default: the
    folder the run's identity names under ``runs_root``)."""
    return compose_defaults([*overrides, *([f"run_dir={run_dir}"] if run_dir else [])])

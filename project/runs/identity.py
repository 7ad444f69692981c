"""Who a run is, computed once from its composed config (never from the command line).

* *setting*: the task plus every value that changes what is measured, other than the model
  (``task.*``, ``optimizer.*``, ``scheduler``, the measuring ``trainer.*`` keys), written as
  the overrides that differ from the task's own config file;
* *variant*: the model config plus its ``model.*`` overrides.

``is_measured`` is THE rule for which config keys change what a run measures: a run's
identity (hence its folder) is built from those keys, and the resume and staleness checks
(``project.runs.folder.config_differences``) compare those keys and no others, so two
configs that map to the same folder can always resume each other's runs.

A run launched by the CLI, the sweep runner, Hydra multirun or ``train(compose(...))`` gets
the same identity, and its folder name derives from it. The identity also holds the data's
fingerprint (``project.data.fingerprint``), which is not part of the name: a run whose data
changed keeps its folder and is reported stale or refused on resume (``project.runs.folder``).
Runs of one setting with different variants and the same seed are paired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from project.runs.compose import compose_defaults

# Config sections whose keys change what a run measures (every other top-level key, such as
# seed, run_dir, runs_root, resume, logger, hydra, experiment, does not).
MEASURED_SECTIONS = ("task", "model", "optimizer", "scheduler", "trainer")
# Trainer keys that change how a run executes, not what it measures.
RUN_MECHANICS = ("accelerator", "devices", "num_threads", "keep_freed_memory",
                 "enable_progress_bar", "progress_bar_refresh", "log_every_n_steps",
                 "checkpoint_every_n_steps", "updates_per_batch")
# Task keys that choose how a run computes, not what (the fused long-sequence path computes
# the same gradients as the plain one: tests/models/test_fused.py).
TASK_MECHANICS = ("task.net.fused",)
MECHANICS = (*TASK_MECHANICS, *(f"trainer.{key}" for key in RUN_MECHANICS))
NAME_LIMIT = 200  # longest readable override part of a folder name; longer ones are hashed


@dataclass(frozen=True)
class RunIdentity:
    """A run's task, model, seed and the overrides that make its setting and variant."""

    task: str
    model: str
    seed: int
    setting_overrides: tuple[str, ...] = field(default_factory=tuple)
    variant_overrides: tuple[str, ...] = field(default_factory=tuple)
    # content hash of the files the task reads (project/data/fingerprint.py); not in the name
    data_fingerprint: str | None = None

    @property
    def setting(self) -> str:
        """``task`` or ``task[k=v,...]``: the condition under which variants are compared."""
        return _label(self.task, self.setting_overrides)

    @property
    def variant(self) -> str:
        """``model`` or ``model[model.k=v,...]``: what is compared within a setting."""
        return _label(self.model, self.variant_overrides)

    def folder(self) -> Path:
        """``<task>/<model>/seed<seed>[/<sorted overrides>]``, relative to a runs root."""
        import hashlib

        rest = ",".join(sorted(self.setting_overrides + self.variant_overrides))
        rest = rest.replace("/", "_")
        if len(rest) > NAME_LIMIT:
            rest = rest[:NAME_LIMIT - 13] + "-" + hashlib.sha1(rest.encode()).hexdigest()[:12]
        folder = Path(self.task) / self.model / f"seed{self.seed}"
        return folder / rest if rest else folder

    def to_dict(self) -> dict[str, Any]:
        """Structured fields for the run folder's config and summary."""
        d = asdict(self)
        d["setting_overrides"] = list(self.setting_overrides)
        d["variant_overrides"] = list(self.variant_overrides)
        return {**d, "setting": self.setting, "variant": self.variant}


def is_measured(key: str) -> bool:
    """Whether the dotted config key ``key`` changes what a run measures: it lies in one of
    ``MEASURED_SECTIONS`` and is not (under) one of the ``MECHANICS`` keys."""
    return key.split(".", 1)[0] in MEASURED_SECTIONS and not any(
        key == m or key.startswith(m + ".") for m in MECHANICS)


def _label(name: str, overrides: tuple[str, ...]) -> str:
    return name + (f"[{','.join(overrides)}]" if overrides else "")


def format_value(value: Any) -> str:
    """A config value as a Hydra override writes it (``1e-3`` -> ``0.001``, lists in flow)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, (int, float, str)):
        return str(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()


def _leaves(node: Any, prefix: str) -> dict[str, Any]:
    """Dotted leaf paths of a plain container (lists are leaves)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def _plain(cfg: DictConfig, key: str) -> Any:
    node = OmegaConf.select(cfg, key)
    return OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node


def differences(cfg: DictConfig, reference: DictConfig, section: str) -> list[str]:
    """``key=value`` for every leaf of ``section`` that ``cfg`` sets differently from (or in
    addition to) ``reference``, interpolations compared unresolved (``${task.lr}`` stays)."""
    now, ref = _plain(cfg, section), _plain(reference, section)
    if not (isinstance(now, dict) and isinstance(ref, dict)):  # e.g. scheduler: null
        return [] if now == ref else [f"{section}={format_value(now)}"]
    now, ref = _leaves(now, section), _leaves(ref, section)
    changed = [f"{k}={format_value(v)}" for k, v in now.items() if k not in ref or ref[k] != v]
    removed = [f"~{k}" for k in ref if k not in now]
    return sorted(changed + removed)


@lru_cache(maxsize=64)
def _reference(task: str, model: str) -> DictConfig:
    return compose_defaults([f"task={task}", f"model={model}"])


def _key(override: str) -> str:
    """The dotted key of an override (``a.b=1`` or ``~a.b``)."""
    return override.lstrip("~").split("=", 1)[0]


def identity_of(cfg: DictConfig) -> RunIdentity:
    """The identity of a composed ``train`` config (see the module docstring)."""
    task, model = str(cfg.task.name), str(cfg.model.name)
    try:
        reference = _reference(task, model)
    except Exception as e:  # noqa: BLE001 - Hydra raises several kinds for a missing option
        raise ValueError(f"task.name={task!r} / model.name={model!r} must name their config "
                         f"files conf/task/{task}.yaml and conf/model/{model}.yaml") from e
    setting = [o for section in ("task", "optimizer", "scheduler", "trainer")
               for o in differences(cfg, reference, section) if is_measured(_key(o))]
    variant = [o for o in differences(cfg, reference, "model") if is_measured(_key(o))]
    from project.data.fingerprint import data_fingerprint

    return RunIdentity(task, model, int(cfg.seed), tuple(sorted(setting)), tuple(variant),
                       data_fingerprint(cfg))

"""Which runs may train as one vectorised-seeds model (``project.training.vectorized``).

Kept free of torch so that a sweep runner can refuse a spec before it starts anything.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

# Top-level config keys that may differ between the members of one group.
MEMBER_KEYS = ("seed", "run_dir", "identity", "vectorized")
PRECISIONS = ("32-true", "32", 32)


class VectorizeError(ValueError):
    """These runs cannot train as one stacked model; the message says why, in one line."""


def group_key(cfg: DictConfig) -> dict:
    """The config without its member keys (seed, run folder), as plain containers: equal
    for runs that may share one stacked model."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    for key in MEMBER_KEYS:
        plain.pop(key, None)
    return plain


def check_setting(cfg: DictConfig) -> None:
    """Raise ``VectorizeError`` (one line) where one run's config cannot be vectorised."""
    t = cfg.trainer
    if cfg.logger.name != "none":
        raise VectorizeError(f"logger={cfg.logger.name} cannot log vectorised seeds (each run "
                             "still gets its run folder): use logger=none, or run without "
                             "vectorised seeds")
    if t.precision not in PRECISIONS:
        raise VectorizeError(f"trainer.precision={t.precision}: vectorised seeds train in "
                             "32-true only")
    one = t.devices in (1, "1", "auto") or OmegaConf.is_list(t.devices) and len(t.devices) == 1
    if not one:
        raise VectorizeError(f"trainer.devices={t.devices}: vectorised seeds train on one device")
    if cfg.task.net.get("fused", "auto") == "on":
        raise VectorizeError("task.net.fused=on cannot run under torch.func.vmap: use "
                             "fused=auto or off with vectorised seeds")


def check_vectorizable(cfgs: list[DictConfig]) -> None:
    """Raise ``VectorizeError`` (one line) unless ``cfgs`` can train as one stacked model."""
    if not cfgs:
        raise VectorizeError("vectorised seeds: no runs given")
    seeds = [int(c.seed) for c in cfgs]
    if len(set(seeds)) != len(seeds):
        raise VectorizeError(f"vectorised seeds: seeds must differ, got {seeds}")
    key = group_key(cfgs[0])
    for c in cfgs[1:]:
        if group_key(c) != key:
            raise VectorizeError(f"vectorised seeds: runs seed={cfgs[0].seed} and seed={c.seed} "
                                 "differ by more than their seed")
    check_setting(cfgs[0])

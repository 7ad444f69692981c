"""Config checks that need no torch: a bad value fails with one line before anything heavy
is imported (``python -m project.train`` runs them before importing the training code)."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

RULES = ("trivial",)  # task.target rules besides a number (project.training.targets)

NUMERIC_KEYS = {  # key -> required type, checked before anything is built
    "seed": int, "optimizer.lr": float, "task.target": float, "task.net.hidden": int,
    "task.budget.max_steps": int, "task.budget.val_every_n_steps": int, "model.heads": int,
    "trainer.checkpoint_every_n_steps": int, "trainer.num_threads": int,
    "trainer.max_steps": int, "trainer.val_every_n_steps": int,
    "trainer.updates_per_batch": int,
}


def check_numbers(cfg: DictConfig) -> None:
    """Numbers must be numbers: ``task.budget.max_steps=abc`` fails naming the key (a
    pooling's own keys, such as ``model.heads``, only where the model has them)."""
    for key, kind in NUMERIC_KEYS.items():
        value = OmegaConf.select(cfg, key)
        if value is None and key.startswith("model.") or key == "task.target" and value in RULES:
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is int:
            ok = ok and float(value).is_integer()
        if not ok:
            name = "an integer" if kind is int else "a number"
            raise ValueError(f"{key}={value!r} must be {name}")


def check_config(cfg: DictConfig) -> None:
    """Fail before training, with one line, on values that cannot make a valid run."""
    check_numbers(cfg)
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
    t = cfg.trainer  # the budget's values unless overridden: what the run really does
    if t.val_every_n_steps < 1 or t.max_steps < t.val_every_n_steps:
        raise ValueError(f"trainer.max_steps={t.max_steps} is shorter than one evaluation "
                         f"interval (trainer.val_every_n_steps={t.val_every_n_steps}): the run "
                         "would end with no evaluation, checkpoint or test figure; give it at "
                         "least one interval")
    if t.max_steps % t.val_every_n_steps:
        raise ValueError(f"trainer.max_steps={t.max_steps} must be a multiple of "
                         f"trainer.val_every_n_steps={t.val_every_n_steps} (a fixed step grid)")
    if t.updates_per_batch < 1:
        raise ValueError(f"trainer.updates_per_batch={t.updates_per_batch} must be >= 1")

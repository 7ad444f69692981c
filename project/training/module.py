"""The one LightningModule: wraps any pooling network for classification or regression."""

from __future__ import annotations

import math

import lightning as L
import torch
from torch import nn

from project.data.base import derived_seed
from project.training.bare_updates import bare_updates_allowed
from project.training.loss import loss_function, prediction, task_loss
from project.training.metrics import build_metrics


class PoolingTaskModule(L.LightningModule):
    """Loss, torchmetrics, optimizer and logging around an injected ``nn.Module``.

    Logged names are ``/``-namespaced: ``train/loss``, ``val/loss``, ``val/acc``, ``test/mse``...
    A non-finite training loss sets ``diverged`` and stops training (no optimizer step).
    Optimisation is manual: a training batch is a group of consecutive steps' batches.
    """

    def __init__(self, network: nn.Module, task_type: str, num_outputs: int, metrics: list[str],
                 optimizer: dict, scheduler: dict | None = None, max_steps: int = 0,
                 seed: int = 0):
        super().__init__()
        self.save_hyperparameters(ignore=["network"])
        self.network = network
        self.loss_fn = loss_function(task_type)
        metric_set = build_metrics(list(metrics), task_type, num_outputs)
        self.val_metrics = metric_set.clone(prefix="val/")
        self.test_metrics = metric_set.clone(prefix="test/")
        self.diverged = False
        self.automatic_optimization = False
        self._bare_updates: torch.optim.Optimizer | None = None  # set at the start of training

    def __setattr__(self, name: str, value) -> None:
        """Lightning sets ``_current_fx_name`` (a str or None) around every hook it calls,
        several times per update; ``nn.Module.__setattr__`` checks each value against
        parameters, buffers and modules first (~5 us a call on CPU). A plain attribute either way."""
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.network(batch["x"], batch.get("mask"))

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task_loss(self.loss_fn, out, y)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Checkpoints written under automatic optimisation (before training steps were
        grouped) count their steps there: carry the count over, so they resume at their step."""
        loops = checkpoint.get("loops", {}).get("fit_loop", {})
        auto = loops.get("epoch_loop.automatic_optimization.optim_progress")
        manual = loops.get("epoch_loop.manual_optimization.optim_step_progress")
        if auto and manual is not None and not manual["total"]["completed"]:
            loops["epoch_loop.manual_optimization.optim_step_progress"] = {
                key: dict(auto["optimizer"]["step"][key]) for key in ("total", "current")}

    def step_seeds(self, n: int) -> list[int]:
        """The dropout seeds of the next ``n`` updates, ``derived_seed(seed, step, 1)``: dropout
        at step k depends on (seed, k) alone, so resume is exact. A group computes its seeds
        together: one at a time, between a large model's passes, each ran cache-cold
        (~0.1 ms an update on SST-2; ``scripts/bench_step_segments.py``)."""
        return [derived_seed(self.hparams.seed, self.global_step + i, 1) for i in range(n)]

    def reseed(self, seed: int) -> None:
        """Seed the generators in use. ``torch.manual_seed`` would also touch every lazy
        accelerator backend, which costs about 0.7 ms a step on CPU."""
        torch.default_generator.manual_seed(seed)
        if self.device.type == "cuda":
            torch.cuda.manual_seed(seed)

    def training_step(self, group: list[dict[str, torch.Tensor]], batch_idx: int) -> None:
        """One optimizer update per batch of ``group`` (``project.data.base.training_loader``
        serves consecutive steps' batches together, so Lightning's per-batch cost is paid once
        per group). Each update is exactly the one a group of one would make."""
        optimizer, scheduler = self.optimizers(), self.lr_schedulers()
        bare = self._bare_updates
        for batch, seed in zip(group, self.step_seeds(len(group))):
            self.reseed(seed)
            loss = self._loss(self(batch), batch["y"])
            if not math.isfinite(loss.item()):  # one read; torch.isfinite costs ~30 us on CPU
                self.diverged = True
                self.trainer.should_stop = True
                return
            if bare:  # nobody listens to the update's hooks: the same update, undispatched
                bare.zero_grad()
                loss.backward()
                bare.step()
                self._step_progress.increment_ready()
                self._step_progress.increment_completed()
            else:
                optimizer.zero_grad()
                self.manual_backward(loss)
                optimizer.step()
            if scheduler is not None:
                scheduler.step()
        # the last update's loss, logged sparsely (~1 ms a call): on logging batches and on
        # the batch that ends at each evaluation, whose curve row carries train/loss
        batches = self.global_step // len(group)  # Lightning's count, this batch included
        log_every, val_every = self.trainer.log_every_n_steps, self.trainer.val_check_interval
        if log_every and batches % log_every == 0 or batches % int(val_every) == 0:
            self.log("train/loss", loss, on_step=True, on_epoch=False)

    def _eval_step(self, batch: dict[str, torch.Tensor], metrics, stage: str) -> None:
        out = self(batch)
        y = batch["y"]
        self.log(f"{stage}/loss", self._loss(out, y), on_step=False, on_epoch=True,
                 batch_size=len(y))
        metrics.update(prediction(out, y), y)
        self.log_dict(metrics, on_step=False, on_epoch=True)

    @torch.no_grad()
    def evaluate(self, loader, prefix: str) -> dict[str, float]:
        """The loss (batch-size weighted mean) and task metrics of the network's current
        weights on ``loader``, named ``{prefix}loss``, ``{prefix}acc``...: a plain pass in
        eval mode, outside Lightning's loops (nothing is logged or restored)."""
        metrics = self.test_metrics.clone(prefix=prefix)
        metrics.reset()
        was_training, total, count = self.training, 0.0, 0
        self.eval()
        try:
            for batch in loader:
                batch = {k: v.to(self.device) for k, v in batch.items()}
                out, y = self(batch), batch["y"]
                total += float(self._loss(out, y)) * len(y)
                count += len(y)
                metrics.update(prediction(out, y), y)
        finally:
            self.train(was_training)
        values = {name: float(v) for name, v in metrics.compute().items()}
        return {f"{prefix}loss": total / count, **values}

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics, "test")

    def on_train_start(self) -> None:
        """A resumed run's optimizer state (restored from its checkpoint) must hold the
        hyperparameters of the config the run claims, or it would train at another rate.
        Where no callback or hook listens to an update (``bare_updates_allowed``), updates
        skip Lightning's per-update dispatch (~0.1-0.2 ms of a 2 ms CPU step)."""
        trainer = self.trainer
        self._bare_updates = (trainer.optimizers[0] if bare_updates_allowed(trainer, self)
                              else None)
        self._step_progress = trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress
        if self.trainer.ckpt_path:
            check_optimizer_hyperparameters(self.trainer.optimizers[0], self.hparams.optimizer,
                                            bool(self.hparams.scheduler), self.trainer.ckpt_path)

    def configure_optimizers(self):
        optimizer, lr_sched = build_optimizer(self.parameters(), self.hparams.optimizer,
                                              self.hparams.scheduler, self.hparams.max_steps)
        if lr_sched is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": lr_sched, "interval": "step"}}


# torch's implementation switches, not hyperparameters
NOT_HYPERPARAMETERS = {"foreach", "fused", "capturable", "differentiable"}


def check_optimizer_hyperparameters(optimizer: torch.optim.Optimizer, config: dict,
                                    scheduled: bool, checkpoint: str) -> None:
    """Refuse (one line) an optimizer whose param groups hold other hyperparameters than a
    fresh one built from ``config`` (the rate as ``initial_lr`` under a scheduler)."""
    fresh, _ = build_optimizer([torch.zeros(1, requires_grad=True)], config, None, 0)
    for group in optimizer.param_groups:
        for key, want in fresh.defaults.items():
            have = group.get("initial_lr" if key == "lr" and scheduled else key, want)
            if key in NOT_HYPERPARAMETERS or _same(have, want):
                continue
            raise ValueError(f"cannot resume from {checkpoint}: its optimizer state holds "
                             f"{key}={have}, the config optimizer.{key}={want}; rerun with "
                             f"optimizer.{key}={have}, or with resume=never to train it again "
                             "from step 0")


def _same(a, b) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return float(a) == float(b)
    return a == b


def build_optimizer(params, optimizer: dict, scheduler: dict | None, max_steps: int):
    """``(optimizer, per-step lr scheduler or None)`` from the ``optimizer`` config group
    (``conf/optimizer/*.yaml``: a ``_partial_`` torch optimizer) and the ``scheduler`` config
    (shared by this module and the vectorised-seeds path)."""
    from hydra.utils import instantiate

    if "_target_" not in optimizer:
        raise ValueError(f"optimizer config {dict(optimizer)} has no _target_: choose one of "
                         "conf/optimizer/*.yaml (optimizer=adam|adamw|sgd)")
    opt = instantiate(dict(optimizer))(params)
    sched = dict(scheduler or {})
    if not sched or sched.get("name") in (None, "none"):
        return opt, None
    if sched["name"] != "cosine":
        raise ValueError(f"scheduler.name={sched['name']!r}: expected none or cosine")
    warmup = int(sched.get("warmup_steps", 0))
    total = max(1, max_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1 + torch.cos(torch.tensor(torch.pi * progress)).item())

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)

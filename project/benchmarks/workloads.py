"""The benchmarks' workloads: the tasks they time, a measured run's config, and the
hand-written PyTorch loop the suite's Trainer path is compared with (the same network, data
and optimizer, built as the suite builds them)."""

from __future__ import annotations

import itertools

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from project.models.build import build_network
from project.runs.compose import compose_train
from project.training.loss import loss_function


def measured_run_config(overrides: list[str], steps: int, run_dir: str):
    """The config of a bench run: exactly ``steps`` updates on one thread, one evaluation (at
    the end), no stop at the target."""
    return compose_train([*overrides, f"task.budget.max_steps={steps}",
                          f"task.budget.val_every_n_steps={steps}", "task.stop_at_target=false",
                          "trainer.num_threads=1"], run_dir)


# task -> (extra overrides, measured steps): 3-10 s of hand-written steps on an idle 2-core CPU
# (2026-12-03), and at least 20 cycles of 25 updates per run (``InterleavedRawLoop``)
TASKS = {
    "adding": (["task=adding", "task.seq_len=500"], 1000),
    "sst2": (["task=sst2"], 1000),
    # 8x8 patches, not the task's default CNN: the lightest step, where per-step overhead shows most
    "usps": (["task=usps", "task.net.features=patches"], 1500),
    "digits": (["task=digits"], 2500),
    "italypower": (["task=italypower"], 2500),
    "gunpoint": (["task=gunpoint"], 2500),
}
THROUGHPUT_TASKS = ("digits", "italypower", "gunpoint")


def raw_setup(overrides: list[str], model: str):
    """The hand-written loop's parts, as the suite builds them on one thread: ``(DataModule,
    network, Adam, loss function, classify)``."""
    cfg = compose_train([*overrides, f"model={model}"], "/tmp/unused")
    torch.set_num_threads(1)
    dm = instantiate(cfg.task.data, seed=cfg.seed)
    dm.setup("fit")
    torch.manual_seed(cfg.seed)
    net = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                        OmegaConf.to_container(cfg.model, resolve=True), dm.spec)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optimizer.lr)
    classify = dm.spec.task_type == "classification"
    loss_fn = loss_function(dm.spec.task_type)
    return dm, net, opt, loss_fn, classify


def step_batches(dm):
    """The DataModule's training batches one step at a time, as a hand-written loop reads them
    (the suite's loader serves the same batches in groups of ``trainer.updates_per_batch``)."""
    batches = dm.train_dataloader().dataset.batches
    return (batches[step] for step in itertools.count())

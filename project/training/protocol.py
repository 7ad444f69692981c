"""The training protocol of one run, written once for both executors.

A run is *located* (config checked, identity, folder), *opened* (finished runs are returned,
the folder is claimed, a resume is checked against the saved config), *set up* (process,
data, target, the seeded initial network), trained by an executor, and *summarised* (the
summary written last). ``project.training.single`` executes one run with Lightning,
``project.training.vectorized`` a group of seeds as one stacked model; both call these
functions and neither imports the other (``project.training.run`` chooses between them).
The caller's config is never changed: a located run carries its own copy.
"""

from __future__ import annotations

import contextlib
import resource
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from project.models.build import build_network
from project.runs import folder as run_folder
from project.runs.identity import RunIdentity, identity_of
from project.runs.summary import summarize_run
from project.training.cpu_allocator import keep_freed_memory
from project.training.config_check import check_config
from project.training.targets import resolve_target


# -- locating -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocatedRun:
    """A checked run: its own copy of the config (``run_dir`` set), identity and folder."""

    cfg: DictConfig
    identity: RunIdentity
    run_dir: Path
    folder_key: str = "run_dir"  # the key the user set it by (run_dir or runs_root)

    @property
    def resumes(self) -> bool:
        """Whether it resumes: ``resume=auto`` and a resume point in its folder."""
        return self.cfg.resume == "auto" and run_folder.last_checkpoint(self.run_dir).exists()


def locate(cfg: DictConfig, identity: RunIdentity | None = None) -> LocatedRun:
    """Check ``cfg`` and name the run's folder (``cfg.run_dir``, or the one its identity
    names under ``cfg.runs_root``), on a copy: ``cfg`` itself is not changed. ``identity``:
    the run's, when the caller knows it (a group's members differ by the seed only)."""
    check_config(cfg)
    identity = identity or identity_of(cfg)
    run_dir = run_folder.run_dir_for(cfg, identity)
    own = cfg.copy()
    with open_dict(own):
        own.run_dir = str(run_dir)
    key = "run_dir" if cfg.run_dir is not None else "runs_root"
    return LocatedRun(own, identity, run_dir, key)


# -- opening --------------------------------------------------------------------------------
def open_run(run: LocatedRun, claims: contextlib.ExitStack) -> run_folder.AlreadyFinished | None:
    """Claim the run's folder for as long as ``claims`` is open (``run_folder.claim``: one
    process per folder, a second one is refused) and check a resume against the config the
    run was started under. Returns the summary of a run finished meanwhile (by the owner
    this call raced), else None: the run is this process's to train."""
    claims.enter_context(run_folder.claim(run.run_dir, run.folder_key))
    if (finished := run_folder.already_finished(run.run_dir, run.cfg)) is not None:
        return finished
    if run.resumes:
        run_folder.check_resume_config(run.cfg, run.run_dir)
    return None


def record_config(run: LocatedRun, **extra) -> LocatedRun:
    """Write the run's config (with its identity and ``extra`` top-level keys) into its folder;
    returns the run with that config."""
    cfg = run.cfg.copy()
    with open_dict(cfg):
        cfg.identity = run.identity.to_dict()
        for key, value in extra.items():
            cfg[key] = value
    run_folder.save_config(run.run_dir, cfg)
    return LocatedRun(cfg, run.identity, run.run_dir)


# -- setting up -----------------------------------------------------------------------------
def prepare_process(cfg: DictConfig) -> None:
    """The process settings a run asks for: torch threads, the allocator's policy."""
    if cfg.trainer.num_threads:
        torch.set_num_threads(cfg.trainer.num_threads)
    if cfg.trainer.keep_freed_memory:
        keep_freed_memory()


def open_data(cfg: DictConfig, seed: int):
    """``(datamodule, target, target rule)``: the task's data set up for fitting with the
    global seed set first, and the target resolved against it."""
    L.seed_everything(seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.task.data, seed=seed)
    datamodule.setup("fit")
    target, target_rule = resolve_target(cfg.task.target, cfg.task.val_metric, datamodule)
    return datamodule, target, target_rule


def initial_network(cfg: DictConfig, seed: int, spec) -> nn.Module:
    """The run's network, its initial weights a function of the seed alone (paired runs)."""
    torch.manual_seed(seed)
    return build_network(plain(cfg, "task.net"), plain(cfg, "model"), spec)


def plain(cfg: DictConfig, key: str):
    """``cfg.<key>`` resolved to plain Python (containers become dicts and lists)."""
    node = OmegaConf.select(cfg, key)
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


# -- summarising ----------------------------------------------------------------------------
def peak_memory_mb(device: torch.device) -> float:
    """Peak GPU memory allocated, or this process's peak resident set size on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    status = Path("/proc/self/status")
    if status.exists():  # VmHWM: this process's own high-water mark (ru_maxrss survives exec)
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux units: KiB


def write_summary(run: LocatedRun, rows: list[dict[str, float]], *, params: int,
                  target: float, target_rule: str, steps_trained: int, diverged: bool,
                  test_metrics: dict[str, float] | None, train_time_s: float,
                  batch_size: int, device: torch.device,
                  budget_metrics: dict[str, float] | None = None) -> dict:
    """The run's summary (``project.runs.summary``) from its curve and outcome, written into
    its folder atomically and last; returned."""
    cfg = run.cfg
    summary = summarize_run(
        rows, identity=run.identity, params=params, val_metric=cfg.task.val_metric,
        direction=cfg.task.direction, target=target, target_rule=target_rule,
        budget=int(cfg.trainer.max_steps), steps_trained=steps_trained, diverged=diverged,
        test_metrics=test_metrics, budget_metrics=budget_metrics, train_time_s=train_time_s,
        batch_size=batch_size, peak_mem_mb=peak_memory_mb(device),
        hparams={"lr": float(cfg.optimizer.lr), "batch_size": batch_size,
                 "hidden": int(cfg.task.net.hidden), "seq_len": cfg.task.get("seq_len")},
        clock_shared_by=int(OmegaConf.select(cfg, "vectorized.group_size", default=1)))
    run_folder.write_summary(run.run_dir, summary)
    return summary

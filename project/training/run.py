"""Train runs: the one entry into training, which picks the executor of the protocol.

``train(cfg)`` trains one run with the single-run executor (``project.training.single``),
or, when its folder holds a resume point written by a vectorised-seeds group, resumes it
with that executor as a group of one. ``train_vectorized(cfgs)`` trains runs that differ only
by their seed as one stacked model (``project.training.vectorized``), handing any whose
folder holds a single run's resume point to ``train``. Both locate and open their runs the
same way (``project.training.protocol``), and neither changes the configs it is given.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace

import lightning as L
from omegaconf import DictConfig

from project.runs import folder as run_folder
from project.training.checkpointing import is_vectorized_checkpoint
from project.training.protocol import locate, open_run
from project.training.single import train_single
from project.training.vectorize_rules import check_vectorizable
from project.training.vectorized import FusedSingleRuns, Hook, member, train_members

# What stops one run of a group alone (its result), not the group.
RUN_ERRORS = (run_folder.RunFolderInUse, ValueError, OSError)


def train(cfg: DictConfig, callbacks: list[L.Callback] = ()) -> dict:
    """Train one run and return its summary (also written to the run folder); a run already
    finished is not trained again: its summary comes back as ``run_folder.AlreadyFinished``.

    ``callbacks`` are added to the suite's own (tracker, checkpoints, progress bar).
    """
    run = locate(cfg)
    if (finished := run_folder.already_finished(run.run_dir, run.cfg)) is not None:
        return finished
    if run.resumes and is_vectorized_checkpoint(run_folder.last_checkpoint(run.run_dir)):
        (outcome,) = train_vectorized([cfg])  # a member of a vectorised group: resumed as one
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    with contextlib.ExitStack() as claims:
        if (finished := open_run(run, claims)) is not None:
            return finished
        return train_single(run, callbacks)


def train_vectorized(cfgs: list[DictConfig], hook: Hook | None = None) -> list:
    """Train the runs ``cfgs`` (one setting and variant, different seeds) as one stacked model.

    Returns, per run, its summary or the exception that stopped that run alone (its folder is
    in use by another process, damaged, or holds a single run's checkpoint that failed to
    resume). Errors of the whole group (a config that cannot be vectorised, a Python error
    while training, SIGTERM) are raised. Finished runs come back as
    ``run_folder.AlreadyFinished``; runs whose folder holds a single run's checkpoint are
    resumed by ``train``, one after another.
    """
    check_vectorizable(cfgs)
    first = locate(cfgs[0])  # the others' identities differ from its by the seed only
    runs = [first, *(locate(cfg, replace(first.identity, seed=int(cfg.seed)))
                     for cfg in cfgs[1:])]
    results: list = [None] * len(cfgs)
    members, singles = [], []
    with contextlib.ExitStack() as claims:
        for i, run in enumerate(runs):
            if (finished := run_folder.already_finished(run.run_dir, run.cfg)) is not None:
                results[i] = finished
                continue
            if run.resumes and not is_vectorized_checkpoint(
                    run_folder.last_checkpoint(run.run_dir)):
                singles.append(i)  # a single run's resume point: resumed by train
                continue
            try:
                if (finished := open_run(run, claims)) is not None:
                    results[i] = finished
                    continue
                members.append(member(run, i))
            except RUN_ERRORS as e:
                results[i] = e
        if members:
            try:
                train_members(members, hook)
            except FusedSingleRuns:
                print(f"training {len(members)} runs one by one: their single runs take the "
                      "fused path (task.net.fused=auto on long inputs), which a vectorised "
                      "group cannot")
                singles, members = sorted(singles + [m.index for m in members]), []
            for m in members:
                results[m.index] = m.summary
    for i in singles:
        try:
            results[i] = train(cfgs[i])
        except RUN_ERRORS as e:
            results[i] = e
    return results

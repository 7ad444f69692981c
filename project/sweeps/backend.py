"""The seam every sweep backend implements: a spec expands into planned runs, a backend
executes them, and the run folders say which are finished.

``plan_runs`` (spec -> validated runs, each with its run folder from its identity) and
``split_finished`` are shared, and ``orchestrate.run_sweep`` drives a sweep through them; a
backend only implements ``execute``. Backends: local
processes (``backends/processes.py``), Hydra multirun and submitit (``conf/hydra/launcher``),
W&B agents (``scripts/wandb_sweep.sh``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from project.runs import folder as run_folder
from project.sweeps.spec import SEED_KEY, SweepRun, SweepSpec, expand, validate_runs


@dataclass
class PlannedRun:
    """A validated run and the folder its identity names under the sweep's output."""

    run: SweepRun
    run_dir: Path
    resumed: bool = False
    error: str = ""  # why it failed, once executed (or why its summary is damaged)
    waiting: bool = False  # another process owns its folder (said once)

    def describe(self) -> str:
        ident = self.run.identity
        return f"{ident.setting} {ident.variant} seed{ident.seed}"


@dataclass
class Plan:
    """What a sweep will do: runs to execute, runs already finished, stale finished runs, and
    runs whose the run's summary is damaged (neither finished nor rerun: the user decides)."""

    todo: list[PlannedRun]
    finished: list[PlannedRun]
    stale: list[PlannedRun] = field(default_factory=list)
    damaged: list[PlannedRun] = field(default_factory=list)


def plan_runs(spec: SweepSpec, out: Path, count: int | None = None, sample_seed: int = 0,
              assignments: list[dict] | None = None) -> list[PlannedRun]:
    """Expand and validate ``spec`` (or validate ``assignments``, parameter values chosen by the
    caller, against it); each run's folder is ``out/<identity folder>``."""
    if assignments is None:
        assignments = expand(spec, count, sample_seed)
    runs = validate_runs(spec, assignments)
    planned = [PlannedRun(r, Path(out) / r.identity.folder()) for r in runs]
    dirs = [p.run_dir for p in planned]
    if len(set(dirs)) != len(dirs):
        raise ValueError("two runs of the spec are the same run (identical parameters)")
    return planned


def split_finished(planned: list[PlannedRun]) -> Plan:
    """Finished runs (kept), stale ones among them, the runs still to execute, and finished
    runs whose summary cannot be read (``error`` says which file and what to do)."""
    todo = [p for p in planned if not run_folder.is_finished(p.run_dir)]
    finished, damaged = [], []
    for p in planned:
        if p not in todo:
            p.error = run_folder.summary_damage(p.run_dir) or ""
            (damaged if p.error else finished).append(p)
    stale = [p for p in finished if run_folder.is_stale(p.run.config, p.run_dir)]
    return Plan(todo, finished, stale, damaged)


def next_free(pending: list[PlannedRun], say) -> PlannedRun | None:
    """The first pending run whose folder no other process owns (``run_folder.lock_holder``:
    a second runner on the same runs, a requeued agent); a held one stays pending (its owner
    may finish it, or die and leave it to us) and is announced once through ``say``."""
    for p in pending:
        holder = run_folder.lock_holder(p.run_dir)
        if holder is None:
            return p
        if not p.waiting:
            p.waiting = True
            say(f"waiting: {p.describe()} is in use by {holder}")
    return None


AUTO_GROUP_LIMIT = 20  # members of one stacked model when the sweep chooses K itself


def seed_groups(runs: list[PlannedRun], size: int | None, workers: int = 1,
                can_stack=lambda p: True) -> list[list[PlannedRun]]:
    """Runs that differ only by their seed, in groups (vectorised seeds: one stacked model per
    group), in the order of their first run; ``size`` 1: one run each. Runs are compared by
    their overrides (the composed configs of such runs are the same); a run ``can_stack``
    refuses trains alone.

    ``size`` None chooses it: each setting's seeds in as few groups of at most
    ``AUTO_GROUP_LIMIT`` as possible, near-equal in size, then split further (the largest
    first) while there are fewer groups than ``workers``, so that every worker has one."""
    if size is not None and size <= 1:
        return [[p] for p in runs]
    alone, by_setting = [], {}
    for p in runs:
        if not can_stack(p):
            alone.append([p])
            continue
        key = tuple(o for o in p.run.overrides if o.split("=", 1)[0].lstrip("+") != SEED_KEY)
        by_setting.setdefault(key, []).append(p)
    limit = AUTO_GROUP_LIMIT if size is None else size
    parts = {key: -(-len(same) // limit) for key, same in by_setting.items()}
    if size is None:
        while len(alone) + sum(parts.values()) < workers:
            key = max(parts, key=lambda k: len(by_setting[k]) / parts[k], default=None)
            if key is None or len(by_setting[key]) <= parts[key]:
                break  # every group is a single run
            parts[key] += 1
    return [*(chunk for key, same in by_setting.items() for chunk in near_equal(same, parts[key])),
            *alone]


def longest_first(groups: list[list[PlannedRun]]) -> list[list[PlannedRun]]:
    """``groups`` by their updates (members x ``trainer.max_steps``), the most first, ties in
    their order: when the last task to start is a short one, the workers finish together."""
    def updates(group: list[PlannedRun]) -> int:
        steps = OmegaConf.select(group[0].run.config, "trainer.max_steps", default=None)
        return len(group) * int(steps or 0)

    return sorted(groups, key=updates, reverse=True)


def near_equal(items: list, parts: int) -> list[list]:
    """``items`` in ``parts`` consecutive chunks whose sizes differ by at most one."""
    base, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for i in range(parts):
        end = start + base + (i < extra)
        chunks.append(items[start:end])
        start = end
    return chunks


class SweepBackend(abc.ABC):
    """Executes planned runs, each in its own run folder; a failed run does not stop others."""

    @abc.abstractmethod
    def execute(self, runs: list[PlannedRun]) -> list[PlannedRun]:
        """Run every planned run; return the failed ones (their ``error`` set)."""

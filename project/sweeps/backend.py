"""The seam every sweep backend implements: a spec expands into planned runs, a backend
executes them, and the run folders say which are finished.

``plan_runs`` (spec -> validated runs, each with its run folder from its identity) and
``split_finished`` are shared; a backend only implements ``execute``. Backends: local
processes (``backends/processes.py``), Hydra multirun and submitit (``conf/hydra/launcher``),
W&B agents (``scripts/wandb_sweep.sh``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from project import run_folder
from project.sweeps.spec import SweepRun, SweepSpec, expand, validate_runs


@dataclass
class PlannedRun:
    """A validated run and the folder its identity names under the sweep's output."""

    run: SweepRun
    run_dir: Path
    resumed: bool = False
    error: str = ""  # why it failed, once executed

    def describe(self) -> str:
        ident = self.run.identity
        return f"{ident.setting} {ident.variant} seed{ident.seed}"


@dataclass
class Plan:
    """What a sweep will do: runs to execute, runs already finished, stale finished runs."""

    todo: list[PlannedRun]
    finished: list[PlannedRun]
    stale: list[PlannedRun] = field(default_factory=list)


def plan_runs(spec: SweepSpec, out: Path, count: int | None = None,
              sample_seed: int = 0) -> list[PlannedRun]:
    """Expand and validate ``spec``; each run's folder is ``out/<identity folder>``."""
    runs = validate_runs(spec, expand(spec, count, sample_seed))
    planned = [PlannedRun(r, Path(out) / r.identity.folder()) for r in runs]
    dirs = [p.run_dir for p in planned]
    if len(set(dirs)) != len(dirs):
        raise ValueError("two runs of the spec are the same run (identical parameters)")
    return planned


def split_finished(planned: list[PlannedRun]) -> Plan:
    """Finished runs (kept), stale ones among them, and the runs still to execute."""
    todo = [p for p in planned if not run_folder.is_finished(p.run_dir)]
    finished = [p for p in planned if p not in todo]
    stale = [p for p in finished if run_folder.is_stale(p.run.config, p.run_dir)]
    return Plan(todo, finished, stale)


class SweepBackend(abc.ABC):
    """Executes planned runs, each in its own run folder; a failed run does not stop others."""

    @abc.abstractmethod
    def execute(self, runs: list[PlannedRun]) -> list[PlannedRun]:
        """Run every planned run; return the failed ones (their ``error`` set)."""

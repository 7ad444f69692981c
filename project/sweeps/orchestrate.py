"""One sweep from planned runs to results: skip the finished, treat stale and damaged runs,
run the rest on a backend, collect the summaries. ``project.sweep`` and every script that
trains several runs (pilot targets, selection, data quality, the Raffel & Ellis waves) call
``run_sweep``; planning is ``backend.plan_runs`` (a spec, or the caller's own assignments).

One treatment for every caller:
- finished: kept, not rerun;
- stale (finished under a config that measures something else today, ``run_folder.is_stale``):
  kept with a warning naming one, or with ``rerun_stale`` deleted and rerun;
- damaged (a ``summary.json`` that cannot be read): neither kept nor rerun, reported as failed
  with its remedy, which is the user's to apply.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from project.runs import folder as run_folder
from project.sweeps.backend import Plan, PlannedRun, SweepBackend, split_finished

INTERRUPTED = ("interrupted: running runs were stopped (SIGTERM); rerun the same command to "
               "resume them")


@dataclass
class SweepOutcome:
    """What a sweep did: its plan, and the runs that failed (damaged ones first)."""

    planned: list[PlannedRun]
    plan: Plan
    failed: list[PlannedRun]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summaries(self) -> list[dict]:
        """Every planned run's summary, in plan order (all are finished when ``ok``)."""
        return [run_folder.read_summary(p.run_dir) for p in self.planned]


def run_sweep(planned: list[PlannedRun], backend: SweepBackend | None, console: Console, *,
              rerun_stale: bool = False, title: str = "sweep", note: str = "",
              after: str = "", show: Callable[[PlannedRun], str] | None = None) -> SweepOutcome:
    """Run the unfinished runs of ``planned`` on ``backend`` (None: a dry run, which deletes
    and runs nothing and lists the runs to do through ``show``). Prints one line of counts,
    ``{title}: N runs (a finished, b to run[, c damaged]{note}){after}``, and every failure
    with its log. A stop (KeyboardInterrupt, SystemExit) says how to resume and propagates."""
    plan = split_finished(planned)
    if plan.stale and rerun_stale and backend is not None:
        for p in plan.stale:
            shutil.rmtree(p.run_dir)
        plan.todo += plan.stale
        console.print(f"{len(plan.stale)} finished runs made with an older config: deleted, "
                      "to rerun")
    elif plan.stale:
        console.print(f"[yellow]warning:[/] {len(plan.stale)} finished runs were made with a "
                      f"config that differs from today's (e.g. {plan.stale[0].run_dir}); they "
                      "are kept as they are: --rerun-stale deletes and reruns them")
    for p in plan.damaged:
        console.print(f"[red]damaged[/] {escape(p.describe())}: {escape(p.error)}")
    done = len(planned) - len(plan.todo) - len(plan.damaged)
    damaged = f", {len(plan.damaged)} damaged" if plan.damaged else ""
    console.print(f"{title}: {len(planned)} runs ({done} finished, {len(plan.todo)} to run"
                  f"{damaged}{note}){after}", markup=False)
    if backend is None:
        for p in plan.todo:
            console.print(f"  {show(p) if show else p.describe()}", markup=False)
        return SweepOutcome(planned, plan, list(plan.damaged))
    try:
        failed = plan.damaged + backend.execute(plan.todo)
    except (KeyboardInterrupt, SystemExit):
        console.print(INTERRUPTED)
        raise
    if failed:
        console.print(f"[red]{len(failed)} of {len(plan.todo) + len(plan.damaged)} runs "
                      "failed[/]:")
        for p in failed:
            console.print(f"  {p.describe()}: {p.error}\n    log: "
                          f"{run_folder.log_path(p.run_dir)}", markup=False, highlight=False)
    return SweepOutcome(planned, plan, failed)

"""``run_sweep``: the one treatment of finished, stale and damaged runs every caller gets,
checked with a backend that records what it is asked to run (no training)."""

from __future__ import annotations

import io
import json

import pytest
from omegaconf import OmegaConf
from rich.console import Console

from project.runs import folder as run_folder
from project.runs.identity import MEASURED_SECTIONS
from project.sweeps.backend import SweepBackend, plan_runs
from project.sweeps.orchestrate import run_sweep
from project.sweeps.spec import parse_spec
from tests.sweeps.test_sweep import spec_dict


class Recorder(SweepBackend):
    """Runs nothing: writes each run's summary as if trained, or fails the ones named."""

    def __init__(self, fail: set[int] = frozenset()):
        self.ran, self.fail = [], fail

    def execute(self, runs):
        failed = []
        for p in runs:
            self.ran.append(p.run_dir)
            if p.run.seed in self.fail:
                p.error = "boom"
                failed.append(p)
            else:
                finish(p, {"trained": "now"})
        return failed


def finish(p, extra: dict, config=None) -> None:
    """``p``'s folder as a finished run: its config (``config`` or its own) and a summary."""
    p.run_dir.mkdir(parents=True, exist_ok=True)
    cfg = config if config is not None else p.run.config
    sections = {k: cfg[k] for k in MEASURED_SECTIONS}
    OmegaConf.save(OmegaConf.create(sections), run_folder.config_path(p.run_dir), resolve=True)
    summary = {"task": p.run.task, "model": p.run.model, "seed": p.run.seed, **extra}
    run_folder.summary_path(p.run_dir).write_text(json.dumps(summary))


@pytest.fixture
def planned(tmp_path):
    """Four runs: seed 0 finished, seed 1 stale (its task's target edited since), seed 2
    damaged (an unreadable summary), seed 3 not started."""
    runs = plan_runs(parse_spec(spec_dict(seed={"values": [0, 1, 2, 3]})), tmp_path)
    finish(runs[0], {"trained": "before"})
    edited = runs[1].run.config.copy()
    edited.task.target = 0.5
    finish(runs[1], {"trained": "before"}, edited)
    runs[2].run_dir.mkdir(parents=True)
    run_folder.summary_path(runs[2].run_dir).write_text("{not json")
    return runs


def console() -> tuple[Console, io.StringIO]:
    text = io.StringIO()
    return Console(file=text, width=400, highlight=False), text


def test_stale_runs_are_kept_with_a_warning_and_damaged_ones_fail_untouched(planned):
    backend, (out, text) = Recorder(), console()
    outcome = run_sweep(planned, backend, out, title="t")
    assert backend.ran == [planned[3].run_dir]
    assert run_folder.read_summary(planned[1].run_dir)["trained"] == "before"
    assert [p.run.seed for p in outcome.failed] == [2] and not outcome.ok
    assert run_folder.summary_path(planned[2].run_dir).read_text() == "{not json"
    log = text.getvalue()
    assert "warning: 1 finished runs were made with a config that differs" in log
    assert "t: 4 runs (2 finished, 1 to run, 1 damaged)" in log
    assert "damaged" in log and "is damaged" in outcome.failed[0].error


def test_rerun_stale_deletes_and_reruns_only_the_stale_run(planned):
    backend, (out, _) = Recorder(), console()
    outcome = run_sweep(planned, backend, out, rerun_stale=True)
    assert sorted(backend.ran) == sorted([planned[1].run_dir, planned[3].run_dir])
    assert run_folder.read_summary(planned[1].run_dir)["trained"] == "now"
    assert run_folder.read_summary(planned[0].run_dir)["trained"] == "before"
    assert [p.run.seed for p in outcome.failed] == [2]


def test_a_dry_run_deletes_and_runs_nothing_and_lists_the_runs_to_do(planned):
    (out, text) = console()
    outcome = run_sweep(planned, None, out, rerun_stale=True, show=lambda p: f"todo {p.run.seed}")
    assert run_folder.read_summary(planned[1].run_dir)["trained"] == "before"
    assert "todo 3" in text.getvalue() and "todo 1" not in text.getvalue()
    assert [p.run.seed for p in outcome.failed] == [2]


def test_failures_are_listed_and_summaries_collected_once_all_finished(planned, tmp_path):
    backend, (out, text) = Recorder(fail={3}), console()
    outcome = run_sweep(planned, backend, out)
    assert [p.run.seed for p in outcome.failed] == [2, 3]
    assert "2 of 2 runs failed" in text.getvalue() and "boom" in text.getvalue()
    fresh = plan_runs(parse_spec(spec_dict(seed={"values": [0, 1]})), tmp_path / "fresh")
    done = run_sweep(fresh, Recorder(), console()[0])
    assert done.ok and [s["seed"] for s in done.summaries()] == [0, 1]

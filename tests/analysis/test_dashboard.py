"""W&B report as code (project/analysis/render/dashboard.py, python -m project.dashboard):
built offline, never touching the W&B server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import wandb_workspaces.reports.v2 as wr

from project import dashboard as cli
from project.analysis.render import dashboard as dash
from project.runs.summary import SUMMARY_FIELDS

ROOT = Path(__file__).resolve().parents[2]
TASKS = [dash.TaskCurves("adding", "val/mse"), dash.TaskCurves("italypower", "val/acc")]
TABLE = ("| setting | attention steps | baseline steps | speedup |\n"
         "|---|---|---|---|\n| adding | 120 | 300 | 2.50 [1.1, 4.0] |\n")


@pytest.fixture(autouse=True)
def no_server(monkeypatch):
    """Any attempt to reach W&B (the API object wandb-workspaces uses) fails the test."""
    import wandb

    def refuse(*args, **kwargs):
        raise AssertionError("the test tried to reach the W&B server")

    monkeypatch.setattr(wandb, "Api", refuse)
    monkeypatch.setenv("WANDB_MODE", "offline")


def report() -> wr.Report:
    return dash.build_wandb_report("", "attention-backprop", "exp1", TASKS, TABLE)


def grids(rep: wr.Report) -> list[wr.PanelGrid]:
    return [b for b in rep.blocks if isinstance(b, wr.PanelGrid)]


def spec_blocks(rep: wr.Report, kind: str) -> list[dict]:
    return [b for b in dash.viewspec(rep)["spec"]["blocks"] if b.get("type") == kind]


def test_each_task_has_its_metric_against_steps_and_against_time():
    task_grids = grids(report())[:-1]
    assert len(task_grids) == len(TASKS)
    for grid, task in zip(task_grids, TASKS):
        plots = [p for p in grid.panels if isinstance(p, wr.LinePlot)]
        assert sorted(p.x for p in plots) == sorted([dash.STEP_AXIS, dash.TIME_AXIS])
        assert all(p.y == [task.val_metric] for p in plots)
        assert all(task.task in p.title for p in plots)


def test_curves_are_grouped_by_variant_with_median_and_band():
    for grid in grids(report())[:-1]:
        for plot in grid.panels:
            assert plot.groupby == wr.Config("identity.variant")
            assert (plot.groupby_aggfunc, plot.groupby_rangefunc) == ("median", "minmax")
    panels = [p for b in spec_blocks(report(), "panel-grid")
              for p in b["metadata"]["panelBankSectionConfig"]["panels"]]
    assert len(panels) == 2 * len(TASKS)
    for p in panels:
        assert p["config"]["groupBy"] == "identity.value.variant"
        assert (p["config"]["groupAgg"], p["config"]["groupArea"]) == ("median", "minmax")
        assert p["config"]["aggregate"] is True


def test_run_sets_keep_the_experiment_and_the_task():
    run_sets = [b["metadata"]["runSets"][0] for b in spec_blocks(report(), "panel-grid")]
    expected = [{"group": "exp1", "jobType": t.task} for t in TASKS] + [{"group": "exp1"}]
    assert len(run_sets) == len(expected)
    for rs, want in zip(run_sets, expected):
        got = {f["key"]["name"]: f["value"] for f in rs["filters"]["filters"]}
        assert got == want
        assert all(f["op"] == "=" and not f["disabled"] for f in rs["filters"]["filters"])
        assert rs["project"] == {"name": "attention-backprop", "entityName": ""}
    for rs in run_sets[:-1]:  # task run sets grouped by variant, like the plots
        assert rs["grouping"] == [{"section": "config", "name": "identity.value.variant"}]


def test_runs_table_shows_the_convergence_columns_of_summary_json():
    wanted = ["steps_to_target", "time_to_target", "reached", "auc", "best_val", "test_at_best"]
    assert set(wanted) <= set(SUMMARY_FIELDS)  # the names summary.json (and W&B) carry
    for grid in grids(report()):
        rs = grid.runsets[0]
        assert rs.visible_columns[1:] == [f"summary:{c}" for c in wanted]
        assert rs.pinned_columns == ["config:identity.value.variant"]
    feed = spec_blocks(report(), "panel-grid")[-1]["metadata"]["runSets"][0]["runFeed"]
    assert [c for c, shown in feed["columnVisible"].items() if shown] == feed["columnOrder"]
    assert feed["columnOrder"][1:] == [f"summary:{c}" for c in wanted]


def test_markdown_block_is_the_main_table():
    blocks = [b for b in report().blocks if isinstance(b, wr.MarkdownBlock)]
    assert [b.text for b in blocks] == [TABLE]
    assert [b["content"] for b in spec_blocks(report(), "markdown-block")] == [TABLE]


def test_spec_round_trips_to_the_same_report():
    document = json.loads(json.dumps(dash.spec_document(report(), "exp1")))
    again = dash.report_from_viewspec(document, entity="someone")
    assert again.entity == "someone" and again.project == "attention-backprop"
    assert all(rs.entity == "someone" for g in grids(again) for rs in g.runsets)
    blocks = [_without_ids(dash.viewspec(r)["spec"]["blocks"]) for r in (report(), again)]
    assert blocks[0] == blocks[1]
    with pytest.raises(ValueError, match="not a report spec"):
        dash.report_from_viewspec({"format": "other"})


def _without_ids(obj):
    if isinstance(obj, dict):
        return {k: _without_ids(v) for k, v in obj.items()
                if k not in ("id", "__id__", "entityName")}  # generated ids; moved entity
    if isinstance(obj, list):
        return [_without_ids(v) for v in obj]
    return obj


def test_tasks_come_from_the_runs_with_their_metric():
    runs = pd.DataFrame({"task": ["italypower", "adding", "adding"],
                         "val_metric": ["val/acc", "val/mse", "val/mse"]})
    assert dash.tasks_from_runs(runs) == sorted(TASKS, key=lambda t: t.task)
    with pytest.raises(ValueError, match="disagree"):
        dash.tasks_from_runs(pd.DataFrame({"task": ["a", "a"], "val_metric": ["x", "y"]}))


def fake_runs(monkeypatch, seen: dict):
    def load_runs(source, group=None, tags=(), state="finished"):
        seen.update(source=source, group=group)
        return pd.DataFrame({"task": ["adding", "italypower"],
                             "val_metric": ["val/mse", "val/acc"]}), pd.DataFrame()

    import project.analysis.sources as sources
    monkeypatch.setattr(sources, "load_runs", load_runs)


def test_offline_cli_writes_the_spec_and_says_how_to_publish(tmp_path, monkeypatch, capsys):
    seen: dict = {}
    fake_runs(monkeypatch, seen)
    (tmp_path / "main_table.md").write_text(TABLE)
    out = tmp_path / "spec.json"
    status = cli.main(["runs/quick", "--group", "exp1", "--table",
                       str(tmp_path / "main_table.md"), "--out", str(out)])
    assert status == 0 and seen == {"source": "runs/quick", "group": "exp1"}
    printed = capsys.readouterr().out
    assert "WANDB_MODE=offline" in printed
    assert f"wandb login && python -m project.dashboard --publish {out} --entity ENTITY" \
        in printed
    document = json.loads(out.read_text())
    assert document["format"] == dash.SPEC_FORMAT and document["group"] == "exp1"
    titles = [b["content"] for b in document["viewspec"]["spec"]["blocks"]
              if b.get("type") == "markdown-block"]
    assert titles == [TABLE]


def test_without_api_key_the_dashboard_is_offline(tmp_path, monkeypatch):
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "netrc").write_text("")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert "no W&B API key" in dash.offline_reason()
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert dash.offline_reason() is None


def test_online_cli_publishes_and_prints_the_url(tmp_path, monkeypatch, capsys):
    fake_runs(monkeypatch, {})
    (tmp_path / "t.md").write_text(TABLE)
    monkeypatch.setattr(dash, "offline_reason", lambda: None)
    published = []
    monkeypatch.setattr(dash, "publish", lambda rep: published.append(rep) or "https://w/r")
    args = ["src", "--group", "exp1", "--table", str(tmp_path / "t.md"),
            "--out", str(tmp_path / "spec.json"), "--entity", "me"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.strip() == "report: https://w/r"
    assert published[0].entity == "me" and not (tmp_path / "spec.json").exists()

    def fail(rep):
        raise ConnectionError("server unreachable\nmore")
    monkeypatch.setattr(dash, "publish", fail)  # a failed save keeps the work as a spec
    assert cli.main(args) == cli.EXIT_PUBLISH_FAILED
    assert "publishing failed (server unreachable)" in capsys.readouterr().out
    assert (tmp_path / "spec.json").exists()


def test_a_stalled_save_gives_up_at_the_deadline(monkeypatch):
    monkeypatch.setattr(wr.Report, "save", lambda self, *a, **k: time.sleep(30))
    rep = dash.build_wandb_report("me", "p", "exp1", TASKS, TABLE)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        dash.publish(rep, timeout_s=0.5)
    assert time.monotonic() - start < 5


def test_publishing_offline_refuses_in_one_line_without_prompting(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(dash.spec_document(report(), "exp1")))
    env = {**os.environ, "WANDB_MODE": "offline"}
    out = subprocess.run([sys.executable, "-m", "project.dashboard", "--publish", str(spec)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: cannot publish: WANDB_MODE=offline; run `wandb login` first"]


@pytest.mark.slow  # trains a short run with W&B logging (~20 s idle)
def test_the_report_asks_for_what_a_logged_run_holds(tmp_path):
    """A real run logged offline (logger=wandb) carries every key the report uses: its group
    and job type (filters), identity.variant (grouping), the curves' axes and metric, and the
    runs-table figures in its summary."""
    from project.analysis.wandb_offline import find_wandb_files, read_records

    env = {**os.environ, "WANDB_MODE": "offline"}
    subprocess.run([sys.executable, "-m", "project.train", "task=italypower",
                    "task.budget.max_steps=50", "logger=wandb", "logger.group=exp1",
                    "trainer.num_threads=1", "trainer.enable_progress_bar=false",
                    f"runs_root={tmp_path}"], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True, stdin=subprocess.DEVNULL)
    records = read_records(find_wandb_files(tmp_path)[0])
    body = {kind: [r[kind] for r in records if r.get("type") == kind]
            for kind in ("run", "history", "summary")}
    run = body["run"][0]
    assert (run["run_group"], run["job_type"]) == ("exp1", "italypower")
    name, rest = dash.VARIANT_KEY.split(".", 1)
    assert run["config"]["update"][name][rest] == "attention"
    rows = [h["item"] for h in body["history"]]
    curves = dash.tasks_from_runs(pd.DataFrame({"task": ["italypower"],
                                                "val_metric": ["val/acc"]}))[0]
    assert any({dash.STEP_AXIS, dash.TIME_AXIS, curves.val_metric} <= set(r) for r in rows)
    summary = {k: v for s in body["summary"] for k, v in s.get("update", {}).items()}
    assert set(dash.CONVERGENCE_COLUMNS) <= set(summary)

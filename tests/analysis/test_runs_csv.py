"""The published per-seed CSV: the report writes one row per run, and ``--from-csv`` rebuilds
every table from it alone, identical to the report from the run folders; time at isolated
step costs; the generalisation table; no printed interval is (0, ∞)."""

import json

import numpy as np
import pandas as pd
import pytest

from project.analysis.runs_csv import COLUMNS
from project.report import main
from tests.analysis.synthetic import summary, write_run

RESAMPLES = 300
# adding: heavy censoring on both sides (the old ratio of medians printed (0, ∞) here)
ADD_ATT = [(200, True), (1000, False), (1000, False), (400, True), (1000, False), (300, True)]
ADD_BASE = [(1000, False), (600, True), (1000, False), (1000, False), (800, True), (700, True)]
GUN_ATT = [(100, True), (150, True), (200, True), (100, True), (250, True)]
GUN_BASE = [(200, True), (200, True), (300, True), (300, True), (400, True)]


def write_runs(root):
    for s, ((sa, ra), (sb, rb)) in enumerate(zip(ADD_ATT, ADD_BASE)):
        write_run(root, summary("adding", "attention", s, sa, ra, 0.80 + 0.01 * s,
                                test_at_budget=0.85 + 0.01 * s, train_at_budget=0.95))
        write_run(root, summary("adding", "baseline", s, sb, rb, 0.82 + 0.01 * s,
                                test_at_budget=0.84 + 0.01 * s, train_at_budget=0.96))
    for s, ((sa, ra), (sb, rb)) in enumerate(zip(GUN_ATT, GUN_BASE)):
        write_run(root, summary("gunpoint", "attention", s, sa, ra, 0.9, budget=500))
        write_run(root, summary("gunpoint", "baseline", s, sb, rb, 0.9, budget=500))


@pytest.fixture
def no_figures(monkeypatch):
    from project.analysis import report as report_module

    for name in ("curve_figures", "profile_figure", "forest_figure"):
        monkeypatch.setattr(report_module, name, lambda *a, **k: [])


@pytest.fixture
def reports(tmp_path, no_figures, capsys):
    root = tmp_path / "runs"
    write_runs(root)
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"machine": "test machine", "date": "today", "tasks": {
        "adding": {"attention": {"suite_steps_per_s": 50.0},
                   "baseline": {"suite_steps_per_s": 100.0}}}}))
    args = ["--resamples", str(RESAMPLES)]
    assert main([str(root), "--out", str(tmp_path / "a"), "--step-costs", str(bench),
                 *args]) == 0
    printed = capsys.readouterr().out
    assert main(["--from-csv", str(tmp_path / "a" / "runs.csv"), "--out",
                 str(tmp_path / "b"), *args]) == 0
    return tmp_path / "a", tmp_path / "b", printed + capsys.readouterr().out


def test_the_csv_rebuilds_every_table(reports):
    a, b, _ = reports
    for name in ("main_table.md", "main_table.tex", "time_table.md",
                 "generalisation_table.md", "runs.csv"):
        assert (a / name).read_text() == (b / name).read_text(), name
    for name in ("main_table.csv", "cells.csv", "across_tasks.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name))


def test_one_row_per_run_with_the_published_columns(reports):
    runs = pd.read_csv(reports[0] / "runs.csv")
    assert tuple(runs.columns) == COLUMNS and len(runs) == 2 * 6 + 2 * 5
    add = runs[(runs["task"] == "adding") & (runs["model"] == "attention")].set_index("seed")
    assert add.loc[1, "censoring"] == "censored at the budget" and not add.loc[1, "reached"]
    assert pd.isna(add.loc[0, "censoring"])  # reached: no censoring
    assert add.loc[0, "lr"] == 0.001 and add.loc[0, "step_cost_s"] == pytest.approx(0.02)
    assert add.loc[2, "test_at_budget"] == pytest.approx(0.87)


def test_time_is_steps_times_the_isolated_step_cost(reports):
    table = pd.read_csv(reports[0] / "main_table.csv").set_index("setting")
    # attention 1/50 s per step, baseline 1/100: time effect = steps effect x 0.01 / 0.02
    row = table.loc["adding"]
    assert row["time_effect"] == pytest.approx(row["effect"] / 2)
    assert row["time_effect_low"] == pytest.approx(row["effect_low"] / 2)
    # restricted mean steps of attention (200 + 400 + 300 + 3 x 1000) / 6 = 650 -> 13 s
    assert row["variant.steps_rmst"] == pytest.approx(650)
    assert row["variant.time_rmst"] == pytest.approx(13.0)
    assert pd.isna(table.loc["gunpoint", "time_effect"])  # no step cost measured for it
    # the time profile covers only the setting with step costs
    assert "Performance-profile score (time at isolated step costs, 1 setting(s))" in reports[2]
    assert "Performance-profile score (steps, 2 setting(s))" in reports[2]


def test_generalisation_table_only_where_runs_carry_the_figures(reports):
    lines = (reports[0] / "generalisation_table.md").read_text().splitlines()
    header, add, gun = lines[0], lines[2], lines[3]
    assert "test at full budget: diff" in header and "train − test gap at budget" in header
    # test at budget: attention - baseline = +0.01 in all 6 pairs: sign p = 2/2^6 = 0.03125;
    # Holm over 1 tested comparison (gunpoint carries none)
    assert "+0.01 [+0.01, +0.01], p 0.0312 (exact sign test, n=6)" in add
    # gap: (0.95 - test) - (0.96 - test') = -0.02 in every pair
    assert "-0.02 [-0.02, -0.02], p 0.0312 (exact sign test, n=6)" in add
    assert gun.count("—") >= 4


def test_no_printed_interval_is_open(reports):
    """Issue #28: '(0, ∞)' under censoring. Restricted means make every interval finite."""
    a, b, printed = reports
    for text in [printed] + [(d / n).read_text() for d in (a, b)
                             for n in ("main_table.md", "time_table.md")]:
        assert "∞" not in text and "(0," not in text and "inf" not in text
    table = pd.read_csv(a / "main_table.csv")
    limits = table[["effect_low", "effect_high"]].to_numpy()
    assert (limits > 0).all() and np.isfinite(limits).all()
    across = pd.read_csv(a / "across_tasks.csv")
    bounds = across[[c for c in across if c.endswith(("_low", "_high"))]].to_numpy(float)
    assert bounds.size == 8 and (bounds > 0).all() and np.isfinite(bounds).all()


def test_bad_csv_input_is_one_line_and_exit_2(tmp_path, capsys, no_figures):
    bad = tmp_path / "bad.csv"
    bad.write_text("task,model,seed\nadding,attention,0\n")
    assert main(["--from-csv", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no column" in err and "steps_to_target" in err
    assert main(["--from-csv", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "no such runs CSV" in capsys.readouterr().err
    assert main([str(tmp_path), "--from-csv", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not both" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing written


def test_a_bad_step_cost_file_is_one_line(tmp_path, capsys, no_figures):
    root = tmp_path / "runs"
    write_runs(root)
    bench = tmp_path / "bench.json"
    bench.write_text("{}")
    assert main([str(root), "--out", str(tmp_path / "o"), "--step-costs", str(bench)]) == 2
    assert "no 'tasks' table" in capsys.readouterr().err

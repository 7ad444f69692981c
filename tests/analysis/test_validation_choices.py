"""Choices made on validation data: each model's learning rate (chosen on validation curves,
no target, read by the optimizer config from ``task.model_lr``) and a task's configuration."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from project.runs.compose import compose_train
from project.runs.identity import identity_of
from project.select_lr import main as select_lr, write_config
from project.stats.per_run import curve_mean

ROOT = Path(__file__).resolve().parents[2]


def test_curve_mean_is_the_area_under_the_curve_over_the_budget():
    steps, values = [0, 50, 100, 200], [0.1, 0.5, 0.7, 0.9]
    expected = np.trapezoid(values + [0.9], steps + [400]) / 400  # carried to the budget
    assert curve_mean(steps, values, "max", 400) == pytest.approx(expected)
    assert curve_mean(steps, values, "max", 200) == pytest.approx(
        np.trapezoid(values, steps) / 200)
    assert curve_mean(steps, [0.1, float("nan"), 0.7, 0.9], "max", 200) == -math.inf
    assert curve_mean(steps, [0.1, float("inf"), 0.7, 0.9], "min", 200) == math.inf


def write_run(root: Path, task: str, model: str, lr: float, seed: int, curve: list[float],
              direction: str = "max") -> None:
    d = root / task / model / f"lr{lr}" / f"seed{seed}"
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps({
        "task": task, "model": model, "seed": seed, "val_metric": "val/acc",
        "direction": direction, "budget_steps": 100 * (len(curve) - 1),
        "setting_overrides": [f"optimizer.lr={lr}"], "variant_overrides": [],
        "hparams": {"lr": lr}}))
    with (d / "metrics.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "train_time_s", "val/acc"])
        for i, v in enumerate(curve):
            w.writerow([100 * i, i, v])


def test_each_model_gets_the_rate_with_the_best_median_curve_and_ties_go_larger(tmp_path):
    runs = tmp_path / "sweep"
    for seed in range(3):
        # attention: 1e-2 is fast for two seeds of three, 1e-3 steady: medians decide
        write_run(runs, "digits", "attention", 1e-2, seed, [0.1, 0.9, 0.9] if seed else
                  [0.1, 0.1, float("nan")])
        write_run(runs, "digits", "attention", 1e-3, seed, [0.1, 0.5, 0.8])
        # baseline: two rates with the same curves (a tie) -> the larger rate
        write_run(runs, "digits", "baseline", 3e-3, seed, [0.1, 0.6, 0.7])
        write_run(runs, "digits", "baseline", 1e-3, seed, [0.1, 0.6, 0.7])
        write_run(runs, "digits", "baseline", 3e-4, seed, [0.1, 0.2, 0.3])
    out = tmp_path / "chosen"
    assert select_lr([str(runs), "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "lr_selection.csv").open()))
    chosen = {(r["model"], float(r["lr"])) for r in rows if r["chosen"] == "True"}
    assert chosen == {("attention", 1e-2), ("baseline", 3e-3)}
    attention_fast = next(r for r in rows if r["model"] == "attention" and float(r["lr"]) == 1e-2)
    assert float(attention_fast["median"]) == pytest.approx((0.1 + 2 * 0.9 + 0.9) / 4)
    assert attention_fast["seeds"] == "0 1 2"


def test_an_upward_extension_is_chosen_among_with_the_earlier_evidence(tmp_path):
    first, up = tmp_path / "grid", tmp_path / "up"
    for seed in range(3):
        write_run(first, "digits", "attention", 1e-2, seed, [0.1, 0.6, 0.8])
        write_run(first, "digits", "attention", 1e-3, seed, [0.1, 0.3, 0.5])
        write_run(first, "digits", "baseline", 1e-2, seed, [0.1, 0.7, 0.9])
        write_run(first, "digits", "baseline", 1e-3, seed, [0.1, 0.2, 0.3])
        write_run(up, "digits", "attention", 3e-2, seed, [0.1, 0.8, 0.9])  # better: chosen
        write_run(up, "digits", "baseline", 3e-2, seed, [0.1, 0.2, float("nan")])  # diverged
    assert select_lr([str(first), "--out", str(tmp_path / "a")]) == 0
    rows = list(csv.DictReader((tmp_path / "a" / "lr_selection.csv").open()))
    assert {r["model"] for r in rows if r["at_edge"] == "True"} == {"attention", "baseline"}
    assert select_lr([str(up), "--with", str(tmp_path / "a" / "lr_selection.csv"),
                      "--out", str(tmp_path / "b")]) == 0
    rows = list(csv.DictReader((tmp_path / "b" / "lr_selection.csv").open()))
    assert len(rows) == 6  # the earlier four rates and the two new ones
    chosen = {r["model"]: (float(r["lr"]), r["at_edge"]) for r in rows if r["chosen"] == "True"}
    assert chosen == {"attention": (3e-2, "True"), "baseline": (1e-2, "False")}
    earlier_row = next(r for r in rows if r["model"] == "baseline" and float(r["lr"]) == 1e-3)
    assert float(earlier_row["median"]) == pytest.approx((0.1 + 2 * 0.2 + 0.3) / 4)


def test_a_missing_evidence_file_is_a_one_line_error(tmp_path, capsys):
    write_run(tmp_path / "up", "digits", "attention", 3e-2, 0, [0.1, 0.8, 0.9])
    assert select_lr([str(tmp_path / "up"), "--with", str(tmp_path / "nope.csv"),
                      "--out", str(tmp_path / "o")]) != 0
    assert "nope.csv" in capsys.readouterr().err


def test_min_direction_prefers_the_lower_curve(tmp_path):
    runs = tmp_path / "sweep"
    for seed in range(2):
        write_run(runs, "etth1", "attention", 1e-2, seed, [1.0, 0.9, 0.8], "min")
        write_run(runs, "etth1", "attention", 1e-3, seed, [1.0, 0.5, 0.4], "min")
    assert select_lr([str(runs), "--out", str(tmp_path / "o")]) == 0
    rows = list(csv.DictReader((tmp_path / "o" / "lr_selection.csv").open()))
    assert [float(r["lr"]) for r in rows if r["chosen"] == "True"] == [1e-3]


def test_no_runs_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert select_lr([str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) != 0
    assert "no finished runs" in capsys.readouterr().err


def test_write_config_puts_model_lr_after_lr_and_replaces_it_on_rerun(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text("name: t\nlr: 3e-3\ndata: {}\n")
    write_config(task, {"baseline": 1e-3, "attention": 1e-2}, "here")
    assert task.read_text().splitlines()[2].startswith(
        "model_lr: {attention: 0.01, baseline: 0.001}")
    write_config(task, {"baseline": 3e-4, "attention": 1e-2}, "here")
    text = task.read_text()
    assert text.count("model_lr:") == 1 and "baseline: 0.0003" in text


def test_optimizer_reads_each_models_rate_and_the_shared_rate_pairs_both_models():
    rates = "+task.model_lr={attention:0.01,baseline:0.0003}"
    tuned = {m: compose_train(["task=digits", f"model={m}", rates]) for m in ("attention",
                                                                              "baseline", "max")}
    assert tuned["attention"].optimizer.lr == 0.01
    assert tuned["baseline"].optimizer.lr == 0.0003
    assert tuned["max"].optimizer.lr == tuned["max"].task.lr  # no entry: the task's rate
    shared = {m: compose_train(["task=digits", f"model={m}", rates, "task.model_lr=null"])
              for m in ("attention", "baseline")}
    assert {c.optimizer.lr for c in shared.values()} == {shared["attention"].task.lr}
    settings = {m: identity_of(c).setting for m, c in shared.items()}
    assert settings["attention"] == settings["baseline"]  # paired at the shared rate


def test_config_choice_ties_go_to_the_smaller_network_then_the_first_listed():
    sys.path.insert(0, str(ROOT / "scripts"))
    from select_on_validation import choose

    assert choose({"a": (0.90, 10), "b": (0.95, 99)}) == "b"
    assert choose({"a": (0.95, 99), "b": (0.95004, 10)}) == "b"  # equal to 4 decimals
    assert choose({"a": (0.95, 10), "b": (0.95, 10)}) == "a"
    assert choose({"a": (-0.20, 5), "b": (-0.10, 50)}) == "b"  # scores are signed: higher wins

"""The start-up/sweep ratio check, the thread bench and the scale-on-paper arithmetic."""

from __future__ import annotations

import json

import pytest
import yaml

from project.benchmarks import scale_on_paper as scale
from project.benchmarks import startup as startup_check
from project.benchmarks import threads as thread_bench
from project.benchmarks.threads import Setting


def test_settings_parse_and_refuse_nonsense():
    assert Setting.parse("default") == Setting(None)
    assert Setting.parse("2/passive") == Setting(2, "passive")
    assert str(Setting.parse("1/active")) == "1/active"
    for bad in ("0", "two", "2/spin"):
        with pytest.raises(ValueError):
            Setting.parse(bad)


def test_bench_threads_rejects_a_bad_setting_with_one_line(capsys):
    assert thread_bench.main(["--settings", "default,2/spin"]) == 2
    assert capsys.readouterr().err.startswith("error: setting '2/spin'")


def test_the_thread_verdict_is_the_default_over_the_best_fixed_count():
    times = {"default": [13.0, 12.0, 11.0], "1": [10.0, 10.0, 10.0], "2": [30.0, 9.0, 40.0],
             "2/active": [5.0]}  # medians: default 12, 1 -> 10, 2 -> 30, 2/active -> 5
    assert thread_bench.verdict(times) == (12.0 / 5.0, "2/active", 5.0)
    del times["2/active"]
    assert thread_bench.verdict(times) == (1.2, "1", 10.0)
    text = thread_bench.table({"alone": times, "busy": {**times, "default": [31.0]}})
    assert "alone: default / best fixed (1, 10.0 ms) = 1.20x (target <= 1.3x: met)" in text
    assert "busy: default / best fixed (1, 10.0 ms) = 3.10x (target <= 1.3x: MISSED)" in text


def test_the_startup_ratios_are_medians_of_paired_repeats():
    m = {"import_s": [2.0, 4.0, 3.0], "lightning_s": [5.0, 8.0, 6.6],  # 2.5x, 2.0x, 2.2x
         "torchmetrics_s": [3.0, 8.0, 5.7],  # 1.5x, 2.0x, 1.9x
         "teardown_s": [1.0, 0.5, 1.2],
         "runs": [{"wall_s": 10.0, "train_s": 7.0, "outside_s": 3.0},  # 1.5x its import
                  {"wall_s": 20.0, "train_s": 8.0, "outside_s": 12.0},  # 3.0x
                  {"wall_s": 12.0, "train_s": 6.0, "outside_s": 6.0}],  # 2.0x
         "sweep_s": [14.0, 20.0, 24.0]}  # 1.4x, 1.0x, 2.0x its run

    def line(start):
        return next(x for x in startup_check.report(m) if x.startswith(start))

    ratio, sweep = "outside training / import torch", "sweep / one run"
    lightning, metrics = "python -c 'import lightning.pytorch, os", "python -c 'import torch, torch"
    assert "= 2.00x" in line(ratio) and "met" in line(ratio)
    assert "/ import torch = 2.20x" in line(lightning) and "OUT OF reach" in line(lightning)
    assert "/ import torch = 1.90x" in line(metrics) and "within reach" in line(metrics)
    assert "= 1.40x" in line(sweep) and "met" in line(sweep)
    assert "teardown after import lightning.pytorch: 1.0 s [1.0, 0.5, 1.2]" in line("interpreter")
    m["sweep_s"] = [16.0, 40.0, 24.0]  # 1.6x, 2.0x, 2.0x
    assert "= 2.00x" in line(sweep) and "MISSED" in line(sweep)
    m["lightning_s"] = [3.0, 6.0, 5.1]  # 1.5x, 1.5x, 1.7x
    assert "= 1.50x" in line(lightning) and "within reach" in line(lightning)
    m["torchmetrics_s"] = [5.0, 8.0, 7.5]  # 2.5x, 2.0x, 2.5x
    assert "= 2.50x" in line(metrics) and "OUT OF reach" in line(metrics)


def test_the_sweep_spec_is_two_models_by_the_seeds(tmp_path):
    path = startup_check.digits_spec(8, ["task.budget.max_steps=50"], tmp_path / "s.yaml")
    params = yaml.safe_load(path.read_text())["parameters"]
    assert params["model"]["values"] == ["attention", "baseline"]
    assert params["seed"]["values"] == list(range(8))
    assert params["task"] == {"value": "digits"}
    assert params["task.budget.max_steps"] == {"value": 50}


def test_scale_on_paper_prices_a_run_from_the_bench_file(tmp_path, capsys):
    modes = {"processes": {"runs": 10, "wall_s": 50.0, "train_clock_s": 10.0},
             "workers": {"runs": 10, "wall_s": 20.0, "train_clock_s": 10.0},
             "vectorised": {"runs": 10, "wall_s": 5.0, "train_clock_s": 4.0},
             "default": {"runs": 10, "wall_s": 4.0, "train_clock_s": 4.0, "largest_group": 5}}
    bench = {"date": "d", "machine": "m", "load": {"start": "0"},
             "throughput": {"spec": "s", "workers": 2, "modes": modes},
             "sweep_runs_per_min": {"1": 10.0, "2": 18.0},
             "tasks": {"digits": {"attention": {"suite_steps_per_s": 300.0},
                                  "baseline": {"suite_steps_per_s": 600.0}}}}
    # worker-s per run: processes 10, workers 4, default 0.8; training 1 s per run
    cost, overhead, vf, fresh = scale.per_run_seconds(bench)
    assert (overhead, vf, fresh) == (4.0, 0.2, 6.0)
    assert cost == {"digits": pytest.approx(600 / 300 * 4.0)}  # digits budget: 600 steps
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(
        {"parameters": {"task": {"values": ["digits", "adding"]}}}))
    assert scale.main(["--bench", str(tmp_path / "bench.json"), "--spec",
                       str(tmp_path / "spec.yaml"), "--models", "1", "--seeds", "10"]) == 0
    out = capsys.readouterr().out
    # adding: not in the bench, priced as digits; its single runs are fused (T = 100)
    assert "one-thread core-seconds, one run at a time: 160 " in out  # 2 tasks x 10 x 8 s
    assert "seeds of adding train one by one" in out
    assert "seeds grouped (the default): 96 " in out  # digits x 0.2, adding one by one
    assert "5 a group" in out and "measured 1.80x at 2" in out  # from the bench file
    assert "makes 2 array tasks of at most 20 seeds" in out  # 2 tasks x 1 model x ceil(10/20)


@pytest.mark.slow
def test_the_startup_check_runs_end_to_end_on_a_shrunk_run(capsys):
    """Fresh processes: import torch, import lightning, one digits run of 20 steps and a
    2-run sweep of it; the printed ratios come from real timings."""
    assert startup_check.main(["--repeats", "1", "--sweep", "--seeds", "1", "--workers", "1",
                               "task.budget.max_steps=20",
                               "task.budget.val_every_n_steps=10"]) == 0
    out = capsys.readouterr().out
    for line in ("outside training / import torch = ",
                 "python -c 'import lightning.pytorch, os; os._exit(0)': ",
                 "python -c 'import torch, torchmetrics, os; os._exit(0)': ",
                 "interpreter teardown after import lightning.pytorch: ", "sweep / one run = "):
        assert line in out, out


@pytest.mark.slow
def test_the_thread_bench_runs_end_to_end_alone_and_beside_a_busy_process(capsys):
    assert thread_bench.main(["--task", "digits", "--steps", "20", "--repeats", "1",
                              "--settings", "default,1"]) == 0
    out = capsys.readouterr().out
    assert "| default | " in out and "| 1 | " in out
    assert "alone: default / best fixed (1, " in out and "busy: default / best fixed" in out

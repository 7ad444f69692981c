"""The isolated step-cost benchmark (scripts/bench_step_costs.py): what it times, its interval,
and that the report reads its file."""

import itertools
import json

import pytest

from project.analysis.step_costs import read_step_costs
from project.benchmarks.isolated_step_costs import StepClock, interval_coverage, main, summarise


class FakeTrainer:
    global_step = 0


def test_the_clock_times_updates_after_the_warmup_only():
    ticks = iter([0.0, 10.0, 10.5, 11.0, 11.5])  # the first update is slow (warm-up)
    clock = StepClock(warmup=2, clock=lambda: next(ticks))
    trainer = FakeTrainer()
    for step in (1, 2, 3, 4, 5):
        trainer.global_step = step
        clock.on_train_batch_end(trainer, None, None, None, step - 1)
    assert clock.seconds_per_update() == pytest.approx((11.5 - 10.0) / 3)
    with pytest.raises(RuntimeError, match="too few updates"):
        StepClock(warmup=9).seconds_per_update()


def test_the_interval_is_the_range_and_its_coverage_is_binomial():
    # [min, max] of n draws misses the median only if all fall on one side: 2 / 2^n
    for n in (2, 5, 6):
        misses = sum(1 for signs in itertools.product((0, 1), repeat=n) if len(set(signs)) == 1)
        assert interval_coverage(n) == pytest.approx(1 - misses / 2 ** n)
    figures = summarise([0.004, 0.002, 0.003])
    assert figures["step_cost_s"] == 0.003 and figures["interval_s"] == [0.002, 0.004]
    assert figures["suite_steps_per_s"] == pytest.approx(1 / 0.003)


def test_a_short_run_writes_a_file_the_report_reads(tmp_path):
    out = tmp_path / "costs.json"
    assert main(["--tasks", "italypower", "--repeats", "2", "--steps", "30", "--warmup", "10",
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    figures = data["tasks"]["italypower"]
    assert figures["attention"]["repeats_s"] and data["load"]["end"]
    costs = read_step_costs(out)
    assert costs["italypower", "baseline"] == pytest.approx(figures["baseline"]["step_cost_s"])

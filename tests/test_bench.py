"""project/benchmarks/suite.py (scripts/bench.py): the interleaved raw loop's accounting and
the suite/raw statistic."""

from types import SimpleNamespace

import pytest

from project.benchmarks import suite as bench


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("pause", ["validation", "checkpoint"])
def test_interleaved_loop_times_each_path_apart_and_leaves_warm_up_and_evaluations_out(pause):
    """Suite batches of 4 updates taking 10 s each (5 s in the warm-up batch and 100 s across
    an evaluation or a checkpoint save), raw updates of 2 s each (3 s in the first block):
    every counted cycle is (10, 8, 4); the warm-up cycle and the paused one are not counted."""
    clock = FakeClock()
    raw_calls = []

    def raw_update():
        raw_calls.append(clock.t)
        clock.t += 3.0 if len(raw_calls) <= 4 else 2.0

    loop = bench.InterleavedRawLoop(raw_update, clock=clock)
    trainer = SimpleNamespace(global_step=0)
    for batch in range(6):
        clock.t += 5.0 if batch == 0 else 10.0
        if batch == 3:  # an evaluation or a checkpoint save between batches 2 and 3
            if pause == "validation":
                loop.on_validation_start(trainer, None)
            else:
                loop.on_save_checkpoint(trainer, None, {})
            clock.t += 100.0
        trainer.global_step += 4
        loop.on_train_batch_end(trainer, None, None, None, batch)
    assert len(raw_calls) == 24  # n raw updates after each batch of n
    assert loop.cycles == [(10.0, 8.0, 4)] * 4  # batches 1, 2, 4, 5


def test_interleaved_loop_counts_the_updates_of_a_short_last_batch():
    clock = FakeClock()
    loop = bench.InterleavedRawLoop(lambda: None, clock=clock)
    trainer = SimpleNamespace(global_step=0)
    for step in (25, 50, 60):
        trainer.global_step = step
        loop.on_train_batch_end(trainer, None, None, None, 0)
    assert [n for _, _, n in loop.cycles] == [25, 10]


def test_suite_over_raw_is_raw_time_over_suite_time_with_an_interval_around_it():
    """Three cycles: suite 10, 12, 14 s; raw 9, 12, 12 s over 25 updates each: suite/raw =
    33/36, steps/s = 75/36 and 75/33; the interval holds the estimate and lies within the
    cycles' smallest and largest ratios."""
    cycles = [(10.0, 9.0, 25), (12.0, 12.0, 25), (14.0, 12.0, 25)]
    r = bench.suite_over_raw(cycles)
    assert r["suite_over_raw"] == pytest.approx(33 / 36)
    assert r["suite_steps_per_s"] == pytest.approx(75 / 36)
    assert r["raw_steps_per_s"] == pytest.approx(75 / 33)
    lo, hi = r["ci95"]
    assert 12 / 14 - 1e-9 <= lo <= 33 / 36 <= hi <= 1.0 + 1e-9
    assert r["cycles"] == 3


def test_suite_over_raw_interval_is_a_point_when_every_cycle_agrees():
    r = bench.suite_over_raw([(10.0, 9.5, 25)] * 20)
    assert r["ci95"] == pytest.approx([0.95, 0.95])


@pytest.mark.slow
@pytest.mark.parametrize("mode, group", [("processes", 1), ("workers", 1), ("vectorised", 2),
                                         ("default", 2)])
def test_each_throughput_mode_trains_as_named(mode, group):
    """The evidence-throughput modes on 2 seeds of ItalyPower: one run per process or per
    worker call (no group), a group of K = 2, and the plain sweep, which groups seeds itself."""
    out = bench.sweep_throughput(mode, seeds=2, workers=1, tasks=("italypower",), k=2)
    assert out["runs"] == 4 and out["largest_group"] == group


def test_the_drift_line_compares_the_same_groups_measured_first_and_last():
    """K = 16 (first) and the default (last) at 120 and 100 runs/min: 100 / 120 = 0.83; no
    line for a result without the order, another order, or groups of different sizes."""
    modes = {"processes": {"runs_per_min": 10.0, "largest_group": 1},
             "vectorised": {"runs_per_min": 120.0, "largest_group": 16},
             "default": {"runs_per_min": 100.0, "largest_group": 16}}
    order = ["vectorised", "processes", "workers", "default"]
    (line,) = bench.drift_line({"modes": modes, "order": order})
    assert "default / vectorised 0.83," in line
    assert bench.drift_line({"modes": modes}) == []
    assert bench.drift_line({"modes": modes, "order": order[::-1]}) == []
    modes["default"]["largest_group"] = 8
    assert bench.drift_line({"modes": modes, "order": order}) == []

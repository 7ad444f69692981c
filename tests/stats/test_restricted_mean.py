"""Restricted mean steps to target (area under the Kaplan-Meier curve up to the budget) against
scipy's Kaplan-Meier estimate integrated independently; the effect is always finite; the
across-task aggregates by hand."""

import numpy as np
import pytest
from scipy.stats import CensoredData, ecdf

from project.stats.across_tasks import across_tasks
from project.stats.bootstrap import Paired
from project.stats.restricted_mean import restricted_mean, rmst_effect


def scipy_rmst(times, reached, tau):
    """Integrate scipy's Kaplan-Meier survival function exactly: it is a step function that
    changes only at the observed times, so sum sf(left end) x width over those breakpoints."""
    times, reached = np.asarray(times, float), np.asarray(reached, bool)
    data = CensoredData(uncensored=times[reached], right=times[~reached])
    sf = ecdf(data).sf
    edges = np.unique(np.concatenate([[0.0], np.minimum(times, tau), [tau]]))
    return float(np.sum(sf.evaluate(edges[:-1]) * np.diff(edges)))


def test_without_censoring_it_is_the_mean():
    assert restricted_mean([100, 200, 200, 300, 400], [True] * 5, 1000) == pytest.approx(240)


def test_censored_at_the_budget_counts_the_whole_budget():
    # (200 + 300 + 3 * 1000) / 5
    assert restricted_mean([200, 300, 1000, 1000, 1000], [True, True, False, False, False],
                           1000) == pytest.approx(700)
    assert restricted_mean([1000] * 4, [False] * 4, 1000) == pytest.approx(1000)


def test_times_beyond_the_horizon_are_cut_to_it():
    assert restricted_mean([500, 1500], [True, True], 1000) == pytest.approx((500 + 1000) / 2)


@pytest.mark.parametrize("seed", range(25))
def test_matches_scipy_kaplan_meier_with_ties_and_early_censoring(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 25))
    times = 50.0 * rng.integers(1, 21, size=n)  # a grid of 50 up to 1000: many ties
    reached = rng.random(n) < 0.6
    times[~reached & (rng.random(n) < 0.5)] = 1000.0  # some censored at the budget
    tau = 1000.0
    assert restricted_mean(times, reached, tau) == pytest.approx(scipy_rmst(times, reached, tau))


def test_batches_equal_one_at_a_time():
    rng = np.random.default_rng(1)
    times = 50.0 * rng.integers(1, 21, size=(7, 9))
    reached = rng.random((7, 9)) < 0.5
    batch = restricted_mean(times, reached, 1000)
    assert batch == pytest.approx([restricted_mean(t, r, 1000) for t, r in zip(times, reached)])


def test_effect_and_its_interval_are_finite_under_any_censoring():
    """Issue #28: the ratio of medians printed (0, ∞) when both sides were censored."""
    a = Paired.of([1000, 1000, 1000, 1000, 300], [False] * 4 + [True],
                  [1000, 1000, 500, 1000, 1000], [False, False, True, False, False])
    est = rmst_effect(a, 1000, n_resamples=2000)
    # control (4000 + 500) / 5 = 900, variant (4000 + 300) / 5 = 860
    assert est.value == pytest.approx(900 / 860)
    assert 0 < est.low <= est.value <= est.high < np.inf


def test_across_tasks_by_hand():
    # four tasks, no censoring: effect = mean control / mean variant; P(faster) by pairs
    tasks = [(Paired.of([100, 100], [True] * 2, [200, 200], [True] * 2), 1000),   # 2, P=1
             (Paired.of([100, 300], [True] * 2, [200, 200], [True] * 2), 1000),   # 1, P=.5
             (Paired.of([400, 400], [True] * 2, [200, 200], [True] * 2), 1000),   # .5, P=0
             (Paired.of([100, 100], [True] * 2, [800, 800], [True] * 2), 1000)]   # 8, P=1
    out = across_tasks(tasks, n_resamples=500)
    assert out["p_faster"].value == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    # IQM of 4 (scipy trims int(0.25 * 4) = 1 each end) on the log scale: sqrt(1 * 2) (the
    # plain geometric mean would be 8^(1/4) = 1.68)
    assert out["iqm_effect"].value == pytest.approx(np.sqrt(2.0))
    for agg in out.values():
        assert agg.seeds_low <= agg.value <= agg.seeds_high
        assert agg.tasks_low <= agg.value <= agg.tasks_high
    # resampling seeds moves only task 2's P(faster) (0, .5 or 1): the mean is .5, .625 or
    # .75; resampling tasks (draws of 1, .5, 0, 1) reaches further down
    faster = out["p_faster"]
    assert (faster.seeds_low, faster.seeds_high) == pytest.approx((0.5, 0.75))
    assert faster.tasks_low < 0.5 and faster.tasks_high == pytest.approx(1.0)
    same = across_tasks([tasks[0]] * 3, n_resamples=200)["iqm_effect"]
    assert (same.value, same.seeds_low, same.seeds_high, same.tasks_low, same.tasks_high) == \
        pytest.approx((2.0,) * 5)

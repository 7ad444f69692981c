"""Convergence statistics against hand-computed cases and properties (PROTOCOL.md)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import CensoredData, ecdf

from project.stats.bootstrap import (Paired, geometric_mean_speedup, mean_difference,
                                           prob_faster, speedup, speedup_bound)
from project.stats.censoring import ert, km_median, km_quantile, km_survival
from project.stats.profiles import profile_score, rho
from project.stats.robust import iqm, mean_std
from project.stats.significance import holm, wilcoxon_p

FAST = {"n_resamples": 500}


# -- censoring ------------------------------------------------------------------------------
def test_km_median_without_censoring_is_the_ordinary_median():
    assert km_median([100, 200], [True, True]) == 150
    assert km_median([300, 100, 200], [True, True, True]) == 200


def test_km_median_hand_computed_with_censoring():
    # S: 100 -> 3/4, 200 -> 1/2 (exactly, flat until the next event at 400) -> midpoint 300
    assert km_median([100, 200, 300, 400], [True, True, False, True]) == 300
    # S: 100 -> 2/3, then censored: never <= 1/2
    assert km_median([100, 300, 300], [True, False, False]) == math.inf


def test_all_censored():
    steps, reached = [500, 500, 500], [False, False, False]
    assert km_median(steps, reached) == math.inf
    assert ert(steps, reached) == math.inf
    p = Paired.of(steps, reached, steps, reached)
    assert prob_faster(p, **FAST).value == 0.5  # two censored runs tie
    assert speedup(p, **FAST).value == 1.0  # both capped at the budget
    assert speedup_bound(p) == "?"


def test_censored_run_never_counts_as_reaching():
    # attention reached at the very last step; the baseline stopped at the same step unreached
    p = Paired.of([500], [True], [500], [False])
    assert prob_faster(p, **FAST).value == 1.0
    assert speedup_bound(p) == ">="


def test_ert_hand_computed():
    assert ert([100, 300, 500], [True, True, False]) == pytest.approx(900 / 2)


def test_km_survival_matches_scipy():
    times = np.array([100, 200, 200, 300, 400, 400, 500])
    reached = np.array([1, 1, 0, 1, 1, 1, 0], bool)
    t, e, s = km_survival(times, reached)
    ref = ecdf(CensoredData(uncensored=times[reached], right=times[~reached])).sf
    for q, p in zip(ref.quantiles, ref.probabilities):
        last = np.flatnonzero(t <= q)[-1]  # value after all samples at time q
        assert s[last] == pytest.approx(p)


def test_km_quantile_batches_match_single_calls():
    rng = np.random.default_rng(1)
    times = rng.integers(1, 10, size=(50, 6)) * 100
    reached = rng.random((50, 6)) < 0.6
    batch = km_quantile(times, reached, 0.25)
    assert np.array_equal(batch, [km_quantile(t, r, 0.25) for t, r in zip(times, reached)])


# -- robust aggregates ------------------------------------------------------------------------
def test_iqm_and_mean_std():
    assert iqm([1, 2, 3, 4, 100, -100, 2.5, 2.5]) == pytest.approx(2.5)
    assert mean_std([3.0]) == (3.0, 0.0)
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))


# -- paired comparison ------------------------------------------------------------------------
def test_identical_runs_give_speedup_one_and_half_probability():
    steps, reached = [100, 300, 200, 400], [True, True, True, False]
    p = Paired.of(steps, reached, steps, reached)
    est = speedup(p, **FAST)
    assert (est.value, est.low, est.high) == (1.0, 1.0, 1.0)
    faster = prob_faster(p, **FAST)
    assert (faster.value, faster.low, faster.high) == (0.5, 0.5, 0.5)
    assert wilcoxon_p(steps, steps) == 1.0


def test_ties_count_half():
    p = Paired.of([100, 200, 300, 400], [True] * 4, [100, 300, 200, 500], [True] * 4)
    assert prob_faster(p, **FAST).value == pytest.approx((0.5 + 1 + 0 + 1) / 4)


def test_one_seed():
    p = Paired.of([100], [True], [300], [True])
    est = speedup(p, **FAST)
    assert (est.value, est.low, est.high) == (3.0, 3.0, 3.0)
    assert prob_faster(p, **FAST).value == 1.0
    assert wilcoxon_p([100], [300]) == 1.0  # one pair cannot be significant


def test_speedup_hand_computed():
    p = Paired.of([100, 200, 300], [True] * 3, [200, 400, 600], [True] * 3)
    assert speedup(p, **FAST).value == 2.0


def test_bootstrap_is_seeded():
    p = Paired.of([100, 200, 350, 120], [True] * 4, [200, 180, 600, 500], [True] * 4)
    assert speedup(p, n_resamples=300, seed=3) == speedup(p, n_resamples=300, seed=3)


def test_mean_difference():
    est = mean_difference([1.0, 0.9, 0.8], [0.5, 0.9, 0.8], **FAST)
    assert est.value == pytest.approx(0.5 / 3)
    assert est.low <= est.value <= est.high


def test_geometric_mean_hand_computed():
    p2 = Paired.of([100, 100], [True] * 2, [200, 200], [True] * 2)
    p8 = Paired.of([100, 100], [True] * 2, [800, 800], [True] * 2)
    est = geometric_mean_speedup([p2, p8], n_resamples=200)
    assert est.value == pytest.approx(4.0)
    assert (est.low, est.high) == (pytest.approx(4.0), pytest.approx(4.0))


def test_holm_hand_computed():
    adjusted = holm([0.01, 0.04, float("nan"), 0.03])
    assert adjusted[[0, 1, 3]] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adjusted[2])
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def test_wilcoxon_detects_a_consistent_speedup():
    a = np.array([100, 120, 90, 110, 105, 95, 130, 100])
    assert wilcoxon_p(a, 3 * a + np.arange(8)) < 0.01


# -- performance profile -----------------------------------------------------------------------
def test_profile_hand_computed():
    times = np.array([[100, 400.0], [200, 100]])  # model 0 wins task 0, model 1 task 1 (4x)
    assert rho(times, [1, 2, 3.9, 4]).tolist() == [[0.5, 0.5, 0.5, 1.0], [0.5, 1.0, 1.0, 1.0]]
    # areas on [1, 4]: model 0: (3 + 0) / 2 / 3 ; model 1: (2 + 3) / 2 / 3
    assert profile_score(times) == pytest.approx([0.5, 5 / 6])
    assert profile_score(np.array([[1.0], [math.inf]])).tolist() == [1.0, 0.0]


# -- properties ------------------------------------------------------------------------------
runs = st.lists(st.tuples(st.integers(1, 50), st.booleans(), st.integers(1, 50), st.booleans()),
                min_size=1, max_size=8)


def _pairs(rows):
    budget = 50
    a = [s if r else budget for s, r, _, _ in rows]
    b = [s if r else budget for _, _, s, r in rows]
    return Paired.of(a, [r for _, r, _, _ in rows], b, [r for _, _, _, r in rows])


@settings(max_examples=40, deadline=None)
@given(runs)
def test_ci_contains_point_estimate(rows):
    p = _pairs(rows)
    for est in (speedup(p, n_resamples=300), prob_faster(p, n_resamples=300)):
        assert est.low <= est.value <= est.high


@settings(max_examples=40, deadline=None)
@given(runs)
def test_swapping_models_inverts_speedup(rows):
    p = _pairs(rows)
    assert speedup(p.swapped(), **FAST).value == pytest.approx(1 / speedup(p, **FAST).value)
    assert prob_faster(p.swapped(), **FAST).value == pytest.approx(
        1 - prob_faster(p, **FAST).value)


def test_a_float32_accuracy_meets_its_decimal_target():
    import torch

    from project.stats.per_run import meets, steps_to_target
    acc = float(torch.tensor(18.0) / 20)  # 0.8999999761581421, as torchmetrics logs it
    assert acc < 0.9 and meets(acc, 0.9, "max")
    assert not meets(float(torch.tensor(17.0) / 20), 0.9, "max")
    assert meets(float(torch.tensor(0.1, dtype=torch.float32)), 0.1, "min")
    assert steps_to_target([0, 50, 100], [0.5, acc, 0.95], 0.9, "max", 100) == (50, True)

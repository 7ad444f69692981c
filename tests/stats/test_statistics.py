"""Convergence statistics against hand-computed cases and properties (PROTOCOL.md)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import CensoredData, ecdf

from project.stats.binomial import prob_faster
from project.stats.bootstrap import (Paired, faster_stat, geometric_mean_speedup,
                                     mean_difference, speedup, speedup_bound)
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
    assert prob_faster(p).value == 0.5  # two censored runs tie
    est = speedup(p, **FAST)
    assert est.value == 1.0 and est.bound == "?"  # both capped at the budget: no information
    assert (est.low, est.high) == (0.0, math.inf)
    assert speedup_bound(p) == "?"


def test_censored_run_never_counts_as_reaching():
    # attention reached at the very last step; the baseline stopped at the same step unreached
    p = Paired.of([500], [True], [500], [False])
    assert prob_faster(p).value == 1.0
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
    est = speedup(uncensored := Paired.of(steps, [True] * 4, steps, [True] * 4), **FAST)
    assert (est.value, est.low, est.high) == (1.0, 1.0, 1.0)
    assert prob_faster(uncensored).value == 0.5
    # 26% of resamples draw the censored run 2+ times out of 4 (1 - 0.75^4 - 4 * 0.25 * 0.75^3):
    # both medians censored there, so the ratio is unknown: the interval opens on both sides
    est = speedup(p, **FAST)
    assert (est.value, est.bound, est.low, est.high) == (1.0, "", 0.0, math.inf)
    faster = prob_faster(p)  # 3 ties and one tie of censored runs: every pair ties
    assert (faster.value, faster.wins, faster.ties, faster.n) == (0.5, 0, 4, 4)
    assert (faster.low, faster.high) == (0.0, 1.0)  # ties: losses below, wins above
    assert wilcoxon_p(steps, steps) == 1.0


def test_ties_count_half():
    p = Paired.of([100, 200, 300, 400], [True] * 4, [100, 300, 200, 500], [True] * 4)
    assert prob_faster(p).value == pytest.approx((0.5 + 1 + 0 + 1) / 4)


def test_one_seed():
    p = Paired.of([100], [True], [300], [True])
    est = speedup(p, **FAST)
    assert (est.value, est.low, est.high) == (3.0, 3.0, 3.0)
    assert prob_faster(p).value == 1.0
    assert wilcoxon_p([100], [300]) == 1.0  # one pair cannot be significant


def test_speedup_hand_computed():
    p = Paired.of([100, 200, 300], [True] * 3, [200, 400, 600], [True] * 3)
    assert speedup(p, **FAST).value == 2.0


def test_bootstrap_interval_is_the_percentile_of_resampled_median_ratios():
    """Two pairs, ratios 1 and 4 apart: the resampled median ratio takes only the values
    {200/100, (200+800)/2/((100+100)/2) = 5, 800/100} with probabilities 1/4, 1/2, 1/4, so a
    95% interval is [2, 8] for any seed; the seed fixes the draw (same seed, same interval)."""
    p = Paired.of([100, 100], [True] * 2, [200, 800], [True] * 2)
    est = speedup(p, n_resamples=4000, seed=3)
    assert (est.value, est.low, est.high, est.bound) == (5.0, 2.0, 8.0, "")
    samples = [speedup(p, n_resamples=30, seed=s) for s in range(20)]
    assert len({(e.low, e.high) for e in samples}) > 1  # small resample counts do vary ...
    assert speedup(p, n_resamples=30, seed=7) == samples[7]  # ... but not for one seed


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
    for est in (speedup(p, n_resamples=300), prob_faster(p)):
        assert est.low <= est.value <= est.high


@settings(max_examples=40, deadline=None)
@given(runs)
def test_swapping_models_inverts_speedup(rows):
    p = _pairs(rows)
    assert speedup(p.swapped(), **FAST).value == pytest.approx(1 / speedup(p, **FAST).value)
    assert prob_faster(p.swapped()).value == pytest.approx(1 - prob_faster(p).value)
    assert float(faster_stat(p)) == pytest.approx(prob_faster(p).value)


def test_a_float32_accuracy_meets_its_decimal_target():
    import torch

    from project.stats.per_run import meets, steps_to_target
    acc = float(torch.tensor(18.0) / 20)  # 0.8999999761581421, as torchmetrics logs it
    assert acc < 0.9 and meets(acc, 0.9, "max")
    assert not meets(float(torch.tensor(17.0) / 20), 0.9, "max")
    assert meets(float(torch.tensor(0.1, dtype=torch.float32)), 0.1, "min")
    assert steps_to_target([0, 50, 100], [0.5, acc, 0.95], 0.9, "max", 100) == (50, True)


# -- small-sample honesty (../shared/docs/PROTOCOL.md) -------------------------------------
def test_clopper_pearson_five_of_five_is_not_a_point():
    from scipy.stats import beta

    from project.stats.binomial import exact_interval

    p = Paired.of([100] * 5, [True] * 5, [200] * 5, [True] * 5)
    est = prob_faster(p)
    # x = n: the lower limit solves p^n = alpha/2 -> 0.025^(1/5) = 0.4782
    assert (est.value, est.high, est.n) == (1.0, 1.0, 5)
    assert est.low == pytest.approx(0.025 ** (1 / 5)) and round(est.low, 3) == 0.478
    # an interior count against the beta-quantile formula (Clopper & Pearson 1934)
    low, high = exact_interval(3, 7)
    assert (low, high) == (pytest.approx(beta.ppf(0.025, 3, 5)),
                           pytest.approx(beta.ppf(0.975, 4, 4)))


def test_faster_interval_counts_ties_as_losses_below_and_wins_above():
    from scipy.stats import beta

    # pairs: win, win, tie, loss (variant steps a vs control steps b)
    p = Paired.of([100, 100, 200, 300], [True] * 4, [200, 300, 200, 100], [True] * 4)
    est = prob_faster(p)
    assert (est.wins, est.ties, est.n, est.value) == (2, 1, 4, 2.5 / 4)
    assert est.low == pytest.approx(beta.ppf(0.025, 2, 3))  # 2 successes of 4
    assert est.high == pytest.approx(beta.ppf(0.975, 4, 1))  # 3 successes of 4


def test_censored_control_gives_a_lower_bound_open_above():
    """Issue #11: variant [100, 120, 120] vs control [960, >1000, >1000] printed
    '>= 8.33 [8.33, 9.60]', an upper limit that only reflects the budget cap."""
    p = Paired.of([100, 120, 120], [True] * 3, [960, 1000, 1000], [True, False, False])
    est = speedup(p, n_resamples=4000)
    assert est.bound == ">=" and est.value == pytest.approx(1000 / 120)
    assert est.high == math.inf
    # pairs resample together: seed 0 drawn 2+ times (7/27) gives 960/100 = 9.6, otherwise
    # the control's median is censored (capped at 1000) and the variant's is 120: 8.33. The
    # lower limit is 8.33 (a lower bound itself); the upper one is open, not 9.6
    assert est.low == pytest.approx(1000 / 120)
    flipped = speedup(p.swapped(), n_resamples=4000)  # the variant censored: (0, high]
    assert flipped.bound == "<=" and flipped.low == 0.0
    assert (flipped.value, flipped.high) == (pytest.approx(0.12), pytest.approx(0.12))


def test_a_finite_median_with_censored_resamples_has_no_capped_upper_limit():
    """Control [400, 500, >500]: its median 500 is not censored, but a resample drawing the
    censored run twice (26% of them) has a censored median, so the upper limit is open."""
    p = Paired.of([200] * 3, [True] * 3, [400, 500, 500], [True, True, False])
    est = speedup(p, n_resamples=4000)
    assert (est.value, est.bound, est.low, est.high) == (2.5, "", 2.0, math.inf)


def test_iqm_of_censored_times_hand_computed():
    from scipy.stats import trim_mean

    from project.stats.robust import censored_iqm

    # n = 8: 2 trimmed from each end; kept 300, 400, 500c, 500c -> 425, a lower bound
    values = [100, 200, 300, 400, 500, 500, 500, 500]
    reached = [True] * 4 + [False] * 4
    assert censored_iqm(values, reached) == (425.0, True)
    # both censored runs among the trimmed top quarter: an estimate, equal to scipy's
    values = [100, 200, 300, 400, 500, 600, 700, 700]
    assert censored_iqm(values, [True] * 6 + [False] * 2) == (450.0, False)
    assert trim_mean(values, 0.25) == 450.0
    # n = 3: nothing trimmed (int(0.75) = 0), the censored run counts
    assert censored_iqm([200, 400, 500], [True, True, False]) == (pytest.approx(1100 / 3), True)


def brute_force_wilcoxon(d):
    """Two-sided exact signed-rank p over all 2^n sign flips (average ranks for ties)."""
    import itertools

    from scipy.stats import rankdata

    d = np.asarray([x for x in d if x != 0], float)
    ranks = rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    mean = ranks.sum() / 2
    dist = np.array([sum(r for r, s in zip(ranks, signs) if s)
                     for signs in itertools.product([0, 1], repeat=len(d))])
    return min(1.0, float(np.mean(np.abs(dist - mean) >= abs(observed - mean) - 1e-9)))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 10])
def test_smallest_p_is_two_over_two_to_the_n(n):
    from project.stats.significance import signed_rank, smallest_p

    d = np.arange(1, n + 1) * 0.1  # every pair favours the variant
    assert smallest_p(n) == pytest.approx(min(1.0, 2 / 2 ** n))
    assert brute_force_wilcoxon(d) == pytest.approx(smallest_p(n))
    assert signed_rank(d).p == pytest.approx(smallest_p(n))
    # with tied differences the floor still holds (exact enumeration, not the normal approx)
    assert signed_rank(np.full(n, 0.3)).p == pytest.approx(brute_force_wilcoxon(np.full(n, 0.3)))


def test_pairs_with_equal_steps_drop_out_and_are_counted():
    from project.stats.significance import signed_rank, step_test

    a = [100, 200, 300, 400, 500, 600]
    b = [100, 250, 300, 350, 900, 700]  # two ties
    test = step_test(a, b)
    d = np.log(np.array(b, float) / np.array(a, float))
    assert test.n == 4
    assert test.p == pytest.approx(brute_force_wilcoxon(d))
    assert signed_rank([0.0, 0.0]).n == 0 and signed_rank([0.0, 0.0]).p == 1.0


def test_holm_over_five_comparisons_hand_computed():
    # sorted p 0.01..0.04, 0.5; multipliers 5, 4, 3, 2, 1 -> 0.05, 0.08, 0.09, 0.08, 0.5;
    # monotone step-down -> 0.05, 0.08, 0.09, 0.09, 0.5
    adjusted = holm([0.04, 0.5, 0.01, 0.03, 0.02])
    assert adjusted == pytest.approx([0.09, 0.5, 0.05, 0.09, 0.08])
    # the smallest adjusted p is m times the smallest raw p: the floor under the table
    assert min(holm([2 / 2 ** 5] * 8)) == pytest.approx(8 * 2 / 2 ** 5)


def test_geometric_mean_of_a_censored_setting_is_a_bound():
    bounded = Paired.of([100] * 3, [True] * 3, [1000] * 3, [False] * 3)  # control censored
    plain = Paired.of([100] * 3, [True] * 3, [400] * 3, [True] * 3)
    est = geometric_mean_speedup([plain, bounded], n_resamples=200)
    assert est.bound == ">=" and est.value == pytest.approx(math.sqrt(4 * 10))
    assert est.high == math.inf and est.low == pytest.approx(math.sqrt(40))


def test_open_limits_hand_computed():
    """100 resampled ratios 1..100; 'nearest' percentiles: rank 0.025 * 99 = 2.475 -> 2 (value
    3) and 0.975 * 99 = 96.525 -> 97 (value 98)."""
    from project.stats.bootstrap import open_limits

    samples, none = np.arange(1.0, 101.0), np.zeros(100, bool)
    assert open_limits(samples, none, none, "") == (3.0, 98.0)
    top2, top3 = samples > 98, samples > 97  # resamples whose control median is censored
    assert open_limits(samples, top2, none, "") == (3.0, 98.0)  # 2% may be anything: fine
    assert open_limits(samples, top3, none, "") == (3.0, math.inf)  # 3% > 2.5%: open
    low3 = samples < 4  # resamples whose variant median is censored
    assert open_limits(samples, none, low3, "") == (0.0, 98.0)
    # a point estimate that is a bound opens its side even when no resample is censored
    assert open_limits(samples, none, none, ">=") == (3.0, math.inf)
    assert open_limits(samples, none, none, "<=") == (0.0, 98.0)
    assert open_limits(samples, none, none, "?") == (0.0, math.inf)

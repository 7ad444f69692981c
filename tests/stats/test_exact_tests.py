"""The steps test of the tables: the exact sign test on the pairs whose order is known, checked
against brute-force enumeration of sign assignments (n <= 12) and scipy's exact binomial
distribution (n up to 50), never a normal approximation; which pairs have a known order."""

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from project.stats.bootstrap import Paired
from project.stats.significance import (SIGN_TEST, holm, known_order, order_test, sign_test,
                                        smallest_p)


def brute_force_sign_p(k: int, n: int) -> float:
    """Two-sided p by enumerating all 2^n equally likely sign vectors under H0: the share whose
    count of positives is at least as far from n/2 as ``k``."""
    far = abs(k - n / 2)
    hits = sum(abs(sum(v) - n / 2) >= far - 1e-12 for v in itertools.product((0, 1), repeat=n))
    return hits / 2 ** n


@pytest.mark.parametrize("n", range(1, 13))
def test_sign_test_equals_brute_force_enumeration(n):
    for k in range(n + 1):
        signs = [1] * k + [-1] * (n - k) + [0, 0]  # zeros drop out
        test = sign_test(signs)
        assert test.n == n and test.method == SIGN_TEST
        assert test.p == pytest.approx(brute_force_sign_p(k, n), rel=1e-12)


@pytest.mark.parametrize("n", [13, 20, 33, 50])
def test_sign_test_is_exact_up_to_50_pairs(n):
    """scipy's exact Binomial(n, 1/2): two-sided p = min(1, 2 P(X <= min(k, n - k)))."""
    for k in range(n + 1):
        exact = min(1.0, 2 * binom.cdf(min(k, n - k), n, 0.5))
        assert sign_test([1] * k + [-1] * (n - k)).p == pytest.approx(exact, rel=1e-9)


def test_twenty_of_twenty_on_a_grid_with_ties_is_two_over_two_to_the_twenty():
    """Issue #28: adding, digits and ETTh1 agree in 20 of 20 pairs with steps on a grid (tied
    values), where scipy's signed-rank printed 7e-5 (normal approximation); exact: 2/2^20."""
    a = np.array([200] * 20, float)
    b = np.array([400] * 10 + [500] * 10, float)
    test = order_test(Paired.of(a, [True] * 20, b, [True] * 20))
    assert test.n == 20 and test.p == pytest.approx(2 / 2 ** 20) == pytest.approx(smallest_p(20))


def test_which_pairs_have_a_known_order():
    # (variant steps, reached, control steps, reached) -> +1 variant faster, -1 slower, 0 unknown
    cases = [((100, True, 200, True), 1), ((300, True, 200, True), -1),
             ((200, True, 200, True), 0),             # tie on the grid
             ((400, True, 1000, False), 1),           # control censored at 1000 > 400
             ((1000, True, 1000, False), 1),          # reached at the budget, other did not
             ((1000, False, 600, True), -1),          # variant censored after control reached
             ((500, False, 600, True), 0),            # variant stopped at 500: unknown
             ((1000, False, 1000, False), 0)]         # both censored: undetermined
    a, ar, b, br = (np.array(x) for x in zip(*(c for c, _ in cases)))
    order = known_order(Paired.of(a, ar, b, br))
    assert order.tolist() == [want for _, want in cases]


def test_censored_pairs_enter_by_order_and_double_censored_drop_out():
    # 6 pairs where the censored control lost to a reached variant, 2 both censored, 1 tie:
    # n = 6, all favouring the variant -> 2/2^6
    a = [100, 200, 300, 400, 500, 600, 1000, 1000, 300]
    ar = [True] * 6 + [False, False, True]
    b = [1000] * 8 + [300]
    br = [False] * 8 + [True]
    test = order_test(Paired.of(a, ar, b, br))
    assert (test.n, test.p) == (6, pytest.approx(brute_force_sign_p(6, 6)))


def test_holm_over_exact_p_values():
    # hand: sorted 0.01, 0.02, 0.04 x 3, 2, 1 -> 0.03, 0.04, 0.04 (monotone)
    assert holm([0.04, 0.01, 0.02]).tolist() == pytest.approx([0.04, 0.03, 0.04])

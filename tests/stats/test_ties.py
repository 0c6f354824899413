"""The order tests' tie rule is calibrated per test: each runs up to its own grid limit, and at
that limit its rejection rate on rounded target data is alpha within binomial error."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import registry, ties
from gancheck.stats.scoring import score

ORDER_TESTS = [t for t in registry.SCORE_TESTS if t.ties == "order"]


def test_every_order_test_has_a_limit_and_float32_is_never_tied():
    assert {t.name for t in ORDER_TESTS} == set(ties.ORDER_OCCUPANCY)
    x = np.random.default_rng(1).normal(4, 1.25, (2, 100_000)).astype(np.float32).astype(float)
    assert not ties.coarse_for_order_tests(np.sort(x, axis=1), "ks").any()


def test_two_decimals_at_n500_are_now_tested_where_calibrated():
    # Occupancy of a 0.01 grid at n = 500, sd 1.25: 500 * 0.008 / sqrt(2 pi) = 1.6 (by hand):
    # above the limits of ks (0.5), cvm, shapiro and ad_normal (1), below ad's (2).
    x = np.round(np.random.default_rng(2).normal(4, 1.25, 500), 2)
    status = score(x).set_index("test")["status"]
    assert status["ad"] == "ok" and (status[["ks", "cvm", "shapiro", "ad_normal"]] == "ties").all()


@pytest.mark.parametrize("location", [4.0, 1e6, 1e9, -1e9])
def test_a_grid_far_from_zero_is_still_a_grid(location):
    # One decimal near 1e9 is off its grid by float64's spacing there (1.2e-7, a millionth of a
    # step), which a fixed tolerance read as no grid: the order tests then ran on coarse data
    # (KS rejected 16% of true-target samples). The step is 0.1 whatever the location, so the
    # grid in sample sds is 0.1 / s (by hand) and the order tests are not run.
    x = np.sort(np.round(np.random.default_rng(3).normal(location, 1.25, (4, 500)), 1), axis=1)
    assert np.allclose(ties.grid_to_sd(x), 0.1 / x.std(axis=1, ddof=1), rtol=1e-6)
    status = score(x, mean=location, std=1.25).set_index("test")["status"]
    assert (status[[t.name for t in ORDER_TESTS]] == "ties").all()
    # Unrounded float64 draws there are off any grid (their spacing is far below their gaps).
    y = np.sort(np.random.default_rng(4).normal(location, 1.25, (4, 500)), axis=1)
    assert (ties.grid_to_sd(y) == 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("test", ORDER_TESTS, ids=lambda t: t.name)
def test_calibrated_at_its_limit(test):
    # 1,000 rounded N(4, 1.25) samples on a grid just inside the test's limit (90% of it, from
    # the target sd), n = 20 and 500, the grid shifted by half a step. The rule reads each
    # sample's own sd, so some samples fall outside and are not tested; those it runs on reject
    # at 0.05 within the 99.5% binomial band (scipy.stats.binom) of their number.
    rng = np.random.default_rng(sum(map(ord, test.name)))
    reps = 1000
    for n in (20, 500):
        h = 0.9 * ties.ORDER_OCCUPANCY[test.name] * math.sqrt(2 * math.pi) / n * 1.25
        x = np.sort((np.round(rng.normal(4, 1.25, (reps, n)) / h - 0.5) + 0.5) * h, axis=1)
        x = x[np.ptp(x, axis=1) > 0]
        x = x[~ties.coarse_for_order_tests(x, test.name)]
        assert len(x) >= reps / 2
        low, high = (stats.binom.ppf(q, len(x), 0.05) / len(x) for q in (0.005, 0.995))
        rate = float(np.mean(test.run(x, mean=4.0, std=1.25)[1] < 0.05))
        assert low <= rate <= high, (test.name, n, rate)

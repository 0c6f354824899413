"""The order tests' tie rule is calibrated per test: each runs up to its own grid limit, and at
that limit its rejection rate on rounded target data is alpha within binomial error."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import grouped_ks, grouped_simulated, registry, targeting, ties
from gancheck.stats.scoring import score
from gancheck.stats.verdict import verdict

ORDER_TESTS = [t for t in registry.SCORE_TESTS if t.ties == "order"]


def test_every_order_test_has_a_limit_and_float32_is_never_tied():
    assert {t.name for t in ORDER_TESTS} == set(ties.ORDER_OCCUPANCY)
    x = np.random.default_rng(1).normal(4, 1.25, (2, 100_000)).astype(np.float32).astype(float)
    assert not ties.coarse_for_order_tests(np.sort(x, axis=1), "ks").any()


def test_two_decimals_at_n500_are_now_tested_where_calibrated():
    # Occupancy of a 0.01 grid at n = 500, sd 1.25: 500 * 0.008 / sqrt(2 pi) = 1.6 (by hand):
    # above the limits of ks (0.5), cvm, shapiro and ad_normal (1), below ad's (2).
    # KS's and CvM's continuous p-values are not used there; they are taken against the rounded
    # target instead (gancheck.stats.grouped_ks, grouped_simulated), so their rows are tested,
    # with those p-values. Shapiro-Wilk and estimated-parameter A² have no such form.
    x = np.round(np.random.default_rng(2).normal(4, 1.25, 500), 2)
    assert ties.coarse_for_order_tests(np.sort(x)[None, :], "ks").all()
    table = score(x).set_index("test")
    status = table["status"]
    assert status["ad"] == "ok" and (status[["shapiro", "ad_normal"]] == "ties").all()
    grouped = grouped_ks.grouped_ks(np.sort(x), 0.01, targeting.resolve(None))
    assert status["ks"] == "ok" and tuple(table.loc["ks", ["statistic", "pvalue"]]) == pytest.approx(grouped)
    grouped = grouped_simulated.grouped_cvm(np.sort(x), 0.01, targeting.resolve(None))
    assert status["cvm"] == "ok" and tuple(table.loc["cvm", ["statistic", "pvalue"]]) == pytest.approx(grouped)


@pytest.mark.parametrize("location", [4.0, 1e6, 1e9, -1e9])
def test_a_grid_far_from_zero_is_still_a_grid(location):
    # One decimal near 1e9 is off its grid by float64's spacing there (1.2e-7, a millionth of a
    # step), which a fixed tolerance read as no grid: the order tests then ran on coarse data
    # (KS rejected 16% of true-target samples). The step is 0.1 whatever the location, so the
    # grid in sample sds is 0.1 / s (by hand) and the order tests are not run.
    x = np.sort(np.round(np.random.default_rng(3).normal(location, 1.25, (4, 500)), 1), axis=1)
    assert np.allclose(ties.grid_to_sd(x), 0.1 / x.std(axis=1, ddof=1), rtol=1e-6)
    status = score(x, mean=location, std=1.25).set_index("test")["status"]
    rounded = ["ks", "ad", "cvm"]  # against the target rounded to the same grid (grouped_ks, grouped_simulated)
    assert (status[[t.name for t in ORDER_TESTS if t.name not in rounded]] == "ties").all()
    assert (status[rounded] == "ok").all()
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


def _significant(x: np.ndarray, fmt: str = "%.2g") -> np.ndarray:
    """``x`` as a CSV written with printf's ``fmt`` holds it, read back as float64."""
    return np.char.mod(fmt, x).astype(float)


def test_significant_digits_are_read_at_the_cells_where_values_crowd():
    # Two significant digits of N(4, 1.25): cells of 0.1 from 1 to 10, 0.01 below 1, 0.001
    # below 0.1 (10^(floor(log10 |x|) - 1), by hand). The smallest gap (0.01 or less) made one grid of 0.01, so the order tests ran on data crowded into cells
    # of 0.1 (KS rejected 32% of true-target samples at n = 2,000). The crowded cell is 0.1 and
    # the mean squared cell the mean of each value's own cell squared (both by hand).
    x = np.sort(_significant(np.random.default_rng(11).normal(4, 1.25, (3, 2000))), axis=1)
    s = x.std(axis=1, ddof=1)
    found = ties.coarseness(x)
    cells = 10.0 ** (np.floor(np.log10(np.abs(x))) - 1)
    assert np.allclose(found.step, 0.1 / s, rtol=1e-9)
    # A value at a power's edge may take its neighbours' grid (0.98 before 1.0, 1.1: a gap of
    # 0.02, all gaps multiples of it), which moves the mean square by about 1e-5 of itself.
    assert np.allclose(found.square, (cells**2).mean(axis=1) / s**2, rtol=1e-3)
    # N(10, 2) at two digits: about half the values, from 10 up, sit in cells of 1 (by hand).
    y = np.sort(_significant(np.random.default_rng(12).normal(10, 2, (3, 500))), axis=1)
    cells = np.where(y >= 10, 1.0, 0.1)
    s = y.std(axis=1, ddof=1)
    found = ties.coarseness(y)
    assert np.allclose(found.square, (cells**2).mean(axis=1) / s**2, rtol=1e-9)
    # Rounding then adds about 1% to the variance, 0.16 of its standard error at n = 500:
    # above MOMENT_TIE_BIAS, so the moment tests are not run either (the skewness test rejected
    # 12% of such samples at n = 2,000).
    assert ties.coarse_for_moment_tests(y).all()


def test_one_value_off_the_grid_does_not_hide_it():
    # One decimal, n = 2,000, one value written to 5 decimals: no single grid holds every gap,
    # so the order tests ran (KS rejected 48% of true-target samples, Anderson-Darling's
    # normality test 82%). The other values' cells are still 0.1.
    rng = np.random.default_rng(13)
    x = np.round(rng.normal(4, 1.25, (4, 2000)), 1)
    x[:, 0] = np.round(x[:, 0] + 0.01234, 5)
    x = np.sort(x, axis=1)
    assert (ties.grid_to_sd(x) == 0).all()
    assert np.allclose(ties.coarseness(x).step, 0.1 / x.std(axis=1, ddof=1), rtol=1e-9)
    status = score(x).set_index("test")["status"]
    assert (status[[t.name for t in ORDER_TESTS]] == "ties").all()


#: Files as users write them: (mean, sd, format, n). Significant digits at several locations
#: and scales, tiny and large n, and one decimal with a stray value of more places.
WRITTEN = [(4.0, 1.25, "%.2g", 20), (4.0, 1.25, "%.2g", 500), (4.0, 1.25, "%.2g", 2000),
           (4.0, 1.25, "%.3g", 2000), (10.0, 2.0, "%.2g", 200), (100.0, 15.0, "%.2g", 500),
           (1000.0, 200.0, "%.3g", 2000), (-0.004, 0.002, "%.2g", 500), (4.0, 1.25, "%.4g", 20)]


@pytest.mark.slow
@pytest.mark.parametrize("case", WRITTEN, ids=lambda c: f"N({c[0]},{c[1]}){c[2]}n{c[3]}")
def test_written_files_are_calibrated(case):
    # 800 true-target samples as a CSV holds them. Every test, counting "not tested" as not
    # rejected, rejects at most at alpha = 0.05 within the binomial band (scipy.stats.binom) of a
    # calibrated test at 0.1% for the case's 9 tests together (Bonferroni): at most 65 of 800.
    mean, sd, fmt, n = case
    x = _significant(np.random.default_rng(n + int(mean)).normal(mean, sd, (800, n)), fmt)
    table = score(x, mean=mean, std=sd)
    high = stats.binom.ppf(1 - 0.001 / 9, 800, 0.05) / 800
    rates = table.groupby("test")["reject"].mean()
    assert (rates <= high).all(), rates[rates > high]


def test_two_distinct_values_are_no_grid():
    """One gap is a whole multiple of itself: a row of two values shows no grid (a saturated
    output's 4 -/+ 1.25), three on one step do (4.1, 4.3, 4.7: step 0.2)."""
    two = np.sort(np.random.default_rng(0).choice([2.75, 5.25], (1, 500)), axis=1)
    three = np.array([[4.1, 4.3, 4.3, 4.7, 4.7, 4.7]])
    assert ties.grid_to_sd(two)[0] == 0.0
    # Oracle: step 0.2 over the row's sd (numpy, ddof=1).
    assert ties.grid_to_sd(three)[0] == pytest.approx(0.2 / three.std(ddof=1))


@pytest.mark.parametrize("k, n", [(100, 500), (20, 50)])
def test_a_generator_of_two_values_is_a_departure_not_undecided(k, n):
    """Read as rounded to a grid of 2.5, its draws fitted N(4, 1.25) within every band; a float
    output of two values is a finite pool re-emitted, and N(4, 1.25) at 2.5 would fill other cells."""
    rng = np.random.default_rng(3)
    for values in ([2.75, 5.25], [4 - 1.25 + 1e-9 * rng.normal(), 4 + 1.25 + 1e-9 * rng.normal()]):
        result = verdict(rng.choice(values, (k, n)))
        assert result.outcome in ("memorised", "collapsed", "off_target", "wrong_shape"), result.reason

"""Calibration and power of the battery, by simulation (sized for CI: a few seconds in all).

Each check scores one (R, n) array in a single vectorised call. Seeds are fixed, so the outcome
is deterministic; the bands are those a correct implementation falls in with 99% probability.
"""
import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import registry
from gancheck.stats.scoring import score

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("error")]

REPLICATES = 2000
ALPHA = 0.05
TESTS = [t.name for t in registry.SCORE_TESTS]
SIZES = [500, 8]  # the GAN's n, and gof.MIN_N where the finite-n formulas matter most
UNIFORMITY_CHECKS = len(TESTS) * len(SIZES)


def rejection_band(replicates: int, rate: float) -> tuple[float, float]:
    """Binomial 99% band for a rejection rate (scipy.stats.binom quantiles / replicates).

    At R = 2000 and rate 0.05 this is [0.0395, 0.0615], matching docs/statistics.md's normal
    approximation 0.05 ± 2.58 * sqrt(0.0475 / R) = [0.0374, 0.0626] up to rounding.
    """
    low, high = stats.binom.ppf([0.005, 0.995], replicates, rate)
    return low / replicates, high / replicates


@pytest.fixture(scope="module")
def null_scores():
    """Scores of R samples drawn from the target itself, at n = 500 (the GAN's) and n = 8 (MIN_N)."""
    rng = np.random.default_rng(31337)
    return {n: score(rng.normal(4.0, 1.25, size=(REPLICATES, n))) for n in SIZES}


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("test", TESTS)
def test_rejection_rate_under_the_null(null_scores, n, test):
    rows = null_scores[n][null_scores[n]["test"] == test]
    assert (rows["status"] == "ok").all()
    low, high = rejection_band(REPLICATES, ALPHA)
    assert low <= rows["reject"].mean() <= high


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("test", TESTS)
def test_pvalues_are_uniform_under_the_null(null_scores, n, test):
    pvalues = null_scores[n].loc[null_scores[n]["test"] == test, "pvalue"]
    # KS against U(0, 1). There are UNIFORMITY_CHECKS of these (tests x sizes: 18 for 9 tests), so each is
    # held at 0.01 / UNIFORMITY_CHECKS (Bonferroni): a correct implementation then fails none of them with probability
    # >= 99% (at 0.01 each it would fail one about 17% of the time). Simulated p-values are
    # discrete in steps of 1/50000, far below the KS critical distance (~0.045 here).
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01 / UNIFORMITY_CHECKS


def power_tolerance(reference: float, replicates: int) -> float:
    """How far a simulated power may sit from a 2-decimal reference value.

    2.58 binomial SEs of our estimate, plus 0.005 for the reference's rounding, plus 2.58 SEs of
    the reference's own simulation, taken as 10,000 samples (the calibration size docs/statistics.md uses).
    """
    variance = reference * (1 - reference)
    return 2.58 * math.sqrt(variance / replicates) + 0.005 + 2.58 * math.sqrt(variance / 10_000)


def rejection_rates(seed: int, mean: float, std: float):
    """Each test's rejection rate over REPLICATES samples of N(mean, std), n = 500."""
    rng = np.random.default_rng(seed)
    table = score(rng.normal(mean, std, size=(REPLICATES, 500)))
    return table.groupby("test")["reject"].mean()


@pytest.fixture(scope="module")
def shifted_scores():
    return rejection_rates(4150, 4.15, 1.25)


@pytest.mark.parametrize("test, reference", [("ks", 0.63), ("ad", 0.73)])
def test_power_against_a_mean_shift(shifted_scores, test, reference):
    # docs/statistics.md: N(4.15, 1.25) at n = 500, alpha = 0.05 -> KS 0.63, AD (known) 0.73.
    assert abs(shifted_scores[test] - reference) <= power_tolerance(reference, REPLICATES)


@pytest.mark.parametrize("test", ["shapiro", "ad_normal", "skew", "kurtosis"])
def test_shape_tests_ignore_a_mean_shift(shifted_scores, test):
    # Shape tests are location-invariant, so a shifted normal is still normal: null rate.
    low, high = rejection_band(REPLICATES, ALPHA)
    assert low <= shifted_scores[test] <= high


@pytest.fixture(scope="module")
def wider_scores():
    return rejection_rates(1375, 4.0, 1.375)


@pytest.mark.parametrize("test, reference", [("ks", 0.18), ("ad", 0.40)])
def test_power_against_a_wider_sd(wider_scores, test, reference):
    # docs/statistics.md: N(4, 1.375) at n = 500, alpha = 0.05 -> KS 0.18, AD (known) 0.40.
    assert abs(wider_scores[test] - reference) <= power_tolerance(reference, REPLICATES)


# --- ties : rounded data ---------------------------------------------------------

ORDER_TESTS = [t.name for t in registry.SCORE_TESTS if t.ties == "order"]
MOMENT_TESTS = [t.name for t in registry.SCORE_TESTS if t.ties == "moments"]


@pytest.mark.parametrize("n", [500, 2000])
def test_rounded_data_order_tests_untested_moment_tests_calibrated(n):
    # A CSV written to 1 decimal: the ECDF/order tests say "ties" (neither pass nor fail), but
    # KS, A² and W², taken against the target rounded to the same grid (gancheck.stats.grouped_ks,
    # grouped_simulated); they and the moment tests stay tested and reject at alpha within the
    # binomial 99% band.
    rng = np.random.default_rng(n)
    table = score(np.round(rng.normal(4.0, 1.25, size=(REPLICATES, n)), 1))
    rounded = ["ks", "ad", "cvm"]
    order = table[table["test"].isin(ORDER_TESTS) & ~table["test"].isin(rounded)]
    assert (order["status"] == "ties").all() and not order["reject"].any()
    # Bands held at 99% jointly over the tests run (Bonferroni, scipy.stats.binom).
    tested = [*MOMENT_TESTS, *rounded]
    low, high = stats.binom.ppf([0.005 / len(tested), 1 - 0.005 / len(tested)],
                                REPLICATES, ALPHA) / REPLICATES
    for test in tested:
        rows = table[table["test"] == test]
        assert (rows["status"] == "ok").all()
        print(f"\nrounded to 1 decimal, n={n}: {test} rejects {rows['reject'].mean():.4f} of {REPLICATES}")
        assert low <= rows["reject"].mean() <= high, test


def test_float32_output_is_not_tied():
    # GAN output is float32, with the odd chance duplicate: it must be scored as continuous.
    rng = np.random.default_rng(32)
    table = score(rng.normal(4.0, 1.25, size=(REPLICATES, 500)).astype(np.float32))
    assert (table["status"] == "ok").all()
    # One binomial band per test, held at 99% jointly over the tests (Bonferroni, scipy.stats.binom).
    tests = len(registry.SCORE_TESTS)
    low, high = stats.binom.ppf([0.005 / tests, 1 - 0.005 / tests], REPLICATES, ALPHA) / REPLICATES
    rates = table.groupby("test")["reject"].mean()
    print(f"\nfloat32, n=500, {REPLICATES} samples:", rates.round(4).to_dict())
    assert rates.between(low, high).all(), rates.to_dict()

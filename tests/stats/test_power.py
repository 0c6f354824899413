"""gancheck.stats.power: exact power of the rate tests and the paired sign test.

Oracles: scipy.stats.boschloo_exact / fisher_exact / binomtest table by table; simulation of the
same tests in the same test; published reference figures for 0 against 0.15."""
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from gancheck.stats import power


@pytest.mark.parametrize("n_arm, n_baseline", [(6, 6), (7, 4), (12, 12)])
def test_boschloo_pvalues_match_scipy_on_every_table(n_arm, n_baseline):
    ours = power.boschloo_pvalues(n_arm, n_baseline, level=0.05)
    for x_arm in range(n_arm + 1):
        for x_base in range(n_baseline + 1):
            table = [[x_arm, x_base], [n_arm - x_arm, n_baseline - x_base]]
            expected = stats.boschloo_exact(table).pvalue   # the oracle: scipy itself
            assert ours[x_arm, x_base] == pytest.approx(expected, abs=1e-5), table


def test_boschloo_decisions_match_scipy_near_the_level_at_20_seeds():
    # Every table within a factor 2 of the level at 20 vs 20: the decision p <= 0.05 is scipy's.
    ours = power.boschloo_pvalues(20, 20, level=0.05)
    near = np.argwhere((ours > 0.025) & (ours < 0.1))
    assert len(near) > 5
    for x_arm, x_base in near:
        expected = stats.boschloo_exact([[x_arm, x_base], [20 - x_arm, 20 - x_base]]).pvalue
        assert (ours[x_arm, x_base] <= 0.05) == (expected <= 0.05)
        assert ours[x_arm, x_base] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("n_arm, n_baseline", [(5, 5), (9, 6)])
def test_fisher_pvalues_match_scipy(n_arm, n_baseline):
    ours = power.fisher_pvalues(n_arm, n_baseline)
    for x_arm in range(n_arm + 1):
        for x_base in range(n_baseline + 1):
            table = [[x_arm, x_base], [n_arm - x_arm, n_baseline - x_base]]
            assert ours[x_arm, x_base] == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-9)


def test_reference_figures_for_zero_against_fifteen_percent():
    # Reference figures for 0 against 0.15: Fisher 0.17 at 20 and 0.57 at 40 seeds per arm, 80%
    # power at 52; Boschloo 0.74 at 40, 80% power at 44. Boschloo at 20 is 0.170, not 0.35:
    # scipy's two-sided p of 4/20 vs 0/20 is 0.061 > 0.05 (checked below), so 5 successes are
    # needed, P(Binom(20, 0.15) >= 5) = 0.170; 0.35 = P(>= 4) is the one-sided test's power.
    assert stats.boschloo_exact([[4, 0], [16, 20]]).pvalue > 0.05
    assert power.rate_power(0.15, 0, 20) == pytest.approx(stats.binom.sf(4, 20, 0.15), abs=1e-12)
    assert power.rate_power(0.15, 0, 20, test="fisher") == pytest.approx(0.17, abs=0.005)
    assert power.rate_power(0.15, 0, 40) == pytest.approx(0.74, abs=0.005)
    assert power.rate_power(0.15, 0, 40, test="fisher") == pytest.approx(0.57, abs=0.005)
    needed = {test: power.seeds_needed(lambda n, t=test: power.rate_power(0.15, 0, n, test=t), 0.8)
              for test in power.RATE_TESTS}
    assert needed == {"boschloo": 44, "fisher": 52}
    # The doubling search agrees with a full scan (saw-tooth curves): nothing below reaches 0.8.
    assert all(power.rate_power(0.15, 0, n) < 0.8 for n in range(2, 44))


@pytest.mark.slow
def test_boschloo_power_at_44_seeds_by_simulation():
    # The plan's figure, 44 seeds per arm for 0 vs 0.15, checked by simulating the run's test
    # (scipy's boschloo_exact on each simulated table, cached per distinct table).
    rng = np.random.default_rng(15)
    reps, n = 4000, 44
    x_arm = rng.binomial(n, 0.15, reps)
    cache = {x: stats.boschloo_exact([[x, 0], [n - x, n]]).pvalue <= 0.05 for x in np.unique(x_arm)}
    simulated = np.mean([cache[x] for x in x_arm])
    exact = power.rate_power(0.15, 0, n)
    assert exact >= 0.8
    assert abs(simulated - exact) < 3 * np.sqrt(exact * (1 - exact) / reps)


@pytest.mark.slow
def test_boschloo_power_by_simulation_with_both_rates_nonzero(rng):
    reps, n = 1500, 12
    x_arm, x_base = rng.binomial(n, 0.7, reps), rng.binomial(n, 0.2, reps)
    cache = {}
    for pair in set(zip(x_arm, x_base)):
        a, b = pair
        cache[pair] = stats.boschloo_exact([[a, b], [n - a, n - b]]).pvalue <= 0.05 / 3
    simulated = np.mean([cache[pair] for pair in zip(x_arm, x_base)])
    exact = power.rate_power(0.7, 0.2, n, comparisons=3)
    assert abs(simulated - exact) < 3 * np.sqrt(exact * (1 - exact) / reps)


def test_rate_power_at_large_n_is_near_the_normal_approximation():
    # statsmodels' arcsine approximation (NormalIndPower) is good away from 0 and 1 at 100 seeds;
    # exact tests are a little conservative, so within 0.05 below it.
    approx = NormalIndPower().power(proportion_effectsize(0.6, 0.4), nobs1=100, alpha=0.05)
    exact = power.rate_power(0.6, 0.4, 100)
    assert approx - 0.06 < exact <= approx + 0.01


def test_sign_test_power_matches_binomtest_enumeration():
    # Oracle: scipy.stats.binomtest on every k, weighted by Binom(k; n, q).
    n, q = 15, 0.8
    reject = [stats.binomtest(k, n, 0.5).pvalue <= 0.05 for k in range(n + 1)]
    expected = sum(stats.binom.pmf(k, n, q) for k in range(n + 1) if reject[k])
    assert power.sign_test_power(n, q) == pytest.approx(expected, rel=1e-12)


def test_sign_test_power_at_the_null_is_at_most_the_level():
    for n in (5, 10, 33):
        assert power.sign_test_power(n, 0.5) <= 0.05


@pytest.mark.slow
def test_sign_test_power_by_simulation_with_ties(rng):
    # Differences +, -, 0 with 0.5, 0.2, 0.3, each simulated data set judged by the test runs use
    # (gancheck.stats.comparisons.sign_test: zeros split the least favourable way, scipy's
    # binomtest on all n).
    from gancheck.stats.comparisons import sign_test
    reps, n = 3000, 25
    draws = rng.choice([1, -1, 0], p=[0.5, 0.2, 0.3], size=(reps, n))
    pos, neg = (draws > 0).sum(1), (draws < 0).sum(1)
    cache = {}
    hits = 0
    for k, m in zip(pos, neg):
        if (k, m) not in cache:
            cache[k, m] = sign_test(np.array([1.0] * k + [-1.0] * m + [0.0] * (n - k - m)))[1] <= 0.05
        hits += cache[k, m]
    exact = power.sign_test_power(n, 0.5, 0.2)
    assert abs(hits / reps - exact) < 3 * np.sqrt(exact * (1 - exact) / reps)


@pytest.mark.slow
def test_shift_plan_by_simulation_of_normal_differences(rng):
    # The --shift/--sd model: differences N(D, S^2), simulated and sign-tested.
    reps, n, shift, sd = 3000, 30, 0.4, 1.0
    positive = (rng.normal(shift, sd, (reps, n)) > 0).sum(axis=1)
    reject = np.array([stats.binomtest(k, n, 0.5).pvalue <= 0.05 for k in range(n + 1)])
    simulated = reject[positive].mean()
    exact = power.sign_test_power(n, *power.shift_probabilities(shift, sd))
    assert abs(simulated - exact) < 3 * np.sqrt(exact * (1 - exact) / reps)


def test_sign_test_power_is_near_statsmodels_normal_approximation_at_large_n():
    # One-sample arcsine approximation (NormalIndPower with ratio=0) of a proportion test vs 1/2.
    q, n = 0.65, 120
    approx = NormalIndPower().power(proportion_effectsize(q, 0.5), nobs1=n, alpha=0.05, ratio=0)
    assert power.sign_test_power(n, q) == pytest.approx(approx, abs=0.05)


def test_pilot_probabilities_count_ties():
    assert power.pilot_probabilities([1.0, -2.0, 0.0, 3.0]) == (0.5, 0.25)


@pytest.mark.parametrize("call, field", [
    (lambda: power.rate_power(1.5, 0, 10), "p_arm"),
    (lambda: power.rate_power(0.1, -0.1, 10), "p_baseline"),
    (lambda: power.rate_power(0.1, 0, 0), "n"),
    (lambda: power.rate_power(0.1, 0, 10, alpha=1.0), "alpha"),
    (lambda: power.rate_power(0.1, 0, 10, comparisons=0), "comparisons"),
    (lambda: power.rate_power(0.1, 0, 10, test="chi2"), "test"),
    (lambda: power.sign_test_power(10, 0.7, 0.5), "p_positive + p_negative"),
    (lambda: power.shift_probabilities(1.0, 0.0), "sd"),
    (lambda: power.pilot_probabilities([1.0, np.nan]), "NaN"),
    (lambda: power.seeds_needed(lambda n: 1.0, 1.0), "power"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field.replace("+", r"\+")):
        call()


def test_detectable_rate_difference_is_the_smallest_gap_with_the_power():
    from gancheck.stats.power import detectable_rate_difference, rate_power
    gap = detectable_rate_difference(0.0, 20, power=0.8)
    # Against a baseline that never passes, 20 seeds per arm: the exact power (rate_power, itself
    # checked by simulation above) reaches 0.8 at this gap and not one grid step (0.005) below.
    assert rate_power(gap, 0.0, 20) >= 0.8 > rate_power(gap - 0.005, 0.0, 20)
    # More comparisons in the family need a larger effect (alpha / M is smaller).
    assert detectable_rate_difference(0.0, 20, power=0.8, comparisons=100) > gap


def test_detectable_shift_scales_with_sd_and_matches_sign_test_power():
    from gancheck.stats.power import detectable_shift, shift_probabilities, sign_test_power
    shift = detectable_shift(1.0, 20)
    assert sign_test_power(20, *shift_probabilities(shift, 1.0)) >= 0.8
    assert sign_test_power(20, *shift_probabilities(shift - 0.01, 1.0)) < 0.8
    assert detectable_shift(2.5, 20) == pytest.approx(2.5 * shift)
    assert np.isnan(detectable_shift(float("nan"), 20))


def test_detectable_sign_probability_is_the_smallest_probability_with_the_power():
    from gancheck.stats.power import detectable_sign_probability, sign_test_power
    q = detectable_sign_probability(20, comparisons=6)
    # The grid's step is 0.005: q reaches 80% power (exact binomial tails), q - 0.005 does not.
    assert sign_test_power(20, q, comparisons=6) >= 0.8 > sign_test_power(20, q - 0.005, comparisons=6)
    # Finite whatever the metric's tails, and smaller with more seeds.
    assert 0.5 < detectable_sign_probability(80, comparisons=6) < q < 1
    # 5 seeds cannot reach p <= 0.05 (2/32 = 0.0625, binomial by hand): nothing is detectable.
    assert np.isnan(detectable_sign_probability(5))


def test_sign_test_power_counts_zeros_against_rejection():
    from gancheck.stats.comparisons import sign_test
    # 10 seeds, positive with 0.6, zero with 0.4, never negative: the test rejects only when
    # all 10 are positive... or 9: by hand, binomtest(9, 10) = 22/1024 <= 0.05, binomtest(8, 10)
    # = 112/1024 > 0.05; so power = P(Bin(10, 0.6) >= 9).
    assert sign_test(np.array([1.0] * 9 + [0.0]))[1] == pytest.approx(22 / 1024)
    assert sign_test(np.array([1.0] * 8 + [0.0] * 2))[1] == pytest.approx(112 / 1024)
    assert power.sign_test_power(10, 0.6, 0.0) == pytest.approx(stats.binom.sf(8, 10, 0.6))

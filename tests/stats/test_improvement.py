"""Tests for gancheck.stats.improvement: the probability of improvement and its intervals.

Oracles: hand counts, scipy's Mann-Whitney U, statsmodels' Newcombe interval, and simulations
whose true value is computed in closed form (the binormal P(X < Y) = Phi(delta / sqrt(2))).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from gancheck.stats import comparisons as cp
from gancheck.stats import improvement as im


def test_prob_improvement_by_hand_with_ties():
    x, y = np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0, 4.0])
    # Over 9 pairs: arm lower in 3 (1 vs all) + 4 (each 2 vs 3, 4) = 7; ties 2 count half -> 8/9.
    assert im.prob_improvement(x, y) == pytest.approx(8 / 9)
    # Identity with scipy's U of the arm (pairs arm > base, ties half): P = 1 - U/(n1 n2).
    u = stats.mannwhitneyu(x, y).statistic
    assert im.prob_improvement(x, y) == pytest.approx(1 - u / 9)
    # Two failed seeds (+inf each) tie, they do not vanish: 0.5 over the single pair.
    assert im.prob_improvement(np.array([np.inf]), np.array([np.inf])) == 0.5


def test_binormal_variance_matches_simulation_of_independent_samples():
    rng = np.random.default_rng(5)
    theta, n = 0.9, 20
    delta = math.sqrt(2) * stats.norm.ppf(theta)   # P(X < Y) = Phi(delta / sqrt(2)) = theta
    estimates = [im.prob_improvement(rng.normal(0, 1, n), rng.normal(delta, 1, n))
                 for _ in range(3000)]
    # The exact U-statistic variance of the model against 3,000 simulated estimates: the sample
    # variance has relative SE sqrt(2 / 3000) = 2.6%, so 10% is about 4 SE.
    assert np.var(estimates, ddof=1) == pytest.approx(im.binormal_variance(theta, n, n), rel=0.1)


def test_interval_is_informative_at_the_edges_and_refuses_bad_shapes():
    x, y = np.zeros(20), np.ones(20)   # every arm seed beats every baseline seed: A = 1
    low, high = im.prob_improvement_ci(x, y)
    assert high == 1.0 and 0.8 < low < 1.0   # not the point [1, 1] of a percentile bootstrap
    low, high = im.prob_improvement_ci(y, x)
    assert low == 0.0 and 0.0 < high < 0.2
    assert all(math.isnan(v) for v in im.prob_improvement_ci(x[:1], y[:1]))
    with pytest.raises(ValueError, match="paired"):
        im.prob_improvement_ci(x, y[:5])


@pytest.mark.slow
@pytest.mark.parametrize("theta", [0.5, 0.75, 0.9, 0.97])
def test_metric_interval_covers_at_nominal_level_with_paired_seeds(theta):
    # 20 seeds shared by arm and baseline, a seed effect of correlation 0.5 between them; the
    # true value is the all-pairs P(X < Y) = Phi(delta / sqrt(2)) of the marginals.
    rng = np.random.default_rng(int(theta * 1000))
    reps, n, rho = 2000, 20, 0.5
    delta = math.sqrt(2) * stats.norm.ppf(theta)
    covered = 0
    for _ in range(reps):
        seed_effect = rng.normal(0, math.sqrt(rho), n)
        x = seed_effect + rng.normal(0, math.sqrt(1 - rho), n)
        y = seed_effect + delta + rng.normal(0, math.sqrt(1 - rho), n)
        low, high = im.prob_improvement_ci(x, y)
        covered += low <= theta <= high
    # 2,000 reps: SE of a 0.95 coverage is 0.0049, so +-0.03 is 6 SE.
    print(f"coverage at {theta}: {covered / reps:.4f}")
    assert abs(covered / reps - 0.95) <= 0.03


@pytest.mark.parametrize("p_arm, p_baseline", [(0.35, 0.85), (0.5, 0.5), (0.1, 0.3), (0.2, 0.2)])
def test_rate_interval_covers_at_nominal_level_by_exact_enumeration(p_arm, p_baseline):
    n = 20
    k = np.arange(n + 1)
    weights = np.outer(stats.binom.pmf(k, n, p_arm), stats.binom.pmf(k, n, p_baseline))
    # For 0/1 outcomes, lower better, the true A is 1/2 + (p_baseline - p_arm) / 2 exactly.
    truth = 0.5 + (p_baseline - p_arm) / 2
    covered = 0.0
    for a in k:
        for b in k:
            difference = a / n - b / n
            low, high = confint_proportions_2indep(a, n, b, n, method="newcomb", compare="diff")
            _, lo, hi = im.rate_improvement(difference, low, high, higher_is_better=False)
            covered += weights[a, b] * (lo - 1e-12 <= truth <= hi + 1e-12)
    # Exact coverage (no simulation error), within 0.03 of 0.95.
    assert abs(covered - 0.95) <= 0.03


def test_rate_rows_carry_the_newcombe_interval_on_the_improvement_scale():
    rows = [("base", s, "rate:collapsed", float(s < 1)) for s in range(20)]
    rows += [("arm", s, "rate:collapsed", float(s < 1)) for s in range(20)]
    row = cp.compare_rates(pd.DataFrame(rows, columns=["arm", "seed", "metric", "value"]),
                           "base").iloc[0]
    low, high = confint_proportions_2indep(1, 20, 1, 20, method="newcomb", compare="diff")
    # 1/20 against 1/20: A = 1/2, interval [1/2 - high/2, 1/2 - low/2] (statsmodels' Newcombe),
    # never the degenerate [0.5, 0.5].
    assert row["prob_improvement"] == 0.5
    assert (row["prob_improvement_low"], row["prob_improvement_high"]) == pytest.approx(
        (0.5 - high / 2, 0.5 - low / 2))
    assert row["prob_improvement_high"] - row["prob_improvement_low"] > 0.1   # 0.19 by the above

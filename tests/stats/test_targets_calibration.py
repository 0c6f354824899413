"""Null calibration and power of score() on four targets: a normal, a bimodal mixture, a skewed
gamma and a heavy-tailed t, at n = 500 and n = 50.

Each check scores REPLICATES samples drawn from the target in one call (one sample per row). Under
the null every applicable test rejects at alpha: its rejection count is Binomial(R, alpha). The
acceptance region is the binomial's central interval at level 1 - FAMILY_LEVEL / checks
(scipy.stats.binom.ppf, Bonferroni over every (target, n, test) check in this module), so a
calibrated suite fails by chance in at most FAMILY_LEVEL of runs, whatever the seed.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from gancheck.stats import registry
from gancheck.stats.scoring import score
from gancheck.targets import parse

ALPHA = 0.05
REPLICATES = 1_000
FAMILY_LEVEL = 1e-3
TARGETS = {
    "normal": "norm(loc=4, scale=1.25)",
    "bimodal": "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))",
    "skewed": "gamma(a=2, scale=1)",
    "heavy": "t(df=5, loc=4)",
}
SIZES = (500, 50)
#: Every (target, n, test) rejection rate checked here: all score tests apply to the normal
#: target (9); shapiro and ad_normal do not apply to the other three (7 each).
CHECKS = len(SIZES) * (9 + 3 * 7)


def binomial_bounds(trials: int, p: float, checks: int) -> tuple[float, float]:
    """Central acceptance interval of Binomial(trials, p) rejection rates at level
    1 - FAMILY_LEVEL / checks (oracle: scipy.stats.binom quantiles)."""
    tail = FAMILY_LEVEL / checks / 2
    return stats.binom.ppf(tail, trials, p) / trials, stats.binom.isf(tail, trials, p) / trials


def _rates(table) -> dict[str, float]:
    ok = table[table["status"] == "ok"]
    assert len(ok) == len(table), table.loc[table["status"] != "ok", "status"].unique()
    return ok.groupby("test", sort=False)["reject"].mean().to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", list(TARGETS))
def test_every_applicable_test_rejects_at_alpha_under_the_null(name, n):
    target = parse(TARGETS[name])
    x = target.rvs((REPLICATES, n), np.random.default_rng([2026, n, list(TARGETS).index(name)]))
    rates = _rates(score(x, target=TARGETS[name], alpha=ALPHA))
    expected = [t.name for t in registry.score_tests(None if target.is_normal else target)]
    assert list(rates) == expected
    low, high = binomial_bounds(REPLICATES, ALPHA, CHECKS)
    print(f"\nnull {name} n={n}: " + ", ".join(f"{k} {v:.3f}" for k, v in rates.items())
          + f" (bounds {low:.3f} to {high:.3f})")
    bad = {k: v for k, v in rates.items() if not low <= v <= high}
    assert not bad, f"{name} n={n}: rejection rates outside [{low:.3f}, {high:.3f}]: {bad}"


#: Power of the mean test against a shift of 0.1 target sd at n = 500, by hand: the sample mean's
#: sd is sigma / sqrt(n) for ANY target of finite variance, so z = 0.1 sqrt(500) = 2.236 and the
#: two-sided level-0.05 test rejects with probability Phi(z - 1.96) + Phi(-z - 1.96) = 0.609
#: (exact for the normal target; for the others the CLT's error at n = 500 is far below the
#: tolerance allowed below: the gamma's x̄ has skewness sqrt(2)/sqrt(500) = 0.06).
SHIFT_SDS = 0.1
POWER_N = 500
MEAN_POWER = float(special.ndtr(SHIFT_SDS * math.sqrt(POWER_N) - 1.959964)
                   + special.ndtr(-SHIFT_SDS * math.sqrt(POWER_N) - 1.959964))
#: Allowed gap: the binomial acceptance interval around MEAN_POWER, widened by 0.03 for the
#: CLT error and the simulated null's Monte Carlo error (its tail quantile at R = 49,999).
CLT_ALLOWANCE = 0.03


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_power_against_a_tenth_of_a_target_sd_shift(name):
    target = parse(TARGETS[name])
    x = target.rvs((REPLICATES, POWER_N), np.random.default_rng([2027, list(TARGETS).index(name)]))
    x += SHIFT_SDS * target.std
    rates = _rates(score(x, target=TARGETS[name], alpha=ALPHA))
    print(f"\npower {name} (+0.1 sd, n={POWER_N}, {REPLICATES} samples): "
          + ", ".join(f"{k} {v:.3f}" for k, v in rates.items()))
    low, high = binomial_bounds(REPLICATES, MEAN_POWER, len(TARGETS))
    assert low - CLT_ALLOWANCE <= rates["mean"] <= high + CLT_ALLOWANCE, (rates["mean"], MEAN_POWER)
    # Location- and scale-free statistics do not see a shift: sd, skewness and kurtosis keep
    # their null rates (binomial bounds at alpha, as in the calibration test).
    low, high = binomial_bounds(REPLICATES, ALPHA, 3 * len(TARGETS))
    for test in ("std", "skew", "kurtosis"):
        assert low <= rates[test] <= high, (test, rates[test])

"""verdict() against targets other than a normal: one decision list, one alpha budget, bands in
the target's own units, and departures named by the tests that apply to the target."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gancheck.stats.decision import DEPARTURES
from gancheck.stats.verdict import verdict
from gancheck.targets import parse

TARGETS = {
    "bimodal": "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))",
    "skewed": "gamma(a=2, scale=1)",
    "heavy": "t(df=5, loc=4)",
}


def _normal_like(target):
    """A normal generator with the target's mean and sd: right moments, wrong shape."""
    return parse(f"norm(loc={target.mean!r}, scale={target.std!r})")


@pytest.mark.parametrize("name", ["bimodal", "skewed"])
def test_departures_are_named_by_what_is_wrong(name):
    target = parse(TARGETS[name])
    rng = np.random.default_rng([31, len(TARGETS[name])])
    k, n = 50, 500
    # Half a target sd off: the mean band is 0.1 sd, so the mean is shown outside (p ~ 1e-40
    # at K = 50 draws of 500: se of the mean error sd / sqrt(K n) = 0.006 sd).
    assert verdict(target.shifted(0.5 * target.std).rvs((k, n), rng), target=TARGETS[name]).outcome == "off_target"
    # 1.3 times wider, same shape: the sd is shown outside, the target's shape tests (skewness,
    # kurtosis against the target's own) do not reject, so a scale error, not a shape error.
    wider = verdict(target.widened(1.3).rvs((k, n), rng), target=TARGETS[name])
    assert wider.outcome == "off_target" and "sd error" in wider.reason
    # A normal of the right mean and sd: KS distance to a gamma(2) 0.10, to the mixture 0.13
    # (computed from the two CDFs), beyond the 0.04 band, with the kurtosis test rejecting.
    x = np.linspace(-5, 15, 20001)
    distance = np.abs(target.cdf(x) - _normal_like(target).cdf(x)).max()
    assert distance > 0.08
    shape = verdict(_normal_like(target).rvs((k, n), rng), target=TARGETS[name])
    assert shape.outcome == "wrong_shape", shape.reason


def test_the_tail_band_reads_the_targets_quantiles():
    target = parse(TARGETS["skewed"])
    found = verdict(target.rvs((30, 500), np.random.default_rng(8)), target=TARGETS["skewed"])
    tail = found.criteria.set_index("criterion").loc["tail"]
    # A perfect generator has 0.135% beyond each threshold (the mass of a normal's 3-sd tail):
    # the larger of its two observed shares sits near that, far below the 0.5% band.
    assert tail["estimate"] < 0.005 and tail["band_high"] == 0.005
    low, high = target.ppf([stats.norm.sf(3), stats.norm.cdf(3)])
    assert low == pytest.approx(stats.gamma(2).ppf(stats.norm.sf(3)))  # oracle: scipy's quantile
    assert high > target.mean + 3 * target.std  # a right-skewed tail reaches further than 3 sd


#: Perfect generators per target for the level check, and how their draws are shaped.
GENERATORS, K, N = 80, 20, 200


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_a_perfect_generator_is_a_departure_in_at_most_alpha_of_cases(name):
    target = parse(TARGETS[name])
    rng = np.random.default_rng([41, list(TARGETS).index(name)])
    outcomes = [verdict(target.rvs((K, N), rng), target=TARGETS[name]).outcome for _ in range(GENERATORS)]
    departures = sum(o in DEPARTURES for o in outcomes)
    # Oracle: by the decision list's construction (Holm over the departure tests at 0.05) the
    # count is at most Binomial(GENERATORS, 0.05); its upper quantile at 1e-3 / 3 (scipy.stats.binom).
    bound = stats.binom.isf(1e-3 / len(TARGETS), GENERATORS, 0.05)
    print(f"\n{name}: {departures} departures of {GENERATORS} perfect generators "
          f"({sum(o == 'on_target' for o in outcomes)} on target); bound {bound:.0f}")
    assert departures <= bound
    # A generator 0.2 sd off (outside the 0.1 sd band) is on target in at most alpha of cases
    # (intersection-union test): here it is shown off target outright.
    shifted = target.shifted(0.2 * target.std)
    on = sum(verdict(shifted.rvs((K, N), rng), target=TARGETS[name]).outcome == "on_target" for _ in range(10))
    assert on <= stats.binom.isf(1e-3 / len(TARGETS), 10, 0.05)


#: Targets with a finite end where rounding piles values onto it, and how a file rounds them.
ROUNDED_AT_AN_END = {"expon()": 1, "gamma(a=0.5)": 2, "halfnorm()": 1, "gamma(a=2)": 1}


@pytest.mark.slow
@pytest.mark.parametrize("spec, decimals", list(ROUNDED_AT_AN_END.items()))
def test_rounding_at_a_finite_end_is_not_a_departure(spec, decimals):
    # Exact draws of the target, written to a few decimals. Values rounded to 0 lie in the cell
    # [0, h/2), much of it above the target's 0.135% quantile and its 1% point: read as points
    # they made exponential draws at 1 decimal "wrong_shape" (tail share 0.048) and gamma(0.5) at
    # 2 decimals "off_target" (KS 0.068) every time. Read as cells, rounding alone is never a
    # departure: the bound is the same binomial quantile as for exact draws (above).
    target = parse(spec)
    rng = np.random.default_rng([43, decimals])
    outcomes = [verdict(np.round(target.rvs((K, N), rng), decimals), target=spec).outcome
                for _ in range(GENERATORS)]
    departures = sum(o in DEPARTURES for o in outcomes)
    assert departures <= stats.binom.isf(1e-3 / len(ROUNDED_AT_AN_END), GENERATORS, 0.05), outcomes


def test_rounded_draws_still_show_a_real_departure():
    # Reading rounded values as cells costs little power: generators that are departures unrounded
    # (3% of an exponential's mass moved to 8-10, where the target has 0.0135% beyond 6.6; or the
    # whole law 0.3 sd too high) get the same departure rounded to 1 decimal.
    rng = np.random.default_rng(44)
    x = stats.expon().rvs((K, N), random_state=rng)
    heavy = np.where(rng.random((K, N)) < 0.03, rng.uniform(8, 10, (K, N)), x)
    for y in (heavy, x + 0.3):
        exact = verdict(y, target="expon()").outcome
        assert exact in DEPARTURES and verdict(np.round(y, 1), target="expon()").outcome == exact

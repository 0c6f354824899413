"""The mean and sd bands' reference laws (gancheck.stats.band_reference), for normal targets and others.

Oracles: U simulated afresh from the target with scipy (not from the moment tests' pool, nor from
chi-squares), and the rates at which generators of the target's shape at the band's edges are called within or
outside, against the binomial band of the level asked (scipy.stats.binom)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gancheck import targets
from gancheck.stats import band_reference
from gancheck.stats.criteria import criteria
from gancheck.stats.tolerance import Tolerance


def _fresh_u(law, k: int, n: int, replicates: int, rng) -> np.ndarray:
    """U = (mean(v) - sd²) / se(v) over K draws of n values of ``law``, the v the draws' variances
    in units of the law's variance."""
    v = law.rvs(size=(replicates * k, n), random_state=rng).var(axis=1, ddof=1) / law.var()
    v = v.reshape(replicates, k)
    return (v.mean(axis=1) - 1.0) / (v.std(axis=1, ddof=1) / np.sqrt(k))


@pytest.mark.parametrize("spec, law", [("lognorm(s=0.5)", stats.lognorm(0.5)), ("t(df=5)", stats.t(5))])
def test_the_table_is_the_law_of_u_simulated_afresh(spec, law):
    # 20,000 fresh replicates of K = 20 draws of 50 values: their 5%, 50% and 95% points agree
    # with the table's within 0.06 (the sampling error of a 5% point of 20,000 is about 0.02).
    # The t reference's points, for contrast, are -1.73 and 1.73: U is skewed left.
    table = band_reference.sd_reference(targets.as_target(spec), 20, 50).table
    fresh = _fresh_u(law, 20, 50, 20_000, np.random.default_rng(1))
    levels = [0.05, 0.5, 0.95]
    assert np.quantile(table, levels) == pytest.approx(np.quantile(fresh, levels), abs=0.06)
    assert np.quantile(fresh, 0.05) < -1.9  # the left skew the t reference missed


def test_the_reference_is_a_monte_carlo_one():
    # (1 + #{U_r at least as extreme}) / (R + 1): never 0, and 1 at the table's far end.
    reference = band_reference.sd_reference(targets.as_target("expon()"), 10, 50)
    size = reference.table.size
    assert size == band_reference.REPLICATES
    assert reference.sf(np.inf) == reference.cdf(-np.inf) == 1.0 / (size + 1)
    assert reference.sf(-np.inf) == reference.cdf(np.inf) == 1.0
    assert reference.sf(reference.table[-1]) == 2.0 / (size + 1)


def _rates(spec: str | None, law, ratio: float, k: int, n: int, samples: int, rng) -> tuple[float, float]:
    """Shares of ``samples`` generators of the target's shape, their values scaled by ``ratio``
    about its mean, called within the sd band and shown outside it (p < 0.05). ``spec`` None:
    the normal ``law`` given to criteria by its mean and sd, as verdict gives any normal target."""
    if spec is None:
        target, mean, std = None, law.mean(), law.std()
    else:
        target, mean, std = targets.as_target(spec), 0.0, 1.0
    within = outside = 0
    for _ in range(samples):
        x = (law.rvs(size=(k, n), random_state=rng) - law.mean()) * ratio + law.mean()
        band = next(c for c in criteria(x, mean=mean, std=std, tolerance=Tolerance(), target=target)
                    if c.criterion == "std")
        within += band.p_within < 0.05
        outside += band.p_outside < 0.05
    return within / samples, outside / samples


@pytest.mark.slow
@pytest.mark.parametrize("spec, law", [("t(df=5)", stats.t(5)), ("expon()", stats.expon()),
                                       ("t(df=5, loc=10, scale=2)", stats.t(5, loc=10, scale=2))])
def test_a_generator_at_a_band_edge_is_called_within_at_most_alpha(spec, law):
    # The band is sd ± 10%. At either edge the null of "within" holds, so it is called within
    # in at most 0.05 of cases, within the 99.9% binomial band of 1,500 samples. With Student's
    # t as the reference a generator at 1.1 sd was called within in 0.102 (t(5)) and 0.085
    # (exponential) of 10,000 at K = 20, n = 50, and at 0.9 sd in 0.020 and 0.026. Measured with
    # this table over 10,000 generators each: 0.052 and 0.052 at 1.1 sd, 0.054 and 0.049 at 0.9
    # (`python benchmarks/other_targets_calibration.py sd-band`).
    # At 1.1 sd the sd is not outside the band either, so it is shown outside in at most 0.05.
    # U is scale-free, so t(5) moved to 10 and scaled by 2 gets its own table of the same law.
    rng = np.random.default_rng(7)
    bound = stats.binom.ppf(0.999, 1500, 0.05) / 1500
    for ratio in (1.1, 0.9):
        within, outside = _rates(spec, law, ratio, 20, 50, 1500, rng)
        assert within <= bound, (ratio, within)
        assert outside <= bound, (ratio, outside)


@pytest.mark.slow
def test_a_generator_of_the_target_s_sd_is_still_called_within():
    # The power the table keeps: t(5) generators of exactly the target's sd, K = 20, n = 50, are
    # called within in 0.607 of 1,000 (measured; with the t reference 0.635, bought by calling
    # 0.103 of the generators at 1.1 sd within as well). The binomial sd of 1,000 is 0.015.
    within, _ = _rates("t(df=5)", stats.t(5), 1.0, 20, 50, 1000, np.random.default_rng(8))
    assert within > 0.55, within


def test_the_normal_table_is_the_law_of_u_for_normal_values():
    # The normal table is drawn from chi-squares; the oracle draws normal values with scipy and
    # takes their variances. 20,000 fresh replicates of K = 5 draws of 20 values: the 5%, 50% and
    # 95% points agree within 0.08 (the sampling error of a 5% point of 20,000 is about 0.03 here,
    # where U's tails are long). Student's t on 4 df, which the band used before, puts its 5%
    # point at -2.13: U's is further out (-2.5 measured), which is why t called generators at
    # the upper edge within too often.
    table = band_reference.normal_sd_reference(5, 20).table
    fresh = _fresh_u(stats.norm(4, 1.25), 5, 20, 20_000, np.random.default_rng(2))
    levels = [0.05, 0.5, 0.95]
    assert np.quantile(table, levels) == pytest.approx(np.quantile(fresh, levels), abs=0.08)
    assert np.quantile(fresh, 0.05) < stats.t.ppf(0.05, 4) - 0.2


@pytest.mark.slow
@pytest.mark.parametrize("law", [stats.norm(4, 1.25), stats.norm(-300, 0.01)])
@pytest.mark.parametrize("k, n", [(5, 20), (10, 50)])
def test_a_normal_generator_at_a_band_edge_is_called_within_at_most_alpha(law, k, n):
    # With Student's t as the reference, normal generators at 1.1 times the target's sd were
    # called within in 0.080 (K = 5, n = 20) and 0.066 (K = 10, n = 50) of 10,000, where 0.05 was
    # asked; with the chi-square table, 0.049 and 0.051 at 1.1 sd, 0.051 and 0.052 at 0.9 sd
    # (`python benchmarks/other_targets_calibration.py sd-band`). Here 1,500 generators per
    # edge, against the 99.9% binomial band of the level, at the seed's target and at a far
    # location and small scale. At either edge the sd is not outside the band, so it is shown
    # outside in at most 0.05 as well.
    rng = np.random.default_rng(k * n)
    bound = stats.binom.ppf(0.999, 1500, 0.05) / 1500
    for ratio in (1.1, 0.9):
        within, outside = _rates(None, law, ratio, k, n, 1500, rng)
        assert within <= bound, (ratio, within)
        assert outside <= bound, (ratio, outside)


@pytest.mark.slow
def test_a_normal_generator_of_the_target_s_sd_is_still_called_within():
    # The power the table keeps at K = 10, n = 50 (the band, ±21% in variance, is about 3 of the
    # mean variance's standard errors from its centre): normal generators of exactly the target's
    # sd called within in 0.788 of 1,000 (measured; with Student's t 0.796, bought by calling
    # 0.067 of those at 1.1 sd within). The binomial sd of 1,000 is 0.013.
    within, _ = _rates(None, stats.norm(4, 1.25), 1.0, 10, 50, 1000, np.random.default_rng(9))
    assert within > 0.74, within


# --- the mean band of a target other than a normal ------------------------------------------

def _fresh_mean_u(law, k: int, n: int, replicates: int, rng) -> np.ndarray:
    """U = (mean(m) - mean) / se(m) over K draws of n values of ``law``, m the draws' means."""
    m = law.rvs(size=(replicates * k, n), random_state=rng).mean(axis=1).reshape(replicates, k)
    return (m.mean(axis=1) - law.mean()) / (m.std(axis=1, ddof=1) / np.sqrt(k))


def test_the_mean_table_is_the_law_of_u_simulated_afresh():
    # An exponential's means of 20 values are skewed (skewness 2 / sqrt(20) = 0.45), so U is
    # skewed left: 20,000 fresh replicates of K = 5 draws, drawn with scipy, against the table
    # (from the moment tests' pool): 5%, 50% and 95% points within 0.08. Student's t on 4 df,
    # the reference before, puts the 5% point at -2.13; U's is further out.
    table = band_reference.mean_reference(targets.as_target("expon()"), 5, 20).table
    fresh = _fresh_mean_u(stats.expon(), 5, 20, 20_000, np.random.default_rng(3))
    levels = [0.05, 0.5, 0.95]
    assert np.quantile(table, levels) == pytest.approx(np.quantile(fresh, levels), abs=0.08)
    assert np.quantile(fresh, 0.05) < stats.t.ppf(0.05, 4) - 0.2


def _mean_rates(spec: str, law, shift: float, k: int, n: int, samples: int, rng) -> tuple[float, float]:
    """Shares of ``samples`` generators of the target's shape moved by ``shift`` target sds,
    called within the mean band and shown outside it (p < 0.05)."""
    target = targets.as_target(spec)
    within = outside = 0
    for _ in range(samples):
        x = law.rvs(size=(k, n), random_state=rng) + shift * law.std()
        band = next(c for c in criteria(x, mean=0.0, std=1.0, tolerance=Tolerance(), target=target)
                    if c.criterion == "mean")
        within += band.p_within < 0.05
        outside += band.p_outside < 0.05
    return within / samples, outside / samples


@pytest.mark.slow
@pytest.mark.parametrize("spec, law", [("expon()", stats.expon()),
                                       ("gamma(a=2, loc=10, scale=3)", stats.gamma(2, loc=10, scale=3))])
def test_a_skewed_generator_at_a_mean_band_edge_is_judged_at_most_alpha(spec, law):
    # At either edge of the mean band (the target's mean ± 0.1 sd) a generator of the target's
    # shape is neither within nor outside, so each is shown in at most 0.05 of cases: 2,000 per
    # edge at K = 5, n = 20, against the 99.9% binomial band (0.0655). With Student's t the
    # exponential's generators at the lower edge were shown outside in 0.0685 of these 2,000;
    # with its table, 0.042. One-sided, over 10,000, t called them within at the upper edge in
    # 0.069 and the table in 0.049 (`python benchmarks/other_targets_calibration.py mean-band`).
    rng = np.random.default_rng(21)
    bound = stats.binom.ppf(0.999, 2000, 0.05) / 2000
    for shift in (0.1, -0.1):
        within, outside = _mean_rates(spec, law, shift, 5, 20, 2000, rng)
        assert within <= bound, (shift, within)
        assert outside <= bound, (shift, outside)


@pytest.mark.slow
def test_a_skewed_generator_on_the_target_s_mean_is_still_called_within():
    # The power the table keeps: exponential generators of exactly the target's mean, K = 10,
    # n = 100 (the band is ±3.2 of the mean's standard errors), called within in 0.793 of 1,000
    # (measured; with Student's t 0.799). The binomial sd of 1,000 is 0.013.
    within, _ = _mean_rates("expon()", stats.expon(), 0.0, 10, 100, 1000, np.random.default_rng(22))
    assert within > 0.74, within

"""The mean test on rounded data (gancheck.stats.rounded_mean): the exact law of the sum of values
on a grid of step h up to the target's sd, or Sheppard's variance sd² + h²/12 where that law is
too wide. Oracles: enumeration of every triple, the z test by hand (scipy.stats.norm), and the
null rejection rate of rounded true-target samples."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import rounded_mean, targeting
from gancheck.stats.scoring import score


def test_the_exact_law_of_the_sum_by_enumeration():
    # Three whole numbers of N(4, 1.25): every triple of grid points, its probability the product
    # of the cells' masses (scipy.stats.norm), summed where |sum - 12| reaches the observed one.
    row = np.array([3.0, 6.0, 6.0])
    error, p = rounded_mean.rounded_mean(row, 1.0, targeting.resolve(None))
    points = np.arange(-6, 15)
    mass = stats.norm.cdf(points + 0.5, 4, 1.25) - stats.norm.cdf(points - 0.5, 4, 1.25)
    mass[0], mass[-1] = stats.norm.cdf(points[0] + 0.5, 4, 1.25), stats.norm.sf(points[-1] - 0.5, 4, 1.25)
    a, b, c = np.meshgrid(points, points, points, indexing="ij")
    joint = mass[:, None, None] * mass[None, :, None] * mass[None, None, :]
    expected = joint[np.abs(a + b + c - 12) >= 3].sum()
    assert error == pytest.approx(1.0) and p == pytest.approx(expected, rel=1e-9)


def test_sheppards_z_where_the_sum_is_too_wide(monkeypatch):
    monkeypatch.setattr(rounded_mean, "MAX_SUPPORT", 0)
    # The exact law of this sum may already be cached in this process (another test scored
    # whole numbers at n = 10): it would be read back whatever MAX_SUPPORT now says.
    rounded_mean._sum_law.cache_clear()
    row = np.array([3.0, 4.0, 4.0, 5.0, 6.0, 2.0, 4.0, 5.0, 3.0, 6.0])
    error, p = rounded_mean.rounded_mean(row, 1.0, targeting.resolve(None))
    se = math.sqrt((1.25**2 + 1.0 / 12.0) / row.size)  # Sheppard: sd² + h²/12, by hand
    assert p == pytest.approx(2 * stats.norm.sf(abs(row.mean() - 4.0) / se), rel=1e-12)


def test_a_grid_wider_than_the_sd_keeps_the_ties_status():
    # N(4, 0.4) written as whole numbers: rounding error is no longer uniform noise.
    x = np.round(np.random.default_rng(0).normal(4, 0.4, 200))
    assert score(x, mean=4, std=0.4).set_index("test").loc["mean", "status"] == "ties"


def test_it_detects_a_shift_in_whole_numbers():
    # N(5, 1.25) written as whole numbers against N(4, 1.25): before, every row was "ties".
    x = np.round(np.random.default_rng(1).normal(5, 1.25, (20, 500)))
    rows = score(x).query("test == 'mean'")
    assert (rows["status"] == "ok").all() and rows["reject"].all()


@pytest.mark.slow
@pytest.mark.parametrize("mean, sd, step, n", [(4.0, 1.25, 1.0, 8), (4.0, 1.25, 1.0, 50), (4.0, 1.25, 1.0, 500),
                                               (100.0, 7.0, 5.0, 200), (4.0, 1.25, 0.5, 2000)])
def test_calibrated_on_rounded_normal_samples(mean, sd, step, n):
    # 1,000 true-target samples on the grid: the mean test runs on (almost) every one and, an
    # exact test of a discrete law, rejects at most at 0.05 within the 99.9% binomial band
    # (scipy.stats.binom); measured 0.033 to 0.049 (20,000 samples at n = 8, 12, 50, 500).
    rng = np.random.default_rng(n)
    x = np.round(rng.normal(mean, sd, (1000, n)) / step) * step
    rows = score(x, mean=mean, std=sd).query("test == 'mean'")
    assert (rows["status"] == "ok").mean() > 0.99  # a row of 8 values may show no one grid
    assert rows["reject"].sum() <= stats.binom.ppf(0.999, 1000, 0.05), rows["reject"].mean()

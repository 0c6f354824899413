"""The mean test on rounded data: the law of the sum of n values written on a grid of step h.

Values of the target written on a grid of step h are iid draws of a discrete law: each grid
point carries the target's mass in its cell (gancheck.stats.grouped_ks builds those cells). Their
sum's law is that pmf convolved n times, so the two-sided p-value of the mean error, P(|S - n μ|
>= |s - n μ|), is exact; it is summed from the pmf's terms, all positive, so small p-values keep
their digits. Where the sum's support is too wide to convolve (MAX_SUPPORT), Sheppard's
correction is used instead: rounding to a grid of step h up to the target's sd adds an almost
uniform error, independent of the value (Sheppard 1898), so the mean is unbiased and its
variance is (σ² + h²/12)/n; the z test uses that. Either way the test runs where the ties rule
would leave the plain mean test untested, or where rounding adds more than a trace to the
variance (gancheck.stats.scoring.SHEPPARD_MIN). Sheppard's error is uniform only for a step h
up to about the target's sd, so beyond it (N(4, 0.4) written as whole numbers) a sum too wide
to convolve takes the Monte Carlo p-value below instead.

Any other target: the same exact law, with the p-value of gof_target's mean test, equal tails
(min(1, 2 min(P(S <= s), P(S >= s))), as a skewed target's sum has no centre to measure a
distance from). Sheppard's z needs a normal law of the sum, which a skewed or heavy-tailed
target's rounded values do not give at small n, so where the law is too wide the p-value is
a Monte Carlo one instead: the mean of n values of the target rounded to the grid, simulated
with the sd, skewness and kurtosis tables (gancheck.stats.grouped_simulated.grouped_mean).
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from gancheck.stats import grouped_ks, grouped_simulated
from gancheck.stats.targeting import Resolved

#: The widest support of the sum that is convolved (about 0.2 s, once per grid and n).
MAX_SUPPORT = 50_000


def rounded_mean(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(mean error, two-sided p) of ``row`` written on a grid of step ``h``; (nan, nan) where
    the test does not hold (see the module docstring)."""
    if not h > 0:
        return math.nan, math.nan
    n = row.size
    error = float(row.mean() - plan.mean)
    step, phase = grouped_ks.grid_key(row[0], h)
    law = _sum_law(plan, step, phase, n)
    observed = int(np.round(row / h - phase).astype(np.int64).sum())
    if law is not None:
        first, pmf, centre = law
        index = observed - first
        if 0 <= index < pmf.size:
            if not plan.is_normal:
                return error, float(min(1.0, 2.0 * pmf[:index + 1].sum(), 2.0 * pmf[index:].sum()))
            distance = np.abs(np.arange(pmf.size) + first - centre)
            reach = abs(observed - centre) * (1.0 - 1e-12) - 1e-9
            return error, float(min(1.0, pmf[distance >= reach].sum()))
    if not plan.is_normal or h > plan.std:
        return grouped_simulated.grouped_mean(row, h, plan)
    # Sheppard's z: the sum's support too wide, or the observed sum beyond the target's tails.
    se = plan.std * math.sqrt((1.0 + (h / plan.std) ** 2 / 12.0) / n)  # no overflow at sd 1e308
    return error, float(2.0 * special.ndtr(-abs(error) / se))


@functools.lru_cache(maxsize=32)
def _sum_law(plan: Resolved, h: float, phase: float, n: int):
    """(first index, pmf, centre) of the sum of n values on the grid (k + phase)·h, in grid
    steps less n·phase: the index k of each value summed; centre is n μ in those units. None
    where the support is wider than MAX_SUPPORT."""
    lattice = grouped_ks._lattice(plan, h, phase)
    if lattice is None:
        return None
    first, cumulative = lattice
    masses = np.diff(cumulative, prepend=0.0)
    if n * (masses.size - 1) + 1 > MAX_SUPPORT:
        return None
    pmf, power, count = np.ones(1), masses, n
    while count:  # binary powers: log2(n) convolutions
        if count & 1:
            pmf = np.convolve(pmf, power)
        count >>= 1
        if count:
            power = np.convolve(power, power)
    pmf = np.clip(pmf, 0.0, None)
    pmf.setflags(write=False)
    return n * first, pmf, n * (plan.mean / h - phase)

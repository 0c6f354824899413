"""Monte Carlo p-values from a sorted table of a statistic simulated under the null.

Each tail is (1 + #{null values at least as extreme}) / (1 + R), R the table's size: never 0,
and at most alpha with probability at most alpha under the null, whatever R (Davison and Hinkley
1997, ch. 4; scipy.stats.monte_carlo_test counts the same way). Tables are ascending, so each
count is one binary search. All counts are whole numbers below 2**53, so every form of the
quotient gives the same float.
"""
from __future__ import annotations

import numpy as np


def upper_p(null_sorted: np.ndarray, observed):
    """(1 + #{null >= observed}) / (1 + R); ``observed`` a number or an array."""
    above = null_sorted.size - np.searchsorted(null_sorted, observed, side="left")
    return (1.0 + above) / (1.0 + null_sorted.size)


def lower_p(null_sorted: np.ndarray, observed):
    """(1 + #{null <= observed}) / (1 + R); ``observed`` a number or an array."""
    return (1.0 + np.searchsorted(null_sorted, observed, side="right")) / (1.0 + null_sorted.size)


def equal_tailed_p(null_sorted: np.ndarray, observed):
    """min(1, 2 min(lower, upper)): each tail at most alpha / 2 with probability at most alpha / 2
    under the null, so their union at most alpha. Capped at 1 as scipy.stats.permutation_test
    caps it: with the 1 in each count both tails can exceed 1/2 near the median."""
    return np.minimum(1.0, 2.0 * np.minimum(lower_p(null_sorted, observed), upper_p(null_sorted, observed)))

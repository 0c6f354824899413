"""Kolmogorov-Smirnov on rounded data: D against the target written at the data's resolution.

A sample written on a grid too coarse for the continuous KS p-value (gancheck.stats.ties) is
still a sample of the target *rounded to that grid* under the null, and that law is known: each
grid point v carries the target's mass in its cell [v - h/2, v + h/2). So the KS row of such a
sample is not left untested. D is the largest distance between the sample's ECDF and that
discrete CDF, read at the grid points (both are step functions there).

Its p-value P(D >= d) is exact: the cumulative counts C_k after each cell are a Markov chain
(the count in cell k, given C_(k-1) = c, is Binomial(n - c, p_k / (1 - F_(k-1)))), and D >= d
is the chain leaving the band |C_k - n F_k| < n d. The probability of leaving is summed cell by
cell from binomial tails, all positive terms, so small p-values keep their digits (Conover
1972 and Dimitrova, Kaishev & Tan 2020, J. Stat. Softw. 95(10), compute the same law). Where the
band and the cells are too many for that sum (CHAIN_BUDGET), the continuous KS p-value of the
same D is used: for a discontinuous null it is conservative (Noether 1963), so still valid.

Cells in a run where the band stays the same (a tail, where n F_k moves by less than a count
from cell to cell) need the band checked only at the run's first and last ends: C_k never
falls, so a count below the band inside the run was already below it at the run's first end,
and one above it is still above at its last. The chain skips the ends between (the same law,
with those cells' masses summed), which on a fine grid leaves a few ends per count of n
instead of thousands of cells (t(5) to one decimal: 4,900 cells, 0.4 s a row at n = 40).

It applies where every value lies on one regular grid, v_min + k·h, at one resolution (a CSV
written to a fixed number of decimals, whole numbers, a generator stuck on a few values written
so). Irregular resolutions (significant digits) keep the ties status.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special, stats

from gancheck.stats import repeats, targeting
from gancheck.stats.targeting import Resolved

#: The largest cells x band² the exact chain may cost (about a second); beyond it the continuous
#: KS p-value of the same D is used (conservative for a discrete null).
CHAIN_BUDGET = 30_000_000
#: Beyond this many cells the lattice is not built: the row keeps its ties status.
MAX_CELLS = 200_000
#: The target's tails outside these quantiles join the end cells (the lattice must be finite).
TAIL = 1e-12
#: Where a lattice between the TAIL quantiles has more cells than a form affords (a heavy tail
#: on a fine grid: t(3) to one decimal spans about 400,000 cells between them, and its KS, A²
#: and W² rows were left untested), the mass beyond coarser quantiles joins the end cells
#: instead. The forms then test the sample with its outermost values grouped there, which stays
#: exact for KS, A² and W² (the sample's values beyond are counted in the end cells as the
#: null's are), and for the moments errs only where a value lies beyond. So the tail is never so
#: coarse that n values of the target reach it with probability above this (2 n tail at most):
#: beyond that the row keeps its ties.
TAIL_REACH = 1e-4
#: A value within this share of a step from a grid point is on it (decimals read as float64).
GRID_TOLERANCE = 1e-6
#: At most this share of values on whole multiples of 10 steps: a fixed number of decimals
#: (see regular_step).
ROUND_SHARE = 0.3


def regular_step(row: np.ndarray) -> float:
    """h where every value of the sorted, finite ``row`` is row[0] + k·h at one resolution; 0.0
    otherwise.

    h is the finest cell gancheck.stats.repeats reads among the values. A value read with a
    wider cell may be one whose last zeros the file dropped ("4" among "4.1", "3.9": a stuck
    output at 4.0; "10" among whole numbers), or written to fewer significant digits (printf's
    %.2g: 0.01 below 1, 0.1 up to 10), which no single grid describes. Wider cells are taken for
    dropped zeros where every value lies within one power of ten, or where few values are whole
    multiples of 10·h (ROUND_SHARE: about a tenth of a fixed-decimal file's are, by chance, and
    every value above 1 of a %.2g file)."""
    cells, _ = repeats.value_cells(row[None, :])
    h = float(cells.min())
    if not (h > 0 and math.isfinite(h)):
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):   # a cell near the smallest float
        steps = (row - row[0]) / h
        off = np.abs(steps - np.round(steps))
    if not float(off.max()) <= GRID_TOLERANCE:   # NaN too: steps beyond float's range
        return 0.0
    if not np.allclose(cells, h, rtol=1e-9, atol=0.0):
        nonzero = np.abs(row[row != 0])
        one_decade = nonzero.size == row.size and np.ptp(np.floor(np.log10(nonzero))) == 0
        tens = row / (10.0 * h)
        round_share = float(np.mean(np.abs(tens - np.round(tens)) <= GRID_TOLERANCE))
        if not (one_decade or round_share <= ROUND_SHARE):
            return 0.0
    return h


def grouped_ks(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(D, exact p) of the sorted ``row`` on its grid of step ``h`` (regular_step) against
    ``plan``'s target rounded to that grid; (nan, nan) where the lattice would be too big."""
    step, phase = grid_key(row[0], h)
    lattice = _lattice(plan, step, phase, fitting_tail(plan, step, row.size, MAX_CELLS))
    if lattice is None:
        return math.nan, math.nan
    first, cumulative = lattice
    # A value beyond the lattice (farther out than the tail quantiles it was built to) counts in
    # the end cell, which holds that tail.
    unclipped = np.round(row / h - phase).astype(np.int64) - first
    index = np.clip(unclipped, 0, cumulative.size - 1)
    counts = np.bincount(index, minlength=cumulative.size)
    d = float(np.abs(np.cumsum(counts) / row.size - cumulative).max())
    if impossible(row, unclipped, h, cumulative, plan):
        return d, 0.0
    return d, crossing_probability(d, row.size, cumulative)


def grid_key(value: float, h: float) -> tuple[float, float]:
    """(step, phase) of the grid of step ``h`` through ``value``: its points are (k + phase)·step.
    Both are rounded (12 significant digits, 6 decimals), so that the rows of one file, whose
    steps and phases differ only in their last bits, share one lattice (_lattice's cache)."""
    return float(f"{h:.12g}"), round(float((value / h) % 1.0), 6) % 1.0


def cell_masses(plan: Resolved, h: float, phase: float) -> np.ndarray | None:
    """The target's mass in each cell of the lattice of ``grid_key``'s (h, phase), the tails
    joined to the end cells; None where the lattice would be too big (MAX_CELLS)."""
    lattice = _lattice(plan, h, phase)
    return None if lattice is None else np.diff(lattice[1], prepend=0.0)


def impossible(row: np.ndarray, index: np.ndarray, h: float, cumulative: np.ndarray, plan: Resolved) -> bool:
    """Whether a value of ``row`` (at lattice cells ``index``, unclipped) lies in a cell where
    the target has no mass: a gamma's -0.5 written to one decimal. It cannot occur under the
    null, so p = 0 exactly; counted in the end cell, it would only move D by 1/n (p = 0.29 for
    that value among 300 of gamma(2)).

    Beyond the lattice (past the target's TAIL quantiles) a cell is impossible only where it
    lies wholly outside the support: a difference of CDFs there rounds to 0 in the upper tail
    (both read 1.0 from about 8.3 sds) but not in the lower, so it would call 4 + 11 sds
    impossible and 4 - 11 sds not. Such a value counts in the end cell, as the tails do."""
    masses = np.diff(cumulative, prepend=0.0)
    inside = (index >= 0) & (index < cumulative.size)
    if (masses[index[inside]] <= 0).any():
        return True
    low, high = targeting.support(plan)
    outside = row[~inside]
    return bool(((outside + h / 2 <= low) | (outside - h / 2 >= high)).any())


def crossing_probability(d: float, n: int, cumulative: np.ndarray) -> float:
    """P(max_k |C_k / n - F_k| >= d) for n values over cells with CDF ``cumulative`` at their
    ends (the exact chain of the module docstring; the continuous bound beyond CHAIN_BUDGET)."""
    if d <= 0:
        return 1.0
    reach = n * d * (1.0 - 1e-9)  # within float error of d counts as reaching it
    low = np.maximum(np.floor(n * cumulative - reach) + 1, 0).astype(np.int64)
    high = np.minimum(np.ceil(n * cumulative + reach) - 1, n).astype(np.int64)
    band = int((high - low).max()) + 1
    if (low > high).any():
        return 1.0  # some cell's band is empty: every sample reaches d there (d below 1/n)
    ends = _band_changes(low, high)
    cumulative, low, high = cumulative[ends], low[ends], high[ends]
    if cumulative.size * band * band > CHAIN_BUDGET:
        return float(stats.kstwo.sf(d, n))
    masses = np.diff(cumulative, prepend=0.0)
    log_factorial = _log_factorials(n)
    counts, prob = np.zeros(1, dtype=np.int64), np.ones(1)
    left, crossed = 1.0, 0.0
    for k in range(cumulative.size):
        q = 1.0 if left <= 0 else min(1.0, masses[k] / left)
        left -= masses[k]
        trials = n - counts
        # Leaving the band below (C_k < low) or above (C_k > high), from each previous count.
        below = special.bdtr(low[k] - counts - 1, trials, q) if q < 1 else (counts + trials < low[k]) * 1.0
        above = special.bdtrc(high[k] - counts, trials, q) if q < 1 else (counts + trials > high[k]) * 1.0
        crossed += float(prob @ (np.where(low[k] - counts - 1 >= 0, below, 0.0)
                                 + np.where(high[k] - counts >= 0, above, 1.0)))
        new = np.arange(low[k], high[k] + 1)
        prob = prob @ _transition(counts, new, n, q, log_factorial)
        counts = new
    return float(min(1.0, crossed))


def _band_changes(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Which cell ends the chain must check: all but those inside a run of equal bands (the
    module docstring), i.e. where the band differs from the end before or the end after."""
    same_as_next = (low[1:] == low[:-1]) & (high[1:] == high[:-1])
    inside = np.zeros(low.size, dtype=bool)
    inside[1:-1] = same_as_next[:-1] & same_as_next[1:]
    return ~inside


def _transition(counts: np.ndarray, new: np.ndarray, n: int, q: float, log_factorial: np.ndarray) -> np.ndarray:
    """P(C_k = new | C_(k-1) = counts): the cell's count, new - counts, is Binomial(n - counts, q).

    Its log, lg(m+1) - lg(j+1) - lg(m-j+1) + j log q + (m-j) log(1-q) with m = n - counts and
    j = new - counts, has m - j = n - new: every log-factorial is a lookup by one vector."""
    j = new[None, :] - counts[:, None]
    valid = j >= 0
    if q >= 1.0:
        return ((new[None, :] == n) & valid) * 1.0
    if q <= 0.0:
        return (j == 0) * 1.0
    jj = np.where(valid, j, 0)
    rest = n - new
    log = (log_factorial[n - counts][:, None] - log_factorial[jj] - log_factorial[rest][None, :]
           + jj * math.log(q) + (rest * math.log1p(-q))[None, :])
    return np.where(valid, np.exp(log), 0.0)


@functools.lru_cache(maxsize=8)
def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n."""
    table = special.gammaln(np.arange(n + 1) + 1.0)
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=32)
def _lattice(plan: Resolved, h: float, phase: float, tail: float = TAIL):
    """(index of the first cell, the rounded target's CDF at each cell's end) for the grid
    (k + phase)·h over the target's support, or None beyond MAX_CELLS cells. The target's mass
    beyond its ``tail`` quantiles joins the end cells."""
    low, high = _support(plan, tail)
    # Grid indices must be exact in float64 (and the cells few): else the row keeps its ties.
    with np.errstate(over="ignore"):   # a step near the smallest float: no lattice
        if not max(abs(low / h), abs(high / h)) < 2.0**52 or (high - low) / h + 2 > MAX_CELLS:
            return None
    first, last = math.floor(low / h - phase), math.ceil(high / h - phase)
    points = (np.arange(first, last + 1) + phase) * h
    cumulative = _cdf(plan, points + h / 2)
    cumulative[-1] = 1.0  # the right tail joins the last cell, the left tail the first
    cumulative = np.maximum.accumulate(np.clip(cumulative, 0.0, 1.0))
    cumulative.setflags(write=False)
    return first, cumulative


def _support(plan: Resolved, tail: float = TAIL) -> tuple[float, float]:
    """Where the target's mass lies, but for ``tail`` on each side."""
    if plan.is_normal:
        z = -special.ndtri(tail)
        return plan.mean - z * plan.std, plan.mean + z * plan.std
    return float(plan.target.ppf(tail)), float(plan.target.ppf(1 - tail))


@functools.lru_cache(maxsize=64)
def fitting_tail(plan: Resolved, h: float, n: int, max_cells: int) -> float:
    """The target's mass on each side that joins the end cells of a lattice of step h for n
    values, so that it has at most ``max_cells`` cells: TAIL where that fits, else the coarsest
    power of ten that TAIL_REACH allows (the fewest cells, so the cheapest chain and table);
    TAIL again where neither fits, and the lattice is then over the budget."""
    coarsest = 10.0 ** math.floor(math.log10(TAIL_REACH / (2 * n)))
    for tail in (TAIL, coarsest):
        low, high = _support(plan, tail)
        with np.errstate(over="ignore"):
            if tail >= TAIL and (high - low) / h + 2 <= max_cells:
                return tail
    return TAIL


def _cdf(plan: Resolved, x: np.ndarray) -> np.ndarray:
    if plan.is_normal:
        return special.ndtr((x - plan.mean) / plan.std)
    return np.asarray(plan.target.cdf(x), dtype=float)

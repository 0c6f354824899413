"""Ties: when a sample's values sit on a grid too coarse for a test's continuity assumption.

gancheck.stats.scoring gives such a test the status gof.TIES (neither passed nor failed), except
where every value lies on one regular grid: KS, AD, CvM, the mean, sd, skewness and kurtosis are
then taken against the target rounded to that grid (gancheck.stats.grouped_ks,
grouped_simulated, rounded_mean); Shapiro-Wilk and AD with estimated parameters keep the ties
status there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gancheck.stats import decimals, repeats

#: Ties. A sample whose values sit on a grid (a CSV written to 1 decimal) breaks the continuity
#: that the ECDF and order-statistic tests assume (on N(4, 1.25) rounded to 1 decimal, n = 2,000,
#: the uncorrected tests rejected at KS 0.55, AD-normal 0.83, Shapiro 0.28). The grid step h is
#: the smallest positive gap when every gap is a multiple of it (grid_to_sd), or where the cells
#: differ from value to value (significant digits, a stray value) the cell where the values
#: crowd (coarseness); a test is then not run (status TIES: neither passed nor failed) when the
#: grid is coarse for it:
#: - ECDF/order tests (ks, ad, cvm, shapiro, ad_normal): when the expected number of values in
#:   the fullest grid cell of a normal sample, n·h / (s·√(2π)), exceeds that test's limit in
#:   ORDER_OCCUPANCY (TIES_OCCUPANCY for a test not listed). Each limit is where the test was
#:   shown calibrated on rounded N(4, 1.25) data: 2,000 samples per (n, grid), n = 20, 50, 500
#:   and 2,000, the grid aligned with the mean and shifted by half a step, every rejection rate
#:   at 0.05 within 0.039 to 0.060 (99.5% binomial quantile 0.063); at twice these limits KS,
#:   Cramér-von Mises and Shapiro-Wilk rejected up to 0.073, 0.067 and 0.096 at n = 20
#:   (tests/stats/test_ties.py repeats the check at the limits). Float32 output (h about 5e-7
#:   near 4) stays far below every limit up to millions of values.
#: - moment tests (mean, std, skew, kurtosis): rounding adds about h²/12 to the variance
#:   (Sheppard); they run while that bias is at most MOMENT_TIE_BIAS standard errors of s², i.e.
#:   h² / (12 s²) <= MOMENT_TIE_BIAS·√(2/n), with h² the mean squared cell where cells differ.
#:   A 1-decimal CSV of N(4, 1.25) stays tested to n ≈ 70,000.
TIES_OCCUPANCY = 0.1
ORDER_OCCUPANCY = {"ks": 0.5, "ad": 2.0, "cvm": 1.0, "shapiro": 1.0, "ad_normal": 1.0}
MOMENT_TIE_BIAS = 0.1
#: Gaps within this much of a whole number of grid steps count as on the grid (float64 error of
#: decimal values read from a CSV is about 1e-14 steps).
GRID_TOLERANCE = 1e-6
#: Where the values' own float error reaches this share of a step, no grid can be shown (one
#: decimal is still seen as a grid near 1e10; near 1e12 it is read as continuous).
GRID_MAX_TOLERANCE = 0.01


def grid_to_sd(x: np.ndarray) -> np.ndarray:
    """Grid step / sample sd (ddof=1) of sorted, valid rows that lie on a grid; 0 for the others.

    A row lies on a grid when every gap between neighbouring values is an integer multiple (to
    GRID_TOLERANCE) of its smallest positive gap h, which is then the step: rounded data (4.1,
    4.3, 4.3, 4.6 ...) always do, continuous float64 data practically never (their gaps are
    unrelated real numbers); float32 data do, on the tiny spacing of the floats themselves.
    Rows of fewer than 3 distinct values cannot show a grid (one gap is a multiple of itself:
    two values, e.g. a saturated output's, are not rounded data). Measured on the row divided by its largest
    deviation from its mean, so rows of tiny (1e-300) or huge spread neither underflow nor
    overflow.
    """
    m, n = x.shape
    if n < 3:
        return np.zeros(m)
    centred = x - x.mean(axis=1, keepdims=True)
    largest = np.abs(centred).max(axis=1, keepdims=True)
    z = centred / largest
    gaps = np.diff(z, axis=1)
    h = np.where(gaps > 0, gaps, np.inf).min(axis=1)
    # Far from 0 the values themselves are off their grid by up to float64's spacing there (one
    # decimal near 1e9: a millionth of a step), and centring adds as much again; the step and
    # each gap carry that error, scaled like z.
    error = 2.0 * np.spacing(np.abs(x).max(axis=1)) / largest[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        steps = gaps / h[:, None]
        tolerance = np.maximum(GRID_TOLERANCE, 2.0 * error[:, None] * (1.0 + steps) / h[:, None])
        on_grid = np.isfinite(h) & ((np.abs(steps - np.round(steps)) <= tolerance)
                                    & (tolerance <= GRID_MAX_TOLERANCE)).all(axis=1)
    on_grid &= (gaps > 0).sum(axis=1) >= 2
    return np.where(on_grid, h, 0.0) / z.std(axis=1, ddof=1)


@dataclass(frozen=True)
class Coarseness:
    """How coarsely each row (sorted, valid) is written, in its own sds (0 where continuous).

    ``step``: the width of the cell where the values crowd most, the one the order tests' rule
    reads (grid_to_sd's step on a single grid); ``square``: the mean squared cell width, whose
    twelfth is what rounding adds to the variance (Sheppard; grid_to_sd's step squared on a
    single grid)."""

    step: np.ndarray
    square: np.ndarray


def coarseness(x: np.ndarray) -> Coarseness:
    """Coarseness of the sorted, valid rows of x.

    One grid (grid_to_sd) does not describe every file: numbers written to a fixed count of
    significant digits (printf's %.2g) sit in cells of 0.01 below 1, 0.1 up to 10 and 1 above,
    so their smallest gap (0.01) hid the 0.1 cells where N(4, 1.25) crowds (KS rejected 32% of
    true-target samples at n = 2,000), and near 10 the cells of 1 skewed the moments; one value
    off the grid hid the grid altogether. Rows with ties, or on a grid, are therefore read value
    by value (repeats.resolution: local grids, decimal places and significant digits), and the
    crowded cell is the widest where the row's values crowd: each cell weighted by the normal
    density at its nearest point to the row's mean, the cell nearest the mean at full weight. A
    single grid gives grid_to_sd's step exactly. Rows without grid or tie are continuous, and
    float32 output keeps grid_to_sd's reading (its cells, 2^-21 near 4, are far below every
    limit) unless its first values are written decimals (whole numbers and halves are float32
    numbers too)."""
    step = grid_to_sd(x)
    square = step**2
    if x.shape[1] < 3:
        return Coarseness(step, square)
    with np.errstate(over="ignore"):
        float32 = (x.astype(np.float32) == x).all(axis=1)
    tied = (x[:, 1:] == x[:, :-1]).any(axis=1)
    candidates = np.flatnonzero(tied | (step > 0) & ~float32)
    candidates = candidates[~float32[candidates] | decimals.written_as_decimals(x[candidates])]
    for i in candidates:
        step[i], square[i] = _cell_widths(x[i])
    return Coarseness(step, square)


def _cell_widths(row: np.ndarray) -> tuple[float, float]:
    """(crowded cell, root mean square cell) of one sorted row, in its sds (coarseness)."""
    new_value = np.ones(row.size, dtype=bool)
    new_value[1:] = row[1:] != row[:-1]
    cells, _ = repeats.resolution(row[None, :], row, new_value)
    # In units of the largest deviation, as grid_to_sd measures, so that rows of tiny or huge
    # spread neither underflow nor overflow.
    centred = row - row.mean()
    largest = np.abs(centred).max()
    cells, sd = cells / largest, (centred / largest).std(ddof=1)
    z = np.abs(centred / largest) / sd
    weight = np.exp(-0.5 * np.maximum(z - cells / (2.0 * sd), 0.0) ** 2)
    weight[np.argmin(z)] = 1.0
    return float((cells * weight).max() / sd), float(((cells / sd) ** 2).mean())


def coarse_for_order_tests(x: np.ndarray, test: str | None = None,
                           grid: np.ndarray | None = None) -> np.ndarray:
    """Rows (sorted, valid) too coarse for the ECDF/order test ``test`` (see ORDER_OCCUPANCY);
    ``grid`` is coarseness(x).step when the caller has it."""
    grid = coarseness(x).step if grid is None else grid
    return x.shape[1] * grid / math.sqrt(2 * math.pi) > ORDER_OCCUPANCY.get(test, TIES_OCCUPANCY)


def coarse_for_moment_tests(x: np.ndarray, square: np.ndarray | None = None) -> np.ndarray:
    """Rows (sorted, valid) whose rounding biases the moment tests (see MOMENT_TIE_BIAS);
    ``square`` is coarseness(x).square when the caller has it."""
    n = max(x.shape[1], 1)
    square = coarseness(x).square if square is None else square
    return square / 12.0 > MOMENT_TIE_BIAS * math.sqrt(2.0 / n)

"""Repeated values across draws, against what the data's resolution gives by chance.

A generator that memorised a finite pool of values re-emits them: the same number turns up in
many noise draws. Independent draws of a continuous law repeat a value only through the
resolution the numbers are written at: float32 output (cells of 2^-21 near 4), the grid of a
rounded file (cells of 0.01 at 2 decimals), or the last decimal place of a text file's numbers
(1e-6 as printf's %f writes them, far finer than the gaps between values, so seen from the
digits rather than the gaps; float32 output printed as text, at most 9 significant digits,
keeps float32's cells). So the evidence is the COUNT of pairs of equal values
in different draws, C, against its chance expectation E at the data's own resolution:

    E = P · mean over values of cell(x) f(x),

where P = (N² - Σ_k n_k²) / 2 is the number of cross-draw pairs and cell(x) f(x) is the chance
that an independent value lands in x's cell (the law's density f times the cell's width). f is
estimated by a histogram with bins of a quarter of a robust sd (a whole number of cells), wider than any cell and than
the spacing of a memorised pool, so a pool's spikes do not enter the chance count; cell widths
are found from the values themselves (resolution()). A rounding grid therefore raises C and E
together (ratio about 1, whatever the grid); a pool raises C only.

The test (used by gancheck.stats.diversity): H0 "C <= ratio · E" (ratio the tolerance's
``repeats``, 2 by default) against more; p = P(Poisson(ratio · E) >= C). Float64 data with no grid at all
have float64's own spacing as cells, so E is practically 0 near 0 and any repeat there is
memorisation; when E is 0 (a constant output) p is 0 for C > 0, 1 for C = 0. The factor
2 is far above the few per cent by which the histogram misjudges E for smooth laws (measured:
C / E within 0.94 to 1.12 for N(4, 1.25), t(3) and U(0, 1) rounded to 1, 2 or 3 decimals or a
0.05 grid, K = 10 to 100), so rounded data, however coarse, are not called memorised. Caveat: a
law with features narrower than the histogram's bin (a spike a tenth of an sd wide) has more
chance repeats than the histogram sees; rounded coarsely, such output can read as memorised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from gancheck.stats.decimals import decimal_cells
from gancheck.stats.windows import sliding_min

#: Histogram bin for the chance density, in robust sds (IQR / 1.349).
DENSITY_BIN_SD = 0.25
#: Distinct values per window when looking for a local grid.
GRID_WINDOW = 32
#: A gap within this many steps of a whole number of steps is on the grid.
GRID_TOLERANCE = 1e-6
#: A window whose float error (float_error) reaches this share of its step cannot show a grid:
#: continuous values a few spacings apart would pass for one.
GRID_MAX_TOLERANCE = 0.01


@dataclass(frozen=True)
class RepeatsResult:
    count: int  # cross-draw pairs of equal values, C
    expected: float  # their chance expectation at the data's resolution, E
    ratio: float  # C / E (inf when E = 0 < C, 0 when C = 0)
    pvalue: float  # P(Poisson(tolerance · E) >= C)
    share: float  # share of values equal to some value in another draw (descriptive)
    resolution: str  # "float32", "grid", "continuous" or "mixed"


@dataclass(frozen=True)
class Pooled:
    """The K·n values of a (K, n) array in ascending order, found once and shared by every
    statistic of the pooled sample (diversity's ranks and tie correction, repeats): one sort
    of N values is most of their cost. ``order``: the stable argsort of x.ravel(), so equal
    values keep their draw order; ``sorted``: x.ravel()[order]; ``new_value``: True where a run
    of equal values starts; ``counts``: each run's length, ascending by value."""

    order: np.ndarray
    sorted: np.ndarray
    new_value: np.ndarray
    counts: np.ndarray


#: Values looked at to guess whether most pooled values are tied (pooled()).
TIE_SAMPLE = 1024


def pooled(x: np.ndarray) -> Pooled:
    values = x.ravel()
    # numpy's default argsort is about twice as fast as its stable one on continuous floats; it
    # may order equal values either way, so each run of equal values is then put back in index
    # order, which makes ``order`` the stable argsort exactly. Continuous data have few such runs.
    # Where most values are tied (a collapsed or coarsely rounded output) the stable sort is as
    # fast as the default one and much cheaper than mending: a sample of the values says which
    # case this is, and a wrong guess costs time only, never a different order.
    stable = _mostly_tied(values[:: max(1, values.size // TIE_SAMPLE)])
    order = np.argsort(values, kind="stable" if stable else None)
    v = values[order]
    new_value = np.ones(v.size, dtype=bool)
    new_value[1:] = v[1:] != v[:-1]
    starts = np.flatnonzero(new_value)
    counts = np.diff(starts, append=v.size)
    if not stable and starts.size < v.size:
        tied = np.flatnonzero(np.repeat(counts > 1, counts))
        if _mostly_tied_count(tied.size, v.size):
            order = np.argsort(values, kind="stable")
            v = values[order]  # equal values, but 0.0 and -0.0 differ in their bits
        else:
            run, index = (np.cumsum(new_value) - 1)[tied], order[tied]
            order[tied] = index[np.lexsort((index, run))]
            v[tied] = values[order[tied]]
    return Pooled(order=order, sorted=v, new_value=new_value, counts=counts)


def _mostly_tied(sample: np.ndarray) -> bool:
    s = np.sort(sample)
    equal = s[1:] == s[:-1]
    return _mostly_tied_count(int((np.append(equal, False) | np.insert(equal, 0, False)).sum()), s.size)


def _mostly_tied_count(tied: int, size: int) -> bool:
    return 2 * tied > size


def repeats(x: np.ndarray, *, ratio: float = 2.0, pooled_values: Pooled | None = None) -> RepeatsResult:
    """Repeated values across the K rows (draws) of a finite (K, n) array; see the module docstring.
    ``pooled_values``: pooled(x), when the caller has it."""
    k, n = x.shape
    sort = pooled(x) if pooled_values is None else pooled_values
    v, new_value = sort.sorted, sort.new_value
    # The sort is stable and a value's draw is its flat index // n, so within each run of equal
    # values the draws already ascend: (value, draw) pairs are in lexicographic order, and equal
    # pairs are adjacent without a second sort.
    d = sort.order // n
    totals = sort.counts.astype(float)
    value_id = np.cumsum(new_value) - 1
    pair_new = new_value.copy()
    pair_new[1:] |= d[1:] != d[:-1]
    pair_id = np.cumsum(pair_new) - 1
    per_draw = np.bincount(pair_id).astype(float)
    count = int(round(((totals**2).sum() - (per_draw**2).sum()) / 2))
    # Values seen in another draw: a value whose total exceeds its own draw's count.
    share = float((totals[value_id] > per_draw[pair_id]).mean())
    cells, kind = resolution(x, v, new_value)
    expected = _expected(v, cells, k, n)
    if expected > 0:
        pvalue = float(stats.poisson.sf(count - 1, ratio * expected))
        observed_ratio = count / expected
    else:
        pvalue = 0.0 if count > 0 else 1.0
        observed_ratio = np.inf if count > 0 else 0.0
    return RepeatsResult(count=count, expected=float(expected), ratio=float(observed_ratio),
                         pvalue=pvalue, share=share, resolution=kind)


def resolution(x: np.ndarray, v: np.ndarray, new_value: np.ndarray) -> tuple[np.ndarray, str]:
    """Cell width of each sorted value v, the widest of what the numbers show:
    - the step of a local grid (GRID_WINDOW distinct neighbours whose gaps are all whole
      multiples of their smallest gap): a coarse grid (halves, 0.05) or a fine one seen densely;
    - the last decimal place they are written to (decimal_cells): text files, where a grid far
      finer than the gaps between values (6 decimals, as printf's %f writes) is not seen by gaps;
    - float32's spacing, when every value is a float32 number, or could be one written as text
      (at most 9 significant digits, which is how float32 output is printed);
    else float64's own spacing (continuous: chance repeats only far from 0, at a location many
    sds wide)."""
    grid = _grid_cells(v, new_value)
    # Written decimals first: whole numbers (and halves, quarters) are float32 numbers too, but
    # their cells are the decimals' (110 at two significant digits sits in a cell of 10).
    written = decimal_cells(v, new_value)
    if written is None:
        with np.errstate(over="ignore"):  # beyond float32's range: inf, so not float32 numbers
            as_float32 = v.astype(np.float32).astype(v.dtype)
        if np.array_equal(as_float32, v):
            spacing = _float32_spacing(v)
            cells = np.maximum(grid, spacing)
            return cells, "grid" if (grid > spacing).all() else "float32"
        kind = "grid" if (grid > 0).all() else ("continuous" if not (grid > 0).any() else "mixed")
        # Off any grid a float64 value is still the nearest double to its real value, so its cell
        # is float64's own spacing there: negligible near 4, but at a location far larger than the
        # sd (N(1e7, 1): cells of 1.9e-9, E about 0.65 at K = 100, n = 500) chance does repeat
        # values, and a cell of 0 made one such repeat read as memorisation (p = 0).
        return np.maximum(grid, np.spacing(np.abs(v).astype(float))), kind
    decimal, float32_text = written
    cells = np.maximum(grid, decimal)
    if float32_text:
        spacing = _float32_spacing(v)
        if (spacing >= cells).all():
            return spacing, "float32"
        cells = np.maximum(cells, spacing)
    return cells, "grid"


def _float32_spacing(v: np.ndarray) -> np.ndarray:
    return np.spacing(np.abs(v).astype(np.float32)).astype(float)


def _grid_cells(v: np.ndarray, new_value: np.ndarray) -> np.ndarray:
    distinct = v[new_value]
    # One value is a constant output, judged elsewhere. Two are one gap, which is a whole multiple
    # of itself: no evidence of a grid. Read as one, a generator emitting only 4 - 1.25 and
    # 4 + 1.25 sat in two cells 2.5 wide that N(4, 1.25) could fill, and was never a departure.
    if distinct.size < 3:
        return np.zeros_like(v)
    gaps = np.diff(distinct)
    w = min(GRID_WINDOW, gaps.size)
    starts = np.minimum(np.arange(gaps.size), gaps.size - w)  # each gap's window, kept in range
    step = sliding_min(gaps, w)[starts]
    # A window is on a grid when each of its gaps is a whole multiple of its smallest. Tested one
    # gap position at a time over the windows still in the running: continuous data fails on its
    # first gaps, so this costs a few passes rather than w (the same test, so the same answer).
    # Each window's largest float error, which the step and each gap may carry (float_error).
    error = -sliding_min(-float_error(distinct), w)[starts]
    running, first, smallest = np.arange(gaps.size), starts, step
    for j in range(w):
        # A step of 1e-168 beside a gap of 1 overflows the ratio: off the grid, as it should be.
        with np.errstate(over="ignore", invalid="ignore"):
            ratio = gaps[first + j] / smallest
            tolerance = np.maximum(GRID_TOLERANCE, error * (1.0 + ratio) / smallest)
            keep = (np.abs(ratio - np.rint(ratio)) <= tolerance) & (tolerance <= GRID_MAX_TOLERANCE)
        running, first, smallest, error = running[keep], first[keep], smallest[keep], error[keep]
        if running.size == 0:
            break
    on_grid = np.zeros(gaps.size, dtype=bool)
    on_grid[running] = True
    gap_cell = np.where(on_grid, step, 0.0)
    # A distinct value takes the cell of the gap after it (the last one, the gap before it).
    distinct_cell = np.append(gap_cell, gap_cell[-1])
    return distinct_cell[np.cumsum(new_value) - 1]


def float_error(distinct: np.ndarray) -> np.ndarray:
    """How far each gap between sorted neighbours may be from the gap of the numbers they stand
    for: each is the double nearest its number, half a spacing off at most. Rounded data far
    from 0 (one decimal near 1e9, where float64's spacing is 1.2e-7) are off their grid by a
    millionth of a step and more, which a fixed GRID_TOLERANCE would take for no grid at all."""
    larger = np.maximum(np.abs(distinct[:-1]), np.abs(distinct[1:]))
    return np.spacing(larger.astype(float))


#: Values this many robust sds beyond the quartiles are outliers to the histogram's bins.
BULK_SPREADS = 10.0


def _expected(v: np.ndarray, cells: np.ndarray, k: int, n: int) -> float:
    """E = P · Σ_bins [c(c - 1) / (N(N - 1))] · mean cell in bin / bin width (module docstring)."""
    total = v.size
    if not (cells > 0).any() or total < 2:
        return 0.0
    q1, q3 = np.quantile(v, [0.25, 0.75])
    spread = (q3 - q1) / 1.349
    if not spread > 0:
        spread = float(v.std())
    width = DENSITY_BIN_SD * spread
    if not width > 0:
        return 0.0
    # Bins hold a whole number of the widest cell, starting half a cell below the smallest value,
    # so that on a grid every bin holds the same number of grid points (a bin narrower than a
    # cell, or holding 4 and 5 cells in turn, would misjudge the density by that ratio). On a grid
    # as coarse as a quarter sd each bin is one cell, and the count is exactly sum of p².
    widest = float(cells.max())
    if widest > width:
        # A cell wider than a bin is a coarse grid, unless only far outliers have it (float64's
        # own spacing at 1e20 is 16,384): their cells would make one bin of everything.
        bulk = (v >= q1 - BULK_SPREADS * spread) & (v <= q3 + BULK_SPREADS * spread)
        widest = float(cells[bulk].max())
    width = math.ceil(width / widest) * widest
    bins = np.floor((v - v[0] + widest / 2) / width).astype(np.int64)
    counts = np.bincount(bins).astype(float)
    cell_sum = np.bincount(bins, weights=cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cell = np.where(counts > 0, cell_sum / counts, 0.0)
    chance = float((counts * (counts - 1) * mean_cell).sum() / (total * (total - 1.0) * width))
    pairs = (total**2 - k * n**2) / 2.0
    return pairs * chance


#: Values sampled to look for ties before anything is sorted (rounding_cells).
TIE_PROBE = 1024


def rounding_cells(x: np.ndarray) -> np.ndarray | None:
    """Each value's rounding cell, shaped like the finite array ``x``, where its numbers are
    written on a grid coarser than float32's spacing (a rounded file: 1 decimal, halves); None
    where they are not (float64 or float32 output), and so cannot be read as intervals.

    Only data with ties among a sample of TIE_PROBE values are sorted to find their cells: a grid
    fine enough to leave no tie among a thousand values moves any share by well under 1/1000
    (a value is off its true place by half a cell), so it is read as exact."""
    if x.size < 2 or not _any_tie(x.ravel()):
        return None
    cells, kind = value_cells(x)
    return None if kind in ("float32", "continuous") else cells


def value_cells(x: np.ndarray) -> tuple[np.ndarray, str]:
    """resolution() of the finite array x's values, each cell in its value's place (shaped like
    x), and the kind of resolution."""
    sort = pooled(x)
    cells, kind = resolution(x, sort.sorted, sort.new_value)
    out = np.empty(x.size)
    out[sort.order] = cells
    return out.reshape(x.shape), kind


def _any_tie(flat: np.ndarray) -> bool:
    sample = np.sort(flat[:: max(1, flat.size // TIE_PROBE)])
    return bool((sample[1:] == sample[:-1]).any())

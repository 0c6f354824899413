"""AD, CvM, sd, skewness and kurtosis on rounded data: Monte Carlo p-values under the target
rounded to the data's grid.

A sample written on one regular grid of step h (a CSV to one decimal, whole numbers) is, under
the null, n iid draws from the target *rounded to that grid*: each grid point carries the
target's mass in its cell (gancheck.stats.grouped_ks builds those cells, ``_lattice``, and reads
the grid, ``regular_step``). Its cell counts are Multinomial(n, cell masses). The continuous
p-values of gancheck.stats.gof do not hold there (ties), so these forms keep the statistic's idea
and refer it to that discrete null:

* ``ad``, ``cvm``: the discrete Anderson-Darling A² and Cramér-von Mises W² of Choulakian,
  Lockhart & Stephens (1994), Canadian J. Statistics 22(1), 125-137, read at the cell ends. With
  p_j the cell masses, H_j = p_1 + ... + p_j the rounded target's CDF at the end of cell j,
  S_j the sample's cumulative count and Z_j = S_j - n H_j, and t_j = (p_j + p_(j+1)) / 2:
  W² = (1/n) Σ_j Z_j² t_j, A² = (1/n) Σ_(j<k) Z_j² t_j / (H_j (1 - H_j)) (the last cell, where
  H = 1 and Z = 0, left out; likewise any cell end where H (1 - H) is 0). These are the
  statistics of R's dgof::cvm.test (Arnold & Emerson 2011, R Journal 3(2)).
* ``mean``: the mean of the rounded values, with equal tails, where the exact law of their sum
  is too wide to convolve and Sheppard's z does not hold (gancheck.stats.rounded_mean).
* ``std``, ``skew``, ``kurtosis``: the sample sd (ddof = 1), g1 and g2 of the rounded values,
  reported as gof.std_test / skew_test / kurtosis_test report them (s minus the target's sd; g1
  and g2, less the target's skewness and excess kurtosis where it is not a normal), with the same
  two-sided rule: |g1| in its upper tail for a normal target; otherwise equal tails,
  min(1, 2 min(lower, upper)). Their null is the target rounded to the grid, so these rows
  test the target's own location and scale a little too (through how the grid cuts it); g1
  and g2 of rounded values move little with them (Sheppard 1898: rounding to h adds h²/12 to
  the variance and -h⁴/120 to the fourth cumulant).

The p-value is a Monte Carlo one (Barnard 1963; Davison & Hinkley 1997, Bootstrap Methods, ch. 4):
p = (1 + #{T_b >= t}) / (B + 1) over B null samples, each tail so for the equal-tailed tests.
That is a valid p-value at any B, and with ties (a discrete statistic) it only errs on the
conservative side. The null samples are Multinomial(n, masses) counts over the lattice drawn from
a numpy Generator seeded by the lattice and n, so the same file gives the same numbers; the
table is simulated once per (lattice, n) for the five tests together (one draw of the counts
serves all five) and cached, so judging 100 draws of one file simulates once. A null sample with every value in one cell is dropped: a constant row
never reaches these tests (scoring fails it or leaves it untested), so the reference is the null
given a non-constant sample.

A table costs time in proportion to cells x B (numpy draws a multinomial as one binomial per
cell, so n barely matters): measured 0.5 s for the 177 cells of N(4, 1.25) on one decimal, at
n = 500 as at n = 20,000 (B = 49,999), 1 to 2 s for the 1,761 cells of two decimals (B = 13,999).
B shrinks to keep cells x B within VALUE_BUDGET, down to MIN_REPLICATES; a lattice that would
need fewer (over 2,500 cells: a grid fine against the target's spread, such as N(4, 1.25) to
three decimals) gets no table, and the form returns a NaN p-value, which leaves the row at its
ties status rather than hold it up for many seconds.

A value in a cell where the target has no mass at all (a gamma's -0.5 written to one decimal)
cannot occur under the null: A² and W² are then infinite with p = 0, exactly, as
gof_target.ad answers a value outside the support.
"""
from __future__ import annotations

import functools
import math
import zlib

import numpy as np

from gancheck.stats import grouped_ks, monte_carlo
from gancheck.stats.targeting import Resolved

#: Null samples per table, where the lattice has few cells. The table is drawn once and then
#: serves every row of that grid and n, so its own error is shared by all of them (one file's
#: 100 draws): the rejection rate at alpha = 0.05 given the table differs from 0.05 by about
#: sqrt(0.05 · 0.95 / B), 0.001 at this B (gof's NULL_REPLICATES, for the same reason). At
#: B = 9,999 (sd 0.0022) eight seeds' tables for N(-0.02, 0.003) to 3 decimals, n = 500, gave
#: A² a rate of 0.0475 to 0.0515 against 400,000 fresh null samples, and one seed 0.0554.
#: B + 1 is a round number so that alpha (B + 1) is a whole count and the level exact.
NULL_REPLICATES = 49_999
#: Fewer replicates where the lattice has many cells, so that cells x B stays within this
#: budget (1 to 2 s a table: numpy draws a multinomial as one binomial per cell) ...
VALUE_BUDGET = 25_000_000
#: ... but never fewer than this (the table's own error at 0.05 then 0.0022, a third of the
#: binomial error of a 1,000-sample calibration check, 0.0069; B = 2,000 would leave 0.0049).
#: Where the budget would need fewer (more than 2,500 cells: a grid fine against the target's
#: spread, e.g. N(4, 1.25) to three decimals, 17,589 cells), no table is simulated: NaN p.
MIN_REPLICATES = 9_999
#: The most cells a table affords (VALUE_BUDGET at MIN_REPLICATES). Where the lattice between
#: the target's grouped_ks.TAIL quantiles has more, coarser tails join its end cells
#: (grouped_ks.fitting_tail).
MAX_TABLE_CELLS = VALUE_BUDGET // (MIN_REPLICATES + 1)
#: Fixed seed of the tables, combined with the lattice and n.
NULL_SEED = 1994_01_22
#: Multinomial counts drawn at a time (bounds memory: 2**21 cells of int64, 16 MiB).
CHUNK_CELLS = 2**21
#: A statistic computed from the sample and the same one computed from the same counts in the
#: table may differ in the last bits (another order of summation); null values within this
#: share of the observed one count as ties, which can only raise p (conservative).
TIE_SLACK = 1e-9

#: Each table's name and the statistic it sorts: A², W², the mean and the sd in grid steps, g1,
#: |g1|, g2.
TABLES = ("ad", "cvm", "mean", "std", "skew", "abs_skew", "kurtosis")


def grouped_ad(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(discrete A², Monte Carlo p) of the sorted ``row`` on its grid of step ``h``."""
    return _edf_form("ad", row, h, plan)


def grouped_cvm(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(discrete W², Monte Carlo p) of the sorted ``row`` on its grid of step ``h``."""
    return _edf_form("cvm", row, h, plan)


def grouped_mean(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(mean error, equal-tailed Monte Carlo p) of the rounded ``row`` (as gof_target.mean_test)."""
    return _moment_form("mean", row, h, plan)


def grouped_std(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(s - target sd, equal-tailed Monte Carlo p) of the rounded ``row`` (as gof.std_test)."""
    return _moment_form("std", row, h, plan)


def grouped_skew(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(g1 less the target's skewness, Monte Carlo p) of the rounded ``row``: |g1| in its upper
    tail for a normal target (as gof.skew_test), equal tails otherwise (gof_target)."""
    return _moment_form("skew", row, h, plan)


def grouped_kurtosis(row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    """(g2 less the target's excess kurtosis, equal-tailed Monte Carlo p) of the rounded ``row``
    (as gof.kurtosis_test and gof_target)."""
    return _moment_form("kurtosis", row, h, plan)


def _moment_form(name: str, row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    grid = _grid(row, h, plan)
    if grid is None:
        return math.nan, math.nan
    mean_steps, s_steps, g1, g2 = _row_moments(row, grid)
    observed = {"mean": mean_steps, "std": s_steps, "skew": g1, "kurtosis": g2}[name]
    # The mean is tested in grid steps from the lattice's middle, and reported as the plain
    # test reports it: the values' mean less the target's.
    statistic = float(row.mean() - plan.mean) if name == "mean" else _as_reported(name, observed, grid, plan)
    tables = null_tables(plan, *grid.key, row.size)
    if tables is None or not math.isfinite(observed):  # no table, or every value in one cell
        return statistic, math.nan
    if name == "skew" and plan.is_normal:
        return statistic, upper_p(tables["abs_skew"], abs(observed))
    return statistic, equal_tailed_p(tables[name], observed)


def _as_reported(name: str, observed: float, grid: _Grid, plan: Resolved) -> float:
    """The statistic as the plain test reports it: s (here in grid steps) less the target's sd;
    g1 and g2 less the target's skewness and excess kurtosis, which are 0 for a normal."""
    if name == "std":
        return observed * grid.h - plan.std
    if plan.is_normal:
        return observed
    return observed - float(plan.target.skewness if name == "skew" else plan.target.kurtosis)


# --- p-values from a sorted null table ------------------------------------------------------

def upper_p(table: np.ndarray, observed: float) -> float:
    """(1 + #{T_b >= t}) / (B + 1), null values within TIE_SLACK of t counted as ties."""
    return float(monte_carlo.upper_p(table, observed - TIE_SLACK * max(1.0, abs(observed))))


def lower_p(table: np.ndarray, observed: float) -> float:
    """(1 + #{T_b <= t}) / (B + 1), null values within TIE_SLACK of t counted as ties."""
    return float(monte_carlo.lower_p(table, observed + TIE_SLACK * max(1.0, abs(observed))))


def equal_tailed_p(table: np.ndarray, observed: float) -> float:
    """min(1, 2 min(lower, upper)), each tail with the slack above (monte_carlo.equal_tailed_p)."""
    return min(1.0, 2.0 * min(lower_p(table, observed), upper_p(table, observed)))


# --- the lattice and a row's place on it ----------------------------------------------------

class _Grid:
    """A row's grid: the lattice of grouped_ks (first cell's index, CDF at each cell's end),
    the step and phase it was built with (``key``), and each cell's mass."""

    __slots__ = ("first", "cumulative", "masses", "h", "phase")

    def __init__(self, first: int, cumulative: np.ndarray, h: float, phase: float):
        self.first, self.cumulative, self.h, self.phase = first, cumulative, h, phase
        self.masses = np.diff(cumulative, prepend=0.0)

    @property
    def key(self) -> tuple[float, float]:
        return self.h, self.phase

    def indices(self, row: np.ndarray) -> np.ndarray:
        """Each value's cell index on the lattice (unclipped: beyond it, below 0 or past the end)."""
        return np.round(row / self.h - self.phase).astype(np.int64) - self.first


def _grid(row: np.ndarray, h: float, plan: Resolved) -> _Grid | None:
    """The row's lattice, as its null table is built on (grouped_ks's phase and step rounding,
    the tails table_tail joins); None where it would be too big."""
    step, phase = grouped_ks.grid_key(row[0], h)
    lattice = grouped_ks._lattice(plan, step, phase, table_tail(plan, step, row.size))
    if lattice is None:
        return None
    first, cumulative = lattice
    return _Grid(first, cumulative, step, phase)


def table_tail(plan: Resolved, h: float, n: int) -> float:
    """The target's mass on each side that joins the end cells of a table's lattice for n
    values on a grid of step h (grouped_ks.fitting_tail, within MAX_TABLE_CELLS)."""
    return grouped_ks.fitting_tail(plan, h, n, MAX_TABLE_CELLS)


def _row_counts(row: np.ndarray, grid: _Grid, plan: Resolved) -> np.ndarray | None:
    """The row's count in each lattice cell, a value beyond the lattice in the end cell that
    holds that tail (as grouped_ks counts it); None where some value lies in a cell the target
    gives no mass (impossible under the null)."""
    size = grid.cumulative.size
    index = grid.indices(row)
    if grouped_ks.impossible(row, index, grid.h, grid.cumulative, plan):
        return None
    return np.bincount(np.clip(index, 0, size - 1), minlength=size)[None, :]


def _row_moments(row: np.ndarray, grid: _Grid) -> tuple[float, float, float, float]:
    """(mean and s in grid steps, g1, g2) of the row's values as grid points, by the function the table
    uses (moments) on the same points (steps from the lattice's middle cell), so that equal
    samples give equal statistics up to summation order."""
    index, counts = np.unique(grid.indices(row), return_counts=True)
    mean, s, g1, g2 = moments(_centred(index, grid), counts[None, :], row.size)
    return float(mean[0]), float(s[0]), float(g1[0]), float(g2[0])


def _centred(index: np.ndarray, grid: _Grid) -> np.ndarray:
    """Lattice cells as grid steps from its middle cell: small numbers whatever the target's
    location (1e9 written to one decimal stays exact)."""
    return (index - grid.cumulative.size // 2).astype(float)


# --- the statistics, on counts: one row of ``counts`` per sample ----------------------------

def edf_statistics(counts: np.ndarray, cumulative: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(A², W²) of Choulakian, Lockhart & Stephens (1994) for samples of n values given as cell
    counts (one row each, over cells with CDF ``cumulative`` at their ends; see the module
    docstring)."""
    masses = np.diff(cumulative, prepend=0.0)
    t = (masses + np.roll(masses, -1)) / 2.0  # t_j = (p_j + p_(j+1)) / 2, p_(k+1) = p_1
    spread = cumulative * (1.0 - cumulative)
    # The last cell (H = 1) and any cell end where H (1 - H) is 0 carry no A² term.
    ad_weights = np.zeros_like(t)
    inner = spread[:-1] > 0
    ad_weights[:-1][inner] = t[:-1][inner] / spread[:-1][inner]
    z = np.cumsum(counts, axis=1, dtype=float)
    z -= n * cumulative
    z *= z
    a2, w2 = (z @ np.stack([ad_weights, t], axis=1)).T / n
    return a2, w2


def moments(points: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """(mean, s with ddof = 1, g1, g2) of samples given as counts (one row each) at ``points``;
    NaN g1 and g2 for a sample whose values are all equal."""
    # Central moments from each sample's deviations about its own mean (two passes). Raw power
    # sums about a fixed point lose digits when the sample's mean is far from it: up to 1,250
    # steps from the lattice's middle, g2 was off by 0.1 at n = 20, and the sample and its null
    # table, centred apart, disagreed beyond TIE_SLACK.
    mean = counts @ points / n
    deviation = points[None, :] - mean[:, None]
    square = deviation * deviation
    m2 = np.einsum("ij,ij->i", counts, square) / n
    m3 = np.einsum("ij,ij->i", counts, square * deviation) / n
    m4 = np.einsum("ij,ij->i", counts, square * square) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = m3 / m2**1.5
        g2 = m4 / (m2 * m2) - 3.0
    return mean, np.sqrt(m2 * (n / (n - 1.0))), g1, g2


# --- the simulated null ---------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def null_tables(plan: Resolved, h: float, phase: float, n: int) -> dict[str, np.ndarray] | None:
    """Sorted null values of every statistic of TABLES for n values of ``plan``'s target rounded
    to the grid (k + phase)·h: null_replicates(cells) multinomial samples, less those in one
    cell. None where the lattice is over the budget (or too big to build)."""
    lattice = grouped_ks._lattice(plan, h, phase, table_tail(plan, h, n))
    replicates = None if lattice is None else null_replicates(lattice[1].size)
    if replicates is None:
        return None
    first, cumulative = lattice
    grid = _Grid(first, cumulative, h, phase)
    points = _centred(np.arange(cumulative.size), grid)
    rng = np.random.default_rng(null_seed(first, cumulative, n))
    chunk = max(1, CHUNK_CELLS // cumulative.size)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in TABLES}
    for start in range(0, replicates, chunk):
        counts = rng.multinomial(n, grid.masses, size=min(chunk, replicates - start))
        counts = counts[(counts < n).all(axis=1)]  # a sample in one cell is constant: dropped
        a2, w2 = edf_statistics(counts, cumulative, n)
        mean, s, g1, g2 = moments(points, counts, n)
        for name, values in zip(TABLES, (a2, w2, mean, s, g1, np.abs(g1), g2)):
            parts[name].append(values)
    tables = {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}
    if tables["ad"].size < MIN_REPLICATES:
        # Most null samples were constant (a grid far coarser than the target's sd): too few
        # are left for a p-value (none at all gave p = 1, a pass, for 7 fours and a five against
        # N(4, 0.1)). The row keeps its ties status instead.
        return None
    for table in tables.values():
        table.setflags(write=False)  # shared through the cache
    return tables


def null_replicates(cells: int) -> int | None:
    """B for a lattice of ``cells`` cells: NULL_REPLICATES, fewer where cells x B would pass
    VALUE_BUDGET (B + 1 kept a multiple of 1,000), None below MIN_REPLICATES."""
    affordable = min(NULL_REPLICATES + 1, VALUE_BUDGET // max(cells, 1)) // 1000 * 1000 - 1
    return affordable if affordable >= MIN_REPLICATES else None


def null_seed(first: int, cumulative: np.ndarray, n: int) -> list[int]:
    """The tables' seed: NULL_SEED, n and a CRC of the lattice (crc32, not hash(): Python salts
    hashes per process, and a file's numbers must not change from run to run)."""
    lattice = np.int64(first).tobytes() + np.ascontiguousarray(cumulative, dtype=np.float64).tobytes()
    return [NULL_SEED, int(n), zlib.crc32(lattice)]


def _edf_form(name: str, row: np.ndarray, h: float, plan: Resolved) -> tuple[float, float]:
    grid = _grid(row, h, plan)
    if grid is None:
        return math.nan, math.nan
    counts = _row_counts(row, grid, plan)
    if counts is None:
        return math.inf, 0.0  # a value the rounded target cannot give: P = 0 under the null
    a2, w2 = edf_statistics(counts, grid.cumulative, row.size)
    observed = float((a2 if name == "ad" else w2)[0])
    tables = null_tables(plan, *grid.key, row.size)
    if tables is None:
        return observed, math.nan
    return observed, upper_p(tables[name], observed)

"""diversity(): do K noise draws of one generator look like K independent samples of one law?

Null hypothesis: the (K, n) draws are K independent samples of n iid values from ONE continuous
distribution, of any location, scale or shape. Then all N = n·K values are exchangeable, so their
ranks are a uniformly random permutation of 1..N whatever the distribution. The rank tests'
p-values are referred to a null simulated once per (K, n) by permuting ranks, so they are
distribution-free: a monotone transform of the data (N(4, 0.6), N(100, 50), t(3), U(0, 1) ...)
leaves them unchanged.

Three components:

================== =============================================================== ===========
component          statistic                                                        tail
================== =============================================================== ===========
fixed coordinates  Kruskal-Wallis H on all N ranks, coordinates as groups, draws    upper
                   as replicates (part of each coordinate is the same in every draw);
                   null simulated once per (K, n) by permuting ranks, cached
reused values      cross-draw pairs of equal values over their chance count at the   upper
                   data's resolution (gancheck.stats.repeats), Poisson at the
                   tolerance's ratio
heterogeneity      Kruskal-Wallis H on all N ranks, draws as groups (the draws come  upper
                   from different distributions, e.g. each draw's level moves)
================== =============================================================== ===========

Effect sizes:
- fixed_share: ICC(1) = (MSB - MSW) / (MSB + (K - 1) MSW) of the one-way layout with coordinates
  as groups (Shrout & Fleiss 1979, ICC(1,1); McGraw & Wong 1996, ICC(1)): the share of the output's
  variance that is fixed per coordinate; 0 for independent draws, 1 for a fixed vector. Its 95% CI
  is the F-based one of the same papers. Neither is clipped: small negative values are noise.
- reuse_share: the share of values equal to a value in another draw (descriptive).
- draw_share: ICC(1) with draws as groups: the share of variance that moves with the draw.

Memorisation is decided against the tolerance (gancheck.stats.tolerance), not against zero, so
the verdict does not tighten as K grows:
- memorised_pvalue: H0 "fixed share <= tolerance.fixed_share", from F = MSB / MSW, which under
  ICC = rho is (1 + (K - 1) rho) / (1 - rho) times an F(n - 1, n(K - 1)) variable (McGraw & Wong
  1996); collapse_pvalue: the same at tolerance.collapse; fixed_within_pvalue: H0 "fixed share
  >= tolerance.fixed_share" (small: shown below it).
- values_pvalue: H0 "repeats <= tolerance.repeats times chance" (gancheck.stats.repeats). Exact
  repeats are counted at the data's own resolution, so a rounded file is not a memorised pool.
- diversity's own flags (the verdict spends its own alpha budget on the same p-values):
  collapsed = collapse_pvalue < alpha / 2; memorised = not collapsed and (memorised_pvalue <
  alpha / 2 or values_pvalue < alpha / 2). Bonferroni over the two memorisation components.
- heterogeneous = heterogeneity_pvalue < alpha.
- pvalue: against the whole null, Bonferroni over the three components: min(1, 3 min(p)).

The rank tests are distribution-free (a monotone transform of the data leaves their p-values
unchanged) and tie-corrected; the F statistic of the fixed share is exact for normal data and
conservative for the others at a fixed share of 0, far below the tolerance it is tested at.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from gancheck import targets
from gancheck.stats import gof, monte_carlo, table_cache, targeting
from gancheck.stats.repeats import Pooled, pooled, repeats
from gancheck.stats.tolerance import Tolerance, as_tolerance

#: The memorisation rule in words, for reports and CLIs (the code below is its only definition).
COLLAPSE_RULE = (
    "A generator is collapsed when the share of its output's variance that is fixed per "
    "coordinate across noise draws (intraclass correlation) is shown above the tolerance's "
    "collapse share, and memorised when that share is shown above the tolerance's fixed share, or "
    "when values repeat exactly across draws more than the tolerance's ratio times what the data's "
    "resolution (float32 spacing or the grid of a rounded file) gives by chance. Each is a "
    "one-sided test against the tolerance, not against zero, so more draws do not turn a "
    "negligible memorised share into a collapse; a generator that is merely too narrow is not "
    "collapsed (that is the sd band's job).")
#: Smallest number of values per draw: Kruskal–Wallis with coordinates as groups needs n >= 2.
MIN_VALUES = 2
MIN_DRAWS = 2
#: Null replicates per (K, n): NULL_REPLICATES, fewer when K·n is large so that a table costs at
#: most NULL_VALUE_BUDGET permuted values per statistic (about 1 s at K = 100, n = 500, where
#: R = 399). (1 + #)/(1 + R) is a valid Monte Carlo p-value at any R (Davison & Hinkley 1997,
#: ch. 4); R + 1 is kept a multiple of 100 so alpha·(R + 1) is an integer at alpha = 0.05, 0.025.
NULL_REPLICATES = 9_999
NULL_VALUE_BUDGET = 20_000_000
MIN_NULL_REPLICATES = 199
NULL_SEED = 1979_03_01

COMPONENTS = ("fixed_coordinates", "reused_values", "heterogeneity")


@dataclass(frozen=True)
class DiversityResult:
    """Verdict on K draws of one generator; see the module docstring for every field's meaning."""

    collapsed: bool
    fixed_share: float
    fixed_share_low: float
    fixed_share_high: float
    pvalue: float
    heterogeneous: bool
    spread_ratio: float
    reuse_share: float
    draw_share: float
    coordinates_statistic: float  # Kruskal–Wallis H, coordinates as groups
    coordinates_pvalue: float
    values_statistic: float  # cross-draw repeats over their chance count (gancheck.stats.repeats)
    values_pvalue: float
    heterogeneity_statistic: float  # Kruskal–Wallis H, draws as groups
    heterogeneity_pvalue: float
    status: str
    k: int
    n: int
    memorised: bool = False
    memorised_pvalue: float = float("nan")  # H0: fixed share <= tolerance.fixed_share
    collapse_pvalue: float = float("nan")  # H0: fixed share <= tolerance.collapse
    fixed_within_pvalue: float = float("nan")  # H0: fixed share >= tolerance.fixed_share
    repeats_count: int = 0
    repeats_expected: float = float("nan")
    resolution: str = ""
    alpha: float = 0.05

    def rows(self, tests, row) -> list[dict]:
        """One judge row per diversity test, built by ``row(test, **fields)``: the status alone
        where the draws could not be judged, else the test's effect, p-value and decision."""
        if self.status != gof.OK:
            return [row(test, status=self.status) for test in tests]
        out = []
        for test in tests:
            effect, pvalue, reject = self.component(test.name)
            out.append(row(test, statistic=effect, pvalue=pvalue, reject=reject))
        return out

    def component(self, name: str) -> tuple[float, float, bool]:
        """(effect size, p-value, reject) of one component, as judge() reports it: the rank tests'
        p-values against no memorisation at all, reject when p < alpha / 2 (memorisation) or
        alpha (heterogeneity); the repeats' p-value against the tolerance's ratio."""
        alpha_half = self.alpha / 2
        if name == "fixed_coordinates":
            return self.fixed_share, self.coordinates_pvalue, bool(self.coordinates_pvalue < alpha_half)
        if name == "reused_values":
            return self.values_statistic, self.values_pvalue, bool(self.values_pvalue < alpha_half)
        if name == "heterogeneity":
            return self.draw_share, self.heterogeneity_pvalue, self.heterogeneous
        raise ValueError(f"component must be one of {COMPONENTS}, got {name!r}")


@dataclass(frozen=True)
class DiversityNull:
    """Sorted null draws of the three statistics at (K, n) (read-only arrays)."""

    k: int
    n: int
    coordinates: np.ndarray  # H, coordinates as groups
    heterogeneity: np.ndarray  # H, draws as groups


def diversity(draws, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05,
              tolerance: Tolerance | None = None, target=None) -> DiversityResult:
    """Test a (K, n) array of K noise draws of one generator for memorisation and heterogeneity.

    ``mean`` and ``std`` do not enter any test (the null is "any continuous distribution"); ``std``
    only scales the descriptive spread_ratio (mean over coordinates of the sd across draws, ddof=1,
    divided by std, or by the sd of ``target`` when one is given; mean and std other than their
    defaults are then refused). ``tolerance`` (default Tolerance()) sets the memorisation bands. Input that
    cannot be tested (not 2-D, K < 2, n < 2, non-finite, huge or all equal values) gets a status
    saying why, NaN statistics and collapsed=True, so a broken generator never passes. Raises
    ValueError for malformed arguments or non-numeric draws (None included).
    """
    if draws is None:  # numpy would make it a 0-d object array, which has no rows to count
        raise ValueError("draws must hold real numbers, got None")
    targets.refuse_mean_std_beside(target=target, mean=mean, std=std)
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    if target is not None:
        std = targeting.resolve(target, mean=mean, std=std).std
    tolerance = as_tolerance(tolerance)
    x, status = _as_draws(draws)
    if status != gof.OK:
        return _undecided(status, *x.shape, alpha=alpha)
    k, n = x.shape
    null = diversity_null(k, n)
    pool = pooled(x)  # one sort of the N values serves the ranks, the ties and the repeats
    ranks = _ranks(pool).reshape(k, n)
    ties = _tie_correction(pool.counts)
    h_coordinates = _kruskal_h(ranks.sum(axis=0), k, k * n) / ties
    h_draws = _kruskal_h(ranks.sum(axis=1), n, k * n) / ties
    p_coordinates = float(monte_carlo.upper_p(null.coordinates, h_coordinates))
    p_draws = float(monte_carlo.upper_p(null.heterogeneity, h_draws))
    fixed, low, high, f0 = _icc(x, alpha_ci=0.05)
    draw_share = _icc(x.T, alpha_ci=None)[0]
    p_memorised = _icc_pvalue(f0, tolerance.fixed_share, k, n)
    p_collapse = _icc_pvalue(f0, tolerance.collapse, k, n)
    p_fixed_within = 1.0 - p_memorised if np.isfinite(f0) else 0.0
    found = repeats(x, ratio=tolerance.repeats, pooled_values=pool)  # float32 values stay exact in float64
    collapsed = bool(p_collapse < alpha / 2)
    memorised = bool(not collapsed and (p_memorised < alpha / 2 or found.pvalue < alpha / 2))
    return DiversityResult(
        collapsed=collapsed, fixed_share=fixed, fixed_share_low=low, fixed_share_high=high,
        pvalue=float(min(1.0, 3 * min(p_coordinates, found.pvalue, p_draws))),
        heterogeneous=bool(p_draws < alpha), spread_ratio=float(x.std(axis=0, ddof=1).mean() / std),
        reuse_share=found.share, draw_share=draw_share,
        coordinates_statistic=float(h_coordinates), coordinates_pvalue=float(p_coordinates),
        values_statistic=found.ratio, values_pvalue=found.pvalue,
        heterogeneity_statistic=float(h_draws), heterogeneity_pvalue=float(p_draws),
        status=gof.OK, k=k, n=n, memorised=memorised, memorised_pvalue=p_memorised,
        collapse_pvalue=p_collapse, fixed_within_pvalue=float(p_fixed_within),
        repeats_count=found.count, repeats_expected=found.expected, resolution=found.resolution,
        alpha=alpha)


def _icc_pvalue(f0: float, rho: float, k: int, n: int) -> float:
    """P(F >= f0) when the fixed share is rho: F / ((1 + (K-1) rho) / (1 - rho)) ~ F(n-1, n(K-1))."""
    if not np.isfinite(f0):
        return 0.0  # every coordinate constant across draws: all variance fixed
    return float(stats.f.sf(f0 * (1 - rho) / (1 + (k - 1) * rho), n - 1, n * (k - 1)))


def _as_draws(draws) -> tuple[np.ndarray, str]:
    """(float array, status): status is OK or why the draws cannot be tested."""
    try:
        x = np.asarray(draws)
    except ValueError:  # draws of different lengths
        return np.empty((len(draws), 0)), gof.NOT_2D
    if x.dtype == object:
        try:
            x = x.astype(float)  # numbers held as Python objects (Decimal, Fraction), as score takes them
        except (ValueError, TypeError):  # rows of different lengths, or not numbers at all
            return np.empty((len(x), 0)), gof.NOT_2D
    if x.dtype.kind not in "biuf":
        raise ValueError(f"draws must hold real numbers, got dtype {x.dtype}")
    if x.ndim != 2:
        shape = (x.shape[0], int(np.prod(x.shape[1:]))) if x.ndim else (0, 0)
        return np.empty(shape), gof.NOT_2D
    k, n = x.shape
    if k < MIN_DRAWS:
        return x, gof.TOO_FEW_DRAWS
    if n < MIN_VALUES:
        return x, gof.TOO_FEW
    x = x.astype(float, copy=False)
    if not np.isfinite(x).all():
        return x, gof.NON_FINITE
    if np.abs(x).max() > gof.MAX_ABS:
        return x, gof.TOO_LARGE
    if (x == x.flat[0]).all():
        return x, gof.CONSTANT
    return x, gof.OK


def _undecided(status: str, k: int, n: int, *, alpha: float) -> DiversityResult:
    """Untestable draws: counted as collapsed, so a broken generator never passes."""
    nan = float("nan")
    return DiversityResult(True, nan, nan, nan, nan, False, nan, nan, nan, nan, nan, nan, nan, nan, nan,
                           status, k, n, alpha=alpha)


def _kruskal_h(group_sums: np.ndarray, size: int, total: int) -> np.ndarray:
    """Kruskal–Wallis H from rank sums of equal-size groups (last axis), without tie correction."""
    return 12.0 / (total * (total + 1.0)) * (group_sums**2).sum(axis=-1) / size - 3.0 * (total + 1.0)


def _ranks(pool: Pooled) -> np.ndarray:
    """Mid-ranks of the pooled values in their original (flat) order: the array
    scipy.stats.rankdata(x, axis=None) returns, built as it builds it (the first position of each
    run of equal values, 1-based, plus (run length - 1) / 2), from the sort already made."""
    first = np.flatnonzero(pool.new_value) + 1
    run_rank = first.astype(float) + (pool.counts.astype(float) - 1) / 2
    ranks = np.empty(pool.order.size)
    ranks[pool.order] = np.repeat(run_rank, pool.counts)
    return ranks


def _tie_correction(counts: np.ndarray) -> float:
    """1 - Σ(t³ - t) / (N³ - N) over groups of tied values (Kruskal & Wallis 1952); ``counts``:
    the size of each group (pooled().counts), N their sum."""
    total = float(counts.sum())
    if total**3 < 2.0**53:
        # Every term and partial sum is then an integer below 2^53, so exact in any order: the
        # untied groups (t = 1, a term of 0) can be left out, which is most of them.
        counts = counts[counts > 1]
    return 1.0 - float(((counts.astype(float) ** 3) - counts).sum()) / (total**3 - total)


def _icc(x: np.ndarray, *, alpha_ci: float | None) -> tuple[float, float, float, float]:
    """ICC(1) of the one-way layout with columns as groups and rows as replicates, its CI, and F.

    McGraw & Wong (1996), case 1: F = MSB / MSW on (g - 1, g(r - 1)) df; the CI maps
    F / F_crit and F · F_crit' through (F - 1) / (F + r - 1).
    """
    r, g = x.shape
    z = x - x.mean()
    z = z / np.abs(z).max()  # ICC is scale-free; unit scale keeps the squares in range
    column_means = z.mean(axis=0)
    msb = r * float((column_means**2).sum()) / (g - 1)  # overall mean of z is 0
    msw = float(((z - column_means) ** 2).sum()) / (g * (r - 1))
    if msw == 0.0:  # every column constant: all variance is fixed
        return 1.0, 1.0, 1.0, float("inf")
    f0 = msb / msw
    icc = (msb - msw) / (msb + (r - 1) * msw)
    if alpha_ci is None:
        return float(icc), float("nan"), float("nan"), float(f0)
    df1, df2 = g - 1, g * (r - 1)
    f_low = f0 / _f_quantile(1 - alpha_ci / 2, df1, df2)
    f_high = f0 * _f_quantile(1 - alpha_ci / 2, df2, df1)
    return (float(icc), float((f_low - 1) / (f_low + r - 1)), float((f_high - 1) / (f_high + r - 1)),
            float(f0))


@functools.lru_cache(maxsize=64)
def _f_quantile(q: float, dfn: int, dfd: int) -> float:
    """stats.f.ppf, cached: every generator judged at one (K, n) asks the same two."""
    return stats.f.ppf(q, dfn, dfd)


def null_replicates(k: int, n: int) -> int:
    """R for the null tables at (K, n): NULL_REPLICATES, fewer when K·n is large."""
    r = int(np.clip(NULL_VALUE_BUDGET // (k * n), MIN_NULL_REPLICATES, NULL_REPLICATES))
    return (r + 1) // 100 * 100 - 1 if r >= 199 else r


@functools.lru_cache(maxsize=8)
def diversity_null(k: int, n: int, replicates: int | None = None, seed: int = NULL_SEED) -> DiversityNull:
    """Null draws of the two rank statistics at (K, n), simulated once by permuting ranks, cached.

    Under the null the rank matrix is a uniformly random arrangement of 1..N, whatever the
    distribution. The statistics are computed by the same functions that judge the data.
    """
    replicates = null_replicates(k, n) if replicates is None else replicates
    # Kept on disk too (table_cache): every worker process of a run would otherwise simulate it.
    tables = table_cache.cached_tables("diversity_null", dict(k=k, n=n, replicates=replicates, seed=seed),
                                       [__file__], ("coordinates", "heterogeneity"), replicates,
                                       lambda: _simulate_diversity_null(k, n, replicates, seed))
    return DiversityNull(k=k, n=n, **tables)


def _simulate_diversity_null(k: int, n: int, replicates: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, k, n])
    total = k * n
    chunk = max(1, 2**20 // total)
    ranks = np.arange(1, total + 1, dtype=float)
    coordinates, heterogeneity = [], []
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        r = rng.permuted(np.tile(ranks, (size, 1)), axis=1).reshape(size, k, n)
        coordinates.append(_kruskal_h(r.sum(axis=1), k, total))
        heterogeneity.append(_kruskal_h(r.sum(axis=2), n, total))
    return {"coordinates": np.sort(np.concatenate(coordinates)),
            "heterogeneity": np.sort(np.concatenate(heterogeneity))}

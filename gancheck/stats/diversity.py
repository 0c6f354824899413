"""diversity(): do K noise draws of one generator look like K independent samples of one law?

Null hypothesis: the (K, n) draws are K independent samples of n iid values from ONE continuous
distribution, of any location, scale or shape. Then all N = n·K values are exchangeable, so their
ranks are a uniformly random permutation of 1..N whatever the distribution. Every p-value here is
computed from ranks (or from the order of values within pairs of draws) and referred to a null
simulated once per (K, n) by permuting ranks, so it is distribution-free: a monotone transform of
the data (N(4, 0.6), N(100, 50), t(3), U(0, 1) ...) leaves every p-value unchanged.

Three components, each with its own p-value:

================== =============================================================== ===========
component          statistic (null simulated once per (K, n), cached)               tail
================== =============================================================== ===========
fixed coordinates  Kruskal–Wallis H on all N ranks, coordinates as groups, draws    upper
                   as replicates (part of each coordinate is the same in every draw)
reused values      mean two-sample Cramér–von Mises T over the K // 2 disjoint       lower
                   pairs of draws (0, 1), (2, 3), ... (every draw reuses the same
                   values, reordered)
heterogeneity      Kruskal–Wallis H on all N ranks, draws as groups (the draws come  upper
                   from different distributions, e.g. each draw's level moves)
================== =============================================================== ===========

Effect sizes (descriptive, computed on the raw values):
- fixed_share: ICC(1) = (MSB - MSW) / (MSB + (K - 1) MSW) of the one-way layout with coordinates
  as groups (Shrout & Fleiss 1979, ICC(1,1); McGraw & Wong 1996, ICC(1)): the share of the output's
  variance that is fixed per coordinate; 0 for independent draws, 1 for a fixed vector. The 95% CI
  is the F-based one of the same papers (exact for normal data, approximate otherwise). Neither the
  estimate nor the CI is clipped: small negative values are noise around 0.
- reuse_share: 1 - sqrt(mean T / its null mean), a distance ratio: 0 for independent draws, 1
  when every pair of draws holds the same values. (If a share s of each draw's values is reused,
  the ECDF gaps shrink by about (1 - s)^1.5, so reuse_share is about 1 - (1 - s)^1.5.)
  Cramér–von Mises rather than KS D: D takes few values at small n, and its lumpy null gave
  p-values far from uniform (K = 10, n = 50); T sums squared gaps over all 2n points.
- draw_share: ICC(1) with draws as groups: the share of variance that moves with the draw.

Decision rule (stated once, here):
- collapsed = memorisation that is significant AND material:
  (coordinates_pvalue < alpha / 2 and fixed_share >= MATERIAL_FIXED_SHARE) or
  (values_pvalue < alpha / 2 and reuse_share >= MATERIAL_REUSE_SHARE).
  Bonferroni over the two memorisation components keeps the false-flag rate <= alpha; materiality
  keeps a tiny but detectable (at K = 100, n = 500) memorised share from counting as a collapse.
- heterogeneous = heterogeneity_pvalue < alpha (no materiality rule: it is reported, not an
  outcome of its own).
- pvalue: against the whole null, Bonferroni over the three components: min(1, 3 min(p)).

A too-narrow or too-wide but independent generator is none of these (the std test's job).
Data with ties (rounded values) break the "continuous" assumption: ties shrink T between pairs, so
heavily rounded draws can look like reused values. Generator output (float32) has only the odd
chance tie, which is harmless here.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import stats

from gancheck.stats import gof

#: A memorised share counts as a collapse from here: a quarter of the output's variance (or of its
#: values) is the same in every draw. Fixed shares of 0.5 and above are estimated at 0.5 +- 0.01
#: at K = 100, n = 500, so they clear it with room to spare.
MATERIAL_FIXED_SHARE = 0.25
MATERIAL_REUSE_SHARE = 0.25
#: The collapse rule in words, for reports and CLIs (the code below is its only definition).
COLLAPSE_RULE = (
    f"A generator is collapsed when its noise draws share memorised output that is both "
    f"significant and material: coordinates fixed across draws (Kruskal-Wallis over coordinates, "
    f"p < alpha/2) making up at least {MATERIAL_FIXED_SHARE:.0%} of the output's variance "
    f"(intraclass correlation), or values reused across draws in another order (Cramér-von Mises "
    f"between pairs of draws too alike, p < alpha/2) with a reuse share of at least "
    f"{MATERIAL_REUSE_SHARE:.0%}. Each p-value is distribution-free (ranks against a null "
    f"simulated for the run's K and n), so the rule does not depend on the target's location or "
    f"scale, and a generator that is merely too narrow is not collapsed: that is the std test's job.")
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
    values_statistic: float  # mean two-sample Cramér–von Mises T over disjoint pairs of draws
    values_pvalue: float
    heterogeneity_statistic: float  # Kruskal–Wallis H, draws as groups
    heterogeneity_pvalue: float
    status: str
    k: int
    n: int

    def component(self, name: str) -> tuple[float, float, bool]:
        """(effect size, p-value, reject) of one component, as judge() reports it."""
        alpha_half = self.alpha / 2
        if name == "fixed_coordinates":
            return self.fixed_share, self.coordinates_pvalue, bool(
                self.coordinates_pvalue < alpha_half and self.fixed_share >= MATERIAL_FIXED_SHARE)
        if name == "reused_values":
            return self.reuse_share, self.values_pvalue, bool(
                self.values_pvalue < alpha_half and self.reuse_share >= MATERIAL_REUSE_SHARE)
        if name == "heterogeneity":
            return self.draw_share, self.heterogeneity_pvalue, self.heterogeneous
        raise ValueError(f"component must be one of {COMPONENTS}, got {name!r}")

    alpha: float = 0.05


@dataclass(frozen=True)
class DiversityNull:
    """Sorted null draws of the three statistics at (K, n) (read-only arrays)."""

    k: int
    n: int
    coordinates: np.ndarray  # H, coordinates as groups
    heterogeneity: np.ndarray  # H, draws as groups
    pair_sums: np.ndarray  # Σ over the K // 2 pairs of Σ (n·ECDF gap)² (integers)


def diversity(draws, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05) -> DiversityResult:
    """Test a (K, n) array of K noise draws of one generator for memorisation and heterogeneity.

    ``mean`` and ``std`` do not enter any test (the null is "any continuous distribution"); ``std``
    only scales the descriptive spread_ratio (mean over coordinates of the sd across draws, ddof=1,
    divided by std). Input that cannot be tested (not 2-D, K < 2, n < 2, non-finite, huge or all
    equal values) gets a status saying why, NaN statistics and collapsed=True, so a broken
    generator never passes. Raises ValueError for malformed arguments or non-numeric draws.
    """
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    x, status = _as_draws(draws)
    if status != gof.OK:
        return _undecided(status, *x.shape, alpha=alpha)
    k, n = x.shape
    null = diversity_null(k, n)
    ranks = stats.rankdata(x, axis=None).reshape(k, n)
    ties = _tie_correction(x)
    h_coordinates = _kruskal_h(ranks.sum(axis=0), k, k * n) / ties
    h_draws = _kruskal_h(ranks.sum(axis=1), n, k * n) / ties
    pair_sum = int(_pair_distances(x).sum())
    p_coordinates = _upper_p(null.coordinates, h_coordinates)
    p_draws = _upper_p(null.heterogeneity, h_draws)
    p_values = (1.0 + np.searchsorted(null.pair_sums, pair_sum, side="right")) / (1.0 + null.pair_sums.size)
    fixed, low, high = _icc(x, alpha_ci=0.05)
    draw_share = _icc(x.T, alpha_ci=None)[0]
    reuse = 1.0 - np.sqrt(pair_sum / null.pair_sums.mean())
    collapsed = bool((p_coordinates < alpha / 2 and fixed >= MATERIAL_FIXED_SHARE)
                     or (p_values < alpha / 2 and reuse >= MATERIAL_REUSE_SHARE))
    return DiversityResult(
        collapsed=collapsed, fixed_share=fixed, fixed_share_low=low, fixed_share_high=high,
        pvalue=float(min(1.0, 3 * min(p_coordinates, p_values, p_draws))),
        heterogeneous=bool(p_draws < alpha), spread_ratio=float(x.std(axis=0, ddof=1).mean() / std),
        reuse_share=float(reuse), draw_share=draw_share,
        coordinates_statistic=float(h_coordinates), coordinates_pvalue=float(p_coordinates),
        values_statistic=pair_sum / (4.0 * n * n * (k // 2)), values_pvalue=float(p_values),
        heterogeneity_statistic=float(h_draws), heterogeneity_pvalue=float(p_draws),
        status=gof.OK, k=k, n=n, alpha=alpha)


def _as_draws(draws) -> tuple[np.ndarray, str]:
    """(float array, status): status is OK or why the draws cannot be tested."""
    try:
        x = np.asarray(draws)
    except ValueError:  # draws of different lengths
        return np.empty((len(draws), 0)), gof.NOT_2D
    if x.dtype == object:
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
                           status, k, n, alpha)


def _kruskal_h(group_sums: np.ndarray, size: int, total: int) -> np.ndarray:
    """Kruskal–Wallis H from rank sums of equal-size groups (last axis), without tie correction."""
    return 12.0 / (total * (total + 1.0)) * (group_sums**2).sum(axis=-1) / size - 3.0 * (total + 1.0)


def _tie_correction(x: np.ndarray) -> float:
    """1 - Σ(t³ - t) / (N³ - N) over groups of tied values (Kruskal & Wallis 1952)."""
    _, counts = np.unique(x, return_counts=True)
    total = float(x.size)
    return 1.0 - float(((counts.astype(float) ** 3) - counts).sum()) / (total**3 - total)


def _pair_distances(x: np.ndarray) -> np.ndarray:
    """Σ (n·(F_a - F_b))² over the 2n pooled values, for the disjoint pairs (0, 1), (2, 3), ...

    An integer; divided by 4n² it is the two-sample Cramér–von Mises T of Anderson (1962),
    T = nm/(n + m)² Σ (F_a - F_b)², as scipy.stats.cramervonmises_2samp reports it.
    """
    k, n = x.shape
    pairs = x[: 2 * (k // 2)].reshape(k // 2, 2 * n)  # rows 2i and 2i + 1 side by side
    order = np.argsort(pairs, axis=1, kind="stable")
    values = np.take_along_axis(pairs, order, axis=1)
    steps = np.where(order < n, 1, -1)
    gap = np.abs(np.cumsum(steps, axis=1))
    # Compare the two ECDFs only where both have taken all of a tied value's copies.
    last_of_value = np.ones_like(gap, dtype=bool)
    last_of_value[:, :-1] = values[:, 1:] != values[:, :-1]
    return (np.where(last_of_value, gap, 0).astype(np.int64) ** 2).sum(axis=1)


def _icc(x: np.ndarray, *, alpha_ci: float | None) -> tuple[float, float, float]:
    """ICC(1) of the one-way layout with columns as groups and rows as replicates, and its CI.

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
        return 1.0, 1.0, 1.0
    f0 = msb / msw
    icc = (msb - msw) / (msb + (r - 1) * msw)
    if alpha_ci is None:
        return float(icc), float("nan"), float("nan")
    df1, df2 = g - 1, g * (r - 1)
    f_low = f0 / stats.f.ppf(1 - alpha_ci / 2, df1, df2)
    f_high = f0 * stats.f.ppf(1 - alpha_ci / 2, df2, df1)
    return float(icc), float((f_low - 1) / (f_low + r - 1)), float((f_high - 1) / (f_high + r - 1))


def _upper_p(null_sorted: np.ndarray, observed: float) -> float:
    above = null_sorted.size - np.searchsorted(null_sorted, observed, side="left")
    return float((1.0 + above) / (1.0 + null_sorted.size))


def null_replicates(k: int, n: int) -> int:
    """R for the null tables at (K, n): NULL_REPLICATES, fewer when K·n is large."""
    r = int(np.clip(NULL_VALUE_BUDGET // (k * n), MIN_NULL_REPLICATES, NULL_REPLICATES))
    return (r + 1) // 100 * 100 - 1 if r >= 199 else r


@functools.lru_cache(maxsize=8)
def diversity_null(k: int, n: int, replicates: int | None = None, seed: int = NULL_SEED) -> DiversityNull:
    """Null draws of the three statistics at (K, n), simulated once by permuting ranks, cached.

    Under the null the rank matrix is a uniformly random arrangement of 1..N, and the order of
    the 2n values in a pair of draws is a uniformly random interleaving of n and n, whatever the
    distribution. The statistics are computed by the same functions that judge the data.
    """
    replicates = null_replicates(k, n) if replicates is None else replicates
    rng = np.random.default_rng([seed, k, n])
    total, pairs = k * n, k // 2
    chunk = max(1, 2**20 // total)
    ranks = np.arange(1, total + 1, dtype=float)
    labels = np.repeat(np.array([1, -1], dtype=np.int32), n)
    coordinates, heterogeneity, pair_sums = [], [], []
    for start in range(0, replicates, chunk):
        size = min(chunk, replicates - start)
        r = rng.permuted(np.tile(ranks, (size, 1)), axis=1).reshape(size, k, n)
        coordinates.append(_kruskal_h(r.sum(axis=1), k, total))
        heterogeneity.append(_kruskal_h(r.sum(axis=2), n, total))
        steps = rng.permuted(np.tile(labels, (size * pairs, 1)), axis=1)
        gaps = (np.cumsum(steps, axis=1).astype(np.int64) ** 2).sum(axis=1)
        pair_sums.append(gaps.reshape(size, pairs).sum(axis=1))
    tables = {}
    for name, parts in (("coordinates", coordinates), ("heterogeneity", heterogeneity),
                        ("pair_sums", pair_sums)):
        table = np.sort(np.concatenate(parts))
        table.flags.writeable = False  # shared by every caller through the cache
        tables[name] = table
    return DiversityNull(k=k, n=n, **tables)

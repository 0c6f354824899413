"""Goodness-of-fit and moment tests against N(mean, std), vectorised over the rows of an array.

These serve every normal target, the default N(4, 1.25) included; any other continuous target
gets gancheck.stats.gof_target's versions (the same ECDF statistics on u = F(x), moment nulls
simulated from the target), and only the tests the registry says apply to it.

Every test takes ``x``, an (m, n) float array of m samples whose rows are sorted ascending, finite,
not constant (``row_status``), at least the test's min_n long and not too coarsely tied (see
gancheck.stats.registry, gancheck.stats.ties), and returns
``(statistic, pvalue)``, two arrays of shape (m,). How each p-value is obtained:

========== ============================================================================ =========
test       p-value                                                                      kind
========== ============================================================================ =========
ks         exact: scipy.stats.kstwo.sf (what kstest(method='exact') uses)               simple
ad         A² computed here; Marsaglia & Marsaglia (2004) finite-n formula, floored at  simple
           the provable bound P(chi2_1 >= 2 A²) in the far tail
cvm        scipy.stats.cramervonmises (Csörgő & Faraway 1996 finite-n formula)          simple
shapiro    W as scipy.stats.shapiro computes it; null of W simulated once per n, cached composite
ad_normal  A² with mean and sd estimated; null simulated once per n and cached         composite
mean       exact: z = (mean - target) √n / std ~ N(0, 1), two-sided                     simple
std        exact: (n - 1) s² / std² ~ chi2(n - 1), two-sided (equal tails)              simple
skew       g1 = m3 / m2^1.5; null simulated once per n and cached, two-sided via |g1|   simple
kurtosis   g2 = m4 / m2² - 3; null simulated once per n and cached, two-sided (doubled) simple
========== ============================================================================ =========

Simulated p-values are (1 + #{null at least as extreme}) / (1 + R): never 0, and a valid Monte
Carlo test at any R (Davison & Hinkley 1997, Bootstrap Methods, ch. 4). The shape statistics
(skew, kurtosis, W, A² with estimated parameters) do not depend on the target's mean or sd, so one
table per n serves every target.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

try:  # scipy's own p-value function of W² (private; cvm falls back to the public test without it)
    from scipy.stats._hypotests import _cdf_cvm
except ImportError:  # pragma: no cover - another scipy layout
    _cdf_cvm = None

from gancheck.stats import ad_pvalue as ad_pvalue_module
from gancheck.stats import monte_carlo, table_cache
from gancheck.stats.ad_pvalue import ad_pvalue, ad_pvalue_floor, anderson_darling  # noqa: F401
from gancheck.stats.ks_pvalue import KS_DECISION_WINDOW, ks_of_uniforms, ks_pvalue  # noqa: F401

#: Smallest sample any test takes. The finite-n formulas (ad, cvm) and simulated nulls (shapiro,
#: ad_normal, skew, kurtosis) are checked for calibration at n = 8 in tests/stats/test_calibration.py;
#: with fewer values the sample moments are tightly bounded and the shape tests have almost no
#: power. ks, mean and std have exact p-values at any n, but a sample that short is one a test
#: cannot fail (one value at the target's median: KS p = 1), so its "pass" would say nothing, and a
#: too-short sample must never pass. Shorter samples get the status TOO_FEW for every test (not
#: tested, not failed). Each test's minimum is in gancheck.stats.registry.
MIN_N = 8
#: |values| above this are refused: squares of such values summed over a sample overflow float64.
MAX_ABS = 1e150
#: Null replicates per n for the simulated p-values. Monte Carlo SE of a p-value near 0.05 is
#: sqrt(0.05 * 0.95 / 50000) = 0.001, and the table's whole ECDF is typically within 0.004 of the
#: truth (KS: 0.83 / sqrt(R)); 20,000 replicates left errors of 0.014 with an unlucky seed. Building
#: the table at n = 500 takes about 2 s, once per machine (table_cache). R + 1 is a round number so that
#: alpha * (R + 1) is an integer and the test's level is exact.
NULL_REPLICATES = 49_999
#: Building a table costs time in proportion to R * n: above this many values R shrinks (to no less
#: than MIN_NULL_REPLICATES), so a single huge sample is not held up for minutes. (1 + #)/(1 + R)
#: is a valid p-value at any R; a small R only coarsens it (99 to 199 replicates are the usual
#: minimum for alpha = 0.05, Davison & Hinkley 1997, ch. 4).
NULL_VALUE_BUDGET = 25_000_000
MIN_NULL_REPLICATES = 199
#: Fixed seed of the null tables (combined with n), so every run reports the same p-values.
NULL_SEED = 2004_09_02

OK = "ok"
# A broken sample fails every test (reject True): the generator or the file is at fault.
EMPTY = "no values"
NON_FINITE = "non-finite values"
TOO_LARGE = "values too large"
CONSTANT = "constant sample"
NOT_1D = "not 1-D"
NOT_2D = "not 2-D"
TEST_FAILED = "no p-value"
# An untested sample is not broken, but this test cannot take it (reject False, and a row whose
# status is not OK never counts as a pass either).
TOO_FEW = "too few values"
TIES = "ties"
TOO_FEW_DRAWS = "too few draws"
BROKEN_STATUSES = frozenset({EMPTY, NON_FINITE, TOO_LARGE, CONSTANT, NOT_1D, NOT_2D, TEST_FAILED})
UNTESTED_STATUSES = frozenset({TOO_FEW, TIES, TOO_FEW_DRAWS})


def check_parameters(*, mean: float, std: float, alpha: float) -> None:
    """Raise ValueError naming the argument if the target or the level is malformed."""
    for name, value in (("mean", mean), ("std", std), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def row_status(x: np.ndarray) -> np.ndarray:
    """Status of each row of a 2-D float array: OK, or the BROKEN status that fails the row.

    Short rows are not broken (each test's own minimum decides, see the registry); a single value
    is not "constant", an empty row is broken.
    """
    m, n = x.shape
    status = np.full(m, OK, dtype=object)
    if n == 0:
        status[:] = EMPTY
        return status
    finite = np.isfinite(x).all(axis=1)
    status[~finite] = NON_FINITE
    rows = np.flatnonzero(finite)
    top, bottom = x[rows].max(axis=1), x[rows].min(axis=1)
    scale = np.maximum(np.abs(top), np.abs(bottom))
    status[rows[scale > MAX_ABS]] = TOO_LARGE
    # "Constant" includes rows that differ only by rounding of their own magnitude: such a row
    # is a collapsed output, and standardising it would amplify rounding noise into a "shape".
    constant = ((top - bottom) <= 8 * np.finfo(float).eps * scale) & (n > 1)
    status[rows[constant & (scale <= MAX_ABS)]] = CONSTANT
    return status


# --- simple hypothesis: N(mean, std) exactly -------------------------------------------------

def ks(x: np.ndarray, *, mean: float, std: float, decide_at: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Kolmogorov–Smirnov D against N(mean, std); exact two-sided p (Simard & L'Ecuyer 2011).
    ``decide_at``: see ks_pvalue."""
    return ks_of_uniforms(special.ndtr((x - mean) / std), decide_at)


def ad(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Anderson–Darling A² against N(mean, std) with both parameters known."""
    a2 = anderson_darling((x - mean) / std)
    return a2, ad_pvalue(a2, x.shape[1])


def cvm(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Cramér–von Mises W² against N(mean, std), scipy's statistic and p-value, all rows at once.

    scipy.stats.cramervonmises costs several times its arithmetic in argument handling, a second
    sort and norm.cdf's checks, paid on every judged generator. So its statistic is computed
    here term for term as scipy 1.17 computes it (F = ndtr of the z-score, which is what
    norm.cdf returns for finite values; T = 1/(12n) + Σ ((2i - 1)/(2n) - F(x_(i)))², summed
    along each row), which gives the same floats, and its p-value is scipy's own function of T
    (Csörgő & Faraway's finite-n series, clipped at 0 as scipy clips it).
    tests/stats/test_gof.py checks both equal scipy's exactly. Rows that are not finite, rows
    of fewer than 2 values, or a scipy without that function take scipy's own path.

    Far-tail caveat (scipy 1.17): the Csörgő–Faraway series loses accuracy for large W², where
    scipy clips a negative p to 0 (at n = 8 from W² = 1.75, true p about 5e-5) or lets p creep
    up again (at n = 500, p = 5e-11 at W² = 5 but 1e-8 at W² = 50). Both happen far below any
    usable alpha, so verdicts are unaffected; do not read such tiny p-values as evidence sizes.
    """
    n = x.shape[1]
    if _cdf_cvm is None or n < 2 or not np.isfinite(x).all():
        res = stats.cramervonmises(x, "norm", args=(mean, std), axis=1)
        return np.asarray(res.statistic, dtype=float), np.asarray(res.pvalue, dtype=float)
    size = float(n)
    cdf = special.ndtr((x - mean) / std)
    u = (2 * np.arange(1, n + 1, dtype=float) - 1) / (2 * size)
    w = 1 / (12 * size) + np.sum((u - cdf) ** 2, axis=-1)
    return w, np.clip(1.0 - _cdf_cvm(w, size), 0.0, None)


def mean_test(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Error of the sample mean; exact two-sided p from N(0, std²/n)."""
    error = x.mean(axis=1) - mean
    z = error * math.sqrt(x.shape[1]) / std
    return error, 2.0 * special.ndtr(-np.abs(z))


def std_test(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Error of the sample sd (ddof=1); exact two-sided p from (n-1)s²/std² ~ chi2(n-1).

    Using the sample's own mean (not the target's) keeps this test independent of the mean test
    under H0 (x̄ and s² are independent for normal data).
    """
    n = x.shape[1]
    s = x.std(axis=1, ddof=1)
    q = (n - 1) * (s / std) ** 2
    return s - std, 2.0 * np.minimum(special.chdtr(n - 1, q), special.chdtrc(n - 1, q))


# --- shape: normal with any location and scale -----------------------------------------------

def shapiro(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Shapiro–Wilk W, as scipy.stats.shapiro computes it; p from the simulated null of W at n.

    scipy's own p-value (Royston's normal approximation of log(1 - W)) is accurate where p is
    small but not uniform above: with 20,000 normal samples at n = 500, only 1,719 p-values fell
    in [0.9, 1] (expected 2,000; KS against U(0, 1): p = 3e-4), and at n = 12, 2,932 did. Pooled
    p-values and p-value ECDFs need uniform ones, so W is referred to its own null at n instead.
    Royston's coefficients are fitted up to n = 5000; above it W (same coefficients) is still a
    valid statistic with its null simulated at n, so there is no upper limit.
    """
    w = shapiro_w(x)
    # Small W rejects: lower tail.
    return w, monte_carlo.lower_p(shape_null(x.shape[1]).shapiro, w)


def shapiro_w(x: np.ndarray) -> np.ndarray:
    """W of sorted rows: squared correlation of each row with the Shapiro–Wilk coefficients.

    One matrix-vector product for all rows, where scipy's swilk runs once per row; swilk computes
    W the same way (AS R94's "squared correlation between data and coefficients").
    """
    coefficients = shapiro_coefficients(x.shape[1])
    z = standardise(x)  # W is location-scale invariant; unit scale keeps every sum in range
    return (z @ coefficients) ** 2 / ((coefficients @ coefficients) * (z * z).sum(axis=1))


@functools.lru_cache(maxsize=16)
def shapiro_coefficients(n: int) -> np.ndarray:
    """Royston's (1992) approximation of the Shapiro–Wilk coefficients, as in AS R94 / swilk.

    Returned for all n sorted values (antisymmetric: the lower half negative, the middle 0 when n
    is odd). Fitted for 5 < n <= 5000; used beyond with a simulated null (see shapiro).
    """
    half = n // 2
    m = special.ndtri((np.arange(1, half + 1) - 0.375) / (n + 0.25))  # lower-half Blom scores, < 0
    summ2 = 2.0 * np.sum(m**2)
    u = 1.0 / math.sqrt(n)
    a1 = np.polyval([-2.706056, 4.434685, -2.071190, -0.147981, 0.221157, 0.0], u) - m[0] / math.sqrt(summ2)
    a2 = np.polyval([-3.582633, 5.682633, -1.752461, -0.293762, 0.042981, 0.0], u) - m[1] / math.sqrt(summ2)
    fac = math.sqrt((summ2 - 2 * m[0] ** 2 - 2 * m[1] ** 2) / (1 - 2 * a1**2 - 2 * a2**2))
    a = -m / fac
    a[0], a[1] = a1, a2
    full = np.concatenate([-a, np.zeros(n % 2), a[::-1]])
    full.flags.writeable = False  # shared through the cache
    return full


def ad_normal(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """A² after standardising each row by its own mean and sd (ddof=1); simulated null per n.

    The statistic is the unmodified A² (as scipy.stats.anderson reports it); D'Agostino &
    Stephens' A²(1 + 0.75/n + 2.25/n²) is a monotone function of it at fixed n.
    """
    a2 = anderson_darling(standardise(x))
    return a2, monte_carlo.upper_p(shape_null(x.shape[1]).ad_normal, a2)


def skew_test(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample skewness g1 (scipy.stats.skew, bias=True), whose target value is 0."""
    g1 = skewness(x)
    return g1, monte_carlo.upper_p(shape_null(x.shape[1]).abs_skew, np.abs(g1))


def kurtosis_test(x: np.ndarray, *, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample excess kurtosis g2 (scipy.stats.kurtosis, bias=True), whose target value is 0."""
    g2 = excess_kurtosis(x)
    return g2, monte_carlo.equal_tailed_p(shape_null(x.shape[1]).kurtosis, g2)


def standardise(x: np.ndarray, ddof: int = 1) -> np.ndarray:
    """(x - row mean) / row sd, for rows that are not constant."""
    centred = x - x.mean(axis=1, keepdims=True)
    # Divide by the largest deviation first: for a row of tiny spread the squares in the sd
    # would underflow to 0 (and for a huge one overflow), though the row's shape is well defined.
    centred /= np.abs(centred).max(axis=1, keepdims=True)
    return centred / centred.std(axis=1, ddof=ddof, keepdims=True)


def skewness(x: np.ndarray) -> np.ndarray:
    # Moments of the standardised row: powers of values bounded by √n cannot overflow.
    z = standardise(x, ddof=0)
    return (z * z * z).mean(axis=1)


def excess_kurtosis(x: np.ndarray) -> np.ndarray:
    z = standardise(x, ddof=0)
    return ((z * z) ** 2).mean(axis=1) - 3.0


@dataclass(frozen=True)
class ShapeNull:
    """Sorted draws of the shape statistics of n standard-normal values (read-only arrays)."""

    n: int
    abs_skew: np.ndarray
    kurtosis: np.ndarray
    ad_normal: np.ndarray
    shapiro: np.ndarray


def null_replicates(n: int) -> int:
    """R for the null tables at n: NULL_REPLICATES, fewer only for very large n."""
    return int(np.clip(NULL_VALUE_BUDGET // n, MIN_NULL_REPLICATES, NULL_REPLICATES))


@functools.lru_cache(maxsize=16)
def shape_null(n: int, replicates: int | None = None, seed: int = NULL_SEED) -> ShapeNull:
    """Null distribution of |g1|, g2, estimated-parameter A² and W at n, simulated once, cached.

    The statistics are computed by the same functions that score the data, so table and data
    cannot drift apart. Work is chunked to about 2**20 values at a time to bound memory.
    """
    replicates = null_replicates(n) if replicates is None else replicates
    names = ("abs_skew", "kurtosis", "ad_normal", "shapiro")
    # Kept on disk too (table_cache): every worker process of a run would otherwise simulate it.
    sources = [__file__, ad_pvalue_module.__file__]  # the statistics simulated are computed in both
    tables = table_cache.cached_tables("shape_null", dict(n=n, replicates=replicates, seed=seed), sources,
                                       names, replicates, lambda: _simulate_shape_null(n, replicates, seed))
    return ShapeNull(n=n, **tables)


def _simulate_shape_null(n: int, replicates: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, n])
    chunk = max(1, 2**20 // n)
    parts: dict[str, list[np.ndarray]] = {"abs_skew": [], "kurtosis": [], "ad_normal": [], "shapiro": []}
    for start in range(0, replicates, chunk):
        x = np.sort(rng.standard_normal((min(chunk, replicates - start), n)), axis=1)
        parts["abs_skew"].append(np.abs(skewness(x)))
        parts["kurtosis"].append(excess_kurtosis(x))
        parts["ad_normal"].append(anderson_darling(standardise(x)))
        parts["shapiro"].append(shapiro_w(x))
    return {name: np.sort(np.concatenate(chunks)) if chunks else np.empty(0) for name, chunks in parts.items()}

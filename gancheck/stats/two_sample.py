"""Two-sample tests: a sample of generated values against a real sample (the reference).

When the target is known only through data, each sample x (n values) is compared with the
reference y (m values). The null hypothesis of every test is the same: x and y are independent
iid samples of ONE law, of any shape, continuous or not. Under it the pooled N = n + m values are
exchangeable, so the permutation distribution of any statistic (which n of the N pooled values
are called x) is its exact null, conditional on the pooled values, ties included (Lehmann &
Romano 2005, Testing Statistical Hypotheses, ch. 15.2). The tests:

============= =================================================================== ============
test          statistic                                                           p-value
============= =================================================================== ============
ks_2samp      D = sup |F_n - G_m| (scipy.stats.ks_2samp's statistic)              exact, else
                                                                                  permutation
cvm_2samp     T = nm / N² Σ_pooled (F_n - G_m)² (scipy's cramervonmises_2samp T   permutation
              without ties)
ad_ksamp      A²akN, Scholz & Stephens' (1987) midrank statistic for k = 2        permutation
mean_diff     mean(x) - mean(y)                                                   permutation
sd_diff       sd(x) - sd(y) (ddof = 1)                                            permutation
skew_diff     g1(x) - g1(y)                                                       permutation
kurtosis_diff g2(x) - g2(y) (excess kurtosis)                                     permutation
============= =================================================================== ============

Exact KS: without ties the null of D depends on (n, m) only and scipy's exact method gives it
(Hodges 1957 lattice paths); used up to EXACT_KS_MAX values per sample, scipy's own limit.
With ties, D is computed at the ends of tie blocks, and the continuous-data p-value would only be
conservative; so tied rows, like every other test, get the permutation p-value
(1 + #{T* >= T}) / (1 + R): never 0, valid at any R (Davison & Hinkley 1997, ch. 4), R + 1 a
round number so that alpha (R + 1) is an integer at alpha = 0.05 and 0.01.

Why permutation for the rest, and why not scipy's own p-values: scipy's cramervonmises_2samp is
exact only for small samples and asymptotic above, and on tied data its average-rank T is far off
(same-law N(4, 1.25) pairs rounded to 0.1, n = 500, m = 5,000: 300 of 300 rejected at 0.05,
docs/statistics.md); scipy.stats.anderson_ksamp interpolates a
table and clips its p-value to [0.001, 0.25] (scipy 1.17), so a clipped 0.25 or 0.001 says little.
Its PermutationMethod is valid but loops in Python per sample. Here every sample of a call shares
the same random label sets (a random label set is independent of the data, so each sample's
p-value is valid; they are dependent across samples, as tests on one reference are anyway), and
the statistics of all permutations are computed at once: rank statistics from cumulative label
counts at the pooled tie-block ends (without ties the null is the same for every sample, so it
is computed once), moment statistics as one matrix product of the label sets with the pooled
values. The moment tests are tests of equality in law like the others (not of the moment alone):
a permutation test of the mean difference is exact for "same law" but can reject when the laws
differ in spread only, rarely.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from gancheck.stats import gof
from gancheck.stats.registry import StatTest

#: Random label sets per p-value. Monte Carlo error of a p-value near 0.05: √(0.05·0.95/R) = 0.005.
PERMUTATIONS = 1_999
#: Fixed seed of the label sets, so the same input always gets the same p-values.
PERMUTATION_SEED = 2026_12_06
#: Largest sample (either side) for scipy's exact two-sample KS p-value (scipy's 'auto' limit).
EXACT_KS_MAX = 10_000
#: Label-set values held at once (chunking bounds memory whatever N).
CHUNK_VALUES = 2**21
#: Label sets (int8) are kept between calls when R·N is at most this (16 MB: R = 1,999 with
#: n + m up to 8,000): repeated calls at one (n, m), as in a verdict, a CLI run scored in chunks
#: or a calibration study, then skip the shuffling.
CACHE_VALUES = 2**24
#: Shortest reference accepted: with fewer values no test here can say much, and the moment
#: tests' shape statistics are tightly bounded (as for the one-sample tests' gof.MIN_N).
MIN_REFERENCE = gof.MIN_N
#: Relative tolerance when counting permuted statistics at least the observed one: the same
#: label set computed by two summation orders must count as equal (scipy's permutation_test
#: does the same).
RELATIVE_TOLERANCE = 1e-9

_TWO_SAMPLE = "two-sample"
TESTS: tuple[StatTest, ...] = (
    StatTest("ks_2samp", _TWO_SAMPLE, "Kolmogorov–Smirnov, two-sample", "fit", 1,
             "The sample and the reference are iid from one law; largest ECDF gap, exact p without "
             "ties, permutation p with them.", "Hodges (1957), Ark. Mat. 3; scipy.stats.ks_2samp", 1,
             "order"),
    StatTest("cvm_2samp", _TWO_SAMPLE, "Cramér–von Mises, two-sample", "fit", 2,
             "The sample and the reference are iid from one law; integrated squared ECDF gap, "
             "permutation p.", "Anderson (1962), Ann. Math. Stat. 33", 2, "order"),
    StatTest("ad_ksamp", _TWO_SAMPLE, "Anderson–Darling, k-sample", "fit", 3,
             "The sample and the reference are iid from one law; midrank A²akN, permutation p.",
             "Scholz & Stephens (1987), JASA 82", 2, "order"),
    StatTest("mean_diff", _TWO_SAMPLE, "Mean difference", "moments", 4,
             "The sample and the reference are iid from one law; mean(x) - mean(y), permutation p.",
             "Pitman (1937), JRSS Suppl. 4", 1, "moments"),
    StatTest("sd_diff", _TWO_SAMPLE, "Sd difference", "moments", 5,
             "The sample and the reference are iid from one law; sd(x) - sd(y), permutation p.",
             "Pitman (1937), JRSS Suppl. 4", 2, "moments"),
    StatTest("skew_diff", _TWO_SAMPLE, "Skewness difference", "shape", 6,
             "The sample and the reference are iid from one law; g1(x) - g1(y), permutation p.",
             "Pitman (1937), JRSS Suppl. 4", gof.MIN_N, "moments"),
    StatTest("kurtosis_diff", _TWO_SAMPLE, "Excess kurtosis difference", "shape", 7,
             "The sample and the reference are iid from one law; g2(x) - g2(y), permutation p.",
             "Pitman (1937), JRSS Suppl. 4", gof.MIN_N, "moments"),
)
NAMES = tuple(t.name for t in TESTS)
_RANK, _MOMENT = NAMES[:3], NAMES[3:]


def check_reference(reference) -> np.ndarray:
    """The reference as a sorted 1-D float array; ValueError naming ``reference`` and why not.

    A reference is the yardstick, not a sample under test: a broken one (non-finite, constant,
    too short, not one sample) is an error, where a broken generated sample merely fails.
    """
    if reference is None or isinstance(reference, (str, bytes)):
        raise ValueError(f"reference must be a sample of real numbers, got {type(reference).__name__}")
    try:
        y = np.asarray(reference)
        if y.dtype == object:
            y = y.astype(float)
    except (ValueError, TypeError):
        raise ValueError("reference must be one sample of real numbers (a 1-D array)") from None
    if y.dtype.kind not in "biuf":
        raise ValueError(f"reference must hold real numbers, got dtype {y.dtype}")
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()  # one row or one column: still one sample
    if y.ndim != 1:
        raise ValueError(f"reference must be one sample (1-D), got shape {y.shape}")
    y = y.astype(float)
    if y.size < MIN_REFERENCE:
        raise ValueError(f"reference has {y.size} values; at least {MIN_REFERENCE} are needed")
    status = gof.row_status(y[None, :])[0]
    if status != gof.OK:
        raise ValueError(f"reference is unusable: {status}")
    return np.sort(y)


def compare(x: np.ndarray, y: np.ndarray, *, tests=NAMES, permutations: int = PERMUTATIONS,
            seed: int = PERMUTATION_SEED) -> tuple[np.ndarray, np.ndarray]:
    """statistic, pvalue: (rows, len(tests)) arrays for the rows of x, each against y.

    x: (rows, n) finite, non-constant rows; y: the sorted output of check_reference, or one
    such reference per row ((rows, m), for studies of many independent pairs). ``tests`` picks
    and orders the tests by name (module docstring). Rows too short for a test (its min_n) are
    the caller's business (gancheck.stats.reference_score gives them a status).
    """
    tests = list(tests)
    unknown = [t for t in tests if t not in NAMES]
    if unknown:
        raise ValueError(f"tests must be among {list(NAMES)}, got {unknown}")
    if isinstance(permutations, bool) or not isinstance(permutations, int) or permutations < 1:
        raise ValueError(f"permutations must be an integer >= 1, got {permutations!r}")
    rows, n = x.shape
    m = y.shape[-1]
    per = max(1, CHUNK_VALUES // (n + m))
    if rows > per:  # a block of rows at a time: the working space is some ten copies of the pooled rows
        parts = [_compare(x[i:i + per], y if y.ndim == 1 else y[i:i + per], tests, permutations, seed)
                 for i in range(0, rows, per)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _compare(x, y, tests, permutations, seed)


def _compare(x: np.ndarray, y: np.ndarray, tests: list, permutations: int, seed: int):
    rows, n = x.shape
    m = y.shape[-1]
    joined = np.concatenate([x, np.broadcast_to(y, (rows, m))], axis=1)
    # A stable sort puts x's values before equal reference values; the rank statistics read
    # counts only at the ends of tie blocks, where that placement does not matter.
    order = np.argsort(joined, axis=1, kind="stable")
    pooled = np.take_along_axis(joined, order, axis=1)
    tied = (np.diff(pooled, axis=1) == 0).any(axis=1)
    observed = _observed(x, pooled, (order < n).astype(float))
    statistic = np.column_stack([observed[t] for t in tests]) if tests else np.empty((rows, 0))
    pvalue = np.full_like(statistic, np.nan)
    # KS rows with scipy's exact p (untied, within its size limit); the rest are permuted.
    ks_permuted = np.ones(rows, dtype=bool)
    if "ks_2samp" in tests and max(n, m) <= EXACT_KS_MAX:
        j = tests.index("ks_2samp")
        for i in np.flatnonzero(~tied):
            pvalue[i, j] = _ks_exact_p(n, m, statistic[i, j])
        ks_permuted = np.isnan(pvalue[:, j])
    permuted = [t for t in tests if t != "ks_2samp" or ks_permuted.any()]
    if not permuted:
        return statistic, pvalue
    counts = _null_counts(pooled, tied, observed, permuted, n, m, permutations, seed)
    for t, count in counts.items():
        j = tests.index(t)
        keep = ks_permuted if t == "ks_2samp" else slice(None)
        pvalue[keep, j] = (1.0 + count[keep]) / (1.0 + permutations)
    return statistic, pvalue


def _observed(x: np.ndarray, pooled: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Every test's statistic for the rows of x, by the same formulas the null uses; labels are 1
    where a pooled (sorted) value is from x."""
    rows, n = x.shape
    m = pooled.shape[1] - n
    out = dict(zip(_RANK, _rank_statistics(labels, pooled, n, m)))
    z, scale = _standardised(pooled)
    zx = (x - pooled.mean(axis=1, keepdims=True)) / scale[:, None]
    out.update(zip(_MOMENT, _moment_statistics(_powers(zx).sum(axis=2), _powers(z).sum(axis=2), n, m, scale)))
    return out


def _standardised(pooled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled values centred and scaled by their own mean and sd: moment sums stay in range."""
    centre = pooled.mean(axis=1, keepdims=True)
    scale = pooled.std(axis=1, keepdims=True)
    return (pooled - centre) / scale, scale[:, 0]


def _powers(z: np.ndarray) -> np.ndarray:
    """(4, rows, N): z, z², z³, z⁴ (products: a float power is several times slower)."""
    square = z * z
    return np.stack([z, square, square * z, square * square])


def _blocks(pooled_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the last value of each tie block of a sorted row, and the blocks' sizes."""
    ends = np.flatnonzero(np.append(pooled_row[1:] != pooled_row[:-1], True))
    return ends, np.diff(np.append(-1, ends))


def _rank_statistics(labels: np.ndarray, pooled: np.ndarray, n: int, m: int):
    """(D, T, A²akN) of each row's labels (1 = from x) over its sorted pooled row."""
    cumulative = np.cumsum(labels, axis=1)
    parts = []
    for i in range(labels.shape[0]):
        ends, sizes = _blocks(pooled[i])
        parts.append(_rank_from_counts(cumulative[i:i + 1, ends], ends, sizes, n, m))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def _rank_from_counts(counts: np.ndarray, ends: np.ndarray, sizes: np.ndarray, n: int, m: int):
    """The rank statistics from x's cumulative counts M_j (rows) at the tie-block ends.

    D = max_j |M_j/n - (B_j - M_j)/m|, T = nm/N² Σ_j l_j (M_j/n - (B_j - M_j)/m)², and Scholz &
    Stephens' midrank A²akN, which for k = 2 reduces (the two samples' terms are equal up to
    sign) to (N - 1)/(N n m) Σ_j l_j (N M_aj - n B_aj)² / (B_aj (N - B_aj) - N l_j / 4), with
    M_aj, B_aj the midpoints of the counts before and after block j.
    """
    big_n = n + m
    counts = counts.astype(float)
    before = ends + 1.0
    gap = counts * (1 / n + 1 / m) - before / m
    d = np.abs(gap).max(axis=1)
    t = n * m / big_n**2 * (gap * gap) @ sizes
    mid = counts
    mid[:, 1:] += counts[:, :-1].copy()  # M_j + M_(j-1); M_0 = 0
    mid *= big_n / 2
    mid_before = before - sizes / 2
    mid -= n * mid_before
    denominator = mid_before * (big_n - mid_before) - big_n * sizes / 4
    weight = np.where(denominator > 0, sizes / np.where(denominator > 0, denominator, 1.0), 0.0)
    a2 = (big_n - 1) / (big_n * n * m) * (mid * mid) @ weight
    return d, t, a2


def _moment_statistics(sums: np.ndarray, totals: np.ndarray, n: int, m: int, scale):
    """(mean, sd, skewness, excess kurtosis) differences from power sums of standardised values.

    sums: (4, ...) Σ z^k over x; totals: (4, ...) over the pooled sample; scale: the pooled sd,
    turning the mean and sd differences back into data units.
    """
    def central(s, size):
        mu = s[0] / size
        r2, r3, r4 = s[1] / size, s[2] / size, s[3] / size
        m2 = np.maximum(r2 - mu**2, 0.0)
        m3 = r3 - 3 * mu * r2 + 2 * mu**3
        m4 = r4 - 4 * mu * r3 + 6 * mu**2 * r2 - 3 * mu**4
        with np.errstate(divide="ignore", invalid="ignore"):
            return mu, m2, m3 / m2**1.5, m4 / m2**2 - 3.0
    mx, vx, gx, kx = central(sums, n)
    my, vy, gy, ky = central(totals - sums, m)
    sd = lambda v, size: np.sqrt(v * size / (size - 1)) if size > 1 else np.full_like(v, np.nan)  # noqa: E731
    return (scale * (mx - my), scale * (sd(vx, n) - sd(vy, m)), gx - gy, kx - ky)


def _null_counts(pooled, tied, observed, tests, n, m, permutations, seed) -> dict[str, np.ndarray]:
    """Per test and row, how many permuted statistics are at least as extreme as the observed."""
    rows, big_n = pooled.shape
    counts = {t: np.zeros(rows) for t in tests}
    rank = [t for t in tests if t in _RANK]
    moment = [t for t in tests if t in _MOMENT]
    untied = np.flatnonzero(~tied)
    if rank and untied.size:
        table = _untied_null(n, m, permutations, seed)
        for t in rank:
            counts[t][untied] = _count_extreme(table[t], observed[t][untied])
    tied_rows = np.flatnonzero(tied) if rank else np.empty(0, dtype=int)
    if not (moment or tied_rows.size):
        return counts
    blocks = [_blocks(pooled[i]) for i in tied_rows]
    z, scale = _standardised(pooled)
    powers = _powers(z)
    totals = powers.sum(axis=2)
    powers = powers.reshape(-1, big_n)  # (4·rows, N)
    for labels, cumulative in _label_sets(n, m, permutations, seed):
        if tied_rows.size:
            for i, (ends, sizes) in zip(tied_rows, blocks):
                null = dict(zip(_RANK, _rank_from_counts(cumulative[:, ends], ends, sizes, n, m)))
                for t in rank:
                    counts[t][i] += _extreme(null[t], observed[t][i]).sum()
        if moment:
            # The longer side first: OpenBLAS took 100 times longer for (4, N) @ (N, c) than for
            # (c, N) @ (N, 4) transposed (one pooled row against a reference).
            sums = powers @ labels.T if powers.shape[0] >= labels.shape[0] else (labels @ powers.T).T
            sums = sums.reshape(4, rows, -1)  # (4, rows, chunk)
            null = dict(zip(_MOMENT, _moment_statistics(sums, totals[:, :, None], n, m, scale[:, None])))
            for t in moment:
                counts[t] += _extreme(null[t], observed[t][:, None]).sum(axis=1)
    return counts


@functools.lru_cache(maxsize=16)
def _untied_null(n: int, m: int, permutations: int, seed: int) -> dict[str, np.ndarray]:
    """Sorted permutation null of the rank statistics without ties: it depends on (n, m) only."""
    big_n = n + m
    ends, sizes = np.arange(big_n), np.ones(big_n)
    parts = [_rank_from_counts(cumulative, ends, sizes, n, m)
             for _, cumulative in _label_sets(n, m, permutations, seed)]
    table = {}
    for k, name in enumerate(_RANK):
        column = np.sort(np.concatenate([p[k] for p in parts]))
        column.flags.writeable = False  # shared through the cache
        table[name] = column
    return table


def _count_extreme(null_sorted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """#{null >= observed} (up to rounding, as _extreme) for a sorted, non-negative null."""
    threshold = observed - RELATIVE_TOLERANCE * np.maximum(np.abs(observed), 1e-300)
    return null_sorted.size - np.searchsorted(null_sorted, threshold, side="left")


def _extreme(null: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """|null| >= |observed| up to rounding; a permuted statistic that is NaN (a constant
    permuted subset) counts as extreme, so the p-value errs on the safe side."""
    a, b = np.abs(null), np.abs(observed)
    with np.errstate(invalid="ignore"):
        return ~(a < b - RELATIVE_TOLERANCE * np.maximum(b, 1e-300))


def _label_sets(n: int, m: int, permutations: int, seed: int):
    """Chunks of random label rows, each row n ones and m zeros uniformly placed, as pairs
    (labels as float64, their cumulative counts as int32): the moment sums take the first, the
    rank statistics the second. Shuffling is the costly part, so the int8 labels are cached."""
    chunks = (_cached_labels(n, m, permutations, seed) if permutations * (n + m) <= CACHE_VALUES
              else _fresh_labels(n, m, permutations, seed))
    return ((labels.astype(float), np.cumsum(labels, axis=1, dtype=np.int32)) for labels in chunks)


@functools.lru_cache(maxsize=4)
def _cached_labels(n: int, m: int, permutations: int, seed: int) -> tuple:
    chunks = tuple(_fresh_labels(n, m, permutations, seed))
    for labels in chunks:
        labels.flags.writeable = False  # shared through the cache
    return chunks


def _fresh_labels(n: int, m: int, permutations: int, seed: int):
    rng = np.random.default_rng([seed, n, m])
    base = np.zeros(n + m, dtype=np.int8)
    base[:n] = 1
    per = max(1, CHUNK_VALUES // (n + m))
    for start in range(0, permutations, per):
        # Shuffled in place in a C-ordered array: from a broadcast view numpy returns Fortran
        # order, which makes the row cumsums strided and the matrix products fall off BLAS.
        labels = np.tile(base, (min(per, permutations - start), 1))
        yield rng.permuted(labels, axis=1, out=labels)


@functools.lru_cache(maxsize=4096)
def _ks_exact_p(n: int, m: int, d: float) -> float:
    """scipy's exact two-sided p-value of the two-sample D for untied data (what
    stats.ks_2samp(method='exact') returns); NaN where scipy's exact method fails (the caller
    then permutes). Cached: at one (n, m), D takes few values."""
    try:
        from scipy.stats._stats_py import _attempt_exact_2kssamp  # the function ks_2samp calls
    except ImportError:  # a scipy without it: the permutation p-value serves
        return math.nan
    success, _, p = _attempt_exact_2kssamp(n, m, math.gcd(n, m), float(d), "two-sided")
    return float(min(1.0, max(0.0, p))) if success else math.nan

"""score() and diversity(): arrays of generated numbers in, tidy verdicts out.

Scoring knows nothing of GANs: ``score`` judges each sample (a 1-D run of numbers) against the
target N(mean, std) with the battery in gof.TESTS; ``diversity`` judges whether K draws from one
generator differ from each other as independent samples would, which no within-sample test can see.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from gancheck.stats import gof

#: Columns of score()'s long-form table (the contract in DESIGN.md).
COLUMNS = ("sample", "test", "hypothesis", "statistic", "pvalue", "reject", "status", "n")
NOT_1D = "not 1-D"
NOT_2D = "not 2-D"
TOO_FEW_DRAWS = "too few draws"
TEST_FAILED = "no p-value"

#: diversity() calls a generator collapsed only if its draws are both significantly less varied
#: than independent ones AND at most half as spread. With many coordinates the chi-square test
#: detects a few per cent of missing spread, which is a mismatch of the std (the within-sample
#: tests see that), not a collapse. Independent draws have an expected spread ratio of c4(K) >= 0.80
#: (K = 2) with SD about 0.03 at n = 500, so 0.5 is some 10 SDs away; and at any size the false-flag
#: rate is at most alpha, since the p-value must be below alpha too.
COLLAPSE_SPREAD = 0.5


def score(samples, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05) -> pd.DataFrame:
    """Test every sample against N(mean, std); one row per (sample, test).

    ``samples`` is 1-D (one sample) or 2-D (one sample per row); a list of 1-D sequences of
    different lengths is also accepted. Columns: sample (row index), test, hypothesis ("simple":
    N(mean, std) exactly; "composite": normal of any location and scale), statistic, pvalue,
    reject (pvalue < alpha, and always True when status is not "ok"), status ("ok" or why the
    sample could not be tested), n (values in the sample). Rows come in sample order, tests in
    gof.TESTS order. Raises ValueError for malformed arguments (non-numeric samples, std <= 0,
    alpha outside (0, 1)).
    """
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    rows = _as_rows(samples)
    if isinstance(rows, np.ndarray):
        statistic, pvalue, status = _score_matrix(rows, mean, std)
        sizes = np.full(rows.shape[0], rows.shape[1])
    else:
        statistic, pvalue, status, sizes = _score_ragged(rows, mean, std)
    return _frame(statistic, pvalue, status, sizes, alpha)


def _as_rows(samples) -> np.ndarray | list:
    """A 2-D float array when the rows share one length; else a list of (row or None, size)."""
    if samples is None:  # numpy would turn it into NaN
        raise ValueError("samples must hold real numbers, got None")
    try:
        array = np.asarray(samples)
        if array.dtype == object:
            array = array.astype(float)  # numbers held as Python objects; ragged rows fail here
    except (ValueError, TypeError):
        return _ragged_rows(samples)
    _check_numeric(array, "samples")
    if array.ndim <= 2:
        return np.atleast_2d(array).astype(float, copy=False)
    # Deeper arrays: each sample (first axis) is itself not 1-D, which is a status, not an error.
    return [(None, int(np.prod(array.shape[1:])))] * array.shape[0]


def _ragged_rows(samples) -> list:
    if isinstance(samples, (str, bytes)) or not hasattr(samples, "__iter__"):
        raise ValueError(f"samples must hold real numbers, got {type(samples).__name__}")
    rows = []
    for item in samples:
        try:
            row = np.asarray(item)
        except ValueError:  # itself ragged: certainly not one 1-D sample
            rows.append((None, 0))
            continue
        _check_numeric(row, "samples")
        rows.append((row.astype(float) if row.ndim == 1 else None, int(row.size)))
    return rows


def _check_numeric(array: np.ndarray, name: str) -> None:
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")


def _score_matrix(x: np.ndarray, mean: float, std: float):
    """statistic, pvalue, status: (m, T) arrays for the rows of x and the tests in gof.TESTS."""
    m, n = x.shape
    statistic = np.full((m, len(gof.TESTS)), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    row_status = gof.row_status(x)
    status = np.repeat(row_status[:, None], len(gof.TESTS), axis=1)
    ok = np.flatnonzero(row_status == gof.OK)
    if ok.size == 0:
        return statistic, pvalue, status
    # Sort once; every test takes sorted rows (np.sort copies, so the caller's array is untouched).
    valid = np.sort(x if ok.size == m else x[ok], axis=1)
    for j, test in enumerate(gof.TESTS):
        if test.max_n is not None and n > test.max_n:
            status[ok, j] = gof.TOO_MANY
            continue
        statistic[ok, j], pvalue[ok, j] = test.run(valid, mean=mean, std=std)
    # Defensive: a test that could not produce a number must not read as a pass.
    failed = (status == gof.OK) & ~(np.isfinite(statistic) & np.isfinite(pvalue))
    status[failed] = TEST_FAILED
    statistic[failed] = pvalue[failed] = np.nan
    return statistic, pvalue, status


def _score_ragged(rows: list, mean: float, std: float):
    """Score rows of different lengths: one vectorised pass per length."""
    tests = len(gof.TESTS)
    statistic = np.full((len(rows), tests), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    status = np.full((len(rows), tests), NOT_1D, dtype=object)
    sizes = np.array([size for _, size in rows], dtype=int)
    by_length: dict[int, list[int]] = {}
    for i, (row, size) in enumerate(rows):
        if row is not None:
            by_length.setdefault(size, []).append(i)
    for length, index in by_length.items():
        block = np.stack([rows[i][0] for i in index]) if length else np.empty((len(index), 0))
        statistic[index], pvalue[index], status[index] = _score_matrix(block, mean, std)
    return statistic, pvalue, status, sizes


def _frame(statistic, pvalue, status, sizes, alpha: float) -> pd.DataFrame:
    m, tests = statistic.shape
    # ~(p >= alpha) rather than p < alpha: a NaN p-value must reject, never pass.
    reject = ~(pvalue >= alpha) | (status != gof.OK)
    return pd.DataFrame({
        "sample": np.repeat(np.arange(m), tests),
        "test": np.tile(np.array([t.name for t in gof.TESTS], dtype=object), m),
        "hypothesis": np.tile(np.array([t.hypothesis for t in gof.TESTS], dtype=object), m),
        "statistic": statistic.ravel(),
        "pvalue": pvalue.ravel(),
        "reject": reject.ravel(),
        "status": status.ravel(),
        "n": np.repeat(sizes, tests),
    }, columns=list(COLUMNS))


@dataclass(frozen=True)
class DiversityResult:
    """Do K draws of one generator vary as independent N(mean, std) samples would?

    spread_ratio: mean over coordinates of the sd across draws (ddof=1), divided by std;
      about c4(K) (0.80 at K = 2, 0.97 at K = 10) for independent draws, 0 for a collapsed one.
    statistic: Σ_j Σ_k (x_kj - x̄_j)² / std², chi2(df) with df = n(K - 1) under H0.
    pvalue: lower tail of that chi-square (too little variation across draws).
    collapsed: pvalue < alpha and spread_ratio < COLLAPSE_SPREAD; True whenever status is not ok.
    """

    spread_ratio: float
    statistic: float
    df: int
    pvalue: float
    collapsed: bool
    status: str
    k: int
    n: int


def diversity(draws, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05) -> DiversityResult:
    """Test a (K, n) array of K noise draws of one generator for collapse.

    Deviations are taken from each coordinate's own mean across draws, so ``mean`` does not enter
    the statistic (it is validated for a uniform signature): measuring from the target mean would
    let a generator that always emits one good-looking vector pass. Input that cannot be tested
    (not 2-D, K < 2, no values, non-finite or huge values) gets a status saying why and
    collapsed=True. Raises ValueError for malformed arguments.
    """
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    try:
        x = np.asarray(draws)
    except ValueError:  # draws of different lengths
        return _undecided(NOT_2D, len(draws), 0)
    if x.dtype == object:
        return _undecided(NOT_2D, len(x), 0)
    _check_numeric(x, "draws")
    if x.ndim != 2:
        return _undecided(NOT_2D, x.shape[0] if x.ndim else 0, x.shape[-1] if x.ndim else 0)
    k, n = x.shape
    if k < 2:
        return _undecided(TOO_FEW_DRAWS, k, n)
    if n < 1:
        return _undecided(gof.TOO_FEW, k, n)
    if not np.isfinite(x).all():
        return _undecided(gof.NON_FINITE, k, n)
    if np.abs(x).max() > gof.MAX_ABS:
        return _undecided(gof.TOO_LARGE, k, n)
    x = x.astype(float, copy=False)
    deviations = x - x.mean(axis=0)
    statistic = float((deviations**2).sum() / std**2)
    df = n * (k - 1)
    pvalue = float(special.chdtr(df, statistic))
    spread_ratio = float(x.std(axis=0, ddof=1).mean() / std)
    collapsed = bool(pvalue < alpha and spread_ratio < COLLAPSE_SPREAD)
    return DiversityResult(spread_ratio, statistic, df, pvalue, collapsed, gof.OK, k, n)


def _undecided(status: str, k: int, n: int) -> DiversityResult:
    """Untestable draws: counted as collapsed, so a broken generator never passes."""
    return DiversityResult(np.nan, np.nan, 0, np.nan, True, status, k, n)

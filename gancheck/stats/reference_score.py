"""score(..., reference=y): every sample against a real sample instead of a formula.

The same long table as score() against a formula (one row per (sample, test), the same columns,
statuses and reject rule), with the two-sample tests of gancheck.stats.two_sample in place of
the one-sample ones. Differences worth knowing:

- hypothesis is "two-sample": the sample and the reference are iid from one law, whatever it is.
- Ties never leave a test unrun: the permutation p-values are exact conditional on the pooled
  values, ties included, so rounded data are tested (no ``ties`` status), and the statistics with
  ties are those of the tie-block ends.
- A broken sample (empty, non-finite, constant, huge values, not 1-D) rejects on every test, as
  against a formula; a sample shorter than a test's min_n gets ``too few values`` (not tested).
- A broken reference is an error (ValueError naming ``reference``), not a status: it is the
  yardstick, and no row could be read without it.

score() calls this module (not the reverse, so there is no import circle): it hands over the
samples as it parsed them, its columns and its reject rule, so the two tables cannot drift apart.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.stats import gof, two_sample


def score_reference(rows, reference, *, alpha: float, columns, reject,
                    permutations: int = two_sample.PERMUTATIONS, seed: int = two_sample.PERMUTATION_SEED
                    ) -> pd.DataFrame:
    """Test every sample against the sample ``reference``; one row per (sample, test).

    rows: the samples as score() parses them (a 2-D float array, or a list of (row or None,
    size) for ragged input); columns and reject: score()'s COLUMNS and reject_rule. Rows in sample
    order, tests in gancheck.stats.two_sample.TESTS order. ``permutations`` and ``seed`` set the
    permutation p-values (two_sample.compare).
    """
    gof.check_parameters(mean=0.0, std=1.0, alpha=alpha)
    y = two_sample.check_reference(reference)
    if isinstance(rows, np.ndarray):
        blocks = {rows.shape[1]: (np.arange(rows.shape[0]), rows)}
        sizes = np.full(rows.shape[0], rows.shape[1])
        count = rows.shape[0]
    else:
        blocks = _by_length(rows)
        sizes = np.array([size for _, size in rows], dtype=int)
        count = len(rows)
    tests = two_sample.TESTS
    statistic = np.full((count, len(tests)), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    status = np.full(statistic.shape, gof.NOT_1D, dtype=object)
    for index, block in blocks.values():
        statistic[index], pvalue[index], status[index] = _score_block(block, y, permutations, seed)
    return _frame(statistic, pvalue, status, sizes, alpha, columns, reject)


def _by_length(rows: list) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Ragged rows grouped by length (rows that are not 1-D stay out: their status is NOT_1D)."""
    groups: dict[int, list[int]] = {}
    for i, (row, size) in enumerate(rows):
        if row is not None:
            groups.setdefault(size, []).append(i)
    return {length: (np.array(index), np.stack([rows[i][0] for i in index]) if length
                     else np.empty((len(index), 0))) for length, index in groups.items()}


def _score_block(x: np.ndarray, y: np.ndarray, permutations: int, seed: int):
    """statistic, pvalue, status: (rows, tests) for rows of one length."""
    tests = two_sample.TESTS
    rows, n = x.shape
    statistic = np.full((rows, len(tests)), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    row_status = gof.row_status(x)
    status = np.repeat(row_status[:, None], len(tests), axis=1)
    ok = np.flatnonzero(row_status == gof.OK)
    runnable = [j for j, t in enumerate(tests) if n >= t.min_n]
    status[np.ix_(ok, [j for j in range(len(tests)) if j not in runnable])] = gof.TOO_FEW
    if ok.size and runnable:
        cols = np.array(runnable)
        statistic[np.ix_(ok, cols)], pvalue[np.ix_(ok, cols)] = two_sample.compare(
            x[ok], y, tests=[tests[j].name for j in runnable], permutations=permutations, seed=seed)
    # Defensive, as score(): a test that could not produce a number must not read as a pass.
    failed = (status == gof.OK) & ~(np.isfinite(statistic) & np.isfinite(pvalue))
    status[failed] = gof.TEST_FAILED
    statistic[failed] = pvalue[failed] = np.nan
    return statistic, pvalue, status


def _frame(statistic, pvalue, status, sizes, alpha: float, columns, reject) -> pd.DataFrame:
    m, count = statistic.shape
    tests = two_sample.TESTS
    return pd.DataFrame({
        "sample": np.repeat(np.arange(m), count),
        "test": np.tile(np.array([t.name for t in tests], dtype=object), m),
        "hypothesis": np.tile(np.array([t.hypothesis for t in tests], dtype=object), m),
        "statistic": statistic.ravel(),
        "pvalue": pvalue.ravel(),
        "reject": reject(pvalue, status, alpha).ravel(),
        "status": status.ravel(),
        "n": np.repeat(sizes, count),
    }, columns=list(columns))

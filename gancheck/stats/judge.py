"""judge(): one generator judged on all K of its draws, one row per registry test."""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats

from gancheck import targets
from gancheck.stats import gof, registry, targeting
from gancheck.stats.diversity import DiversityResult, diversity
from gancheck.stats.scoring import decision_arrays, reject_rule, test_arrays
from gancheck.stats.tolerance import Tolerance

#: Columns of judge()'s table (the lead's aggregation reads them).
COLUMNS = ("test", "group", "hypothesis", "statistic", "pvalue", "reject", "reject_rate", "status", "k", "n")


def judge(draws, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05, target=None,
          reference=None) -> pd.DataFrame:
    """The table of `judge_generator` (its docstring says what each row means). ``reference`` (a
    1-D real sample): the two-sample table instead (gancheck.stats.reference_verdict)."""
    targets.refuse_mean_std_beside(target=target, reference=reference, mean=mean, std=std)
    draws = as_draws(draws)
    if reference is not None:
        targeting.one_of(target, reference)
        from gancheck.stats.reference_verdict import reference_judge  # two-sample mode
        return reference_judge(draws, reference, alpha=alpha)[0]
    return judge_generator(draws, mean=mean, std=std, alpha=alpha, target=target)[0]


def judge_generator(draws, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05,
                    tolerance: Tolerance | None = None,
                    target=None) -> tuple[pd.DataFrame, DiversityResult | None]:
    """Judge a generator on its (K, n) draws: one row per registry test that applies to the
    target (default N(mean, std); ``target`` as score() takes it), in registry order.

    Per-sample tests (every score() test): each of the K draws is scored; reject_rate is the share
    of draws the test rejects, statistic the median over draws of the per-draw statistic (e.g. KS
    D, A², mean error), and pvalue the exact binomial tail P(Bin(K, alpha) >= rejections) (with
    one draw, K = 1, the draw's own statistic and p-value: that tail would be alpha or 1). If the
    generator is perfect its draws are independent samples of the target, so the K per-draw
    rejections are iid Bernoulli(alpha) (each test is exact or simulated at level alpha) and the
    binomial tail is a valid p-value, conservative because it is discrete. It judges the generator
    at the user's sample size n (the question "does one draw of n look right?", asked K times);
    pooling all K·n values into one sample would instead test at n·K and would be invalid under
    collapse, where the draws are dependent. Power grows with K: one draw of n = 500 from
    N(4.15, 1.25) is rejected by KS with probability 0.63, K = 100 draws almost always.

    Diversity tests (fixed_coordinates, reused_values, heterogeneity): statistic is the
    component's effect size (fixed_share; repeats over their chance count; draw_share), pvalue
    the component's own p-value (``tolerance`` sets the repeats' ratio), reject p < alpha / 2 for
    the two memorisation components (Bonferroni) and p < alpha for heterogeneity, reject_rate NaN.
    These rows say whether a test DETECTS something; whether it matters is the verdict's question
    (gancheck.stats.verdict), asked against the tolerance.

    status is "ok", a BROKEN status (gof.BROKEN_STATUSES; reject True) when any draw is broken
    for the test, else an UNTESTED status (gof.UNTESTED_STATUSES; reject False, pvalue NaN) when
    any draw is one the test cannot take. A row whose status is not ok never counts as a pass.

    Returns the table and diversity's full result (None when draws are not 2-D), so a caller
    that stores both computes diversity once.
    """
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    plan = targeting.resolve(target, mean=mean, std=std)
    tests = registry.score_tests(plan.target)
    x = as_draws(draws)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"draws must hold real numbers, got dtype {x.dtype}")
    if x.ndim != 2:
        k, n = (x.shape[0], int(np.prod(x.shape[1:]))) if x.ndim else (0, 0)
        return _frame([_row(t, status=gof.NOT_2D) for t in (*tests, *registry.DIVERSITY_TESTS)], k, n), None
    k, n = x.shape
    if k == 1:
        # One draw: the generator's test is the draw's own. The binomial tail of one draw is alpha
        # or 1, and p < alpha never holds, so a single draw, however far off, was never rejected.
        statistic, pvalue, status = test_arrays(x.astype(float, copy=False), plan, tests, alpha)
        reject = reject_rule(pvalue, status, alpha)
    else:
        statistic, reject, status = decision_arrays(x.astype(float, copy=False), plan, tests, alpha)
        pvalue = None
    rows = [_judge_sample_test(statistic[:, j], reject[:, j], status[:, j], test, alpha,
                               None if pvalue is None else pvalue[0, j])
            for j, test in enumerate(tests)]
    result = diversity(x, mean=mean, std=std, alpha=alpha, tolerance=tolerance, target=target)
    rows += result.rows(registry.DIVERSITY_TESTS, _row)
    return _frame(rows, k, n), result


def as_draws(draws) -> np.ndarray:
    """``draws`` as an array (as given when it is one). What numpy cannot make an array of is
    refused here, naming the argument: numpy's own error speaks of an "inhomogeneous shape"."""
    if isinstance(draws, np.ndarray):
        return draws
    try:
        return np.asarray(draws)
    except ValueError as exc:
        what = "draws must be a (K, n) array of K draws of n values each"
        lengths = _row_lengths(draws)
        if len(lengths) > 1:
            shown = f"{', '.join(map(str, lengths[:-1]))} and {lengths[-1]}"
            raise ValueError(f"{what}: its rows must have equal length, got rows of lengths "
                             f"{shown}") from None
        raise ValueError(f"{what}: {exc}") from None   # ragged deeper down, say


def _row_lengths(draws) -> list[int]:
    """The distinct lengths of the rows, sorted; [] where some row has no length."""
    try:
        return sorted({len(row) for row in draws})
    except TypeError:
        return []


def _judge_sample_test(statistic: np.ndarray, reject: np.ndarray, status: np.ndarray,
                       test: registry.StatTest, alpha: float, own_pvalue: float | None = None) -> dict:
    """One test's row from its per-draw statistic, reject and status (one value per draw);
    ``own_pvalue``: the one draw's p-value, which is the row's when there is a single draw."""
    if status.size == 0:
        return _row(test, status=gof.TOO_FEW_DRAWS)
    broken = [s for s in status if s in gof.BROKEN_STATUSES]
    if broken:
        return _row(test, status=broken[0])
    untested = [s for s in status if s != gof.OK]
    if untested:
        return _row(test, status=untested[0])
    rejections = int(reject.sum())
    draws = status.size
    pvalue = _binomial_tail(rejections, draws, alpha) if own_pvalue is None else own_pvalue
    return _row(test, statistic=float(np.median(np.ascontiguousarray(statistic))), pvalue=float(pvalue),
                reject_rate=rejections / draws, alpha=alpha)


@functools.lru_cache(maxsize=4096)
def _binomial_tail(rejections: int, draws: int, alpha: float) -> float:
    """P(Bin(draws, alpha) >= rejections). Every test of every judged generator asks it of the
    same few (rejections, K, alpha), so it is cached; the cached value is scipy's own."""
    return float(stats.binom.sf(rejections - 1, draws, alpha))


def _row(test: registry.StatTest, *, statistic=np.nan, pvalue=np.nan, reject=None, reject_rate=np.nan,
         status=gof.OK, alpha=None) -> dict:
    if reject is None:
        if status in gof.BROKEN_STATUSES:
            reject = True
        elif status != gof.OK:
            reject = False
        else:
            reject = bool(pvalue < alpha)
    return {"test": test.name, "group": test.group, "hypothesis": test.hypothesis,
            "statistic": statistic, "pvalue": pvalue, "reject": bool(reject),
            "reject_rate": reject_rate, "status": status}


def _frame(rows: list[dict], k: int, n: int) -> pd.DataFrame:
    # Column by column: pandas infers the same dtypes as from the records (str, float64, bool),
    # at a third of the cost of building from a list of dicts.
    data = {c: [row[c] for row in rows] for c in COLUMNS if c not in ("k", "n")}
    data["reject"] = np.array(data["reject"], dtype=bool)
    data["k"], data["n"] = np.full(len(rows), k, dtype=np.int64), np.full(len(rows), n, dtype=np.int64)
    return pd.DataFrame(data, columns=list(COLUMNS))

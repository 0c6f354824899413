"""score(): arrays of numbers in, one tidy verdict per (sample, test) out.

Scoring knows nothing of GANs: ``score`` judges each sample (a 1-D run of numbers) against the
target, N(mean, std) by default or any continuous distribution (gancheck.targets), with the
per-sample tests of the registry that apply to it. ``diversity`` (K draws of one
generator) lives in gancheck.stats.diversity and is re-exported here.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gancheck import targets
from gancheck.stats import constant_chance, gof, grouped_ks, grouped_simulated, registry, repeats, rounded_mean, targeting, ties
from gancheck.stats.diversity import DiversityResult, diversity  # noqa: F401  (re-exported)

#: Columns of score()'s long-form table (a public contract: outside scripts read them).
COLUMNS = ("sample", "test", "hypothesis", "statistic", "pvalue", "reject", "status", "n")


def score(samples, *, mean: float = 4.0, std: float = 1.25, alpha: float = 0.05, target=None,
          reference=None) -> pd.DataFrame:
    """Test every sample against the target (default N(mean, std)); one row per (sample, test).

    ``target``: a spec string (``"gamma(a=2)"``), a frozen scipy.stats distribution, one of
    scipy's distribution objects (``stats.Normal``, ``stats.Mixture``, ...) or a
    gancheck.targets.Target; it replaces mean and std. Only the tests that apply to the target
    have rows (registry.score_tests: e.g. Shapiro-Wilk only for a normal target). ``reference``:
    a sample of real data to compare with instead of a formula (two-sample mode).

    ``samples`` is 1-D (one sample) or 2-D (one sample per row); a list of 1-D sequences of
    different lengths is also accepted. Columns: sample (row index), test, hypothesis ("simple":
    the target exactly; "composite": its shape at any location and scale, which the statistic
    ignores; on values on a coarse grid the rounded forms of skewness and kurtosis test the
    target rounded to the grid, whose shape depends a little on where the grid cuts it),
    statistic, pvalue,
    reject, status ("ok" or why the sample was not tested), n (values in the sample). Rows come
    in sample order, tests in registry order (registry.SCORE_TESTS). sample_name, after sample:
    a DataFrame's row label, a named Series' name, else "row 1", "row 2", ...

    Status and reject (a change from the first version of this contract, where every non-ok
    row rejected): a BROKEN sample (gof.BROKEN_STATUSES: empty, non-finite, constant, huge values,
    not 1-D) rejects on every test; a sample a test cannot take but that is not broken
    (gof.UNTESTED_STATUSES: fewer values than that test's min_n, or ties on a grid too coarse for
    it, see gancheck.stats.ties) gets reject False and a NaN p-value for that test only: not
    tested, neither passed nor failed. An ok row rejects when pvalue < alpha. Tied samples get the
    ``ties`` status rather than corrected p-values. Raises ValueError for malformed arguments
    (non-numeric samples, std <= 0, alpha outside (0, 1)).

    ``reference`` (a 1-D sample of real data): judge the samples against it instead of a formula,
    with two-sample tests (gancheck.stats.reference_score). mean and std other than their
    defaults are refused with target or reference, which replace them.
    """
    targets.refuse_mean_std_beside(target=target, reference=reference, mean=mean, std=std)
    if reference is not None:
        targeting.one_of(target, reference)
        from gancheck.stats.reference_score import score_reference  # two-sample mode
        rows = _as_rows(samples)
        return _named(score_reference(rows, reference, alpha=alpha, columns=COLUMNS, reject=reject_rule),
                      samples, len(rows))
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    plan = targeting.resolve(target, mean=mean, std=std)
    tests = registry.score_tests(plan.target)
    rows = _as_rows(samples)
    if isinstance(rows, np.ndarray):
        statistic, pvalue, status = _score_matrix(rows, plan, tests, alpha)
        sizes = np.full(rows.shape[0], rows.shape[1])
    else:
        statistic, pvalue, status, sizes = _score_ragged(rows, plan, tests, alpha)
    return _named(_frame(statistic, pvalue, status, sizes, alpha, tests), samples, len(sizes))


#: The column naming each sample, beside its index: a DataFrame's row label, a named Series'
#: name, else "row 1", "row 2", ... (the command line names its samples by column or row too).
SAMPLE_NAME = "sample_name"


def _named(frame: pd.DataFrame, samples, count: int) -> pd.DataFrame:
    """``frame`` with SAMPLE_NAME after its sample index."""
    if isinstance(samples, pd.DataFrame) and len(samples.index) == count:
        names = [str(label) for label in samples.index]
        if not isinstance(samples.columns, pd.RangeIndex) and samples.shape[1] > 1:
            warnings.warn("score: a DataFrame is read one sample per row (2-D input); its columns are "
                          "named, so if each column is a sample, pass frame.T", UserWarning, stacklevel=3)
    elif isinstance(samples, pd.Series) and samples.name is not None and count == 1:
        names = [str(samples.name)]
    else:
        names = [f"row {i}" for i in range(1, count + 1)]
    index = frame["sample"].to_numpy(dtype=np.int64)
    frame.insert(1, SAMPLE_NAME, np.asarray(names, dtype=object)[index] if count else np.array([], dtype=object))
    # Text columns as pandas' string type even when empty: pandas infers it from the values, so
    # a frame of no samples kept object columns, and concatenating it changed other frames' dtypes.
    return frame.astype({name: str for name in (SAMPLE_NAME, "test", "hypothesis", "status")})


def decision_arrays(x: np.ndarray, plan: targeting.Resolved, tests,
                    alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score()'s statistic, reject and status for a (K, n) array, as (K, T) arrays (one column
    per test), for a caller that keeps only those (judge): the tests that can (StatTest.decides)
    compute their p-value exactly only where it decides p < alpha, so no p-value is returned.
    Arrays, not score()'s long table: building and splitting it cost more than the tests at K = 100."""
    statistic, pvalue, status = _score_matrix(x, plan, tests, alpha, decide_at=alpha)
    return statistic, reject_rule(pvalue, status, alpha), status


def test_arrays(x: np.ndarray, plan: targeting.Resolved, tests,
                alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """score()'s statistic, p-value and status for a (K, n) array, as (K, T) arrays (one column
    per test), every p-value exact."""
    return _score_matrix(x, plan, tests, alpha)


def _as_rows(samples) -> np.ndarray | list:
    """A 2-D float array when the rows share one length; else a list of (row or None, size)."""
    if samples is None:  # numpy would turn it into NaN
        raise ValueError("samples must hold real numbers, got None")
    if isinstance(samples, (set, frozenset, dict)):
        # A set has no order and no repeats; a dict's values are not its samples by any rule.
        raise ValueError(f"samples must be an array or a list, got a {type(samples).__name__}")
    if isinstance(samples, np.ma.MaskedArray):
        samples = samples.astype(float).filled(np.nan)  # a masked value is a missing one: it fails its sample
    elif hasattr(samples, "__next__"):
        samples = list(samples)  # a generator or an iterator: numpy would hold it as one object
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


def _score_matrix(x: np.ndarray, plan: targeting.Resolved, tests, alpha: float, decide_at: float | None = None):
    """statistic, pvalue, status: (m, T) arrays for the rows of x and the tests (``alpha``: see
    _constant_by_rounding; ``decide_at``: see ``decision_arrays``)."""
    m, n = x.shape
    statistic = np.full((m, len(tests)), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    row_status = _constant_by_rounding(x, gof.row_status(x), plan, alpha)
    status = np.repeat(row_status[:, None], len(tests), axis=1)
    ok = np.flatnonzero(row_status == gof.OK)
    if ok.size == 0:
        return statistic, pvalue, status
    # Sort once; every test takes sorted rows (np.sort copies, so the caller's array is untouched).
    valid = np.sort(x if ok.size == m else x[ok], axis=1)
    coarse = ties.coarseness(valid)
    grid = targeting.order_grid(plan, valid, coarse.step)
    edge = targeting.rounded_over_an_edge(plan, valid, coarse.step)
    at_end = targeting.at_a_support_end(plan, valid)
    moments = ties.coarse_for_moment_tests(valid, coarse.square)
    steps: dict[int, float] = {}  # each row's regular grid step, read once for every rounded form
    for j, test in enumerate(tests):
        if n < test.min_n:
            status[ok, j] = gof.TOO_FEW
            continue
        tied = (ties.coarse_for_order_tests(valid, test.name, grid) | edge) if test.ties == "order" else moments
        if test.needs_interior:
            tied = tied | at_end
        status[ok[tied], j] = gof.TIES
        if test.name in ROUNDED_FORMS:
            inflates = _rounding_inflates(valid, coarse.square, plan) if test.name in ("mean", "std") else False
            # Only rows on a grid have a rounded form (A² also leaves untested a continuous row
            # with a value at a support's end, from which no grid step can be read).
            rounded = (tied | inflates) & (coarse.step > 0)
            rounded = _rounded(ROUNDED_FORMS[test.name], valid, ok, rounded, plan, steps,
                               statistic[:, j], pvalue[:, j], status[:, j])
            tied = tied | rounded
        if tied.all():
            continue
        rows = ok[~tied]
        block = valid if not tied.any() else valid[~tied]
        deciding = {"decide_at": decide_at} if decide_at is not None and test.decides else {}
        statistic[rows, j], pvalue[rows, j] = (test.run(block, mean=plan.mean, std=plan.std, **deciding)
                                               if plan.is_normal else test.run_target(block, target=plan.target,
                                                                                      **deciding))
    _add_chance_of_constant(valid, ok, coarse.step, plan, steps, pvalue, status)
    # Defensive: a test that could not produce a number must not read as a pass.
    # An infinite statistic with p = 0 is a real answer (A² of a value outside a target's support).
    decisive = (statistic == np.inf) & (pvalue == 0)
    failed = (status == gof.OK) & ~((np.isfinite(statistic) | decisive) & np.isfinite(pvalue))
    status[failed] = gof.TEST_FAILED
    statistic[failed] = pvalue[failed] = np.nan
    return statistic, pvalue, status


#: The tests that rounded data keep, in a form of their own for values on one regular grid
#: too coarse for the usual one: KS against the target rounded to the same grid
#: (gancheck.stats.grouped_ks); the mean by the exact law of the rounded values' sum
#: (gancheck.stats.rounded_mean); A² and W² in their discrete forms (Choulakian, Lockhart &
#: Stephens 1994), the sd, g1 and g2 of the rounded values, each against its null simulated
#: from the target rounded to the grid (gancheck.stats.grouped_simulated).
ROUNDED_FORMS = {"ks": grouped_ks.grouped_ks, "ad": grouped_simulated.grouped_ad,
                 "cvm": grouped_simulated.grouped_cvm, "mean": rounded_mean.rounded_mean,
                 "std": grouped_simulated.grouped_std, "skew": grouped_simulated.grouped_skew,
                 "kurtosis": grouped_simulated.grouped_kurtosis}


#: Rounding that adds more than this share to a value's variance (h²/12 over the target's sd²)
#: gives the mean test its rounded form even where the ties rule lets the plain one run: on
#: whole numbers of N(4, 1.25) (5%), with the plain z test left on the samples the ties rule let
#: through, 0.061 of 2,000 true-target samples were rejected at n = 8. One decimal adds 0.05%
#: and float32 output nothing measurable: they keep the plain test. The sd test likewise: the
#: ties rule reads the sample's own sd, so on those whole numbers it sent the samples of small
#: s to the rounded form and the rest to the chi-square test, whose upper tail the 5% rejects
#: too often: 0.064 of 4,000 at n = 10 and at n = 16; with every such row on the rounded form,
#: 0.039 to 0.053 at n = 8 to 40. The same share of any other target's variance.
SHEPPARD_MIN = 1e-3


def _rounding_inflates(valid: np.ndarray, square: np.ndarray, plan: targeting.Resolved) -> np.ndarray:
    """Rows (sorted, valid) whose grid adds more than SHEPPARD_MIN of the target's variance
    (``square``: coarseness' mean squared cell, in the row's sds)."""
    # (s / sd)², not s² / sd²: a target sd of 1e308 would overflow.
    return square / 12.0 * (valid.std(axis=1, ddof=1) / plan.std) ** 2 > SHEPPARD_MIN


def _rounded(form, valid: np.ndarray, ok: np.ndarray, rows: np.ndarray, plan: targeting.Resolved,
             steps: dict, statistic: np.ndarray, pvalue: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Fill one test's column, by its rounded ``form``, for the ``rows`` that lie on one regular
    grid (in place); the others keep their status. ``steps`` caches each row's grid step.
    Returns the rows filled."""
    filled = np.zeros(valid.shape[0], dtype=bool)
    for i in np.flatnonzero(rows):
        if i not in steps:
            steps[i] = grouped_ks.regular_step(valid[i])
        h = steps[i]
        if h > 0:
            value, p = form(valid[i], h, plan)
            if np.isfinite(p):
                statistic[ok[i]], pvalue[ok[i]], status[ok[i]] = value, p, gof.OK
                filled[i] = True
    return filled


def _add_chance_of_constant(valid: np.ndarray, ok: np.ndarray, coarse_step: np.ndarray, plan: targeting.Resolved,
                            steps: dict, pvalue: np.ndarray, status: np.ndarray) -> None:
    """Add to every tested p-value of a row on a regular grid the target's chance of a constant
    sample at least as rare on that grid (in place), so that failing constant samples spends no
    alpha of its own (gancheck.stats.constant_chance). Rows off a grid (float32 output among
    them) are untouched."""
    n = valid.shape[1]
    for i in np.flatnonzero(coarse_step > 0):
        if i not in steps:
            steps[i] = grouped_ks.regular_step(valid[i])
        if steps[i] > 0:
            tested = status[ok[i]] == gof.OK
            pvalue[ok[i], tested] = constant_chance.varying_pvalues(pvalue[ok[i], tested], plan, steps[i],
                                                                    float(valid[i, 0]), n)


def _constant_by_rounding(x: np.ndarray, status: np.ndarray, plan: targeting.Resolved,
                          alpha: float) -> np.ndarray:
    """``status`` with the constant rows that the data's resolution explains marked TIES.

    A constant sample is a collapsed output, and fails, unless the target's own samples, written
    at that resolution, are as likely to be that constant as a test's false alarm: every value of
    N(-0.02, 0.003) written to one decimal is -0.0, and two values of N(4, 1.25) written as
    integers are both 3 one time in 16. The chance is that of a constant sample at least as
    rare (gancheck.stats.constant_chance.constant_pvalue, which also says why); at alpha or
    more the sample is not tested (as a verdict leaves such draws undecided,
    decision.constant_draws_pvalue), below it the sample fails: eight 4s against N(4, 1.25)
    (about 1e-4), a float32 output stuck on one number (cells of about 1e-7 of its size), or
    100000 written as 1e+05 (no mass in its cell at all)."""
    n = x.shape[1]
    for row in np.flatnonzero(status == gof.CONSTANT):
        value, cell = x[row, 0], float(repeats.value_cells(x[row:row + 1])[0].max())
        if constant_chance.constant_pvalue(plan, cell, value, n) >= alpha:
            status[row] = gof.TIES
    return status


def _score_ragged(rows: list, plan: targeting.Resolved, tests, alpha: float):
    """Score rows of different lengths: one vectorised pass per length."""
    statistic = np.full((len(rows), len(tests)), np.nan)
    pvalue = np.full_like(statistic, np.nan)
    status = np.full((len(rows), len(tests)), gof.NOT_1D, dtype=object)
    sizes = np.array([size for _, size in rows], dtype=int)
    by_length: dict[int, list[int]] = {}
    for i, (row, size) in enumerate(rows):
        if row is not None:
            by_length.setdefault(size, []).append(i)
    for length, index in by_length.items():
        block = np.stack([rows[i][0] for i in index]) if length else np.empty((len(index), 0))
        statistic[index], pvalue[index], status[index] = _score_matrix(block, plan, tests, alpha)
    return statistic, pvalue, status, sizes


def _frame(statistic, pvalue, status, sizes, alpha: float, tested) -> pd.DataFrame:
    m, tests = statistic.shape
    reject = reject_rule(pvalue, status, alpha)
    return pd.DataFrame({
        "sample": np.repeat(np.arange(m), tests),
        "test": np.tile(np.array([t.name for t in tested], dtype=object), m),
        "hypothesis": np.tile(np.array([t.hypothesis for t in tested], dtype=object), m),
        "statistic": statistic.ravel(),
        "pvalue": pvalue.ravel(),
        "reject": reject.ravel(),
        "status": status.ravel(),
        "n": np.repeat(sizes, tests),
    }, columns=list(COLUMNS))


def reject_rule(pvalue: np.ndarray, status: np.ndarray, alpha: float) -> np.ndarray:
    """reject: True for ok rows with p < alpha and for broken rows, False for untested rows.

    ~(p >= alpha) rather than p < alpha: an ok row with a NaN p-value must reject, never pass.
    """
    untested = np.isin(status, list(gof.UNTESTED_STATUSES))
    return np.where(untested, False, ~(pvalue >= alpha) | (status != gof.OK))

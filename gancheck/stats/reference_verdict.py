"""verdict(draws, reference=y): one generator's outcome when the target is a real sample.

The decision list, its outcomes and its alpha budget are those of a formula target
(gancheck.stats.decision); what changes is how each tolerance band is tested, because the
target's mean, sd and CDF are now estimates from the m reference values, with their own
sampling error. Each band statistic is a difference "generator minus reference" whose standard
error adds the two independent parts: the generator's from the spread ACROSS its K draws (the
draw is the unit, as against a formula: gancheck.stats.criteria) and the reference's from its m
iid values. The difference is referred to Student's t with Welch–Satterthwaite degrees of
freedom (Welch 1947, Biometrika 34), which reduce to K - 1 as m grows. So a generator identical
in law to the reference is shown outside a band in at most alpha of cases (Holm over the six
departure tests, as against a formula) however small the reference; a small reference only
makes "shown within" harder, so such a generator is then ``undecided``, not ``on_target``.
The bands' unit, sd(y), is itself an estimate: its relative error (about 1/√(2m)) moves a band's
edge by that share of the band, which matters only for a generator right at the edge.

=========== ============================================================== =====================
criterion   estimate (generator - reference)                               band
=========== ============================================================== =====================
mean        mean of the draws' means - mean(y); se² = var(draw means)/K    ± mean · sd(y)
            + var(y)/m
std         sd - sd(y), tested as log(mean draw variance / var(y)); the    sd within (1 ± std)
            reference part of the variance of log var(y) is                · sd(y)
            (kurtosis(y) - (m - 3)/(m - 1)) / m (any law, not only normal)
ks          at the reference's 1%, ..., 99% quantiles q: the draws' mean   ± ks (outside),
            share <= q (and < q) minus y's; the reference part of the      ± (ks - allowance)
            variance is G(1 - G)/m (Bahadur: the true level of an          (within)
            empirical quantile errs by a binomial share)
tail        the draws' share beyond mean(y) ± 3 sd(y) minus y's share      excess <= tail - the
            there, per side                                                normal's 0.135%
=========== ============================================================== =====================

The ks band bounds sup|F - G| from a grid as against a formula (gancheck.stats.criteria), but
the grid's points are now the reference's empirical quantiles, so the mass G puts between two
neighbours is not known to be 1%: the within allowance is the largest Clopper–Pearson upper
bound (joint level 1 - GRID_COVERAGE_ERROR, Bonferroni over the gaps) of those masses, about
0.016 at m = 5,000 and 0.035 at m = 500. Each point is read at q and just below it, so the gaps
are open intervals: on rounded data, whose atoms are the grid points, they hold (almost) nothing
but the tails beyond the 1% and 99% points. A reference of a few hundred values therefore cannot
show a generator within a KS band of 0.04: its own ECDF is that uncertain.
The tail band keeps the formula-target meaning: a normal reference allows the generator 0.5% of
values beyond 3 sds per side, as N(mean, std) does; other laws allow the same excess over their
own share.

The judge table lists the two-sample tests (gancheck.stats.two_sample) and the diversity tests.
A two-sample row's statistic is the median over draws of the per-draw statistic and its
reject_rate the share of draws rejected against the reference at alpha; its p-value is NOT the
binomial tail used against a formula, because every draw is compared with the same reference and
their rejections are dependent through it. It is the p-value of the generated values pooled
(all K·n of them, or the first draws up to POOLED_MAX values) against the reference: valid when
the generator's values are iid from the reference's law, which is the null of "no departure".
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from gancheck.stats import gof, two_sample
from gancheck.stats.criteria import GRID, TAIL_SDS, CriterionTest, _band_p, _share_se, exact_count_p
from gancheck.stats.decision import decide_on_draws
from gancheck.stats.diversity import DiversityResult, diversity
from gancheck.stats.reference_score import score_reference
from gancheck.stats.registry import DIVERSITY_TESTS
from gancheck.stats.scoring import COLUMNS, reject_rule
from gancheck.stats.tolerance import Tolerance, as_tolerance

#: Chance that some gap of the ks grid holds more reference mass than its allowance assumes.
GRID_COVERAGE_ERROR = 0.001
#: A normal law's share beyond 3 sds on one side, Φ(-3): the tail band's baseline.
NORMAL_TAIL = float(stats.norm.sf(3.0))
#: Permutations of the judge table's two-sample p-values: the pooled sample holds K·n + m values,
#: so fewer than for score() (Monte Carlo error of the level √(0.05·0.95/1000) = 0.007).
JUDGE_PERMUTATIONS = 999
#: Permutations of each draw's own test, which only feeds the descriptive reject_rate: a valid
#: p-value at any R, and alpha (R + 1) = 10 is whole.
DRAW_PERMUTATIONS = 199
#: The pooled test takes whole draws up to this many generated values (the first draws: a choice
#: made before looking at the data, so the test stays valid). Its cost grows with the pooled
#: size, and 20,000 values already detect a 0.05-sd shift against a large reference.
POOLED_MAX = 20_000
JUDGE_COLUMNS = ("test", "group", "hypothesis", "statistic", "pvalue", "reject", "reject_rate", "status", "k", "n")


def reference_verdict(draws, reference, *, tolerance: Tolerance | None = None, alpha: float = 0.05,
                      diverged: bool = False, permutations: int = JUDGE_PERMUTATIONS,
                      seed: int = two_sample.PERMUTATION_SEED) -> dict:
    """Judge a generator on its (K, n) draws against the sample ``reference`` (module docstring).

    The fields of gancheck.stats.verdict.Verdict, as a dict (verdict(draws, reference=y) makes
    the Verdict; this module does not import that one, which calls it). Same outcomes and alpha
    budget as against a formula; ValueError for a broken reference or malformed arguments.
    """
    gof.check_parameters(mean=0.0, std=1.0, alpha=alpha)
    y = two_sample.check_reference(reference)
    tolerance = as_tolerance(tolerance)
    centre, spread = float(y.mean()), float(y.std(ddof=1))
    judged, div = reference_judge(draws, y, alpha=alpha, tolerance=tolerance, permutations=permutations, seed=seed)
    k, n = int(judged["k"].iloc[0]), int(judged["n"].iloc[0])
    decision, table = decide_on_draws(draws, judged=judged, div=div, std=spread, tolerance=tolerance,
                                      alpha=alpha, diverged=diverged,
                                      bands=lambda x: criteria(x, y, tolerance=tolerance),
                                      cell_mass=lambda width: largest_share_within(y, width))
    return dict(outcome=decision.outcome, reason=decision.reason + f" (against a reference of {y.size:,} "
                f"values, mean {centre:.4g}, sd {spread:.4g})", detected=decision.detected,
                judge=judged, criteria=table, diversity=div, tolerance=tolerance, alpha=alpha, k=k, n=n)


def largest_share_within(y: np.ndarray, width: float) -> float:
    """The largest share of the reference's values in one closed interval of ``width``: the
    reference's own fullest cell, as a formula's is its largest probability in one."""
    ordered = np.sort(y)
    inside = np.searchsorted(ordered, ordered + width, side="right") - np.arange(ordered.size)
    return float(inside.max() / ordered.size)


def criteria(x: np.ndarray, y: np.ndarray, *, tolerance: Tolerance) -> list[CriterionTest]:
    """The four band tests of finite (K, n) draws, K >= 2, n >= 2, against the sorted reference y."""
    k, n = x.shape
    m = y.size
    centre, variance = y.mean(), y.var(ddof=1)
    spread = np.sqrt(variance)
    means = x.mean(axis=1)
    se_g, se_r = means.var(ddof=1) / k, variance / m
    out = [_test("mean", means.mean() - centre, se_g, se_r, k, m,
                 -tolerance.mean * spread, tolerance.mean * spread)]
    out.append(_scale(x, y, tolerance.std))
    out.append(_ks(x, y, tolerance.ks))
    out.append(_tail(x, y, tolerance.tail))
    return out


def welch_df(var_g, var_r, k: int, m: int):
    """Welch–Satterthwaite degrees of freedom of a sum of two variance estimates."""
    total = var_g + var_r
    with np.errstate(divide="ignore", invalid="ignore"):
        df = total**2 / (var_g**2 / (k - 1) + var_r**2 / (m - 1))
    return np.where(np.isfinite(df) & (df > 0), df, k - 1)


def _test(name, estimate, var_g, var_r, k, m, low, high, report=None) -> CriterionTest:
    se = np.sqrt(var_g + var_r)
    p_within, p_outside = _band_p(estimate, se, low, high, welch_df(var_g, var_r, k, m))
    estimate, low, high, se_shown = report or (estimate, low, high, se)
    return CriterionTest(name, float(estimate), float(low), float(high), float(se_shown),
                         float(p_within), float(p_outside))


def _scale(x: np.ndarray, y: np.ndarray, band: float) -> CriterionTest:
    k, m = x.shape[0], y.size
    variances = x.var(axis=1, ddof=1)
    mean_var, ref_var = variances.mean(), y.var(ddof=1)
    var_g = variances.var(ddof=1) / k / mean_var**2  # delta method: var(log V̄)
    kurtosis = np.mean((y - y.mean()) ** 4) / np.mean((y - y.mean()) ** 2) ** 2
    var_r = max(kurtosis - (m - 3) / (m - 1), 0.0) / m  # var(log s²) of m iid values, any law
    log_ratio = np.log(mean_var / ref_var)
    sd, ref_sd = np.sqrt(mean_var), np.sqrt(ref_var)
    shown = (sd - ref_sd, -band * ref_sd, band * ref_sd, sd / 2 * np.sqrt(var_g + var_r))
    return _test("std", log_ratio, var_g, var_r, k, m, 2 * np.log1p(-band), 2 * np.log1p(band), shown)


def _ks(x: np.ndarray, y: np.ndarray, band: float) -> CriterionTest:
    """KS band on a grid of the reference's quantiles, each read at and just below the point
    (shares <= q and < q), so that an atom at a grid point (rounded data) is not a gap: the sup is
    bounded by the largest difference read plus the largest reference mass strictly between
    neighbouring points (grid_allowance)."""
    k, n = x.shape
    m = y.size
    points = np.unique(np.quantile(y, GRID, method="inverted_cdf"))
    below, upto = np.searchsorted(y, points, side="left") / m, np.searchsorted(y, points, side="right") / m
    ref = np.column_stack([below, upto]).ravel()
    rows = np.sort(x, axis=1)
    shares = np.stack([np.column_stack([np.searchsorted(row, points, side="left"),
                                        np.searchsorted(row, points, side="right")]).ravel() for row in rows]) / n
    diff = shares.mean(axis=0) - ref
    var_g = _share_se(shares, k, n) ** 2
    level = (ref * m + 0.5) / (m + 1.0)  # floored like the generator's shares (criteria._share_se)
    var_r = level * (1 - level) / m
    df = welch_df(var_g, var_r, k, m)
    se = np.sqrt(var_g + var_r)
    gaps = np.concatenate([[below[0]], below[1:] - upto[:-1], [1.0 - upto[-1]]])
    allowance = grid_allowance(gaps, m)
    _, p_outside = _band_p(diff, se, -band, band, df)
    p_within, _ = _band_p(diff, se, -(band - allowance), band - allowance, df)
    if not band > allowance:
        p_within = np.ones_like(diff)
    worst = int(np.argmax(np.abs(diff)))
    return CriterionTest("ks", float(np.abs(diff).max()), 0.0, band, float(se[worst]),
                         float(p_within.max()), float(min(1.0, diff.size * p_outside.min())))


def grid_allowance(gaps: np.ndarray, m: int) -> float:
    """Upper bound on the largest reference mass strictly between neighbouring grid points (and
    beyond the ends): Clopper–Pearson upper limits of the gaps' shares of m values, at a joint
    level 1 - GRID_COVERAGE_ERROR (Bonferroni over the gaps)."""
    counts = np.rint(gaps * m)
    level = 1 - GRID_COVERAGE_ERROR / gaps.size
    upper = np.where(counts < m, stats.beta.ppf(level, counts + 1, np.maximum(m - counts, 1)), 1.0)
    return float(upper.max())


def _tail(x: np.ndarray, y: np.ndarray, band: float) -> CriterionTest:
    k, n = x.shape
    m = y.size
    centre, spread = y.mean(), y.std(ddof=1)
    low, high = centre - TAIL_SDS * spread, centre + TAIL_SDS * spread
    shares = np.stack([(x < low).mean(axis=1), (x > high).mean(axis=1)], axis=1)
    ref = np.array([(y < low).mean(), (y > high).mean()])
    excess = shares.mean(axis=0) - ref
    var_g = _share_se(shares, k, n) ** 2
    floor = (ref * m + 0.5) / (m + 1.0)
    var_r = floor * (1 - floor) / m
    limit = band - NORMAL_TAIL
    se = np.sqrt(var_g + var_r)
    p_within, p_outside = _band_p(excess, se, -np.inf, limit, welch_df(var_g, var_r, k, m))
    # The exact count as against a formula (criteria.exact_count_p), the reference's share taken
    # as observed (the t part carries its own error): with t alone a generator at the band's edge
    # was called within in 0.12 of cases at K = 20, n = 50 beside 100,000 reference values.
    p_within = np.maximum(p_within, exact_count_p(shares.mean(axis=0), k, n, np.minimum(1.0, ref + limit)))
    worst = int(np.argmax(excess))
    return CriterionTest("tail", float(excess[worst]), float(-ref[worst]) + 0.0, float(limit), float(se[worst]),
                         float(p_within.max()), float(min(1.0, 2 * p_outside.min())))


def reference_judge(draws, reference, *, alpha: float = 0.05, tolerance: Tolerance | None = None,
                    permutations: int = JUDGE_PERMUTATIONS, seed: int = two_sample.PERMUTATION_SEED
                    ) -> tuple[pd.DataFrame, DiversityResult | None]:
    """judge()'s table against the reference: the two-sample tests, then diversity (module
    docstring), and diversity's result."""
    gof.check_parameters(mean=0.0, std=1.0, alpha=alpha)
    y = two_sample.check_reference(reference)
    x = np.asarray(draws) if not isinstance(draws, np.ndarray) else draws
    if x.dtype.kind not in "biuf":
        raise ValueError(f"draws must hold real numbers, got dtype {x.dtype}")
    tests = two_sample.TESTS
    if x.ndim != 2:
        k, n = (x.shape[0], int(np.prod(x.shape[1:]))) if x.ndim else (0, 0)
        rows = [_row(t, status=gof.NOT_2D) for t in tests] + [_row(t, status=gof.NOT_2D) for t in DIVERSITY_TESTS]
        return _frame(rows, k, n), None
    x = x.astype(float, copy=False)
    k, n = x.shape
    table = dict(alpha=alpha, columns=COLUMNS, reject=reject_rule, seed=seed)
    per_draw = score_reference(x, y, permutations=DRAW_PERMUTATIONS, **table)
    used = x[:max(1, POOLED_MAX // max(n, 1))]
    pooled = score_reference(np.ascontiguousarray(used).reshape(1, -1), y, permutations=permutations, **table)
    rows = []
    for test in tests:
        draws_table = per_draw[per_draw["test"] == test.name]
        whole = pooled[pooled["test"] == test.name].iloc[0]
        status = draws_table["status"].to_numpy()
        broken = [s for s in status if s in gof.BROKEN_STATUSES]
        untested = [s for s in status if s != gof.OK]
        if broken or untested:
            rows.append(_row(test, status=(broken or untested)[0]))
            continue
        rows.append(_row(test, statistic=float(np.median(draws_table["statistic"])), pvalue=float(whole["pvalue"]),
                         reject=bool(whole["reject"]), reject_rate=float(draws_table["reject"].mean()),
                         status=str(whole["status"])))
    div = diversity(x, mean=float(y.mean()), std=float(y.std(ddof=1)), alpha=alpha, tolerance=tolerance)
    rows += div.rows(DIVERSITY_TESTS, _row)
    return _frame(rows, k, n), div


def _row(test, *, statistic=np.nan, pvalue=np.nan, reject=None, reject_rate=np.nan, status=gof.OK) -> dict:
    if reject is None:
        reject = status in gof.BROKEN_STATUSES  # an untested row never passes, nor rejects
    return {"test": test.name, "group": test.group, "hypothesis": test.hypothesis, "statistic": statistic,
            "pvalue": pvalue, "reject": bool(reject), "reject_rate": reject_rate, "status": status}


def _frame(rows: list[dict], k: int, n: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[c for c in JUDGE_COLUMNS if c not in ("k", "n")])
    frame["k"], frame["n"] = k, n
    frame["reject"] = frame["reject"].astype(bool)
    return frame[list(JUDGE_COLUMNS)]

"""gancheck.stats.gof: each test's statistic and p-value against an independent oracle."""
import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import gof

# Scoring must not warn on any input it accepts (pyproject already errors on FutureWarning).
pytestmark = pytest.mark.filterwarnings("error")

MEAN, STD = 4.0, 1.25


@pytest.fixture
def rows(rng):
    """Five sorted samples of 60 from the target."""
    return np.sort(rng.normal(MEAN, STD, size=(5, 60)), axis=1)


# --- statistics and p-values against scipy / statsmodels ------------------------------------

def test_ks_matches_scipy_exact(rows):
    d, p = gof.ks(rows, mean=MEAN, std=STD)
    for row, d_i, p_i in zip(rows, d, p):
        ref = stats.kstest(row, "norm", args=(MEAN, STD), method="exact")  # oracle: scipy
        assert d_i == pytest.approx(ref.statistic, rel=1e-12)
        assert p_i == pytest.approx(ref.pvalue, rel=1e-12)


def test_cvm_matches_scipy(rows):
    w, p = gof.cvm(rows, mean=MEAN, std=STD)
    for row, w_i, p_i in zip(rows, w, p):
        ref = stats.cramervonmises(row, "norm", args=(MEAN, STD))  # oracle: scipy, one row at a time
        assert w_i == pytest.approx(ref.statistic, rel=1e-12)
        assert p_i == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("decimals", [None, 1, 0])
@pytest.mark.parametrize("n", [2, 8, 60, 500])
def test_cvm_is_scipys_bit_for_bit(rng, n, decimals):
    # gof.cvm computes W² itself and calls scipy's p-value function: oracle scipy's own
    # cramervonmises on the same rows (all at once, as the earlier code called it), compared as
    # bytes, with and without ties and on a far-off sample (large W², scipy's clipped p).
    x = rng.normal(MEAN, STD, (7, n))
    x[-1] += 3 * STD
    x = np.sort(x if decimals is None else np.round(x, decimals), axis=1)
    w, p = gof.cvm(x, mean=MEAN, std=STD)
    ref = stats.cramervonmises(x, "norm", args=(MEAN, STD), axis=1)
    assert w.tobytes() == np.asarray(ref.statistic, dtype=float).tobytes()
    assert p.tobytes() == np.asarray(ref.pvalue, dtype=float).tobytes()


@pytest.mark.parametrize("n", [8, 9, 12, 13, 60, 501, 5000])
def test_shapiro_statistic_matches_scipy(rng, n):
    # Oracle: scipy.stats.shapiro (swilk, AS R94), one row at a time, across the n where Royston's
    # coefficient formulas change branch. Our W is computed vectorised from the same coefficients;
    # the two agree to ~3e-10 relative (swilk's internal arithmetic), hence rel=1e-8.
    rows = np.sort(rng.normal(MEAN, STD, size=(3, n)), axis=1)
    w = gof.shapiro_w(rows)  # the statistic gof.shapiro reports (without building a null table)
    for row, w_i in zip(rows, w):
        assert w_i == pytest.approx(stats.shapiro(row).statistic, rel=1e-8)


def test_shapiro_pvalue_is_lower_tail_of_the_null(rows):
    w, p = gof.shapiro(rows, mean=MEAN, std=STD)
    null = gof.shape_null(rows.shape[1]).shapiro
    for w_i, p_i in zip(w, p):
        # Definition: (1 + #{null W <= observed W}) / (1 + R), small W being non-normal.
        assert p_i == (1 + np.sum(null <= w_i)) / (1 + null.size)


def test_ad_statistic_matches_textbook_formula(rows):
    # Oracle: D'Agostino & Stephens (1986) eq. 4.2 written out with scipy's norm.cdf, row by row.
    a2, _ = gof.ad(rows, mean=MEAN, std=STD)
    n = rows.shape[1]
    i = np.arange(1, n + 1)
    for row, a2_i in zip(rows, a2):
        u = stats.norm.cdf(row, MEAN, STD)
        expected = -n - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))) / n
        assert a2_i == pytest.approx(expected, rel=1e-10)


def test_ad_matches_scipy_goodness_of_fit(rng):
    # Oracle: scipy.stats.goodness_of_fit with both parameters known: same A², Monte Carlo p.
    x = rng.normal(MEAN + 0.2, STD, size=50)
    ref = stats.goodness_of_fit(stats.norm, x, known_params={"loc": MEAN, "scale": STD},
                                statistic="ad", n_mc_samples=4999, rng=np.random.default_rng(1))
    a2, p = gof.ad(np.sort(x)[None, :], mean=MEAN, std=STD)
    assert a2[0] == pytest.approx(ref.statistic, rel=1e-10)
    # Binomial 99% band of a 4,999-draw Monte Carlo p-value around ours.
    assert abs(p[0] - ref.pvalue) <= 2.58 * math.sqrt(p[0] * (1 - p[0]) / 4999) + 1e-3


def test_ad_normal_statistic_matches_scipy_and_statsmodels(rows):
    from statsmodels.stats.diagnostic import normal_ad

    a2, p = gof.ad_normal(rows, mean=MEAN, std=STD)
    for row, a2_i in zip(rows, a2):
        # Oracles: scipy.stats.anderson (method given: only its statistic is used) and statsmodels.
        assert a2_i == pytest.approx(stats.anderson(row, method="interpolate").statistic, rel=1e-10)
        assert a2_i == pytest.approx(normal_ad(row)[0], rel=1e-10)
    assert np.all((p > 0) & (p <= 1))


def test_moment_statistics_match_scipy(rows):
    mean_err, _ = gof.mean_test(rows, mean=MEAN, std=STD)
    std_err, _ = gof.std_test(rows, mean=MEAN, std=STD)
    g1, _ = gof.skew_test(rows, mean=MEAN, std=STD)
    g2, _ = gof.kurtosis_test(rows, mean=MEAN, std=STD)
    # Oracles: numpy / scipy.stats with their defaults (bias=True, Fisher's excess kurtosis).
    np.testing.assert_allclose(mean_err, rows.mean(axis=1) - MEAN, rtol=1e-12)
    np.testing.assert_allclose(std_err, rows.std(axis=1, ddof=1) - STD, rtol=1e-12)
    np.testing.assert_allclose(g1, stats.skew(rows, axis=1), rtol=1e-10)
    np.testing.assert_allclose(g2, stats.kurtosis(rows, axis=1), rtol=1e-10)


def test_mean_pvalue_by_hand():
    # 16 values with mean 4.625: z = 0.625 * sqrt(16) / 1.25 = 2, two-sided p = 2 * Phi(-2)
    # = 0.0455003 (normal table).
    x = np.sort(4.625 + np.tile([-1.0, 1.0], 8))[None, :]
    err, p = gof.mean_test(x, mean=MEAN, std=STD)
    assert err[0] == pytest.approx(0.625, rel=1e-12)
    assert p[0] == pytest.approx(0.0455003, abs=1e-7)


def test_std_pvalue_by_hand():
    # 9 values with (n-1) s² / std² = 15.507, the upper 5% point of chi2(8) (printed tables), so
    # the equal-tailed two-sided p is 0.10; the table's rounding (±0.0005) moves p by < 1e-5.
    d = np.arange(9.0) - 4.0
    x = np.sort(MEAN + d * math.sqrt(15.507 * STD**2 / np.sum(d**2)))[None, :]
    _, p = gof.std_test(x, mean=MEAN, std=STD)
    assert p[0] == pytest.approx(0.10, abs=2e-5)


# --- p-value functions at the published critical values ----------------------------------------
# The printed points carry 3-4 digits and are either approximate (Stephens' modified KS form) or
# asymptotic (AD, known parameters; used at n = 500): we accept 5% of the level. The largest gap
# measured is 2.5%, at AD's 1% point: the classical 3.857 against 3.878 obtained by inverting
# Marsaglia & Marsaglia's limiting CDF.

@pytest.mark.parametrize("modified, level", [(1.224, 0.10), (1.358, 0.05), (1.628, 0.01)])
def test_ks_pvalue_at_stephens_points(modified, level):
    # Stephens (1974) Table 1A, case 0: D * (sqrt(n) + 0.12 + 0.11 / sqrt(n)).
    n = 500
    d = modified / (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n))
    p = stats.kstwo.sf(d, n)  # what gof.ks reports for a sample with this D
    assert p == pytest.approx(level, rel=0.05)


@pytest.mark.parametrize("a2, level", [(1.933, 0.10), (2.492, 0.05), (3.857, 0.01)])
def test_ad_pvalue_at_known_parameter_points(a2, level):
    # D'Agostino & Stephens (1986) Table 4.2, case 0 (all parameters known).
    assert gof.ad_pvalue(np.array([a2]), 500)[0] == pytest.approx(level, rel=0.05)


@pytest.mark.parametrize("modified, level", [(0.631, 0.10), (0.752, 0.05), (1.035, 0.01)])
def test_ad_normal_pvalue_at_estimated_parameter_points(modified, level):
    # D'Agostino & Stephens (1986) Table 4.7, case 3: A² (1 + 0.75/n + 2.25/n²). Our p comes from
    # a simulated null of R = 49,999 draws: tolerance is 3 Monte Carlo SEs, sqrt(p(1 - p)/R).
    n = 500
    a2 = modified / (1 + 0.75 / n + 2.25 / n**2)
    null = gof.shape_null(n).ad_normal
    p = (1 + np.sum(null >= a2)) / (1 + null.size)
    assert abs(p - level) <= 3 * math.sqrt(level * (1 - level) / null.size)


def test_ad_pvalue_is_a_monotone_probability():
    # Invariant: a p-value is non-increasing in the statistic and lies in [0, 1], including where
    # the finite-n correction is bounded (tiny and huge A²).
    z = np.concatenate([[0.0, 1e-3], np.linspace(0.01, 60, 30001), [1e3, np.inf]])
    for n in (8, 50, 500, 10**6):
        p = gof.ad_pvalue(z, n)
        assert np.all(np.diff(p) <= 0)
        assert p[0] == 1.0 and p[-1] == 0.0
        assert np.all((p >= 0) & (p <= 1))


def test_far_tail_samples_reject_with_tiny_pvalues(rng):
    # 40 values from N(8, 1.25): 3.2 target sds away. Every simple test's p must be tiny (the
    # known-parameter tests are consistent), finite and in [0, 1].
    x = np.sort(rng.normal(8.0, STD, size=(1, 40)), axis=1)
    for test in (gof.ks, gof.ad, gof.cvm, gof.mean_test):
        _, p = test(x, mean=MEAN, std=STD)
        assert 0 <= p[0] < 1e-6


def test_ad_pvalue_has_no_artificial_floor_in_the_far_tail():
    # The published correction alone would floor p at 6e-4/n (1.2e-6 at n = 500); the tail keeps
    # falling below it, but never below the provable bound P(chi2_1 >= 2 A²) = 9.6e-7 at A² = 12
    # (scipy.stats.chi2.sf), which the approximation's 2e-8 (exp(poly(12)), by hand) undercut.
    p = gof.ad_pvalue(np.array([12.0]), 500)[0]
    assert stats.chi2.sf(24.0, 1) <= p < 1.2e-6


# --- input checks ---------------------------------------------------------------------------

@pytest.mark.parametrize("row, status", [
    (np.full(20, 4.0), gof.CONSTANT),
    (4.0 + np.arange(20) * 1e-16, gof.CONSTANT),  # differs only by rounding
    (np.r_[np.ones(19), np.nan], gof.NON_FINITE),
    (np.r_[np.ones(19), np.inf], gof.NON_FINITE),
    (np.r_[np.arange(19.0), 1e200], gof.TOO_LARGE),
    (np.arange(20.0), gof.OK),
])
def test_row_status(row, status):
    assert gof.row_status(row[None, :])[0] == status


def test_row_status_short_rows():
    # Short rows are not broken (each test's min_n decides); an empty row is, and so is a short
    # constant one; a single value is not "constant".
    assert list(gof.row_status(np.arange(6.0).reshape(3, 2))) == [gof.OK] * 3
    assert list(gof.row_status(np.ones((3, 1)))) == [gof.OK] * 3
    assert list(gof.row_status(np.zeros((3, 2)))) == [gof.CONSTANT] * 3
    assert list(gof.row_status(np.zeros((3, 0)))) == [gof.EMPTY] * 3


def test_status_vocabularies_are_disjoint():
    assert not gof.BROKEN_STATUSES & gof.UNTESTED_STATUSES
    assert gof.OK not in gof.BROKEN_STATUSES | gof.UNTESTED_STATUSES


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.0}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"alpha": "0.05"}, "alpha"), ({"alpha": True}, "alpha"),
    ({"std": 0.0}, "std"), ({"std": -1.0}, "std"), ({"std": float("inf")}, "std"),
    ({"mean": float("nan")}, "mean"), ({"mean": None}, "mean"),
])
def test_check_parameters_names_the_argument(kwargs, name):
    args = {"mean": MEAN, "std": STD, "alpha": 0.05, **kwargs}
    with pytest.raises(ValueError, match=name):
        gof.check_parameters(**args)


def test_null_tables_are_cached_fixed_and_read_only():
    first = gof.shape_null(30)
    assert gof.shape_null(30) is first  # cached
    again = gof.shape_null.__wrapped__(30)  # recomputed from the same fixed seed
    np.testing.assert_array_equal(first.kurtosis, again.kurtosis)
    assert first.ad_normal.size == gof.NULL_REPLICATES
    with pytest.raises(ValueError):
        first.kurtosis[0] = 0.0


def test_null_replicates_shrink_only_for_huge_samples():
    assert gof.null_replicates(500) == gof.NULL_REPLICATES
    assert gof.null_replicates(10**5) == gof.NULL_VALUE_BUDGET // 10**5
    assert gof.null_replicates(10**7) == gof.MIN_NULL_REPLICATES


@pytest.mark.parametrize("n", [500, 2000])
def test_ad_pvalue_never_below_the_chi2_bound(n):
    # A² >= Z_1² / 2 (Anderson & Darling 1952's decomposition), so P(A² >= a) >= P(chi2_1 >= 2a)
    # (scipy.stats.chi2.sf is the oracle). Checked from A² = 5 to 50, and the p-value still falls
    # as A² grows (never flat at 0, never rising).
    from gancheck.stats.gof import ad_pvalue
    a2 = np.linspace(5, 50, 181)
    p = ad_pvalue(a2, n)
    assert (p >= stats.chi2.sf(2 * a2, 1)).all()
    assert (p > 0).all() and (np.diff(p) < 0).all()
    # Below the far tail the floor does not bind: the usual critical values of the limiting law
    # (D'Agostino & Stephens 1986, Table 4.2: 1.933 at 10%, 2.492 at 5%, 3.857 at 1%) still hold.
    assert ad_pvalue(np.array([1.933, 2.492, 3.857]), n) == pytest.approx([0.10, 0.05, 0.01], abs=1.5e-3)


@pytest.mark.parametrize("n, alpha", [(500, 0.05), (500, 0.01), (50, 0.05), (10, 0.1), (1, 0.05)])
def test_ks_decisions_are_those_of_the_exact_pvalues(n, alpha):
    # Oracle: scipy.stats.kstwo.sf, the exact p that gof.ks reports, compared with alpha. D is
    # swept densely across the critical value (and far off it) so both sides and the window's
    # inside are met.
    critical = stats.kstwo.isf(alpha, n)
    d = np.concatenate([np.linspace(critical * 0.99, critical * 1.01, 401),
                        np.linspace(0.5 / n, 1.0, 50), [critical, np.nan]])
    exact = stats.kstwo.sf(d, n)
    decided = gof.ks_pvalue(d, n, decide_at=alpha)
    assert np.array_equal(decided < alpha, exact < alpha)
    assert np.isnan(decided[-1])  # NaN in, NaN out: reject_rule then rejects it
    near = np.abs(d / critical - 1) < 0.9 * gof.KS_DECISION_WINDOW  # well inside the window
    assert near.sum() > 10 and np.array_equal(decided[near], exact[near])


def test_ks_without_a_decision_level_is_scipys_exact_pvalue(rng):
    # Oracle: scipy.stats.kstest(method="exact"), which is kstwo.sf of the same D.
    x = np.sort(rng.normal(4, 1.25, (5, 120)), axis=1)
    d, p = gof.ks(x, mean=4, std=1.25)
    for row, di, pi in zip(x, d, p):
        ref = stats.kstest(row, stats.norm(4, 1.25).cdf, method="exact")
        assert di == pytest.approx(ref.statistic, abs=1e-15) and pi == pytest.approx(ref.pvalue, rel=1e-12)

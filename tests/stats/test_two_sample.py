"""Two-sample tests against a reference sample: statistics, p-values, calibration and power."""
import numpy as np
import pytest
from scipy import stats

from gancheck.stats import gof, two_sample
from gancheck.stats.scoring import score

ALPHA = 0.05


def _compare(x, y, **kwargs):
    return two_sample.compare(np.atleast_2d(np.asarray(x, dtype=float)), two_sample.check_reference(y), **kwargs)


def _column(name):
    return two_sample.NAMES.index(name)


@pytest.mark.parametrize("n, m", [(50, 80), (500, 300), (20, 300)])
def test_statistics_are_scipys_without_ties(rng, n, m):
    x, y = rng.normal(4, 1.25, (3, n)), rng.normal(4, 1.25, m)
    statistic, pvalue = _compare(x, y)
    for i in range(3):
        ks = stats.ks_2samp(x[i], y, method="exact")
        # Oracle: scipy.stats.ks_2samp (D and its exact p) and cramervonmises_2samp (T).
        assert statistic[i, _column("ks_2samp")] == pytest.approx(ks.statistic, abs=1e-12)
        assert pvalue[i, _column("ks_2samp")] == pytest.approx(ks.pvalue, rel=1e-12)
        assert statistic[i, _column("cvm_2samp")] == pytest.approx(
            stats.cramervonmises_2samp(x[i], y).statistic, rel=1e-9)
        # Oracle: numpy / scipy.stats.skew and kurtosis (bias=True) of each sample.
        assert statistic[i, _column("mean_diff")] == pytest.approx(x[i].mean() - y.mean(), abs=1e-12)
        assert statistic[i, _column("sd_diff")] == pytest.approx(x[i].std(ddof=1) - y.std(ddof=1), abs=1e-12)
        assert statistic[i, _column("skew_diff")] == pytest.approx(stats.skew(x[i]) - stats.skew(y), abs=1e-9)
        assert statistic[i, _column("kurtosis_diff")] == pytest.approx(
            stats.kurtosis(x[i]) - stats.kurtosis(y), abs=1e-9)


@pytest.mark.filterwarnings("ignore:p-value capped")  # scipy's clipped p is not used, only its statistic
@pytest.mark.parametrize("decimals", [None, 1])
def test_anderson_darling_is_scipys_midrank_statistic(rng, decimals):
    """scipy reports (A²akN - 1) / σ_N, σ_N a function of the sizes only (Scholz & Stephens 1987,
    eq. 4): so (ours - 1) / scipy's must be one constant over data sets of the same sizes, tied or
    not (midrank variant)."""
    x, y = rng.normal(4, 1.25, (4, 60)), rng.normal(4, 1.25, 90)
    if decimals is not None:
        x, y = np.round(x, decimals), np.round(y, decimals)
    statistic, _ = _compare(x, y)
    sigma = [(statistic[i, _column("ad_ksamp")] - 1) / stats.anderson_ksamp([x[i], y], variant="midrank").statistic
             for i in range(4)]
    assert np.ptp(sigma) < 1e-9 * abs(sigma[0])


def test_ks_with_ties_is_scipys_distance(rng):
    x, y = np.round(rng.normal(4, 1.25, (3, 200)), 1), np.round(rng.normal(4, 1.25, 150), 1)
    statistic, _ = _compare(x, y)
    # Oracle: scipy.stats.ks_2samp's D, which evaluates the ECDFs at every pooled value.
    assert statistic[:, 0] == pytest.approx([stats.ks_2samp(row, y).statistic for row in x], abs=1e-12)


def test_permutation_p_agrees_with_scipys_permutation_test(rng):
    """Oracle: scipy.stats.anderson_ksamp with PermutationMethod (9,999 resamples) on the same
    tied data: two Monte Carlo estimates of one p-value, within 4 of their combined standard errors."""
    x, y = np.round(rng.normal(4.25, 1.25, 80), 1), np.round(rng.normal(4, 1.25, 120), 1)
    _, pvalue = _compare(x, y)
    reference = stats.anderson_ksamp([x, y], variant="midrank", method=stats.PermutationMethod(
        n_resamples=9_999, rng=np.random.default_rng(7))).pvalue
    p = pvalue[0, _column("ad_ksamp")]
    se = np.sqrt(reference * (1 - reference) * (1 / (two_sample.PERMUTATIONS + 1) + 1 / 10_000))
    assert abs(p - reference) <= 4 * se


def test_p_values_are_monte_carlo_fractions_never_zero(rng):
    x, y = rng.normal(6, 1.25, (2, 100)), rng.normal(4, 1.25, 100)
    _, pvalue = _compare(x, y)
    permuted = pvalue[:, 1:]
    # (1 + #)/(1 + R): at least 1/(R + 1), and (R + 1)·p a whole number.
    assert (permuted >= 1 / (two_sample.PERMUTATIONS + 1)).all()
    counts = permuted * (two_sample.PERMUTATIONS + 1)
    assert np.allclose(counts, np.round(counts))


def test_rows_are_judged_independently_of_their_batch_and_reproducibly(rng):
    x, y = np.round(rng.normal(4, 1.25, (4, 60)), 2), rng.normal(4, 1.25, 70)
    statistic, pvalue = _compare(x, y)
    alone = _compare(x[2:3], y)
    assert np.array_equal(alone[0][0], statistic[2]) and np.array_equal(alone[1][0], pvalue[2])
    again = _compare(x, y)
    assert np.array_equal(again[1], pvalue)
    other_seed = _compare(x, y, seed=1)[1]
    assert not np.array_equal(other_seed[:, 1:], pvalue[:, 1:])


def test_one_reference_per_row_is_the_same_as_separate_calls(rng):
    x, y = np.round(rng.normal(4, 1.25, (3, 40)), 1), rng.normal(4, 1.25, (3, 50))
    y[1] = np.round(y[1], 1)
    statistic, pvalue = two_sample.compare(x, np.sort(y, axis=1))
    for i in range(3):
        alone = _compare(x[i], y[i])
        assert np.allclose(alone[0][0], statistic[i]) and np.array_equal(alone[1][0], pvalue[i])


@pytest.mark.parametrize("shift, scale", [(100.0, 3.0), (1e6, 1e-3), (-5.0, 1e4)])
def test_p_values_are_location_scale_free(rng, shift, scale):
    """Every p-value is invariant under one affine map of both samples (ranks and standardised
    moments do not see it), also far from the origin on a tiny scale; the mean and sd differences
    scale with it."""
    x, y = rng.normal(4, 1.25, (2, 50)), rng.normal(4, 1.25, 60)
    base = _compare(x, y)
    moved = _compare(shift + scale * x, shift + scale * y)
    assert np.allclose(moved[1], base[1], atol=1e-12)
    for name in ("mean_diff", "sd_diff"):
        assert np.allclose(moved[0][:, _column(name)], scale * base[0][:, _column(name)], rtol=1e-6)


@pytest.mark.parametrize("bad, why", [
    ([1.0, 2.0, np.nan] * 4, "non-finite"), ([3.0] * 20, "constant"), ([1.0, 2.0, 3.0], "at least"),
    (np.ones((3, 4)), "1-D"), ("abc", "real numbers"), (None, "real numbers"), (["a"] * 10, "real numbers"),
])
def test_a_bad_reference_is_an_error_naming_it(bad, why):
    with pytest.raises(ValueError, match=why) as info:
        two_sample.check_reference(bad)
    assert "reference" in str(info.value)


@pytest.mark.parametrize("broken, status", [
    ([np.nan] + [4.0] * 49, gof.NON_FINITE), ([np.inf] * 50, gof.NON_FINITE), ([4.0] * 50, gof.CONSTANT),
    ([1e200] + [4.0] * 49, gof.TOO_LARGE)])
def test_a_broken_sample_never_passes(rng, broken, status):
    table = score(np.array([broken, rng.normal(4, 1.25, 50)]), reference=rng.normal(4, 1.25, 200))
    bad = table[table["sample"] == 0]
    assert (bad["status"] == status).all() and bad["reject"].all()
    assert (table[table["sample"] == 1]["status"] == "ok").all()


def test_score_table_columns_sizes_and_short_samples(rng):
    y = rng.normal(4, 1.25, 100)
    table = score([rng.normal(4, 1.25, 5), rng.normal(4, 1.25, 30), []], reference=y)
    assert list(table["test"].unique()) == list(two_sample.NAMES)
    assert (table["hypothesis"] == "two-sample").all()
    short = table[table["sample"] == 0].set_index("test")
    # Fewer values than a test's min_n: not tested (reject False), never a pass.
    assert (short.loc[["skew_diff", "kurtosis_diff"], "status"] == gof.TOO_FEW).all()
    assert not short.loc[["skew_diff", "kurtosis_diff"], "reject"].any()
    assert (short.loc[["ks_2samp", "mean_diff"], "status"] == "ok").all()
    assert (table[table["sample"] == 2]["status"] == gof.EMPTY).all()
    assert table.groupby("sample")["n"].first().tolist() == [5, 30, 0]


# --- calibration and power (slow) ------------------------------------------------------------

def _band(replicates: int) -> tuple[float, float]:
    """Where the rejection rate of an exact level-alpha test falls with 99.9% probability: the
    binomial error of `replicates` draws plus the Monte Carlo error of the fixed permutation null
    (its critical value is the empirical quantile of R + 1 draws; variance α(1-α)/(R + 1))."""
    sd = np.sqrt(ALPHA * (1 - ALPHA) * (1 / replicates + 1 / (two_sample.PERMUTATIONS + 1)))
    z = stats.norm.ppf(1 - 0.0005)
    return ALPHA - z * sd, ALPHA + z * sd


@pytest.mark.slow
@pytest.mark.parametrize("n, m, decimals", [(500, 300, None), (500, 300, 1), (20, 300, 1)],
                         ids=["continuous-500-300", "rounded-500-300", "rounded-20-300"])
def test_two_samples_of_one_law_reject_at_alpha(n, m, decimals):
    """1,000 fresh pairs from one law (a gamma, skewed: no test may lean on normality), the
    reference m values, the sample n; every test rejects at alpha within the band of _band."""
    replicates, batch = 1_000, 250
    rng = np.random.default_rng([2026, n, m, decimals or 0])
    rejections = np.zeros(len(two_sample.NAMES))
    for _ in range(replicates // batch):  # each row its own pair (x, y): one reference per row
        x, y = 3 + rng.gamma(4.0, 0.6, (batch, n)), 3 + rng.gamma(4.0, 0.6, (batch, m))
        if decimals is not None:
            x, y = np.round(x, decimals), np.round(y, decimals)
        _, pvalue = two_sample.compare(x, np.sort(y, axis=1))
        rejections += (pvalue < ALPHA).sum(axis=0)
    rates = dict(zip(two_sample.NAMES, rejections / replicates))
    low, high = _band(replicates)
    print(f"n={n} m={m} decimals={decimals}: " + ", ".join(f"{k} {v:.3f}" for k, v in rates.items()))
    assert all(low <= rate <= high for rate in rates.values()), (rates, low, high)


@pytest.mark.slow
def test_two_sample_power_is_close_to_one_sample_ks():
    """A 0.1-sd shift of N(4, 1.25), n = 500: two-sample KS against a reference of m = 5,000 values
    detects it with power within 0.1 of one-sample KS against the true CDF (oracle:
    scipy.stats.kstest, exact). The two-sample test's effective size is nm/(n + m) = 455, so it
    should lose a little power, not more."""
    replicates, n, m = 1_000, 500, 5_000
    rng = np.random.default_rng(20261206)
    x = rng.normal(4 + 0.125, 1.25, (replicates, n))
    one = stats.kstest(x, stats.norm(4, 1.25).cdf, axis=1, method="exact").pvalue < ALPHA
    two = np.array([_compare(x[i:i + 1], rng.normal(4, 1.25, m), tests=["ks_2samp"])[1][0, 0] < ALPHA
                    for i in range(replicates)])
    print(f"power at a 0.1 sd shift, n={n}: one-sample KS {one.mean():.3f}, two-sample KS (m={m}) {two.mean():.3f}")
    assert abs(two.mean() - one.mean()) <= 0.1
    assert two.mean() > 2 * ALPHA  # it does detect the shift (one-sample KS: about 0.5 here)

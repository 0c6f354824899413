"""gancheck.diversity: memorisation (fixed share, repeated values) and heterogeneity on (K, n) draws."""
import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import diversity as div
from gancheck.stats.diversity import DiversityResult, diversity
from gancheck.stats.repeats import pooled

pytestmark = pytest.mark.filterwarnings("error")
ALPHA = 0.05


def fixed_share_draws(rng, share: float, k: int, n: int, vector=None):
    """Draws whose variance is `share` fixed per coordinate and 1 - share fresh noise."""
    v = rng.normal(4, 1.25, n) if vector is None else vector
    return 4 + math.sqrt(share) * (v - 4) + math.sqrt(1 - share) * rng.normal(0, 1.25, (k, n))


def upper_band(replicates: int, rate: float = ALPHA) -> float:
    """Largest rejection rate a level-`rate` test shows with 99% probability (scipy.stats.binom)."""
    return stats.binom.ppf(0.99, replicates, rate) / replicates


def test_by_hand():
    # Coordinates (1, 3) and (2, 4). Oracles: scipy.stats.kruskal([1, 3], [2, 4]).statistic = 0.6
    # (coordinates as groups), kruskal([1, 2], [3, 4]) = 2.4 (draws as groups); no value repeats
    # across the draws, so the repeats ratio is 0. ICC(1) by hand: column means 2, 3, grand mean 2.5;
    # MSB = 2 * (0.25 + 0.25) / 1 = 1, MSW = 4 / 2 = 2, ICC = (1 - 2) / (1 + 1 * 2) = -1/3.
    result = diversity([[1.0, 2.0], [3.0, 4.0]], std=1.0)
    assert isinstance(result, DiversityResult) and result.status == "ok"
    assert result.coordinates_statistic == pytest.approx(0.6)
    assert result.heterogeneity_statistic == pytest.approx(2.4)
    assert result.values_statistic == 0.0 and result.repeats_count == 0
    assert result.fixed_share == pytest.approx(-1 / 3)
    assert result.spread_ratio == pytest.approx(math.sqrt(2))  # per-coordinate sd sqrt(2), std 1
    assert result.k == 2 and result.n == 2


def test_statistics_match_scipy(rng):
    x = rng.standard_t(3, size=(6, 40))
    result = diversity(x)
    # Kruskal–Wallis H as scipy.stats.kruskal computes it (tie-corrected; no ties here).
    assert result.coordinates_statistic == pytest.approx(stats.kruskal(*x.T).statistic, rel=1e-10)
    assert result.heterogeneity_statistic == pytest.approx(stats.kruskal(*x).statistic, rel=1e-10)
    # Cross-draw pairs of equal values, counted by brute force over all pairs of draws.
    r = np.round(x, 1)
    brute = sum(int((r[a][:, None] == r[b][None, :]).sum()) for a in range(6) for b in range(a + 1, 6))
    assert diversity(r).repeats_count == brute > 0


def test_icc_ci_matches_mcgraw_wong(rng):
    # McGraw & Wong (1996) case 1 CI from F = MSB / MSW, computed here with scipy.stats.f.
    x = fixed_share_draws(rng, 0.3, 5, 60)
    k, n = x.shape
    means = x.mean(axis=0)
    msb = k * ((means - x.mean()) ** 2).sum() / (n - 1)
    msw = ((x - means) ** 2).sum() / (n * (k - 1))
    f0 = msb / msw
    fl = f0 / stats.f.ppf(0.975, n - 1, n * (k - 1))
    fu = f0 * stats.f.ppf(0.975, n * (k - 1), n - 1)
    result = diversity(x)
    assert result.fixed_share == pytest.approx((msb - msw) / (msb + (k - 1) * msw), rel=1e-9)
    assert result.fixed_share_low == pytest.approx((fl - 1) / (fl + k - 1), rel=1e-9)
    assert result.fixed_share_high == pytest.approx((fu - 1) / (fu + k - 1), rel=1e-9)


def test_pvalues_are_distribution_free(rng):
    # Ranks are all the rank tests see: a monotone transform changes neither p-value.
    x = rng.normal(0, 1, size=(8, 30))
    base = diversity(x)
    for transformed in (np.exp(x), 100 + 50 * x, x**3, stats.norm.cdf(x)):
        other = diversity(transformed)
        assert (other.coordinates_pvalue, other.heterogeneity_pvalue) == (
            base.coordinates_pvalue, base.heterogeneity_pvalue)


def test_fixed_vector_is_collapsed_and_its_permutations_memorised(rng):
    v = rng.normal(4, 1.25, 500)
    fixed = diversity(np.tile(v, (100, 1)))
    assert fixed.collapsed and fixed.fixed_share == 1.0 and fixed.reuse_share == 1.0
    shuffled = diversity(np.array([rng.permutation(v) for _ in range(100)]))
    assert shuffled.memorised and not shuffled.collapsed and shuffled.reuse_share == 1.0
    assert abs(shuffled.fixed_share) < 0.01
    # float64 values off any grid: their cells are float64's spacing (4.4e-16 below 4, 8.9e-16
    # above), so chance gives E = P · mean(h) · ∫f² = 1.2375e9 · 6.7e-16 · 0.2257 ≈ 1.9e-7
    # repeats (by hand): any repeat is evidence.
    assert 1e-7 < shuffled.repeats_expected < 4e-7 and shuffled.values_pvalue == 0


def test_too_narrow_independent_draws_are_not_collapsed(rng):
    result = diversity(rng.normal(4, 0.6, (100, 500)))
    assert not result.collapsed and result.spread_ratio < 0.5  # the old rule's false flag


@pytest.mark.slow
@pytest.mark.parametrize("seed, kind", list(enumerate(["share 0.5", "share 0.7", "fixed vector", "permutations"])))
def test_memorisation_is_flagged_at_k100_n500(seed, kind):
    # Memorisation must be flagged in >= 95% of replicates at K = 100, n = 500.
    rng = np.random.default_rng(seed)
    replicates = 100
    flagged = 0
    for _ in range(replicates):
        if kind.startswith("share"):
            x = fixed_share_draws(rng, float(kind.split()[1]), 100, 500)
        elif kind == "fixed vector":
            x = np.tile(rng.normal(4, 1.25, 500), (100, 1))
        else:
            v = rng.normal(4, 1.25, 500)
            x = rng.permuted(np.tile(v, (100, 1)), axis=1)
        result = diversity(x)
        flagged += result.collapsed or result.memorised
    print(f"\n{kind}: flagged {flagged}/{replicates} at K=100, n=500")
    assert flagged >= 0.95 * replicates


NULL_DRAWS = {
    "N(4, 0.6)": lambda rng, shape: rng.normal(4, 0.6, shape),
    "N(100, 50)": lambda rng, shape: rng.normal(100, 50, shape),
    "t(3)": lambda rng, shape: rng.standard_t(3, shape),
    "U(0, 1)": lambda rng, shape: rng.uniform(0, 1, shape),
}


@pytest.fixture(scope="module")
def null_results():
    """1,000 independent generators per law at K = 10, n = 50 (ranks make size, not shape, matter)."""
    results = {}
    for i, (name, draw) in enumerate(NULL_DRAWS.items()):
        rng = np.random.default_rng(7000 + i)
        results[name] = [diversity(draw(rng, (10, 50))) for _ in range(1000)]
    return results


@pytest.mark.slow
@pytest.mark.parametrize("law", list(NULL_DRAWS))
def test_independent_draws_are_flagged_at_most_alpha(null_results, law):
    results = null_results[law]
    collapsed = np.mean([r.collapsed or r.memorised for r in results])
    heterogeneous = np.mean([r.heterogeneous for r in results])
    print(f"\n{law}: collapsed {collapsed:.3f}, heterogeneous {heterogeneous:.3f} of {len(results)} (K=10, n=50)")
    assert collapsed <= upper_band(len(results))
    assert heterogeneous <= upper_band(len(results))


@pytest.mark.slow
@pytest.mark.parametrize("law", list(NULL_DRAWS))
@pytest.mark.parametrize("field", ["coordinates_pvalue", "heterogeneity_pvalue"])
def test_component_pvalues_are_uniform(null_results, law, field):
    pvalues = np.array([getattr(r, field) for r in null_results[law]])
    # KS against U(0, 1), Bonferroni over the 8 checks (4 laws x 2 rank components). The Monte Carlo
    # p-values are discrete in steps of 1/10,000, far below the KS critical distance (~0.05).
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01 / 8


@pytest.mark.slow
def test_independent_draws_at_k100_n500():
    # The shape-free property checked above at K = 10, n = 50, once more at the GAN's size.
    rng = np.random.default_rng(100500)
    replicates = 200
    results = [diversity(rng.standard_t(3, (100, 500))) for _ in range(replicates)]
    collapsed = np.mean([r.collapsed or r.memorised for r in results])
    print(f"\nt(3) at K=100, n=500: collapsed {collapsed:.3f} of {replicates}")
    assert collapsed <= upper_band(replicates)
    for field in ("coordinates_pvalue", "heterogeneity_pvalue"):
        assert stats.kstest([getattr(r, field) for r in results], "uniform").pvalue > 0.01 / 2


def test_heterogeneous_draws_are_flagged(rng):
    # Each draw's mean moves with the noise: level sd 0.3 against a within-draw sd of 1.25.
    x = rng.normal(4, 1.25, (100, 500)) + rng.normal(0, 0.3, (100, 1))
    result = diversity(x)
    assert result.heterogeneous and result.heterogeneity_pvalue < 0.01 and not result.collapsed


def test_null_tables_are_cached_and_read_only():
    table = div.diversity_null(4, 10)
    assert div.diversity_null(4, 10) is table
    assert table.coordinates.size == div.null_replicates(4, 10)
    with pytest.raises(ValueError):
        table.coordinates[0] = 0.0


@pytest.mark.parametrize("draws, status", [
    (np.r_[np.ones(9), np.nan].reshape(2, 5), "non-finite values"),
    (np.r_[np.ones(9), np.inf].reshape(2, 5), "non-finite values"),
    (np.ones((1, 500)), "too few draws"),
    (np.ones(500), "not 2-D"),
    (np.ones((3, 2, 5)), "not 2-D"),
    (np.ones((3, 1)), "too few values"),
    (np.ones((3, 5)), "constant sample"),
    (np.r_[np.arange(9.0), 1e200].reshape(2, 5), "values too large"),
    ([[1.0, 2.0], [3.0]], "not 2-D"),
])
def test_bad_draws_never_pass(draws, status):
    result = diversity(draws)
    assert result.status == status and result.collapsed and math.isnan(result.pvalue)


@pytest.mark.parametrize("kwargs, name", [({"alpha": 0.0}, "alpha"), ({"std": -1.0}, "std")])
def test_malformed_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        diversity(np.zeros((2, 10)), **kwargs)


def test_non_numeric_raises():
    with pytest.raises(ValueError, match="draws"):
        diversity(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_ranks_and_tie_correction_from_one_sort_are_scipys(rng, decimals):
    # Oracles: scipy.stats.rankdata(x, axis=None) (mid-ranks), compared bit for bit; and the
    # Kruskal-Wallis tie correction 1 - Σ(t³ - t)/(N³ - N) on np.unique's group sizes, which is
    # what scipy.stats.tiecorrect computes.
    x = rng.normal(4, 1.25, (20, 150))
    x = x if decimals is None else np.round(x, decimals)
    pool = pooled(x)
    assert div._ranks(pool).tobytes() == stats.rankdata(x, axis=None).tobytes()
    assert div._tie_correction(pool.counts) == stats.tiecorrect(stats.rankdata(x, axis=None))

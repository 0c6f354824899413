"""gancheck.judge: one generator judged on all K draws, one row per registry test."""
import numpy as np
import pytest
from scipy import stats

from gancheck.stats import gof, registry
from gancheck.stats.judge import COLUMNS, judge

pytestmark = pytest.mark.filterwarnings("error")
ALPHA = 0.05
NAMES = [t.name for t in registry.REGISTRY]


def test_table_contract(rng):
    table = judge(rng.normal(4, 1.25, (20, 60)))
    assert list(table.columns) == list(COLUMNS)
    assert list(table["test"]) == NAMES
    assert list(table["group"]) == [t.group for t in registry.REGISTRY]
    assert (table["status"] == "ok").all() and set(table["k"]) == {20} and set(table["n"]) == {60}
    assert table["reject"].dtype == bool and table["pvalue"].between(0, 1).all()
    sample = table[table["test"].isin([t.name for t in registry.SCORE_TESTS])]
    assert sample["reject_rate"].between(0, 1).all()
    assert table.loc[table["group"] == "diversity", "reject_rate"].isna().all()


def test_rows_follow_score_and_the_binomial_tail(rng):
    from gancheck import score
    x = rng.normal(4.1, 1.25, (30, 80))
    table = judge(x).set_index("test")
    per_draw = score(x)
    for name in ("ks", "std"):
        rows = per_draw[per_draw["test"] == name]
        r = int(rows["reject"].sum())
        assert table.loc[name, "reject_rate"] == r / 30
        # Oracle: scipy.stats.binomtest's one-sided p for r successes out of 30 at p = alpha.
        assert table.loc[name, "pvalue"] == pytest.approx(
            stats.binomtest(r, 30, ALPHA, alternative="greater").pvalue, rel=1e-9)
        assert table.loc[name, "statistic"] == pytest.approx(rows["statistic"].median())


def test_broken_draw_fails_every_row(rng):
    x = rng.normal(4, 1.25, (10, 50))
    x[3, 7] = np.nan
    table = judge(x)
    assert (table["status"] == "non-finite values").all() and table["reject"].all()


def test_short_draws_are_untested_where_a_test_cannot_take_them(rng):
    table = judge(rng.normal(4, 1.25, (10, 3))).set_index("test")
    runs = [t.name for t in registry.SCORE_TESTS if t.min_n <= 3] + [t.name for t in registry.DIVERSITY_TESTS]
    assert (table.loc[runs, "status"] == "ok").all()
    rest = table.drop(index=runs)
    assert (rest["status"] == gof.TOO_FEW).all() and not rest["reject"].any() and rest["pvalue"].isna().all()


def test_rounded_draws_get_ties_on_order_tests(rng):
    # KS, A² and W² aside: on one regular grid they are taken against the rounded target
    # (grouped_ks, grouped_simulated); Shapiro-Wilk and estimated-parameter A² have no such form.
    table = judge(np.round(rng.normal(4, 1.25, (10, 500)), 1)).set_index("test")
    rounded = ["ks", "ad", "cvm"]
    order = [t.name for t in registry.SCORE_TESTS if t.ties == "order" and t.name not in rounded]
    assert (table.loc[order, "status"] == gof.TIES).all() and not table.loc[order, "reject"].any()
    assert (table.loc[rounded, "status"] == "ok").all() and not table.loc[rounded, "reject"].any()


def test_one_draw_has_no_diversity_verdict(rng):
    table = judge(rng.normal(4, 1.25, (1, 100))).set_index("test")
    diversity_rows = table.loc[[t.name for t in registry.DIVERSITY_TESTS]]
    assert (diversity_rows["status"] == gof.TOO_FEW_DRAWS).all() and not diversity_rows["reject"].any()
    assert table.loc["ks", "status"] == "ok"


def test_one_draw_is_judged_by_its_own_pvalue(rng):
    # With K = 1 the binomial tail is alpha or 1, and p < alpha never holds: a single draw of
    # N(10, 1.25) read "ok, not rejected". Its row now carries the draw's own test; oracle: scipy's
    # exact one-sample KS p-value.
    for draw in (rng.normal(10, 1.25, 500), rng.normal(4, 1.25, 500)):
        row = judge(draw[None, :]).set_index("test").loc["ks"]
        expected = stats.kstest(draw, "norm", args=(4, 1.25), method="exact").pvalue
        assert row["status"] == "ok" and row["pvalue"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
        assert row["reject"] == (expected < 0.05) and row["reject_rate"] == float(expected < 0.05)
    # Every test of the simple hypothesis N(4, 1.25) rejects a draw centred on 10 (Shapiro-Wilk's
    # composite one, any normal, rightly does not).
    assert judge(rng.normal(10, 1.25, (1, 500))).set_index("test").loc[["ks", "ad", "cvm", "mean"], "reject"].all()


def test_collapsed_generator_is_rejected_on_memorisation(rng):
    table = judge(np.tile(rng.normal(4, 1.25, 200), (20, 1))).set_index("test")
    assert table.loc["fixed_coordinates", "reject"] and table.loc["reused_values", "reject"]
    assert table.loc["fixed_coordinates", "statistic"] == 1.0


def generator_rejection_rates(seed, replicates, k, n, mean, std, draw_mean=None):
    rng = np.random.default_rng(seed)
    tables = [judge(rng.normal(mean if draw_mean is None else draw_mean, std, (k, n)), mean=mean, std=std)
              for _ in range(replicates)]
    both = np.array([t["reject"].to_numpy() for t in tables])
    per_sample = [t.name for t in registry.SCORE_TESTS]
    rates = np.array([t["reject_rate"].to_numpy()[:len(per_sample)] for t in tables])
    return dict(zip(NAMES, both.mean(axis=0))), dict(zip(per_sample, rates.mean(axis=0)))


@pytest.mark.slow
@pytest.mark.parametrize("seed, replicates, k, n, mean, std", [
    (1, 200, 50, 100, 4.0, 1.25),
    (2, 60, 100, 500, 4.0, 1.25),
    (3, 200, 50, 100, 100.0, 50.0),
])
def test_perfect_generator_rejects_at_most_alpha(seed, replicates, k, n, mean, std):
    rates, _ = generator_rejection_rates(seed, replicates, k, n, mean, std)
    print(f"\nperfect N({mean}, {std}), K={k}, n={n}, {replicates} generators:",
          {name: round(float(rate), 3) for name, rate in rates.items()})
    # The binomial tail is discrete, so its size is <= alpha: every rate within the one-sided
    # binomial 99% band above alpha (scipy.stats.binom).
    band = stats.binom.ppf(0.99, replicates, ALPHA) / replicates
    assert all(rate <= band for rate in rates.values()), rates


@pytest.mark.slow
def test_generator_level_ks_has_power_where_one_draw_does_not():
    # One draw of N(4.15, 1.25), n = 500, is rejected by KS with probability 0.63 (the power
    # printed beside it below, measured with the same draws).
    replicates = 100
    rates, per_draw = generator_rejection_rates(4150, replicates, 100, 500, 4.0, 1.25, draw_mean=4.15)
    print(f"\nN(4.15, 1.25), K=100, n=500, {replicates} generators: generator-level KS rejects "
          f"{rates['ks']:.3f}; one draw {per_draw['ks']:.3f}")
    assert rates["ks"] >= 0.99
    # The per-draw rate over 100 x 100 draws: 0.63 within 2.58 SEs + 0.005 rounding + the
    # reference's own error (as test_calibration.power_tolerance).
    se = np.sqrt(0.63 * 0.37 / (replicates * 100))
    assert abs(per_draw["ks"] - 0.63) <= 2.58 * se + 0.005 + 2.58 * np.sqrt(0.63 * 0.37 / 10_000)


def test_judge_counts_the_same_rejections_as_score(rng):
    # judge decides KS without every exact p-value (gof.ks_pvalue's decide_at); its rejection
    # counts must be score()'s, whose p-values are all exact. Samples near KS's critical value
    # (a small shift) make the decisions close.
    from gancheck import score
    for shift in (0.0, 0.1, 0.2):
        x = rng.normal(4 + shift, 1.25, (60, 200))
        per_draw = score(x).query("test == 'ks'")
        row = judge(x).set_index("test").loc["ks"]
        assert row["reject_rate"] == per_draw["reject"].mean()

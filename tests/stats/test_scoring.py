"""gancheck.score: the table contract, bad input, short and tied samples, invariants."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import gancheck
from gancheck.stats import gof, registry
from gancheck.stats.diversity import diversity
from gancheck.stats.scoring import COLUMNS, SAMPLE_NAME, score

# Scoring must not warn on any input it accepts (pyproject already errors on FutureWarning).
pytestmark = pytest.mark.filterwarnings("error")

TESTS = [t.name for t in registry.SCORE_TESTS]
HYPOTHESIS = {t.name: t.hypothesis for t in registry.SCORE_TESTS}


def test_composite_rows_ignore_location_and_scale():
    # "composite" claims the statistic ignores where and how wide the sample is: moving and
    # stretching a sample together with its target must leave those rows' p-values as they were
    # (the hand oracle: g1, g2, W and the estimated-parameter A² are affine invariant), and only those.
    x = np.random.default_rng(3).normal(4.0, 1.25, 200)
    before = score(x).set_index("test")
    after = score(7.0 * x - 30.0, mean=7.0 * 4.0 - 30.0, std=7.0 * 1.25).set_index("test")
    # The target held fixed, the sample moved, or stretched about the target's mean.
    moved = [score(x + 0.4).set_index("test"), score(4.0 + 1.2 * (x - 4.0)).set_index("test")]
    for name, hypothesis in HYPOTHESIS.items():
        assert after.at[name, "pvalue"] == pytest.approx(before.at[name, "pvalue"], rel=1e-6), name
        changed = any(m.at[name, "pvalue"] != pytest.approx(before.at[name, "pvalue"], rel=1e-6) for m in moved)
        assert changed == (hypothesis == "simple"), name


def test_registry_holds_designs_test_names():
    # The public contract's score() test names and hypotheses, in output order.
    assert [(t.name, t.hypothesis) for t in registry.SCORE_TESTS] == [
        ("ks", "simple"), ("ad", "simple"), ("cvm", "simple"), ("shapiro", "composite"),
        ("ad_normal", "composite"), ("mean", "simple"), ("std", "simple"), ("skew", "composite"),
        ("kurtosis", "composite")]
    assert [t.name for t in registry.DIVERSITY_TESTS] == ["fixed_coordinates", "reused_values", "heterogeneity"]
    assert [t.order for t in registry.REGISTRY] == sorted(t.order for t in registry.REGISTRY)
    assert {t.group for t in registry.REGISTRY} <= set(registry.GROUPS)
    assert all(t.label and t.description and t.reference for t in registry.REGISTRY)


def test_public_names_are_the_scoring_functions():
    from gancheck.stats.judge import judge
    assert gancheck.score is score and gancheck.diversity is diversity and gancheck.judge is judge
    assert {"score", "diversity", "judge"} <= set(gancheck.__all__)


def test_table_contract(rng):
    # The contract's columns: sample, sample_name, test, hypothesis, statistic, pvalue, reject,
    # status, n.
    table = score(rng.normal(4, 1.25, size=(3, 40)))
    assert list(table.columns) == [COLUMNS[0], SAMPLE_NAME, *COLUMNS[1:]]
    assert list(table["sample_name"]) == [f"row {i}" for i in (1, 2, 3) for _ in TESTS]
    assert len(table) == 3 * len(TESTS)
    assert list(table["sample"]) == [i for i in range(3) for _ in TESTS]
    assert list(table["test"]) == TESTS * 3
    assert list(table["hypothesis"]) == [HYPOTHESIS[t] for t in TESTS] * 3
    assert table["reject"].dtype == bool
    assert set(table["status"]) == {"ok"} and set(table["n"]) == {40}
    assert table["pvalue"].between(0, 1).all()


def test_one_dimensional_input_is_one_sample(rng):
    x = rng.normal(4, 1.25, size=50)
    pd.testing.assert_frame_equal(score(x), score(x[None, :]))


def test_reject_follows_alpha(rng):
    x = rng.normal(4.1, 1.25, size=(20, 100))
    loose, strict = score(x, alpha=0.2), score(x, alpha=0.01)
    pd.testing.assert_series_equal(loose["pvalue"], strict["pvalue"])
    assert (loose["reject"] == (loose["pvalue"] < 0.2)).all()  # definition: p < alpha
    assert (strict["reject"] == (strict["pvalue"] < 0.01)).all()


def test_target_parameters_are_used(rng):
    x = rng.normal(10.0, 2.0, size=200)
    table = score(x, mean=10.0, std=2.0).set_index("test")
    # A sample from the stated target is not an extreme outlier for any test (p > 1e-4 for a
    # calibrated test happens with probability 1 - 1e-4 per test).
    assert (table["pvalue"] > 1e-4).all()
    # And against the default N(4, 1.25) the simple tests see a 4.8-sd shift at once.
    default = score(x).set_index("test")
    assert (default.loc[["ks", "ad", "cvm", "mean"], "pvalue"] < 1e-6).all()


# --- bad samples never pass ----------------------------------------------------------------

@pytest.mark.parametrize("sample, status", [
    (np.full(500, 4.0), "constant sample"),
    (np.r_[np.random.default_rng(0).normal(4, 1.25, 499), np.inf], "non-finite values"),
    (np.r_[np.random.default_rng(0).normal(4, 1.25, 499), np.nan], "non-finite values"),
    (np.array([0.0, 0.0]), "constant sample"),
    (np.array([]), "no values"),
])
def test_bad_samples_never_pass(sample, status):
    table = score(sample)
    assert len(table) == len(TESTS)
    assert (table["status"] == status).all()
    assert table["reject"].all()
    assert table["pvalue"].isna().all()


@pytest.mark.parametrize("sample, mean, std, status", [
    # Every value of N(-0.02, 0.003) written to one decimal is -0.0: the target's own sample.
    (np.round(np.random.default_rng(3).normal(-0.02, 0.003, 300), 1), -0.02, 0.003, "ties"),
    # Two integers from N(4, 1.25) both 3: P = (Phi(-0.4) - Phi(-1.2))^2 = 0.2295^2 = 0.053 >= 0.05.
    (np.array([3.0, 3.0]), 4.0, 1.25, "ties"),
    # Eight 4s: (Phi(0.4) - Phi(-0.4))^8 = 0.3108^8 = 8.7e-5 < 0.05; with sd 0.6, 0.5953^8 = 0.016.
    (np.full(8, 4.0), 4.0, 1.25, "constant sample"),
    (np.full(8, 4.0), 4.0, 0.6, "constant sample"),
    # A float32 output stuck on one number: its cell is float32's spacing, about 5e-7.
    (np.full(500, np.float32(4.1234567), dtype=float), 4.0, 1.25, "constant sample"),
    # 1e+05 read at one significant digit: the target has no mass in its cell at all.
    (np.full(500, 1e5), 4.0, 1.25, "constant sample"),
])
def test_a_constant_sample_fails_unless_the_rounded_target_makes_it_as_often_as_alpha(sample, mean, std, status):
    """Hand computations above with scipy.stats.norm.cdf. A sample the rounded target makes this
    constant is not tested (no pass, no rejection), as the verdict leaves such draws undecided."""
    table = score(sample, mean=mean, std=std)
    assert (table["status"] == status).all()
    assert table["reject"].all() == (status == "constant sample") and table["pvalue"].isna().all()


def test_bad_rows_do_not_disturb_good_rows(rng):
    good = rng.normal(4, 1.25, size=(2, 100))
    mixed = np.vstack([good[0], np.full(100, 4.0), good[1]])
    table = score(mixed)
    reference = score(good)
    ok = table[table["sample"] != 1].reset_index(drop=True)
    np.testing.assert_allclose(ok["pvalue"], reference["pvalue"], rtol=1e-12)
    assert table.loc[table["sample"] == 1, "reject"].all()


def test_ragged_and_deep_input():
    rng = np.random.default_rng(5)
    table = score([rng.normal(4, 1.25, 30), rng.normal(4, 1.25, 50), [1.0, 2.0], [[1.0, 2.0]],
                   [[1.0], [2.0, 3.0]]])
    by_sample = table.groupby("sample")
    assert list(by_sample["n"].first()) == [30, 50, 2, 2, 0]
    # [1, 2] is short, not broken: too few values for every test (gof.MIN_N = 8).
    assert list(by_sample["status"].first()) == ["ok", "ok", "too few values", "not 1-D", "not 1-D"]
    # Rows of one length are scored as they would be alone.
    alone = score(np.random.default_rng(5).normal(4, 1.25, 30))
    np.testing.assert_allclose(table.loc[table["sample"] == 0, "pvalue"], alone["pvalue"], rtol=1e-12)
    deep = score(np.zeros((2, 3, 10)))
    assert (deep["status"] == "not 1-D").all() and deep["reject"].all()


@pytest.mark.parametrize("n", [1, 2, 7])
def test_short_samples_are_untested_not_failed(rng, n):
    # 1-7 values are not broken, but too short to pass: every test says "too few values" and
    # neither passes nor fails, even those with exact p-values at any n (ks, mean, std).
    table = score(rng.normal(4, 1.25, n)).set_index("test")
    assert all(t.min_n == gof.MIN_N == 8 for t in registry.SCORE_TESTS)
    assert (table["status"] == "too few values").all()
    assert not table["reject"].any() and table["pvalue"].isna().all()


def test_one_value_at_the_median_is_not_a_pass():
    # One value at the target's median: KS would give D = 0.5, p = 1 (it cannot fail), so no row
    # may say ok.
    table = score([4.0])
    assert (table["status"] == "too few values").all() and not table["reject"].any()


def test_eight_values_pvalues_by_hand():
    # The shortest sample the tests take. Eight distinct values (deviations summing to 0) with mean 4 + 1.25 * 1.96 / sqrt(8): the
    # mean test's z is 1.96, p = 2(1 - Phi(1.96)) = 0.0500 (scipy.stats.norm); KS against scipy's
    # exact kstest.
    x = 4 + 1.25 * 1.96 / np.sqrt(8) + np.array([-0.71, -0.43, -0.29, -0.07, 0.05, 0.22, 0.51, 0.72])
    table = score(x).set_index("test")
    assert table.loc["mean", "pvalue"] == pytest.approx(2 * stats.norm.sf(1.96), rel=1e-9)
    oracle = stats.kstest(x, stats.norm(4, 1.25).cdf, method="exact")
    assert table.loc["ks", "statistic"] == pytest.approx(oracle.statistic, rel=1e-12)
    assert table.loc["ks", "pvalue"] == pytest.approx(oracle.pvalue, rel=1e-6)


def test_shapiro_runs_above_5000(rng):
    # The old cap (Royston's fit ends at 5000) is gone: W is referred to its null simulated at n.
    table = score(rng.normal(4, 1.25, 5001)).set_index("test")
    assert table.loc["shapiro", "status"] == "ok" and 0 < table.loc["shapiro", "pvalue"] <= 1


def test_empty_batch_gives_empty_table():
    table = score(np.empty((0, 500)))
    assert list(table.columns) == [COLUMNS[0], SAMPLE_NAME, *COLUMNS[1:]] and table.empty


@pytest.mark.parametrize("kwargs, name", [
    ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"), ({"alpha": "0.05"}, "alpha"),
    ({"std": 0.0}, "std"), ({"std": -1.25}, "std"), ({"mean": float("inf")}, "mean"),
])
def test_malformed_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        score(np.zeros(10), **kwargs)
    with pytest.raises(ValueError, match=name):
        diversity(np.zeros((2, 10)), **kwargs)


@pytest.mark.parametrize("samples", [["a", "b"], np.array(["1", "2"]), np.ones(10) * 1j, None, [None, [1.0]]])
def test_non_numeric_samples_raise(samples):
    with pytest.raises(ValueError, match="samples"):
        score(samples)


# --- invariants (hypothesis) ---------------------------------------------------------------

finite_rows = hnp.arrays(
    np.float64, st.tuples(st.integers(2, 4), st.sampled_from([8, 13, 40])),
    elements=st.floats(-20, 20, allow_nan=False, width=64),
)


@settings(max_examples=30, deadline=None)
@given(finite_rows)
def test_batch_equals_one_row_at_a_time(x):
    # Vectorised scoring must give each row exactly what scoring it alone gives.
    batch = score(x)
    for i, row in enumerate(x):
        alone = score(row)
        part = batch[batch["sample"] == i].reset_index(drop=True)
        pd.testing.assert_frame_equal(part.drop(columns=["sample", "sample_name"]),
                                      alone.drop(columns=["sample", "sample_name"]))


@settings(max_examples=30, deadline=None)
@given(finite_rows, st.floats(0.1, 10), st.floats(-5, 5))
def test_results_are_valid_and_shape_tests_are_affine_invariant(x, scale, shift):
    table = score(x)
    ok = table["status"] == "ok"
    assert table.loc[ok, "pvalue"].between(0, 1).all()
    broken = table["status"].isin(gof.BROKEN_STATUSES)
    assert table.loc[broken, "reject"].all() and not table.loc[~ok & ~broken, "reject"].any()
    assert table.loc[~ok, "pvalue"].isna().all()
    # Shape statistics ignore location and scale (their definitions); rows that are constant or
    # nearly so are excluded, since rounding is not invariant there.
    moved = score(x * scale + shift)
    shape = table["test"].isin(["shapiro", "ad_normal", "skew", "kurtosis"]) & ok & (moved["status"] == "ok")
    spread = np.repeat(x.std(axis=1) > 1e-6 * np.abs(x).max(axis=1).clip(1), len(TESTS))
    keep = shape & spread
    np.testing.assert_allclose(moved.loc[keep, "statistic"], table.loc[keep, "statistic"], rtol=1e-6, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(finite_rows, st.randoms(use_true_random=False))
def test_order_of_values_does_not_matter(x, random):
    shuffled = np.array([random.sample(list(row), len(row)) for row in x])
    pd.testing.assert_frame_equal(score(x), score(shuffled), rtol=1e-10)


def test_samples_are_named_by_their_frame_labels(rng):
    x = rng.normal(4, 1.25, size=(2, 40))
    by_label = score(pd.DataFrame(x, index=["gen_a", "gen_b"]))
    assert list(by_label.drop_duplicates("sample")["sample_name"]) == ["gen_a", "gen_b"]
    assert set(score(pd.Series(x[0], name="real"))["sample_name"]) == {"real"}
    assert set(score(x[0])["sample_name"]) == {"row 1"}
    # Named columns suggest a sample per column, which 2-D input does not mean: a warning says so.
    with pytest.warns(UserWarning, match="one sample per row"):
        score(pd.DataFrame(x.T, columns=["gen_a", "gen_b"]))


def test_an_empty_result_has_the_dtypes_of_a_full_one():
    # No samples gave object text columns, where any other call gives pandas' string type, so
    # pd.concat of the two changed the types of the full one's columns.
    empty = score(np.empty((0, 10)))
    full = score(np.random.default_rng(6).normal(4.0, 1.25, (2, 10)))
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    assert empty.dtypes.equals(full.dtypes)
    assert pd.concat([empty, full]).dtypes.equals(full.dtypes)

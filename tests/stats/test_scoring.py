"""gancheck.score and gancheck.diversity: the table contract, bad input, invariants, collapse."""
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

import gancheck
from gancheck.stats import gof
from gancheck.stats.scoring import COLUMNS, DiversityResult, diversity, score

# Scoring must not warn on any input it accepts (pyproject already errors on FutureWarning).
pytestmark = pytest.mark.filterwarnings("error")

TESTS = ["ks", "ad", "cvm", "shapiro", "ad_normal", "mean", "std", "skew", "kurtosis"]
HYPOTHESIS = {"ks": "simple", "ad": "simple", "cvm": "simple", "shapiro": "composite",
              "ad_normal": "composite", "mean": "simple", "std": "simple", "skew": "simple",
              "kurtosis": "simple"}


def test_public_names_are_the_scoring_functions():
    assert gancheck.score is score and gancheck.diversity is diversity


def test_table_contract(rng):
    table = score(rng.normal(4, 1.25, size=(3, 40)))
    assert list(table.columns) == list(COLUMNS)
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
    (np.array([3.0, 5.0]), "too few values"),
    (np.array([]), "too few values"),
])
def test_bad_samples_never_pass(sample, status):
    table = score(sample)
    assert len(table) == len(TESTS)
    assert (table["status"] == status).all()
    assert table["reject"].all()
    assert table["pvalue"].isna().all()


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
    assert list(by_sample["status"].first()) == ["ok", "ok", "too few values", "not 1-D", "not 1-D"]
    # Rows of one length are scored as they would be alone.
    alone = score(np.random.default_rng(5).normal(4, 1.25, 30))
    np.testing.assert_allclose(table.loc[table["sample"] == 0, "pvalue"], alone["pvalue"], rtol=1e-12)
    deep = score(np.zeros((2, 3, 10)))
    assert (deep["status"] == "not 1-D").all() and deep["reject"].all()


def test_shapiro_limit_gives_a_status(monkeypatch, rng):
    # The real limit is 5000 (scipy warns above it); a smaller one exercises the same path cheaply.
    assert {t.name: t.max_n for t in gof.TESTS}["shapiro"] == gof.SHAPIRO_MAX_N == 5000
    tests = tuple(dataclasses.replace(t, max_n=20) if t.name == "shapiro" else t for t in gof.TESTS)
    monkeypatch.setattr(gof, "TESTS", tests)
    table = score(rng.normal(4, 1.25, 30)).set_index("test")
    assert table.loc["shapiro", "status"] == "too many values" and table.loc["shapiro", "reject"]
    assert (table.drop(index="shapiro")["status"] == "ok").all()


def test_empty_batch_gives_empty_table():
    table = score(np.empty((0, 500)))
    assert list(table.columns) == list(COLUMNS) and table.empty


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
        pd.testing.assert_frame_equal(part.drop(columns="sample"), alone.drop(columns="sample"))


@settings(max_examples=30, deadline=None)
@given(finite_rows, st.floats(0.1, 10), st.floats(-5, 5))
def test_results_are_valid_and_shape_tests_are_affine_invariant(x, scale, shift):
    table = score(x)
    ok = table["status"] == "ok"
    assert table.loc[ok, "pvalue"].between(0, 1).all()
    assert table.loc[~ok, "reject"].all() and table.loc[~ok, "pvalue"].isna().all()
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


# --- diversity -----------------------------------------------------------------------------

def test_diversity_by_hand():
    # Coordinates (1, 3) and (2, 4): deviations ±1 from their means, so the statistic is 4 with
    # df = n(K - 1) = 2; chi2(2) CDF at 4 is 1 - exp(-2) = 0.8646647; per-coordinate sds are
    # sqrt(2), so spread_ratio = sqrt(2) / std with std = 1.
    result = diversity([[1.0, 2.0], [3.0, 4.0]], std=1.0)
    assert isinstance(result, DiversityResult)
    assert result.statistic == pytest.approx(4.0)
    assert result.df == 2 and result.k == 2 and result.n == 2
    assert result.pvalue == pytest.approx(1 - math.exp(-2), rel=1e-12)
    assert result.spread_ratio == pytest.approx(math.sqrt(2), rel=1e-12)
    assert result.status == "ok" and not result.collapsed
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.collapsed = True


def test_collapse_is_caught_while_within_vector_tests_pass():
    # 200 collapsed generators: each emits one N(4, 1.25) vector of 500 for all K = 8 noise draws.
    rng = np.random.default_rng(11)
    vectors = rng.normal(4, 1.25, size=(200, 500))
    flagged = [diversity(np.tile(v, (8, 1))) for v in vectors]
    assert all(r.collapsed and r.status == "ok" and r.spread_ratio < 1e-12 for r in flagged)
    # Their vectors pass the within-vector tests at the null rate: each test's rejection count
    # lies in the binomial 99% band for 200 draws at p = 0.05 (scipy.stats.binom).
    low, high = stats.binom.ppf([0.005, 0.995], 200, 0.05)
    counts = score(vectors).groupby("test")["reject"].sum()
    assert counts.between(low, high).all(), counts.to_dict()


def test_independent_draws_are_not_flagged():
    # 400 honest generators: K = 5 independent N(4, 1.25) draws of 500.
    rng = np.random.default_rng(12)
    results = [diversity(rng.normal(4, 1.25, size=(5, 500))) for _ in range(400)]
    # The chi-square p-value is exact: its rejection count is in the binomial 99% band.
    low, high = stats.binom.ppf([0.005, 0.995], 400, 0.05)
    assert low <= sum(r.pvalue < 0.05 for r in results) <= high
    # collapsed also needs spread < 0.5, so the false-flag rate is at most that: <= alpha.
    assert sum(r.collapsed for r in results) <= high
    # Expected spread ratio c4(5) = 0.9400 (Gurland & Tripathi 1971); SD of the mean over 500
    # coordinates is about 0.342 * 0.94 / sqrt(500) = 0.014, so 0.05 is > 3 SDs.
    assert np.mean([r.spread_ratio for r in results]) == pytest.approx(0.9400, abs=0.05)


def test_wrong_std_is_not_a_collapse(rng):
    # Independent draws with sd 1.0 against target 1.25: clearly less varied (p ~ 0) but a
    # spread ratio near 0.8, a std mismatch that the within-vector tests report, not a collapse.
    result = diversity(rng.normal(4, 1.0, size=(10, 500)))
    assert result.pvalue < 1e-6 and 0.7 < result.spread_ratio < 0.9 and not result.collapsed


@pytest.mark.parametrize("draws, status", [
    (np.r_[np.ones(9), np.nan].reshape(2, 5), "non-finite values"),
    (np.r_[np.ones(9), np.inf].reshape(2, 5), "non-finite values"),
    (np.ones((1, 500)), "too few draws"),
    (np.ones(500), "not 2-D"),
    (np.ones((3, 2, 5)), "not 2-D"),
    (np.ones((3, 0)), "too few values"),
    ([[1.0, 2.0], [3.0]], "not 2-D"),
])
def test_diversity_bad_draws_never_pass(draws, status):
    result = diversity(draws)
    assert result.status == status and result.collapsed and math.isnan(result.pvalue)


def test_diversity_non_numeric_raises():
    with pytest.raises(ValueError, match="draws"):
        diversity(np.array([["a", "b"], ["c", "d"]]))

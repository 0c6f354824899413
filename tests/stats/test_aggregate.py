"""Tests for gancheck.stats.aggregate on tiny hand-computable tables.

Every asserted number names its oracle: a hand computation (shown), statsmodels/scipy, or
../shared/STATISTICS.md.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from gancheck.stats import aggregate as ag


def long_metrics(table: dict) -> pd.DataFrame:
    """{(arm, metric): values} -> long [arm, seed, metric, value], seeds 0..k-1."""
    rows = [(arm, seed, metric, value) for (arm, metric), values in table.items()
            for seed, value in enumerate(values)]
    return pd.DataFrame(rows, columns=["arm", "seed", "metric", "value"])


# ---------------------------------------------------------------------------- Wilson

def test_wilson_3_of_10_matches_closed_form_and_statsmodels():
    low, high = ag.wilson_interval(3, 10)
    # Closed form (Wilson 1927): (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    z, p, n = stats.norm.ppf(0.975), 0.3, 10
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert low == pytest.approx(centre - half, rel=1e-12)
    assert high == pytest.approx(centre + half, rel=1e-12)
    # By hand with z = 1.96: centre 0.49207/1.38415 = 0.35551, half 0.34287/1.38415 = 0.24772.
    assert (low, high) == pytest.approx((0.10779, 0.60322), abs=1e-5)
    # statsmodels as the oracle.
    assert (low, high) == pytest.approx(proportion_confint(3, 10, alpha=0.05, method="wilson"))


def test_wilson_vectorised_edges_and_confidence():
    low, high = ag.wilson_interval(np.array([0, 10, 0]), np.array([10, 10, 0]))
    # Wilson at count 0 has lower bound exactly 0 and at count n upper bound exactly 1 (the ± term
    # equals the centre offset; the library pins them, statsmodels can be 1e-17 off); the closed
    # form gives the other bound z²/(n + z²) = 0.27753.
    z2 = stats.norm.ppf(0.975) ** 2
    assert low[0] == 0.0 and high[0] == pytest.approx(z2 / (10 + z2))
    assert high[1] == pytest.approx(1.0) and low[1] == pytest.approx(1 - z2 / (10 + z2))
    # n = 0: no trials, documented NaN.
    assert math.isnan(low[2]) and math.isnan(high[2])
    # A 90% interval is narrower than the 95% one (z 1.645 < 1.960); statsmodels as oracle.
    low90, high90 = ag.wilson_interval(3, 10, confidence=0.90)
    assert (low90, high90) == pytest.approx(proportion_confint(3, 10, alpha=0.10, method="wilson"))
    assert high90 - low90 < 0.60322 - 0.10779


@pytest.mark.parametrize("kwargs, name", [
    ({"count": 11, "n": 10}, "count"), ({"count": -1, "n": 10}, "count"),
    ({"count": 1, "n": -2}, "n"), ({"count": 1, "n": 10, "confidence": 1.5}, "confidence"),
])
def test_wilson_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ag.wilson_interval(**kwargs)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_wilson_interval_contains_rate(n, data):
    count = data.draw(st.integers(0, n))
    low, high = ag.wilson_interval(count, n)
    # Invariant of the Wilson interval: inside [0, 1] and around the observed rate.
    assert 0 <= low <= count / n <= high <= 1


# ---------------------------------------------------------------------------- rates

def test_pass_rates_count_only_ok_and_not_rejected():
    scores = pd.DataFrame({
        "arm": ["a", "a", "a", "a", "b"],
        "test": ["ks", "ks", "ks", "ks", "ks"],
        "status": ["ok", "ok", "constant sample", "ok", "ok"],
        # A non-ok row fails even if reject were False; a missing verdict (None) fails too.
        "reject": [False, True, False, None, False],
    })
    table = ag.pass_rates(scores)
    assert list(table.columns) == ["arm", "test", "n", "count", "rate", "ci_low", "ci_high"]
    a = table.set_index("arm").loc["a"]
    # By hand: 4 rows, only row 0 passes.
    assert (a["n"], a["count"], a["rate"]) == (4, 1, 0.25)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(
        proportion_confint(1, 4, alpha=0.05, method="wilson"))  # statsmodels
    b = table.set_index("arm").loc["b"]
    assert (b["n"], b["count"], b["rate"]) == (1, 1, 1.0)


def test_pass_rates_nullable_missing_verdict_is_a_failure():
    scores = pd.DataFrame({"arm": ["a", "a"], "test": ["ks", "ks"],
                           "status": pd.array(["ok", "ok"], dtype="string"),
                           "reject": pd.array([False, None], dtype="boolean")})
    row = ag.pass_rates(scores).iloc[0]
    # By hand: 2 rows, the NA verdict fails -> 1 of 2 (not 1 of 1).
    assert (row["n"], row["count"]) == (2, 1)


def test_collapse_rates_leave_unmeasured_members_out():
    members = pd.DataFrame({"arm": ["a", "a", "a", "b"],
                            "collapsed": [True, False, None, None]})
    table = ag.collapse_rates(members).set_index("arm")
    # By hand: arm a has 2 measured members, 1 collapsed; arm b has none measured.
    assert (table.loc["a", "n"], table.loc["a", "count"], table.loc["a", "rate"]) == (2, 1, 0.5)
    assert table.loc["b", "n"] == 0
    assert table.loc["b", ["rate", "ci_low", "ci_high"]].isna().all()


def test_proportion_table_rejects_bad_arguments():
    df = pd.DataFrame({"arm": ["a"], "ok": ["yes"]})
    with pytest.raises(ValueError, match="success_col"):
        ag.proportion_table(df, "arm", "ok")
    with pytest.raises(ValueError, match="missing columns"):
        ag.proportion_table(df, ["arm", "test"], "ok")
    with pytest.raises(ValueError, match="by"):
        ag.proportion_table(df, [], "ok")


# ---------------------------------------------------------------------------- bootstrap

def test_bootstrap_ci_contains_median_and_is_deterministic():
    values = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    low, high = ag.bootstrap_ci(values, seed=7)
    # The sample median (3, by hand) lies inside; a percentile interval of resampled medians
    # cannot leave the data's range [1, 10].
    assert 1.0 <= low <= 3.0 <= high <= 10.0
    assert ag.bootstrap_ci(values, seed=7) == (low, high)  # same seed, same interval
    # Cross-check against scipy.stats.bootstrap with the same generator.
    ref = stats.bootstrap((values,), np.median, method="percentile", rng=np.random.default_rng(7))
    assert (low, high) == (ref.confidence_interval.low, ref.confidence_interval.high)


def test_bootstrap_ci_degenerate_cases():
    # Fewer than 2 values: documented NaN interval.
    assert all(math.isnan(b) for b in ag.bootstrap_ci([5.0]))
    assert all(math.isnan(b) for b in ag.bootstrap_ci([]))
    # All equal: every resample is the data, so the interval is the point (by hand: 2).
    assert ag.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    # Two constant samples: difference of medians 2 - 5 = -3, degenerate too.
    assert ag.bootstrap_ci(([2.0, 2.0], [5.0, 5.0]), ag.median_difference) == (-3.0, -3.0)


def test_bootstrap_ci_two_samples_contains_difference():
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([10.0, 11.0, 12.0, 13.0])
    low, high = ag.bootstrap_ci((x, y), ag.median_difference, seed=1)
    # Medians 2.5 and 11.5 (by hand): difference -9; any resampled difference lies in
    # [min x - max y, max x - min y] = [-12, -6].
    assert -12.0 <= low <= -9.0 <= high <= -6.0


@pytest.mark.parametrize("kwargs, name", [
    ({"values": [1.0, np.nan, 2.0]}, "finite"), ({"values": np.ones((2, 2))}, "1-D"),
    ({"values": [1.0, 2.0], "confidence": 0.0}, "confidence"),
    ({"values": [1.0, 2.0], "n_resamples": 0}, "n_resamples"),
    ({"values": [1.0, 2.0], "method": "normal"}, "method"),
])
def test_bootstrap_ci_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ag.bootstrap_ci(**kwargs)


# ---------------------------------------------------------------------------- metric summary

def test_metric_summary_medians_counts_and_seed():
    metrics = long_metrics({("a", "ks_statistic"): [0.3, 0.1, np.nan, 0.2],
                            ("a", "collapse_gap"): [np.nan, np.nan],
                            ("b", "ks_statistic"): [0.5]})
    table = ag.metric_summary(metrics, n_resamples=999, seed=3)
    assert list(table.columns) == ["arm", "metric", "n", "median", "ci_low", "ci_high"]
    rows = table.set_index(["arm", "metric"])
    # By hand: finite values 0.3, 0.1, 0.2 -> n 3, median 0.2.
    ks = rows.loc[("a", "ks_statistic")]
    assert (ks["n"], ks["median"]) == (3, pytest.approx(0.2))
    assert 0.1 <= ks["ci_low"] <= 0.2 <= ks["ci_high"] <= 0.3
    # All-NaN metric: n 0, everything NaN; one seed: median with NaN bounds (documented).
    assert rows.loc[("a", "collapse_gap"), "n"] == 0
    assert rows.loc[("a", "collapse_gap"), ["median", "ci_low", "ci_high"]].isna().all()
    assert rows.loc[("b", "ks_statistic"), "median"] == 0.5
    assert rows.loc[("b", "ks_statistic"), ["ci_low", "ci_high"]].isna().all()
    # Deterministic, and each row's stream depends only on (seed, arm, metric): the row is the
    # same when computed alone.
    pd.testing.assert_frame_equal(table, ag.metric_summary(metrics, n_resamples=999, seed=3))
    alone = ag.metric_summary(metrics[metrics["arm"] == "a"], n_resamples=999, seed=3)
    assert alone.set_index(["arm", "metric"]).loc[("a", "ks_statistic"), "ci_low"] == ks["ci_low"]


# ---------------------------------------------------------------------------- comparisons

def test_compare_3_vs_3_hand_example():
    metrics = long_metrics({("base", "ks_statistic"): [4.0, 5.0, 6.0],
                            ("arm", "ks_statistic"): [1.0, 2.0, 3.0]})
    row = ag.compare_to_baseline(metrics, "base", n_resamples=999).iloc[0]
    assert (row["arm"], row["baseline"], row["n"], row["n_baseline"]) == ("arm", "base", 3, 3)
    # By hand: medians 2 and 5 -> difference -3; no pair with arm > baseline -> U = 0; all 9 pairs
    # favour the arm -> prob_improvement 1.
    assert (row["difference"], row["statistic"], row["prob_improvement"]) == (-3.0, 0.0, 1.0)
    # STATISTICS.md: smallest exact two-sided p for 3 vs 3 is 0.10 (= 2 / C(6, 3)).
    assert row["pvalue"] == pytest.approx(0.10)
    assert row["ci_low"] <= -3.0 <= row["ci_high"]


@pytest.mark.parametrize("k, smallest_p", [(4, 2 / 70), (5, 2 / 252)])
def test_compare_smallest_exact_p(k, smallest_p):
    metrics = long_metrics({("base", "m"): list(range(10, 10 + k)), ("arm", "m"): list(range(k))})
    row = ag.compare_to_baseline(metrics, "base", n_resamples=99).iloc[0]
    # STATISTICS.md: 4 -> 0.029, 5 -> 0.0079 (= 2 / C(2k, k) for complete separation).
    assert row["pvalue"] == pytest.approx(smallest_p)


def test_prob_improvement_with_ties_by_hand_and_vs_scipy():
    x, y = [1.0, 2.0, 2.0], [2.0, 3.0, 4.0]
    metrics = long_metrics({("base", "m"): y, ("arm", "m"): x})
    row = ag.compare_to_baseline(metrics, "base", n_resamples=99).iloc[0]
    # By hand over 9 pairs: arm lower in 3 (1 vs all) + 4 (each 2 vs 3, 4) = 7; ties 2 (2 vs 2,
    # twice) count half -> (7 + 1) / 9.
    assert row["prob_improvement"] == pytest.approx(8 / 9)
    # scipy: U of the arm counts arm > baseline (+ ties half) = 0 + 1 = 1, so P = 1 - U/(n1 n2).
    u = stats.mannwhitneyu(x, y, alternative="two-sided").statistic
    assert row["statistic"] == u == 1.0
    assert row["prob_improvement"] == pytest.approx(1 - u / 9)


@settings(max_examples=50, deadline=None)
@given(x=st.lists(st.integers(0, 5), min_size=2, max_size=7),
       y=st.lists(st.integers(0, 5), min_size=2, max_size=7))
def test_prob_improvement_is_complement_of_scipy_u(x, y):
    metrics = long_metrics({("base", "m"): y, ("arm", "m"): x})
    row = ag.compare_to_baseline(metrics, "base", n_resamples=9).iloc[0]
    u = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto").statistic
    # Identity: U_arm/(n1 n2) = P(arm > base) + P(tie)/2, so P(arm < base) + P(tie)/2 = 1 - that.
    assert row["prob_improvement"] == pytest.approx(1 - u / (len(x) * len(y)))


def test_holm_over_the_whole_family_by_hand_and_vs_statsmodels():
    base = [10.0, 11.0, 12.0, 13.0]
    metrics = long_metrics({
        ("base", "m1"): base, ("base", "m2"): base,
        ("A", "m1"): [1.0, 2.0, 3.0, 4.0],     # U = 0
        ("A", "m2"): [1.0, 2.0, 3.0, 10.5],    # U = 1 (10.5 > 10)
        ("C", "m1"): [1.0, 2.0, 3.0, 11.5],    # U = 2
        ("C", "m2"): [1.0, 2.0, 3.0, 14.0],    # U = 4
        ("D", "m1"): [1.0],                    # too few values: untested, outside the family
    })
    table = ag.compare_to_baseline(metrics, "base", alpha=0.2, n_resamples=99)
    rows = table.set_index(["arm", "metric"])
    assert "base" not in set(table["arm"])
    # Exact 4 vs 4 null: counts of U = 0..4 among C(8,4) = 70 splits are 1, 1, 2, 3, 5, so the
    # two-sided p for U = 0, 1, 2, 4 is 2/70, 4/70, 8/70, 24/70.
    p = {("A", "m1"): 2 / 70, ("A", "m2"): 4 / 70, ("C", "m1"): 8 / 70, ("C", "m2"): 24 / 70}
    for key, expected in p.items():
        assert rows.loc[key, "pvalue"] == pytest.approx(expected)
    # Holm by hand: sorted p times 4, 3, 2, 1 -> 8/70, 12/70, 16/70, 24/70 (already increasing).
    holm = {("A", "m1"): 8 / 70, ("A", "m2"): 12 / 70, ("C", "m1"): 16 / 70, ("C", "m2"): 24 / 70}
    for key, expected in holm.items():
        assert rows.loc[key, "pvalue_holm"] == pytest.approx(expected)
    # Step-down at alpha 0.2: 2/70 <= 0.2/4, 4/70 <= 0.2/3, 8/70 > 0.2/2 -> stop: reject 2.
    assert rows.loc[("A", "m1"), "reject_holm"] and rows.loc[("A", "m2"), "reject_holm"]
    assert not rows.loc[("C", "m1"), "reject_holm"] and not rows.loc[("C", "m2"), "reject_holm"]
    # statsmodels on the 1-D family of 4 as the oracle.
    reject, adjusted, _, _ = multipletests(list(p.values()), alpha=0.2, method="holm")
    assert [rows.loc[key, "pvalue_holm"] for key in p] == pytest.approx(list(adjusted))
    assert [bool(rows.loc[key, "reject_holm"]) for key in p] == list(reject)
    # The one-value arm: NaN p, not adjusted, not rejected; its median difference still shown.
    d = rows.loc[("D", "m1")]
    assert math.isnan(d["pvalue"]) and math.isnan(d["pvalue_holm"]) and not d["reject_holm"]
    assert d["difference"] == 1.0 - 11.5  # by hand: medians 1 and 11.5


def test_compare_rejects_bad_arguments():
    metrics = long_metrics({("base", "m"): [1.0, 2.0], ("arm", "m"): [3.0, 4.0]})
    with pytest.raises(ValueError, match="baseline"):
        ag.compare_to_baseline(metrics, "seed")
    with pytest.raises(ValueError, match="metrics is missing"):
        ag.compare_to_baseline(metrics.drop(columns="value"), "base")
    with pytest.raises(ValueError, match="alpha"):
        ag.compare_to_baseline(metrics, "base", alpha=1.0)
    with pytest.raises(ValueError, match="min_n"):
        ag.compare_to_baseline(metrics, "base", min_n=0)


def test_aggregation_survives_one_seed_and_all_nan_metric_without_warnings():
    metrics = long_metrics({("base", "ks_statistic"): [0.1, 0.2, 0.3],
                            ("base", "collapse_gap"): [np.nan, np.nan, np.nan],
                            ("one", "ks_statistic"): [0.2],
                            ("one", "collapse_gap"): [np.nan]})
    # Turning warnings into errors here (not ignoring them) shows the degenerate cases are
    # handled rather than left to numpy's "mean of empty slice".
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = ag.metric_summary(metrics, n_resamples=99)
        table = ag.compare_to_baseline(metrics, "base", n_resamples=99)
    assert len(summary) == 4 and len(table) == 2
    # Nothing is testable: every p is NaN and nothing is rejected.
    assert table["pvalue"].isna().all() and not table["reject_holm"].any()
    # One seed against three (by hand): difference 0.2 - 0.2 = 0; P(0.2 < y) + ties/2 over
    # y = 0.1, 0.2, 0.3 is (1 + 0.5) / 3 = 0.5.
    ks = table.set_index("metric").loc["ks_statistic"]
    assert ks["difference"] == pytest.approx(0.0) and ks["prob_improvement"] == pytest.approx(0.5)


# ---------------------------------------------------------------------------- metrics table

def test_metrics_from_scores_hand_example():
    scores = pd.DataFrame({
        "arm": ["a", "a", "a", "null"], "seed": [0, 0, 0, 0],
        "test": ["ks", "ad", "shapiro", "ks"],
        "status": ["ok", "constant sample", "ok", "ok"],
        "statistic": [0.12, 3.0, 0.99, 0.05]})
    members = pd.DataFrame({"arm": ["a"], "seed": [0], "spread_ratio": [0.75]})
    samples = pd.DataFrame({"arm": ["a", "a", "null", "null"], "seed": [0, 0, 0, 0],
                            "value": [3.0, 5.5, 4.0, 4.0]})
    metrics = ag.metrics_from_scores(scores, members, samples, target_mean=4.0, target_std=1.25)
    got = dict(zip(metrics["metric"], metrics["value"]))
    # By hand: ks row ok -> 0.12; ad row not ok -> no value; mean (3 + 5.5)/2 = 4.25 -> 0.25;
    # population std |5.5 - 3|/2 = 1.25 -> 0; collapse gap |1 - 0.75| = 0.25. "null" is not a
    # member, so it is left out.
    assert got == pytest.approx({"ks_statistic": 0.12, "abs_mean_error": 0.25,
                                 "abs_std_error": 0.0, "collapse_gap": 0.25})
    assert set(metrics["arm"]) == {"a"}
    assert list(metrics.columns) == ["arm", "seed", "metric", "value"]


def test_metrics_from_scores_non_finite_sample_gives_nan():
    scores = pd.DataFrame(columns=["arm", "seed", "test", "status", "statistic"])
    members = pd.DataFrame({"arm": ["a"], "seed": [0], "spread_ratio": [np.nan]})
    samples = pd.DataFrame({"arm": ["a", "a"], "seed": [0, 0], "value": [4.0, np.nan]})
    metrics = ag.metrics_from_scores(scores, members, samples)
    # A diverged vector must not be summarised from its finite part (pandas would skip NaN).
    assert metrics["value"].isna().all() and len(metrics) == 3


# ---------------------------------------------------------------------------- settling

def test_settling_hand_built_history():
    history = pd.DataFrame({
        "arm": ["a"] * 10 + ["b"] * 3,
        "seed": [0] * 5 + [1] * 5 + [0] * 3,
        "epoch": [0, 1, 2, 3, 4] * 2 + [0, 1, 2],
        # a/0 enters at epoch 2 and stays; a/1 enters at 1, leaves at 3 (|4.3 - 4| > 0.25);
        # b/0 never enters and then diverges (NaN).
        "g_mean": [0.0, 3.0, 3.9, 4.2, 4.0,   0.0, 3.75, 4.1, 4.3, 4.0,   0.0, 1.0, np.nan],
        # a/* on target throughout; b/0 enters at 1 then diverges (NaN counts as outside).
        "g_std": [1.25] * 10 + [3.0, 1.2, np.nan],
    })
    members = ag.settling_by_member(history).set_index(["arm", "seed", "metric"])
    outcome = members[["settled", "epoch", "stays"]]
    # By hand from the table above (band: 4 ± 0.25, 1.25 ± 0.125).
    assert outcome.loc[("a", 0, "g_mean")].tolist() == [True, 2, True]
    assert outcome.loc[("a", 1, "g_mean")].tolist() == [True, 1, False]
    assert not outcome.loc[("b", 0, "g_mean"), "settled"]
    assert math.isnan(outcome.loc[("b", 0, "g_mean"), "epoch"])
    assert outcome.loc[("b", 0, "g_std")].tolist() == [True, 1, False]

    summary = ag.settling(history).set_index(["arm", "metric"])
    assert list(summary.reset_index().columns) == ["arm", "metric", "n", "settled_rate",
                                                   "median_epoch", "stays_rate"]
    # a/g_mean: 2 members, both settled at epochs 2 and 1 -> median 1.5; one of two stays.
    assert summary.loc[("a", "g_mean")].tolist() == [2, 1.0, 1.5, 0.5]
    # a/g_std: both in band from epoch 0 to the end.
    assert summary.loc[("a", "g_std")].tolist() == [2, 1.0, 0.0, 1.0]
    # b/g_mean: nothing settled -> NaN median epoch.
    b = summary.loc[("b", "g_mean")]
    assert (b["n"], b["settled_rate"], b["stays_rate"]) == (1, 0.0, 0.0)
    assert math.isnan(b["median_epoch"])


def test_settling_tolerances_and_bad_arguments():
    history = pd.DataFrame({"arm": "a", "seed": 0, "epoch": [0, 1],
                            "g_mean": [4.3, 4.3], "g_std": [1.25, 1.25]})
    # |4.3 - 4| = 0.3: outside the default 0.25 band, inside a 0.5 band from epoch 0.
    assert ag.settling(history).set_index("metric").loc["g_mean", "settled_rate"] == 0.0
    wide = ag.settling(history, mean_tol=0.5).set_index("metric").loc["g_mean"]
    assert (wide["settled_rate"], wide["median_epoch"], wide["stays_rate"]) == (1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="mean_tol"):
        ag.settling(history, mean_tol=0.0)
    with pytest.raises(ValueError, match="history is missing"):
        ag.settling(history.drop(columns="g_std"))

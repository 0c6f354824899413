"""Tests for gancheck.stats.aggregate on tiny hand-computable tables.

Every asserted number names its oracle: a hand computation (shown), or statsmodels/scipy.
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

"""Tests for gancheck.stats.comparisons and aggregate.metric_summary on hand-computable tables.

Every asserted number names its oracle: a hand computation (shown), scipy/statsmodels, or a
simulation in the same test.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from gancheck.stats import aggregate as ag
from gancheck.stats import comparisons as cp


def long_table(table: dict) -> pd.DataFrame:
    """{(arm, metric): values} -> long [arm, seed, metric, value], seeds 0..k-1."""
    rows = [(arm, seed, metric, value) for (arm, metric), values in table.items()
            for seed, value in enumerate(values)]
    return pd.DataFrame(rows, columns=["arm", "seed", "metric", "value"])


EMPTY = long_table({})


# ---------------------------------------------------------------------------- median intervals

def test_median_ci_order_statistics_match_binomial_by_hand():
    x = np.arange(1.0, 21.0)  # 1..20
    # n = 20, 95%: P(Bin(20, 1/2) <= 5) = 0.0207 <= 0.025 < P(<= 6) = 0.0577 (scipy.stats.binom),
    # so the interval is [x_(6), x_(15)] = [6, 15], coverage 1 - 2 * 0.0207 = 0.959.
    assert cp.median_ci(x) == (6.0, 15.0)
    # n = 5: even [x_(1), x_(5)] covers only 1 - 2/32 = 0.9375 < 0.95: the whole line.
    assert cp.median_ci([1, 2, 3, 4, 5]) == (-np.inf, np.inf)
    # n = 6: [x_(1), x_(6)] covers 1 - 2/64 = 0.969.
    assert cp.median_ci([1, 2, 3, 4, 5, 6]) == (1.0, 6.0)
    assert all(math.isnan(v) for v in cp.median_ci([]))


@pytest.mark.slow
def test_median_ci_covers_at_least_nominal_by_simulation():
    rng = np.random.default_rng(7)
    reps, n = 4000, 20
    x = rng.standard_t(2, (reps, n))  # heavy tails: the interval is distribution-free
    covered = sum(lo <= 0 <= hi for lo, hi in (cp.median_ci(row) for row in x))
    # Exact coverage 0.9586 (test above); 4,000 reps: SE 0.003, so >= 0.95 is 3 SE below.
    assert covered / reps >= 0.95


def test_metric_summary_keeps_inf_as_the_worst_value():
    metrics = long_table({("a", "ks_statistic"): [0.3, 0.1, np.nan, 0.2, np.inf, np.inf, np.inf],
                          ("b", "ks_statistic"): [0.5]})
    rows = ag.metric_summary(metrics).set_index(["arm", "metric"])
    a = rows.loc[("a", "ks_statistic")]
    # By hand: NaN dropped (not measured), inf kept: 0.1, 0.2, 0.3, inf, inf, inf -> median
    # (0.3 + inf)/2 = inf, n = 6; interval [x_(1), x_(6)] (n = 6 above) = [0.1, inf].
    assert (a["n"], a["median"], a["ci_low"], a["ci_high"]) == (6, np.inf, 0.1, np.inf)
    b = rows.loc[("b", "ks_statistic")]
    assert b["median"] == 0.5 and b["ci_low"] == -np.inf  # one seed: no information


# ---------------------------------------------------------------------------- rates

def test_boschloo_rows_match_scipy_and_newcombe():
    rates = long_table({("base", "rate:on_target"): [0] * 20,
                        ("arm", "rate:on_target"): [1] * 6 + [0] * 14})
    row = cp.compare_rates(rates, "base", higher_is_better={"rate:on_target"}).iloc[0]
    oracle = stats.boschloo_exact([[6, 0], [14, 20]], alternative="two-sided")
    assert row["test"] == "boschloo"
    assert row["pvalue"] == pytest.approx(oracle.pvalue) and row["pvalue"] < 0.05
    assert row["difference"] == pytest.approx(0.3)  # 6/20 - 0/20
    assert row["ci_low"] < 0.3 < row["ci_high"] and row["ci_low"] > 0  # Newcombe excludes 0 here
    # Oriented so the arm's higher rate is an improvement: P(arm 1 > base 0) + ties/2 over 400
    # pairs = (6*20 + 0.5 * 14*20) / 400 = 0.65.
    assert row["prob_improvement"] == pytest.approx(0.65)
    assert row["prob_improvement_low"] <= 0.65 <= row["prob_improvement_high"]


def test_rates_all_zero_against_all_zero_are_not_evidence():
    rates = long_table({("base", "rate:collapsed"): [0] * 5, ("arm", "rate:collapsed"): [0] * 5})
    row = cp.compare_rates(rates, "base").iloc[0]
    assert (row["pvalue"], row["difference"], row["prob_improvement"]) == (1.0, 0.0, 0.5)


def test_rate_test_is_exact_at_0_of_20_against_20_of_20():
    rates = long_table({("base", "rate:collapsed"): [1] * 20, ("arm", "rate:collapsed"): [0] * 20})
    row = cp.compare_rates(rates, "base").iloc[0]
    # Fisher's exact p for complete separation 20/20 vs 0/20 is 2 / C(40, 20) = 1.45e-11
    # (scipy.stats.fisher_exact); Boschloo's is at most Fisher's.
    fisher = stats.fisher_exact([[0, 20], [20, 0]]).pvalue
    assert row["pvalue"] <= fisher < 1e-10
    assert row["prob_improvement"] == 1.0  # lower is better for collapse: every pair favours the arm


# ---------------------------------------------------------------------------- metrics

def test_sign_test_on_paired_differences_by_hand():
    base = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    arm = [1.0, 2.0, 3.0, 4.0, 6.0, 5.0]  # differences -4, -3, -2, -1, +1, 0
    metrics = long_table({("base", "m"): base, ("arm", "m"): arm})
    row = cp.compare_metrics(metrics, "base").iloc[0]
    # By hand: one positive, four negative, one zero counted on the side least favourable to
    # rejection (positive): 2 of 6, P = 2 * P(Bin(6, 1/2) <= 2) = 2 * 22/64 = 44/64.
    assert row["test"] == "sign" and row["statistic"] == 1.0
    assert row["pvalue"] == pytest.approx(44 / 64)
    assert row["pvalue"] == pytest.approx(stats.binomtest(2, 6).pvalue)
    assert row["difference"] == pytest.approx(-1.5)  # median of -4, -3, -2, -1, 0, 1


def test_pairs_follow_the_seed_not_the_row_order():
    metrics = long_table({("base", "m"): [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    arm = pd.DataFrame({"arm": "arm", "seed": [5, 4, 3, 2, 1, 0], "metric": "m",
                        "value": [6.5, 5.5, 4.5, 3.5, 2.5, 1.5]})  # each seed's base + 0.5
    row = cp.compare_metrics(pd.concat([metrics, arm]), "base").iloc[0]
    # All six paired differences are +0.5: sign statistic 6, p = 2/64 (binomial by hand).
    assert row["difference"] == 0.5 and row["statistic"] == 6.0
    assert row["pvalue"] == pytest.approx(2 / 64)


def test_failed_members_are_the_worst_value_not_dropped():
    base = [0.1] * 8
    arm = [np.inf] * 7 + [0.05]  # seven failures, one better seed
    metrics = long_table({("base", "ks_statistic"): base, ("arm", "ks_statistic"): arm})
    row = cp.compare_metrics(metrics, "base").iloc[0]
    # By hand: 7 positive differences (inf), 1 negative: p = 2 * 9/256 = 0.0703; n counts all 8.
    assert row["n"] == 8 and row["statistic"] == 7.0
    assert row["pvalue"] == pytest.approx(2 * 9 / 256)
    assert row["difference"] == np.inf
    # inf - inf is a tie, not NaN: two failures on the same seed cancel.
    both = long_table({("base", "m"): [np.inf, 1.0], ("arm", "m"): [np.inf, 2.0]})
    assert cp.compare_metrics(both, "base").iloc[0]["statistic"] == 1.0


def test_zero_inflated_differences_are_not_a_difference_in_the_median():
    # 6 positive and 14 zero differences: the median difference is 0, and the interval holds 0.
    # Dropping the zeros would give 2 * 0.5^6 = 0.031 here (binomial by hand) beside it.
    diff = np.array([1.0] * 6 + [0.0] * 14)
    statistic, pvalue = cp.sign_test(diff)
    low, high = cp.median_ci(diff)
    # Least favourable split: 10 of 20 positive, p = 1 (scipy.stats.binomtest(10, 20)).
    assert (statistic, pvalue) == (6.0, stats.binomtest(10, 20).pvalue) == (6.0, 1.0)
    assert low <= 0 <= high


def test_sign_test_and_interval_agree_on_random_data_with_zeros_and_infinite_ties():
    rng = np.random.default_rng(11)
    disagreements, rejections = 0, 0
    for _ in range(1000):
        n = int(rng.integers(6, 41))
        # Values on a coarse grid (many exact ties), with failed seeds (+inf) in both arms and
        # a few -inf: +inf - +inf and -inf - -inf are ties, as two failures on one seed are.
        grid = np.array([0.0, 1.0, 2.0, np.inf, -np.inf])
        weights = rng.dirichlet(np.ones(5)) * np.array([1, 1, 1, 1, 0.2])
        weights /= weights.sum()
        x, y = rng.choice(grid, n, p=weights), rng.choice(grid, n, p=weights)
        x[rng.random(n) < rng.uniform(0, 0.5)] += rng.integers(-1, 2)
        y = y + rng.integers(0, 3)   # some data sets with a real shift (infinities stay)
        diff = cp._paired_differences(x, y)
        if np.isnan(diff).any():   # +inf - -inf is inf, never NaN; -inf - +inf likewise
            raise AssertionError("a paired difference came out NaN")
        _, pvalue = cp.sign_test(diff)
        low, high = cp.median_ci(diff, 0.95)
        rejects = pvalue <= 0.05
        rejections += rejects
        disagreements += rejects != (not low <= 0 <= high)
    # The procedure is one (sign_test's docstring): agreement is exact, in every data set.
    assert disagreements == 0
    assert rejections > 50   # the check ran on data sets of both kinds


# ---------------------------------------------------------------------------- the family

def test_holm_runs_within_each_family():
    metrics = long_table({("base", "m"): [5.0] * 6, ("A", "m"): [1.0] * 6, ("B", "m"): [4.0] * 5 + [6.0]})
    rates = long_table({("base", "rate:on_target"): [0] * 6, ("A", "rate:on_target"): [1] * 6,
                        ("B", "rate:on_target"): [0] * 6,
                        ("base", "rate:stuck"): [1] * 6, ("A", "rate:stuck"): [0] * 6,
                        ("B", "rate:stuck"): [1] * 6})
    table = cp.compare_to_baseline(metrics, rates, "base", primary={"rate:on_target"},
                                   higher_is_better={"rate:on_target"}, alpha=0.05)
    assert list(table.columns) == cp.COMPARISON_COLUMNS
    assert list(table["family"]) == ["primary"] * 2 + ["secondary"] * 2 + ["descriptive"] * 2
    assert set(table.loc[table["family"] == "descriptive", "test"]) == {"sign"}
    for family, rows in table.groupby("family"):
        reject, adjusted, _, _ = multipletests(rows["pvalue"], alpha=0.05, method="holm")  # oracle
        assert rows["pvalue_holm"].to_numpy() == pytest.approx(adjusted), family
        assert list(rows["reject_holm"]) == list(reject), family
    assert set(table["interval"]) == {"95% unadjusted"}
    assert list(table["mde_scale"]) == ["rate difference"] * 4 + ["P(arm better on a seed)"] * 2
    with pytest.raises(ValueError, match="primary"):
        cp.compare_to_baseline(metrics, rates, "base", primary={"rate:nothing"})


def test_published_fix_design_is_significant_in_the_primary_family():
    # On-target counts of the fix design as published before verdicts had a tolerance (that
    # publication's reports/full-fix/outcomes.csv): the baseline "fix" 17/20; its leave-one-out
    # arms 7, 9, 0, 4, 0 of 20, and the seed's config 0/20: six arms. (With the tolerance the
    # relu arm is 5/20, further still from the fix.)
    counts = {"fix": 17, "fix with d_activation=relu": 7, "fix with g_activation=relu": 9,
              "fix with generator=vector": 0, "fix with lr_regime=seed": 4,
              "fix with noise=uniform": 0, "seed": 0}
    table = {(arm, "rate:on_target"): [1] * k + [0] * (20 - k) for arm, k in counts.items()}
    table.update({(arm, "rate:stuck"): [0] * 20 for arm in counts})
    rates = long_table(table)
    metrics = long_table({(arm, "m"): list(np.arange(20.0)) for arm in counts})
    result = cp.compare_to_baseline(metrics, rates, "fix", primary={"rate:on_target"},
                                    higher_is_better={"rate:on_target"}).set_index(["family", "arm"])
    row = result.loc[("primary", "fix with d_activation=relu")]
    oracle = stats.boschloo_exact([[7, 17], [13, 3]], alternative="two-sided").pvalue
    assert row["pvalue"] == pytest.approx(oracle) and 0.0005 < oracle < 0.002   # about 0.001
    # Holm over the six arms: the four zero-or-four arms have smaller p, so relu is 5th of 6:
    # adjusted p = max over steps (statsmodels' multipletests is the oracle).
    primary = result.loc["primary"]
    _, adjusted, _, _ = multipletests(primary["pvalue"], method="holm")
    assert row["pvalue_holm"] == pytest.approx(adjusted[list(primary.index).index(row.name[1])])
    assert row["pvalue_holm"] < 0.05 and row["reject_holm"]
    assert len(primary) == 6


def test_holm_matches_statsmodels_and_leaves_untested_rows_out():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.005, 0.5])
    adjusted, reject = cp.holm(p, 0.05)
    oracle_reject, oracle, _, _ = multipletests(p[np.isfinite(p)], alpha=0.05, method="holm")
    assert adjusted[np.isfinite(p)] == pytest.approx(oracle)
    assert list(reject[np.isfinite(p)]) == list(oracle_reject)
    assert np.isnan(adjusted[1]) and not reject[1]


def test_compare_rejects_bad_arguments_and_survives_degenerate_input():
    metrics = long_table({("base", "m"): [1.0, 2.0], ("arm", "m"): [3.0, 4.0]})
    with pytest.raises(ValueError, match="baseline"):
        cp.compare_to_baseline(metrics, EMPTY, "seed")
    with pytest.raises(ValueError, match="metrics is missing"):
        cp.compare_to_baseline(metrics.drop(columns="value"), EMPTY, "base")
    with pytest.raises(ValueError, match="alpha"):
        cp.compare_to_baseline(metrics, EMPTY, "base", alpha=1.0)
    lonely = long_table({("base", "m"): [np.nan, np.nan], ("arm", "m"): [1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = cp.compare_to_baseline(lonely, EMPTY, "base")
    assert table["pvalue"].isna().all() and not table["reject_holm"].any()

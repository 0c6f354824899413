"""Tests for the outcome decision list (gancheck.stats.outcomes) and TOST (gancheck.stats.equivalence)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gancheck.stats.equivalence import tost
from gancheck.stats.outcomes import OUTCOMES, classify, outcome_table

TESTS = ("ks", "ad", "cvm", "shapiro", "ad_normal", "mean", "std", "skew", "kurtosis",
         "fixed_coordinates", "reused_values", "heterogeneity")


def verdict(pvalues: dict | None = None, status: dict | None = None, std_error: float = 0.0) -> pd.DataFrame:
    """A judge-like frame: every test ok with p = 0.5 unless told otherwise."""
    pvalues, status = pvalues or {}, status or {}
    rows = []
    for test in TESTS:
        st = status.get(test, "ok")
        p = pvalues.get(test, 0.5) if st == "ok" else np.nan
        rows.append({"test": test, "statistic": std_error if test == "std" else 0.0, "pvalue": p,
                     "status": st, "reject": bool(st in ("non-finite values", "constant sample") or p < 0.05)})
    return pd.DataFrame(rows)


def test_the_decision_list_in_order():
    assert OUTCOMES == ("diverged", "stuck", "collapsed", "off_target", "wrong_shape", "on_target")
    assert classify(verdict(), collapsed=False) == "on_target"
    assert classify(verdict(), collapsed=False, diverged=True) == "diverged"
    assert classify(verdict(status={"ks": "non-finite values"}), collapsed=True) == "diverged"
    assert classify(verdict(status={"ks": "constant sample"}), collapsed=True) == "stuck"
    # Median within-draw sd 1.25 - 1.15 = 0.10 < 0.1 * 1.25: nearly constant -> stuck.
    assert classify(verdict(std_error=-1.15), collapsed=True) == "stuck"
    assert classify(verdict(), collapsed=True) == "collapsed"
    assert classify(verdict({"mean": 1e-6, "ks": 1e-6}), collapsed=False) == "off_target"
    assert classify(verdict({"std": 1e-6, "ks": 1e-6}), collapsed=False) == "off_target"
    # Heavy tails at the right sd fail the normal-theory std test AND a shape test: a wrong
    # shape, not a wrong scale (the controls' t(5) sample is the case).
    assert classify(verdict({"std": 1e-6, "kurtosis": 1e-6}), collapsed=False) == "wrong_shape"
    assert classify(verdict({"mean": 1e-6, "kurtosis": 1e-6}), collapsed=False) == "off_target"
    assert classify(verdict({"kurtosis": 1e-6}), collapsed=False) == "wrong_shape"
    assert classify(verdict({"heterogeneity": 1e-6}), collapsed=False) == "wrong_shape"


def test_holm_within_the_generator():
    # Twelve tested rows: Holm's first step compares the smallest p with 0.05/12 = 0.00417.
    assert classify(verdict({"ks": 0.004}), collapsed=False) == "wrong_shape"
    assert classify(verdict({"ks": 0.005}), collapsed=False) == "on_target"
    # An untested row (not broken) stays out of the family: 11 rows, 0.05/11 = 0.004545.
    untested = verdict({"ks": 0.0045}, status={"shapiro": "ties"})
    assert classify(untested, collapsed=False) == "wrong_shape"


@pytest.mark.slow
def test_a_perfect_generator_is_on_target_at_least_1_minus_alpha():
    # Twelve independent U(0, 1) p-values per generator (the perfect generator's, when the tests
    # are calibrated): Holm keeps the family-wise error <= alpha, so on_target >= 0.95.
    rng = np.random.default_rng(11)
    reps = 2000
    hits = sum(classify(verdict(dict(zip(TESTS, rng.uniform(size=len(TESTS))))), collapsed=False) == "on_target"
               for _ in range(reps))
    # Exact for independent p: 1 - FWER, with FWER of Holm = Bonferroni here = 1 - (1 - a/12)^12
    # = 0.0489; binomial 99% band at 2,000 reps: +- 0.0124.
    assert hits / reps >= 1 - 0.0489 - 0.0124


def test_outcome_table_lists_every_outcome_with_wilson_intervals():
    members = pd.DataFrame({"arm": ["a"] * 4 + ["b"] * 2,
                            "outcome": ["on_target", "on_target", "collapsed", "diverged",
                                        "stuck", "stuck"]})
    table = outcome_table(members)
    assert len(table) == 2 * len(OUTCOMES)
    rows = table.set_index(["arm", "outcome"])
    assert rows.loc[("a", "on_target"), "count"] == 2 and rows.loc[("a", "on_target"), "rate"] == 0.5
    assert rows.loc[("b", "on_target"), "count"] == 0  # zero counts are listed
    assert (rows.groupby("arm")["rate"].sum() == 1).all()
    # Wilson interval of 2/4 (statsmodels proportion_confint, method="wilson"): [0.150, 0.850].
    assert rows.loc[("a", "on_target"), ["ci_low", "ci_high"]].to_numpy() == pytest.approx([0.1500, 0.8500], abs=1e-4)
    with pytest.raises(ValueError, match="outcome 'lost'"):
        outcome_table(pd.DataFrame({"arm": ["a"], "outcome": ["lost"]}))


# ---------------------------------------------------------------------------- TOST

def test_tost_by_hand():
    e = np.array([0.01, -0.02, 0.03, 0.0, 0.02])
    row = tost(e, 0.125)
    m, se = e.mean(), e.std(ddof=1) / np.sqrt(5)
    # The larger one-sided p (scipy.stats.t), and the 90% interval m +- t_{0.95, 4} se.
    p = max(stats.t.sf((m + 0.125) / se, 4), stats.t.cdf((m - 0.125) / se, 4))
    assert row["pvalue"] == pytest.approx(p) and row["equivalent"]
    assert row["ci_high"] - m == pytest.approx(stats.t.ppf(0.95, 4) * se)
    far = tost(e + 0.2, 0.125)
    assert not far["equivalent"] and far["pvalue"] > 0.5
    # A broken replicate makes equivalence unprovable.
    assert tost(np.append(e, np.nan), 0.125)["pvalue"] == 1.0
    with pytest.raises(ValueError, match="margin"):
        tost(e, 0.0)


@pytest.mark.slow
def test_tost_level_at_the_margin_by_simulation():
    # True mean error exactly at the margin: TOST claims equivalence at most alpha of the time.
    rng = np.random.default_rng(5)
    reps = 4000
    claims = sum(tost(rng.normal(0.125, 0.1, 20), 0.125)["equivalent"] for _ in range(reps))
    # Nominal 0.05 (each one-sided t-test is exact for normal errors); 99% band +- 0.0089.
    assert claims / reps <= 0.05 + 0.0089

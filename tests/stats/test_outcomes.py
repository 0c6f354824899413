"""Tests for the outcome table (gancheck.stats.outcomes) and TOST (gancheck.stats.equivalence).

The decision list itself is tested in test_decision.py, its calibration in test_verdict.py."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gancheck.stats.equivalence import tost
from gancheck.stats.outcomes import OUTCOMES, outcome_table

def test_outcome_table_lists_every_outcome_with_wilson_intervals():
    members = pd.DataFrame({"arm": ["a"] * 4 + ["b"] * 2,
                            "outcome": ["on_target", "on_target", "collapsed", "diverged",
                                        "stuck", "undecided"]})
    table = outcome_table(members)
    assert len(table) == 2 * len(OUTCOMES)
    rows = table.set_index(["arm", "outcome"])
    assert rows.loc[("a", "on_target"), "count"] == 2 and rows.loc[("a", "on_target"), "rate"] == 0.5
    assert rows.loc[("b", "on_target"), "count"] == 0  # zero counts are listed
    assert rows.loc[("b", "undecided"), "count"] == 1 and rows.loc[("a", "undecided"), "count"] == 0
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

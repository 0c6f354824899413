"""An arm's equivalence statement: the share of its generators each within the tolerance.

Oracles: statsmodels' Wilson interval, hand counts.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from gancheck.runs import verdicts
from gancheck.stats.equivalence import SHARE_COLUMNS, share_within


def test_share_within_is_a_count_with_a_wilson_interval():
    row = share_within(np.array([True] * 17 + [False] * 3))
    low, high = proportion_confint(17, 20, alpha=0.05, method="wilson")   # the oracle
    assert (row["n"], row["count"], row["share"]) == (20, 17, 0.85)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["interval"] == "Wilson 95%" and list(row) == SHARE_COLUMNS
    none = share_within(np.array([False] * 20))
    assert none["share"] == 0 and none["ci_low"] == 0 and none["ci_high"] < 0.17   # 0.161 (Wilson)
    assert np.isnan(share_within(np.array([], dtype=bool))["share"])
    with pytest.raises(ValueError, match="within"):
        share_within(np.array([0.5, 1.0]))


def test_arm_equivalence_counts_generators_not_their_average_error():
    # Four generators of arm "a", each off target (say by +-0.4 sd with random signs, whose
    # average is near 0), and one within the tolerance; arm "b" all within; a control is ignored.
    members = pd.DataFrame({"arm": ["a"] * 5 + ["b"] * 3 + ["control:null"],
                            "seed": [0, 1, 2, 3, 4, 0, 1, 2, 0],
                            "kind": ["member"] * 8 + ["control"],
                            "outcome": ["off_target"] * 4 + ["on_target"] * 4 + ["on_target"]})
    table = verdicts.equivalence(members, pd.DataFrame(), target_std=1.25, alpha=0.05)
    assert list(table.columns) == ["arm", *SHARE_COLUMNS]
    shares = table.set_index("arm")["share"]
    assert shares.to_dict() == {"a": 1 / 5, "b": 1.0}   # by hand: 1 of 5, 3 of 3
    # Undecided, diverged, anything but "shown within" counts as not within.
    members.loc[5, "outcome"] = "undecided"
    table = verdicts.equivalence(members, pd.DataFrame(), target_std=1.25, alpha=0.05)
    assert table.set_index("arm").loc["b", "count"] == 2

"""The per-seed tables arms are compared on: failed members' worst values, and the families.

Oracles: hand-built members and scores whose every value is visible in the test.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.runs import verdicts
from gancheck.stats.outcomes import OUTCOMES


def _members_and_scores():
    outcomes = ["on_target", "diverged", "stuck", "collapsed", "wrong_shape"]
    members = pd.DataFrame({"arm": "a", "seed": range(5), "kind": "member", "outcome": outcomes,
                            # the stuck member's fixed share is ~0: a flattering measured value
                            "fixed_share": [0.2, np.nan, 0.001, 0.9, 0.3],
                            "collapsed": [False, pd.NA, False, True, False]})
    scores = pd.DataFrame([{"arm": "a", "seed": seed, "test": test, "status": "ok",
                            "statistic": value}
                           for seed in (0, 2, 3, 4)        # the diverged seed measured nothing
                           for test, value in (("ks", 0.05), ("ad", 0.4), ("mean", -0.02),
                                               ("std", 0.01))])
    return members, scores


def test_failed_members_get_the_worst_value_of_every_metric():
    members, scores = _members_and_scores()
    table = verdicts.per_seed_metrics(members, scores)
    value = table.set_index(["seed", "metric"])["value"]
    for seed in (1, 2, 3):   # diverged, stuck, collapsed: every metric, measured or not
        assert (value.loc[seed] == verdicts.FAILED_VALUE).all(), seed
    # Working members keep their measured values (the mean and std errors as absolute values).
    assert value.loc[(0, "ks_statistic")] == 0.05 and value.loc[(4, "abs_mean_error")] == 0.02
    assert value.loc[(0, "fixed_share")] == 0.2
    assert verdicts.FAILED_VALUE == np.inf   # worse than any value of every lower-is-better metric
    assert len(table) == 5 * len(verdicts.METRICS)


def test_failed_outcomes_and_families_are_declared_once_from_the_outcome_names():
    assert set(verdicts.FAILED_OUTCOMES) >= {"diverged", "stuck", "collapsed"}
    assert set(verdicts.FAILED_OUTCOMES) <= set(OUTCOMES)
    assert "on_target" not in verdicts.FAILED_OUTCOMES
    # The primary family is the on-target rate, one of the rates compared; the rates follow the
    # outcome names, so an outcome added to the decision list is compared too.
    assert verdicts.PRIMARY == ("rate:on_target",)
    assert set(verdicts.PRIMARY) <= set(verdicts.RATES)
    assert verdicts.RATES == tuple(f"rate:{o}" for o in OUTCOMES) + ("rate:collapse_flag",)

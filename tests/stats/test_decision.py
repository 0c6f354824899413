"""The ordered decision list (gancheck.stats.decision): each rule, its order, its alpha budget."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gancheck.stats.criteria import CriterionTest
from gancheck.stats.decision import OUTCOMES, SLOTS, decide, describe, holm_levels
from gancheck.stats.diversity import diversity
from gancheck.stats.judge import judge
from gancheck.stats.tolerance import Tolerance

TOL = Tolerance()


@pytest.fixture(scope="module")
def base():
    """Inputs of a generator shown within every band: judge's table and diversity's result of
    40 normal draws, and band tests with tiny within and large outside p-values."""
    x = np.random.default_rng(3).normal(4, 1.25, (40, 200))
    return judge(x), diversity(x)


def bands(**outside):
    """Band tests: p_within 1e-6 (shown within) unless a band is named with its p_outside."""
    return [CriterionTest(name, 0.5 if name in outside else 0.0, -1, 1, 0.1,
                          0.9 if name in outside else 1e-6, outside.get(name, 1.0))
            for name in ("mean", "std", "ks", "tail")]


def run(base, criteria=None, div=None, judged=None, within_sd=1.25, **kw):
    judged0, div0 = base
    return decide(criteria=bands() if criteria is None else criteria, div=div or div0,
                  judged=judged0 if judged is None else judged, within_sd=within_sd, std=1.25,
                  tolerance=TOL, alpha=0.05, **kw)


def shape_rejecting(judged):
    j = judged.copy()
    j.loc[j["test"] == "kurtosis", "pvalue"] = 1e-9
    return j


def test_outcomes_in_order():
    assert OUTCOMES == ("diverged", "stuck", "collapsed", "memorised", "off_target", "wrong_shape",
                        "undecided", "on_target")


def test_each_rule(base):
    judged, div = base
    assert run(base).outcome == "on_target"
    assert run(base, diverged=True).outcome == "diverged"
    assert run(base, broken="non-finite values").outcome == "diverged"
    assert run(base, broken="constant sample").outcome == "stuck"
    # Stuck: median within-draw sd below 1% of 1.25 = 0.0125; 0.12 (a narrow normal) is not stuck.
    assert run(base, within_sd=0.01).outcome == "stuck"
    assert run(base, within_sd=0.12).outcome == "on_target"
    collapsed = dataclasses.replace(div, memorised_pvalue=1e-9, collapse_pvalue=1e-9)
    assert run(base, div=collapsed).outcome == "collapsed"
    partial = dataclasses.replace(div, memorised_pvalue=1e-9, collapse_pvalue=0.5)
    assert run(base, div=partial).outcome == "memorised"
    pool = dataclasses.replace(div, values_pvalue=1e-9)
    assert run(base, div=pool).outcome == "memorised"
    assert run(base, bands(mean=1e-9)).outcome == "off_target"
    assert run(base, bands(std=1e-9)).outcome == "off_target"
    # The sd shown outside while the shape tests reject: heavy tails, a wrong shape.
    assert run(base, bands(std=1e-9), judged=shape_rejecting(judged)).outcome == "wrong_shape"
    # A mean shown outside stays off_target whatever the shape.
    assert run(base, bands(mean=1e-9), judged=shape_rejecting(judged)).outcome == "off_target"
    # The KS distance shown outside: a location/scale error while the shape tests pass (a normal
    # near two corners of the moment bands), a shape error when they reject.
    assert run(base, bands(ks=1e-9)).outcome == "off_target"
    assert run(base, bands(ks=1e-9), judged=shape_rejecting(judged)).outcome == "wrong_shape"
    assert run(base, bands(tail=1e-9)).outcome == "wrong_shape"
    undecided = run(base, [dataclasses.replace(c, p_within=0.3) if c.criterion == "mean" else c
                           for c in bands()])
    assert undecided.outcome == "undecided" and "mean" in undecided.reason
    assert run(base, div=dataclasses.replace(div, fixed_within_pvalue=0.3)).outcome == "undecided"


def test_the_shape_guard_names_at_a_fifth_of_alpha(base):
    judged, _ = base
    # Kurtosis p = 0.004 rejects at alpha = 0.05 (Holm's first step 0.05 / 4 = 0.0125) but not
    # at a fifth of it (0.0025): a scale error stays off_target; p = 0.002 names a wrong shape.
    for p, outcome in ((0.004, "off_target"), (0.002, "wrong_shape")):
        j = judged.copy()
        j.loc[j["test"] != "kurtosis", "pvalue"] = 0.9
        j.loc[j["test"] == "kurtosis", "pvalue"] = p
        assert run(base, bands(std=1e-9), judged=j).outcome == outcome


def test_detected_is_beside_the_label(base):
    judged, _ = base
    # A single test rejecting (Holm over judge's rows) is "detected" whatever the label.
    j = judged.copy()
    j.loc[j["test"] == "ks", "pvalue"] = 1e-9
    found = run(base, judged=j)
    assert found.outcome == "on_target" and found.detected
    assert not run(base).detected


def test_holm_levels_step_down():
    # Holm (1979) by hand: sorted p 0.001, 0.01, 0.02 at alpha 0.05 compare with 0.05/3, 0.05/2,
    # 0.05/1: the first two reject, the third (0.02 < 0.05) too; with 0.03 in second place
    # (0.03 > 0.025) the procedure stops there.
    rejected, level = holm_levels(np.array([0.02, 0.001, 0.01]), 0.05)
    assert rejected.tolist() == [True, True, True]
    assert level.tolist() == pytest.approx([0.05, 0.05 / 3, 0.025])
    rejected, _ = holm_levels(np.array([0.04, 0.001, 0.03]), 0.05)
    assert rejected.tolist() == [False, True, False]


def test_the_departure_budget_is_holm_over_six(base):
    _, div = base
    assert SLOTS == ("fixed_share", "repeats", "mean", "std", "ks", "tail")
    # Only the mean's p below 0.05/6 = 0.00833 shows it outside when the other five are 1.
    assert run(base, bands(mean=0.008)).outcome == "off_target"
    assert run(base, bands(mean=0.009)).outcome != "off_target"


def test_describe_states_rules_budget_and_tolerance():
    text = describe(Tolerance(mean=0.2), 0.01)
    for word in OUTCOMES:
        assert word in text
    assert "0.01" in text and "within 0.2 target sd" in text and "<" not in text

"""The one registry of statistical tests: adding a test is one entry here plus its own tests.

score() runs the per-sample tests (those with a ``run`` function) in registry order; judge() adds
the diversity tests after them; reports and CLIs read names, labels, groups and descriptions here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from gancheck.stats import gof, gof_target

GROUPS = ("fit", "shape", "moments", "diversity")


@dataclass(frozen=True)
class StatTest:
    """One test: its name in score()/judge() output and what a report says about it.

    min_n: smallest sample the test takes; shorter (non-broken) samples get gof.TOO_FEW.
    ties: which grid check of gof makes a tied sample untested ("order" or "moments"; None for
      the diversity tests, which are judged on generator output).
    run: (sorted (m, n) rows, *, mean, std) -> (statistic, pvalue); None for the diversity tests,
      which diversity() computes on all draws together. A normal target runs it.
    applies: (Target) -> bool, whether the test applies to a target: a test that does not is
      absent from score()'s and judge()'s output (no row), not rejected. See
      _normal_only, _mean_applies and _higher_applies below.
    run_target: (sorted (m, n) rows, *, target) -> (statistic, pvalue) for a target that is not
      normal (gancheck.stats.gof_target); None where the test applies only to normal targets.
    statistic: for the diversity tests, the name (as the description says it) of what judge()
      reports as the row's statistic; tests/stats/test_registry.py ties each to its computation.
    """

    name: str
    hypothesis: str  # "simple": the target exactly; "composite": its shape at any location and scale
    label: str
    group: str
    order: int
    description: str  # one sentence: the null hypothesis the test tests
    reference: str
    min_n: int
    ties: str | None = None
    run: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    statistic: str = ""  # diversity tests: the name of the effect size judge() reports as statistic
    applies: Callable[[object], bool] = lambda target: True  # most tests apply to every target
    run_target: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None
    target_description: str = ""  # the null for a target other than a normal, where run_target runs
    #: The statistic needs every value strictly inside the target's support (A² weighs log F and
    #: log(1 - F)): a value exactly at a finite end, which rounding puts there, leaves it untested.
    needs_interior: bool = False
    #: run and run_target take ``decide_at=alpha``: a p-value exact only where it decides p < alpha
    #: (gof.ks_pvalue), for judge, which keeps only the decisions.
    decides: bool = False


def _normal_only(target) -> bool:
    """Shapiro-Wilk and A² with estimated parameters test "normal of any location and scale":
    against any other target their null is false by construction, so they would only measure
    how non-normal the target is."""
    return target.is_normal


def _mean_applies(target) -> bool:
    """The mean test needs a finite mean and a finite variance (else x̄ has no spread to test
    against: a t(2) sample's mean wanders without bound)."""
    return target.is_normal or target.moments_finite(2)


def _higher_applies(target) -> bool:
    """The sd, skewness and kurtosis tests need the target's first four moments finite: the
    sd's sampling variance needs the fourth, skewness and kurtosis need the moment they
    estimate (moments above the fourth are not reliably computed for every scipy family, so
    four is the limit checked). A t(df <= 4) target has none of the three."""
    return target.is_normal or target.moments_finite(4)


_ENTRIES = (
    StatTest("ks", "simple", "Kolmogorov–Smirnov", "fit", 1,
             "The sample is iid N(mean, std); largest gap between its ECDF and the target CDF, exact p "
             "(on a grid too coarse for that p: against the target rounded to the grid, its exact p).",
             "Simard & L'Ecuyer (2011), J. Stat. Softw. 39(11); rounded data: Conover (1972), JASA 67",
             gof.MIN_N, "order", gof.ks,
             run_target=gof_target.ks, decides=True,
             target_description="The sample is iid from the target; largest gap between its ECDF and the "
                                "target CDF, exact p (on a grid too coarse for that p: against the target "
                                "rounded to the grid, its exact p)."),
    StatTest("ad", "simple", "Anderson–Darling", "fit", 2,
             "The sample is iid N(mean, std); tail-weighted ECDF distance A², known parameters (on a grid "
             "too coarse for its p: the discrete A² against the target rounded to the grid, null simulated).",
             "Marsaglia & Marsaglia (2004), J. Stat. Softw. 9(2); rounded data: Choulakian, Lockhart & "
             "Stephens (1994), Canad. J. Statist. 22(1)", gof.MIN_N, "order", gof.ad,
             run_target=gof_target.ad, needs_interior=True,
             target_description="The sample is iid from the target; tail-weighted ECDF distance A² on u = "
                                "F(x), known-parameter null (on a grid too coarse for its p: the discrete A² "
                                "against the target rounded to the grid, null simulated)."),
    StatTest("cvm", "simple", "Cramér–von Mises", "fit", 3,
             "The sample is iid N(mean, std); integrated squared ECDF distance W² (on a grid too coarse for "
             "its p: the discrete W² against the target rounded to the grid, null simulated).",
             "Csörgő & Faraway (1996), JRSS B 58(1); rounded data: Choulakian, Lockhart & Stephens (1994), "
             "Canad. J. Statist. 22(1)", gof.MIN_N, "order", gof.cvm,
             run_target=gof_target.cvm,
             target_description="The sample is iid from the target; integrated squared ECDF distance W² on "
                                "u = F(x) (on a grid too coarse for its p: the discrete W² against the target "
                                "rounded to the grid, null simulated)."),
    StatTest("shapiro", "composite", "Shapiro–Wilk", "shape", 4,
             "The sample is iid normal of any location and scale; W, null simulated at n.",
             "Shapiro & Wilk (1965), Biometrika 52; Royston (1992), Stat. Comput. 2",
             gof.MIN_N, "order", gof.shapiro, applies=_normal_only),
    StatTest("ad_normal", "composite", "Anderson–Darling (normal, estimated)", "shape", 5,
             "The sample is iid normal of any location and scale; A² with estimated mean and sd.",
             "Stephens (1974), JASA 69; D'Agostino & Stephens (1986)", gof.MIN_N, "order", gof.ad_normal,
             applies=_normal_only),
    StatTest("mean", "simple", "Mean error", "moments", 6,
             "The sample mean is that of n iid N(mean, std) values; exact z test (values on a grid that "
             "rounding widens: the exact law of their sum).",
             "normal theory: x̄ ~ N(mean, std²/n); rounded data: Sheppard (1898)", gof.MIN_N, "moments",
             gof.mean_test,
             applies=_mean_applies, run_target=gof_target.mean_test,
             target_description="The sample mean is that of n iid values from the target; null simulated "
                                "from the target at n (on a grid too coarse for that: the exact law of the "
                                "sum of n values of the target rounded to the grid, or simulated from it)."),
    StatTest("std", "simple", "Std error", "moments", 7,
             "The sample sd is that of n iid N(mean, std) values; exact chi-square test (values on a grid "
             "that rounding widens: the sd of n values of the target rounded to the grid, null simulated).",
             "normal theory: (n-1)s²/std² ~ chi²(n-1); rounded data: Monte Carlo test, Davison & Hinkley "
             "(1997), ch. 4", gof.MIN_N, "moments", gof.std_test,
             applies=_higher_applies, run_target=gof_target.std_test,
             target_description="The sample sd is that of n iid values from the target; null simulated from "
                                "the target at n (on a grid too coarse for that: from the target rounded to "
                                "the grid)."),
    StatTest("skew", "composite", "Skewness", "shape", 8,
             "The sample skewness g1 is that of a normal sample; null simulated at n (on a grid too coarse "
             "for that: g1 of n values of the target rounded to the grid).",
             "D'Agostino & Stephens (1986), ch. 7; rounded data: Monte Carlo test, Davison & Hinkley (1997), "
             "ch. 4", gof.MIN_N, "moments", gof.skew_test,
             applies=_higher_applies, run_target=gof_target.skew_test,
             target_description="The sample skewness g1 is that of n iid values from the target; null "
                                "simulated from the target at n (on a grid too coarse for that: from the "
                                "target rounded to the grid)."),
    StatTest("kurtosis", "composite", "Excess kurtosis", "shape", 9,
             "The sample excess kurtosis g2 is that of a normal sample; null simulated at n (on a grid too "
             "coarse for that: g2 of n values of the target rounded to the grid).",
             "D'Agostino & Stephens (1986), ch. 7; rounded data: Monte Carlo test, Davison & Hinkley (1997), "
             "ch. 4", gof.MIN_N, "moments", gof.kurtosis_test,
             applies=_higher_applies, run_target=gof_target.kurtosis_test,
             target_description="The sample excess kurtosis g2 is that of n iid values from the target; "
                                "null simulated from the target at n (on a grid too coarse for that: from the "
                                "target rounded to the grid)."),
    StatTest("fixed_coordinates", "composite", "Fixed coordinates", "diversity", 10,
             "The K draws are independent samples of one continuous law, so no coordinate keeps "
             "part of its value across draws; p-value of the Kruskal–Wallis H with coordinates as "
             "groups (permutation null), statistic the fixed share ICC(1).",
             "Kruskal & Wallis (1952), JASA 47; Shrout & Fleiss (1979), Psychol. Bull. 86; "
             "McGraw & Wong (1996), Psychol. Methods 1", 2, statistic="ICC(1)"),
    StatTest("reused_values", "composite", "Reused values", "diversity", 11,
             "The K draws do not re-emit a finite pool of values; statistic the repeats ratio: pairs "
             "of equal values across draws over their chance count at the data's resolution (float32 "
             "spacing or a rounding grid), p-value Poisson at the tolerance's ratio.",
             "Poisson count of coincidences; resolution from the data's own grid", 2,
             statistic="repeats ratio"),
    StatTest("heterogeneity", "composite", "Heterogeneity across draws", "diversity", 12,
             "The K draws are samples of one law, so no draw sits higher or lower than the others; "
             "p-value of the Kruskal–Wallis H with draws as groups (permutation null), statistic "
             "the draw share ICC(1) with draws as groups.",
             "Kruskal & Wallis (1952), JASA 47", 2, statistic="ICC(1)"),
)

#: Every test, in order (score's tests first, then the diversity tests).
REGISTRY: tuple[StatTest, ...] = tuple(sorted(_ENTRIES, key=lambda t: t.order))
#: The per-sample tests that score() runs, in order.
SCORE_TESTS: tuple[StatTest, ...] = tuple(t for t in REGISTRY if t.run is not None)
#: The generator-level tests that only diversity() computes.
DIVERSITY_TESTS: tuple[StatTest, ...] = tuple(t for t in REGISTRY if t.run is None)


def describe_for(test: StatTest, target=None) -> str:
    """The test's null in words for ``target`` (None or a normal: the registry's description)."""
    if target is None or target.is_normal or not test.target_description:
        return test.description
    return test.target_description


def score_tests(target=None) -> tuple[StatTest, ...]:
    """The per-sample tests that apply to ``target`` (a gancheck Target; None: the default
    normal target, every test), in registry order."""
    if target is None:
        return SCORE_TESTS
    return tuple(t for t in SCORE_TESTS if t.applies(target))


def lookup(name: str) -> StatTest:
    """The registry entry called ``name``; ValueError naming it if there is none."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise ValueError(f"test must be one of {[t.name for t in REGISTRY]}, got {name!r}")

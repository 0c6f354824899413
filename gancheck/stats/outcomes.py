"""One named outcome per generator, from one ordered decision list.

A generator (in gancheck: one seed of one arm) is judged on all its K noise draws by
``gancheck.judge``; `classify` turns that verdict into exactly one of OUTCOMES, the first rule
that holds, in this order:

1. ``diverged``: the generator's output is not finite (training blew up, or any draw holds NaN or
   inf), or the caller says it diverged.
2. ``stuck``: the output is nearly constant within a draw: a draw is constant, or the median
   within-draw sd is below STUCK_SD_SHARE of the target sd (a tenth: a generator emitting one
   number with a little jitter, not a narrow but working one).
3. ``collapsed``: ``diversity`` found material memorisation across draws (its own rule: significant
   and material; see gancheck.stats.diversity).
4. ``off_target``: wrong location or scale: the mean test rejects, or the std test rejects while
   no shape test does. (The std test's null is the normal target, so a heavy-tailed sample of
   the right sd fails it too; that is a wrong shape, rule 5, not a wrong scale.)
5. ``wrong_shape``: any other generator-level test rejects: the fit tests (KS, AD, CvM), the shape
   tests, heterogeneity across draws, or memorisation too small to call collapse.
6. ``on_target``: no generator-level test rejects.

"Rejects" in rules 4 to 6 is Holm's correction at ``alpha`` over the generator's own tested rows
(about a dozen tests): without it a perfect generator would fail some test 1 - 0.95^12 = 46% of
the time, and "on target" would mean "lucky". With it, a perfect generator is on target with
probability at least 1 - alpha. Rows that could not be tested (an untested status) neither pass
nor fail and stay out of the family.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.stats.comparisons import holm
from gancheck.stats.aggregate import wilson_interval

OUTCOMES = ("diverged", "stuck", "collapsed", "off_target", "wrong_shape", "on_target")
OUTCOME_COLUMNS = ["arm", "outcome", "count", "n", "rate", "ci_low", "ci_high"]
#: Within-draw sd below this share of the target sd is "stuck" (rule 2).
STUCK_SD_SHARE = 0.1
#: Statuses that mean the output itself is broken (gancheck.stats.gof's vocabulary).
NON_FINITE_STATUSES = ("non-finite values", "values too large")
CONSTANT_STATUSES = ("constant sample",)
SHAPE_GROUP = "shape"


def classify(verdict: pd.DataFrame, *, collapsed: bool, diverged: bool = False,
             target_std: float = 1.25, alpha: float = 0.05) -> str:
    """The outcome of one generator from its ``judge`` rows (module docstring for the rules).

    ``verdict`` needs the columns test, statistic, pvalue, status and reject of ``judge``.
    """
    status = verdict["status"].astype(str)
    if diverged or status.isin(NON_FINITE_STATUSES).any():
        return "diverged"
    if status.isin(CONSTANT_STATUSES).any() or _within_sd(verdict, target_std) < STUCK_SD_SHARE * target_std:
        return "stuck"
    if collapsed:
        return "collapsed"
    tested = status.eq("ok").to_numpy()
    pvalues = np.where(tested, verdict["pvalue"].to_numpy(dtype=float), np.nan)
    _, rejected = holm(pvalues, alpha)
    # A broken row other than the ones above (e.g. too few values for every draw) also fails.
    failed = rejected | (~tested & verdict["reject"].astype(bool).to_numpy())
    tests = verdict["test"].to_numpy()
    shape_failed = failed[_shape_rows(verdict)].any()
    if failed[tests == "mean"].any() or (failed[tests == "std"].any() and not shape_failed):
        return "off_target"
    if failed.any():
        return "wrong_shape"
    return "on_target"


def _shape_rows(verdict: pd.DataFrame) -> np.ndarray:
    """Rows of the composite shape tests (Shapiro-Wilk, AD with estimated parameters, skew,
    kurtosis): the registry's "shape" group."""
    if "group" in verdict.columns:
        return (verdict["group"] == SHAPE_GROUP).to_numpy()
    from gancheck.stats.registry import REGISTRY
    shape = {t.name for t in REGISTRY if t.group == SHAPE_GROUP}
    return verdict["test"].isin(shape).to_numpy()


def _within_sd(verdict: pd.DataFrame, target_std: float) -> float:
    """Median within-draw sd, from the std test's statistic (median over draws of s - std)."""
    row = verdict[verdict["test"] == "std"]
    if row.empty or not np.isfinite(float(row["statistic"].iloc[0])):
        return np.inf  # unknown: not evidence of being stuck
    return float(row["statistic"].iloc[0]) + target_std


def outcome_table(members: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """``[arm, outcome, count, n, rate, ci_low, ci_high]``: every outcome for every arm (zero
    counts included, so a reader sees "0 of 20" rather than nothing), Wilson intervals.

    ``members`` has one row per generator with columns arm and outcome."""
    missing = [c for c in ("arm", "outcome") if c not in members.columns]
    if missing:
        raise ValueError(f"members is missing columns {missing}")
    unknown = sorted(set(members["outcome"]) - set(OUTCOMES))
    if unknown:
        raise ValueError(f"outcome {unknown[0]!r}: must be one of {', '.join(OUTCOMES)}")
    counts = (members.groupby(["arm", "outcome"]).size()
              .unstack(fill_value=0).reindex(columns=list(OUTCOMES), fill_value=0))
    table = counts.stack().rename("count").reset_index()
    table["n"] = table["arm"].map(members.groupby("arm").size())
    table["rate"] = table["count"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson_interval(table["count"].to_numpy(), table["n"].to_numpy(),
                                                        confidence=confidence)
    table["outcome"] = pd.Categorical(table["outcome"], categories=list(OUTCOMES), ordered=True)
    table = table.sort_values(["arm", "outcome"], kind="stable", ignore_index=True)
    table["outcome"] = table["outcome"].astype(str)
    return table[OUTCOME_COLUMNS]

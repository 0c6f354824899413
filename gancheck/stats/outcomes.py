"""The outcome table: how many generators of each arm got each outcome, with Wilson intervals.

The outcome of one generator comes from gancheck.stats.decision's ordered decision list (through
gancheck.stats.verdict); OUTCOMES lists them in that order. That module's description of the list
is appended below, so that readers of this module (the report's Methods) see the rules as coded.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from gancheck.stats.aggregate import wilson_interval
from gancheck.stats.comparisons import holm
from gancheck.stats.decision import (  # noqa: F401  (re-exported)
    DEPARTURES, OUTCOMES, SHAPE_GUARD_SHARE, STUCK_SD_SHARE)

from gancheck.stats import decision as _decision  # noqa: E402

__doc__ = (__doc__ or "") + "\n" + (_decision.__doc__ or "")

OUTCOME_COLUMNS = ["arm", "outcome", "count", "n", "rate", "ci_low", "ci_high"]
#: classify()'s "stuck": median within-draw sd below a tenth of the target sd.
CLASSIFY_STUCK_SD_SHARE = 0.1
NON_FINITE_STATUSES = ("non-finite values", "values too large")
CONSTANT_STATUSES = ("constant sample",)
SHAPE_GROUP = "shape"


def classify(verdict: pd.DataFrame, *, collapsed: bool, diverged: bool = False,
             target_std: float = 1.25, alpha: float = 0.05) -> str:
    """A label from ``judge`` rows alone, tolerance aside: the test-by-test reading.

    Kept for callers that hold only judge's table (test fixtures of stored runs): it names the
    first test family that DETECTED a departure (Holm at alpha over the tested rows), so its
    on_target means "no test detected anything", which tightens as K grows. The verdict proper,
    against a tolerance, needs the draws: gancheck.stats.verdict. ``verdict`` needs the columns
    test, statistic, pvalue, status and reject of ``judge``; stuck uses the old 10% sd rule of
    this reading (CLASSIFY_STUCK_SD_SHARE).
    """
    status = verdict["status"].astype(str)
    if diverged or status.isin(NON_FINITE_STATUSES).any():
        return "diverged"
    if status.isin(CONSTANT_STATUSES).any() or _within_sd(verdict, target_std) < CLASSIFY_STUCK_SD_SHARE * target_std:
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

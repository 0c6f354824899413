"""Equivalence: is a quantity within ± margin of its target?

An arm's equivalence statement is `share_within`: the share of its generators that were each
shown within the tolerance, with a Wilson interval. It is a statement about generators one by
one. (A test of the average error over seeds is not: if every generator is off by 0.4 sd with
a random sign, the average is near 0 and such a test says "equivalent" more often the more
seeds it has.)

`tost` is the two one-sided tests for one set of replicate errors, for a single quantity.
Schuirmann (1987): with per-replicate errors e_1..e_n (estimate minus target), reject
non-equivalence (|mean error| >= margin) when both one-sided t-tests reject at alpha; equivalently
when the 1 - 2·alpha confidence interval of the mean error lies inside (-margin, margin). The
p-value is the larger of the two one-sided p-values. A missing or non-finite error (a replicate
whose output is broken) makes equivalence unprovable: p = 1, never dropped.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

EQUIVALENCE_COLUMNS = ["estimate", "ci_low", "ci_high", "margin", "pvalue", "equivalent"]
#: Columns of `share_within`: generators, those within the tolerance, their share and its
#: interval, and which interval it is.
SHARE_COLUMNS = ["n", "count", "share", "ci_low", "ci_high", "interval"]


def share_within(within, *, confidence: float = 0.95) -> dict:
    """The share of generators individually within the tolerance (``within``: one boolean per
    generator; a generator not shown within, for whatever reason, is False), with its Wilson
    score interval (gancheck.stats.aggregate.wilson_interval). Returns SHARE_COLUMNS as a dict;
    no generators: NaN share and bounds."""
    from gancheck.stats.aggregate import wilson_interval
    flags = np.asarray(within)
    if flags.ndim != 1 or not np.isin(flags, (True, False)).all():
        raise ValueError("within must be a 1-D array of booleans, one per generator")
    n, count = int(flags.size), int(flags.sum())
    low, high = wilson_interval(count, n, confidence=confidence)
    return {"n": n, "count": count, "share": count / n if n else np.nan, "ci_low": low,
            "ci_high": high, "interval": f"Wilson {confidence:.0%}"}


def tost(errors, margin: float, *, alpha: float = 0.05) -> dict:
    """TOST of mean(errors) in (-margin, margin). Returns EQUIVALENCE_COLUMNS as a dict; the
    interval is the (1 - 2·alpha) t-interval that TOST inverts."""
    if not (np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be finite and > 0, got {margin!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}")
    e = np.asarray(errors, dtype=float)
    row = dict(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, margin=float(margin), pvalue=1.0,
               equivalent=False)
    if e.size == 0:
        return row
    if not np.isfinite(e).all():
        return row  # a broken replicate: equivalence cannot be shown
    row["estimate"] = float(e.mean())
    if e.size < 2:
        return row
    se = e.std(ddof=1) / np.sqrt(e.size)
    df = e.size - 1
    if se == 0:
        inside = abs(row["estimate"]) < margin
        row.update(ci_low=row["estimate"], ci_high=row["estimate"], pvalue=0.0 if inside else 1.0,
                   equivalent=inside)
        return row
    p_low = stats.t.sf((row["estimate"] + margin) / se, df)     # H0: mean <= -margin
    p_high = stats.t.cdf((row["estimate"] - margin) / se, df)   # H0: mean >= +margin
    half = stats.t.ppf(1 - alpha, df) * se
    row.update(ci_low=row["estimate"] - half, ci_high=row["estimate"] + half,
               pvalue=float(max(p_low, p_high)))
    row["equivalent"] = bool(row["pvalue"] < alpha)
    return row

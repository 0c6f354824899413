"""Aggregation over seeds: rates with Wilson intervals, medians with distribution-free intervals,
bootstrap intervals, and when training settles. Arm-vs-baseline tests: gancheck.stats.comparisons.

Pure functions over tidy pandas DataFrames; nothing here knows about GANs or torch. The output
tables follow the schemas in ``gancheck.report.data`` (pass_rates, collapse_rates, metric_summary,
comparisons, settling). The statistics are written once: every rate gets its interval from
`wilson_interval`, every median from an order-statistic interval. Replicates are training
seeds (noise draws of one trained generator are nested inside its seed), and arms are compared
on per-seed metrics, not on p-values.

Input tables (extra columns are ignored):
    scores   arm, seed, test, status, reject               (gancheck.judge rows + arm/seed)
    members  arm, seed, collapsed
    metrics  arm, seed, metric, value                      (long form; lower is better for all)
    history  arm, seed, epoch, g_mean, g_std
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "wilson_interval", "bootstrap_ci", "median_difference", "proportion_table", "pass_rates",
    "collapse_rates",
    "metric_summary", "settling_by_member",
    "settling",
]

PROPORTION_COLUMNS = ["n", "count", "rate", "ci_low", "ci_high"]
METRIC_SUMMARY_COLUMNS = ["arm", "metric", "n", "median", "ci_low", "ci_high"]
SETTLING_MEMBER_COLUMNS = ["arm", "seed", "metric", "target", "tolerance", "settled", "epoch",
                           "stays"]
SETTLING_COLUMNS = ["arm", "metric", "n", "settled_rate", "median_epoch", "stays_rate"]

# Default bootstrap size: scipy's default; ~10k resamples keep the Monte Carlo error of a 95%
# percentile bound well below the spread of the interval itself.
N_RESAMPLES = 9999


# ---------------------------------------------------------------------------- input checks

def _check_frame(df, columns: Sequence[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; it has {list(df.columns)}")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:  # also rejects NaN
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check_bootstrap_options(n_resamples: int, method: str) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if str(method).lower() not in ("percentile", "basic", "bca"):
        raise ValueError(f"method must be 'percentile', 'basic' or 'BCa', got {method!r}")


def _as_list(by, name: str) -> list[str]:
    columns = [by] if isinstance(by, str) else list(by)
    if not columns:
        raise ValueError(f"{name} must name at least one column, got {by!r}")
    return columns


# ---------------------------------------------------------------------------- intervals

def wilson_interval(count, n, *, confidence: float = 0.95):
    """Wilson score interval for ``count`` successes in ``n`` trials (statsmodels
    ``proportion_confint(method="wilson")``). Scalars give a ``(low, high)`` pair of floats, arrays
    a pair of arrays. ``n == 0`` gives NaN bounds: no trials, no information."""
    _check_confidence(confidence)
    scalar = np.ndim(count) == 0 and np.ndim(n) == 0
    count_arr, n_arr = np.broadcast_arrays(np.atleast_1d(np.asarray(count, dtype=float)),
                                           np.atleast_1d(np.asarray(n, dtype=float)))
    if not np.all(np.isfinite(n_arr) & (n_arr >= 0)):
        raise ValueError(f"n must be finite and >= 0, got {n!r}")
    if not np.all(np.isfinite(count_arr) & (count_arr >= 0) & (count_arr <= n_arr)):
        raise ValueError(f"count must lie in [0, n], got count={count!r}, n={n!r}")
    low, high = np.full(n_arr.shape, np.nan), np.full(n_arr.shape, np.nan)
    has_trials = n_arr > 0  # statsmodels divides by n: keep n == 0 away from it
    if has_trials.any():
        low[has_trials], high[has_trials] = proportion_confint(
            count_arr[has_trials], n_arr[has_trials], alpha=1 - confidence, method="wilson")
    # The exact bounds at count 0 and count n are 0 and 1; statsmodels can miss them by ~1e-17,
    # which would put the observed rate 0 outside its own interval.
    low[has_trials & (count_arr == 0)] = 0.0
    high[has_trials & (count_arr == n_arr)] = 1.0
    if scalar:
        return float(low[0]), float(high[0])
    return low, high


def _as_samples(values) -> tuple[np.ndarray, ...]:
    # A tuple of 1-D arrays is several independent samples; anything else is one sample.
    if isinstance(values, tuple) and values and all(np.ndim(v) == 1 for v in values):
        groups = values
    else:
        groups = (values,)
    samples = tuple(np.asarray(g, dtype=float) for g in groups)
    for sample in samples:
        if sample.ndim != 1:
            raise ValueError("values must be 1-D or a tuple of 1-D arrays, "
                             f"got shape {sample.shape}")
        if not np.all(np.isfinite(sample)):
            raise ValueError("values must be finite; drop NaN/inf before bootstrapping")
    return samples


def bootstrap_ci(values, statistic: Callable = np.median, *, confidence: float = 0.95,
                 n_resamples: int = N_RESAMPLES, method: str = "percentile", seed=0):
    """Bootstrap confidence interval ``(ci_low, ci_high)`` of ``statistic`` (scipy.stats.bootstrap).

    ``values`` is one 1-D sample, or a tuple of 1-D samples that are resampled independently, in
    which case ``statistic(*samples, axis=-1)`` combines them (e.g. a difference of medians).
    ``statistic`` should accept ``axis`` (numpy reductions do) so scipy can vectorise it.
    ``seed`` is an int, a numpy Generator or None (fresh entropy); the default 0 makes reports
    reproducible.

    Degenerate cases, by design rather than by crash:
    - any sample with fewer than 2 values: ``(nan, nan)`` (a resample of one value is that value;
      the "interval" would say nothing about uncertainty);
    - every sample constant: every resample equals the data, so the interval is the point
      ``(statistic(data), statistic(data))``.
    Percentile is the default: at 3-10 seeds BCa is no better (both under-cover, about 0.87 at 5 seeds)
    and BCa returns NaN with a warning on near-degenerate data.
    """
    _check_confidence(confidence)
    _check_bootstrap_options(n_resamples, method)
    samples = _as_samples(values)
    if any(sample.size < 2 for sample in samples):
        return np.nan, np.nan
    if all(np.all(sample == sample[0]) for sample in samples):
        point = float(statistic(*samples))
        return point, point
    result = stats.bootstrap(samples, statistic, n_resamples=n_resamples,
                             confidence_level=confidence, method=method,
                             rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def median_difference(x, y, axis=-1):
    """median(x) - median(y): the two-sample statistic of the comparisons, for `bootstrap_ci`."""
    return np.median(x, axis=axis) - np.median(y, axis=axis)


# ---------------------------------------------------------------------------- rates

def proportion_table(df: pd.DataFrame, by, success_col: str, *,
                     confidence: float = 0.95) -> pd.DataFrame:
    """Success rate per group with a Wilson interval: columns ``[*by, n, count, rate, ci_low,
    ci_high]``. ``success_col`` holds booleans (or 0/1); a missing value means "not measured" and
    is left out of ``n``, so a group with nothing measured has n = 0 and NaN rate and bounds."""
    by = _as_list(by, "by")
    _check_frame(df, [*by, success_col], "df")
    success = df[success_col]
    if not (success.isna() | success.isin([0, 1])).all():
        raise ValueError(f"success_col {success_col!r} must hold booleans (or 0/1, NaN for "
                         f"not measured)")
    measured = np.where(success.isna(), np.nan, (success == True).astype(float))  # noqa: E712
    table = (df[by].assign(_success=measured)
             .groupby(by, sort=True, dropna=False)["_success"]
             .agg(n="count", count="sum").reset_index())
    table["n"] = table["n"].astype(int)
    table["count"] = table["count"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):  # n == 0 -> NaN rate, on purpose
        table["rate"] = table["count"] / table["n"].where(table["n"] > 0)
    table["ci_low"], table["ci_high"] = wilson_interval(table["count"].to_numpy(),
                                                        table["n"].to_numpy(),
                                                        confidence=confidence)
    return table[[*by, *PROPORTION_COLUMNS]]


def pass_rates(scores: pd.DataFrame, *, by=("arm", "test"),
               confidence: float = 0.95) -> pd.DataFrame:
    """Pass rate per (arm, test): a row passes only if ``status == "ok"`` and ``reject`` is False,
    so unusable samples and missing verdicts count as failures, never as passes. Controls included."""
    by = _as_list(by, "by")
    _check_frame(scores, [*by, "status", "reject"], "scores")
    # A missing status or verdict is a failure, not "unmeasured": with nullable dtypes the
    # comparisons give NA, which fillna turns into a fail.
    passed = ((scores["status"] == "ok") & (scores["reject"] == False)).fillna(False)  # noqa: E712
    return proportion_table(scores[by].assign(passed=passed), by, "passed", confidence=confidence)


def collapse_rates(members: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Share of members flagged ``collapsed`` per arm. Members without a flag (NaN, e.g. diverged
    before sampling) are left out of ``n``."""
    _check_frame(members, ["arm", "collapsed"], "members")
    return proportion_table(members, ["arm"], "collapsed", confidence=confidence)


# ---------------------------------------------------------------------------- per-seed metrics

def metric_summary(metrics: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Median over seeds per (arm, metric) with a distribution-free interval: ``[arm, metric, n,
    median, ci_low, ci_high]``.

    The interval is the order-statistic interval of a median (binomial coverage >= confidence,
    gancheck.stats.comparisons.median_ci); at 20 seeds a bootstrap percentile interval would
    under-cover. +inf (a failed member's worst value) is kept: it counts, it moves
    the median when failures are common, and it can be an interval bound. NaN (not measured) is
    dropped and ``n`` counts the rest."""
    from gancheck.stats.comparisons import median_ci
    _check_frame(metrics, ["arm", "metric", "value"], "metrics")
    _check_confidence(confidence)
    rows = []
    for (arm, metric), group in metrics.groupby(["arm", "metric"], sort=True):
        values = np.asarray(group["value"], dtype=float)
        values = values[~np.isnan(values)]
        low, high = median_ci(values, confidence)
        rows.append({"arm": arm, "metric": metric, "n": values.size,
                     "median": float(np.median(values)) if values.size else np.nan,
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=METRIC_SUMMARY_COLUMNS)


# ---------------------------------------------------------------------------- training dynamics

def settling_by_member(history: pd.DataFrame, *, target_mean: float = 4.0,
                       target_std: float = 1.25, mean_tol: float = 0.25,
                       std_tol: float = 0.125) -> pd.DataFrame:
    """When G's batch mean and std settle, per member: ``[arm, seed, metric, target, tolerance,
    settled, epoch, stays]`` with metric in {g_mean, g_std}.

    ``epoch`` is the first epoch with |value - target| <= tolerance (NaN if never: settled is
    False); ``stays`` is True when the value is inside the band at every recorded epoch from
    then to the member's last one. A NaN value (divergence) counts as outside the band.

    Default tolerances: 0.2 and 0.1 target std (0.25 and 0.125 for N(4, 1.25)). The seed's batch
    is 10 vectors x 500 values, so batch noise of an on-target G has SE ~0.018 (mean) and ~0.0125
    (std): the bands are >= 10 SE wide and "stays" measures drift, not noise. Settling is a
    dynamics measure: being inside the band is no evidence that the output passes the tests."""
    _check_frame(history, ["arm", "seed", "epoch", "g_mean", "g_std"], "history")
    for name, value in (("target_std", target_std), ("mean_tol", mean_tol), ("std_tol", std_tol)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    if not np.isfinite(target_mean):
        raise ValueError(f"target_mean must be finite, got {target_mean!r}")
    bands = (("g_mean", target_mean, mean_tol), ("g_std", target_std, std_tol))
    rows = []
    ordered = history.sort_values(["arm", "seed", "epoch"], kind="stable")
    for (arm, seed), member in ordered.groupby(["arm", "seed"], sort=True):
        epochs = member["epoch"].to_numpy()
        for metric, target, tolerance in bands:
            values = np.asarray(member[metric], dtype=float)
            inside = np.abs(values - target) <= tolerance  # NaN compares False: outside
            settled = bool(inside.any())
            first = int(np.argmax(inside)) if settled else None
            rows.append({"arm": arm, "seed": seed, "metric": metric, "target": target,
                         "tolerance": tolerance, "settled": settled,
                         "epoch": float(epochs[first]) if settled else np.nan,
                         "stays": settled and bool(inside[first:].all())})
    return pd.DataFrame(rows, columns=SETTLING_MEMBER_COLUMNS)


def settling(history: pd.DataFrame, *, target_mean: float = 4.0, target_std: float = 1.25,
             mean_tol: float = 0.25, std_tol: float = 0.125) -> pd.DataFrame:
    """Per-arm summary of `settling_by_member`: ``[arm, metric, n, settled_rate, median_epoch,
    stays_rate]``. n counts members; median_epoch is over the members that settled (NaN if none);
    stays_rate is the share of all n members that settled and stayed."""
    members = settling_by_member(history, target_mean=target_mean, target_std=target_std,
                                 mean_tol=mean_tol, std_tol=std_tol)
    rows = []
    for (arm, metric), group in members.groupby(["arm", "metric"], sort=True):
        epochs = group["epoch"].dropna()
        rows.append({"arm": arm, "metric": metric, "n": len(group),
                     "settled_rate": float(group["settled"].mean()),
                     "median_epoch": float(epochs.median()) if len(epochs) else np.nan,
                     "stays_rate": float(group["stays"].mean())})
    return pd.DataFrame(rows, columns=SETTLING_COLUMNS)

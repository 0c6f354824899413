"""Each arm against the baseline: the test that fits each kind of per-seed data, in declared
Holm families.

Per-seed data come in two kinds, and each gets one pre-specified test whose effect is the one
reported:

- **Rates** (0/1 per seed: on target, collapsed, each outcome). Boschloo's exact unconditional
  test (``scipy.stats.boschloo_exact``, two-sided), which is exact at 0/20 against 20/20 where a
  rank test on 0/1 data is a large-sample chi-square in disguise. Effect: the difference of the
  two rates, with Newcombe's hybrid score interval (statsmodels ``confint_proportions_2indep``).
  Rates are compared unpaired: the exact paired test (McNemar's) uses only the discordant seeds
  and, with 20 seeds and rates near 0 or 1, has less power than Boschloo's on the margins.
- **Metrics** (a number per seed, lower is better). Arms share seeds (the same seed gives the
  same initial weights and data streams in every arm), so the comparison is paired: the sign
  test of "the median of the per-seed differences arm - baseline is 0", whose effect is that
  median, with its distribution-free interval from order statistics (binomial; Hollander &
  Wolfe 1999, section 3.6). The sign test assumes nothing about the shape of the differences,
  which here are heavy-tailed (a few seeds fail outright).

Test and interval are one procedure. A zero difference (a tie, two failed seeds' +inf - +inf
included) is data about the median, as the interval counts it: the test keeps every paired seed
and counts each zero on whichever side makes the p-value larger (the least favourable split),
so p <= alpha exactly when the 1 - alpha interval excludes 0. (Dropping zeros, the textbook
convention, tests a different question, "are non-zero differences more often positive?", and
with 6 positive and 14 zero differences it gave p = 0.031 beside an interval of [0, x].)

A failed member carries the worst value, +inf, in every metric (the caller sets it): it is
never dropped, and ranks, signs and medians all take it as it is.

``prob_improvement`` is P(arm better than baseline) over all pairs of seeds, ties half, with an
interval that covers at its nominal level at 20 seeds (gancheck.stats.improvement): for rates
the Newcombe interval of the difference on that scale, for metrics a paired score interval.

Families. Each row belongs to one family, and Holm's correction runs within each: ``primary``
(the rates named by the caller: the question a run is for, answered with the power of a family
of one row per arm), ``secondary`` (the other rates) and ``descriptive`` (per-seed metrics).
Intervals are unadjusted, at the stated confidence, and the ``interval`` column says so: a row
marked significant after Holm has a p-value below alpha / (rank) within its family, which its
unadjusted interval does not show.

``mde`` is the smallest effect the row's test would have detected with 80% power at level
alpha / M (M: the tested rows of its family; Holm's strictest step, so the figure is
conservative), from gancheck.stats.power, on the scale in ``mde_scale``: for rates the smallest
rate difference from the baseline's observed rate (exact enumeration of Boschloo's test); for
metrics the smallest probability that a seed of the arm beats the same seed of the baseline
(exact sign-test power), a scale that stays finite and comparable for heavy-tailed metrics. It
is what "no difference detected" can and cannot rule out.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from gancheck.signals import sigint_deferred
from gancheck.stats.improvement import prob_improvement, prob_improvement_ci, rate_improvement

__all__ = ["COMPARISON_COLUMNS", "FAMILIES", "compare_to_baseline", "compare_rates",
           "compare_metrics", "median_ci", "sign_test", "holm"]

COMPARISON_COLUMNS = ["arm", "metric", "baseline", "n", "n_baseline", "difference", "ci_low",
                      "ci_high", "statistic", "pvalue", "prob_improvement", "prob_improvement_low",
                      "prob_improvement_high", "pvalue_holm", "reject_holm", "test", "mde",
                      "family", "interval", "mde_scale"]
#: The Holm families, in the order they are read (module docstring).
FAMILIES = ("primary", "secondary", "descriptive")
#: What ``mde`` measures, per test.
MDE_SCALES = {"boschloo": "rate difference", "sign": "P(arm better on a seed)"}


def compare_to_baseline(metrics: pd.DataFrame, rates: pd.DataFrame, baseline: str, *,
                        primary: frozenset | set | tuple = frozenset(),
                        higher_is_better: frozenset | set = frozenset(), alpha: float = 0.05,
                        confidence: float = 0.95, power: float = 0.8, seed: int = 0) -> pd.DataFrame:
    """Every arm against ``baseline`` on every metric and rate, Holm-corrected within families.

    metrics: long ``[arm, seed, metric, value]``, lower is better, +inf for a failed member.
    rates: long ``[arm, seed, metric, value]`` with value 0/1 (NaN: not measured, left out).
    primary: the rate metrics of the primary family; other rates are secondary, metrics
    descriptive. higher_is_better: the rate metrics where 1 is the good value (e.g.
    "rate:on_target"); it orients ``prob_improvement`` only, the test is two-sided.
    Columns: COMPARISON_COLUMNS. The baseline arm itself is not compared. ``seed`` is kept for
    callers; nothing here is random.
    """
    _check_alpha(alpha)
    _check_alpha(1 - confidence, "1 - confidence")
    arms = set(metrics["arm"]) | set(rates["arm"])
    if baseline not in arms:
        raise ValueError(f"baseline {baseline!r} is not an arm; arms: {sorted(arms, key=str)}")
    unknown = set(primary) - set(rates["metric"])
    if unknown and len(rates):
        raise ValueError(f"primary {sorted(unknown)}: not rate metrics; rates: "
                         f"{sorted(set(rates['metric']))}")
    parts = [compare_rates(rates, baseline, higher_is_better=higher_is_better,
                           confidence=confidence),
             compare_metrics(metrics, baseline, confidence=confidence)]
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COMPARISON_COLUMNS)
    table["family"] = np.where(table["test"] == "sign", "descriptive",
                               np.where(table["metric"].isin(list(primary)), "primary", "secondary"))
    table["interval"] = f"{confidence:.0%} unadjusted"
    table["mde_scale"] = table["test"].map(MDE_SCALES)
    table["pvalue_holm"], table["reject_holm"] = np.nan, False
    table["mde"] = np.nan
    for _, rows in table.groupby("family", sort=False):
        index = rows.index
        adjusted, reject = holm(rows["pvalue"].to_numpy(dtype=float), alpha)
        table.loc[index, "pvalue_holm"] = adjusted
        table.loc[index, "reject_holm"] = reject
        table.loc[index, "mde"] = _detectable(rows, rates, baseline, alpha, power)
    table["reject_holm"] = table["reject_holm"].astype(bool)
    table["family"] = pd.Categorical(table["family"], categories=list(FAMILIES), ordered=True)
    table = table.sort_values(["family", "arm", "metric"], kind="stable", ignore_index=True)
    table["family"] = table["family"].astype(str)
    return table[COMPARISON_COLUMNS]


def holm(pvalues: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm-adjusted p-values and rejections; NaN p-values (not tested) stay NaN and never reject.

    Written out (adjusted p_(i) = max over j <= i of (m - j + 1) p_(j), capped at 1; reject where
    adjusted <= alpha: Holm 1979) rather than through statsmodels' multipletests, which the
    tests use as the oracle: multipletests runs a full garbage collection on every call, 0.2 s
    each, and the outcome of every member calls this once.
    """
    pvalues = np.asarray(pvalues, dtype=float)
    adjusted = np.full(pvalues.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(pvalues))
    if tested.size:
        order = tested[np.argsort(pvalues[tested], kind="stable")]
        steps = np.arange(tested.size, 0, -1)
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps * pvalues[order]))
    with np.errstate(invalid="ignore"):
        reject = adjusted <= alpha
    return adjusted, reject


def _detectable(family: pd.DataFrame, rates: pd.DataFrame, baseline: str, alpha: float,
                power: float) -> np.ndarray:
    """The ``mde`` column of one family (module docstring)."""
    from gancheck.stats.power import detectable_rate_difference, detectable_sign_probability
    size = max(1, int(family["pvalue"].notna().sum()))
    base_rates = _by_metric(rates[rates["arm"] == baseline])
    out = np.full(len(family), np.nan)
    for i, row in enumerate(family.itertuples(index=False)):
        if not np.isfinite(row.pvalue) or row.n < 1 or row.n_baseline < 1:
            continue
        if row.test == "boschloo":
            base = base_rates.get(row.metric, np.empty(0))
            out[i] = detectable_rate_difference(round(float(base.mean()), 6), int(row.n),
                                                n_baseline=int(row.n_baseline), power=power,
                                                alpha=alpha, comparisons=size)
        else:
            # The sign test's seeds are the paired ones: every seed of both, in a run's designs.
            out[i] = detectable_sign_probability(int(min(row.n, row.n_baseline)), power=power,
                                                 alpha=alpha, comparisons=size)
    return out


# ------------------------------------------------------------------------------------ rates

def compare_rates(rates: pd.DataFrame, baseline: str, *, higher_is_better=frozenset(),
                  confidence: float = 0.95) -> pd.DataFrame:
    """Boschloo's exact test of each arm's rate against the baseline's (module docstring)."""
    _check_frame(rates, "rates")
    rows = []
    base = _by_metric(rates[rates["arm"] == baseline])
    for (arm, metric), group in rates[rates["arm"] != baseline].groupby(["arm", "metric"], sort=True):
        x, y = _measured(group["value"]), base.get(metric, np.empty(0))
        row = _empty_row(arm, metric, baseline, "boschloo", x.size, y.size)
        if x.size and y.size:
            hits, base_hits = int(x.sum()), int(y.sum())
            row["difference"] = hits / x.size - base_hits / y.size
            low, high = confint_proportions_2indep(hits, x.size, base_hits, y.size,
                                                   method="newcomb", compare="diff",
                                                   alpha=1 - confidence)
            row["ci_low"], row["ci_high"] = float(low), float(high)
            row["statistic"], row["pvalue"] = boschloo(hits, x.size, base_hits, y.size)
            (row["prob_improvement"], row["prob_improvement_low"],
             row["prob_improvement_high"]) = rate_improvement(
                row["difference"], row["ci_low"], row["ci_high"],
                higher_is_better=metric in higher_is_better)
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


@functools.lru_cache(maxsize=4096)
def boschloo(hits: int, n: int, base_hits: int, base_n: int) -> tuple[float, float]:
    """(statistic, two-sided p) of Boschloo's test on the 2x2 table; cached, since designs
    repeat the same tables (0/20 against 0/20 in most arms)."""
    if hits + base_hits in (0, n + base_n):
        # Both arms all 0 or all 1: no evidence of a difference, and scipy returns NaN here.
        return 1.0, 1.0
    with sigint_deferred(sigterm=True):  # its Sobol engine would swallow a Ctrl-C (gancheck.signals)
        result = stats.boschloo_exact([[hits, base_hits], [n - hits, base_n - base_hits]],
                                      alternative="two-sided")
    return float(result.statistic), float(min(1.0, result.pvalue))


# ------------------------------------------------------------------------------------ metrics

def compare_metrics(metrics: pd.DataFrame, baseline: str, *, confidence: float = 0.95) -> pd.DataFrame:
    """The paired sign test of each arm's metric against the baseline's, seed for seed."""
    _check_frame(metrics, "metrics")
    base = metrics[metrics["arm"] == baseline]
    rows = []
    for (arm, metric), group in metrics[metrics["arm"] != baseline].groupby(["arm", "metric"], sort=True):
        x = _measured(group["value"])
        y = _measured(base.loc[base["metric"] == metric, "value"])
        ours, theirs = _paired_values(metrics, arm, baseline, metric)
        diff = _paired_differences(ours, theirs)
        row = _empty_row(arm, metric, baseline, "sign", x.size, y.size)
        if diff.size:
            row["difference"] = float(np.median(diff))
            row["ci_low"], row["ci_high"] = median_ci(diff, confidence)
            row["statistic"], row["pvalue"] = sign_test(diff)
            row["prob_improvement"] = prob_improvement(ours, theirs)
            row["prob_improvement_low"], row["prob_improvement_high"] = prob_improvement_ci(
                ours, theirs, confidence=confidence)
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _paired_values(metrics: pd.DataFrame, arm: str, baseline: str, metric: str):
    """(arm values, baseline values) on the seeds both measured, seed for seed."""
    rows = metrics[metrics["metric"] == metric]
    ours = rows[rows["arm"] == arm].set_index("seed")["value"].astype(float)
    theirs = rows[rows["arm"] == baseline].set_index("seed")["value"].astype(float)
    paired = pd.concat([ours, theirs], axis=1, join="inner").dropna()
    return paired.iloc[:, 0].to_numpy(), paired.iloc[:, 1].to_numpy()


def _paired_differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x - y, where two failed seeds (+inf - +inf) are a tie, not NaN."""
    with np.errstate(invalid="ignore"):
        diff = x - y
    diff[np.isinf(x) & np.isinf(y) & (np.sign(x) == np.sign(y))] = 0.0
    return diff


def sign_test(diff: np.ndarray) -> tuple[float, float]:
    """(number of positive differences, two-sided exact p) of "the median difference is 0".

    Every difference counts; the zeros go to whichever side makes p largest, so the p-value is
    the largest over the ways of breaking the ties, and p <= 1 - confidence exactly when
    `median_ci` at that confidence excludes 0 (module docstring). No differences: NaN."""
    diff = np.asarray(diff, dtype=float)
    n = diff.size
    if n == 0:
        return np.nan, np.nan
    positive, zeros = int((diff > 0).sum()), int((diff == 0).sum())
    # The two-sided binomial p-value grows as the count nears n/2: the least favourable split
    # puts the positives as near n/2 as the zeros allow.
    least_favourable = int(np.clip(n // 2, positive, positive + zeros))
    return float(positive), float(stats.binomtest(least_favourable, n, 0.5).pvalue)


def median_ci(values, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval for a median from order statistics: [x_(l), x_(n+1-l)] with the
    largest l such that P(Bin(n, 1/2) < l) <= (1 - confidence)/2, so coverage >= confidence.
    With too few values for any such l (n <= 5 at 95%) the interval is the whole line."""
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    if n == 0:
        return np.nan, np.nan
    tail = (1 - confidence) / 2
    # P(Bin(n, 1/2) <= l - 1) <= tail  <=>  l - 1 <= binom.ppf-like bound
    l = int(stats.binom.ppf(tail, n, 0.5))
    if stats.binom.cdf(l, n, 0.5) > tail:
        l -= 1
    # l is now the largest count with cdf(l) <= tail; the interval is x_(l+1) .. x_(n-l) (1-based).
    if l < 0:
        return -np.inf, np.inf
    return float(x[l]), float(x[n - 1 - l])


# ------------------------------------------------------------------------------------ helpers

def _empty_row(arm, metric, baseline, test, n, n_baseline) -> dict:
    row = dict.fromkeys(COMPARISON_COLUMNS, np.nan)
    row.update(arm=arm, metric=metric, baseline=baseline, test=test, n=int(n), n_baseline=int(n_baseline),
               reject_holm=False)
    return row


def _by_metric(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {metric: _measured(group["value"]) for metric, group in frame.groupby("metric", sort=True)}


def _measured(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[~np.isnan(array)]


def _check_frame(frame, name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("arm", "seed", "metric", "value") if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}; it has {list(frame.columns)}")


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"{name} must be in (0, 1), got {alpha!r}")

"""Power and sample size (seeds per arm) for the two comparisons a run makes against its baseline.

- **Rates** (pass, collapse, outcome rates: one 0/1 outcome per seed): two arms of n seeds each,
  true rates ``p_arm`` and ``p_baseline``, compared by a two-sided exact test. Boschloo's test is
  the one runs use ; Fisher's is the reference. Power is
  computed by exact enumeration: every outcome (x_arm, x_baseline) of the two binomials, weighted
  by its probability, rejected or not by the test's own p-value. No simulation, no normal
  approximation (at a baseline rate of 0 the arcsine approximation asks for 13 seeds per arm where
  the exact test needs 44; see tests/stats/test_power.py).
- **Per-seed metrics**: the paired sign test on per-seed differences arm - baseline (seeds are
  shared, so seed s of the arm is paired with seed s of the baseline). Its power depends only on
  P(d > 0) and P(d < 0), so it is exact too: two binomial tails (zeros count against rejection). A planned shift D with a
  spread S of the paired differences gives P(d > 0) = Phi(D / S) under a normal model; a pilot's
  differences give the two probabilities directly (no normality needed).

Multiplicity. A run tests a Holm family of M comparisons. For planning we use Holm's first step,
alpha / M (Bonferroni): the level the smallest p-value must reach. It is conservative (later
steps of Holm test at larger levels), which is the safe side for a seed count.

Boschloo, fast and exact. ``scipy.stats.boschloo_exact`` takes 0.03-0.1 s per table (a global
optimiser over the nuisance rate), so a power table at 100 seeds per arm (10,201 tables) would
take about 15 minutes. `boschloo_pvalues` computes the p-values of all tables of one (n_arm,
n_baseline) at once, with scipy's definition (two-sided = twice the smaller one-sided p, each the
supremum over the common rate pi of the probability of tables whose Fisher statistic is at most
the observed one): the supremum is taken over a grid of ``GRID_POINTS`` rates and then polished by
a bounded scalar search for every table whose grid value lies near the level being tested. The
suite checks every table at several sizes against scipy. It stays exact at every size; 200 seeds
per arm take about a second per direction, so no switch to simulation is needed for planning.
Results are cached in memory per (n_arm, n_baseline).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "boschloo_pvalues", "fisher_pvalues", "rate_power", "sign_test_power", "shift_probabilities",
    "pilot_probabilities", "seeds_needed", "planning_level", "RATE_TESTS",
    "detectable_rate_difference", "detectable_shift", "detectable_sign_probability",
]

RATE_TESTS = ("boschloo", "fisher")
#: Rates of the grid over which Boschloo's supremum is taken before polishing (0 and 1 included).
GRID_POINTS = 1001
#: scipy's tolerance for "the Fisher statistic is at most the observed one" (gh-14178).
_TIE_TOLERANCE = 1 + 1e-13


# ---------------------------------------------------------------------------- input checks

def _check_probability(value, name: str, *, open_interval: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    inside = 0 < value < 1 if open_interval else 0 <= value <= 1
    if not inside:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def planning_level(alpha: float, comparisons: int) -> float:
    """The per-comparison level to plan for: alpha / M, Holm's first (strictest) step."""
    alpha = _check_probability(alpha, "alpha", open_interval=True)
    return alpha / _check_count(comparisons, "comparisons")


# ---------------------------------------------------------------------------- exact rate tests

def _log_binomial_coefficients(n: int) -> np.ndarray:
    k = np.arange(n + 1)
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def _one_sided_boschloo(fisher: np.ndarray, log_comb: np.ndarray, successes: np.ndarray,
                        total: int) -> tuple[np.ndarray, Callable]:
    """Grid supremum of one-sided Boschloo p-values for flattened tables.

    ``fisher`` is each table's one-sided Fisher p (the statistic), ``log_comb`` log of its
    binomial coefficients, ``successes`` its total successes. Returns the p-values and a function
    p(i) giving table i's supremum polished by a bounded search (for tables near a level)."""
    order = np.argsort(fisher, kind="stable")
    sorted_stat = fisher[order]
    # Tables counted in table i's p-value: every table whose statistic is <= its own (a prefix).
    prefix = np.searchsorted(sorted_stat, fisher * _TIE_TOLERANCE, side="right")
    comb, succ = log_comb[order], successes[order]
    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    best = np.zeros(fisher.size)
    best_at = np.zeros(fisher.size)   # the grid rate where each table's supremum was found
    for chunk in np.array_split(np.arange(GRID_POINTS), max(1, GRID_POINTS * fisher.size // 4_000_000)):
        # log P(table | pi) = log C + k log pi + (N - k) log(1 - pi); 0 * log 0 counts as 0.
        k, pi = succ[:, None], grid[chunk][None, :]
        log_prob = comb[:, None] + special.xlogy(k, pi) + special.xlog1py(total - k, -pi)
        cumulative = np.cumsum(np.exp(log_prob), axis=0)
        values = cumulative[prefix - 1]
        where = values.argmax(axis=1)
        chunk_best = values[np.arange(fisher.size), where]
        better = chunk_best > best
        best[better], best_at[better] = chunk_best[better], grid[chunk][where[better]]

    def polished(i: int) -> float:
        members = slice(0, prefix[i])
        c, s = comb[members], succ[members]

        def minus_p(pi: float) -> float:
            return -float(np.exp(c + special.xlogy(s, pi) + special.xlog1py(total - s, -pi)).sum())
        spacing = 1.0 / (GRID_POINTS - 1)
        low, high = max(0.0, best_at[i] - spacing), min(1.0, best_at[i] + spacing)
        found = optimize.minimize_scalar(minus_p, bounds=(low, high), method="bounded",
                                         options={"xatol": 1e-12})
        return max(float(best[i]), -found.fun)
    return best, polished


@lru_cache(maxsize=4)
def _boschloo_tables(n_arm: int, n_baseline: int):
    x_arm = np.arange(n_arm + 1)[:, None]
    x_base = np.arange(n_baseline + 1)[None, :]
    total, successes = n_arm + n_baseline, x_arm + x_base
    # scipy's table [[x_arm, x_base], [n_arm - x_arm, n_baseline - x_base]]: "less" uses the
    # hypergeometric cdf of the first column, "greater" that of the second.
    less = stats.hypergeom.cdf(x_arm, total, successes, n_arm).ravel()
    greater = stats.hypergeom.cdf(x_base, total, successes, n_baseline).ravel()
    log_comb = (_log_binomial_coefficients(n_arm)[:, None]
                + _log_binomial_coefficients(n_baseline)[None, :]).ravel()
    flat_successes = np.broadcast_to(successes, (n_arm + 1, n_baseline + 1)).ravel()
    return (_one_sided_boschloo(less, log_comb, flat_successes, total),
            _one_sided_boschloo(greater, log_comb, flat_successes, total))


def boschloo_pvalues(n_arm: int, n_baseline: int, *, level: float | None = None) -> np.ndarray:
    """Two-sided Boschloo p-values of every table, shape (n_arm + 1, n_baseline + 1).

    Entry [x_arm, x_baseline] is ``scipy.stats.boschloo_exact([[x_arm, x_baseline], [n_arm -
    x_arm, n_baseline - x_baseline]]).pvalue``. With ``level``, tables whose p-value lies near it
    (within 5%) are polished by a bounded search around their best grid rate, so the decision
    p <= level is as scipy's; elsewhere the grid supremum is within ~1e-6 of scipy's."""
    n_arm, n_baseline = _check_count(n_arm, "n_arm"), _check_count(n_baseline, "n_baseline")
    (less, polish_less), (greater, polish_greater) = _boschloo_tables(n_arm, n_baseline)
    less, greater = less.copy(), greater.copy()
    if level is not None:
        for values, polish in ((less, polish_less), (greater, polish_greater)):
            # The grid underestimates a supremum, so only tables at or just below level/2 can move.
            for i in np.flatnonzero((values > 0.95 * level / 2) & (values <= level / 2)):
                values[i] = polish(int(i))
    return np.clip(2 * np.minimum(less, greater), 0, 1).reshape(n_arm + 1, n_baseline + 1)


def fisher_pvalues(n_arm: int, n_baseline: int) -> np.ndarray:
    """Two-sided Fisher p-values of every table, shape (n_arm + 1, n_baseline + 1), as
    ``scipy.stats.fisher_exact`` computes them: the probability, given both margins, of tables no
    more likely than the observed one (relative tolerance 1e-7, scipy's)."""
    n_arm, n_baseline = _check_count(n_arm, "n_arm"), _check_count(n_baseline, "n_baseline")
    total = n_arm + n_baseline
    pvalues = np.ones((n_arm + 1, n_baseline + 1))
    for successes in range(total + 1):
        x_arm = np.arange(max(0, successes - n_baseline), min(n_arm, successes) + 1)
        pmf = stats.hypergeom.pmf(x_arm, total, successes, n_arm)
        as_likely = pmf[None, :] <= pmf[:, None] * (1 + 1e-7)
        pvalues[x_arm, successes - x_arm] = np.minimum(1.0, (as_likely * pmf[None, :]).sum(axis=1))
    return pvalues


def rate_power(p_arm: float, p_baseline: float, n: int, *, alpha: float = 0.05,
               comparisons: int = 1, test: str = "boschloo", n_baseline: int | None = None) -> float:
    """Exact power of the two-sided ``test`` ('boschloo' or 'fisher') at level alpha / comparisons,
    n seeds in the arm (and ``n_baseline``, default n, in the baseline), true rates as given."""
    p_arm = _check_probability(p_arm, "p_arm")
    p_baseline = _check_probability(p_baseline, "p_baseline")
    n = _check_count(n, "n")
    n_baseline = n if n_baseline is None else _check_count(n_baseline, "n_baseline")
    level = planning_level(alpha, comparisons)
    if test == "boschloo":
        pvalues = boschloo_pvalues(n, n_baseline, level=level)
    elif test == "fisher":
        pvalues = fisher_pvalues(n, n_baseline)
    else:
        raise ValueError(f"test must be one of {RATE_TESTS}, got {test!r}")
    weights = np.outer(stats.binom.pmf(np.arange(n + 1), n, p_arm),
                       stats.binom.pmf(np.arange(n_baseline + 1), n_baseline, p_baseline))
    return float(weights[pvalues <= level].sum())


# ---------------------------------------------------------------------------- paired sign test

def shift_probabilities(shift: float, sd: float) -> tuple[float, float]:
    """(P(d > 0), P(d < 0)) for paired differences d ~ N(shift, sd^2): the normal planning model."""
    shift, sd = float(shift), float(sd)
    if not math.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift!r}")
    if not (math.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be finite and > 0, got {sd!r}")
    # In sd units: the same floats as norm.sf(0, shift, sd), whose (0 - shift) / sd overflows
    # inside scipy with a RuntimeWarning for a shift of many sd (1e300 / 1e-300); here the
    # ratio is +-inf and the probabilities 1 and 0.
    z = shift / sd
    return float(stats.norm.sf(-z)), float(stats.norm.cdf(-z))


def pilot_probabilities(differences) -> tuple[float, float]:
    """(P(d > 0), P(d < 0)) estimated from a pilot's paired differences (shares; ties are d = 0).

    Model-free: the sign test's power depends on the differences only through these two numbers."""
    d = np.asarray(differences, dtype=float).ravel()
    if d.size == 0:
        raise ValueError("differences is empty")
    if np.isnan(d).any():
        raise ValueError(f"differences has {int(np.isnan(d).sum())} NaN values")
    return float((d > 0).mean()), float((d < 0).mean())


@lru_cache(maxsize=1024)
def _sign_test_rejects(nonzero: int, level: float) -> np.ndarray:
    """rejects[k]: the two-sided sign test (binomial test of k positives of ``nonzero`` against
    1/2, scipy's binomtest) rejects at ``level``. Its two-sided p is twice the smaller tail."""
    k = np.arange(nonzero + 1)
    tail = np.minimum(stats.binom.cdf(k, nonzero, 0.5), stats.binom.sf(k - 1, nonzero, 0.5))
    return np.minimum(1.0, 2 * tail) <= level


def sign_test_power(n: int, p_positive: float, p_negative: float | None = None, *,
                    alpha: float = 0.05, comparisons: int = 1) -> float:
    """Exact power of the two-sided paired sign test over n seeds at level alpha / comparisons.

    Each seed's difference is positive with probability ``p_positive``, negative with
    ``p_negative`` (default 1 - p_positive: no ties) and zero otherwise. Zeros count against
    rejection, as the test counts them (gancheck.stats.comparisons.sign_test: the least
    favourable split), so it rejects exactly when the positives alone, or the negatives alone,
    reach the upper critical count c = n - l of the binomial test on all n seeds:
    power = P(Bin(n, p+) >= c) + P(Bin(n, p-) >= c) (disjoint, since c > n/2)."""
    n = _check_count(n, "n")
    p_positive = _check_probability(p_positive, "p_positive")
    p_negative = 1 - p_positive if p_negative is None else _check_probability(p_negative, "p_negative")
    if p_positive + p_negative > 1 + 1e-12:
        raise ValueError(f"p_positive + p_negative must be <= 1, got {p_positive + p_negative!r}")
    rejects = _sign_test_rejects(n, planning_level(alpha, comparisons))
    upper = np.flatnonzero(rejects[(n + 1) // 2:])
    if upper.size == 0:
        return 0.0   # too few seeds for any rejection at this level
    critical = int(upper[0]) + (n + 1) // 2
    return float(stats.binom.sf(critical - 1, n, p_positive) + stats.binom.sf(critical - 1, n, p_negative))


# ---------------------------------------------------------------------------- sample size

def seeds_needed(power_at: Callable[[int], float], target: float, *, max_seeds: int = 200,
                 min_seeds: int = 2) -> int | None:
    """The smallest n with power_at(n) >= target, searched in [min_seeds, max_seeds]; None if even
    max_seeds falls short.

    Exact tests have saw-tooth power curves (power can dip when n grows by one), so there is no
    bisection: n doubles from min_seeds until the power reaches target, then every n from the
    last doubling that fell short is scanned. (An n below that doubling point reaching target
    would need a dip larger than the curve's rise over a doubling; the suite checks the search
    against a full scan on typical cases.)"""
    target = _check_probability(target, "power", open_interval=True)
    max_seeds = _check_count(max_seeds, "max_seeds")
    low = _check_count(min_seeds, "min_seeds")
    if low > max_seeds:
        raise ValueError(f"min_seeds must be <= max_seeds, got {low!r} > {max_seeds!r}")
    high = low
    while power_at(high) < target:
        if high == max_seeds:
            return None
        low, high = high, min(2 * high, max_seeds)
    for n in range(low, high):
        if power_at(n) >= target:
            return n
    return high


# ---------------------------------------------------------------------------- smallest detectable effects

#: Grids searched for the smallest detectable effect: rates in steps of 0.005, shifts in steps of
#: 0.01 sd (finer than any figure the report prints).
_RATE_GRID = np.round(np.arange(0.0, 1.0001, 0.005), 3)
_SHIFT_GRID = np.arange(0.01, 10.0001, 0.01)


@lru_cache(maxsize=1024)
def detectable_rate_difference(p_baseline: float, n: int, *, n_baseline: int | None = None,
                               power: float = 0.8, alpha: float = 0.05, comparisons: int = 1,
                               direction: int = 0) -> float:
    """The smallest |p_arm - p_baseline| that Boschloo's test detects with ``power`` at level
    alpha / comparisons, over n seeds in the arm (n_baseline in the baseline); NaN if no rate in
    [0, 1] reaches that power.

    ``direction``: 0 searches rates on both sides of the baseline's (a row's ``mde``: whichever
    way the arm differs), -1 only lower rates (a drop), +1 only higher ones (a rise). Near 0 or
    1 the two differ a lot: from 0.85 at 80 seeds a rise to 1 is detected, a drop only of 0.25."""
    p_baseline = _check_probability(p_baseline, "p_baseline")
    if direction not in (-1, 0, 1):
        raise ValueError(f"direction must be -1, 0 or 1, got {direction!r}")
    best = np.nan
    for p_arm in _RATE_GRID:
        gap = abs(p_arm - p_baseline)
        if gap == 0 or (np.isfinite(best) and gap >= best) or direction * (p_arm - p_baseline) < 0:
            continue
        if rate_power(p_arm, p_baseline, n, alpha=alpha, comparisons=comparisons,
                      n_baseline=n_baseline) >= power:
            best = gap
    return float(best)


def detectable_shift(sd: float, n: int, *, power: float = 0.8, alpha: float = 0.05,
                     comparisons: int = 1) -> float:
    """The smallest shift of normal paired differences N(shift, sd²) that the paired sign test
    detects with ``power`` over n seeds at level alpha / comparisons, in the metric's units;
    NaN if none up to 10 sd does."""
    if not (math.isfinite(sd) and sd > 0):
        return np.nan
    return float(sd * _detectable_shift_ratio(n, power, alpha, comparisons))


@lru_cache(maxsize=256)
def _detectable_shift_ratio(n: int, power: float, alpha: float, comparisons: int) -> float:
    """detectable_shift in sd units: it depends on n, power and the level only."""
    for ratio in _SHIFT_GRID:
        if sign_test_power(n, *shift_probabilities(ratio, 1.0), alpha=alpha,
                           comparisons=comparisons) >= power:
            return float(ratio)
    return np.nan


#: Probabilities searched for the smallest detectable P(arm better on a seed), steps of 0.005.
_PROBABILITY_GRID = np.round(np.arange(0.505, 1.0001, 0.005), 3)


@lru_cache(maxsize=1024)
def detectable_sign_probability(n: int, *, power: float = 0.8, alpha: float = 0.05,
                                comparisons: int = 1) -> float:
    """The smallest probability q that a seed of the arm beats the same seed of the baseline
    (no ties) which the paired sign test over n seeds detects with ``power`` at level
    alpha / comparisons: a scale-free mde for per-seed metrics, finite however heavy their
    tails. By symmetry q and 1 - q are detected alike. NaN if even q = 1 is not."""
    for q in _PROBABILITY_GRID:
        if sign_test_power(n, float(q), alpha=alpha, comparisons=comparisons) >= power:
            return float(q)
    return np.nan

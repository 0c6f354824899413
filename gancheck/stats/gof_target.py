"""The per-sample tests against any fully specified continuous target (gancheck.targets.Target).

A normal target keeps the exact tests of gancheck.stats.gof; these serve every other target.
Each takes ``x``, sorted (m, n) rows as gof's tests do, and the Target, and returns
``(statistic, pvalue)``:

========== ============================================================================ =========
test       p-value                                                                      kind
========== ============================================================================ =========
ks         D of u = F(x) against U(0, 1); exact p from scipy.stats.kstwo                exact
ad         A² from log F and log(1 - F); the known-parameter null (gof.ad_pvalue)        formula
cvm        W² of u = F(x) against U(0, 1) (scipy.stats.cramervonmises)                   formula
mean       x̄ - target mean; null simulated from the target at n, equal-tailed          simulated
std        s - target sd (ddof = 1); null simulated from the target at n               simulated
skew       g1 - target skewness; null simulated from the target at n                   simulated
kurtosis   g2 - target excess kurtosis; null simulated from the target at n            simulated
========== ============================================================================ =========

Why the fit tests need no simulation: once F is fully specified and continuous, u = F(X) is
U(0, 1) whatever F is (the probability-integral transform), and KS D, A² and W² are functions of
the sorted u alone, so their known-parameter nulls are the same for every target.

Why the moment tests do: only for a normal is a formula exact (z for the mean, chi-square for
the sd; gof). For any other target the sampling law of x̄, s, g1 and g2 at n depends on the
whole distribution (a gamma's x̄ is skewed at n = 50, a t(5)'s s is heavy-tailed), so it is
simulated from the target itself: R samples of n values, seeded by the target's spec and n,
cached per (target, n). p = min(1, 2 min(lower, upper)) with each tail (1 + #)/(1 + R): a valid
Monte Carlo p-value at any R (Davison & Hinkley 1997, ch. 4), equal-tailed because these nulls
are skewed in general. Which moment tests apply to which target is the registry's business
(gancheck.stats.registry).
"""
from __future__ import annotations

import functools
import sys
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import stats

from gancheck.stats import gof, monte_carlo, table_cache

#: Fixed seed of the simulated moment nulls (combined with the target's spec and n).
NULL_SEED = 2026_12_06



def ks(x: np.ndarray, *, target, decide_at: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    return gof.ks_of_uniforms(target.cdf(x), decide_at)


def ad(x: np.ndarray, *, target) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[1]
    weights = 2.0 * np.arange(1, n + 1) - 1.0
    logs = target.logcdf(x) + target.logsf(x[:, ::-1])
    with np.errstate(invalid="ignore"):
        a2 = -n - (logs @ weights) / n
    # A value outside the target's support (F = 0 or 1) makes A² infinite: p = 0, an ordinary
    # rejection (score keeps an infinite statistic whose p-value is 0).
    return a2, gof.ad_pvalue(a2, n)


def cvm(x: np.ndarray, *, target) -> tuple[np.ndarray, np.ndarray]:
    res = stats.cramervonmises(target.cdf(x), "uniform", axis=1)
    return np.asarray(res.statistic, dtype=float), np.asarray(res.pvalue, dtype=float)


# --- moments: nulls simulated from the target ---------------------------------------------------

#: Each moment test's per-row sample moment and the target's value it estimates.
_MOMENTS = {
    "mean": (lambda x: x.mean(axis=1), lambda t: t.mean),
    "std": (lambda x: x.std(axis=1, ddof=1), lambda t: t.std),
    "skew": (gof.skewness, lambda t: t.skewness),
    "kurtosis": (gof.excess_kurtosis, lambda t: t.kurtosis),
}


def _moment_errors(x: np.ndarray, target, names=tuple(_MOMENTS)) -> dict[str, np.ndarray]:
    """Each row's moment errors against the target's own moments (those that are finite)."""
    out = {}
    for name in names:
        sample, value = _MOMENTS[name]
        if np.isfinite(value(target)):
            out[name] = sample(x) - value(target)
    return out


@dataclass(frozen=True)
class MomentNull:
    """Sorted simulated moment errors of n values from the target (read-only), by test name."""

    n: int
    tables: dict


def null_seed(target, n: int, seed: int = NULL_SEED) -> list[int]:
    # crc32, not hash(): Python salts str hashes per process, and the null must not change.
    return [seed, n, zlib.crc32(target.spec.encode())]


@functools.lru_cache(maxsize=32)
def moment_null(target, n: int, replicates: int | None = None, seed: int = NULL_SEED) -> MomentNull:
    """The moment errors of R samples of n values drawn from ``target``; once per (target, n).

    R is gof.null_replicates(n) unless given (49,999 up to n = 500, fewer for huge n). Work is
    chunked to about 2**20 values at a time to bound memory.
    """
    replicates = gof.null_replicates(n) if replicates is None else replicates
    names = tuple(name for name, (_, value) in _MOMENTS.items() if np.isfinite(value(target)))
    # Kept on disk too (table_cache), keyed by the spec and the code that draws from the target.
    sources = [__file__, gof.__file__, sys.modules[type(target).__module__].__file__]
    tables = table_cache.cached_tables("moment_null", dict(target=target.spec, n=n, replicates=replicates, seed=seed),
                                       sources, names, replicates,
                                       lambda: _simulate_moment_null(target, n, replicates, seed))
    return MomentNull(n=n, tables=tables)


def _simulate_moment_null(target, n: int, replicates: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(null_seed(target, n, seed))
    chunk = max(1, 2**20 // n)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, replicates, chunk):
        x = target.rvs((min(chunk, replicates - start), n), rng)
        for name, values in _moment_errors(x, target).items():
            parts.setdefault(name, []).append(values)
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def _moment_test(name: str):
    def run(x: np.ndarray, *, target) -> tuple[np.ndarray, np.ndarray]:
        observed = _moment_errors(x, target, (name,))[name]
        return observed, monte_carlo.equal_tailed_p(moment_null(target, x.shape[1]).tables[name], observed)
    run.__name__ = f"{name}_test"
    run.__doc__ = f"The sample's {name} error against the target's; simulated null at n."
    return run


mean_test = _moment_test("mean")
std_test = _moment_test("std")
skew_test = _moment_test("skew")
kurtosis_test = _moment_test("kurtosis")

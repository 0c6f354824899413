"""The mean and sd bands' reference laws: each band's studentised statistic, simulated.

gancheck.stats.criteria tests the mean and sd bands with a t statistic on a per-draw quantity
(the draw's mean, its variance): its average over the K draws less a band edge, over its
standard error across draws. Student's t on K - 1 degrees of freedom is that statistic's law only
when the per-draw quantities are normal.

**The sd band.** Variances are skewed: a normal target's are scaled chi-squares, a skewed or
heavy-tailed target's far more (t(5)'s have no finite skewness). Mean and se then rise and fall
together, and a generator at the upper edge of the band is called within too often. With the t
reference: normal generators at 1.1 times the target's sd in 0.080 of 10,000 at K = 5, n = 20,
0.066 at K = 10, n = 50 and 0.063 at K = 20, n = 50 (0.051 at K = 100, n = 500); t(5) ones in
0.102 and gamma(2) ones in 0.076 at K = 20, n = 50, where 0.05 was asked. At the lower edge it
erred the other way: generators at 0.9 times the sd were called within too rarely (0.033 to
0.041 for the normals at those sizes) and shown below the band too often (0.058 to 0.077;
lognormal(0.5) up to 0.148). With these tables every such rate is 0.044 to 0.057, at both
edges, for every target and size of the benchmark.

**The mean band.** A normal target's draw means are normal, and t is exact for them. A skewed
target's are skewed (an exponential's mean of 20 values has skewness 0.45), and t called
generators shifted to the band's upper edge within in up to 0.069 (exponential, K = 5, n = 20)
and showed those at the lower edge beyond it in up to 0.066; skewed targets still gave up to
0.062 at K = 10 and 20, n = 50. So for a target other than a normal the mean band gets a table
too: with it, 0.044 to 0.056.

benchmarks/other_targets_calibration.py prints these rates, with the t reference's beside them.

Each table is U's law when every draw is n iid values of the target: U = (mean(v) - centre) /
se(v), the v the K draws' variances (over the target's) or means (less the target's, over its
sd). U does not change when the values are scaled (nor, for the mean, shifted), so a generator
of the target's shape at either edge of a band gives U this same law, and one table serves both
edges. The p-values are Monte Carlo ones, (1 + #{U_r at least as extreme}) / (R + 1).

- A normal target's sd (``normal_sd_reference``): a draw's variance over sd² is chi-square on
  n - 1 df over n - 1, exactly, so U is simulated from chi-squares directly.
- Any other target (``sd_reference``, ``mean_reference``): by resampling. Each replicate takes K
  values from the pool of the target's own variances or means at n that the moment tests
  already simulate (gof_target.moment_null: 49,999 samples of n values at n up to 500, kept on
  disk), so the table costs no new draws of the target.

Where the generator's shape is not the target's, the table is that of the target's shape: a
lighter-tailed generator's U is less skewed, and the test is then conservative at the upper
edge; a heavier-tailed one's is more skewed, as under the t reference.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

from gancheck.stats import gof_target, monte_carlo

#: Replicates of U per table (B + 1 a round number, so that alpha (B + 1) is a whole count).
REPLICATES = 19_999
#: Fixed seed of the resampling, combined with the target, K and n.
SEED = 2026_12_07
#: Values resampled or drawn at a time (bounds memory: 2**22 float64, 32 MiB).
CHUNK_VALUES = 2**22


@dataclass(frozen=True)
class StudentizedReference:
    """Sorted simulated values of U (read-only): Monte Carlo tail probabilities of it."""

    table: np.ndarray

    def sf(self, x):
        """(1 + #{U_r >= x}) / (R + 1)."""
        return monte_carlo.upper_p(self.table, x)

    def cdf(self, x):
        """(1 + #{U_r <= x}) / (R + 1)."""
        return monte_carlo.lower_p(self.table, x)


@functools.lru_cache(maxsize=32)
def sd_reference(target, k: int, n: int) -> StudentizedReference:
    """U's law for the variances of K draws of n values of ``target`` (a gancheck Target of
    finite sd that is not normal), K >= 2."""
    # The pool: each simulated sample's sd over the target's, squared (scale-free, so no
    # overflow whatever the target's scale).
    errors = gof_target.moment_null(target, n).tables["std"]
    return _resampled((1.0 + errors / target.std) ** 2, k, [SEED, k, n, zlib.crc32(target.spec.encode())])


@functools.lru_cache(maxsize=32)
def mean_reference(target, k: int, n: int) -> StudentizedReference:
    """U's law for the means of K draws of n values of ``target`` (a gancheck Target of finite
    sd that is not normal), K >= 2."""
    errors = gof_target.moment_null(target, n).tables["mean"]
    return _resampled(errors / target.std, k, [SEED, k, n, zlib.crc32(target.spec.encode()), zlib.crc32(b"mean")])


def _resampled(pool: np.ndarray, k: int, seed: list[int]) -> StudentizedReference:
    """R replicates of U from K values drawn from ``pool`` with replacement each."""
    # U is centred at the pool's own mean, the mean of the law resampled (as a bootstrap-t is):
    # the pool's mean misses the target's by its own sampling error, about 0.05 se(v) at K = 100,
    # n = 500 for lognorm(0.5)'s variances, which moved the table's median as far.
    rng = np.random.default_rng(seed)
    return _studentized(lambda rows: pool[rng.integers(0, pool.size, (rows, k))], k, pool.mean())


@functools.lru_cache(maxsize=32)
def normal_sd_reference(k: int, n: int) -> StudentizedReference:
    """U's law for K draws of n iid normal values, K >= 2, n >= 2: each draw's variance over the
    normal's is chi-square on n - 1 df over n - 1 (drawn as 2 Gamma((n - 1) / 2) / (n - 1)), so U
    is centred at exactly 1, the mean of that law."""
    rng = np.random.default_rng([SEED, k, n, zlib.crc32(b"norm")])
    shape = (n - 1) / 2.0
    return _studentized(lambda rows: rng.standard_gamma(shape, (rows, k)) / shape, k, 1.0)


def _studentized(draw, k: int, centre: float) -> StudentizedReference:
    """The sorted table of U = (mean - centre) / se over REPLICATES rows of K values, ``draw(rows)``
    giving a (rows, K) array, in chunks of at most CHUNK_VALUES values."""
    chunk = max(1, CHUNK_VALUES // k)
    parts = []
    for start in range(0, REPLICATES, chunk):
        values = draw(min(chunk, REPLICATES - start))
        se = values.std(axis=1, ddof=1) / np.sqrt(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append((values.mean(axis=1) - centre) / se)
    table = np.sort(np.concatenate(parts))
    table.setflags(write=False)
    return StudentizedReference(table)

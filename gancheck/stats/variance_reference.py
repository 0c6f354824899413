"""The sd band's reference law for a target other than a normal, simulated from the target.

gancheck.stats.criteria tests the sd band with a t statistic on the K draws' variances: their
mean less a band edge, over its standard error across draws. Student's t on K - 1 degrees of
freedom is that statistic's law when the variances are normal. A normal target's are scaled
chi-squares, close enough at the sizes a run judges (K = 100 draws of n = 500: a generator at a
band edge called within 0.050 of the time at alpha = 0.05; at K = 10, n = 50, 0.066). A skewed or heavy-tailed target's
variances are skewed far more (t(5)'s have no finite skewness), and the t reference called a
generator of 1.1 times the target's sd "within" in 0.074 (gamma(2)) to 0.103 (t(5)) of cases
at K = 20, n = 50, where 0.05 was asked; its lower edge was conservative (0.019 to 0.031).
benchmarks/other_targets_calibration.py prints these rates, and this table's.

So for such a target the statistic is referred to its own law when every draw is n iid values
of the target: U = (mean(v) - sd²) / se(v), the v the K draws' variances. U does not change when
the values are scaled, so a generator of the target's shape at either edge of the band (its
values scaled to (1 ∓ tolerance) sd) gives U this same law, and one table serves both edges.
It is simulated by resampling: each replicate takes K variances from the pool of the target's
own variances at n that the moment tests already simulate (gof_target.moment_null: 49,999
samples of n values at n up to 500, kept on disk), so the table costs no new draws of the
target. The p-values are Monte Carlo ones, (1 + #{U_r at least as extreme}) / (R + 1).

Where the generator's shape is not the target's, the table is that of the target's shape: a
lighter-tailed generator's U is less skewed, and the test is then conservative at the upper
edge; a heavier-tailed one's is more skewed, as under the t reference.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

from gancheck.stats import gof_target

#: Replicates of U per table (B + 1 a round number, so that alpha (B + 1) is a whole count).
REPLICATES = 19_999
#: Fixed seed of the resampling, combined with the target, K and n.
SEED = 2026_12_07
#: Variances resampled at a time (bounds memory: 2**22 float64, 32 MiB).
CHUNK_VALUES = 2**22


@dataclass(frozen=True)
class StudentizedReference:
    """Sorted simulated values of U (read-only): Monte Carlo tail probabilities of it."""

    table: np.ndarray

    def sf(self, x):
        """(1 + #{U_r >= x}) / (R + 1)."""
        size = self.table.size
        return (1.0 + size - np.searchsorted(self.table, x, side="left")) / (1.0 + size)

    def cdf(self, x):
        """(1 + #{U_r <= x}) / (R + 1)."""
        return (1.0 + np.searchsorted(self.table, x, side="right")) / (1.0 + self.table.size)


@functools.lru_cache(maxsize=32)
def reference(target, k: int, n: int) -> StudentizedReference:
    """U's law for K draws of n values of ``target`` (a gancheck Target of finite sd), K >= 2."""
    # The pool: each simulated sample's sd over the target's, squared (scale-free, so no
    # overflow whatever the target's scale).
    errors = gof_target.moment_null(target, n).tables["std"]
    pool = (1.0 + errors / target.std) ** 2
    # U is centred at the pool's own mean, the variance of the law resampled (as a bootstrap-t
    # is): the pool's mean misses the target's by its own sampling error, about 0.05 se(v) at
    # K = 100, n = 500 for lognorm(0.5), which moved the table's median as far.
    centre = pool.mean()
    rng = np.random.default_rng([SEED, k, n, zlib.crc32(target.spec.encode())])
    chunk = max(1, CHUNK_VALUES // k)
    parts = []
    for start in range(0, REPLICATES, chunk):
        variances = pool[rng.integers(0, pool.size, (min(chunk, REPLICATES - start), k))]
        se = variances.std(axis=1, ddof=1) / np.sqrt(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append((variances.mean(axis=1) - centre) / se)
    table = np.sort(np.concatenate(parts))
    table.setflags(write=False)
    return StudentizedReference(table)

"""Constant samples and the target's own chance of them, in one test with every other sample.

On a coarse grid the target's own samples are sometimes constant: ten values of lognorm(0.5)
written as whole numbers are all 1 one time in 32. Scoring fails a constant sample (a collapsed
output) unless chance explains it, and tests every other sample with its tests. Each rule spent
its own alpha, so together they rejected true-target samples far more often than alpha: 0.08 at
alpha = 0.05 for that lognormal at n = 10 (the constant samples, 0.03, on top of the tests' 0.05).

So both rules are read as one test whose outcomes are ordered by how rare they are under the
target rounded to the grid (cells of mass m_u; the tails in the end cells):

* a constant sample at cell u has probability P_u = m_u^n, its rarity;
* any other sample's rarity is its test's p-value p (an upper bound on the chance of a varying
  sample at least as extreme, whether the test refers it to every sample of the rounded target
  or only to the varying ones).

The p-value of an outcome is the chance of one at least as rare:

* a varying sample: p + Σ P_u over the constant samples with P_u <= p;
* a constant sample at v: Σ P_u over P_u <= P_v, plus min(P_v, P(varying)) for the varying
  samples whose p is at most P_v. It fails below alpha and is left untested otherwise, never
  passed.

So the two rules together reject at most alpha of the target's samples. Eight 4s against
N(4, 1.25), whole numbers: 2e-4, a failure; three 4s: 0.086, untested; seven 4s and a 5 against
N(4, 0.1), where nearly every sample is eight 4s: the varying sample keeps its KS p of 5e-6,
since no constant sample is that rare. The sum added to a varying sample's p is below 1e-300 on
every grid fine against the target at n of a few dozen or more (one decimal of N(4, 1.25) at
n = 10: at most 3e-15), so a p-value changes only where a grid is coarse and a sample short. A
p-value of exactly 0 (a value the rounded target cannot give) stays 0.

Where the lattice would be too big (grouped_ks.MAX_CELLS) the sums are bounded instead, using
Σ m_u^n over m_u^n <= t being at most t^((n-1)/n) (since Σ m_u <= 1) and the whole sum at most
(max m)^(n - 1). Both are conservative.
"""
from __future__ import annotations

import functools

import numpy as np

from gancheck.stats import grouped_ks, targeting
from gancheck.stats.targeting import Resolved

#: Probabilities this close to the value's own count as "as rare" (they differ in their last bits).
SAME = 1e-9


def varying_pvalues(pvalue: np.ndarray, plan: Resolved, h: float, value: float, n: int) -> np.ndarray:
    """The p-values of a varying sample of ``n`` values on the grid of step ``h`` through
    ``value``, each plus the chance of a constant sample at least as rare (module docstring)."""
    bound = targeting.largest_cell_mass(plan, h) ** (n - 1) if n >= 2 else 0.0
    if bound == 0.0:
        return pvalue
    law = _constant_law(plan, *grouped_ks.grid_key(value, h), n)
    p = np.asarray(pvalue, dtype=float)
    if law is None:
        rarer = np.minimum(p ** ((n - 1) / n), bound)
    else:
        chances, cumulative = law
        rarer = np.concatenate([[0.0], cumulative])[np.searchsorted(chances, p * (1.0 + SAME), side="right")]
    with np.errstate(invalid="ignore"):
        return np.where((p == 0.0) | np.isnan(p), p, np.minimum(1.0, p + rarer))


def constant_pvalue(plan: Resolved, h: float, value: float, n: int) -> float:
    """The p-value of ``n`` values all equal to ``value``, written on the grid of step ``h``
    (module docstring)."""
    mass = targeting.mass_within(plan, value - h / 2, value + h / 2)
    if not mass > 0:
        return 0.0   # a value the target cannot give, n times
    own = mass ** n
    law = _constant_law(plan, *grouped_ks.grid_key(value, h), n)
    if law is None:
        return min(1.0, mass ** (n - 1) + own)
    chances, cumulative = law
    index = np.searchsorted(chances, own * (1.0 + SAME), side="right")
    rarer = float(cumulative[index - 1]) if index else 0.0
    # The tails joined to the end cells are counted in full where those cells are as rare; where
    # they are not, the tails' own cells (each of mass at most TAIL) add at most 2 TAIL^n.
    rarer += 2.0 * grouped_ks.TAIL ** n
    return min(1.0, rarer + min(own, 1.0 - float(cumulative[-1])))


@functools.lru_cache(maxsize=64)
def _constant_law(plan: Resolved, h: float, phase: float, n: int):
    """(each cell's chance of a constant sample, m_u^n, ascending; their running sum), or None
    where the lattice would be too big."""
    masses = grouped_ks.cell_masses(plan, h, phase)
    if masses is None:
        return None
    with np.errstate(under="ignore"):
        chances = np.sort(masses[masses > 0] ** n)
    cumulative = np.cumsum(chances)
    chances.setflags(write=False)
    cumulative.setflags(write=False)
    return chances, cumulative

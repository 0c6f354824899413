"""Which target score, judge, diversity and verdict test against, resolved once per call.

A normal target (the default N(mean, std), a ``norm(...)`` spec, a frozen ``stats.norm`` or
``stats.Normal``) keeps gof's exact normal-theory tests with its mean and sd exactly as declared,
so the default's numbers never change. Any other continuous target gets the tests of the registry
that apply to it (gancheck.stats.registry) and gof_target's p-values.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from gancheck import targets


@dataclass(frozen=True)
class Resolved:
    """``target``: the Target when it is not normal (None: gof's normal path); ``mean`` and
    ``std``: the target's (nan where infinite or undefined); ``spec``: its canonical spec."""

    target: object
    mean: float
    std: float
    spec: str

    @property
    def is_normal(self) -> bool:
        return self.target is None


def resolve(target=None, *, mean: float = targets.DEFAULT_MEAN, std: float = targets.DEFAULT_STD) -> Resolved:
    """None: N(mean, std) with mean and std as given (the default path, unchanged); anything
    ``gancheck.targets.as_target`` takes otherwise. Raises TargetError (a ValueError)."""
    if target is None:
        # No scipy object is built: the default path must not fail where it did not before.
        return Resolved(None, mean, std, f"norm(loc={targets._number(mean)}, scale={targets._number(std)})")
    found = _interned(targets.as_target(target, mean=mean, std=std))
    if found.is_normal:
        loc, scale = found.normal_parameters
        return Resolved(None, loc, scale, found.spec)
    return Resolved(found, found.mean, found.std, found.spec)


@functools.lru_cache(maxsize=64)
def _interned(target):
    """The first Target seen with this spec (Targets compare by spec): its cached quantities
    (moments, cell masses, quantiles) are computed once however often a spec is passed."""
    return target


def order_grid(resolved: Resolved, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """ties.grid_to_sd's grid, rescaled so that ties' occupancy rule (written for a normal
    sample: n·h / (s·√(2π)) values expected in the fullest grid cell) reads n times the target's
    largest probability in one cell of width h. A peaked or bimodal target crowds more rounded
    values into one cell than a normal of its sd; a density with a pole (gamma with a < 1 at 0)
    is measured by its cell mass there, which stays finite. Unchanged for a normal target."""
    if resolved.is_normal:
        return grid
    out = np.zeros_like(grid)
    on = grid > 0
    if on.any():
        steps = grid[on] * x[on].std(axis=1, ddof=1)
        # Steps of one rounding grid differ across rows only in their last digits: 10 significant
        # digits make them one cache entry.
        out[on] = np.array([_cell_mass(resolved.target, float(f"{h:.10g}")) for h in steps]) * math.sqrt(2 * math.pi)
    return out


def largest_cell_mass(resolved: Resolved, width: float) -> float:
    """The most probability the target puts in one interval of ``width``: a normal's centred
    interval, erf(width / (2 √2 sd)); another target's fullest cell (_cell_mass)."""
    if resolved.is_normal:
        return math.erf(width / (2.0 * math.sqrt(2.0) * resolved.std))
    return _cell_mass(resolved.target, float(f"{width:.10g}"))


def mass_within(resolved: Resolved, low: float, high: float) -> float:
    """The target's probability in [low, high]."""
    if resolved.is_normal:
        return float(special.ndtr((high - resolved.mean) / resolved.std)
                     - special.ndtr((low - resolved.mean) / resolved.std))
    return float(resolved.target.cdf(high) - resolved.target.cdf(low))


@functools.lru_cache(maxsize=1024)
def _cell_mass(target, h: float) -> float:
    """max over x of F(x + h) - F(x), read at cells starting and ending on 4,001 quantiles and
    the support's ends (quantiles crowd where the density is high, so the fullest cell is near
    one of them)."""
    points = _cell_points(target)
    with np.errstate(invalid="ignore"):
        mass = np.concatenate([target.cdf(points + h) - target.cdf(points),
                               target.cdf(points) - target.cdf(points - h)])
    return float(np.nanmax(mass))


@functools.lru_cache(maxsize=64)
def _cell_points(target) -> np.ndarray:
    with np.errstate(all="ignore"):
        points = target.ppf(np.linspace(0.0, 1.0, 4003))
    return points[np.isfinite(points)]


def rounded_over_an_edge(resolved: Resolved, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Rows (sorted) on a grid with a value within half a grid step of a finite end of the
    target's support: rounding may have carried it to or over the edge (a gamma's 0.04 written
    as 0.0), where F is 0 or 1 and A² is infinite, so the ECDF tests cannot read such a row.
    ``grid``: ties.grid_to_sd(x), the step in sample sds (0 off a grid). None for a normal."""
    if resolved.is_normal:
        return np.zeros(x.shape[0], dtype=bool)
    low, high = _support(resolved.target)
    half = 0.5 * grid * x.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore"):
        near = (x[:, 0] - low <= half) | (high - x[:, -1] <= half)
    return (grid > 0) & near


@functools.lru_cache(maxsize=64)
def _support(target) -> tuple[float, float]:
    return tuple(float(v) for v in target.ppf(np.array([0.0, 1.0])))


def support(resolved: Resolved) -> tuple[float, float]:
    """(low, high) ends of the target's support; infinite for a normal."""
    return (-math.inf, math.inf) if resolved.is_normal else _support(resolved.target)


def at_a_support_end(resolved: Resolved, x: np.ndarray) -> np.ndarray:
    """Rows (sorted) with a value exactly at a finite end of the target's support (0.0 for a
    gamma): F is 0 or 1 there, which a continuous target gives with probability 0, so the value
    was rounded there (to a grid too fine for ties' grid check to see, e.g. 6 decimals over a
    range of 10). Tests that weigh log F (registry: needs_interior) cannot read such a row. A
    value beyond the end is another matter: impossible under the target, it is tested and
    rejected. None for a normal."""
    if resolved.is_normal:
        return np.zeros(x.shape[0], dtype=bool)
    low, high = _support(resolved.target)
    return (x[:, 0] == low) | (x[:, -1] == high)


def one_of(target, reference) -> None:
    """A generator is judged against a formula or against a sample, never both at once."""
    if target is not None:
        raise ValueError("give target= (a formula) or reference= (a sample), not both")

"""Which target score, judge, diversity and verdict test against, resolved once per call.

A normal target (the default N(mean, std), a ``norm(...)`` spec, a frozen ``stats.norm`` or
``stats.Normal``) keeps gof's exact normal-theory tests with its mean and sd exactly as declared,
so the default's numbers never change. Any other continuous target gets the tests of the registry
that apply to it (gancheck.stats.registry) and gof_target's p-values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
    found = targets.as_target(target, mean=mean, std=std)
    if found.is_normal:
        loc, scale = found.normal_parameters
        return Resolved(None, loc, scale, found.spec)
    return Resolved(found, found.mean, found.std, found.spec)


def order_grid(resolved: Resolved, x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """ties.grid_to_sd's grid, rescaled so that ties' occupancy rule (written for a normal
    sample, n·h / (s·√(2π)) values in the fullest grid cell) reads n·h·f_max for this target:
    a peaked or bimodal target crowds more rounded values into one cell than a normal of its sd.
    Unchanged for a normal target."""
    if resolved.is_normal:
        return grid
    peak = resolved.target.peak_density * math.sqrt(2 * math.pi)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = grid * x.std(axis=1, ddof=1) * peak
    return np.where(grid > 0, scaled, 0.0)

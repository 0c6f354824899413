"""Controls: samples of known truth, judged by the same pipeline as the generators.

The null control is exact draws of the target: its rejection rate is each test's observed type-I
error at this run's n, and its verdict must be on_target or undecided (a departure in at most
alpha of replicates). The negative controls are known departures, far enough outside the default
tolerance (0.1 target sd for mean and sd) to be named at the run's K: the shifted one by 0.3 sd is
off_target, the wider one (sd 1.3 times the target's) off_target, the collapsed one collapsed.
Their rejection rates are each test's power at this run's n.

Every control is built from the run's target: for the seed's N(mean, std) exactly as it always
was (the same random calls, so published controls are reproduced bit for bit); for any other
target (a gancheck.targets.Target), the target's own draws, moved by 0.3 of its sd, widened 1.3
times about its mean, one of its vectors repeated, and two other shapes with its mean and sd: a
rescaled Student t (5 df, or 3 where the target's tails are already as heavy as t5's) and the
same two-bump mixture as for the normal.
"""
from __future__ import annotations

import math

import numpy as np

#: The shifted and the wider controls: three times the default tolerance's mean and sd bands.
MEAN_SHIFT = 0.3
STD_RATIO = 1.3
#: name -> (description, how to draw (k, n) draws of it)
CONTROL_DESCRIPTIONS = {
    "null": "exact N(mean, std) draws: rejection rate = observed type-I error",
    "mean_shift": "N(mean + 0.3 std, std), i.e. N(4.375, 1.25): three times the mean tolerance",
    "wrong_std": "N(mean, 1.3 std), i.e. N(4, 1.625): three times the sd tolerance",
    "heavy_tails": "Student t with 5 df, rescaled to the target mean and std",
    "bimodal": "equal mixture of N(mean -/+ 0.8 std, 0.6 std): right mean and std, two modes",
    "collapsed": "one N(mean, std) vector repeated for every noise draw: a collapsed generator",
}
CONTROLS = tuple(CONTROL_DESCRIPTIONS)
#: t5's excess kurtosis, 6 (6 / (df - 4)): a target with tails this heavy gets a t3 control.
T5_KURTOSIS = 6.0


def draw_control(name: str, seed: int, k: int, n: int, mean: float, std: float, target=None) -> np.ndarray:
    """(k, n) draws of control ``name`` from its own seeded stream (the replicate's seed).

    ``target``: a gancheck.targets.Target to build the control from; None or a normal one: the
    seed's N(mean, std) (a normal target's mean and std are passed as ``mean`` and ``std``)."""
    if name not in CONTROLS:
        raise ValueError(f"control={name!r}: unknown control (known: {', '.join(CONTROLS)})")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CONTROLS.index(name) + 100,)))
    if target is not None and not target.is_normal:
        return _from_target(name, rng, k, n, target)
    if name == "null":
        return rng.normal(mean, std, (k, n))
    if name == "mean_shift":
        return rng.normal(mean + MEAN_SHIFT * std, std, (k, n))
    if name == "wrong_std":
        return rng.normal(mean, STD_RATIO * std, (k, n))
    if name == "heavy_tails":
        return _student_t(rng, k, n, mean, std, df=5)
    if name == "bimodal":
        return _two_bumps(rng, k, n, mean, std)
    return np.repeat(rng.normal(mean, std, (1, n)), k, axis=0)   # collapsed


def _student_t(rng, k, n, mean, std, df):
    # Var of t(df) is df/(df-2): rescale to unit variance, then to the target.
    return mean + std * rng.standard_t(df, (k, n)) / np.sqrt(df / (df - 2))


def _two_bumps(rng, k, n, mean, std):
    # Components at mean -/+ 0.8 std with sd 0.6 std: total variance 0.64 + 0.36 = 1 std^2.
    signs = rng.choice([-1.0, 1.0], size=(k, n))
    return mean + std * (0.8 * signs + 0.6 * rng.standard_normal((k, n)))


def _from_target(name: str, rng: np.random.Generator, k: int, n: int, target) -> np.ndarray:
    mean, std = target.mean, target.std
    if name == "null":
        return target.rvs((k, n), rng)
    if name == "mean_shift":
        return target.shifted(MEAN_SHIFT * std).rvs((k, n), rng)
    if name == "wrong_std":
        return target.widened(STD_RATIO).rvs((k, n), rng)
    if name == "heavy_tails":
        heavy = not math.isfinite(target.kurtosis) or target.kurtosis >= T5_KURTOSIS
        return _student_t(rng, k, n, mean, std, df=3 if heavy else 5)
    if name == "bimodal":
        return _two_bumps(rng, k, n, mean, std)
    return np.repeat(target.rvs((1, n), rng), k, axis=0)   # collapsed

"""verdict(): one outcome for one generator from all its noise draws, against a stated tolerance."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gancheck import targets
from gancheck.stats import gof, targeting
from gancheck.stats.criteria import criteria as band_tests
from gancheck.stats.decision import decide_on_draws
from gancheck.stats.diversity import DiversityResult
from gancheck.stats.judge import as_draws, judge_generator
from gancheck.stats.tolerance import Tolerance, as_tolerance


@dataclass(frozen=True)
class Verdict:
    """outcome (gancheck.stats.decision.OUTCOMES), reason in words, detected (some single test of
    judge detected a departure, tolerance aside), judge's per-test table, the band tests
    (criteria: one row per tolerance band), diversity's result, the tolerance and alpha used."""

    outcome: str
    reason: str
    detected: bool
    judge: pd.DataFrame
    criteria: pd.DataFrame
    diversity: DiversityResult | None
    tolerance: Tolerance
    alpha: float
    k: int
    n: int
    target: str = ""  # the target's canonical spec (gancheck.targets)

    def summary(self) -> str:
        return f"{self.outcome}: {self.reason}"


def verdict(draws, *, mean: float = 4.0, std: float = 1.25, tolerance: Tolerance | None = None,
            alpha: float = 0.05, target=None, reference=None, diverged: bool = False) -> Verdict:
    """Judge a generator on its (K, n) draws (K noise draws of n values) against the target:
    N(mean, std) by default, or ``target`` as score() takes it (its sd must be finite: the bands
    are in units of it).

    ``on_target`` means the draws show the generator within every band of ``tolerance``
    (default Tolerance(): see its docstring for each band and why); a departure (collapsed,
    memorised, off_target, wrong_shape) means they show it outside one; ``undecided`` means
    neither is shown. The rules, their order and how they share ``alpha`` are in
    gancheck.stats.decision. ``diverged`` lets a caller that knows training blew up say so.
    ``reference`` (a 1-D real sample): judge against it instead of N(mean, std), the bands
    applying to the distance between the two laws (gancheck.stats.reference_verdict).
    """
    targets.refuse_mean_std_beside(target=target, reference=reference, mean=mean, std=std)
    if not isinstance(diverged, (bool, np.bool_)):
        # "no" is truthy: any other value would read as a diverged generator.
        raise ValueError(f"diverged must be True or False, got {diverged!r}")
    draws = as_draws(draws)
    if reference is not None:
        targeting.one_of(target, reference)
        from gancheck.stats.reference_verdict import reference_verdict  # two-sample mode
        return Verdict(**reference_verdict(draws, reference, tolerance=tolerance, alpha=alpha, diverged=diverged))
    gof.check_parameters(mean=mean, std=std, alpha=alpha)
    plan = targeting.resolve(target, mean=mean, std=std)
    if not plan.is_normal and not plan.target.moments_finite(2):
        # Infinite (t with df <= 2), or too large for float64 (a variance above 1.8e308 overflows:
        # uniform(scale=1e200)): either way there is no sd to scale the bands by.
        raise ValueError(f"target {plan.spec!r}: its sd is infinite or too large to compute, and the "
                         "tolerance's bands are in units of the target's sd")
    tolerance = as_tolerance(tolerance)
    judged, div = judge_generator(draws, mean=mean, std=std, alpha=alpha, tolerance=tolerance, target=target)
    k, n = int(judged["k"].iloc[0]), int(judged["n"].iloc[0])
    decision, table = decide_on_draws(
        draws, judged=judged, div=div, std=plan.std, tolerance=tolerance, alpha=alpha, diverged=diverged,
        bands=lambda x: band_tests(x, mean=plan.mean, std=plan.std, tolerance=tolerance, target=plan.target),
        shape="normality" if plan.is_normal else "the target's shape",
        cell_mass=lambda width: targeting.largest_cell_mass(plan, width))
    return Verdict(outcome=decision.outcome, reason=decision.reason, detected=decision.detected,
                   judge=judged, criteria=table, diversity=div, tolerance=tolerance, alpha=alpha,
                   k=k, n=n, target=plan.spec)

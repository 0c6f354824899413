"""Which targets a generator can be judged against: the one rule for every command that judges
(ablate's and train's --target, score --draws with --target or --mean/--std).

A generator is judged in units of the target's sd (the verdicts' bands, the spread across
draws), so the target must have a finite sd. Its mean and sd must also lie within the bounds a
run's record is read with (gancheck.target_dist.TARGET_BOUND: |mean| < 1e12, 0 < sd < 1e12), so
that no run trains to be refused by its own report; within them the bands' squared sds stay far
from float64's overflow (at sds above 1.3e154 a variance overflows).
"""
from __future__ import annotations

from gancheck.target_dist import TARGET_BOUND, judging_refusal

#: --target's help, for every command that trains on a target (ablate, train).
TARGET_HELP = (f"a continuous scipy.stats family with named parameters, e.g. 'gamma(a=2)' or "
               f"'mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))' (default: the seed's "
               f"N(4, 1.25)); its sd must be finite, its mean within +-{TARGET_BOUND:g} and its sd "
               f"within (0, {TARGET_BOUND:g})")


def refusal(law) -> str | None:
    """Why a generator cannot be judged against ``law`` (a gancheck Target), in words that follow
    the option and its value; None where it can. The rule is the Target's, so that GANConfig
    refuses what the commands refuse."""
    return judging_refusal(law)


def normal_refusal(mean: float, std: float) -> str | None:
    """refusal() of N(mean, std) as --mean and --std give it, naming the option at fault (the
    sd's first); None where a generator can be judged against it."""
    from gancheck.targets import normal
    why = refusal(normal(mean, std))
    if why is None:
        return None
    option, value = ("--std", std) if not 0 < std < TARGET_BOUND else ("--mean", mean)
    return f"{option}={value:g}: {why}"

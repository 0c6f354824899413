"""Sequential stopping: compare an arm with its baseline after every batch of seeds ("look") and
stop as soon as the comparison is decided.

The method: an e-process on the signs of the paired per-seed differences, with Ville's inequality.
Seeds are shared across arms, so seed s of the arm is paired with seed s of the baseline, and the
sign of arm - baseline is +1, -1 or 0 (a tie). Under the null "the arm and the baseline have the
same distribution" (the same rate, for 0/1 outcomes), every non-zero sign is +1 or -1 with
probability 1/2, independently across seeds: for 0/1 outcomes these are McNemar's discordant
pairs (equal marginal rates imply P(1, 0) = P(0, 1), whatever the correlation within a seed); for
per-seed metric values it is the sign test that the fixed design uses. The e-value after k
positive and m negative signs is the Beta(a, a)-mixture likelihood ratio against 1/2,

    E = 2^(k+m) B(k + a, m + a) / B(a, a)        (a = ``prior``, default 1/2: Jeffreys),

a nonnegative martingale with E[E] = 1 under the null. Ville's inequality, P(sup_t E_t >= 1/a')
<= a', makes "differs when E >= M / alpha" valid at **any** looks, any batch sizes, with
optional stopping and continuation: nothing depends on the look schedule being kept.

Why this and not O'Brien-Fleming alpha spending. Lan-DeMets boundaries are derived for a
normal statistic with independent increments; our per-seed outcomes are 0/1 at 20-80 seeds, where
that approximation is poor (0/20 vs 3/20), and exact discrete boundaries would have to be
recomputed for every schedule. A run that is killed mid-look and resumed, or whose batches come
back unevenly, would break a spending plan's information fractions; it cannot break Ville's
inequality. The price is power per seed: for 0 vs 0.15 with looks every 5 seeds, a maximum of
40 seeds detects 0.39 where a fixed Boschloo test at 40 detects 0.74; a maximum of 80 detects 0.97
using 48 seeds per arm on average, against 44 fixed seeds for 0.81 (`operating_characteristics`,
exact). On a null arm it stops by curtailment before max_seeds.

Verdicts say what was shown, nothing more:
- ``differs``: the e-value reached M / alpha.
- ``not shown by max``: no difference was shown by ``max_seeds`` (or can no longer be: when even
  the most favourable remaining seeds could not reach the threshold, the arm stops early by
  curtailment, which cannot add false "differs"). It is not evidence of no difference: at 0.15
  against 0.30 with a maximum of 80 it is the usual verdict.
- ``equivalent``: only with a declared ``margin`` on the difference P(+1) - P(-1) (for 0/1
  outcomes, exactly the difference of the two rates). Two one-sided e-processes, one against
  "difference >= margin" and one against "difference <= -margin", each a mixture over a grid of
  fixed bets of products of 1 + lambda (margin -+ sign) (a nonnegative supermartingale under
  its null, as the sign lies in [-1, 1]); "equivalent" when both reach M / alpha at the same
  look (intersection-union: each at the full level).

Multiplicity: a Holm family of M comparisons spends alpha / M per comparison (threshold M / alpha,
Bonferroni on e-values). The family-wise error is then at most alpha for any dependence between
arms (they share the baseline). A closed e-Holm procedure would be uniformly more powerful; not
done here.

Pure functions over arrays; nothing here knows about GANs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special

__all__ = ["SequentialPlan", "Decision", "OperatingCharacteristics", "signs", "evalue", "decide",
           "operating_characteristics", "rate_sign_probabilities", "VERDICTS"]

VERDICTS = ("differs", "equivalent", "not shown by max", "continue")
#: The fixed bets mixed in each equivalence e-process, as shares of the largest bet that keeps
#: every factor positive (1 / (1 - margin)).
EQUIVALENCE_BETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class SequentialPlan:
    """A pre-set sequential design for one comparison of a Holm family of ``comparisons``.

    Looks are after look_every, 2 look_every, ... seeds, and at max_seeds (the last look even if
    max_seeds is not a multiple of look_every). ``prior`` is a of the Beta(a, a) mixture.
    ``margin``: the equivalence margin on P(+1) - P(-1), in (0, 1); None: no "equivalent"."""
    max_seeds: int
    look_every: int
    alpha: float = 0.05
    comparisons: int = 1
    prior: float = 0.5
    margin: float | None = None
    looks: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self):
        for name in ("max_seeds", "look_every", "comparisons"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.look_every > self.max_seeds:
            raise ValueError(f"look_every must be <= max_seeds, got {self.look_every!r} > "
                             f"{self.max_seeds!r}")
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha < 1):
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if not (isinstance(self.prior, (int, float)) and self.prior > 0 and np.isfinite(self.prior)):
            raise ValueError(f"prior must be finite and > 0, got {self.prior!r}")
        if self.margin is not None and not (isinstance(self.margin, (int, float))
                                            and 0 < self.margin < 1):
            raise ValueError(f"margin must be in (0, 1) or None, got {self.margin!r}")
        looks = list(range(self.look_every, self.max_seeds + 1, self.look_every))
        if looks[-1] != self.max_seeds:
            looks.append(self.max_seeds)
        object.__setattr__(self, "looks", tuple(looks))

    @property
    def threshold(self) -> float:
        """The e-value that decides "differs": M / alpha."""
        return self.comparisons / self.alpha


@dataclass(frozen=True)
class Decision:
    """What the rule says after the seeds seen so far.

    verdict: one of VERDICTS; look: 1-based index of the look that
    decided (or the last look taken; 0 before the first); n: seeds used up to that look;
    positive, negative: signs of arm - baseline up to that look; evalue: the largest e-value over
    the looks taken; pvalue: the always-valid p-value min(1, M / max evalue), comparable with
    alpha (it already carries the M of the family); threshold: M / alpha."""
    verdict: str
    look: int
    n: int
    positive: int
    negative: int
    evalue: float
    pvalue: float
    threshold: float


def signs(arm, baseline) -> np.ndarray:
    """Signs of arm - baseline, seed for seed: +1, -1, or 0 for a tie (equal infinities tie)."""
    arm, baseline = (np.asarray(x, dtype=float).ravel() for x in (arm, baseline))
    if arm.shape != baseline.shape:
        raise ValueError(f"arm and baseline must have one value per shared seed, got "
                         f"{arm.size} and {baseline.size} values")
    for name, values in (("arm", arm), ("baseline", baseline)):
        if np.isnan(values).any():
            raise ValueError(f"{name} has {int(np.isnan(values).sum())} NaN values; a diverged "
                             "seed must be given the worst value, not NaN")
    return (arm > baseline).astype(int) - (arm < baseline).astype(int)


def evalue(positive, negative, prior: float = 0.5):
    """The Beta(prior, prior)-mixture e-value of ``positive`` +1 and ``negative`` -1 signs against
    P(+1) = 1/2: 2^(k+m) B(k + a, m + a) / B(a, a). Broadcasts over arrays."""
    k, m = np.asarray(positive, dtype=float), np.asarray(negative, dtype=float)
    log_e = (k + m) * np.log(2) + special.betaln(k + prior, m + prior) - special.betaln(prior, prior)
    return np.exp(log_e)


def _best_reachable(positive, negative, remaining: int, prior: float):
    """The largest e-value that ``remaining`` more seeds could reach (any mix of +1, -1, 0).

    It is one of E(k, m), E(k + r, m), E(k, m + r): for a fixed number t of new signs, log E is
    convex in how many are positive (log-gamma is convex), so an extreme split wins; and along
    E(k + t, m) the ratio of successive terms, 2 (k + t + a) / (k + m + t + 2a), rises with t, so
    the sequence falls then rises and its maximum is at t = 0 or t = r. The suite checks this
    against a brute-force search."""
    k, m = np.asarray(positive), np.asarray(negative)
    return np.maximum(evalue(k, m, prior),
                      np.maximum(evalue(k + remaining, m, prior), evalue(k, m + remaining, prior)))


def equivalence_evalues(positive, negative, n, margin: float):
    """(E against "difference >= margin", E against "difference <= -margin") after ``positive``
    +1, ``negative`` -1 and n - positive - negative zero signs; broadcasts over arrays."""
    k, m, n = (np.asarray(v, dtype=float) for v in (positive, negative, n))
    zeros = n - k - m
    upper, lower = 0.0, 0.0
    for share in EQUIVALENCE_BETS:
        bet = share / (1 - margin)
        # Against difference >= margin: factors 1 + bet (margin - sign).
        upper = upper + np.exp(k * np.log1p(bet * (margin - 1)) + zeros * np.log1p(bet * margin)
                               + m * np.log1p(bet * (margin + 1)))
        lower = lower + np.exp(m * np.log1p(bet * (margin - 1)) + zeros * np.log1p(bet * margin)
                               + k * np.log1p(bet * (margin + 1)))
    return upper / len(EQUIVALENCE_BETS), lower / len(EQUIVALENCE_BETS)


def _equivalence_reachable(positive, negative, n, remaining: int, margin: float, threshold: float):
    """Whether ``remaining`` more seeds could still show equivalence: each one multiplies every
    bet's product by at most 1 + bet (margin + 1), so each side's e-value is bounded by that."""
    reachable = np.ones(np.broadcast(positive, negative, n).shape, dtype=bool)
    k, m, n = (np.asarray(v, dtype=float) for v in (positive, negative, n))
    zeros = n - k - m
    for side in (0, 1):
        best = 0.0
        for share in EQUIVALENCE_BETS:
            bet = share / (1 - margin)
            good, bad = (m, k) if side == 0 else (k, m)
            best = best + np.exp(bad * np.log1p(bet * (margin - 1)) + zeros * np.log1p(bet * margin)
                                 + (good + remaining) * np.log1p(bet * (margin + 1)))
        reachable &= best / len(EQUIVALENCE_BETS) >= threshold
    return reachable


def _verdict_at(plan: SequentialPlan, k, m, n, best):
    """The verdict at a look with k positive and m negative signs over n seeds (arrays
    broadcast): 'differs', 'equivalent', 'not shown by max' or 'continue'."""
    threshold, remaining = plan.threshold, plan.max_seeds - n
    differs = np.asarray(best >= threshold)
    equivalent = np.zeros(differs.shape, dtype=bool)
    can_differ = np.asarray(_best_reachable(k, m, remaining, plan.prior) >= threshold)
    if plan.margin is not None:
        upper, lower = equivalence_evalues(k, m, n, plan.margin)
        equivalent = ~differs & (upper >= threshold) & (lower >= threshold)
        can_differ = can_differ | _equivalence_reachable(k, m, n, remaining, plan.margin, threshold)
    stopped = ~differs & ~equivalent & (np.asarray(n == plan.max_seeds) | ~can_differ)
    return np.select([differs, equivalent, stopped], ["differs", "equivalent", "not shown by max"],
                     "continue")


def decide(plan: SequentialPlan, arm, baseline) -> Decision:
    """The verdict after the seeds seen so far (``arm`` and ``baseline``: one value per shared
    seed, in seed order; 0/1 outcomes or metric values). Stateless: only looks the data reach are
    evaluated, in order, and the first that decides stands, so calling again with more seeds (or
    after a resume) never changes an earlier decision. Seeds past the last complete look wait
    for the next look."""
    if not isinstance(plan, SequentialPlan):
        raise ValueError(f"plan must be a SequentialPlan, got {type(plan).__name__}")
    sign = signs(arm, baseline)
    if sign.size > plan.max_seeds:
        raise ValueError(f"got {sign.size} seeds, more than the plan's max_seeds={plan.max_seeds}")
    positive, negative = np.cumsum(sign > 0), np.cumsum(sign < 0)
    best, state = 1.0, (0, 0, 0, 0)
    for index, n in enumerate((look for look in plan.looks if look <= sign.size), start=1):
        k, m = int(positive[n - 1]), int(negative[n - 1])
        best = max(best, float(evalue(k, m, plan.prior)))
        state = (index, n, k, m)
        verdict = str(_verdict_at(plan, k, m, n, best))
        if verdict != "continue":
            return Decision(verdict, index, n, k, m, best, min(1.0, plan.comparisons / best),
                            plan.threshold)
    index, n, k, m = state
    return Decision("continue", index, n, k, m, best, min(1.0, plan.comparisons / best),
                    plan.threshold)


# ---------------------------------------------------------------------------- planning

def rate_sign_probabilities(p_arm: float, p_baseline: float) -> tuple[float, float]:
    """(P(+1), P(-1)) of arm - baseline for 0/1 outcomes with true rates p_arm and p_baseline,
    independent within a seed: (p_arm (1 - p_baseline), p_baseline (1 - p_arm))."""
    for name, value in (("p_arm", p_arm), ("p_baseline", p_baseline)):
        if not (isinstance(value, (int, float, np.floating)) and 0 <= value <= 1):
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return p_arm * (1 - p_baseline), p_baseline * (1 - p_arm)


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Exact behaviour of a plan when every seed's sign is +1, -1, 0 with fixed probabilities.

    p_differs: probability of a final "differs" (the type-I error when p_positive = p_negative,
    else the power); p_equivalent: of "equivalent" (0 without a margin); expected_seeds:
    expected seeds per arm used; stop_probability: probability of stopping at each look
    (plan.looks)."""
    p_differs: float
    expected_seeds: float
    stop_probability: tuple[float, ...]
    p_equivalent: float = 0.0


def operating_characteristics(plan: SequentialPlan, p_positive: float,
                              p_negative: float) -> OperatingCharacteristics:
    """Exact, by dynamic programming over (positives, negatives) seed by seed; no simulation."""
    if not isinstance(plan, SequentialPlan):
        raise ValueError(f"plan must be a SequentialPlan, got {type(plan).__name__}")
    for name, value in (("p_positive", p_positive), ("p_negative", p_negative)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    if p_positive + p_negative > 1 + 1e-12:
        raise ValueError(f"p_positive + p_negative must be <= 1, got {p_positive + p_negative!r}")
    p_tie = max(0.0, 1 - p_positive - p_negative)
    size = plan.max_seeds + 1
    k, m = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    e_values = evalue(k, m, plan.prior)
    mass = np.zeros((size, size))
    mass[0, 0] = 1.0
    p_differs, p_equivalent, expected, stops = 0.0, 0.0, 0.0, []
    # Running max of E over looks matters only through "already decided", and decided mass is
    # removed at once, so E at the current look is enough.
    for n in range(1, plan.max_seeds + 1):
        step = mass * p_tie
        step[1:, :] += mass[:-1, :] * p_positive
        step[:, 1:] += mass[:, :-1] * p_negative
        mass = step
        if n in plan.looks:
            possible = k + m <= n
            verdict = np.where(possible, _verdict_at(plan, k, m, n, e_values), "continue")
            differs, equivalent = verdict == "differs", verdict == "equivalent"
            stopped = verdict != "continue"
            p_differs += mass[differs].sum()
            p_equivalent += mass[equivalent].sum()
            stops.append(float(mass[stopped].sum()))
            expected += n * stops[-1]
            mass = np.where(stopped, 0.0, mass)
    return OperatingCharacteristics(float(p_differs), float(expected), tuple(stops),
                                    float(p_equivalent))

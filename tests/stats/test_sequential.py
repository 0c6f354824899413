"""gancheck.stats.sequential: the e-process on paired signs.

Oracles: Ville's inequality (type-I error <= alpha at any looks), checked by simulating sequential
runs through `decide` with per-seed outcomes drawn under the null; the exact dynamic programme of
`operating_characteristics` checked against the same simulations; hand computations of E."""
import numpy as np
import pytest
from scipy import special

from gancheck.stats import sequential as seq

ALPHA = 0.05


def test_evalue_by_hand():
    # k = 2 positives, m = 0, Jeffreys: 2^2 B(2.5, 0.5) / B(0.5, 0.5) = 4 (3 pi / 8) / pi = 1.5.
    assert seq.evalue(2, 0) == pytest.approx(1.5)
    assert seq.evalue(0, 0) == pytest.approx(1.0)


def test_evalue_is_a_martingale_under_the_null():
    # E[E_{t+1} | E_t] = E_t when each new sign is +1 or -1 with probability 1/2.
    for k, m in [(0, 0), (3, 1), (7, 9)]:
        step = 0.5 * seq.evalue(k + 1, m) + 0.5 * seq.evalue(k, m + 1)
        assert step == pytest.approx(seq.evalue(k, m))


def test_best_reachable_matches_brute_force():
    for k, m, r in [(0, 0, 6), (3, 5, 4), (9, 2, 7), (1, 1, 0)]:
        brute = max(seq.evalue(k + j, m + l) for j in range(r + 1) for l in range(r + 1 - j))
        assert seq._best_reachable(k, m, r, 0.5) == pytest.approx(brute)


def _simulate(plan, draw, reps, rng):
    """Run `decide` on simulated seeds; returns verdicts and seeds used. `decide` on all
    max_seeds at once gives the verdict of the first deciding look, as a run calling it look by
    look would get (checked on the first replicates)."""
    verdicts, used = [], []
    for rep in range(reps):
        arm, base = draw(rng, plan.max_seeds)
        decision = seq.decide(plan, arm, base)
        if rep < 20:
            for look in plan.looks:
                step = seq.decide(plan, arm[:look], base[:look])
                if step.verdict != "continue":
                    break
            assert step == decision
        verdicts.append(decision.verdict)
        used.append(decision.n)
    return np.array(verdicts), np.array(used)


def _binomial_upper(alpha, reps):
    # One-sided 99% binomial band above alpha: alpha + 2.58 sqrt(alpha (1 - alpha) / R).
    return alpha + 2.58 * np.sqrt(alpha * (1 - alpha) / reps)


@pytest.mark.slow
@pytest.mark.parametrize("rate", [0.0, 0.15, 0.5])
def test_false_differs_at_most_alpha_on_null_rate_arms(rate, rng):
    plan = seq.SequentialPlan(max_seeds=80, look_every=5, alpha=ALPHA)
    reps = 1000

    def draw(rng, n):
        return rng.random(n) < rate, rng.random(n) < rate
    verdicts, used = _simulate(plan, draw, reps, rng)
    false_differs = np.mean(verdicts == "differs")
    assert false_differs <= _binomial_upper(ALPHA, reps)
    # The exact programme gives the same figure within binomial error of the simulation.
    exact = seq.operating_characteristics(plan, *seq.rate_sign_probabilities(rate, rate))
    assert exact.p_differs <= ALPHA
    spread = 3 * np.sqrt(max(exact.p_differs, 1 / reps) / reps)
    assert abs(false_differs - exact.p_differs) <= spread
    assert abs(used.mean() - exact.expected_seeds) <= 3 * used.std() / np.sqrt(reps) + 1e-9
    assert set(verdicts) <= {"differs", "not shown by max"}   # no margin: never "equivalent"


@pytest.mark.slow
def test_false_differs_at_most_alpha_on_null_metric_arms_with_a_family(rng):
    # Metric values sharing a seed effect (correlated within a seed), same distribution in both
    # arms; a family of M = 3 comparisons spends alpha / 3 each, so one comparison's false
    # "differs" rate must be at most alpha / 3.
    plan = seq.SequentialPlan(max_seeds=40, look_every=4, alpha=ALPHA, comparisons=3)
    reps = 1000

    def draw(rng, n):
        seed_effect = rng.normal(0, 2, n)
        return seed_effect + rng.standard_t(3, n), seed_effect + rng.standard_t(3, n)
    verdicts, _ = _simulate(plan, draw, reps, rng)
    assert np.mean(verdicts == "differs") <= _binomial_upper(ALPHA / 3, reps)


def test_exact_type_one_error_over_rates_and_plans():
    # Ville's bound holds exactly for every plan and common rate (dynamic programme, no noise).
    for plan in (seq.SequentialPlan(20, 1), seq.SequentialPlan(100, 10), seq.SequentialPlan(33, 5, comparisons=4)):
        for rate in (0.0, 0.05, 0.3, 0.5, 0.9):
            oc = seq.operating_characteristics(plan, *seq.rate_sign_probabilities(rate, rate))
            assert oc.p_differs <= plan.alpha / plan.comparisons
            assert sum(oc.stop_probability) == pytest.approx(1.0)


def test_power_and_expected_seeds_zero_against_fifteen_percent():
    # Exact figures quoted in the module docstring (looks every 5 seeds).
    oc40 = seq.operating_characteristics(seq.SequentialPlan(40, 5), *seq.rate_sign_probabilities(0.15, 0))
    oc80 = seq.operating_characteristics(seq.SequentialPlan(80, 5), *seq.rate_sign_probabilities(0.15, 0))
    # Hand oracle: with no negatives, E(k, 0) >= 20 first at k = 7 (E(6,0) = 14.7, E(7,0) = 26.8),
    # and stopping cannot lose a success, so power at max 40 = P(Binom(40, 0.15) >= 7).
    from scipy import stats
    assert seq.evalue(6, 0) < 20 <= seq.evalue(7, 0)
    assert oc40.p_differs == pytest.approx(stats.binom.sf(6, 40, 0.15), abs=1e-12)
    assert oc80.p_differs == pytest.approx(stats.binom.sf(6, 80, 0.15), abs=1e-12)
    assert 45 < oc80.expected_seeds < 50


def test_decide_is_stateless_and_keeps_earlier_decisions():
    plan = seq.SequentialPlan(max_seeds=20, look_every=5)
    arm = np.r_[np.ones(10), np.zeros(10)]
    base = np.zeros(20)
    first = seq.decide(plan, arm[:10], base[:10])
    assert first.verdict == "differs" and first.n == 10 and first.look == 2
    assert seq.decide(plan, arm, base) == first
    # Seeds past the last complete look wait for the next look.
    assert seq.decide(plan, arm[:9], base[:9]).n == 5
    assert first.pvalue == pytest.approx(1 / seq.evalue(10, 0))


def test_decide_reaches_not_shown_by_max_on_ties():
    # All seeds tie: E stays 1; 20 remaining seeds could reach E(20,0) >> 20, so continue, until
    # too few remain: with r left, E(r, 0) < 20 first at r = 6.
    plan = seq.SequentialPlan(max_seeds=30, look_every=2)
    ties = np.zeros(30)
    decision = seq.decide(plan, ties, ties)
    assert decision.verdict == "not shown by max"
    assert seq.evalue(30 - decision.n, 0) < 20 <= seq.evalue(30 - decision.n + 2, 0)
    assert seq.decide(plan, ties[:4], ties[:4]).verdict == "continue"


def test_signs_treat_equal_infinities_as_ties():
    assert list(seq.signs([np.inf, 1, 0], [np.inf, 0, 1])) == [0, 1, -1]


@pytest.mark.parametrize("call, field", [
    (lambda: seq.SequentialPlan(0, 1), "max_seeds"),
    (lambda: seq.SequentialPlan(10, 11), "look_every"),
    (lambda: seq.SequentialPlan(10, 2, alpha=0), "alpha"),
    (lambda: seq.SequentialPlan(10, 2, comparisons=0), "comparisons"),
    (lambda: seq.SequentialPlan(10, 2, prior=-1), "prior"),
    (lambda: seq.decide(seq.SequentialPlan(4, 2), [1, 0, 1, 0, 1], [0] * 5), "max_seeds"),
    (lambda: seq.decide(seq.SequentialPlan(4, 2), [1, 0], [0]), "one value per shared seed"),
    (lambda: seq.decide(seq.SequentialPlan(4, 2), [np.nan, 0], [0, 0]), "NaN"),
    (lambda: seq.rate_sign_probabilities(1.2, 0), "p_arm"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_equivalent_needs_a_declared_margin_and_holds_its_level_at_the_margin():
    ties = np.zeros(40)
    # Without a margin, 40 tied seeds are "not shown by max", never "equivalent".
    assert seq.decide(seq.SequentialPlan(40, 5), ties, ties).verdict == "not shown by max"
    plan = seq.SequentialPlan(40, 5, margin=0.3)
    decision = seq.decide(plan, ties, ties)
    assert decision.verdict == "equivalent" and decision.n < 40
    # Exact (dynamic programme): at a true rate difference of exactly +-margin, "equivalent"
    # at most alpha of the time (each one-sided e-process is valid by Ville's inequality), and
    # "differs" at the null at most alpha.
    for p_arm, p_base in ((0.5, 0.2), (0.2, 0.5), (0.9, 0.6)):
        oc = seq.operating_characteristics(plan, *seq.rate_sign_probabilities(p_arm, p_base))
        assert oc.p_equivalent <= plan.alpha
        assert sum(oc.stop_probability) == pytest.approx(1.0)
    null = seq.operating_characteristics(plan, *seq.rate_sign_probabilities(0.85, 0.85))
    assert null.p_differs <= plan.alpha and null.p_equivalent > 0.5
    with pytest.raises(ValueError, match="margin"):
        seq.SequentialPlan(40, 5, margin=1.5)


def test_equivalence_evalues_by_hand():
    # One bet only would be 1 + b (margin - sign) per seed; the mixture averages over the bets.
    # One zero sign at margin 0.2: mean over bets b of 1 + b * 0.2, b = share / 0.8.
    upper, lower = seq.equivalence_evalues(0, 0, 1, 0.2)
    expected = np.mean([1 + s / 0.8 * 0.2 for s in seq.EQUIVALENCE_BETS])
    assert upper == pytest.approx(expected) and lower == pytest.approx(expected)

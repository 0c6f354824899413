"""gancheck.verdict: one outcome per generator against a stated tolerance, calibrated by simulation.

Binomial bands: a rate whose truth is at most alpha = 0.05 is accepted up to the 99% quantile of
Bin(R, 0.05) / R (scipy.stats.binom.ppf), so a calibrated rule fails one check in 100. Where the
truth is far from the bound (a perfect generator's departures are rare by construction), the
replicate counts are small and the band wide; that is stated at each check.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import gancheck
from gancheck.stats.decision import DEPARTURES, OUTCOMES
from gancheck.stats.tolerance import Tolerance
from gancheck.stats.verdict import Verdict, verdict

MEAN, STD, ALPHA = 4.0, 1.25, 0.05


def upper(replicates: int, rate: float = ALPHA) -> int:
    """Most hits a rule of true rate `rate` shows with 99% probability (scipy.stats.binom)."""
    return int(stats.binom.ppf(0.99, replicates, rate))


def outcomes(draw, replicates: int, seed: int, **kw) -> list[str]:
    rng = np.random.default_rng(seed)
    return [verdict(draw(rng), **kw).outcome for _ in range(replicates)]


def normal(k, n, shift=0.0, scale=1.0):
    return lambda rng: rng.normal(MEAN + shift * STD, scale * STD, (k, n))


# ------------------------------------------------------------------ the API

def test_verdict_api_and_lazy_export():
    assert gancheck.verdict is verdict and gancheck.Tolerance is Tolerance
    v = verdict(np.random.default_rng(0).normal(4, 1.25, (40, 200)))
    assert isinstance(v, Verdict) and v.outcome in OUTCOMES and v.reason
    assert {"test", "statistic", "pvalue", "reject", "reject_rate", "status"} <= set(v.judge.columns)
    assert v.diversity.fixed_share_low <= v.diversity.fixed_share <= v.diversity.fixed_share_high
    assert v.tolerance == Tolerance() and v.alpha == ALPHA and (v.k, v.n) == (40, 200)
    assert list(v.criteria["criterion"]) == ["mean", "std", "ks", "tail"]
    assert isinstance(v.detected, bool)


def test_the_verdict_is_exported_lazily_and_without_torch():
    code = ("import sys, gancheck; assert 'gancheck.stats.verdict' not in sys.modules; "
            "gancheck.verdict, gancheck.Tolerance; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("draws, outcome", [
    (np.full((5, 50), np.nan), "diverged"),
    (np.ones((5, 50)), "stuck"),
    (np.r_[np.ones(50), np.arange(50.0)].reshape(2, 50), "stuck"),  # one constant draw
    (np.ones(50), "undecided"),  # not 2-D: nothing can be shown, and nothing passes
    (np.random.default_rng(1).normal(4, 1.25, (1, 50)), "undecided"),
])
def test_broken_draws_never_pass(draws, outcome):
    assert verdict(draws).outcome == outcome


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="tolerance"):
        verdict(np.zeros((3, 10)), tolerance={"mean": 0.1})
    with pytest.raises(ValueError, match="alpha"):
        verdict(np.zeros((3, 10)), alpha=2.0)


def test_a_wider_tolerance_turns_a_small_shift_on_target():
    # A 0.2 sd shift at K = 100, n = 500 (mean se 0.0056): outside 0.1 sd, inside 0.3 sd.
    x = np.random.default_rng(2).normal(4 + 0.2 * 1.25, 1.25, (100, 500))
    assert verdict(x).outcome == "off_target"
    # Widening the mean band alone is not enough: the shift is 0.08 in KS distance, outside 0.04;
    # a normal law whose shape tests pass is then a location error, off target.
    assert verdict(x, tolerance=Tolerance(mean=0.3)).outcome == "off_target"
    assert verdict(x, tolerance=Tolerance(mean=0.3, ks=0.15)).outcome == "on_target"


# ------------------------------------------------------------------ what it must show

@pytest.mark.slow
def test_k_invariance():
    # A 0.04 sd shift is inside the 0.1 sd band: never a departure beyond alpha, at K = 100 and
    # at K = 1,000 (its true departure rate is far below alpha: the band is 0.06 sd away, 11 and
    # 34 mean standard errors). 20 and 3 replicates: a rate of 0.05 would show up to
    # upper(R) departures.
    for k, reps in ((100, 20), (1000, 3)):
        got = outcomes(normal(k, 500, shift=0.04), reps, seed=k)
        departures = sum(o in DEPARTURES for o in got)
        print(f"\n0.04 sd shift, K={k}, n=500: {dict(zip(*np.unique(got, return_counts=True)))}")
        assert departures <= upper(reps) and set(got) <= {"on_target", "undecided"}
    # A 0.4 sd shift is a departure at K = 10, n = 100 in >= 95% (100 replicates; its mean error
    # is 0.5 against a band of 0.125 with se 0.04: nearly always shown).
    got = outcomes(normal(10, 100, shift=0.4), 100, seed=3)
    print(f"0.4 sd shift, K=10, n=100: departures {sum(o in DEPARTURES for o in got)}/100")
    assert sum(o == "off_target" for o in got) >= 95


@pytest.mark.slow
@pytest.mark.parametrize("band", ["mean", "std"])
def test_at_the_boundary_on_target_at_most_alpha(band):
    # Exactly at the tolerance's edge: mean + 0.1 sd, or sd 1.1 target sd. The band's two one-sided
    # tests are each at level alpha there, so on_target <= alpha (200 replicates at K = 20,
    # n = 100: at most upper(200) = 18 if the level holds).
    draw = normal(20, 100, shift=0.1) if band == "mean" else normal(20, 100, scale=1.1)
    got = outcomes(draw, 200, seed=11)
    on = sum(o == "on_target" for o in got)
    print(f"\nat the {band} boundary: on_target {on}/200")
    assert on <= upper(200)


@pytest.fixture(scope="module")
def perfect():
    """Outcomes of a perfect generator at the corners of K in [10, 1000] and n in [50, 5000]."""
    sizes = {(10, 50): 200, (100, 50): 60, (10, 5000): 15, (100, 500): 30, (1000, 50): 6}
    return {size: outcomes(normal(*size), reps, seed=sum(size)) for size, reps in sizes.items()}


@pytest.mark.slow
def test_a_perfect_generator(perfect):
    for (k, n), got in perfect.items():
        counts = dict(zip(*np.unique(got, return_counts=True)))
        print(f"\nperfect K={k}, n={n}: {counts}")
        # Departures: at most alpha by construction (Holm over six tests).
        assert sum(o in DEPARTURES for o in got) <= upper(len(got)), (k, n)
        assert set(got) <= {"on_target", "undecided"} | set(DEPARTURES)
    # On target in >= 90% at K = 100, n = 500: 30 replicates, at least 27 (its true rate is
    # near 1: every band's upper bound sits far inside at this size).
    assert perfect[(100, 500)].count("on_target") >= 27
    # The undecided share falls as K grows (n = 50): K = 10 leaves the mean band unshown
    # (t_{0.95, 9} se = 0.10 of the 0.125 band), K = 100 shows it.
    undecided_10 = perfect[(10, 50)].count("undecided") / len(perfect[(10, 50)])
    undecided_100 = perfect[(100, 50)].count("undecided") / len(perfect[(100, 50)])
    assert undecided_100 < undecided_10


ROUNDINGS = {
    "1 decimal": lambda x: np.round(x, 1),
    "2 decimals": lambda x: np.round(x, 2),
    "3 decimals": lambda x: np.round(x, 3),
    "0.05 grid": lambda x: np.round(x / 0.05) * 0.05,
    "float32": lambda x: x.astype(np.float32),
}


@pytest.mark.slow
@pytest.mark.parametrize("rounding", list(ROUNDINGS))
def test_rounded_perfect_generator_is_never_collapsed_or_a_departure(rounding):
    # Rounding is not memorisation: repeats are counted against the grid's own chance count, and
    # the bands are far wider than a 0.1 sd grid moves them. 40 replicates at K = 10, n = 50 and
    # 6 at K = 100, n = 500: departures at most upper(R) (their true rate is near 0).
    for (k, n), reps in (((10, 50), 40), ((100, 500), 6)):
        got = outcomes(lambda rng: ROUNDINGS[rounding](rng.normal(MEAN, STD, (k, n))), reps, seed=k + n)
        print(f"\n{rounding}, K={k}, n={n}: {dict(zip(*np.unique(got, return_counts=True)))}")
        assert "collapsed" not in got
        assert sum(o in DEPARTURES for o in got) <= upper(reps)


@pytest.mark.slow
def test_memorisation_is_caught():
    def pool(rounded):
        def draw(rng):
            values = rng.normal(MEAN, STD, 1000)
            return rng.choice(np.round(values, 3) if rounded else values, (100, 500))
        return draw

    def fixed(share):
        def draw(rng):
            v = rng.normal(0, 1, (1, 500))
            return MEAN + STD * (np.sqrt(share) * v + np.sqrt(1 - share) * rng.normal(0, 1, (100, 500)))
        return draw

    # A pool of 1,000 values bootstrapped into K = 100 draws of 500, and fixed shares >= 0.3: caught
    # (memorised or collapsed) in >= 95%. 20 replicates each; all must be caught (their true rate is
    # near 1: the repeats' chance count is 0, the fixed share's F test gives p < 1e-10).
    for name, draw in (("pool", pool(False)), ("pool rounded to 3 decimals", pool(True)),
                       ("fixed share 0.3", fixed(0.3)), ("fixed share 0.6", fixed(0.6))):
        got = outcomes(draw, 20, seed=len(name))
        print(f"\n{name}: {dict(zip(*np.unique(got, return_counts=True)))}")
        assert sum(o in ("memorised", "collapsed") for o in got) >= 19
    assert set(outcomes(fixed(0.3), 5, seed=1)) == {"collapsed"}  # 0.3 > the collapse share 0.2


@pytest.mark.slow
@pytest.mark.parametrize("law", ["N(4, 0.6)", "t(3)", "U(0, 1)"])
def test_independent_draws_are_not_memorised(law):
    draw = {"N(4, 0.6)": lambda rng: rng.normal(4, 0.6, (10, 50)),
            "t(3)": lambda rng: rng.standard_t(3, (10, 50)),
            "U(0, 1)": lambda rng: rng.uniform(0, 1, (10, 50))}[law]
    got = outcomes(draw, 200, seed=7)
    flagged = sum(o in ("memorised", "collapsed") for o in got)
    print(f"\n{law} at K=10, n=50: memorised or collapsed {flagged}/200")
    assert flagged <= upper(200)


@pytest.mark.slow
@pytest.mark.parametrize("law, expected", [
    ("N(4, 0.12)", "off_target"), ("Cauchy(4, 1.25)", "wrong_shape"), ("4 + t(2)", "wrong_shape"),
    ("4 + 1.25 t(2)", "wrong_shape")])
def test_labels_say_what_happened(law, expected):
    # A narrow normal is a scale error, not stuck; heavy tails around the right centre are a
    # shape error (KS distance 0.13 for the Cauchy, tail share 0.032 per side for t(2), against
    # bands of 0.04 and 0.005). K = 100, n = 500, 8 replicates, all labelled so.
    draw = {"N(4, 0.12)": lambda rng: rng.normal(4, 0.12, (100, 500)),
            "Cauchy(4, 1.25)": lambda rng: 4 + 1.25 * rng.standard_cauchy((100, 500)),
            "4 + t(2)": lambda rng: 4 + rng.standard_t(2, (100, 500)),
            "4 + 1.25 t(2)": lambda rng: 4 + 1.25 * rng.standard_t(2, (100, 500))}[law]
    got = outcomes(draw, 8, seed=5)
    assert set(got) == {expected}, got


def test_the_mean_rule_uses_the_samples_own_spread():
    # N(4, 1.5) with the mean exactly right: the mean band is not shown outside (its se comes from
    # the draws' own spread), though the sd band is (1.5 is 0.2 target sd above 1.25).
    v = verdict(np.random.default_rng(9).normal(4, 1.5, (100, 500)))
    mean = v.criteria.set_index("criterion").loc["mean"]
    assert mean["p_outside"] > 0.5 and v.outcome == "off_target" and "sd error" in v.reason


def test_one_constant_draw_is_stuck_and_the_reason_says_so(rng):
    # 99 good draws and one constant one: a broken sample fails, as "stuck"; the reason used to
    # quote the median within-draw sd (1.25, the good draws') as "below 1% of the target sd".
    x = rng.normal(4, 1.25, (100, 500))
    x[5] = 4.0
    found = verdict(x)
    assert found.outcome == "stuck" and "constant" in found.reason and "median" not in found.reason


@pytest.mark.slow
def test_rounded_small_draws_constant_by_chance_are_not_stuck():
    # Three values of N(4, 1.25) written to 1 decimal are all equal with probability about 6e-4
    # (sum over cells of p³ = h² ∫f³ = 0.01 / (2π · 1.25² · √3), by hand), so about 6% of
    # generators of 100 such draws hold a constant draw by chance; 13 of 300 were called stuck.
    # Such a draw cannot be tested, so the generator is undecided, and never stuck.
    rng = np.random.default_rng(31)
    outcomes, reasons = [], []
    for _ in range(300):
        found = verdict(np.round(rng.normal(4, 1.25, (100, 3)), 1))
        outcomes.append(found.outcome)
        reasons.append(found.reason)
    assert "stuck" not in outcomes
    chance = [r for r in reasons if "as many as chance" in r]
    # Binomial(300, 0.058) holds 5 to 31 with probability above 99.9% (scipy.stats.binom).
    assert 5 <= len(chance) <= 31, len(chance)


@pytest.mark.parametrize("k, n", [(2, 50), (100, 500)])
def test_a_target_far_narrower_than_the_rounding_is_undecided_not_stuck(k, n):
    # N(-0.02, 0.003) written to one decimal: every value is -0.0 or 0.0 (the cell [-0.05, 0.05)
    # holds all but 1e-23 of the law), so every draw is constant and the median sd is 0. That is
    # the rounding, not the generator: 20 of 20 perfect generators were called stuck. With no
    # varying draw to say what chance gives, the target says it: a cell of 0.1 holds all of it
    # (erf(0.1 / (2 sqrt(2) 0.003)) = 1 to float64), so constant draws are certain by chance.
    x = np.char.mod("%.1f", np.random.default_rng(k).normal(-0.02, 0.003, (k, n))).astype(float)
    found = verdict(x, mean=-0.02, std=0.003)
    assert found.outcome == "undecided" and "as many as chance" in found.reason
    # Against a reference sample of the same law (unrounded), as against the formula.
    reference = np.random.default_rng(k + 1).normal(-0.02, 0.003, 2000)
    assert verdict(x, reference=reference).outcome == "undecided"


def test_float32_output_stuck_on_one_number_is_stuck():
    # Every draw the float32 number 3.7 (or 0.0): cells of float32's spacing (2.4e-7 near 3.7; 0 as
    # a written whole number has a cell of 1, still 0.31 of N(4, 1.25) at most), so chance makes
    # such a draw of 500 values with probability below 0.31^499 (by hand): stuck.
    for value in (3.7, 0.0):
        x = np.full((100, 500), float(np.float32(value)))
        assert verdict(x).outcome == "stuck"
        assert verdict(x, reference=np.random.default_rng(1).normal(4, 1.25, 1000)).outcome == "stuck"


def test_a_constant_draw_that_chance_cannot_make_is_stuck(rng):
    # Integers, n = 5, sd 1.25: a draw is constant by chance with probability about 0.006 (the
    # fullest cell holds p = 0.31 and p^5 = 0.003; the rest add as much, by hand), so one constant
    # draw in 100 is chance, while fifty are far beyond it (P(Bin(100, 0.006) >= 50) < 1e-80).
    x = np.round(rng.normal(4, 1.25, (100, 5)))
    x[:50] = 4.0
    assert verdict(x).outcome == "stuck"
    y = np.round(rng.normal(4, 1.25, (100, 5)))
    y[0] = 4.0
    assert verdict(y).outcome != "stuck"


@pytest.mark.slow
def test_two_significant_digits_far_from_zero_are_not_departures():
    # Two digits of N(1000, 50): cells of 10 below 1000, of 100 above, where the draws of K = 10,
    # n = 20 often show only 1000 and 1100. Read as cells of 10, the KS band called 17 of 20
    # perfect generators departures (off_target, wrong_shape). Under H0 the decision list names a
    # departure in at most alpha of cases: at most 6 of 40 (scipy.stats.binom.ppf(0.995, 40, 0.05)).
    departures = 0
    for seed in range(40):
        x = np.char.mod("%.2g", np.random.default_rng(seed).normal(1000, 50, (10, 20))).astype(float)
        departures += verdict(x, mean=1000, std=50).outcome not in ("on_target", "undecided")
    assert departures <= 6, departures


def test_rare_varying_draws_do_not_make_the_constant_ones_stuck():
    # Exponential draws of scale 0.01 at one decimal: 0.0 but for a rare 0.1 (P(x >= 0.05) =
    # e^-5). The median within-draw sd of 0 made all 12 perfect generators stuck; and the few
    # draws holding a 0.1, the only ones left to say what chance gives, were picked for varying
    # and said a constant draw was impossible. The target's own cell [0, 0.1) holds 1 - e^-10 of
    # it (by hand): chance.
    for seed in range(12):
        x = np.char.mod("%.1f", np.random.default_rng(seed).exponential(0.01, (10, 20))).astype(float)
        assert verdict(x, target="expon(scale=0.01)").outcome != "stuck", seed


def test_an_open_band_on_coarse_values_names_the_digits_as_the_remedy():
    # Two digits of N(10, 2): cells of 1 above 10, half an sd, so the values as written sit off
    # the target's CDF by more than the KS band at any K, and more draws alone cannot close it.
    x = np.char.mod("%.2g", np.random.default_rng(3).normal(10, 2, (100, 500))).astype(float)
    found = verdict(x, mean=10, std=2)
    assert found.outcome == "undecided" and "values written to more digits" in found.reason
    # Unrounded draws that leave a band open are told that more draws would decide.
    small = verdict(np.random.default_rng(0).normal(4, 1.25, (10, 20)))
    assert small.outcome == "undecided" and small.reason.endswith("more draws would decide")


@pytest.mark.parametrize("fmt", ["%.2g", "%.1g", "%.1f"])
def test_departures_written_coarsely_are_still_caught(fmt):
    # Reading rounded files value by value leaves coarse tests untested, never the bands blind:
    # a mean 0.5 sd off, or an sd 1.3 times the target's, is shown outside its band at K = 100,
    # n = 500 (mean error 0.625 against a band of 0.125 and a standard error near 0.006).
    for mean, sd in ((4.625, 1.25), (4.0, 1.625)):
        x = np.char.mod(fmt, np.random.default_rng(5).normal(mean, sd, (100, 500))).astype(float)
        assert verdict(x).outcome == "off_target", (fmt, mean, sd)

"""Constant samples on a coarse grid and every other sample, read as one test of level alpha."""
import numpy as np
import pytest
from scipy import stats

from gancheck.stats import constant_chance, targeting
from gancheck.stats.scoring import score


def _whole_number_masses(law) -> dict[int, float]:
    """Each whole number's cell mass under ``law`` (a frozen scipy distribution), by scipy."""
    values = np.arange(-40, 60)
    return dict(zip(values.tolist(), np.diff(law.cdf(np.append(values - 0.5, values[-1] + 0.5))).tolist()))


def _constant_pvalue_by_hand(masses: dict[int, float], value: int, n: int) -> float:
    own = masses[value] ** n
    chances = [m ** n for m in masses.values()]
    return sum(c for c in chances if c <= own * (1 + 1e-9)) + min(own, 1 - sum(chances))


def test_constant_samples_by_hand():
    # N(4, 1.25) as whole numbers, cell masses from scipy.stats.norm.cdf: 4 holds 0.3108, 3 and
    # 5 0.2295 each. Three 4s: every constant triple is at least as rare, 0.0557 in all, plus
    # 0.0300 for the varying triples as rare: 0.0858. Three 3s: 3s, 5s and the rarer, 0.0258, plus
    # 0.0121: 0.0379.
    plan = targeting.resolve(None)
    masses = _whole_number_masses(stats.norm(4.0, 1.25))
    for value, n in ((4, 3), (3, 3), (4, 8), (1, 5)):
        assert constant_chance.constant_pvalue(plan, 1.0, float(value), n) == pytest.approx(
            _constant_pvalue_by_hand(masses, value, n), rel=1e-9, abs=1e-15)
    assert constant_chance.constant_pvalue(plan, 1.0, 4.0, 3) == pytest.approx(0.0858, abs=1e-4)
    assert constant_chance.constant_pvalue(plan, 1.0, 3.0, 3) == pytest.approx(0.0379, abs=1e-4)


def test_scoring_fails_the_rare_constants_only():
    # Three 4s are left untested (p 0.0858 above); three 3s fail (0.0379); eight 4s fail (2e-4).
    rows = score(np.array([[4.0] * 3, [3.0] * 3]))
    assert set(rows.query("sample == 0")["status"]) == {"ties"}
    assert not rows.query("sample == 0")["reject"].any()
    assert set(rows.query("sample == 1")["status"]) == {"constant sample"}
    assert rows.query("sample == 1")["reject"].all()
    assert score(np.full(8, 4.0))["reject"].all()


def test_the_constant_rule_alone_spends_at_most_alpha():
    # Every constant sample of n whole numbers of N(4, 1.25): the target's chance of one that
    # scoring fails is at most alpha. Reading each value's own cell mass^n against alpha, as
    # before, failed constants of chance 0.0557 in all at n = 3 (every cell but 4's, and 4's too).
    masses = _whole_number_masses(stats.norm(4.0, 1.25))
    for n in (3, 4, 5):
        values = [v for v, m in masses.items() if m > 1e-30]
        x = np.repeat(np.array(values, dtype=float)[:, None], n, axis=1)
        failed = score(x).groupby("sample")["reject"].all().to_numpy()
        chance = sum(masses[v] ** n for v, fail in zip(values, failed) if fail)
        assert chance <= 0.05, (n, chance)


def test_varying_pvalues_add_the_constants_as_rare_by_hand():
    # lognorm(0.5) as whole numbers, n = 10: ten 1s have chance 0.7085^10 = 0.0319 (scipy), the
    # other constants under 3e-8. A varying sample's p of 0.01 gains those 3e-8; one of 0.04
    # gains 0.0319 too, for ten 1s rank as rarer than it.
    plan = targeting.resolve("lognorm(s=0.5)")
    masses = _whole_number_masses(stats.lognorm(0.5))
    chances = np.array([m ** 10 for m in masses.values()])
    p = np.array([0.0, 0.01, 0.04, 0.5, np.nan])
    expected = [0.0] + [min(1.0, q + chances[chances <= q].sum()) for q in p[1:4]] + [np.nan]
    np.testing.assert_allclose(constant_chance.varying_pvalues(p, plan, 1.0, 1.0, 10), expected, rtol=1e-9)
    assert masses[1] ** 10 == pytest.approx(0.0319, abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("spec, law", [("lognorm(s=0.5)", stats.lognorm(0.5)),
                                       ("norm(loc=4, scale=1.25)", stats.norm(4.0, 1.25)),
                                       ("norm(loc=-3, scale=0.5)", stats.norm(-3.0, 0.5))])
def test_calibrated_where_constant_samples_are_common(spec, law):
    # 2,000 true-target samples of n = 10 written as whole numbers: each test (with the constant
    # rows) rejects at most within the 99.9% binomial band of alpha = 0.05 (scipy.stats.binom:
    # 128 of 2,000). Before, lognorm(0.5) rejected 0.08 in every test: its ten 1s (0.032) failed
    # on top of the tests' own 0.05. N(-3, 0.5) (ten -3s: 0.022) measured: A² 0.053, W² 0.054, KS 0.052.
    x = np.round(law.rvs(size=(2000, 10), random_state=np.random.default_rng(10)))
    rates = score(x, target=spec).groupby("test")["reject"].sum()
    assert (rates <= stats.binom.ppf(0.999, 2000, 0.05)).all(), rates.to_dict()


def test_power_kept_where_constant_samples_are_common():
    # 100 samples of lognorm(0.5) widened 1.8 times, n = 40, whole numbers: KS and A² still reject
    # nearly always (measured on 200: both 1.000; the sd 0.835), at least 90% here.
    x = np.round(stats.lognorm(0.5).rvs(size=(100, 40), random_state=np.random.default_rng(18)) * 1.8)
    rates = score(x, target="lognorm(s=0.5)").groupby("test")["reject"].mean()
    assert rates["ks"] >= 0.9 and rates["ad"] >= 0.9, rates.to_dict()

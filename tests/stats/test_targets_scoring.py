"""score/judge/verdict with target=: the default path unchanged, tests present only where they
apply, every way of naming a target giving the same numbers, bad specs one line and exit 2."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gancheck.__main__ import main as gancheck_main
from gancheck.cli import run_cli
from gancheck.stats import gof_target, registry
from gancheck.stats.judge import judge
from gancheck.stats.scoring import score
from gancheck.stats.verdict import verdict
from gancheck.targets import TargetError, parse

GAMMA = "gamma(a=2, scale=1)"
MIXTURE = "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))"


def test_the_default_and_a_normal_spec_take_the_same_exact_path(rng):
    x = rng.normal(4, 1.25, (6, 200))
    default = score(x)
    for target in ("norm(loc=4, scale=1.25)", stats.norm(4, 1.25), stats.Normal(mu=4, sigma=1.25)):
        pd.testing.assert_frame_equal(score(x, target=target), default)
    # Every registry test has a row for a normal target (registry order).
    assert list(default["test"].unique()) == [t.name for t in registry.SCORE_TESTS]


@pytest.mark.parametrize("spec, absent", [
    (GAMMA, {"shapiro", "ad_normal"}),
    (MIXTURE, {"shapiro", "ad_normal"}),
    ("t(df=5, loc=4)", {"shapiro", "ad_normal"}),
    # t(3): variance finite, fourth moment infinite (scipy: kurtosis inf) -> no sd/skew/kurtosis.
    ("t(df=3)", {"shapiro", "ad_normal", "std", "skew", "kurtosis"}),
    # Cauchy: no finite mean -> only the fit tests.
    ("cauchy()", {"shapiro", "ad_normal", "mean", "std", "skew", "kurtosis"}),
])
def test_a_test_that_does_not_apply_is_absent_not_rejected(spec, absent, rng):
    x = parse(spec).rvs((3, 100), rng)
    table = score(x, target=spec)
    names = [t.name for t in registry.SCORE_TESTS if t.name not in absent]
    assert list(table["test"].unique()) == names
    assert len(table) == 3 * len(names)
    judged = judge(x, target=spec)
    assert [t for t in judged["test"] if t in absent] == []


def test_frozen_new_style_and_spec_targets_give_the_same_table(rng):
    x = rng.gamma(2.0, 1.0, (4, 120))
    by_spec = score(x, target=GAMMA)
    pd.testing.assert_frame_equal(score(x, target=stats.gamma(2)), by_spec)
    mixture = stats.Mixture([stats.Normal(mu=2.5, sigma=0.6), stats.Normal(mu=5.5, sigma=0.6)],
                            weights=[0.5, 0.5])
    y = parse(MIXTURE).rvs((4, 120), rng)
    pd.testing.assert_frame_equal(score(y, target=mixture), score(y, target=MIXTURE))


def test_fit_statistics_match_scipy_on_the_target_cdf(rng):
    # Oracle: scipy.stats.kstest / cramervonmises / anderson-free A² formula on F(x).
    x = np.sort(rng.gamma(2.0, 1.0, (1, 300)), axis=1)
    target = parse(GAMMA)
    d, p = gof_target.ks(x, target=target)
    ref = stats.kstest(x[0], stats.gamma(2).cdf, method="exact")
    assert d[0] == pytest.approx(ref.statistic, rel=1e-12) and p[0] == pytest.approx(ref.pvalue, rel=1e-9)
    w, pw = gof_target.cvm(x, target=target)
    ref = stats.cramervonmises(x[0], stats.gamma(2).cdf)
    assert w[0] == pytest.approx(ref.statistic, rel=1e-10) and pw[0] == pytest.approx(ref.pvalue, rel=1e-8)
    a2, _ = gof_target.ad(x, target=target)
    u = stats.gamma(2).cdf(x[0])
    i = np.arange(1, 301)
    by_hand = -300 - np.sum((2 * i - 1) * (np.log(u) + np.log(1 - u[::-1]))) / 300
    assert a2[0] == pytest.approx(by_hand, rel=1e-10)


def test_a_value_outside_the_support_is_tested_and_anderson_darling_rejects_it(rng):
    x = rng.gamma(2.0, 1.0, (1, 100))
    x[0, 0] = -1.0  # impossible under a gamma
    table = score(x, target=GAMMA).set_index("test")
    assert (table.loc[["ks", "ad", "cvm"], "status"] == "ok").all()
    # A² weighs log F(x): at F = 0 it is infinite, and its known-parameter tail 0.
    # KS and CvM see one value of 100 moved, which need not be significant.
    assert table.loc["ad", "statistic"] == np.inf
    assert table.loc["ad", "reject"] and table.loc["ad", "pvalue"] == 0.0


def test_moment_statistics_are_errors_against_the_targets_own_moments(rng):
    x = rng.gamma(2.0, 1.0, (2, 400))
    table = score(x, target=GAMMA).set_index(["sample", "test"])["statistic"]
    # Oracle: gamma(2)'s mean 2, sd sqrt(2), skewness sqrt(2), excess kurtosis 3 (scipy stats 'mvsk').
    m, v, s, k = (float(v) for v in stats.gamma(2).stats("mvsk"))
    assert table[(0, "mean")] == pytest.approx(x[0].mean() - m)
    assert table[(0, "std")] == pytest.approx(x[0].std(ddof=1) - np.sqrt(v))
    assert table[(1, "skew")] == pytest.approx(stats.skew(x[1]) - s)
    assert table[(1, "kurtosis")] == pytest.approx(stats.kurtosis(x[1]) - k)


def test_the_moment_null_is_seeded_and_cached(rng):
    target = parse(GAMMA)
    first = gof_target.moment_null(target, 30)
    assert gof_target.moment_null(parse(GAMMA), 30) is first  # same spec, same cache entry
    fresh = gof_target.moment_null.__wrapped__(target, 30)
    np.testing.assert_array_equal(fresh.tables["mean"], first.tables["mean"])
    # p-values are (1 + #)/(1 + R), doubled for two sides: never 0, at most 1.
    x = rng.gamma(2.0, 1.0, (50, 30))
    p = score(x, target=GAMMA).query("test in ['mean', 'std', 'skew', 'kurtosis']")["pvalue"]
    assert (p > 0).all() and (p <= 1).all()


def test_verdict_with_a_target_and_its_refusal_of_an_infinite_sd(rng):
    draws = parse(GAMMA).rvs((20, 300), rng)
    found = verdict(draws, target=GAMMA)
    assert found.target == "gamma(a=2)" and found.outcome in ("on_target", "undecided")  # canonical spec
    # The mean band is the target's sd wide (tolerance 0.1 sd: 0.1 * sqrt(2)).
    band = found.criteria.set_index("criterion").loc["mean", "band_high"]
    assert band == pytest.approx(0.1 * np.sqrt(2))
    shifted = draws + 0.5 * np.sqrt(2)  # half a target sd: far outside the 0.1 sd band
    assert verdict(shifted, target=GAMMA).outcome == "off_target"
    with pytest.raises(ValueError, match="cauchy"):
        verdict(rng.standard_cauchy((5, 50)), target="cauchy()")


def test_a_target_and_a_reference_together_are_refused(rng):
    x = rng.normal(4, 1.25, 50)
    with pytest.raises(ValueError, match="not both"):
        score(x, target=GAMMA, reference=x)
    with pytest.raises(ValueError, match="not both"):
        verdict(np.stack([x, x + 0.1]), target=GAMMA, reference=x)


BAD_SPECS = [
    "nosuch(a=1)",               # unknown family
    "gamma()",                   # missing shape parameter
    "gamma(a=-2)",               # negative parameter
    "norm(loc=4, scale=-1)",     # negative scale
    "poisson(mu=3)",             # discrete
    "norm(loc=2+2, scale=1)",    # an expression
    "__import__('os').system('true')",
    "norm(loc=4",                # not a call
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_specs_are_one_line_and_exit_2(spec, tmp_path, capsys):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(0).normal(4, 1.25, 60))
    with pytest.raises(TargetError):
        parse(spec)
    for extra in ([], ["--draws"]):
        # In process, exactly as the entry point runs it (gancheck.cli.run_cli).
        assert run_cli(gancheck_main, ["score", str(path), "--target", spec, *extra]) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "--target" in lines[0] and spec in lines[0], err
        assert out == ""


def test_a_bad_spec_through_the_real_entry_point(tmp_path):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(0).normal(4, 1.25, 60))
    result = subprocess.run([sys.executable, "-m", "gancheck", "score", str(path), "--target", BAD_SPECS[5]],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--target" in result.stderr and "Traceback" not in result.stderr


def test_cli_scores_against_a_target_and_refuses_a_target_with_mean(tmp_path):
    path = tmp_path / "x.csv"
    np.savetxt(path, np.random.default_rng(0).gamma(2.0, 1.0, 80))
    ok = subprocess.run([sys.executable, "-m", "gancheck", "score", str(path), "--target", "gamma(a=2)",
                         "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    tests = [line.split(",")[2] for line in ok.stdout.splitlines()[1:]]
    assert tests == ["ks", "ad", "cvm", "mean", "std", "skew", "kurtosis"]
    both = subprocess.run([sys.executable, "-m", "gancheck", "score", str(path), "--target", "gamma(a=2)",
                           "--std", "2"], capture_output=True, text=True, timeout=120)
    assert both.returncode == 2 and len(both.stderr.strip().splitlines()) == 1


def test_rounding_onto_a_support_edge_is_ties_not_a_rejection(rng):
    # gamma(2) values below 0.05 round to 0.0 at one decimal, where F = 0 and A² is infinite:
    # the rounding, not the generator, put them there, so the continuous ECDF tests do not read
    # the row; KS, A² and W² read it against gamma(2) rounded to the same grid, whose cell at 0
    # holds F(0.05) (grouped_ks, grouped_simulated), and do not reject it.
    x = np.round(rng.gamma(2.0, 1.0, (1, 200)), 1)
    x[0, 0] = 0.0
    table = score(x, target=GAMMA).set_index("test")
    assert (table.loc[["ks", "ad", "cvm"], "status"] == "ok").all()
    assert not table.loc[["ks", "ad", "cvm"], "reject"].any()
    assert table.loc["mean", "status"] == "ok"
    # Rounded to 6 decimals over a range of 10, the grid is too fine for the grid check to see,
    # but a value exactly at the support's end can only have been rounded there: A² (which
    # weighs log F) leaves the row untested, KS and CvM (F = 0 is an ordinary value) test it.
    y = rng.gamma(2.0, 1.0, (1, 200))
    y[0, 0] = 0.0
    table = score(y, target=GAMMA).set_index("test")
    assert table.loc["ad", "status"] == "ties" and (table.loc[["ks", "cvm"], "status"] == "ok").all()
    # Beyond the end, a value the target never produces: A² is infinite and rejects it.
    y[0, 0] = -0.01
    assert score(y, target=GAMMA).set_index("test").loc["ad", "reject"]


@pytest.mark.slow
def test_rounded_samples_of_a_skewed_target_stay_calibrated(rng):
    # One decimal, n = 50: the fullest cell of gamma(2) holds 50 · 0.1 · 0.368 = 1.8 values
    # (density 1/e at its mode 1), under Anderson-Darling's occupancy limit (2), so A² runs; rows
    # rounded onto 0 are ties. Oracle for the bound: scipy.stats.binom, 1,000 rows at 0.05,
    # central interval at 1 - 1e-3.
    x = np.round(rng.gamma(2.0, 1.0, (1000, 50)), 1)
    table = score(x, target=GAMMA)
    ad = table[(table["test"] == "ad") & (table["status"] == "ok")]
    assert len(ad) > 900  # P(some value < 0.05) = 1 - (1 - 0.00121)^50 = 0.06 (gamma(2).cdf(0.05))
    low, high = stats.binom.ppf(5e-4, len(ad), 0.05) / len(ad), stats.binom.isf(5e-4, len(ad), 0.05) / len(ad)
    assert low <= ad["reject"].mean() <= high


@pytest.mark.parametrize("spec", [GAMMA, MIXTURE, "t(df=5, loc=4)", "cauchy()"])
def test_every_test_that_applies_to_a_non_normal_target_can_run_on_it(spec):
    target = parse(spec)
    for test in registry.score_tests(target):
        assert test.run_target is not None and test.target_description, test.name
        assert registry.describe_for(test, target) == test.target_description
    # For a normal target the registry's own description stands.
    ks = registry.lookup("ks")
    assert registry.describe_for(ks, parse("norm(loc=4, scale=1.25)")) == ks.description

"""Controls: known truths judged by the pipeline; their rejection rates are type-I error and power,
and their verdicts show the decision list names what it should."""
import numpy as np
import pytest
from scipy import stats

from gancheck.runs.controls import CONTROLS, draw_control
from gancheck.runs.plan import Member, Task
from gancheck.runs.task import run_task


@pytest.mark.parametrize("name", ["null", "heavy_tails", "bimodal"])
def test_controls_with_the_right_moments_have_them(name):
    x = draw_control(name, 0, 200, 500, 4.0, 1.25)
    # 1e5 values: the SE of the mean is 1.25/sqrt(1e5) ~ 0.004 and of the sd ~ 0.003-0.006
    # (heavier for t5); 0.03 is > 5 SE.
    assert abs(x.mean() - 4.0) < 0.03 and abs(x.std() - 1.25) < 0.03


def test_collapsed_control_repeats_one_vector_and_draws_are_reproducible():
    x = draw_control("collapsed", 3, 10, 500, 4.0, 1.25)
    assert np.all(x == x[0])
    assert np.array_equal(draw_control("null", 7, 3, 500, 4, 1.25), draw_control("null", 7, 3, 500, 4, 1.25))
    assert not np.array_equal(draw_control("null", 7, 3, 500, 4, 1.25), draw_control("null", 8, 3, 500, 4, 1.25))
    assert set(CONTROLS) == {"null", "mean_shift", "wrong_std", "heavy_tails", "bimodal", "collapsed"}


def _reject_rate(control, test, reps):
    """The share of single draws of n = 500 the test rejects, over reps replicates of 2 draws
    each (judge's reject_rate), and the number of replicates."""
    task = Task("control", [Member(f"control:{control}", None, r) for r in range(reps)], control=control,
                n=500, n_draws=2)
    rows = [row for rec in run_task(task) for row in rec.scores if row["test"] == test]
    return np.mean([row["reject_rate"] for row in rows]), len(rows)


@pytest.mark.parametrize("control, expected", [
    ("null", {"on_target", "undecided"}), ("mean_shift", {"off_target"}),
    ("wrong_std", {"off_target"}), ("collapsed", {"collapsed"})])
def test_controls_verdicts_name_what_they_are(control, expected):
    # 0.3 sd shift and 1.3 sd are 2.4 and 3 times the bands' half-width 0.125 at K = 20 draws of
    # 500: the band tests' standard errors are 0.0125 (mean) and 0.02 (variance), so the named
    # departures are shown at p far below 0.05 / 6; the null cannot be a departure here except
    # with probability <= 0.05 per replicate, hence a handful of replicates.
    task = Task("control", [Member(f"control:{control}", None, r) for r in range(4)], control=control,
                n=500, n_draws=20)
    records = run_task(task)
    outcomes = {rec.verdict["outcome"] for rec in records}
    assert outcomes <= expected, (control, [rec.verdict for rec in records])


@pytest.mark.slow
def test_null_control_rejects_at_alpha_and_mean_shift_at_exact_power():
    reps = 1000
    # 2,000 draws: binomial 99% band at 2 * reps.
    band = 2.58 * np.sqrt(0.05 * 0.95 / (2 * reps))
    rate, n = _reject_rate("null", "ks", reps)
    assert n == reps and abs(rate - 0.05) < band
    # The mean test is an exact z test: power at a 0.3 sd shift with n = 500 is
    # Phi(0.3 sqrt(500) - 1.96) + Phi(-0.3 sqrt(500) - 1.96) (scipy.stats.norm).
    z = 0.3 * np.sqrt(500)
    power = stats.norm.cdf(z - 1.96) + stats.norm.cdf(-z - 1.96)
    rate, _ = _reject_rate("mean_shift", "mean", 200)
    assert rate >= power - 2.58 * np.sqrt(max(power * (1 - power), 1e-4) / 400), rate


def test_each_members_verdict_is_stored_and_read_back(tmp_path):
    # Judged where the draws are (the task), written with the member, read back by stored_results
    # and member_table; a member of an older store without a verdict reads as undecided.
    import dataclasses

    from gancheck.runs.provenance import Provenance
    from gancheck.runs.store import Store
    from gancheck.runs.verdicts import member_table, stored_results
    from gancheck.stats.tolerance import Tolerance

    task = Task("control", [Member("control:mean_shift", None, r) for r in range(2)], control="mean_shift",
                n=500, n_draws=20)
    records = run_task(task)
    store = Store(tmp_path / "store.sqlite", create=True)
    store.put_arms([{"arm": "control:mean_shift", "role": "control", "factor": "", "level": "",
                     "is_baseline": 0, "factors_json": "{}", "config_json": "{}", "digest": "d"}])
    store.put_member(dataclasses.replace(records[0], digest="d"))
    store.put_member(dataclasses.replace(records[1], digest="d", verdict=None))
    provenance = {"seeds": [], "control_reps": 2}
    _, raw, scores = stored_results(store, provenance)
    members = member_table(raw, scores, target_std=1.25, alpha=0.05).set_index("seed")
    assert members.loc[0, "outcome"] == records[0].verdict["outcome"] == "off_target"
    assert members.loc[0, "reason"] == records[0].verdict["reason"] and members.loc[0, "detected"]
    assert members.loc[1, "outcome"] == "undecided" and "no verdict stored" in members.loc[1, "reason"]
    # The run record states the tolerance the verdicts were judged against.
    assert Provenance().tolerance == Tolerance().as_dict()
    store.close()


# ---- controls built from the target -----------------------------------------------------------

def test_the_seeds_controls_are_todays_random_calls():
    # Oracle: the calls the published runs made, written out: each control's own SeedSequence
    # stream (spawn key 100 + its position), N(4, 1.25) and its variations. A normal target given
    # as a Target draws exactly these (a config stores it as data_mean and data_std).
    from gancheck.targets import normal
    rng = lambda name: np.random.default_rng(np.random.SeedSequence(5, spawn_key=(CONTROLS.index(name) + 100,)))  # noqa: E731
    expected = {"null": rng("null").normal(4.0, 1.25, (3, 50)),
                "mean_shift": rng("mean_shift").normal(4.0 + 0.3 * 1.25, 1.25, (3, 50)),
                "wrong_std": rng("wrong_std").normal(4.0, 1.3 * 1.25, (3, 50)),
                "collapsed": np.repeat(rng("collapsed").normal(4.0, 1.25, (1, 50)), 3, axis=0)}
    for name, values in expected.items():
        assert np.array_equal(draw_control(name, 5, 3, 50, 4.0, 1.25), values), name
    for name in CONTROLS:
        assert np.array_equal(draw_control(name, 5, 3, 50, 4.0, 1.25, target=normal(4.0, 1.25)),
                              draw_control(name, 5, 3, 50, 4.0, 1.25)), name


#: Non-normal targets and their moments by hand: gamma(a, scale) has mean a * scale and sd
#: sqrt(a) * scale (4 and 1.25); the equal mixture of N(2.5, 0.6) and N(5.5, 0.6) has mean 4 and
#: variance 0.36 + 1.5^2 = 2.61; t with 5 df has variance 5/3, so sd 0.968 * sqrt(5/3).
OTHER_TARGETS = {"gamma(a=10.24, scale=0.390625)": (4.0, 1.25),
                 "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))": (4.0, np.sqrt(2.61)),
                 "t(df=5, loc=4, scale=0.968)": (4.0, 0.968 * np.sqrt(5 / 3))}


@pytest.mark.parametrize("spec", list(OTHER_TARGETS))
def test_controls_of_another_target_have_its_moments_or_the_named_departure(spec):
    from gancheck.targets import parse
    target = parse(spec)
    mean, sd = OTHER_TARGETS[spec]
    # 200 x 500 = 1e5 values: the mean's SE is sd / sqrt(1e5) ~ 0.005; the sd's up to ~0.008 for
    # t5 (sd * sqrt((kurtosis + 2) / 4n), kurtosis 6; t3's is infinite, so its sd gets 0.06).
    draw = lambda name: draw_control(name, 0, 200, 500, 4.0, 1.25, target=target)  # noqa: E731
    expect = {"null": (mean, sd), "heavy_tails": (mean, sd), "bimodal": (mean, sd),
              "mean_shift": (mean + 0.3 * sd, sd), "wrong_std": (mean, 1.3 * sd)}
    for name, (m, s) in expect.items():
        x = draw(name)
        tol_sd = 0.06 if name == "heavy_tails" and "t(" in spec else 0.04
        assert abs(x.mean() - m) < 0.04 and abs(x.std() - s) < tol_sd, (name, x.mean(), x.std())
    # The null control is the target itself (scipy's KS test against its CDF; fixed seed, 1e-3).
    assert stats.kstest(draw("null")[:20].ravel(), target.cdf).pvalue > 1e-3
    collapsed = draw("collapsed")
    assert np.all(collapsed == collapsed[0])
    assert stats.kstest(collapsed[0], target.cdf).pvalue > 1e-3


def test_a_heavy_tailed_target_gets_heavier_tails_as_its_control():
    # t5's excess kurtosis is 6 (6 / (df - 4)); its heavy-tails control is t3 (infinite
    # kurtosis), so that the control is still another shape than the target.
    from gancheck.targets import parse
    t5 = draw_control("heavy_tails", 1, 200, 500, 4.0, 1.25, target=parse("t(df=5, loc=4, scale=0.968)"))
    gamma = draw_control("heavy_tails", 1, 200, 500, 4.0, 1.25, target=parse("gamma(a=10.24, scale=0.390625)"))
    assert stats.kurtosis(t5.ravel()) > stats.kurtosis(gamma.ravel())


@pytest.mark.slow
@pytest.mark.parametrize("spec", list(OTHER_TARGETS))
@pytest.mark.parametrize("control, expected", [
    ("null", {"on_target", "undecided"}), ("mean_shift", {"off_target"}),
    ("wrong_std", {"off_target"}), ("collapsed", {"collapsed"})])
def test_controls_of_another_target_are_named_what_they_are(spec, control, expected):
    # As for N(4, 1.25) above, judged against the target itself (gancheck.verdict's target=):
    # a 0.3-sd shift and a 1.3-fold sd are 2.4 and 3 times the bands' half-width, named at K = 20
    # draws of 500; the null is a departure in at most alpha of replicates.
    task = Task("control", [Member(f"control:{control}", None, r) for r in range(4)], control=control,
                n=500, n_draws=20, target_spec=spec)
    outcomes = {rec.verdict["outcome"] for rec in run_task(task)}
    assert outcomes <= expected, (spec, control, outcomes)

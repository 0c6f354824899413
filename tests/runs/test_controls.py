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

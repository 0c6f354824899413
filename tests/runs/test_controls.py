"""Controls: known truths scored by the pipeline; their rejection rates are type-I error and power."""
import numpy as np
import pytest

from gancheck.runs.controls import CONTROLS, draw_control
from gancheck.runs.plan import Task
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
    task = Task("control", [(f"control:{control}", None, r) for r in range(reps)], control=control,
                n=500, n_draws=2)
    rows = [row for rec in run_task(task) for row in rec.scores if row["test"] == test]
    return np.mean([row["reject_rate"] for row in rows]), len(rows)


@pytest.mark.slow
def test_null_control_rejects_at_alpha_and_mean_shift_at_reference_power():
    reps = 1000
    # 2,000 draws: binomial 99% band (STATISTICS.md) at 2 * reps.
    band = 2.58 * np.sqrt(0.05 * 0.95 / (2 * reps))
    rate, n = _reject_rate("null", "ks", reps)
    assert n == reps and abs(rate - 0.05) < band
    # STATISTICS.md: power at n=500 for a mean shift to 4.15 is ~0.63 (KS) and ~0.73 (AD known).
    for test, power in (("ks", 0.63), ("ad", 0.73)):
        rate, _ = _reject_rate("mean_shift", test, reps)
        assert abs(rate - power) < 2.58 * np.sqrt(power * (1 - power) / (2 * reps)) + 0.02, (test, rate)

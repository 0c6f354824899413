"""Arguments of the public API (score, judge, verdict, diversity, as_target, Tolerance) that
cannot be used are refused at the door, with a ValueError naming the argument: never accepted
into tables of "no p-value" rows, and never numpy's or scipy's words about something else."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import gof
from gancheck.stats.diversity import diversity
from gancheck.stats.judge import judge
from gancheck.stats.scoring import score
from gancheck.stats.tolerance import Tolerance
from gancheck.stats.verdict import verdict
from gancheck.targets import TargetError, as_target, parse


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(4, 1.25, 500)


# -- targets ---------------------------------------------------------------------------------------

def test_a_discrete_distribution_object_is_refused_as_a_frozen_one_is():
    # scipy's old-style stats.poisson(3) was already refused; its new-style Binomial was accepted.
    for discrete in (stats.poisson(3), stats.Binomial(n=3, p=0.5)):
        with pytest.raises(TargetError, match="discrete"):
            as_target(discrete)


@pytest.mark.parametrize("make", [
    lambda: stats.Uniform(a=2.0, b=1.0),       # a > b
    lambda: stats.Uniform(a=np.nan, b=1.0),
    lambda: stats.Normal() * np.nan,           # a transformed object, wrapped generically
], ids=["a>b", "nan", "transformed"])
def test_a_distribution_object_with_invalid_parameters_is_refused(make, x):
    # scipy builds these without an error and answers NaN for every probability: every row of
    # score() said "no p-value" before.
    with pytest.raises(TargetError, match="target .*outside the distribution's range"):
        score(x, target=make())


@pytest.mark.parametrize("make", [
    lambda: stats.norm([4, 5], 1),
    lambda: stats.Normal(mu=[1.0, 2.0]),
    lambda: stats.Uniform(a=[0.0, 1.0], b=[2.0, 3.0]),
], ids=["frozen", "Normal", "Uniform"])
def test_arrays_of_parameters_are_refused_naming_the_target(make, x):
    # Before: TypeError from float() deep inside, naming neither target nor parameter.
    with pytest.raises(TargetError, match=r"^target .*parameters must be scalars"):
        score(x, target=make())


def test_a_frozen_parameter_that_is_not_a_number_is_named():
    with pytest.raises(TargetError, match="loc='a' is not a number"):
        as_target(stats.norm(loc="a"))


def test_scalar_parameters_of_any_numeric_type_still_make_the_target():
    expected = parse("norm(loc=4, scale=1.25)")
    assert as_target(stats.norm(np.float32(4.0), np.array(1.25))) == expected
    assert as_target(stats.Normal(mu=np.array(4.0), sigma=1.25)) == expected
    uniform = as_target(stats.Uniform(a=1.0, b=3.0))
    assert uniform.mean == pytest.approx(2.0)  # (a + b) / 2 of U(1, 3)


# -- draws -----------------------------------------------------------------------------------------

def test_draws_none_is_named(x):
    # Before: TypeError "len() of unsized object" from diversity().
    with pytest.raises(ValueError, match="draws must hold real numbers, got None"):
        diversity(None)


@pytest.mark.parametrize("call", [verdict, judge], ids=["verdict", "judge"])
@pytest.mark.parametrize("reference", [False, True], ids=["formula", "reference"])
def test_ragged_draws_are_named_with_their_lengths(call, reference, x):
    # Before: numpy's "inhomogeneous shape" error, naming no argument.
    kwargs = {"reference": x} if reference else {}
    words = "draws .*rows must have equal length, got rows of lengths 100 and 500"
    with pytest.raises(ValueError, match=words):
        call([x, x[:100]], **kwargs)


def test_ragged_draws_stay_a_status_for_diversity(x):
    # Unchanged: diversity() reports rows of different lengths as not 2-D, collapsed.
    result = diversity([x, x[:100]])
    assert result.status == gof.NOT_2D and result.collapsed


# -- Tolerance -------------------------------------------------------------------------------------

def test_tolerance_takes_numpy_real_scalars_as_plain_floats():
    # Before: "tolerance mean must be a finite number, got np.float32(0.2)".
    tol = Tolerance(mean=np.float32(0.2), repeats=np.int64(3), ks=np.float64(0.05))
    # 0.20000000298023224: float32's nearest value to 0.2 (24-bit significand), read as a float64.
    assert tol.mean == 0.20000000298023224 and type(tol.mean) is float
    assert tol.repeats == 3.0 and type(tol.repeats) is float
    assert tol.ks == 0.05 and type(tol.ks) is float
    assert Tolerance(repeats=3).repeats == 3  # Python numbers are kept as given


@pytest.mark.parametrize("value", [True, np.bool_(True), np.float32(np.nan), np.array(0.2), "0.2"])
def test_tolerance_still_refuses_bools_and_non_numbers(value):
    with pytest.raises(ValueError, match="tolerance repeats must be a finite number"):
        Tolerance(repeats=value)


# -- mean and std beside a target or a reference ---------------------------------------------------

@pytest.mark.parametrize("kwargs, words", [
    ({"target": "norm()", "mean": 5}, "mean=5 with target="),
    ({"target": stats.gamma(2), "std": 2.0}, "std=2.0 with target="),
    ({"reference": "x", "mean": 3.0}, "mean=3.0 with reference="),
    ({"reference": "x", "std": 0.5}, "std=0.5 with reference="),
])
@pytest.mark.parametrize("call", ["score", "judge", "verdict"])
def test_mean_or_std_beside_a_target_or_reference_is_refused(call, kwargs, words, x):
    # Before: silently ignored (score(x, target="norm()", mean=5) tested against N(0, 1)).
    draws = np.stack([x[:250], x[250:]])
    kwargs = {k: (x if v == "x" else v) for k, v in kwargs.items()}
    function = {"score": score, "judge": judge, "verdict": verdict}[call]
    with pytest.raises(ValueError, match=words):
        function(x if call == "score" else draws, **kwargs)


def test_diversity_refuses_std_beside_a_target(x):
    with pytest.raises(ValueError, match="std=2.0 with target="):
        diversity(np.stack([x[:250], x[250:]]), target="norm()", std=2.0)


def test_the_defaults_given_explicitly_beside_a_target_pass(x):
    # Callers forward mean=4.0, std=1.25 (the defaults) with a target: the CLI does.
    explicit = score(x, target="gamma(a=2)", mean=4.0, std=1.25)
    assert explicit.equals(score(x, target="gamma(a=2)"))

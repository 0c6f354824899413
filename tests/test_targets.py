"""gancheck.targets: specs round-trip, quantiles invert the CDF, moments agree with scipy's own
(families) or with numerical integration (mixtures), and bad specs are refused with a reason."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from gancheck.targets import TargetError, as_target, from_scipy, normal, parse

#: Families and their shape parameters, each drawn from a range where scipy's CDF, quantiles and
#: moments are well conditioned.
SHAPES = {
    "norm": {},
    "gamma": {"a": (0.8, 20.0)},
    "t": {"df": (5.0, 50.0)},
    "lognorm": {"s": (0.1, 0.8)},
    "beta": {"a": (1.0, 8.0), "b": (1.0, 8.0)},
    "weibull_min": {"c": (1.0, 5.0)},
    "laplace": {},
    "logistic": {},
    "uniform": {},
}
finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def families(draw):
    name = draw(st.sampled_from(sorted(SHAPES)))
    params = {k: draw(st.floats(lo, hi, **finite)) for k, (lo, hi) in SHAPES[name].items()}
    params["loc"] = draw(st.floats(-100.0, 100.0, **finite))
    params["scale"] = draw(st.floats(0.05, 20.0, **finite))
    return name, params


def _spec(name, params) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


@st.composite
def mixtures(draw):
    parts = draw(st.lists(families(), min_size=2, max_size=3))
    raw = draw(st.lists(st.floats(0.1, 1.0, **finite), min_size=len(parts), max_size=len(parts)))
    weights = [w / sum(raw) for w in raw]
    weights[-1] = 1.0 - sum(weights[:-1])
    spec = f"mixture({', '.join(_spec(*p) for p in parts)}, weights=[{', '.join(repr(w) for w in weights)}])"
    return spec, parts, weights


@settings(max_examples=60, deadline=None)
@given(families())
def test_a_family_spec_round_trips_and_is_scipys_distribution(family):
    name, params = family
    target = parse(_spec(name, params))
    again = parse(target.spec)
    assert again == target and again.spec == target.spec
    # Oracle: the frozen scipy distribution with the same parameters.
    frozen = getattr(stats, name)(**params)
    q = np.array([0.001, 0.1, 0.5, 0.9, 0.999])
    x = frozen.ppf(q)
    np.testing.assert_allclose(target.cdf(x), frozen.cdf(x), rtol=1e-12)
    np.testing.assert_allclose(again.ppf(q), x, rtol=1e-12, atol=1e-12)
    assert from_scipy(frozen) == target
    m, v, s, k = (float(a) for a in frozen.stats("mvsk"))
    assert target.mean == pytest.approx(m, rel=1e-12, abs=1e-12)
    assert target.std == pytest.approx(math.sqrt(v), rel=1e-12)
    assert target.skewness == pytest.approx(s, rel=1e-9, abs=1e-12)
    assert target.kurtosis == pytest.approx(k, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(mixtures(), st.floats(0.002, 0.998, **finite))
def test_a_mixture_round_trips_and_its_quantiles_invert_its_cdf(mixture, q):
    spec, _, weights = mixture
    target = parse(spec)
    again = parse(target.spec)
    assert again == target and again.spec == target.spec
    assert sum(target.weights) == pytest.approx(1.0)
    # cdf(ppf(q)) = q for a continuous target: bisection to float64 resolution in x, so the
    # error in q is at most the density times a few ulps of x (oracle: the definition of ppf).
    assert float(target.cdf(target.ppf(q))) == pytest.approx(q, abs=1e-9)


def _new_style(name: str, params: dict):
    """The same family as one of scipy's distribution objects (scipy.stats.make_distribution)."""
    shapes = {k: v for k, v in params.items() if k not in ("loc", "scale")}
    return stats.make_distribution(getattr(stats, name))(**shapes) * params["scale"] + params["loc"]


@settings(max_examples=10, deadline=None)
@given(mixtures())
def test_mixture_moments_agree_with_scipys_mixture(mixture):
    spec, parts, weights = mixture
    target = parse(spec)
    # Oracle: scipy.stats.Mixture of the same components, whose moments scipy computes itself.
    oracle = stats.Mixture([_new_style(*p) for p in parts], weights=weights)
    assert target.mean == pytest.approx(float(oracle.mean()), rel=1e-9, abs=1e-9 * float(oracle.standard_deviation()))
    assert target.std == pytest.approx(float(oracle.standard_deviation()), rel=1e-8)
    assert target.skewness == pytest.approx(float(oracle.skewness()), rel=1e-6, abs=1e-6)
    assert target.kurtosis == pytest.approx(float(oracle.kurtosis()) - 3.0, rel=1e-6, abs=1e-6)


def test_the_bimodal_targets_moments_by_hand():
    target = parse("mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))")
    # Hand computation: mean (2.5 + 5.5) / 2 = 4; variance 0.36 + 1.5² = 2.61; symmetric, so
    # skewness 0; fourth central moment E(Z + 1.5)^4 about the mode: 3·0.36² + 6·0.36·2.25 + 1.5^4
    # = 0.3888 + 4.86 + 5.0625 = 10.3113, excess kurtosis 10.3113 / 2.61² - 3.
    assert target.mean == pytest.approx(4.0)
    assert target.std == pytest.approx(math.sqrt(2.61))
    assert target.skewness == pytest.approx(0.0, abs=1e-12)
    assert target.kurtosis == pytest.approx(10.3113 / 2.61**2 - 3)


@settings(max_examples=40, deadline=None)
@given(families(), st.floats(-10, 10, **finite), st.floats(0.2, 5, **finite))
def test_shifted_and_widened_move_the_moments_as_named(family, delta, factor):
    target = parse(_spec(*family))
    # Oracle: a location shift adds delta to the mean; a scale change about the mean multiplies
    # the sd by factor; neither changes skewness or kurtosis.
    moved, wide = target.shifted(delta), target.widened(factor)
    assert moved.mean == pytest.approx(target.mean + delta, abs=1e-9 * (1 + abs(target.mean)))
    assert wide.std == pytest.approx(factor * target.std, rel=1e-9)
    assert wide.mean == pytest.approx(target.mean, abs=1e-9 * (1 + abs(target.mean)) + 1e-9 * target.std)
    assert wide.skewness == pytest.approx(target.skewness, abs=1e-9)


def test_default_parameters_are_one_spec():
    # loc=0 and scale=1 are scipy's defaults: the same distribution, one spec, one null.
    assert parse("gamma(a=2, loc=0, scale=1)").spec == "gamma(a=2)" == parse("gamma(a=2)").spec
    assert normal(4, 1.25).spec == "norm(loc=4, scale=1.25)"
    assert as_target(None).spec == "norm(loc=4, scale=1.25)"
    assert as_target(None, mean=0, std=1).normal_parameters == (0.0, 1.0)


def test_new_style_scipy_objects():
    assert from_scipy(stats.Normal(mu=4, sigma=1.25)) == normal(4, 1.25)
    mixture = stats.Mixture([stats.Normal(mu=2.5, sigma=0.6), stats.Normal(mu=5.5, sigma=0.6)], weights=[0.3, 0.7])
    target = from_scipy(mixture)
    assert target == parse("mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6), weights=[0.3, 0.7])")
    # Oracle: scipy's own mixture CDF.
    x = np.array([1.0, 3.0, 4.0, 6.0])
    np.testing.assert_allclose(target.cdf(x), mixture.cdf(x), rtol=1e-12)


@pytest.mark.parametrize("make, mean, sd", [
    # Hand computation: a * N(mu, sigma) + b is N(a * mu + b, |a| * sigma).
    (lambda: 1.25 * stats.Normal() + 4, 4.0, 1.25),
    (lambda: -1.25 * stats.Normal(mu=1, sigma=2) + 4, 2.75, 2.5),
    (lambda: (stats.Normal() + 1) * 3, 3.0, 3.0),
])
def test_a_moved_and_scaled_normal_object_is_a_normal(make, mean, sd):
    # scipy keeps it as a transformed object; as any other it would lose the normal-shape tests
    # and get a spec that does not parse back.
    target = from_scipy(make())
    assert target.is_normal and target == normal(mean, sd)
    assert parse(target.spec) == target


def test_other_distribution_objects_keep_scipys_words():
    target = from_scipy(2 * stats.Uniform(a=0, b=1) + 1)
    assert not target.is_normal
    assert target.spec == "2.0*Uniform(a=0.0, b=1.0) + 1.0"
    # Oracle: the uniform on [1, 3].
    np.testing.assert_allclose(target.cdf([1.5, 2.0]), [0.25, 0.5], rtol=1e-12)


@pytest.mark.parametrize("spec, words", [
    ("nosuch(a=1)", "unknown distribution"),
    ("gamma()", "needs its shape parameter a"),
    ("gamma(a=-2)", "outside gamma's parameter range"),
    ("norm(scale=-1)", "must be > 0"),
    ("norm(scale=0)", "must be > 0"),
    ("poisson(mu=3)", "discrete"),
    ("norm(loc=2+2)", "not a number"),
    ("norm(loc=4, loc=5)", "given twice"),
    ("norm(4, 1)", "name norm's parameters"),
    ("__import__('os')", "unknown distribution"),
    ("os.system('x')", "expected a call"),
    ("gamma(a=1e400)", "finite"),
    ("norm(shape=1)", "has no parameter 'shape'"),
    ("mixture(norm())", "at least two components"),
    ("mixture(norm(), norm(loc=1), weights=[0.2, 0.2])", "sum to 1"),
    ("", "empty"),
])
def test_bad_specs_say_what_is_wrong(spec, words):
    with pytest.raises(TargetError, match=words.replace("(", r"\(").replace("+", r"\+")) as info:
        parse(spec)
    assert "\n" not in str(info.value)


def test_other_objects_are_refused():
    with pytest.raises(TargetError, match="discrete"):
        as_target(stats.poisson(3))
    with pytest.raises(TargetError, match="not a continuous"):
        as_target(3.0)

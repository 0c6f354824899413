"""The distribution a generator should reproduce, declared once: parsed from a spec, or wrapped
from a scipy.stats distribution.

A Target answers what the tests, the moment nulls, the controls and the trainer's real data need:
its CDF and quantile function, its first four moments, draws from a numpy Generator, whether it
is normal (the normal-shape tests apply only then), and a canonical spec string that the run
record and GANConfig.target store.

Specs read like scipy calls and are parsed from Python's syntax tree, never evaluated:
``norm(loc=4, scale=1.25)``, ``gamma(a=2, scale=1)``, ``t(df=5, loc=4)``, and mixtures such as
``mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6), weights=[0.5, 0.5])``. Any
continuous family of scipy.stats is allowed, with all of its shape parameters named.

The Target object itself, and how mixtures and scipy's distribution objects are computed, are in
gancheck.target_dist; its names are re-exported here, the one place callers import from. This
module imports scipy but never torch: GANConfig validates its target field with it.
"""
from __future__ import annotations

import ast
import functools
import math

import numpy as np

from gancheck.target_dist import (  # noqa: F401  (re-exported: callers import them from here)
    _NEW_STYLE, DEFAULT_MEAN, DEFAULT_STD, TARGET_BOUND, Target, TargetError, _family_target, _mixture,
    _NewStyle, _continuous_family, _number, judging_refusal, normal)

__all__ = ["DEFAULT_MEAN", "DEFAULT_STD", "TARGET_BOUND", "Target", "TargetError", "as_target", "from_scipy",
           "judging_refusal", "normal", "parse", "refuse_mean_std_beside"]


# -- the spec's syntax -------------------------------------------------------------------------------

def _literal(node: ast.AST, spec) -> float:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, spec)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    raise TargetError(spec, f"{ast.unparse(node)!r} is not a number: a spec takes numbers only, "
                            "not expressions")


def _call(node: ast.AST, spec) -> Target:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise TargetError(spec, "expected a call like norm(loc=4, scale=1.25)")
    name = node.func.id
    names = [k.arg for k in node.keywords if k.arg is not None]
    repeated = sorted({k for k in names if names.count(k) > 1})
    if repeated:
        raise TargetError(spec, f"parameter {repeated[0]!r} given twice")
    if name != "mixture":
        _continuous_family(name, spec)   # an unknown name is named as such before its arguments
    if name == "mixture":
        kw = {k.arg: k.value for k in node.keywords}
        if set(kw) - {"weights"} or any(k.arg is None for k in node.keywords):
            raise TargetError(spec, "mixture(...) takes its components, then weights=[...]")
        weights = None
        if "weights" in kw:
            if not isinstance(kw["weights"], (ast.List, ast.Tuple)):
                raise TargetError(spec, "weights must be a list of numbers")
            weights = [_literal(e, spec) for e in kw["weights"].elts]
        return _mixture([_call(a, spec) for a in node.args], weights, spec)
    if node.args:
        raise TargetError(spec, f"name {name}'s parameters, e.g. {name}(loc=0, scale=1)")
    if any(k.arg is None for k in node.keywords):
        raise TargetError(spec, "no ** in a spec")
    return _family_target(name, {k.arg: _literal(k.value, spec) for k in node.keywords}, spec)


def parse(spec: str) -> Target:
    """A Target from a spec string; raises TargetError (a ValueError) naming what is wrong."""
    if not isinstance(spec, str):
        raise TargetError(spec, "empty; write e.g. norm(loc=4, scale=1.25)")
    return _parse(spec)


@functools.lru_cache(maxsize=256)
def _parse(spec: str) -> Target:
    """parse(), once per spec string: a Target is immutable, and its cached moments and
    quantiles are then computed once however often the spec is passed."""
    if not spec.strip():
        raise TargetError(spec, "empty; write e.g. norm(loc=4, scale=1.25)")
    if len(spec) > 2000:
        raise TargetError(spec[:40] + "...", "longer than 2000 characters")
    try:
        tree = ast.parse(spec.strip(), mode="eval")
    except SyntaxError:
        raise TargetError(spec, "not a spec like norm(loc=4, scale=1.25)") from None
    return _call(tree.body, spec)


def from_scipy(dist) -> Target:
    """A Target from a scipy.stats distribution: frozen (``stats.gamma(a=2)``) or one of the
    distribution objects (``stats.Normal(mu=4, sigma=1.25)``, ``stats.Mixture``)."""
    from scipy import stats
    if isinstance(dist, Target):
        return dist
    if isinstance(dist, type):
        # stats.Normal itself, not an instance: scipy would fail deep inside with a TypeError.
        raise TargetError(dist.__name__, f"a class; give a distribution, e.g. {dist.__name__}(...) with its parameters")
    if isinstance(dist, stats.rv_continuous):
        raise TargetError(dist.name, f"not frozen; give its parameters, e.g. stats.{dist.name}(...), "
                                     "or the spec string")
    if isinstance(dist, stats.Mixture):
        return _mixture([from_scipy(c) for c in dist.components], list(dist.weights), dist)
    if _is_distribution_object(dist):
        _check_distribution_object(dist)   # before any of its numbers is read
    if _is_normal_object(dist):
        return normal(float(dist.mean()), float(dist.standard_deviation()))
    frozen_gen = getattr(dist, "dist", None)
    if isinstance(frozen_gen, stats.rv_discrete):
        raise TargetError(dist, "a discrete distribution; a target must be continuous")
    if isinstance(frozen_gen, stats.rv_continuous):
        # A frozen distribution keeps its arguments as given: positional shapes, then loc, scale.
        names = [s.strip() for s in (frozen_gen.shapes or "").split(",") if s.strip()] + ["loc", "scale"]
        params = {**dict(zip(names, dist.args)), **dist.kwds}
        return _family_target(frozen_gen.name, _scalar_parameters(params, dist), dist)
    if _is_distribution_object(dist):
        return Target(_NEW_STYLE, dist=_NewStyle(dist))   # any other of scipy's distribution objects
    raise TargetError(dist, "not a continuous scipy.stats distribution")


def _is_normal_object(dist) -> bool:
    """stats.Normal, or one moved and scaled (``1.25 * stats.Normal() + 4``, which scipy keeps as
    a transformed object around the normal): a normal either way, and taken as one, so that it
    gets the normal-shape tests and a spec that parses back."""
    from scipy import stats
    if isinstance(dist, stats.Normal):
        return True
    shifted_scaled = _shifted_scaled_class()
    inner = getattr(dist, "_dist", None)   # scipy exposes the wrapped distribution no other way
    return shifted_scaled is not None and isinstance(dist, shifted_scaled) and _is_normal_object(inner)


def _shifted_scaled_class():
    """scipy's class of a moved and scaled distribution object (not exported by scipy.stats)."""
    try:
        from scipy.stats._distribution_infrastructure import ShiftedScaledDistribution
    except ImportError:   # a scipy without distribution objects, or one that moved the class
        return None
    return ShiftedScaledDistribution


def _scalar_parameters(params: dict, dist) -> dict[str, float]:
    """A frozen distribution's parameters as floats. scipy freezes arrays of parameters too
    (``stats.norm([4, 5], 1)`` is two distributions), and float() would fail on them with words
    that name neither the target nor the parameter."""
    floats = {}
    for key, value in params.items():
        if np.ndim(value) != 0:
            raise TargetError(dist, f"{key}={value!r}: parameters must be scalars (one distribution), "
                                    f"not arrays of shape {np.shape(value)}")
        try:
            floats[key] = float(value)
        except (TypeError, ValueError):
            raise TargetError(dist, f"{key}={value!r} is not a number") from None
    return floats


def _is_distribution_object(dist) -> bool:
    """One of scipy's distribution objects (stats.Normal, stats.Uniform, a transformed one, ...),
    recognised by the calls Target makes of it."""
    return callable(getattr(dist, "icdf", None)) and callable(getattr(dist, "cdf", None))


def _check_distribution_object(dist) -> None:
    """Refuse what scipy's distribution objects accept without an error: discrete ones (their
    class is not exported by scipy.stats, so it is found by name), arrays of parameters (an array
    of distributions) and parameters outside the family's range (every probability is then NaN,
    and so would be every p-value). The support shows the last two: its shape is the parameters'
    and it is NaN where they are invalid."""
    if any(cls.__name__ == "DiscreteDistribution" for cls in type(dist).__mro__):
        raise TargetError(dist, "a discrete distribution; a target must be continuous")
    if not callable(getattr(dist, "support", None)):
        return   # not one of scipy's: Target asks it nothing more than its cdf and icdf here
    low, high = dist.support()
    if np.ndim(low) != 0 or np.ndim(high) != 0:
        raise TargetError(dist, f"parameters must be scalars (one distribution), not arrays of shape "
                                f"{np.shape(low)}")
    if math.isnan(low) or math.isnan(high):
        raise TargetError(dist, "its parameters are outside the distribution's range (scipy answers "
                                "NaN for every probability)")


def as_target(target=None, *, mean: float = DEFAULT_MEAN, std: float = DEFAULT_STD) -> Target:
    """What score/judge/verdict take: None (N(mean, std)), a spec string, a scipy distribution
    or a Target."""
    if target is None:
        return normal(mean, std)
    refuse_mean_std_beside(target=target, mean=mean, std=std)
    if isinstance(target, str):
        return parse(target)
    return from_scipy(target)


def refuse_mean_std_beside(*, target=None, reference=None, mean: float = DEFAULT_MEAN,
                           std: float = DEFAULT_STD) -> None:
    """ValueError for mean= or std= other than their defaults beside target= or reference=, which
    replace N(mean, std): they would be ignored without a word (the CLI refuses --target with
    --mean or --std for the same reason). The defaults pass, as callers forward them."""
    other = "target" if target is not None else "reference" if reference is not None else None
    if other is None:
        return
    for name, value, default in (("mean", mean, DEFAULT_MEAN), ("std", std, DEFAULT_STD)):
        if not _is_default(value, default):
            raise ValueError(f"{name}={value!r} with {other}=: the {other} replaces N(mean, std), so "
                             f"{name} would be ignored; give the {other} alone")


def _is_default(value, default: float) -> bool:
    """value == default, False where the comparison has no single answer."""
    try:
        return bool(value == default)
    except (TypeError, ValueError):   # an array, say: certainly not the default
        return False

"""A target distribution as an object: gancheck.targets builds it (from a spec or from scipy).

Target answers what the tests, the moment nulls, the controls and the trainer's real data need:
its CDF, log-CDF and log-survival, density, quantile function, first four moments, draws from a
numpy Generator, whether it is normal, and a canonical spec. Mixtures are computed from their
components; scipy's distribution objects are wrapped behind the frozen-distribution calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: The seed's target, N(4, 1.25).
DEFAULT_MEAN, DEFAULT_STD = 4.0, 1.25
#: A run stores its target's mean within (-TARGET_BOUND, TARGET_BOUND) and its sd within
#: (0, TARGET_BOUND): ablate refuses a --target outside them before it starts, and the report
#: refuses a record outside them as damaged.
TARGET_BOUND = 1e12


class TargetError(ValueError):
    """A target spec or object that cannot be used; the message names it and says why."""

    def __init__(self, spec, why: str):
        super().__init__(f"target {spec!r}: {why}")
        self.spec, self.why = spec, why


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True, eq=False)
class Target:
    """One continuous 1-D distribution. Build with ``parse``, ``normal`` or ``as_target``.

    ``family``: the scipy.stats name ("norm", "gamma", ...) or "mixture"; ``params``: the named
    parameters as given (a family's shapes, loc, scale); ``components`` / ``weights``: a
    mixture's parts. ``dist`` is a frozen scipy distribution (None for a mixture, whose CDF and
    draws are computed from its components) or a scipy distribution object wrapped as given."""
    family: str
    params: tuple[tuple[str, float], ...] = ()
    components: tuple["Target", ...] = ()
    weights: tuple[float, ...] = ()
    dist: object = None

    # -- identity ------------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The canonical spec: parse(t.spec) is the same distribution."""
        if self.family == "mixture":
            parts = ", ".join(c.spec for c in self.components)
            return f"mixture({parts}, weights=[{', '.join(_number(w) for w in self.weights)}])"
        if self.family == _NEW_STYLE:   # scipy's own words for it (str: repr writes np.float64(...))
            return " ".join(str(self.dist.d).split())
        return f"{self.family}({', '.join(f'{k}={_number(v)}' for k, v in self.params)})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Target) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"Target({self.spec!r})"

    @property
    def is_normal(self) -> bool:
        return self.family == "norm"

    def describe(self) -> str:
        """Short words for reports: N(4, 1.25) for a normal, else the spec."""
        if self.is_normal:
            return f"N({_number(self.mean)}, {_number(self.std)})"
        return self.spec

    # -- probability ---------------------------------------------------------------------------
    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.family == "mixture":
            return sum(w * c.cdf(x) for w, c in zip(self.weights, self.components))
        return np.asarray(self.dist.cdf(x), dtype=float)

    def logcdf(self, x) -> np.ndarray:
        """log F(x), accurate far in the lower tail (where F itself rounds to 0)."""
        return self._log("logcdf", x)

    def logsf(self, x) -> np.ndarray:
        """log(1 - F(x)), accurate far in the upper tail (where 1 - F rounds to 0)."""
        return self._log("logsf", x)

    def _log(self, which: str, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.family != "mixture":
            with np.errstate(divide="ignore"):
                return np.asarray(getattr(self.dist, which)(x), dtype=float)
        from scipy.special import logsumexp
        parts = np.stack([c._log(which, x) for c in self.components])
        logw = np.log(np.asarray(self.weights)).reshape((-1,) + (1,) * x.ndim)
        return logsumexp(parts + logw, axis=0)

    def pdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.family == "mixture":
            return sum(w * c.pdf(x) for w, c in zip(self.weights, self.components))
        return np.asarray(self.dist.pdf(x), dtype=float)

    @property
    def normal_parameters(self) -> tuple[float, float]:
        """(mean, sd) of a normal target exactly as declared (no rounding through moments)."""
        if not self.is_normal:
            raise TargetError(self.spec, "not a normal target")
        params = dict(self.params)
        return params.get("loc", 0.0), params.get("scale", 1.0)

    def ppf(self, q) -> np.ndarray:
        q = np.asarray(q, dtype=float)
        if self.family != "mixture":
            return np.asarray(self.dist.ppf(q), dtype=float)
        return _mixture_ppf(self, q)

    def rvs(self, size, rng: np.random.Generator) -> np.ndarray:
        """Draws from ``rng`` (float64). A mixture picks each value's component, then draws it."""
        if self.family != "mixture":
            return np.asarray(self.dist.rvs(size=size, random_state=rng), dtype=float)
        size = (size,) if np.isscalar(size) else tuple(size)
        pick = rng.choice(len(self.components), size=size, p=np.asarray(self.weights))
        out = np.empty(size)
        for i, c in enumerate(self.components):
            draws = c.rvs(size, rng)
            out[pick == i] = draws[pick == i]
        return out

    # -- moments -------------------------------------------------------------------------------
    @cached_property
    def _mvsk(self) -> tuple[float, float, float, float]:
        if self.family != "mixture":
            # A huge scale overflows the variance (uniform(scale=1e200)): inf, as has_sd tells
            # apart from a distribution without one; numpy's overflow warning would only be noise.
            with np.errstate(over="ignore"):
                m, v, s, k = (float(x) for x in self.dist.stats(moments="mvsk"))
            return m, math.sqrt(v) if v >= 0 else math.nan, s, k
        # Central moments about the mixture's mean, from each component's mean and central
        # moments (binomial expansion of (X_i - mu_i + d_i)^k, d_i = mu_i - mu). Raw moments
        # would cancel catastrophically when the mean is large against the sd, and scipy's
        # moment() of a frozen family overflows for a tiny nonzero loc.
        parts = [c._mvsk for c in self.components]
        if not all(math.isfinite(m) for m, *_ in parts):
            return math.nan, math.nan, math.nan, math.nan
        mu = sum(w * m for w, (m, *_) in zip(self.weights, parts))
        central = [0.0, 0.0, 0.0]   # orders 2, 3, 4
        # In numpy floats: a power too large for float64 (components 1e200 apart) is inf, where
        # Python's float raises OverflowError; has_sd tells such a mixture from one without a sd.
        with np.errstate(over="ignore", invalid="ignore"):
            for w, (m, sd, skew, kurt) in zip(self.weights, parts):
                d, sd = np.float64(m - mu), np.float64(sd)
                c2, c3, c4 = sd ** 2, skew * sd ** 3, (kurt + 3) * sd ** 4
                central[0] += w * (c2 + d ** 2)
                central[1] += w * (c3 + 3 * d * c2 + d ** 3)
                central[2] += w * (c4 + 4 * d * c3 + 6 * d ** 2 * c2 + d ** 4)
            var, c3, c4 = (float(c) for c in central)
            # An infinite component moment makes the mixture's infinite (nan where inf - inf arose).
            return (mu, math.sqrt(var) if var >= 0 else math.nan,
                    float(c3 / np.float64(var) ** 1.5) if math.isfinite(c3) else c3,
                    float(c4 / np.float64(var) ** 2 - 3) if math.isfinite(c4) else c4)

    @property
    def mean(self) -> float:
        return self._mvsk[0]

    @property
    def std(self) -> float:
        return self._mvsk[1]

    @property
    def skewness(self) -> float:
        return self._mvsk[2]

    @property
    def kurtosis(self) -> float:
        """Excess kurtosis (0 for a normal); inf or nan where the fourth moment does not exist."""
        return self._mvsk[3]

    def moments_finite(self, order: int) -> bool:
        """Whether the moments up to ``order`` (1-4) exist and are finite."""
        return all(math.isfinite(v) for v in self._mvsk[:order])

    @property
    def has_sd(self) -> bool:
        """Whether the distribution has a finite sd, however large. ``std`` is inf both where it
        has none (cauchy, t with df <= 2) and where its variance overflows float64 (sds above
        1.3e154); a family's sd is its scale times its standard form's (loc 0, scale 1), which
        tells the two apart."""
        if self.is_normal or self.moments_finite(2):
            return True
        if self.family == "mixture":
            return all(c.has_sd for c in self.components)
        if self.family == _NEW_STYLE:
            return False
        shapes = {k: v for k, v in self.params if k not in ("loc", "scale")}
        return _family_target(self.family, shapes, self.spec).moments_finite(2)

    # -- variations, for controls ----------------------------------------------------------------
    def shifted(self, delta: float) -> "Target":
        """The same distribution moved by ``delta``."""
        return self._affine(1.0, delta)

    def widened(self, factor: float) -> "Target":
        """The same distribution scaled by ``factor`` about its mean."""
        return self._affine(factor, self.mean * (1 - factor))

    def _affine(self, a: float, b: float) -> "Target":
        if self.family == "mixture":
            return Target("mixture", components=tuple(c._affine(a, b) for c in self.components),
                          weights=self.weights)
        if self.family == _NEW_STYLE:   # scipy's distribution objects shift and scale themselves
            return Target(_NEW_STYLE, dist=_NewStyle(self.dist.d * a + b))
        params = dict(self.params)
        loc, scale = params.get("loc", 0.0), params.get("scale", 1.0)
        params.update(loc=a * loc + b, scale=a * scale)
        return _family_target(self.family, params, self.spec)


def judging_refusal(law: Target) -> str | None:
    """Why a generator cannot be judged against ``law``, in words that follow its name; None
    where it can. A generator is judged in units of the target's sd, so the sd must be finite,
    and the mean and sd must lie within TARGET_BOUND, where a run's record is read back."""
    if not law.has_sd:
        return "its sd is not finite; every generator is judged in units of the target's sd"
    # A normal's own parameters, as GANConfig stores them (its variance overflows for a huge scale).
    mean, sd = law.normal_parameters if law.is_normal else (law.mean, law.std)
    if -TARGET_BOUND < mean < TARGET_BOUND and 0 < sd < TARGET_BOUND:
        return None
    return (f"its mean is {_size(mean)} and its sd {_size(sd)}; a generator is judged against a "
            f"target whose mean lies between -{TARGET_BOUND:g} and {TARGET_BOUND:g} and whose sd "
            f"between 0 and {TARGET_BOUND:g} (exclusive)")


def _size(value: float) -> str:
    # A moment that overflows reads as inf (uniform(scale=1e200)'s variance), though it exists.
    return f"{value:g}" if math.isfinite(value) else "too large to compute"


def _mixture_ppf(target: Target, q: np.ndarray) -> np.ndarray:
    """A mixture's quantiles by bisection on its CDF, bracketed by its components' quantiles
    (the mixture's q-quantile lies between the smallest and largest of theirs)."""
    inside = np.clip(np.nan_to_num(q, nan=0.5), 0.0, 1.0)
    each = np.stack([c.ppf(inside) for c in target.components])
    lo, hi = each.min(axis=0), each.max(axis=0)
    finite = np.isfinite(lo) & np.isfinite(hi)
    lo, hi = np.where(finite, lo, 0.0), np.where(finite, hi, 0.0)
    for _ in range(100):   # 100 halvings bring any finite bracket to float64 resolution
        mid = (lo + hi) / 2
        below = target.cdf(mid) < inside
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    # Where a component's quantile is infinite (q = 0 or 1), so is the mixture's.
    out = np.where(finite, (lo + hi) / 2, np.where(inside <= 0.5, each.min(axis=0), each.max(axis=0)))
    return np.where(np.isnan(q), np.nan, out)


# -- building targets ------------------------------------------------------------------------------

def normal(mean: float = DEFAULT_MEAN, std: float = DEFAULT_STD) -> Target:
    """N(mean, std), as a Target."""
    return _family_target("norm", {"loc": float(mean), "scale": float(std)}, f"N({mean}, {std})")


def _continuous_family(name: str, spec):
    from scipy import stats
    gen = getattr(stats, name, None) if not name.startswith("_") else None
    if isinstance(gen, stats.rv_discrete):
        raise TargetError(spec, f"{name!r} is a discrete distribution; a target must be continuous")
    if not isinstance(gen, stats.rv_continuous):
        raise TargetError(spec, f"unknown distribution {name!r}: name a continuous family of "
                                "scipy.stats (norm, gamma, t, ...) or mixture(...)")
    return gen


def _family_target(name: str, params: dict, spec) -> Target:
    gen = _continuous_family(name, spec)
    shapes = [s.strip() for s in (gen.shapes or "").split(",") if s.strip()]
    allowed = [*shapes, "loc", "scale"]
    for key, value in params.items():
        if key not in allowed:
            raise TargetError(spec, f"{name} has no parameter {key!r} (it takes {', '.join(allowed)})")
        if not math.isfinite(value):
            raise TargetError(spec, f"{key}={value!r} must be a finite number")
    missing = [s for s in shapes if s not in params]
    if missing:
        raise TargetError(spec, f"{name} needs its shape parameter{'s' * (len(missing) > 1)} "
                                f"{', '.join(missing)}")
    if params.get("scale", 1.0) <= 0:
        raise TargetError(spec, f"scale={params['scale']!r} must be > 0")
    # loc=0 and scale=1 are scipy's defaults: left out, so gamma(a=2) and gamma(a=2, scale=1)
    # are one target with one spec (and one simulated null).
    defaults = {"loc": 0.0, "scale": 1.0}
    ordered = tuple((k, float(params[k])) for k in allowed
                    if k in params and float(params[k]) != defaults.get(k))
    frozen = gen(**dict(ordered))
    if any(math.isnan(float(b)) for b in frozen.support()):
        raise TargetError(spec, f"{', '.join(f'{k}={_number(v)}' for k, v in ordered)} is outside "
                                f"{name}'s parameter range")
    return Target(name, ordered, dist=frozen)


def _mixture(components: list[Target], weights, spec) -> Target:
    if len(components) < 2:
        raise TargetError(spec, "a mixture needs at least two components")
    weights = [1.0 / len(components)] * len(components) if weights is None else [float(w) for w in weights]
    if len(weights) != len(components):
        raise TargetError(spec, f"{len(weights)} weights for {len(components)} components")
    if any(not math.isfinite(w) or w <= 0 for w in weights) or not math.isclose(sum(weights), 1.0, abs_tol=1e-9):
        raise TargetError(spec, "weights must be positive and sum to 1")
    return Target("mixture", components=tuple(components), weights=tuple(weights))


_NEW_STYLE = "scipy-object"


class _NewStyle:
    """scipy's distribution objects behind the frozen-distribution calls Target makes."""

    def __init__(self, dist):
        self.d = dist

    def cdf(self, x):
        return self.d.cdf(x)

    def ppf(self, q):
        return self.d.icdf(q)

    def logcdf(self, x):
        return self.d.logcdf(x)

    def logsf(self, x):
        return self.d.logccdf(x)

    def pdf(self, x):
        return self.d.pdf(x)

    def rvs(self, size, random_state):
        return self.d.sample(size, rng=random_state)

    def stats(self, moments="mvsk"):
        return (self.d.mean(), self.d.variance(), self.d.skewness(), self.d.kurtosis(convention="excess"))

"""Real data from any target (GANConfig.target), made from the draws a normal target already makes.

Every target's real batch starts from the same standard normal draws z that the seed's
N(data_mean, data_std) scales (one per value, from the member's torch generator or from Philox),
so the draw streams keep their layout and a normal target keeps its exact code path. A
non-normal target maps z to its own law:

- a **mixture of normals**, exactly: one more uniform per value picks the component (u below the
  first cumulative weight: the first, and so on), then the value is the component's loc + scale z;
- **any other** continuous target, by its quantile function: x = F^-1(Phi(z)), read from a table
  of that function at equally spaced z, built once on the host with scipy in float64 and
  interpolated linearly in torch. Spacing in z spaces the probabilities like the normal's tails
  (the table reaches Phi(-9) = 1e-19 at either end), so the tails are as accurate as the middle;
  a z beyond the table (|z| > 9, which neither stream's float32 or float64 normals reach) takes
  the end value. ``table_accuracy`` measures the table's law against the target.

The map is elementwise, so a member's values depend on its own draws only (never on the members
beside it), and it is the same arithmetic on every device.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

#: The quantile table's range and spacing in z: 18 * 256 + 1 = 4,609 points.
TABLE_Z = 9.0
TABLE_STEPS_PER_UNIT = 256


@dataclass(frozen=True)
class RealLaw:
    """How one non-normal target's real values are made from standard normals ``z``.

    ``kind``: "mixture" (``cum``: the cumulative weights but the last; ``locs``, ``scales``: the
    components') or "table" (``values``: F^-1(Phi(z_i)) at z_i = -TABLE_Z + i / steps;
    ``slopes``: the differences of neighbours)."""
    spec: str
    kind: str
    cum: tuple[float, ...] = ()
    locs: tuple[float, ...] = ()
    scales: tuple[float, ...] = ()
    values: torch.Tensor | None = None
    slopes: torch.Tensor | None = None

    @property
    def needs_pick(self) -> bool:
        """Whether it takes one uniform per value besides z (to pick a mixture's component)."""
        return self.kind == "mixture"

    def apply(self, z: torch.Tensor, pick: torch.Tensor | None = None) -> torch.Tensor:
        """The real values for standard normals ``z`` (and uniforms ``pick`` for a mixture)."""
        if self.kind == "mixture":
            # 0-d tensors of z's dtype (python floats alone would make torch.where default to float32)
            loc, scale = z.new_tensor(self.locs[0]), z.new_tensor(self.scales[0])
            for c, next_loc, next_scale in zip(self.cum, self.locs[1:], self.scales[1:]):
                later = pick >= c
                loc = torch.where(later, next_loc, loc)
                scale = torch.where(later, next_scale, scale)
            return z * scale + loc
        last = self.values.shape[0] - 1
        position = (z + TABLE_Z).mul_(TABLE_STEPS_PER_UNIT).clamp_(0, last)
        index = position.floor().clamp_(max=last - 1)
        fraction = position.sub_(index)
        index = index.long()
        return self.values[index].addcmul_(fraction, self.slopes[index])


def _normal_mixture(target) -> bool:
    return target.family == "mixture" and all(c.is_normal for c in target.components)


def _sf(target, x: np.ndarray) -> np.ndarray:
    if target.family == "mixture":
        return sum(w * _sf(c, x) for w, c in zip(target.weights, target.components))
    sf = getattr(target.dist, "sf", None)
    return np.asarray(sf(x), dtype=float) if sf is not None else 1.0 - target.cdf(x)


def _isf(target, q: np.ndarray) -> np.ndarray:
    """The target's upper quantiles, P(X > x) = q, without forming 1 - q (which is 1 for q below
    1e-16): scipy's isf, or for a mixture bisection on its survival function between its
    components' upper quantiles (the mixture's lies between the smallest and the largest)."""
    if target.family != "mixture":
        isf = getattr(target.dist, "isf", None)
        return np.asarray(isf(q), dtype=float) if isf is not None else target.ppf(1.0 - q)
    each = np.stack([_isf(c, q) for c in target.components])
    lo, hi = each.min(axis=0), each.max(axis=0)
    for _ in range(100):   # 100 halvings bring any finite bracket to float64 resolution
        mid = (lo + hi) / 2
        above = _sf(target, mid) > q
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return (lo + hi) / 2


def quantile_table(target) -> np.ndarray:
    """F^-1(Phi(z)) at the table's z, float64. The upper half is read from the survival side
    (the upper quantile of Phi(-z)), so that 1 - p never loses the tail's digits."""
    from scipy.special import ndtr
    steps = int(2 * TABLE_Z * TABLE_STEPS_PER_UNIT)
    z = np.linspace(-TABLE_Z, TABLE_Z, steps + 1)
    lower = z <= 0
    values = np.empty_like(z)
    values[lower] = target.ppf(ndtr(z[lower]))
    values[~lower] = _isf(target, ndtr(-z[~lower]))
    if not np.isfinite(values).all() or (np.diff(values) < 0).any():
        raise ValueError(f"target {target.spec!r}: its quantile function is not finite and increasing "
                         f"between probabilities {ndtr(-TABLE_Z):.1e} and 1 - {ndtr(-TABLE_Z):.1e}; "
                         "the trainer cannot draw from it")
    return values


@functools.lru_cache(maxsize=32)
def _law(spec: str, dtype: torch.dtype, device: str) -> RealLaw:
    from gancheck.fields import parse_target
    target = parse_target(spec)
    if _normal_mixture(target):
        weights = np.asarray(target.weights, dtype=float)
        cum = tuple(float(c) for c in np.cumsum(weights / weights.sum())[:-1])
        # The components' own loc and scale, as written (their mean and sd from scipy's moments
        # may differ from them in the last bit).
        params = [dict(c.params) for c in target.components]
        return RealLaw(spec, "mixture", cum=cum, locs=tuple(p.get("loc", 0.0) for p in params),
                       scales=tuple(p.get("scale", 1.0) for p in params))
    values = quantile_table(target)
    table = torch.tensor(values, dtype=torch.float64)
    return RealLaw(spec, "table", values=table.to(device, dtype),
                   slopes=torch.diff(table).to(device, dtype))


def real_law(cfg, dtype=torch.float32, device="cpu") -> RealLaw | None:
    """The RealLaw of ``cfg.target`` for tensors of ``dtype`` on ``device``, built once per
    target; None for the seed's N(data_mean, data_std), which keeps its own exact code path."""
    if not cfg.target:
        return None
    return _law(cfg.target, dtype, str(torch.device(device)))


def table_accuracy(target, points_per_step: int = 16) -> dict[str, float]:
    """How far the table's law is from ``target``: ``ks``, the largest |CDF difference| (the
    table's CDF at x is Phi(z) where its linear pieces reach x, exact at every node; evaluated at
    ``points_per_step`` points inside each piece, where the difference peaks), and the relative
    error of its quantiles at 1e-6, 1e-3, 0.5, 0.999 and 1 - 1e-6."""
    from scipy.special import ndtr, ndtri
    values = quantile_table(target)
    z = np.linspace(-TABLE_Z, TABLE_Z, values.size)
    inside = np.linspace(0, 1, points_per_step + 1)[1:-1]
    x = values[:-1, None] + inside[None, :] * np.diff(values)[:, None]
    table_cdf = ndtr(z[:-1, None] + inside[None, :] * (z[1] - z[0]))
    ks = float(np.max(np.abs(table_cdf - target.cdf(x))))
    probabilities = np.array([1e-6, 1e-3, 0.5, 0.999, 1 - 1e-6])
    table_q = np.interp(ndtri(probabilities), z, values)
    exact_q = target.ppf(probabilities)
    relative = np.abs(table_q - exact_q) / np.maximum(np.abs(exact_q), math.ulp(1.0))
    return {"ks": ks, **{f"quantile_error_{p:g}": float(e) for p, e in zip(probabilities, relative)}}

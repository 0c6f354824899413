"""Each tolerance band tested with the noise draw as the unit: shown within, shown outside, or neither.

Given its weights, a generator's K draws are independent, but the n values inside one draw need
not be (one noise vector yields all n jointly). So every criterion is a per-draw statistic
averaged over the K draws, with its standard error from the spread of that statistic ACROSS
draws (a cluster-robust error: it is right whatever the dependence inside a draw), referred to
Student's t on K - 1 degrees of freedom:

=========== ==================================================== ===============================
criterion   per-draw statistic, averaged over draws              band
=========== ==================================================== ===============================
mean        the draw's mean                                      target mean ± mean · sd
std         the draw's variance (ddof = 1), reported as its sd   ((1 ∓ std) · sd)²
            (estimate and se)
ks          the draw's ECDF at the target's 1%, 2%, ..., 99%      each point ± ks (outside),
            quantiles (99 points)                                ± (ks - 0.01) (within)
tail        the draw's share below mean - 3 sd, and above        [0, tail] each
            mean + 3 sd
=========== ==================================================== ===============================

For a target other than a normal (gancheck.targets), the same four criteria: mean and sd bands
around the target's own mean and sd, in units of its sd; the ks grid at the target's own
1%, ..., 99% quantiles (the target CDF replaces Φ); and the tail thresholds at the target's
quantiles of the same mass as a normal's 3-sd tails, Φ(-3) = 0.135% on each side (for a normal
these are mean ∓ 3 sd). So each band keeps its meaning whatever the shape: the tail band still
allows 0.5% where the target has 0.135%, for a gamma's short left tail and a t's long right one
alike. The bands need a target of finite sd (verdict refuses any other).

For each criterion two p-values: ``p_within`` (two one-sided tests, TOST: small when the data
show the parameter inside its band) and ``p_outside`` (small when they show it outside; both ends
counted at the observed statistic). The t reference is exact for normal per-draw statistics and
close otherwise (they are independent across draws and average n values); the calibration is
checked from K = 10, n = 50 to K = 1,000 in tests/stats/test_verdict.py. Two exceptions. The
draws' variances are skewed too far for it (chi-squares for a normal target, more for others),
and so are a skewed target's draw means, so the sd band, and the mean band of a target other
than a normal, are referred to their own simulated laws (gancheck.stats.band_reference). And
where few values fall beyond a tail threshold, the tail share's se shrinks with its count, so a
share is shown within only where the exact binomial count of K·n independent values agrees
(_tail). The mean band's error
comes from the draws' own spread, so a generator of the right mean but a wider law does not fail
it (the fault of a z test that assumes the target's sd).

The ks criterion bounds sup|F - Φ| from a grid of points: at a grid point |F - Φ| <= sup, so a
point shown outside ks shows the sup outside; between neighbouring points (1% of target mass
apart) both CDFs are monotone, so sup <= max over points + 0.01, and every point shown within
ks - 0.01 shows the sup within ks. The points' outside p-value is Bonferroni over the 99 points,
their within p-value the largest of the points' (intersection-union: no correction needed).
Standard errors of shares are floored at the binomial error of K·n independent values, so a share
that is 0 in every draw (the far tail at n = 50) is not read as known exactly.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from gancheck.stats import band_reference
from gancheck.stats.gof import MAX_ABS
from gancheck.stats.repeats import rounding_cells
from gancheck.stats.tolerance import Tolerance

CRITERIA = ("mean", "std", "ks", "tail")
#: Grid of target-CDF levels for the ks criterion, and its step (the within band's allowance).
GRID_STEP = 0.01
GRID = np.arange(1, round(1 / GRID_STEP)) * GRID_STEP
TAIL_SDS = 3.0
#: A normal's mass beyond TAIL_SDS sds on one side: the tail thresholds of any other target.
TAIL_MASS = float(special.ndtr(-TAIL_SDS))
COLUMNS = ("criterion", "estimate", "band_low", "band_high", "se", "p_within", "p_outside")


@dataclass(frozen=True)
class CriterionTest:
    criterion: str
    estimate: float  # mean error, sd error (target units); KS distance on the grid; larger tail share
    band_low: float
    band_high: float
    se: float
    p_within: float
    p_outside: float


def criteria(x: np.ndarray, *, mean: float, std: float, tolerance: Tolerance,
             target=None) -> list[CriterionTest]:
    """The four band tests on a finite (K, n) array, K >= 2, n >= 2 (module docstring).

    ``target``: a gancheck Target that is not normal (its mean and sd replace mean and std);
    None for N(mean, std)."""
    k, n = x.shape
    if target is None:
        cdf = functools.partial(_normal_cdf, mean=mean, std=std)
        tails = (mean - TAIL_SDS * std, mean + TAIL_SDS * std)
    else:
        mean, std = target.mean, target.std
        cdf = target.cdf
        tails = _tail_thresholds(target)
    _check_sd(std, target)
    df = k - 1
    cells = rounding_cells(x)
    draws_mean = x.mean(axis=1)
    variances = x.var(axis=1, ddof=1)
    # A normal target's draw means are normal, so t is exact for them; another target's are
    # referred to their own law (gancheck.stats.band_reference), as its variances are.
    mean_law = None if target is None else band_reference.mean_reference(target, k, n)
    out = [_band("mean", draws_mean - mean, -tolerance.mean * std, tolerance.mean * std, df, reference=mean_law)]
    # The variance band is tested in units of the power of two nearest the target's variance:
    # scaling by a power of two is exact, so the p-values are bit for bit those of the raw
    # variances, while the spread of the variances (their squares) cannot overflow at any scale
    # scores accept (|x| up to gof.MAX_ABS).
    unit = 4.0 ** np.round(np.log2(std))
    low, high = ((1 - tolerance.std) * std) ** 2, ((1 + tolerance.std) * std) ** 2
    sd_law = (band_reference.normal_sd_reference(k, n) if target is None
              else band_reference.sd_reference(target, k, n))
    scale = _band("std", variances / unit, low / unit, high / unit, df, reference=sd_law)
    sd = float(np.sqrt(variances.mean()))
    # Its se reported in sd units, as its estimate is (delta method: se(s) = se(s²) / 2s).
    se = scale.se * unit / (2 * sd) if sd > 0 else np.inf
    out.append(CriterionTest("std", sd - std, -tolerance.std * std, tolerance.std * std, float(se),
                             scale.p_within, scale.p_outside))
    if cells is None:
        out.append(_ks(cdf(x), tolerance.ks, df))
        out.append(_tail(x, tails, tolerance.tail, df))
    else:
        out.append(_ks_rounded(cdf(x), cdf(x - cells / 2), cdf(x + cells / 2), tolerance.ks, df))
        out.append(_tail_rounded(x, cells, tails, tolerance.tail, df))
    return out


def _check_sd(std: float, target) -> None:
    """ValueError naming the sd where the std band cannot be computed: it is tested in squared
    sds, which overflow float64 above 1.3e154 (and vanish below 1e-154). Scores take values up
    to MAX_ABS = 1e150, so sds from 1e-150 to 1e150 are judged; the scales in between are exact
    (powers of two), so the p-values are those of any other scale."""
    if 1 / MAX_ABS <= std <= MAX_ABS:
        return
    what = "std" if target is None else f"target {target.spec!r}: its sd"
    raise ValueError(f"{what}={std!r}: the tolerance's bands are tested in squared sds, which "
                     f"float64 holds for sds from {1 / MAX_ABS:g} to {MAX_ABS:g}")


def _normal_cdf(x: np.ndarray, *, mean: float, std: float) -> np.ndarray:
    return special.ndtr((x - mean) / std)


@functools.lru_cache(maxsize=64)
def _tail_thresholds(target) -> tuple[float, float]:
    """The target's quantiles at TAIL_MASS and 1 - TAIL_MASS (a mixture's cost a bisection)."""
    return tuple(float(v) for v in target.ppf(np.array([TAIL_MASS, 1.0 - TAIL_MASS])))


def _band(name: str, per_draw: np.ndarray, low: float, high: float, df: int,
          floor: np.ndarray | float = 0.0, reference=None) -> CriterionTest:
    estimate = float(per_draw.mean())
    se = max(float(per_draw.std(ddof=1)) / np.sqrt(per_draw.size), float(np.max(floor)))
    p_within, p_outside = _band_p(estimate, se, low, high, df, reference)
    return CriterionTest(name, estimate, low, high, se, float(p_within), float(p_outside))


class _StudentT:
    """Student's t on ``df`` degrees of freedom, the reference of every band but the sd band
    and a non-normal target's mean band (gancheck.stats.band_reference)."""

    symmetric = True

    def __init__(self, df):
        self.df = df

    def sf(self, x):
        return _t_sf(x, self.df)

    def cdf(self, x):
        return _t_cdf(x, self.df)


def _band_p(estimate, se, low, high, df, reference=None):
    """(p_within, p_outside) of the statistic (estimate - edge) / se against [low, high], referred
    to Student's t on ``df`` unless another ``reference`` (sf and cdf) is given; arrays broadcast."""
    law = _StudentT(df) if reference is None else reference
    with np.errstate(divide="ignore", invalid="ignore"):
        above_low = np.where(se > 0, (estimate - low) / se, np.sign(estimate - low) * np.inf)
        below_high = np.where(se > 0, (high - estimate) / se, np.sign(high - estimate) * np.inf)
        width = np.where(se > 0, (high - low) / se, np.inf)
    p_within = np.maximum(law.sf(above_low), law.cdf(-below_high))
    # Outside either end: reject when the larger one-sided statistic c is large. Its p-value
    # counts both ends at c, at whichever boundary gives more (at the upper one the lower end's
    # statistic is -T - width; a symmetric law such as t gives both the same).
    c = np.maximum(-above_low, -below_high)
    with np.errstate(invalid="ignore"):
        finite = ~np.isinf(width)
        outside = law.sf(c) + np.where(finite, law.cdf(-c - width), 0.0)  # at the upper boundary
        if not getattr(law, "symmetric", False):  # t's lower boundary gives the same sum
            outside = np.maximum(outside, law.cdf(-c) + np.where(finite, law.sf(c + width), 0.0))
    p_outside = np.minimum(1.0, outside)
    return p_within, p_outside


def _t_sf(x, df):
    """scipy.stats.t.sf(x, df), the same floats: scipy's t computes it as special.stdtr(df, -x)
    (and gives stdtr's values at ±inf and NaN), but its argument handling costs more than the
    rest of a verdict's band tests. A df that is not > 0 takes scipy's path (its NaN)."""
    return special.stdtr(df, -x) if _valid_df(df) else stats.t.sf(x, df)


def _t_cdf(x, df):
    """scipy.stats.t.cdf(x, df) as special.stdtr(df, x); see _t_sf."""
    return special.stdtr(df, x) if _valid_df(df) else stats.t.cdf(x, df)


def _valid_df(df) -> bool:
    return bool(np.all(np.asarray(df) > 0))


def _share_se(shares: np.ndarray, k: int, n: int) -> np.ndarray:
    """Draw-level se of mean shares (columns), floored at the binomial se of K·n values."""
    total = k * n
    p = (shares.mean(axis=0) * total + 0.5) / (total + 1.0)
    floor = np.sqrt(p * (1 - p) / total)
    return np.maximum(shares.std(axis=0, ddof=1) / np.sqrt(k), floor)


def _ks(cdf: np.ndarray, band: float, df: int) -> CriterionTest:
    """``cdf``: the target CDF at each value of the (K, n) draws."""
    k, n = cdf.shape
    shares = _ks_shares(cdf)
    diff = shares.mean(axis=0) - GRID
    se = _share_se(shares, k, n)
    p_within, _ = _band_p(diff, se, -(band - GRID_STEP), band - GRID_STEP, df)
    _, p_outside = _band_p(diff, se, -band, band, df)
    worst = int(np.argmax(np.abs(diff)))
    return CriterionTest("ks", float(np.abs(diff).max()), 0.0, band, float(se[worst]),
                         float(p_within.max()), float(min(1.0, GRID.size * p_outside.min())))


def _ks_shares(cdf: np.ndarray) -> np.ndarray:
    """(K, 99): each draw's share of values at or below each grid point, from their target CDF.
    Each value's cell of target mass (0 to 99, by 1%): a draw's share at or below the grid's j-th
    point is the share of its values in cells below j (cumulative cell counts)."""
    k, n = cdf.shape
    cells = np.minimum((cdf / GRID_STEP).astype(np.int64), GRID.size)
    flat = (cells + (GRID.size + 1) * np.arange(k)[:, None]).ravel()
    counts = np.bincount(flat, minlength=k * (GRID.size + 1)).reshape(k, GRID.size + 1)
    return np.cumsum(counts, axis=1)[:, :-1] / n


def _ks_rounded(cdf: np.ndarray, cdf_low: np.ndarray, cdf_high: np.ndarray, band: float, df: int) -> CriterionTest:
    """The ks criterion on rounded values (``cdf``: the target CDF at each value as written;
    ``cdf_low``, ``cdf_high``: at the ends of its cell [x - h/2, x + h/2]). A draw's true share
    below a grid point lies between the share of cells wholly below it and the share of cells
    reaching below it: shown outside needs the end of that range nearest the target outside the
    band, so rounding alone never makes a departure (a gamma's values rounded to 0 at its finite
    end). Shown within is read from the values as written, as for unrounded data."""
    k, n = cdf.shape
    within = _ks(cdf, band, df)
    surely, maybe = _ks_shares(cdf_high), _ks_shares(cdf_low)
    low, high = surely.mean(axis=0) - GRID, maybe.mean(axis=0) - GRID
    near = np.clip(0.0, low, high)   # the difference closest to 0 the cells allow
    se = np.where(near == low, _share_se(surely, k, n), _share_se(maybe, k, n))
    _, p_outside = _band_p(near, se, -band, band, df)
    worst = int(np.argmax(np.abs(near)))
    return CriterionTest("ks", float(np.abs(near).max()), 0.0, band, float(se[worst]),
                         within.p_within, float(min(1.0, GRID.size * p_outside.min())))


def _tail_rounded(x: np.ndarray, cells: np.ndarray, tails: tuple[float, float], band: float,
                  df: int) -> CriterionTest:
    """The tail criterion on rounded values: shown outside counts only the cells wholly beyond a
    threshold (a value rounded to 0 at a target's finite end may lie above its 0.135% quantile);
    shown within is read from the values as written, as for unrounded data."""
    k, n = x.shape
    within = _tail(x, tails, band, df)
    x_low, x_high = x - cells / 2, x + cells / 2
    surely = np.stack([(x_high < tails[0]).mean(axis=1), (x_low > tails[1]).mean(axis=1)], axis=1)
    estimate, se = surely.mean(axis=0), _share_se(surely, k, n)
    _, p_outside = _band_p(estimate, se, -np.inf, band, df)
    worst = int(np.argmax(estimate))
    return CriterionTest("tail", float(estimate[worst]), 0.0, band, float(se[worst]),
                         within.p_within, float(min(1.0, 2 * p_outside.min())))


def exact_count_p(shares: np.ndarray, k: int, n: int, edge) -> np.ndarray:
    """P(at most the observed count beyond a threshold) for K·n independent values whose share
    beyond it is ``edge``: the exact binomial tail. A tail share is shown within its band only
    where this is small as well as the t statistic's p-value. Where few values are expected
    beyond the threshold (5 in 1,000 at the band's edge) the share's se shrinks with its count,
    and t alone called a generator at the edge within in 0.12 of cases at K = 20, n = 50. The t
    part stays for draws whose values are not independent."""
    return special.bdtr(np.rint(shares * (k * n)), k * n, edge)


def _tail(x: np.ndarray, tails: tuple[float, float], band: float, df: int) -> CriterionTest:
    """``tails``: the lower and upper thresholds (mean -/+ 3 sd for a normal target)."""
    k, n = x.shape
    shares = np.stack([(x < tails[0]).mean(axis=1), (x > tails[1]).mean(axis=1)], axis=1)
    estimate = shares.mean(axis=0)
    se = _share_se(shares, k, n)
    p_within, p_outside = _band_p(estimate, se, -np.inf, band, df)
    p_within = np.maximum(p_within, exact_count_p(estimate, k, n, band))
    worst = int(np.argmax(estimate))
    return CriterionTest("tail", float(estimate[worst]), 0.0, band, float(se[worst]),
                         float(p_within.max()), float(min(1.0, 2 * p_outside.min())))

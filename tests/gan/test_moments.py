"""Property tests for get_moments.

The oracle throughout is scipy/numpy on the same values in float64:
``np.mean``, population ``np.std`` (ddof=0), ``scipy.stats.skew(bias=True)`` and
``scipy.stats.kurtosis(fisher=True, bias=True)``.

The seed divides by ``std + 0.001`` instead of ``std``. With ``s`` the population std and
``r = s / (s + 0.001)``, the seed's z-scores are ``r`` times the standard ones, so exactly

    skew_seed       = skew_scipy * r**3
    kurt_seed + 3   = (kurt_scipy + 3) * r**4

(``seed_oracle`` below). Tests compare against these corrected values within a floating-point
tolerance derived from the usual summation error bound, and separately bound the uncorrected
difference with ``1 - r**k <= k * (1 - r) = k * 0.001 / (s + 0.001)`` (Bernoulli) and the sharp
bounds on sample skewness and kurtosis of Dalén (1987), "Algebraic bounds on standardized sample
moments", Statistics & Probability Letters 5, 329-331:
``|skew| <= (n - 2) / sqrt(n - 1)`` and ``kurt + 3 <= n - 2 + 1 / (n - 1)``.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gancheck.gan.moments import ZSCORE_EPS, get_moments, seed_get_moments

EPS = 0.001  # the seed's "+ 0.001" (docs/seed.md: z-scores divide by std + 0.001)
DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
# Unit roundoff u = 2**-p (p = 24 for float32, 53 for float64).
UNIT_ROUNDOFF = {torch.float32: 2.0 ** -24, torch.float64: 2.0 ** -53}
# Largest |x| / std allowed in the comparisons: beyond this, float32 cancellation in x - mean
# (relative error ~ u * max|x| / std) is what a test would measure, not get_moments.
MAX_CANCELLATION = 1e3

PROPERTY = settings(max_examples=150, deadline=None)


def test_zscore_eps_is_the_seeds():
    # docs/seed.md: z-scores divide by std + 0.001.
    assert ZSCORE_EPS == 0.001


# --------------------------------------------------------------------------- oracles and data


def seed_oracle(x: np.ndarray) -> np.ndarray:
    """The seed's four moments computed from scipy's, via the exact +0.001 correction."""
    x = np.asarray(x, dtype=np.float64)
    s = np.std(x)  # population std, ddof=0 (docs/seed.md: the population std, ddof 0)
    r = s / (s + EPS)
    skew = scipy.stats.skew(x, bias=True) * r ** 3
    kurt = (scipy.stats.kurtosis(x, fisher=True, bias=True) + 3.0) * r ** 4 - 3.0
    return np.array([np.mean(x), s, skew, kurt])


def tolerance(x: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Absolute tolerance for each of (mean, std, skew, kurtosis) of ``x`` in ``dtype``.

    First-order rounding analysis (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,
    §4.2: a sum of n terms has relative error at most gamma_n ~ n*u in the sum of |terms|). The
    differences x - mean carry a relative error ~ n*u*cond with cond = 1 + max|x| / std; the std
    inherits it, and mean(z**k) inherits k times it, weighted by mean(|z|**k). A safety factor of 4
    covers the oracle's own float64 rounding and the few operations beyond the sums.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    u = UNIT_ROUNDOFF[dtype]
    s = np.std(x)
    z = (x - np.mean(x)) / (s + EPS)
    cond = 1.0 + np.max(np.abs(x)) / s
    rel = 4.0 * n * u * cond
    summed = np.array([
        4.0 * n * u * np.mean(np.abs(x)),
        rel * s,
        3.0 * rel * np.mean(np.abs(z) ** 3),
        4.0 * rel * np.mean(z ** 4),
    ])
    # Plus the final rounding of each result (kurtosis = mean(z**4) - 3 rounds at magnitude ~3).
    final = 4.0 * u * np.array([abs(np.mean(x)), s, abs(np.mean(z ** 3)), 3.0 + np.mean(z ** 4)])
    return summed + final


def assert_moments_close(actual: torch.Tensor, expected: np.ndarray, tol: np.ndarray) -> None:
    got = actual.detach().to(torch.float64).numpy()
    err = np.abs(got - expected)
    assert np.all(err <= tol), f"got {got}, expected {expected}, |err| {err} > tol {tol}"


@st.composite
def samples(draw, dtype=torch.float64, min_size=3, max_size=300):
    """A 1-D sample of random length >= 3 with sensible magnitudes.

    Values are loc + scale * unit, unit in [-10, 10] and scale 10**k for k in -4..3, rounded to
    ``dtype`` (the oracle then sees exactly the rounded values). Near-constant samples, where the
    spread is lost to cancellation, are filtered out by MAX_CANCELLATION.
    """
    unit = draw(st.lists(st.floats(-10, 10, allow_nan=False, allow_infinity=False),
                         min_size=min_size, max_size=max_size))
    scale = 10.0 ** draw(st.integers(-4, 3))
    loc = scale * draw(st.floats(-50, 50, allow_nan=False, allow_infinity=False))
    x = (loc + scale * np.asarray(unit)).astype(DTYPES[dtype])
    x64 = x.astype(np.float64)
    s = np.std(x64)
    # Spread at least scale / 1000 (no under-flowing powers: scipy's m3 / m2**1.5 would be 0 / 0 for
    # a spread of 1e-148) and at least max|x| / MAX_CANCELLATION.
    assume(s >= 1e-3 * scale and np.max(np.abs(x64)) <= MAX_CANCELLATION * s)
    return x


# --------------------------------------------------------------------------- agreement with scipy


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@PROPERTY
@given(data=st.data())
def test_agrees_with_scipy_after_the_eps_correction(dtype, data):
    x = data.draw(samples(dtype))
    expected = seed_oracle(x)  # scipy on the same (already rounded) values, corrected for + 0.001
    assert_moments_close(get_moments(torch.from_numpy(x)), expected, tolerance(x, dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@PROPERTY
@given(data=st.data())
def test_uncorrected_difference_from_scipy_is_bounded(dtype, data):
    x = data.draw(samples(dtype))
    x64 = x.astype(np.float64)
    n = x.size
    s = np.std(x64)
    sk = scipy.stats.skew(x64, bias=True)
    ku = scipy.stats.kurtosis(x64, fisher=True, bias=True)
    got = get_moments(torch.from_numpy(x)).to(torch.float64).numpy()
    tol = tolerance(x, dtype)
    # mean and std are unaffected by the + 0.001 (only z is).
    assert abs(got[0] - np.mean(x64)) <= tol[0]
    assert abs(got[1] - s) <= tol[1]
    # 1 - r**k <= k * (1 - r) = k * eps / (s + eps), r = s / (s + eps) (Bernoulli's inequality).
    shrink = EPS / (s + EPS)
    # Dalén (1987): |skew| <= (n - 2) / sqrt(n - 1) and kurt + 3 <= n - 2 + 1 / (n - 1).
    skew_max = (n - 2) / math.sqrt(n - 1)
    kurt3_max = n - 2 + 1 / (n - 1)
    assert abs(sk) <= skew_max * (1 + 1e-9)
    assert 0 < ku + 3 <= kurt3_max * (1 + 1e-9)
    # The seed's skew and kurtosis are scipy's shrunk towards (0, -3) by that factor: never further
    # than the data-free bound, and never overshooting scipy's value.
    assert abs(got[2] - sk) <= 3 * shrink * abs(sk) + tol[2]
    assert abs(got[2] - sk) <= 3 * shrink * skew_max + tol[2]
    assert abs(got[2]) <= abs(sk) + tol[2]
    assert abs(got[3] - ku) <= 4 * shrink * (ku + 3) + tol[3]
    assert abs(got[3] - ku) <= 4 * shrink * kurt3_max + tol[3]
    assert got[3] <= ku + tol[3]


def test_eps_effect_at_the_seeds_target_is_below_half_a_percent():
    # For the seed's target std 1.25 (docs/seed.md), r = 1.25 / 1.251: the seed's skew is scipy's
    # times r**3 and its kurtosis + 3 is scipy's times r**4, i.e. 0.24 % and 0.32 % smaller.
    x = np.random.default_rng(20261127).normal(4.0, 1.25, size=500)
    s = np.std(x)
    r = s / (s + EPS)
    got = get_moments(torch.from_numpy(x)).numpy()
    sk = scipy.stats.skew(x, bias=True)
    ku3 = scipy.stats.kurtosis(x, fisher=True, bias=True) + 3.0
    assert got[2] == pytest.approx(sk * r ** 3, rel=1e-9)
    assert got[3] + 3.0 == pytest.approx(ku3 * r ** 4, rel=1e-9)
    assert 1 - r ** 4 < 0.005  # 4 * 0.001 / 1.25 = 0.0032 to first order


def test_hand_computed_example():
    # x = (0, 0, 3): mean 1, population std sqrt(2) (np.std), so r = sqrt(2) / (sqrt(2) + 0.001);
    # standardized values (-1, -1, 2) / sqrt(2) give skew (1 + 1 - 8) / (3 * (-2 * sqrt(2))) =
    # 1 / sqrt(2) (scipy.stats.skew(bias=True)) and kurtosis (1 + 1 + 16) / (3 * 4) - 3 = -1.5.
    s = math.sqrt(2.0)
    r = s / (s + 0.001)
    got = get_moments(torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)).numpy()
    expected = [1.0, s, (1 / math.sqrt(2)) * r ** 3, 1.5 * r ** 4 - 3.0]
    np.testing.assert_allclose(got, expected, rtol=1e-14)


# --------------------------------------------------------------------------- invariances


@PROPERTY
@given(x=samples(torch.float64), c=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))
def test_shift_moves_only_the_mean(x, c):
    before = get_moments(torch.from_numpy(x)).numpy()
    after = get_moments(torch.from_numpy(x + c)).numpy()
    # Oracle: mean(x + c) = mean(x) + c; x + c - mean(x + c) = x - mean(x), so std, skew and
    # kurtosis are unchanged. Rounding: x + c has error u * (|x| + |c|); the tolerance is that of
    # the shifted sample (which sees the larger magnitudes) plus that of the original.
    tol = tolerance(x + c, torch.float64) + tolerance(x, torch.float64)
    tol[0] += 4 * UNIT_ROUNDOFF[torch.float64] * abs(c)
    expected = before + np.array([c, 0.0, 0.0, 0.0])
    assert np.all(np.abs(after - expected) <= tol), (after, expected, tol)


@PROPERTY
@given(x=samples(torch.float64),
       a=st.floats(1e-3, 1e3).flatmap(lambda m: st.sampled_from([m, -m])))
def test_scale_scales_mean_and_std_and_skew_up_to_eps(x, a):
    before = get_moments(torch.from_numpy(x)).numpy()
    after = get_moments(torch.from_numpy(a * x)).numpy()
    s = np.std(x)
    tol_x, tol_ax = tolerance(x, torch.float64), tolerance(a * x, torch.float64)
    # mean(a x) = a mean(x); population std(a x) = |a| std(x) (np.std's definition).
    assert abs(after[0] - a * before[0]) <= tol_ax[0] + abs(a) * tol_x[0]
    assert abs(after[1] - abs(a) * before[1]) <= tol_ax[1] + abs(a) * tol_x[1]
    # The only departure from exact invariance is the + 0.001: with r(s) = s / (s + 0.001),
    # skew_seed(a x) / skew_seed(x) = sign(a) * (r(|a| s) / r(s))**3 and
    # (kurt_seed(a x) + 3) / (kurt_seed(x) + 3) = (r(|a| s) / r(s))**4 (seed_oracle's identity).
    ratio = (abs(a) * s / (abs(a) * s + EPS)) / (s / (s + EPS))
    assert abs(after[2] - np.sign(a) * ratio ** 3 * before[2]) <= tol_ax[2] + ratio ** 3 * tol_x[2]
    assert abs((after[3] + 3) - ratio ** 4 * (before[3] + 3)) <= tol_ax[3] + ratio ** 4 * tol_x[3]
    # Quantified: |ratio - 1| <= 0.001 * |1 - 1/|a|| / s (from r(|a|s)/r(s) = (s+eps)/(s+eps/|a|)),
    # so for s >> 0.001 skew and kurtosis are scale-invariant to within 3x and 4x that.
    # (+ 8 ulps of 1: ratio is itself computed in float64, so when |a| is near 1 its own rounding,
    # a few ulps, is larger than the bound's relative slack; found by hypothesis: a = 0.99999.)
    assert abs(ratio - 1) <= EPS * abs(1 - 1 / abs(a)) / s * (1 + 1e-9) + 8 * np.finfo(float).eps
    if a < 0:
        # a < 0 flips the sign of skew (scipy.stats.skew(-x) == -scipy.stats.skew(x)).
        assert np.sign(after[2]) == -np.sign(before[2]) or abs(before[2]) <= tol_x[2]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@PROPERTY
@given(data=st.data())
def test_permuting_the_last_dimension_changes_nothing(dtype, data):
    x = data.draw(samples(dtype))
    perm = data.draw(st.permutations(range(x.size)))
    before = get_moments(torch.from_numpy(x)).to(torch.float64).numpy()
    after = get_moments(torch.from_numpy(x[list(perm)])).to(torch.float64).numpy()
    # Oracle: every moment is a symmetric function of the values; only the summation order
    # changes, so both results lie within the rounding tolerance of the exact value.
    assert np.all(np.abs(after - before) <= 2 * tolerance(x, dtype))


# --------------------------------------------------------------------------- batching


@st.composite
def batches(draw):
    lead = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    n = draw(st.integers(3, 40))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.normal(rng.uniform(-10, 10), rng.uniform(0.1, 5), size=(*lead, n))
    return torch.from_numpy(x).to(dtype), rng


@PROPERTY
@given(batch=batches(), data=st.data())
def test_changing_one_row_leaves_the_others_bit_identical(batch, data):
    x, rng = batch
    rows = x.reshape(-1, x.shape[-1])
    i = data.draw(st.integers(0, rows.shape[0] - 1))
    changed = rows.clone()
    changed[i] = torch.from_numpy(rng.normal(0, 100, size=x.shape[-1])).to(x.dtype)
    if data.draw(st.booleans()):
        changed[i] = changed[i, 0]  # a constant row takes a different path for its mean
    before = get_moments(x).reshape(-1, 4)
    after = get_moments(changed.reshape(x.shape)).reshape(-1, 4)
    others = [j for j in range(rows.shape[0]) if j != i]
    # Each row is reduced on its own: the other rows' results are the same bits.
    assert torch.equal(before[others], after[others])


@PROPERTY
@given(batch=batches())
def test_batched_over_leading_dims_matches_looping(batch):
    x, _ = batch
    batched = get_moments(x)
    assert batched.shape == (*x.shape[:-1], 4)
    looped = torch.stack([get_moments(row) for row in x.reshape(-1, x.shape[-1])])
    # Same arithmetic per row; only the reduction kernel may sum in another order, so allow a
    # few units in the last place (relative 8 u, absolute 8 u for the moments near 0).
    u = UNIT_ROUNDOFF[x.dtype]
    torch.testing.assert_close(batched.reshape(-1, 4), looped, rtol=8 * u, atol=8 * u)


# --------------------------------------------------------------------------- constant rows


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@PROPERTY
@given(c=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
       n=st.integers(1, 600), others=st.integers(0, 3))
def test_constant_row_gives_zero_std_zero_skew_kurtosis_minus_three(dtype, c, n, others):
    rng = np.random.default_rng(n)
    x = torch.from_numpy(rng.normal(4.0, 1.25, size=(others + 1, n))).to(dtype)
    x[0] = c
    x.requires_grad_(True)
    m = get_moments(x)
    # Oracle: for x_i = c, mean = c and x_i - mean = 0, so std = 0, z = 0 / 0.001 = 0, skew = 0,
    # kurtosis = 0 - 3 (the seed's formulas; scipy's would be nan here, 0/0).
    assert m.dtype == dtype
    assert m[0].tolist() == [float(torch.tensor(c, dtype=dtype)), 0.0, 0.0, -3.0]
    m.sum().backward()
    assert torch.isfinite(x.grad).all()
    # d(sum of moments)/dx_i on a constant row: d mean/dx_i = 1/n; std's gradient is routed to 0 at
    # var == 0; d skew/dx_i = 3 mean(z**2 dz/dx_i) = 0 and d kurt/dx_i = 4 mean(z**3 dz/dx_i) = 0
    # because z = 0.
    torch.testing.assert_close(x.grad[0], torch.full((n,), 1.0 / n, dtype=dtype))


def test_constant_row_where_the_rounded_mean_is_not_the_constant():
    # sum of 7 copies of float32(0.1), divided by 7, rounds to 0.1 + 1 ulp in float32 (found by
    # the constant-row property above), which used to leave std ~7e-9 instead of 0.
    x = torch.full((7,), 0.1, dtype=torch.float32)
    assert get_moments(x).tolist() == [float(x[0]), 0.0, 0.0, -3.0]


# --------------------------------------------------------------------------- autograd


@pytest.mark.parametrize("shape", [(5,), (3, 7), (2, 2, 4)])
def test_gradcheck_float64(shape):
    gen = torch.Generator().manual_seed(sum(shape))
    x = (torch.randn(shape, generator=gen, dtype=torch.float64) * 1.25 + 4.0).requires_grad_(True)
    # Analytical gradients equal central finite differences (torch.autograd.gradcheck's oracle).
    assert torch.autograd.gradcheck(get_moments, (x,), eps=1e-6, atol=1e-5, rtol=1e-4)


# --------------------------------------------------------------------------- dtype and input checks


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_preserved(dtype):
    x = torch.linspace(0, 1, 11, dtype=dtype).reshape(1, 11)
    out = get_moments(x)
    assert out.dtype == dtype
    assert out.shape == (1, 4)


@pytest.mark.parametrize("bad", [[1.0, 2.0, 3.0], np.array([1.0, 2.0, 3.0]), 3.0, None],
                         ids=["list", "ndarray", "float", "None"])
def test_non_tensor_raises_value_error(bad):
    with pytest.raises(ValueError, match="must be a torch.Tensor, got " + type(bad).__name__):
        get_moments(bad)


@pytest.mark.parametrize("shape", [(0,), (3, 0), ()], ids=["empty", "empty-rows", "scalar"])
def test_empty_last_dimension_raises_value_error(shape):
    pattern = "non-empty last dimension, got shape " + re.escape(repr(shape))
    with pytest.raises(ValueError, match=pattern):
        get_moments(torch.zeros(shape))


def test_integer_tensor_raises_value_error():
    with pytest.raises(ValueError, match="floating dtype, got torch.int64"):
        get_moments(torch.tensor([1, 2, 3]))


def test_the_seeds_verbatim_get_moments_agrees_with_the_batched_one():
    # seed_get_moments is the blog's code (the benchmark's seed-loop baseline); oracle: scipy via
    # seed_oracle, and the batched get_moments, in float64.
    x = torch.from_numpy(np.random.default_rng(3).normal(4.0, 1.25, size=(10, 500)))
    verbatim = seed_get_moments(x).numpy()
    for row, expected in zip(x.numpy(), verbatim):
        np.testing.assert_allclose(expected, seed_oracle(row), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(verbatim, get_moments(x).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row", [
    [1e20, -1e20, 0.0, 3.0],            # the variance overflows float32: std inf, z = 0
    [3e38, -3e38, 1.0, 2.0],
    [1e30, 1.0, 2.0, 3.0],
    [math.inf, 1.0, 2.0],               # the mean is inf, the rest NaN (inf - inf)
    [math.inf, math.inf, math.inf],
    [3e38, 3e38, 3e38],                 # constant, but its float32 sum overflows: the mean is inf
    [-math.inf, 1.0, 2.0],
    [math.nan, 1.0, 2.0],
])
def test_non_finite_results_are_the_seeds(row):
    # Oracle: the seed's own per-vector code (seed_get_moments, verbatim from the blog post), whose
    # z = diffs / (std + 0.001) is 0 where std overflows to inf, so skew 0 and kurtosis -3.
    x = torch.tensor([row], dtype=torch.float32)
    torch.testing.assert_close(get_moments(x), seed_get_moments(x), equal_nan=True, rtol=0, atol=0)

"""Repeated values across draws against the chance count at the data's resolution."""
from __future__ import annotations

import numpy as np
import pytest

from gancheck.stats.repeats import pooled, repeats
from gancheck.stats.windows import sliding_min


@pytest.mark.parametrize("law", ["normal", "t3", "uniform"])
@pytest.mark.parametrize("grid", [0.1, 0.01, 0.05, 0.5, 1.0])
def test_rounding_gives_the_chance_count(law, grid):
    # Independent draws rounded to a grid: the observed count of cross-draw equal pairs is its
    # chance expectation up to the histogram's few per cent (K = 40, n = 500: C is in the
    # hundreds of thousands, its own noise well under 1%), far below the tolerance's factor 2.
    # For U(0, 1) on a 0.1 grid E overstates the count (the end cells 0 and 1 hold half a cell:
    # sum p² = 9(0.1)² + 2(0.05)² = 0.095 against h·∫f² = 0.1), which only makes the test safer.
    rng = np.random.default_rng(int(grid * 1000) + len(law))
    x = {"normal": rng.normal(4, 1.25, (40, 500)), "t3": rng.standard_t(3, (40, 500)),
         "uniform": rng.uniform(0, 1, (40, 500))}[law]
    found = repeats(np.round(x / grid) * grid)
    # Halves and integers are float32 numbers too: their grid, not float32's spacing, is the cell.
    assert found.resolution in ("grid", "mixed") and 0.75 < found.ratio < 1.15
    assert found.pvalue > 0.5


def test_float32_output_and_float64_values():
    rng = np.random.default_rng(3)
    x = rng.normal(4, 1.25, (100, 500))
    continuous = repeats(x)
    # float64 draws off any grid: no chance repeat (E = 0), none seen, p = 1.
    assert continuous.resolution == "continuous" and continuous.count == 0 and continuous.pvalue == 1.0
    # float32: chance repeats at the float32 spacing (2^-21 near 4, 2^-22 below 4): about
    # P · mean(h f) = 1.25e9 · 1.1e-7 = 130 pairs (by hand); seen about that many.
    f32 = repeats(x.astype(np.float32).astype(float))
    assert f32.resolution == "float32" and 50 < f32.expected < 250 and f32.pvalue > 0.05


def test_a_pool_is_caught_whatever_its_resolution():
    rng = np.random.default_rng(4)
    pool = rng.normal(4, 1.25, 1000)
    for values in (pool, pool.astype(np.float32).astype(float), np.round(pool, 3)):
        found = repeats(rng.choice(values, (100, 500)))
        assert found.ratio > 4 and found.pvalue < 1e-10 and found.share > 0.9


def _hard_samples(rng):
    """Continuous, rounded, float32, collapsed, half-collapsed and signed-zero (K, n) draws."""
    x = rng.normal(4, 1.25, (30, 200))
    half = x.copy()
    half[:, :100] = half[0, :100]
    return {"continuous": x, "rounded": np.round(x, 1), "float32": x.astype(np.float32).astype(float),
            "collapsed": np.repeat(x[:1], 30, axis=0), "half_collapsed": half,
            "signed_zeros": rng.choice([-0.0, 0.0, 1.0, 2.5], (30, 200))}


def test_pooled_is_the_stable_sort(rng):
    # Oracles: numpy's stable argsort (the order the pooled statistics assume: equal values in
    # index order) and np.unique's counts. Bytes compared, so 0.0 and -0.0 must land as numpy
    # puts them.
    for name, x in _hard_samples(rng).items():
        found = pooled(x)
        order = np.argsort(x.ravel(), kind="stable")
        assert np.array_equal(found.order, order), name
        assert found.sorted.tobytes() == x.ravel()[order].tobytes(), name
        assert np.array_equal(found.counts, np.unique(x, return_counts=True)[1]), name


def test_sliding_min_is_each_windows_minimum(rng):
    # Oracle: numpy's own window view, reduced window by window.
    for size in (1, 2, 31, 32, 33, 64, 1000):
        a = rng.random(size) if size % 2 else rng.integers(-50, 50, size)  # floats and integers
        for w in {w for w in (1, 2, 32, size) if w <= size}:
            expected = np.lib.stride_tricks.sliding_window_view(a, w).min(axis=1)
            assert np.array_equal(sliding_min(a, w), expected), (size, w)


def _written(x: np.ndarray, fmt: str) -> np.ndarray:
    """``x`` as a text file holds it: each value printed with ``fmt`` and read back as float64.
    'float32' prints the float32 number's shortest repr, as pandas writes a float32 column."""
    if fmt == "float32":
        return np.array([float(str(v)) for v in x.astype(np.float32).ravel()]).reshape(x.shape)
    return np.char.mod(fmt, x).astype(float)


#: How users write samples: fixed decimals (printf's %f is 6), significant digits, and float32
#: output printed as text (shortest repr, or 9 digits: both round-trip the float32 number).
WRITTEN = ["%.4f", "%f", "%.7f", "%.8f", "%.9f", "%.10f", "%.11f", "%.7g", "%.9g", "float32"]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", WRITTEN)
def test_numbers_written_as_text_are_not_called_memorised(fmt):
    # Independent N(4, 1.25) draws (K = 100, n = 500, the main job's shape) written as text. The
    # decimals are far finer than the gaps between values (1e-6 against about 2e-4 at %f), so no
    # grid shows in the gaps; without reading the digits, E came out 0 or a third of C and such
    # files were called memorised (p = 0). Under H0 the test rejects at most alpha: with the
    # tolerance's factor 2 it hardly ever rejects, so 60 replicates bound it well (binomial: at
    # alpha = 0.05 a calibrated test rejects more than 9 of 60 with probability under 0.5%).
    rejected, ratios = 0, []
    for seed in range(60):
        x = _written(np.random.default_rng(seed).normal(4, 1.25, (100, 500)), fmt)
        found = repeats(x)
        rejected += found.pvalue < 0.05
        ratios.append(found.ratio)
    assert rejected <= 9, (fmt, rejected)
    if fmt in ("%.4f", "%f", "%.7g"):
        # Where the written decimal is the resolution (coarser than float32's spacing of 4.8e-7
        # near 4), the chance count is right, not only safe: C / E near 1 (median of 60).
        assert 0.85 < np.median(ratios) < 1.15, (fmt, np.median(ratios))


#: Samples far from 0 relative to their sd: float64 draws, whose own spacing is then the chance
#: cell (1.9e-9 near 1e7, 1.1e-13 near 1000), and %f text of 13 significant digits (1e6 with 6
#: decimals), read as decimals to 15 digits. Both were called memorised (E = 0, p = 0) in up to
#: half of the replicates.
FAR_FROM_ZERO = {"float64 N(1e7, 1)": (1e7, 1.0, None), "float64 N(-1000, 0.001)": (-1000.0, 0.001, None),
                 "%f N(1e6, 100)": (1e6, 100.0, "%f")}


@pytest.mark.slow
@pytest.mark.parametrize("case", FAR_FROM_ZERO)
def test_values_far_from_zero_are_not_called_memorised(case):
    # As test_numbers_written_as_text_are_not_called_memorised: 60 replicates of K = 100, n = 500,
    # at most 9 rejections at alpha = 0.05 (binomial, under 0.5% for a calibrated test).
    mean, sd, fmt = FAR_FROM_ZERO[case]
    rejected = 0
    for seed in range(60):
        x = np.random.default_rng(seed).normal(mean, sd, (100, 500))
        found = repeats(x if fmt is None else _written(x, fmt))
        rejected += found.pvalue < 0.05
    assert rejected <= 9, (case, rejected)


def test_a_pool_far_from_zero_is_still_caught():
    # 1,000 float64 values near 1e7 re-emitted across 100 draws: about 1.2e6 repeated pairs
    # against a chance count under 1 (P · h · ∫f² = 1.24e9 · 1.9e-9 · 0.28, by hand).
    rng = np.random.default_rng(7)
    found = repeats(rng.choice(rng.normal(1e7, 1.0, 1000), (100, 500)))
    assert found.expected < 1.0 and found.ratio > 1e5 and found.pvalue < 1e-10


@pytest.mark.parametrize("fmt", ["%f", "%.9g", "float32"])
def test_a_pool_written_as_text_is_still_caught(fmt):
    # 1,000 values re-emitted across 100 draws: C is thousands of times E at any resolution read.
    rng = np.random.default_rng(5)
    pool = rng.normal(4, 1.25, 1000)
    found = repeats(_written(rng.choice(pool, (100, 500)), fmt))
    assert found.ratio > 100 and found.pvalue < 1e-10


def test_float64_output_is_not_read_as_decimals():
    # 17 significant digits: no decimal place within the 15 read (the cells are float64's spacing).
    from gancheck.stats.decimals import decimal_cells
    v = np.sort(np.random.default_rng(6).normal(4, 1.25, 5000))
    assert decimal_cells(v, np.ones(v.size, dtype=bool)) is None
    # Written to 3 decimals: cells of 0.001 (a value ending in 0 takes its neighbours' place).
    w = np.unique(np.round(v, 3))
    cells, float32_text = decimal_cells(w, np.ones(w.size, dtype=bool))
    assert np.allclose(cells, 1e-3, rtol=0, atol=1e-15) and float32_text


def test_significant_digits_have_cells_that_grow_with_each_power_of_ten():
    # Two significant digits (printf's %.2g) of N(100, 15): "99" sits in a cell of 1, "1.1e+02"
    # (110) in a cell of 10 (by hand). The gaps (1) and the places of the neighbours (0) showed
    # only the cells of 1, so the chance count was a third of the observed one and independent
    # draws read as memorised (C / E about 3).
    from gancheck.stats.repeats import resolution
    v = np.sort(_written(np.random.default_rng(8).normal(100, 15, 2000), "%.2g"))
    new_value = np.ones(v.size, dtype=bool)
    new_value[1:] = v[1:] != v[:-1]
    cells, kind = resolution(v[None, :], v, new_value)
    assert kind == "grid" and np.array_equal(cells, np.where(v >= 100, 10.0, 1.0))
    # One decimal of U(0, 1): the lone 1.0 is one decimal too (cell 0.1), not one digit (cell 1).
    u = np.sort(np.round(np.random.default_rng(9).uniform(0, 1, 2000), 1))
    new_value = np.ones(u.size, dtype=bool)
    new_value[1:] = u[1:] != u[:-1]
    assert np.allclose(resolution(u[None, :], u, new_value)[0], 0.1, rtol=1e-12)
    # A value of 1e-20 is no whole number: written to 22 places, its cell is 1e-22.
    w = np.sort(np.round(np.random.default_rng(10).normal(0, 1e-20, 500), 22))
    new_value = np.ones(w.size, dtype=bool)
    new_value[1:] = w[1:] != w[:-1]
    assert np.allclose(resolution(w[None, :], w, new_value)[0], 1e-22, rtol=1e-9)


#: Significant digits at several locations and scales: (mean, sd, format).
SIGNIFICANT = {"N(10, 2) %.2g": (10.0, 2.0, "%.2g"), "N(100, 15) %.2g": (100.0, 15.0, "%.2g"),
               "N(4, 1.25) %.2g": (4.0, 1.25, "%.2g"), "N(1000, 200) %.3g": (1000.0, 200.0, "%.3g"),
               "N(-0.004, 0.002) %.2g": (-0.004, 0.002, "%.2g")}


@pytest.mark.slow
@pytest.mark.parametrize("case", SIGNIFICANT)
def test_significant_digits_are_not_called_memorised(case):
    # As test_numbers_written_as_text_are_not_called_memorised: 60 replicates of K = 100, n = 500,
    # at most 9 rejections at alpha = 0.05 (binomial, under 0.5% for a calibrated test). Before
    # the cells grew with each power of 10, the first two were rejected in every replicate.
    mean, sd, fmt = SIGNIFICANT[case]
    rejected, ratios = 0, []
    for seed in range(60):
        found = repeats(_written(np.random.default_rng(seed).normal(mean, sd, (100, 500)), fmt))
        rejected += found.pvalue < 0.05
        ratios.append(found.ratio)
    assert rejected <= 9, (case, rejected)
    # The chance count is right, not only safe: within the histogram's misjudgement of E
    # (module docstring of gancheck.stats.repeats; here the coarse cells of 1 beside 0.1 at
    # N(10, 2) put C / E near 0.85).
    assert 0.75 < np.median(ratios) < 1.15, (case, np.median(ratios))

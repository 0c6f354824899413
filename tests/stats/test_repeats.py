"""Repeated values across draws against the chance count at the data's resolution."""
from __future__ import annotations

import numpy as np
import pytest

from gancheck.stats.repeats import repeats


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

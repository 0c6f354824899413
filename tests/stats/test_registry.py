"""Every diversity test's registry description names the statistic its code computes."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gancheck.stats.diversity import diversity
from gancheck.stats.judge import judge
from gancheck.stats.registry import DIVERSITY_TESTS, lookup


def icc(x: np.ndarray) -> float:
    """ICC(1), columns as groups, rows as replicates: (MSB - MSW) / (MSB + (r - 1) MSW), written
    out from McGraw & Wong (1996), case 1."""
    r, g = x.shape
    means = x.mean(axis=0)
    msb = r * ((means - x.mean()) ** 2).sum() / (g - 1)
    msw = ((x - means) ** 2).sum() / (g * (r - 1))
    return (msb - msw) / (msb + (r - 1) * msw)


def test_every_diversity_test_is_tied_to_an_oracle():
    assert {t.name for t in DIVERSITY_TESTS} == {"fixed_coordinates", "reused_values", "heterogeneity"}


def test_descriptions_name_what_the_code_computes():
    rng = np.random.default_rng(4)
    # Rounded to 1 decimal so that values repeat across draws (the repeats ratio is then finite).
    x = np.round(rng.normal(4, 1.25, (6, 40)) + 0.5 * rng.normal(0, 1, (1, 40)), 1)
    rows = judge(x).set_index("test")
    result = diversity(x)
    for test in DIVERSITY_TESTS:
        assert test.statistic and test.statistic in test.description, test.name
    fixed, reused, hetero = (lookup(n) for n in ("fixed_coordinates", "reused_values", "heterogeneity"))
    # fixed_coordinates: "Kruskal–Wallis H with coordinates as groups" (scipy.stats.kruskal, which
    # corrects for ties as the code does) and "statistic the fixed share ICC(1)" (by hand).
    assert "Kruskal–Wallis H with coordinates as groups" in fixed.description
    assert result.coordinates_statistic == pytest.approx(stats.kruskal(*x.T).statistic, rel=1e-10)
    assert rows.loc["fixed_coordinates", "statistic"] == pytest.approx(icc(x), rel=1e-10)
    # heterogeneity: "Kruskal–Wallis H with draws as groups" and "ICC(1) with draws as groups".
    assert "Kruskal–Wallis H with draws as groups" in hetero.description
    assert result.heterogeneity_statistic == pytest.approx(stats.kruskal(*x).statistic, rel=1e-10)
    assert rows.loc["heterogeneity", "statistic"] == pytest.approx(icc(x.T), rel=1e-10)
    # reused_values: "pairs of equal values across draws over their chance count": the count by
    # brute force over every pair of draws, divided by the stored chance count.
    assert "pairs of equal values across draws" in reused.description
    brute = sum(int((x[a][:, None] == x[b][None, :]).sum()) for a in range(6) for b in range(a + 1, 6))
    assert result.repeats_count == brute
    assert rows.loc["reused_values", "statistic"] == pytest.approx(brute / result.repeats_expected, rel=1e-12)
    # No description still names the statistic the old reuse test printed.
    assert not any("KS D" in t.description or "Cramér" in t.description for t in DIVERSITY_TESTS)

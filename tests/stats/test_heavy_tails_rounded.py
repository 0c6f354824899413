"""Rounded samples of heavy-tailed targets keep their rounded forms: the far tails join the end
cells of the lattice, as far out as the sample can reach them (grouped_ks.fitting_tail)."""
import math

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import grouped_ks, grouped_simulated, targeting
from gancheck.stats.scoring import score


def _cells(law, tail: float, h: float) -> float:
    return (law.ppf(1 - tail) - law.ppf(tail)) / h


def test_the_tail_joined_by_hand():
    # t(5) to one decimal: between its 1e-12 quantiles (scipy.stats.t.ppf) lie about 4,900 cells,
    # more than a table affords (2,500), so at n = 200 the mass beyond the 1e-7 quantiles joins
    # the end cells: the coarsest power of ten with 2 n tail <= 1e-4 (4e-5 here), about 370 cells.
    law, plan = stats.t(5), targeting.resolve("t(df=5)")
    assert _cells(law, 1e-12, 0.1) > grouped_simulated.MAX_TABLE_CELLS
    assert grouped_simulated.table_tail(plan, 0.1, 200) == 1e-7
    assert _cells(law, 1e-7, 0.1) < grouped_simulated.MAX_TABLE_CELLS
    # The KS chain affords 200,000 cells: t(5) keeps its 1e-12 tails (unchanged), t(3) with
    # scale 2 (about 410,000 cells) joins its tails beyond the 1e-7 quantiles.
    assert grouped_ks.fitting_tail(plan, 0.1, 200, grouped_ks.MAX_CELLS) == grouped_ks.TAIL
    t3 = targeting.resolve("t(df=3, scale=2)")
    assert _cells(stats.t(3, scale=2), 1e-12, 0.1) > grouped_ks.MAX_CELLS
    assert grouped_ks.fitting_tail(t3, 0.1, 200, grouped_ks.MAX_CELLS) == 1e-7
    # Normal targets never need it: N(4, 1.25) to one decimal has 177 cells between them.
    assert grouped_ks.fitting_tail(targeting.resolve(None), 0.1, 200, 2_500) == grouped_ks.TAIL
    # Where no tail fits, TAIL is returned and the lattice stays over the budget (ties).
    assert grouped_ks.fitting_tail(plan, 0.001, 200, 2_500) == grouped_ks.TAIL


def test_heavy_tailed_rows_are_tested_by_their_rounded_forms():
    # 12 samples of t(5) to one decimal, n = 200: A², W², the sd, g1 and g2 were "ties" (no table
    # within the budget); now every row is tested, by the rounded forms' own numbers.
    x = np.round(stats.t(5).rvs(size=(12, 200), random_state=np.random.default_rng(5)), 1)
    rows = score(x, target="t(df=5)")
    for test in ("ad", "cvm", "std", "skew", "kurtosis"):
        assert (rows.query("test == @test")["status"] == "ok").all(), test
    row = np.sort(x[0])
    plan = targeting.resolve("t(df=5)")
    expected = grouped_simulated.grouped_ad(row, 0.1, plan)[1]
    assert math.isfinite(expected)
    assert rows.query("sample == 0 and test == 'ad'")["pvalue"].iloc[0] == expected


@pytest.mark.slow
def test_calibrated_with_joined_tails():
    # True-target samples to one decimal; each form rejects at alpha = 0.05 at most within the
    # 99.9% binomial band (scipy.stats.binom). t(5), n = 200, 500 samples: the tables' forms
    # over joined tails (called as scoring calls them; measured on 1,000: A² 0.045, W² 0.044,
    # sd 0.060, g1 0.057, g2 0.049). t(3) with scale 2, n = 40, 150 samples through score: KS's
    # chain over joined tails (measured on 1,000: 0.041; at n = 200, 0.052).
    rng = np.random.default_rng(55)
    plan = targeting.resolve("t(df=5)")
    forms = {"ad": grouped_simulated.grouped_ad, "cvm": grouped_simulated.grouped_cvm,
             "std": grouped_simulated.grouped_std, "kurtosis": grouped_simulated.grouped_kurtosis}
    rejected = dict.fromkeys(forms, 0)
    for row in np.sort(np.round(stats.t(5).rvs(size=(500, 200), random_state=rng), 1), axis=1):
        h = grouped_ks.regular_step(row)
        for name, form in forms.items():
            p = form(row, h, plan)[1]
            assert math.isfinite(p), name
            rejected[name] += p < 0.05
    assert max(rejected.values()) <= stats.binom.ppf(0.999, 500, 0.05), rejected
    rows = score(np.round(stats.t(3, scale=2).rvs(size=(150, 40), random_state=rng), 1),
                 target="t(df=3, scale=2)").query("test == 'ks'")
    assert (rows["status"] == "ok").all()
    assert rows["reject"].sum() <= stats.binom.ppf(0.999, 150, 0.05), rows["reject"].mean()


def test_power_with_joined_tails():
    # 100 samples of t(5) widened 1.3 times, n = 200, one decimal, against t(5): A² and the sd
    # reject most of them (measured on 200: 0.83 and 0.82; W² 0.53), at least 60% here.
    plan = targeting.resolve("t(df=5)")
    rows = np.sort(np.round(stats.t(5).rvs(size=(100, 200), random_state=np.random.default_rng(13)) * 1.3, 1), axis=1)
    rejected = {"ad": 0, "std": 0}
    for row in rows:
        h = grouped_ks.regular_step(row)
        rejected["ad"] += grouped_simulated.grouped_ad(row, h, plan)[1] < 0.05
        rejected["std"] += grouped_simulated.grouped_std(row, h, plan)[1] < 0.05
    assert min(rejected.values()) >= 60, rejected

"""KS on rounded data (gancheck.stats.grouped_ks): D against the target rounded to the data's
grid, with the exact p-value of that discrete law. Oracles: a hand computation, simulation of
the rounded target itself, and scipy's continuous KS law as the conservative bound."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import grouped_ks, targeting
from gancheck.stats.scoring import score


def test_one_value_over_two_cells_by_hand():
    # Cells of mass 0.3 and 0.7 (CDF 0.3, 1). One value: in the first cell D = |1 - 0.3| = 0.7
    # (probability 0.3), in the second D = |0 - 0.3| = 0.3 (probability 0.7). By hand:
    cumulative = np.array([0.3, 1.0])
    assert grouped_ks.crossing_probability(0.7, 1, cumulative) == pytest.approx(0.3, abs=1e-12)
    assert grouped_ks.crossing_probability(0.5, 1, cumulative) == pytest.approx(0.3, abs=1e-12)
    assert grouped_ks.crossing_probability(0.3, 1, cumulative) == pytest.approx(1.0, abs=1e-12)
    assert grouped_ks.crossing_probability(0.71, 1, cumulative) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("n, h", [(8, 1.0), (50, 0.5), (300, 0.1)])
def test_exact_p_matches_the_rounded_target_simulated(n, h):
    # Oracle: 20,000 samples of N(4, 1.25) rounded to the grid, D computed on each; the exact
    # P(D >= d) agrees with their share within 4 binomial standard errors.
    plan = targeting.resolve(None)
    first, cumulative = grouped_ks._lattice(plan, h, 0.0)
    x = np.round(np.random.default_rng(n).normal(4, 1.25, (20_000, n)) / h)
    index = np.clip(x.astype(np.int64) - first, 0, cumulative.size - 1)
    d = np.array([np.abs(np.cumsum(np.bincount(i, minlength=cumulative.size)) / n - cumulative).max()
                  for i in index])
    for level in np.quantile(d, [0.5, 0.9, 0.95, 0.99]):
        share = float((d >= level - 1e-12).mean())
        exact = grouped_ks.crossing_probability(level, n, cumulative)
        assert abs(exact - share) <= 4 * np.sqrt(share * (1 - share) / d.size) + 1e-9, (level, exact, share)


@pytest.mark.parametrize("spec, law, h, n", [("t(df=5)", stats.t(5), 0.1, 40),
                                             ("gamma(a=0.5)", stats.gamma(0.5), 0.01, 200)])
def test_a_long_tail_skips_the_ends_inside_runs_of_equal_bands_and_keeps_the_law(spec, law, h, n, monkeypatch):
    # Thousands of cells, most in tails where the band does not move. Oracles: the chain that
    # checks every cell end (the same code with no end skipped), to 1e-12; and 20,000 samples
    # of the target (scipy.stats) rounded to the grid, D on each, within 4 binomial errors.
    first, cumulative = grouped_ks._lattice(targeting.resolve(spec), h, 0.0)
    x = np.round(law.rvs(size=(20_000, n), random_state=np.random.default_rng(n)) / h)
    index = np.clip(x.astype(np.int64) - first, 0, cumulative.size - 1)
    d = np.array([np.abs(np.cumsum(np.bincount(i, minlength=cumulative.size)) / n - cumulative).max()
                  for i in index])
    levels = np.quantile(d, [0.5, 0.9, 0.95, 0.99])
    kept = []
    band_changes = grouped_ks._band_changes
    monkeypatch.setattr(grouped_ks, "_band_changes", lambda low, high: kept.append(band_changes(low, high).sum())
                        or band_changes(low, high))
    skipping = [grouped_ks.crossing_probability(level, n, cumulative) for level in levels]
    monkeypatch.setattr(grouped_ks, "_band_changes", lambda low, high: np.ones(low.size, dtype=bool))
    every_end = [grouped_ks.crossing_probability(level, n, cumulative) for level in levels]
    assert skipping == pytest.approx(every_end, rel=1e-12)
    assert max(kept) < cumulative.size / 5, (max(kept), cumulative.size)
    for level, exact in zip(levels, skipping):
        share = float((d >= level - 1e-12).mean())
        assert abs(exact - share) <= 4 * np.sqrt(share * (1 - share) / d.size) + 1e-9, (level, exact, share)


def test_the_continuous_law_bounds_it_where_the_chain_is_too_long(monkeypatch):
    # Beyond CHAIN_BUDGET the continuous KS p (scipy.stats.kstwo) is used: never below the exact
    # one, since a discrete null makes D stochastically smaller (Noether 1963).
    _, cumulative = grouped_ks._lattice(targeting.resolve(None), 0.1, 0.0)
    exact = [grouped_ks.crossing_probability(d, 500, cumulative) for d in (0.04, 0.06, 0.08)]
    monkeypatch.setattr(grouped_ks, "CHAIN_BUDGET", 0)
    bound = [grouped_ks.crossing_probability(d, 500, cumulative) for d in (0.04, 0.06, 0.08)]
    assert bound == [stats.kstwo.sf(d, 500) for d in (0.04, 0.06, 0.08)]
    assert all(b >= e for b, e in zip(bound, exact))


@pytest.mark.parametrize("sample", [
    np.r_[np.full(499, 4.0), 4.5],
    np.r_[np.full(497, 4.0), 4.1, 3.9, 4.2],
    np.r_[np.full(300, 3.0), np.full(200, 4.0)],
], ids=["one_apart", "three_apart", "two_values"])
def test_a_nearly_constant_sample_fails(sample):
    # A stuck output written to a decimal or two looked like rounded data: every test "ties",
    # nothing failed. Under N(4, 1.25) rounded to that grid, such counts are impossible: KS rejects.
    row = score(sample).set_index("test").loc["ks"]
    assert row["status"] == "ok" and row["reject"] and row["pvalue"] < 1e-50


def test_significant_digits_keep_their_ties_status():
    # printf's %.2g: cells 0.01 below 1 and 0.1 up to 10. No one grid: KS is not run.
    x = np.array([float(f"{v:.2g}") for v in np.random.default_rng(5).normal(1.0, 0.5, 500)])
    assert grouped_ks.regular_step(np.sort(x)) == 0.0
    assert score(x, mean=1.0, std=0.5).set_index("test").loc["ks", "status"] == "ties"


#: (target, or None for N(mean, sd); mean, sd; decimals; n): rounded true-target samples.
ROUNDED = [(None, 4.0, 1.25, 1, 500), (None, 4.0, 1.25, 0, 8), (None, 4.0, 1.25, 0, 2000),
           (None, 100.0, 7.0, 0, 500), (None, -0.02, 0.003, 3, 500), (None, 1e9, 1.25, 1, 200),
           ("gamma", 0.0, 0.0, 1, 300)]


@pytest.mark.slow
@pytest.mark.parametrize("case", ROUNDED, ids=lambda c: f"{c[0] or 'N'}({c[1]},{c[2]})d{c[3]}n{c[4]}")
def test_calibrated_on_rounded_targets(case):
    # 600 true-target samples rounded to the case's decimals: KS runs on every one (the grouped
    # path), and rejects at alpha = 0.05 at most within the 99.9% binomial band
    # (scipy.stats.binom): 46 of 600. A discrete law's exact test rejects at most alpha; it may
    # reject less (measured: 0.032 on whole numbers at n = 2,000).
    name, mean, sd, places, n = case
    rng = np.random.default_rng(n + places)
    if name == "gamma":
        target = stats.gamma(2)
        x, options = np.round(target.rvs((600, n), random_state=rng), places), {"target": target}
    else:
        x, options = np.round(rng.normal(mean, sd, (600, n)), places), {"mean": mean, "std": sd}
    ks = score(x, **options).query("test == 'ks'")
    assert (ks["status"] == "ok").all()
    assert ks["reject"].sum() <= stats.binom.ppf(0.999, 600, 0.05)


def test_a_value_the_rounded_target_cannot_give_fails_outright():
    # A gamma's -0.5 written to one decimal lies in a cell of no target mass: impossible under
    # the null, so p = 0 exactly (before, it counted in the end cell: D moved by 1/300, p = 0.29).
    # A 0.0 is possible (the cell [-0.05, 0.05) holds gamma(2)'s mass up to 0.05).
    x = np.round(np.random.default_rng(0).gamma(2.0, size=300), 1)
    x[0] = -0.5
    assert score(x, target=stats.gamma(2)).set_index("test").at["ks", "pvalue"] == 0.0
    x[0] = 0.0
    assert score(x, target=stats.gamma(2)).set_index("test").at["ks", "pvalue"] > 0.05

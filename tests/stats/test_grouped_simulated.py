"""AD, CvM, sd, skewness and kurtosis on rounded data (gancheck.stats.grouped_simulated): each
statistic of the grouped sample against its null simulated from the target rounded to the data's
grid. Oracles: hand computations, scipy.stats, samples of the rounded target drawn by rounding
the target's own draws (not by the module's multinomial), the binomial law of a calibrated
test's rejections, and the plain gof functions for data that are not rounded."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from gancheck.stats import gof, grouped_ks, targeting
from gancheck.stats import grouped_simulated as gs
from gancheck.stats.scoring import score

FORMS = {"ad": gs.grouped_ad, "cvm": gs.grouped_cvm, "std": gs.grouped_std, "skew": gs.grouped_skew,
         "kurtosis": gs.grouped_kurtosis}


def _pvalues(x: np.ndarray, plan) -> dict[str, np.ndarray]:
    """Each form's p-value for each row of x, its grid read as scoring reads it."""
    rows = np.sort(x, axis=1)
    out = {name: np.full(len(rows), np.nan) for name in FORMS}
    for i, row in enumerate(rows):
        h = grouped_ks.regular_step(row)
        for name, form in FORMS.items():
            out[name][i] = form(row, h, plan)[1]
    return out


# --- the statistics by hand -------------------------------------------------------------------

def test_discrete_cvm_and_ad_by_hand():
    # Five values over three cells of mass 0.2, 0.5, 0.3 (H = 0.2, 0.7, 1), counts 2, 1, 2.
    # By hand (Choulakian, Lockhart & Stephens 1994; dgof::cvm.test computes the same):
    # S = 2, 3, 5; n H = 1, 3.5, 5; Z = 1, -0.5, 0; t = (0.2 + 0.5)/2, (0.5 + 0.3)/2, (0.3 + 0.2)/2
    # = 0.35, 0.4, 0.25. W² = (1·0.35 + 0.25·0.4 + 0)/5 = 0.09.
    # A² = (1·0.35/(0.2·0.8) + 0.25·0.4/(0.7·0.3))/5 = (2.1875 + 0.47619...)/5 = 0.5327380952...
    a2, w2 = gs.edf_statistics(np.array([[2, 1, 2]]), np.array([0.2, 0.7, 1.0]), 5)
    assert w2[0] == pytest.approx(0.09, rel=1e-12)
    assert a2[0] == pytest.approx((0.35 / 0.16 + 0.1 / 0.21) / 5, rel=1e-12)
    assert a2[0] == pytest.approx(0.5327380952, rel=1e-9)


def test_moments_of_a_grouped_sample_by_hand():
    # Five values over three cells, at -1, 0, 1 with counts 1, 1, 3: the values -1, 0, 1, 1, 1.
    # By hand: mean 0.4; m2 = (1.96 + 0.16 + 3·0.36)/5 = 0.64, s = sqrt(0.64·5/4) = 0.894427191;
    # m3 = (-2.744 - 0.064 + 3·0.216)/5 = -0.432, g1 = -0.432/0.64^1.5 = -0.84375;
    # m4 = (3.8416 + 0.0256 + 3·0.1296)/5 = 0.8512, g2 = 0.8512/0.64² - 3 = -0.921875.
    mean, s, g1, g2 = gs.moments(np.array([-1.0, 0.0, 1.0]), np.array([[1, 1, 3]]), 5)
    assert mean[0] == pytest.approx(0.4, rel=1e-12)
    assert s[0] == pytest.approx(np.sqrt(0.8), rel=1e-12)
    assert g1[0] == pytest.approx(-0.84375, rel=1e-12)
    assert g2[0] == pytest.approx(-0.921875, rel=1e-12)
    # The same values through scipy.stats (bias=True, as gof.skewness and gof.excess_kurtosis).
    values = np.array([-1.0, 0.0, 1.0, 1.0, 1.0])
    assert g1[0] == pytest.approx(stats.skew(values), rel=1e-12)
    assert g2[0] == pytest.approx(stats.kurtosis(values), rel=1e-12)


def test_a_row_is_read_at_its_cell_ends():
    # Oracle: the rounded target's CDF at each cell's end from scipy.stats.norm.cdf (the tails
    # joined to the end cells), the row's counts by np.unique, and the hand formulas above.
    plan = targeting.resolve(None)
    row = np.sort(np.round(np.random.default_rng(11).normal(4, 1.25, 60)))
    first, cumulative = grouped_ks._lattice(plan, 1.0, 0.0)
    ends = np.arange(first, first + cumulative.size) + 0.5
    oracle_cdf = stats.norm.cdf(ends, 4, 1.25)
    oracle_cdf[-1] = 1.0
    np.testing.assert_allclose(cumulative, oracle_cdf, rtol=1e-12, atol=1e-15)
    values, counts = np.unique(row, return_counts=True)
    cell_counts = np.zeros(cumulative.size)
    cell_counts[(values - first).astype(int)] = counts
    p = np.diff(oracle_cdf, prepend=0.0)
    t = (p + np.roll(p, -1)) / 2
    z = np.cumsum(cell_counts) - 60 * oracle_cdf
    w2 = (z**2 * t).sum() / 60
    a2 = (z[:-1] ** 2 * t[:-1] / (oracle_cdf[:-1] * (1 - oracle_cdf[:-1]))).sum() / 60
    assert gs.grouped_cvm(row, 1.0, plan)[0] == pytest.approx(w2, rel=1e-9)
    assert gs.grouped_ad(row, 1.0, plan)[0] == pytest.approx(a2, rel=1e-9)
    # The moment forms report what the plain tests report: s - sd, g1, g2 (scipy.stats).
    assert gs.grouped_std(row, 1.0, plan)[0] == pytest.approx(row.std(ddof=1) - 1.25, rel=1e-9)
    assert gs.grouped_skew(row, 1.0, plan)[0] == pytest.approx(stats.skew(row), rel=1e-9)
    assert gs.grouped_kurtosis(row, 1.0, plan)[0] == pytest.approx(stats.kurtosis(row), rel=1e-9)


def test_monte_carlo_pvalues_count_the_table_by_hand():
    # Table 1, 2, 3, 3, 4 (B = 5). Upper tail at 3: 1 + #{3, 3, 4} = 4 over 6. Lower tail at 3:
    # 1 + #{1, 2, 3, 3} = 5 over 6; equal-tailed: min(1, 2·min(5/6, 4/6)) = 1. At 4: upper
    # (1 + 1)/6, lower (1 + 5)/6, equal-tailed 2·2/6 = 2/3. Beyond the table, at 5: 1/6, the
    # smallest a Monte Carlo p can be (never 0).
    table = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    assert gs.upper_p(table, 3.0) == pytest.approx(4 / 6)
    assert gs.lower_p(table, 3.0) == pytest.approx(5 / 6)
    assert gs.equal_tailed_p(table, 3.0) == 1.0
    assert gs.equal_tailed_p(table, 4.0) == pytest.approx(2 / 3)
    assert gs.upper_p(table, 5.0) == pytest.approx(1 / 6)
    # A value equal to a table entry but for float error in its last bits counts as a tie.
    assert gs.upper_p(table, 3.0 * (1 + 1e-14)) == pytest.approx(4 / 6)


# --- the null table is the law of the rounded target -----------------------------------------

def test_the_table_is_the_law_of_the_rounded_target():
    # Oracle: 20,000 samples of N(4, 1.25), n = 50, rounded by numpy to whole numbers, their
    # statistics computed from their own counts. For each statistic, the share of them at or
    # beyond its 50%, 90%, 95% and 99% points agrees with the table's share within 4 standard
    # errors of the two (binomial, at 20,000 and at the table's B).
    plan = targeting.resolve(None)
    n = 50
    first, cumulative = grouped_ks._lattice(plan, 1.0, 0.0)
    x = np.round(np.random.default_rng(50).normal(4, 1.25, (20_000, n)))
    index = np.clip(x.astype(np.int64) - first, 0, cumulative.size - 1)
    counts = np.array([np.bincount(i, minlength=cumulative.size) for i in index])
    counts = counts[(counts < n).all(axis=1)]  # as the table: a one-cell sample is never scored
    a2, w2 = gs.edf_statistics(counts, cumulative, n)
    mean, s, g1, g2 = gs.moments(np.arange(cumulative.size) - cumulative.size // 2.0, counts, n)
    fresh = {"ad": a2, "cvm": w2, "mean": mean, "std": s, "abs_skew": np.abs(g1), "kurtosis": g2}
    tables = gs.null_tables(plan, 1.0, 0.0, n)
    for name, values in fresh.items():
        table = tables[name]
        for level in np.quantile(values, [0.5, 0.9, 0.95, 0.99]):
            share, simulated = np.mean(values >= level - 1e-12), np.mean(table >= level - 1e-12)
            error = np.sqrt(share * (1 - share) * (1 / values.size + 1 / table.size))
            assert abs(share - simulated) <= 4 * error, (name, level, share, simulated)


# --- calibration: rounded true-target samples --------------------------------------------------

#: (label, target spec or None for N(mean, sd), mean, sd, decimals, n).
ROUNDED = [("N(4,1.25)d1", None, 4.0, 1.25, 1, 500), ("N(4,1.25)d0", None, 4.0, 1.25, 0, 8),
           ("N(4,1.25)d0", None, 4.0, 1.25, 0, 200), ("N(100,7)d0", None, 100.0, 7.0, 0, 500),
           ("N(-0.02,0.003)d3", None, -0.02, 0.003, 3, 500), ("gamma(2)d1", "gamma(a=2)", 0.0, 0.0, 1, 300)]


@pytest.mark.slow
@pytest.mark.parametrize("case", ROUNDED, ids=lambda c: f"{c[0]}n{c[5]}")
def test_calibrated_on_rounded_targets(case):
    # 1,000 true-target samples written to the case's decimals: every form gives a p-value on
    # every one, and each rejects at alpha = 0.05 at most within the 99.9% binomial band
    # (scipy.stats.binom: 70 of 1,000). A Monte Carlo test of a discrete statistic rejects at most
    # alpha, less where ties are many (measured, 4,000 samples a case: 0.036 to 0.055, the sd on
    # whole numbers at n = 8 the lowest; see the commit's report).
    label, spec, mean, sd, places, n = case
    rng = np.random.default_rng(n + places)
    if spec:
        plan = targeting.resolve(spec)
        x = np.round(stats.gamma(2).rvs((1000, n), random_state=rng), places)
    else:
        plan = targeting.resolve(None, mean=mean, std=sd)
        x = np.round(rng.normal(mean, sd, (1000, n)), places)
    bound = stats.binom.ppf(0.999, 1000, 0.05)
    for name, p in _pvalues(x, plan).items():
        assert np.isfinite(p).all(), name
        assert (p < 0.05).sum() <= bound, (name, (p < 0.05).mean())


@pytest.mark.slow
def test_the_sd_of_whole_numbers_takes_the_rounded_form_on_every_row():
    # The ties rule reads the sample's own sd, so on whole numbers of N(4, 1.25) at n = 16 it sent
    # samples of small s to the rounded form and the rest to the chi-square test, whose upper tail
    # rounding (5% more variance) inflates: 0.064 of 4,000 true-target samples were rejected.
    # Rounding that adds over scoring.SHEPPARD_MIN to the variance now gives every row the
    # rounded form (measured: 0.039 to 0.053 at n = 8 to 40). Bound: 99.9% binomial (scipy).
    # (n = 16, not 10: test_rounded_mean patches MAX_SUPPORT at n = 10 under its cached sum law.)
    x = np.round(np.random.default_rng(16).normal(4.0, 1.25, (2000, 16)))
    rows = score(x).query("test == 'std'")
    assert (rows["status"] == "ok").all()
    assert rows["reject"].sum() <= stats.binom.ppf(0.999, 2000, 0.05), rows["reject"].mean()
    p = _pvalues(x, targeting.resolve(None))["std"]
    # Every row by the rounded form, plus the target's chance of 16 equal whole numbers
    # (scoring adds it: gancheck.stats.constant_chance), summed here from scipy's normal CDF.
    chance = np.sum(np.diff(stats.norm.cdf(np.arange(-30.5, 40.5), 4.0, 1.25)) ** 16)
    np.testing.assert_allclose(rows["pvalue"].to_numpy(), np.minimum(1.0, p + chance), rtol=1e-12, atol=0)


# --- scoring takes them ------------------------------------------------------------------------

def test_score_tests_rounded_rows_that_were_ties():
    # One decimal, n = 500: A² and W² were "ties" (too coarse for their continuous p-values);
    # they are now tested by their rounded forms, with the forms' own numbers. Shapiro-Wilk and
    # estimated-parameter A² have no rounded form and stay untested.
    x = np.round(np.random.default_rng(3).normal(4.0, 1.25, (20, 500)), 1)
    table = score(x)
    p = _pvalues(x, targeting.resolve(None))
    for name in ("ad", "cvm"):
        rows = table[table["test"] == name]
        assert (rows["status"] == "ok").all(), name
        np.testing.assert_array_equal(rows["pvalue"].to_numpy(), p[name])
    assert (table.loc[table["test"].isin(["shapiro", "ad_normal"]), "status"] == "ties").all()


def test_power_on_one_decimal():
    # 200 samples of n = 500 written to one decimal against N(4, 1.25): a shift of 0.3 (0.24 sd)
    # and a sd of 1.6 are rejected by A² and W² (and the wider sd by the sd test) nearly always
    # (measured on 1,000: A² 0.999 and 1.000, W² 0.999 and 0.982, sd 1.000); at least 90% here.
    # A skewed sample (gamma(4) scaled to N(4, 1.25)'s mean and sd: g1 = 1) is rejected by the
    # skewness form, a heavy-tailed one (Laplace of that sd: g2 = 3) by the kurtosis form.
    rng = np.random.default_rng(43)
    plan = targeting.resolve(None)
    shifted = _pvalues(np.round(rng.normal(4.3, 1.25, (200, 500)), 1), plan)
    wider = _pvalues(np.round(rng.normal(4.0, 1.6, (200, 500)), 1), plan)
    skewed = _pvalues(np.round(4.0 + 1.25 * (rng.gamma(4.0, 1.0, (200, 500)) - 4.0) / 2.0, 1), plan)
    heavy = _pvalues(np.round(rng.laplace(4.0, 1.25 / np.sqrt(2), (200, 500)), 1), plan)
    for p in (shifted["ad"], shifted["cvm"], wider["ad"], wider["cvm"], wider["std"], skewed["skew"],
              heavy["kurtosis"]):
        assert np.mean(p < 0.05) >= 0.9


# --- reproducible, and only where the data are rounded ----------------------------------------

_ONE_ROW = "import numpy as np; x = np.round(np.random.default_rng(5).normal(4, 1.25, (3, 120)), 1)"


def test_the_same_input_gives_the_same_pvalues():
    # Twice in one process, the table simulated afresh the second time, and in another process
    # with another hash seed (the seed is a CRC of the lattice, not Python's salted hash()).
    plan = targeting.resolve(None)
    x = np.round(np.random.default_rng(5).normal(4, 1.25, (3, 120)), 1)
    first = _pvalues(x, plan)
    gs.null_tables.cache_clear()
    again = _pvalues(x, plan)
    for name in FORMS:
        assert np.isfinite(first[name]).all()
        np.testing.assert_array_equal(first[name], again[name])
    code = (f"{_ONE_ROW}\nfrom gancheck.stats.scoring import score\n"
            "print(repr(score(x).query(\"test in ['ad', 'cvm', 'std', 'skew', 'kurtosis']\")['pvalue'].tolist()))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    here = score(x).query("test in ['ad', 'cvm', 'std', 'skew', 'kurtosis']")["pvalue"].tolist()
    assert eval(out.stdout) == here  # noqa: S307 - a list of floats this test printed


def test_float32_output_takes_the_plain_tests():
    # GAN output is float32: not on a coarse grid, so no rounded form touches it. Oracle: the
    # plain gof functions called directly on the same (sorted, float64) rows.
    x = np.random.default_rng(32).normal(4.0, 1.25, (4, 500)).astype(np.float32)
    table = score(x)
    rows = np.sort(x.astype(float), axis=1)
    for name, plain in (("ad", gof.ad), ("cvm", gof.cvm), ("std", gof.std_test), ("skew", gof.skew_test),
                        ("kurtosis", gof.kurtosis_test)):
        statistic, pvalue = plain(rows, mean=4.0, std=1.25)
        got = table[table["test"] == name]
        assert (got["status"] == "ok").all()
        np.testing.assert_array_equal(got["statistic"].to_numpy(), statistic)
        np.testing.assert_array_equal(got["pvalue"].to_numpy(), pvalue)


def test_a_lattice_over_the_budget_keeps_the_ties_status():
    # N(4, 1.25) to three decimals has 17,589 cells, beyond what the budget simulates
    # (null_replicates: 25e6 / 17,589 < 9,999 replicates): no table, a NaN p, and at n = 8,000
    # (A²'s occupancy 8,000 · 0.0008 / sqrt(2 pi) = 2.6 > 2, gancheck.stats.ties) the A² row
    # stays "ties" as before.
    plan = targeting.resolve(None)
    assert gs.null_replicates(grouped_ks._lattice(plan, 0.001, 0.0)[1].size) is None
    assert gs.null_replicates(177) == gs.NULL_REPLICATES  # one decimal: the full table
    x = np.round(np.random.default_rng(8).normal(4.0, 1.25, 8000), 3)
    row = score(x).set_index("test").loc["ad"]
    assert row["status"] == "ties" and np.isnan(row["pvalue"]) and not row["reject"]


def test_a_value_the_rounded_target_cannot_give_rejects():
    # gamma(2) written to one decimal: -0.5 lies in a cell where gamma(2) has no mass at all
    # (scipy.stats.gamma(2).cdf(-0.45) = 0), so the sample is impossible under the null: A² and
    # W² are infinite with p = 0 exactly, as gof_target.ad answers a value outside the support.
    assert stats.gamma(2).cdf(-0.45) == 0.0
    x = np.round(stats.gamma(2).rvs(300, random_state=np.random.default_rng(6)), 1)
    x[0] = -0.5
    table = score(x, target="gamma(a=2)").set_index("test")
    for name in ("ad", "cvm"):
        assert table.loc[name, "status"] == "ok" and table.loc[name, "reject"]
        assert table.loc[name, "statistic"] == np.inf and table.loc[name, "pvalue"] == 0.0


# --- the measured figures, printed --------------------------------------------------------------

def _print_rates(samples: int) -> None:
    """The null rejection rates (ROUNDED) and the power figures that the comments above quote:
    python tests/stats/test_grouped_simulated.py [samples per case, default 4000]."""
    print(f"| case | n | {' | '.join(FORMS)} | samples |")
    for label, spec, mean, sd, places, n in ROUNDED:
        rng = np.random.default_rng(4242 + n + places)
        if spec:
            plan, x = targeting.resolve(spec), np.round(stats.gamma(2).rvs((samples, n), random_state=rng), places)
        else:
            plan, x = targeting.resolve(None, mean=mean, std=sd), np.round(rng.normal(mean, sd, (samples, n)), places)
        rates = [f"{np.mean(p < 0.05):.4f}" for p in _pvalues(x, plan).values()]
        print(f"| {label} | {n} | {' | '.join(rates)} | {samples} |")
    plan = targeting.resolve(None)
    for label, mean, sd in (("N(4.3, 1.25)", 4.3, 1.25), ("N(4, 1.6)", 4.0, 1.6)):
        p = _pvalues(np.round(np.random.default_rng(7).normal(mean, sd, (1000, 500)), 1), plan)
        print(f"power, {label} to 1 decimal, n = 500, 1,000 samples: "
              + ", ".join(f"{name} {np.mean(q < 0.05):.3f}" for name, q in p.items()))


def test_a_grid_too_coarse_for_any_null_table_leaves_the_rows_untested():
    # Seven 4s and a 5 against N(4, 0.1), as whole numbers: nearly every null sample is eight 4s,
    # which are dropped, so the table held 0 samples and AD, CvM and the moment rows gave p = 1
    # with status "ok": a pass. Too few left for a p-value: "ties", never a pass.
    x = np.array([4.0] * 7 + [5.0])
    for sd in (0.1, 0.12):
        rows = score(x, mean=4.0, std=sd).set_index("test")
        for test in ("ad", "cvm", "std", "skew", "kurtosis"):
            assert rows.at[test, "status"] != "ok" or rows.at[test, "pvalue"] < 0.05, (sd, test)
        assert rows.at["ks", "pvalue"] < 1e-3   # the exact chain still fails it (5e-6 and 2.5e-4)


def test_an_outlier_is_read_alike_on_either_side_of_the_target():
    # 4 + 11 sds was "impossible" (p = 0: the upper tail's CDFs both round to 1.0) and 4 - 11
    # sds was not (p = 0.94): a normal has no impossible value, and mirrored samples are tested
    # alike. Oracle: symmetry of N(4, 1.25) about 4.
    base = np.round(np.random.default_rng(0).normal(4.0, 1.25, 199))
    high = score(np.append(base, 15.0)).set_index("test")
    low = score(np.append(8.0 - base, -7.0)).set_index("test")
    for test in ("ks", "ad", "cvm"):
        assert high.at[test, "pvalue"] > 0.0 and low.at[test, "pvalue"] > 0.0, test
        assert high.at[test, "pvalue"] == pytest.approx(low.at[test, "pvalue"], rel=1e-6), test


def test_the_sample_and_its_null_table_compute_moments_alike():
    # The same counts far from the lattice's middle gave g2 = 5.3905 from the sample's code and
    # 5.3932 from the table's (raw power sums about another centre lost digits). Oracle: g1 and
    # g2 of the 20 values computed directly with scipy (bias=True: m3 / m2^1.5, m4 / m2^2 - 3).
    plan = targeting.resolve("lognorm(s=1.3, scale=0.25)")
    x = np.array([0.0] * 17 + [1.0, 1.0, 2.0])
    grid = gs._grid(x, 1.0, plan)
    cells = grid.cumulative.size
    counts = np.bincount(np.clip(grid.indices(x), 0, cells - 1), minlength=cells)[None, :]
    _, _, g1_table, g2_table = gs.moments(gs._centred(np.arange(cells), grid), counts, x.size)
    _, _, g1_row, g2_row = gs._row_moments(x, grid)
    expected = stats.skew(x), stats.kurtosis(x)
    assert (g1_row, g2_row) == pytest.approx(expected, rel=1e-12)
    assert (float(g1_table[0]), float(g2_table[0])) == pytest.approx(expected, rel=1e-12)


if __name__ == "__main__":
    _print_rates(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)

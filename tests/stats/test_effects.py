"""gancheck.stats.effects: the factorial effects table, and Firth's logistic model.

Oracles: statsmodels' GLM (plain maximum likelihood), the closed form of Firth's estimate in a
2x2 table (Haldane's 1/2 in every cell: Heinze & Schemper 2002), statsmodels' OLS with the same
design, statsmodels' Newcombe interval (MOVER for two cells), hand contrasts of cell rates, and
simulated data with known effects (their centred-coding values by hand)."""
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from scipy import special
from statsmodels.stats.proportion import confint_proportions_2indep

from gancheck.stats.effects import (EFFECT_COLUMNS, effects, factorial_design, firth_logistic,
                                    profile_interval)


def test_unpenalised_fit_is_statsmodels_glm(rng):
    X = np.column_stack([np.ones(300), rng.normal(size=(300, 2))])
    y = (rng.random(300) < 1 / (1 + np.exp(-(X @ [0.3, 1.0, -0.5])))).astype(float)
    glm = sm.GLM(y, X, family=sm.families.Binomial()).fit()
    fit = firth_logistic(X, y, penalise=False)
    np.testing.assert_allclose(fit.coef, glm.params, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.cov)), glm.bse, rtol=1e-6)
    # Firth's estimate removes the MLE's O(1/n) bias: at n = 300 a small fraction of an SE
    # (here about 0.1 SE), towards zero.
    firth = firth_logistic(X, y).coef
    assert np.all(np.abs(firth - glm.params) < 0.25 * glm.bse)
    assert np.all(np.abs(firth[1:]) < np.abs(glm.params[1:]))


def test_separated_two_by_two_table_is_haldanes_half_cell_correction():
    # 0/10 at x = 0, 10/10 at x = 1: the MLE is infinite; Firth's is the log odds with 1/2 added
    # to each cell: intercept log(0.5/10.5), slope log((10.5/0.5) / (0.5/10.5)) = 2 log 21.
    x = np.r_[np.zeros(10), np.ones(10)]
    fit = firth_logistic(np.column_stack([np.ones(20), x]), x)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, [np.log(0.5 / 10.5), 2 * np.log(21)], rtol=1e-8)


def test_quasi_separated_table_matches_the_half_cell_closed_form():
    # 3/12 vs 12/12 (one zero cell): saturated 2x2, so Firth = log odds with 1/2 in every cell.
    x = np.r_[np.zeros(12), np.ones(12)]
    y = np.r_[np.ones(3), np.zeros(9), np.ones(12)]
    fit = firth_logistic(np.column_stack([np.ones(24), x]), y)
    expected_slope = np.log((12.5 / 0.5) / (3.5 / 9.5))
    assert fit.coef[1] == pytest.approx(expected_slope, rel=1e-8)


def _simulated(rng, seeds=20):
    rows = []
    for seed in range(seeds):
        seed_effect = rng.normal(0, 0.3)
        for a in ("a0", "a1"):
            for b in ("b0", "b1", "b2"):
                for c in ("c0", "c1"):
                    eta = (-0.5 + 1.0 * (a == "a1") + 0.8 * (b == "b2") + 1.2 * (a == "a1") * (b == "b1")
                           + seed_effect)
                    rows.append(dict(a=a, b=b, c=c, seed=seed, metric="pass",
                                     value=float(rng.random() < 1 / (1 + np.exp(-eta)))))
                    rows.append(dict(a=a, b=b, c=c, seed=seed, metric="error",
                                     value=eta + rng.normal(0, 0.5)))
    return pd.DataFrame(rows)


# True values in the centred coding, by hand: a main effect averages the simple effects over the
# other factors' levels: a[a1] = 1.0 + 1.2 P(b = b1) = 1.4; b[b1] = 1.2 P(a = a1) = 0.6;
# b[b2] = 0.8; c[c1] = 0; the interaction a[a1]:b[b1] = 1.2; every other interaction 0.
TRUE = {"a[a1]": 1.4, "b[b1]": 0.6, "b[b2]": 0.8, "c[c1]": 0.0, "a[a1]:b[b1]": 1.2,
        "a[a1]:b[b2]": 0.0, "a[a1]:c[c1]": 0.0, "b[b1]:c[c1]": 0.0, "b[b2]:c[c1]": 0.0,
        "a[a1]:b[b1]:c[c1]": 0.0, "a[a1]:b[b2]:c[c1]": 0.0}


def _true_rate_effects() -> dict:
    """The rate-difference effects of _simulated's "pass": each cell's marginal rate
    E[expit(eta + seed effect)], seed effect N(0, 0.3^2), by Gauss-Hermite quadrature (60
    nodes), then each term's contrast of the cell rates by hand-coded centred indicators."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    cells = pd.DataFrame([dict(a=a, b=b, c=c) for a in ("a0", "a1") for b in ("b0", "b1", "b2")
                          for c in ("c0", "c1")])
    eta = (-0.5 + 1.0 * (cells["a"] == "a1") + 0.8 * (cells["b"] == "b2")
           + 1.2 * (cells["a"] == "a1") * (cells["b"] == "b1")).to_numpy()
    rates = special.expit(eta[:, None] + 0.3 * nodes[None, :]) @ weights
    X, names, reported = factorial_design(cells, ["a", "b", "c"], block=None)
    return dict(zip(names[1:reported], np.linalg.solve(X, rates)[1:reported]))


def test_recovers_known_main_effects_and_interaction(rng):
    # 40 seeds: enough that the interactions are detected. 99% intervals: one dataset, many
    # terms; a 95% interval misses 1 term in 20 by design (coverage is checked over replicates).
    table = effects(_simulated(rng, seeds=40), ["a", "b", "c"], rate_metrics=["pass"],
                    confidence=0.99)
    assert list(table.columns) == EFFECT_COLUMNS
    assert set(table["method"]) == {"rate-mover-wilson", "ols-seed-block"}
    assert table["converged"].all()
    truths = {"error": TRUE, "pass": _true_rate_effects()}
    for metric, truth in truths.items():
        rows = table[table["metric"] == metric].set_index("term")
        assert set(rows.index) == set(truth)
        for term, value in truth.items():
            assert rows.loc[term, "ci_low"] <= value <= rows.loc[term, "ci_high"], \
                (metric, term, rows.loc[term].to_dict())
        assert rows.loc["a[a1]", "pvalue"] < 0.01
    assert table.loc[table["metric"] == "pass", "units"].eq("rate difference").all()
    assert table.loc[table["metric"] == "error", "units"].eq("error units").all()
    error = table[table["metric"] == "error"].set_index("term")
    assert error.loc["a[a1]:b[b1]", "pvalue"] < 0.01   # the real interaction (1.2) is detected


@pytest.mark.slow
def test_interval_coverage_over_replicates(rng):
    # 95% intervals cover each true value in about 95% of 60 replicates (binomial: >= 0.83 at 99%).
    reps, hits = 60, {}
    truths = {"error": TRUE, "pass": _true_rate_effects()}
    for _ in range(reps):
        table = effects(_simulated(rng, seeds=10), ["a", "b", "c"], rate_metrics=["pass"])
        for row in table.itertuples():
            hits.setdefault((row.metric, row.term), []).append(
                row.ci_low <= truths[row.metric][row.term] <= row.ci_high)
    for key, covered in hits.items():
        assert np.mean(covered) >= 0.83, key


def test_one_non_zero_cell_of_a_two_by_two_by_two_design_gives_a_finite_three_way_term():
    # The remedies design's picture: 8 of 20 seeds on target in the one cell where all three
    # remedies are on, 0 of 20 everywhere else.
    rows = [dict(a=a, b=b, c=c, seed=s, metric="rate:on_target",
                 value=float(a == b == c == "on" and s < 8))
            for a in ("off", "on") for b in ("off", "on") for c in ("off", "on") for s in range(20)]
    table = effects(pd.DataFrame(rows), ["a", "b", "c"], rate_metrics=["rate:on_target"])
    three = table.set_index("term").loc["a[on]:b[on]:c[on]"]
    # By hand: the difference of differences of differences of cell rates is 8/20 = 0.4 (every
    # other cell is 0); a main effect averages over four pairs of cells: 0.4 / 4 = 0.1.
    assert three["estimate"] == pytest.approx(0.4)
    assert table.set_index("term").loc["a[on]", "estimate"] == pytest.approx(0.1)
    # MOVER with Wilson intervals (module docstring): 8/20 -> [0.219, 0.613], 0/20 -> [0, 0.161];
    # the lower bound is 0.4 - sqrt(0.181^2 + 4 * 0.161^2) = 0.030 (hand computation).
    assert 0 < three["ci_low"] == pytest.approx(0.0303, abs=5e-4)
    assert np.isfinite(three["ci_high"]) and three["pvalue"] < 0.05 and three["converged"]
    assert len(table) == 7 and table["units"].eq("rate difference").all()


def test_two_cell_contrast_is_newcombes_interval_and_the_pvalue_inverts_it():
    rows = [dict(a=a, seed=s, metric="r", value=float(s < (12 if a == "y" else 3)))
            for a in ("x", "y") for s in range(20)]
    row = effects(pd.DataFrame(rows), ["a"], rate_metrics=["r"]).iloc[0]
    # One factor with two levels: the term is p_y - p_x; MOVER of two Wilson intervals is
    # Newcombe's hybrid score interval (statsmodels' confint_proportions_2indep, "newcomb").
    low, high = confint_proportions_2indep(12, 20, 3, 20, method="newcomb", compare="diff")
    assert row["estimate"] == pytest.approx(0.45)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    # The p-value is the level at which the interval touches 0.
    level = 1 - row["pvalue"]
    touch = confint_proportions_2indep(12, 20, 3, 20, method="newcomb", compare="diff",
                                       alpha=1 - level)[0]
    assert touch == pytest.approx(0, abs=1e-7)


def test_profile_interval_of_firth_fit_is_finite_under_separation():
    # 0/10 against 10/10: Wald intervals are useless; the profile penalised-likelihood interval
    # is finite and holds the estimate (2 log 21 = 6.09, the half-cell closed form), and the
    # penalised likelihood-ratio test rejects.
    x = np.r_[np.zeros(10), np.ones(10)]
    X = np.column_stack([np.ones(20), x])
    fit = firth_logistic(X, x)
    low, high, pvalue, ok = profile_interval(X, x, fit, 1)
    assert ok and 0 < low < 2 * np.log(21) < high < np.inf and pvalue < 0.01


def test_ols_matches_statsmodels_formula_with_seed_block(rng):
    table = _simulated(rng, seeds=6)
    error = table[table["metric"] == "error"]
    ours = effects(error, ["a", "b"]).set_index("term")
    # Same model written as a formula: with sum-free centred coding only the main effects of a
    # two-level factor equal the formula's treatment coefficient averaged; test a plain contrast:
    # the interaction a[a1]:b[b1] is the double difference in both codings.
    import statsmodels.formula.api as smf
    formula = smf.ols("value ~ C(a) * C(b) + C(seed)", data=error).fit()
    assert ours.loc["a[a1]:b[b1]", "estimate"] == pytest.approx(
        formula.params["C(a)[T.a1]:C(b)[T.b1]"], rel=1e-9)
    assert ours.loc["a[a1]:b[b1]", "pvalue"] == pytest.approx(
        formula.pvalues["C(a)[T.a1]:C(b)[T.b1]"], rel=1e-6)


def test_all_zero_and_all_one_cells_give_finite_estimates():
    # The GAN ablation's usual picture: every seed of a cell fails or every one passes.
    rows = [dict(a=a, b=b, seed=s, metric="pass", value=float(a == "on"))
            for a in ("off", "on") for b in ("x", "y") for s in range(20)]
    table = effects(pd.DataFrame(rows), ["a", "b"], rate_metrics=["pass"])
    assert np.isfinite(table[["estimate", "ci_low", "ci_high", "pvalue"]].to_numpy()).all()
    assert table.set_index("term").loc["a[on]", "estimate"] == 1.0   # 20/20 against 0/20


def test_design_names_and_reference_levels():
    table = pd.DataFrame({"f": pd.Categorical(["u", "v", "u", "v"], categories=["v", "u"]),
                          "g": ["p", "p", "q", "q"], "seed": [0, 0, 1, 1]})
    _, names, reported = factorial_design(table, ["f", "g"])
    assert names[:reported] == ["(intercept)", "f[u]", "g[q]", "f[u]:g[q]"]


@pytest.mark.parametrize("kwargs, field", [
    (dict(factors=["nope"]), "missing columns"),
    (dict(factors="a"), "factors"),
    (dict(factors=["a"], rate_metrics=["nope"]), "rate_metrics"),
    (dict(factors=["a"], confidence=1.5), "confidence"),
])
def test_bad_input_names_the_field(kwargs, field, rng):
    with pytest.raises(ValueError, match=field):
        effects(_simulated(rng, seeds=2), **kwargs)


def test_non_binary_rate_and_infinite_metric_are_refused():
    rows = pd.DataFrame({"a": ["x", "y"] * 4, "seed": [0, 0, 1, 1, 2, 2, 3, 3], "metric": "m",
                         "value": [0, 1, 0, 2, 1, 0, 1, np.inf]})
    with pytest.raises(ValueError, match="0 and 1"):
        effects(rows.replace({np.inf: 1}), ["a"], rate_metrics=["m"])
    with pytest.raises(ValueError, match="non-finite"):
        effects(rows, ["a"])
    assert len(effects(rows, ["a"], ranks=True)) == 1   # ranks take +inf (a diverged seed)


def test_unmeasured_rates_are_left_out_and_an_empty_cell_is_marked_not_estimable():
    rows = [dict(a=a, seed=s, metric="r", value=float(s < 5)) for a in ("x", "y") for s in range(10)]
    table = pd.DataFrame(rows)
    table.loc[(table["a"] == "y") & (table["seed"] < 5), "value"] = np.nan   # y: 0 of 5 measured
    row = effects(table, ["a"], rate_metrics=["r"]).iloc[0]
    assert row["estimate"] == pytest.approx(-0.5) and row["converged"]   # 0/5 - 5/10, by hand
    table.loc[table["a"] == "y", "value"] = np.nan
    row = effects(table, ["a"], rate_metrics=["r"]).iloc[0]
    assert not row["converged"] and np.isnan(row["estimate"]) and np.isnan(row["pvalue"])


def test_a_very_strong_rate_effect_gets_a_small_finite_pvalue():
    # 40/40 against 0/40: even at level 1 - 1e-12 (z = 7.0) the Wilson bounds are 0.45 and 0.55,
    # so the MOVER interval [1 - 0.78, 1] never reaches 0 and the p-value is Price & Bonett's
    # adjusted Wald: rates 41/42 and 1/42, z = (40/42) / sqrt(2 (41/42)(1/42) / 42) (by hand).
    rows = [dict(a=a, seed=s, metric="r", value=float(a == "y")) for a in ("x", "y") for s in range(40)]
    row = effects(pd.DataFrame(rows), ["a"], rate_metrics=["r"]).iloc[0]
    z = (40 / 42) / np.sqrt(2 * (41 / 42) * (1 / 42) / 42)
    from scipy import stats
    assert row["pvalue"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert 0 < row["pvalue"] < 1e-12 and row["ci_low"] > 0
    # 20/20 against 0/20 is still within reach: the inverted p, the level where the interval
    # touches 0, about 4e-12.
    rows = [dict(a=a, seed=s, metric="r", value=float(a == "y")) for a in ("x", "y") for s in range(20)]
    assert 0 < effects(pd.DataFrame(rows), ["a"], rate_metrics=["r"]).iloc[0]["pvalue"] < 1e-10


def _two_to_the_four(values) -> pd.DataFrame:
    """A 2^4 crossing of a, b, c, d (levels off, on), 20 seeds per cell, one metric "r" whose
    seed-s value in a cell is ``values(cell, s)``."""
    import itertools
    return pd.DataFrame([dict(a=a, b=b, c=c, d=d, seed=s, metric="r", value=values((a, b, c, d), s))
                         for a, b, c, d in itertools.product(("off", "on"), repeat=4) for s in range(20)])


def _centred_from_sum_coding(params, term: str) -> float:
    """A statsmodels coefficient under Sum coding of two-level factors, read in our coding:
    Sum codes a factor +1 at its first level (off) and -1 at on, our centred indicator is -1/2
    at off and +1/2 at on, i.e. -Sum/2; so a term of |S| factors is Sum's coefficient times
    (-2)^|S|."""
    factors = [part.split("[", 1)[0] for part in term.split(":")]
    name = ":".join(f"C({f}, Sum)[S.off]" for f in factors)
    return params[name] * (-2) ** len(factors)


def test_a_two_to_the_four_crossing_reports_terms_up_to_three_way_and_contrasts_are_unchanged():
    # The factorial design's picture: 8 of 20 seeds on target in the one cell where all four
    # factors are on, 0 of 20 everywhere else.
    from statsmodels.stats.proportion import proportion_confint
    import statsmodels.formula.api as smf
    table = _two_to_the_four(lambda cell, s: float(cell == ("on",) * 4 and s < 8))
    rows = effects(table, list("abcd"), rate_metrics=["r"]).set_index("term")
    # 4 main effects, 6 two-way and 4 three-way terms; the four-way one is fitted, not reported.
    assert len(rows) == 4 + 6 + 4 and "a[on]:b[on]:c[on]:d[on]" not in rows.index
    assert rows["converged"].all()
    # By hand: a main effect is mean(on cells) - mean(off cells) = 0.4 / 8; a two-way term
    # averages its 2x2 difference of differences (0.4 in the on,on quarter's all-on cell) over
    # the other two factors' 4 cells: 0.4 / 4; a three-way term, over d's 2 levels: 0.4 / 2.
    assert rows.loc["a[on]", "estimate"] == pytest.approx(0.05)
    assert rows.loc["b[on]:d[on]", "estimate"] == pytest.approx(0.1)
    assert rows.loc["a[on]:c[on]:d[on]", "estimate"] == pytest.approx(0.2)
    # The same contrasts as least squares on the 16 cell rates with the four-way term left out
    # (statsmodels OLS, Sum coding): in a full crossing the terms are orthogonal, so leaving the
    # four-way term out (pooling it) changes no reported estimate.
    cells = table.groupby(list("abcd"), as_index=False)["value"].mean()
    pooled = smf.ols("value ~ (C(a, Sum) + C(b, Sum) + C(c, Sum) + C(d, Sum)) ** 3", cells).fit()
    for term in rows.index:
        assert rows.loc[term, "estimate"] == pytest.approx(
            _centred_from_sum_coding(pooled.params, term), abs=1e-12), term
    # MOVER by hand (module docstring) from statsmodels' Wilson intervals, 8/20 -> [l8, u8] and
    # 0/20 -> [0, u0]: the three-way term weighs every cell +-1/2; the 8/20 cell and 7 zero
    # cells +1/2, the other 8 zero cells -1/2. Lower: 0.2 - sqrt((0.5 (0.4 - l8))^2 +
    # 8 (0.5 u0)^2) = -0.045; upper: 0.2 + sqrt((0.5 (u8 - 0.4))^2 + 7 (0.5 u0)^2) = 0.438.
    l8, u8 = proportion_confint(8, 20, method="wilson")
    u0 = proportion_confint(0, 20, method="wilson")[1]
    three = rows.loc["a[on]:c[on]:d[on]"]
    assert three["ci_low"] == pytest.approx(0.2 - 0.5 * np.sqrt((0.4 - l8) ** 2 + 8 * u0 ** 2), abs=1e-12)
    assert three["ci_high"] == pytest.approx(0.2 + 0.5 * np.sqrt((u8 - 0.4) ** 2 + 7 * u0 ** 2), abs=1e-12)
    assert three["ci_low"] < 0 < three["pvalue"] < 1


def test_a_two_to_the_four_metric_is_the_full_factorial_ols_with_a_seed_block(rng):
    # The metric's model is the full factorial one (four-way term included, not reported) with
    # the seed as a block, so its error is the seeds' variation within cells. Oracle:
    # statsmodels' formula OLS of the same model, Sum coding, read in our coding.
    import statsmodels.formula.api as smf
    shift = rng.normal(0, 1, size=20)
    table = _two_to_the_four(lambda cell, s: (0.7 * (cell[0] == "on") + 0.5 * (cell[1] == cell[2] == "on")
                                              + shift[s] + rng.normal(0, 0.5)))
    rows = effects(table, list("abcd")).set_index("term")
    formula = smf.ols("value ~ C(a, Sum) * C(b, Sum) * C(c, Sum) * C(d, Sum) + C(seed)", table).fit()
    assert len(rows) == 14
    for term in ("a[on]", "b[on]:c[on]", "a[on]:b[on]:d[on]"):
        assert rows.loc[term, "estimate"] == pytest.approx(_centred_from_sum_coding(formula.params, term),
                                                           rel=1e-9)
        name = ":".join(f"C({p.split('[')[0]}, Sum)[S.off]" for p in term.split(":"))
        assert rows.loc[term, "pvalue"] == pytest.approx(formula.pvalues[name], rel=1e-6)


@pytest.mark.parametrize("rate", [True, False])
def test_an_incomplete_crossing_is_a_clear_error(rate):
    # 15 of the 16 cells of a 2^4 crossing: the term the missing cell would identify is aliased.
    table = _two_to_the_four(lambda cell, s: float(s < 10))
    table = table[~((table["a"] == "on") & (table["b"] == "on") & (table["c"] == "on") & (table["d"] == "on"))]
    with pytest.raises(ValueError, match=r"full crossing .*15 of 16 .*a=on, b=on, c=on, d=on"):
        effects(table, list("abcd"), rate_metrics=["r"] if rate else ())


def test_one_seed_a_cell_gives_exact_contrasts_and_no_interval():
    # A 2 x 2 design with one seed a cell leaves no residual degrees of freedom: the estimates are
    # the cells' own contrasts (the interaction is the double difference, by hand), and there is
    # no noise estimate, so no interval and no p-value, and no division by zero on the way.
    y = {("a0", "b0"): 1.0, ("a1", "b0"): 3.0, ("a0", "b1"): 2.0, ("a1", "b1"): 7.0}
    table = pd.DataFrame([dict(a=a, b=b, seed=0, metric="error", value=v) for (a, b), v in y.items()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = effects(table, ["a", "b"]).set_index("term")
    assert found.loc["a[a1]:b[b1]", "estimate"] == pytest.approx((7.0 - 2.0) - (3.0 - 1.0), rel=1e-12)
    assert found[["ci_low", "ci_high", "pvalue"]].isna().all().all()

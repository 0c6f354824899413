"""The page's words against the code they describe: the model, the comparison families and their
intervals, the tests' nulls for the target used, the terms the page defines, effects' labels and
the primary table's columns. Expected words are read from the declarations the code runs on
(gancheck.fields, gancheck.stats.comparisons, the test registry), not copied here."""
from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from gancheck import fields
from gancheck.config import GANConfig
from gancheck.report import labels, methods, model_text, tables_comparisons, target_view
from gancheck.report.render import render
from gancheck.report.tables_comparisons import TEST_NAMES
from gancheck.runs.verdicts import FAILED_OUTCOMES
from gancheck.stats import diversity, effects, improvement, registry
from gancheck.stats.comparisons import FAMILIES, MDE_SCALES
from gancheck.targets import parse

GAMMA = "gamma(a=2, scale=1)"
#: effects.csv rows as gancheck.stats.effects writes them (a transfer run's, shortened).
EFFECTS = pd.DataFrame([
    {"metric": "rate:on_target", "term": "config[seed config]:target[bimodal]", "estimate": 0.9,
     "ci_low": 0.6, "ci_high": 1.08, "pvalue": 1e-4, "method": "rate-mover-wilson",
     "units": "rate difference", "converged": True},
    {"metric": "abs_mean_error", "term": "config[seed config]", "estimate": 63.0, "ci_low": 55.7,
     "ci_high": 70.3, "pvalue": 1e-35, "method": "ols-ranks-seed-block",
     "units": "ranks of abs_mean_error over all seeds (1 = best)", "converged": True},
])


def with_config(data, arm: str, **changes):
    """``data`` with ``arm``'s recorded config changed (or, for the baseline, GANConfig's)."""
    arms = data.arms.copy()
    row = arms["arm"] == arm
    base = GANConfig().to_dict() if arms.loc[row, "is_baseline"].astype(bool).all() else \
        json.loads(arms.loc[row, "config_json"].iloc[0])
    arms.loc[row, "config_json"] = json.dumps({**base, **changes}, sort_keys=True)
    return dataclasses.replace(data, arms=arms)


@pytest.fixture(scope="module")
def gamma_input(report_input):
    """The synthetic run with one arm trained on a gamma target, and effects as effects.csv has them."""
    arm = report_input.arms.loc[~report_input.arms["is_baseline"].astype(bool)
                                & (report_input.arms["role"] == "arm"), "arm"].iloc[0]
    return dataclasses.replace(with_config(report_input, arm, target=GAMMA), effects=EFFECTS)


@pytest.fixture(scope="module")
def gamma_page(gamma_input, tmp_path_factory) -> str:
    return render(gamma_input, tmp_path_factory.mktemp("gamma")).read_text(encoding="utf-8")


# -- the model ------------------------------------------------------------------------------------

def test_seed_config_model_text_names_real_widths_and_descriptions(report_input):
    seed = GANConfig()
    text = " ".join(model_text.model(with_config(report_input, "baseline"), 100, 500))
    features = fields.BY_NAME["features"].choice(seed.features)
    generator = fields.BY_NAME["generator"].choice(seed.generator)
    # Oracle: GANConfig.d_input_size (the trainers build D from it): 4 moments for the seed.
    assert seed.d_input_size == 4
    assert f"Linear({seed.d_input_size}, {seed.d_hidden_size})" in text
    assert f"Linear({seed.d_hidden_size}, 1) → sigmoid" in text
    assert f"Linear({seed.g_hidden_size}, {seed.g_output_size})" in text
    assert features.description in text and generator.description in text
    assert "Linear(F" not in text and "·" not in text


def test_model_text_width_follows_the_feature_set_and_the_batch_spread(report_input):
    config = GANConfig(features="raw", minibatch_std=True)
    data = with_config(report_input, "baseline", features="raw", minibatch_std=True)
    text = " ".join(model_text.model(data, 100, 500))
    assert config.d_input_size == 501  # 500 values, plus the batch spread
    assert f"Linear({config.d_input_size}, {config.d_hidden_size})" in text


def test_a_feature_set_this_version_does_not_declare_stands_alone(report_input):
    text = " ".join(model_text.model(with_config(report_input, "baseline", features="wavelets"), 100, 500))
    assert "“wavelets”, then Linear(?, 10)" in text


def test_broken_declarations_raise_instead_of_showing_placeholders(report_input, monkeypatch):
    data = with_config(report_input, "baseline")
    monkeypatch.setattr(fields, "BY_NAME", {k: v for k, v in fields.BY_NAME.items() if k != "features"})
    with pytest.raises(KeyError):
        model_text.model(data, 100, 500)


# -- comparisons: families and intervals --------------------------------------------------------

def test_words_cover_every_family_and_test_the_comparisons_make():
    assert set(methods.FAMILY_WORDS) == set(FAMILIES)
    assert set(methods.TEST_WORDS) == set(MDE_SCALES)  # one mde scale per test compare_to_baseline runs


def test_families_and_multiplicity_say_the_same_holm_families(report_input):
    frame = report_input.comparisons
    families, multiplicity = methods.families(report_input), methods.multiplicity(report_input)
    present = [f for f in FAMILIES if f in set(frame["family"])]
    assert len(present) > 1
    for name in present:
        rows = frame[frame["family"] == name]
        assert re.search(rf"\b{name} \([^:]*\): {len(rows)} rows", families), name
        for test in set(rows["test"]):
            assert methods.TEST_WORDS[test]["test"] in families
    assert f"({', '.join(present)})" in multiplicity
    assert "one Holm family" not in families + multiplicity
    for test in set(frame["test"]):
        assert methods.TEST_WORDS[test]["improvement"] in multiplicity
    assert "bootstrap" not in (families + multiplicity).lower()


def test_rate_improvement_interval_is_the_difference_interval_mapped(report_input):
    # What the words say (TEST_WORDS["boschloo"]): A = 1/2 -+ difference / 2, so the interval of
    # prob_improvement is half as wide as the difference's, the same interval on another scale.
    rates = report_input.comparisons[report_input.comparisons["test"] == "boschloo"].dropna(
        subset=["ci_low", "prob_improvement_low"])
    assert len(rates)
    np.testing.assert_allclose(rates["prob_improvement_high"] - rates["prob_improvement_low"],
                               (rates["ci_high"] - rates["ci_low"]) / 2, atol=1e-12)


def test_metric_improvement_interval_is_the_score_interval(report_input):
    # What the words say (TEST_WORDS["sign"]): gancheck.stats.improvement's score-type interval.
    row = report_input.comparisons[report_input.comparisons["test"] == "sign"].iloc[0]
    values = report_input.metrics[report_input.metrics["metric"] == row["metric"]]
    by_seed = values.pivot(index="seed", columns="arm", values="value")
    low, high = improvement.prob_improvement_ci(by_seed[row["arm"]].to_numpy(),
                                                by_seed[row["baseline"]].to_numpy())
    assert (row["prob_improvement_low"], row["prob_improvement_high"]) == pytest.approx((low, high))


# -- what "on target" allows, in the answer box ---------------------------------------------------

def _recorded(data, **tolerance):
    from gancheck.stats.tolerance import Tolerance
    record = {**Tolerance().as_dict(), **tolerance}
    return dataclasses.replace(data, provenance={**data.provenance, "tolerance": record})


def test_equal_bands_are_said_once_and_in_the_targets_units(report_input, gamma_input):
    # Oracle, by hand: 0.1 x the target's sd (the fixture's N(4, 1.25): 0.125).
    text = methods.how_judged(_recorded(report_input, mean=0.1, std=0.1))["tolerance"]
    assert text.startswith("mean and sd each within 0.1 target sd (±0.125), KS distance at most")
    # Arms with other targets (a gamma beside the normal): one number in units would be wrong.
    text = methods.how_judged(_recorded(gamma_input, mean=0.1, std=0.1))["tolerance"]
    assert text.startswith("mean and sd each within 0.1 target sd, KS")


def test_the_legend_gives_the_whole_tolerance(report_input):
    # The legend shortens the decision list's rules to their first clause; the tolerance, whose
    # units come in brackets, is the definition of on target and is shown whole.
    from gancheck.report.render import outcome_key
    tolerance = methods.how_judged(_recorded(report_input, mean=0.1, std=0.1))["tolerance"]
    (entry,) = outcome_key(["on_target"], tolerance)
    assert entry["definition"] == tolerance and "(±0.125), KS distance at most" in tolerance


def test_the_answer_s_tolerance_names_every_band_a_generator_must_be_shown_inside(report_input):
    """Each band of the recorded tolerance, as the decision list tests it: not the moments alone."""
    text = methods.how_judged(_recorded(report_input, ks=0.05, tail=0.004, fixed_share=0.03, repeats=3.0))["tolerance"]
    assert text.endswith("KS distance at most 0.05, at most 0.4% of values in each far tail, under 3% of the "
                         "variance fixed across draws, repeated values at most 3 times chance; all shown at α = 0.05")


def test_unequal_bands_are_each_named(report_input):
    text = methods.how_judged(_recorded(report_input, mean=0.1, std=0.2))["tolerance"]
    assert text.startswith("mean within 0.1 and sd within 0.2 target sd, KS distance at most")


# -- tests' nulls for the target used -----------------------------------------------------------

def test_normal_targets_keep_the_normal_wording(report_input):
    rows = {r["name"]: r for r in methods.tests(report_input)}
    for entry in registry.REGISTRY:
        if entry.name in rows:
            assert rows[entry.name]["description"] == entry.description
            assert rows[entry.name]["group"] == labels.GROUP_QUESTIONS[entry.group]


def test_a_non_normal_target_is_named_and_its_nulls_are_its_own(gamma_input):
    rows = {r["name"]: r for r in methods.tests(gamma_input)}
    target = parse(GAMMA)
    for entry in registry.REGISTRY:
        if entry.name in rows and entry.target_description:
            other = registry.describe_for(entry, target)
            assert other[:1].lower() + other[1:] in rows[entry.name]["description"], entry.name
    assert rows["skew"]["group"] == labels.OTHER_TARGET_QUESTIONS["shape"]
    assert target_view.words(target) in methods.methods(gamma_input)["tests_target"]


def test_page_heads_the_shape_tests_by_the_targets_shape(gamma_page, rendered):
    tests = gamma_page[gamma_page.index('id="tests"'):gamma_page.index("</thead>", gamma_page.index('id="tests"'))]
    assert str(escape(labels.OTHER_TARGET_QUESTIONS["shape"])) in tests
    assert labels.GROUP_QUESTIONS["shape"] not in tests
    normal = rendered.read_text(encoding="utf-8")
    assert labels.GROUP_QUESTIONS["shape"] in normal[normal.index('id="tests"'):]
    assert str(escape(target_view.words(parse(GAMMA)))) in gamma_page[gamma_page.index('id="tests-target"'):]


# -- terms the page defines ---------------------------------------------------------------------

def test_collapse_flag_is_defined_before_its_first_use(gamma_page):
    text = gamma_page.lower()
    first = min(i for i in (text.find("collapse flag"), text.find("collapse-flag")) if i >= 0)
    definition = gamma_page.index('id="collapse-flag"')
    assert definition < first
    assert str(escape(labels.COLLAPSE_FLAG)) in gamma_page


def test_collapse_flag_is_raised_for_draws_that_cannot_be_tested():
    # As the definition says: constant (stuck) and non-finite (diverged) draws carry the flag.
    assert diversity.diversity(np.full((3, 10), 4.0)).collapsed
    assert diversity.diversity(np.full((3, 10), np.nan)).collapsed


def test_the_page_names_no_column_it_does_not_show(gamma_page):
    assert "separate column" not in gamma_page and methods.NOT_ON_PAGE not in gamma_page
    assert methods.on_page("One. Two any single test detected it. Three 0.5.") == "One. Three 0.5."


def test_failed_seeds_count_as_the_worst_value_not_as_broken(gamma_page):
    note = labels.failed_value_note()
    assert all(labels.OUTCOME_LABELS[o] in note for o in FAILED_OUTCOMES) and "+∞" in note
    assert str(escape(note)) in gamma_page
    assert "broken member" not in gamma_page and "bootstrap" not in gamma_page


# -- effects' labels ----------------------------------------------------------------------------

def test_every_effect_method_has_words():
    named = set(re.findall(r"``([a-z]+(?:-[a-z]+)+)``", effects.__doc__))
    assert named and named <= set(labels.EFFECT_METHODS)


def test_effects_show_readable_terms_methods_and_scales(gamma_page):
    table = gamma_page[gamma_page.index('id="effects"'):gamma_page.index("</table>", gamma_page.index('id="effects"'))]
    assert "config = seed config × target = bimodal" in table
    assert str(escape(labels.EFFECT_METHODS["ols-ranks-seed-block"])) in table
    assert str(escape(labels.METRIC_LABELS["abs_mean_error"])) in table
    for raw in ("config[", "ols-ranks-seed-block", "rate-mover-wilson", "abs_mean_error"):
        assert raw not in table, raw


def test_effect_rows_and_their_sentences_read_a_term_alike(gamma_input):
    # The factorial design's step_ratio levels hold a ":" ("30:10", tests/runs/test_crossed_design.py),
    # the character that also joins a term's factors; the one parser keeps such a level whole.
    term = "features[raw]:step_ratio[30:10]:lr_schedule[constant]"
    assert labels.term_label(term) == "features = raw × step_ratio = 30:10 × lr_schedule = constant"
    row, = tables_comparisons.effect_rows(dataclasses.replace(gamma_input, effects=EFFECTS.iloc[:1].assign(term=term)))
    assert row["term"] == labels.term_label(term)
    assert "how the effect of features = raw changes when step_ratio = 30:10 and lr_schedule = constant" in row["sentence"]

# -- the primary table --------------------------------------------------------------------------

def test_primary_table_states_its_constant_columns_once(gamma_input, gamma_page):
    start = gamma_page.index('id="key-comparisons-common"')
    table = gamma_page[start:gamma_page.index("</table>", start)]
    head = table[table.index("<thead>"):table.index("</thead>")]
    assert "<th>Called</th>" in head
    for column in ("Rate or metric", "<th>Family</th>", "<th>Test</th>"):
        assert column not in head, column
    common = table[:table.index("</p>")]
    on_target = gamma_input.comparisons[gamma_input.comparisons["metric"] == "rate:on_target"]
    assert "on-target rate" in common and f"Family: {on_target['family'].iloc[0]}" in common
    assert f"Test: {TEST_NAMES[on_target['test'].iloc[0]]}" in common


def test_the_limitations_give_the_wilson_half_width_and_what_the_primary_family_could_miss(report_input):
    """At 12 seeds a rate of 0.5 has the Wilson interval [0.2538, 0.7462] (statsmodels'
    proportion_confint(6, 12, method="wilson")): ±0.25, where the Wald half-width 0.98/sqrt(12)
    would say ±0.28. The changes the run could miss are the primary rows' smallest detectable ones."""
    text = " ".join(methods.limitations(report_input))
    assert "12 seeds per arm: a rate is known to within about ±0.25 (the half-width of its 95% Wilson" in text
    assert "80% power" not in text   # this run's comparisons computed no smallest detectable difference
    comparisons = report_input.comparisons.copy()
    primary = comparisons["metric"] == "rate:on_target"
    comparisons.loc[primary, "mde"] = np.linspace(0.41, 0.47, primary.sum())
    text = " ".join(methods.limitations(dataclasses.replace(report_input, comparisons=comparisons)))
    assert "with 80% power only from about 0.47, so smaller differences are likely to be missed" in text


def test_the_methods_say_what_the_sign_test_s_ties_mean_only_where_it_ran(report_input):
    """Two failed seeds tie at the worst value: the page must say that a sign test of the median
    cannot reject through many ties, while P(arm better) counts them half."""
    assert "sign" in set(report_input.comparisons["test"])
    assert methods.SIGN_TIES in methods.multiplicity(report_input)
    rates_only = report_input.comparisons[report_input.comparisons["test"] != "sign"]
    assert methods.SIGN_TIES not in methods.multiplicity(dataclasses.replace(report_input, comparisons=rates_only))


def test_the_smallest_detectable_column_names_only_the_scales_its_rows_use(report_input):
    frame = report_input.comparisons
    rates = frame[frame["metric"].str.startswith("rate:")]
    assert tables_comparisons.comparison_rows(report_input, frame=rates)["mde_scale"] == "arm − baseline"
    assert tables_comparisons.comparison_rows(report_input)["mde_scale"] == \
        "rates: arm − baseline; metrics: P(arm better on a seed)"
    metrics_only = frame[~frame["metric"].str.startswith("rate:")]
    assert tables_comparisons.comparison_rows(report_input, frame=metrics_only)["mde_scale"] == \
        "P(arm better on a seed)"


@pytest.mark.parametrize("counts, expected", [
    ({"undecided": 2, "stuck": 1}, "The baseline's one seed that fails is stuck (2 more are undecided, not failed)"),
    ({"stuck": 2}, "All 2 of the baseline's seeds that fail are stuck"),
    ({"undecided": 2}, "The baseline's 2 seeds not on target are undecided: no band was shown outside"),
    ({"undecided": 3, "stuck": 1, "collapsed": 1}, "The baseline's 2 seeds that fail do so in several ways"),
])
def test_the_why_line_does_not_count_undecided_seeds_as_failures(report_input, counts, expected):
    """An undecided generator was shown neither inside nor outside its bands: it has not failed."""
    base = report_input.outcomes["arm"] == "baseline"
    outcomes = report_input.outcomes.assign(
        count=np.where(base, report_input.outcomes["outcome"].map(counts).fillna(0), report_input.outcomes["count"]))
    outcomes.loc[base & (outcomes["outcome"] == "on_target"), "count"] = 12 - sum(counts.values())
    from gancheck.report import verdict
    text = verdict._line_mechanism(dataclasses.replace(report_input, outcomes=outcomes), "baseline")
    assert text.startswith(expected), text
    assert "undecided, the commonest" not in text

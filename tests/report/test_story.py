"""The story's facts: the controls' outcomes in the Controls section, and every target read from
the arms' configs rather than assumed."""
from __future__ import annotations

import dataclasses
import html
import json
import re

import pytest

from gancheck.report import findings, tables, target_view
from gancheck.report.methods import methods
from gancheck.report.render import page
from gancheck.report.target_view import arm_words
from gancheck.report.verdict import verdict


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


@pytest.fixture(scope="module")
def controls_story(report_input) -> str:
    section = page(report_input).split('<section id="controls">')[1].split("</section>")[0]
    return section.split("<details")[0]  # what a reader sees without opening anything


def test_each_control_s_outcomes_are_in_the_story(report_input, controls_story):
    assert 'id="control-outcomes"' in controls_story
    text = _text(controls_story)
    outcomes = report_input.outcomes[report_input.outcomes["arm"].str.startswith("control:")]
    # Oracle: the fabricated outcomes table, count by count (CONTROL_PLANTED names the outcome
    # each control plants: the null on target, the mean shift off target, ...).
    for control, planted in (("null", "on_target"), ("mean_shift", "off_target"),
                             ("collapsed", "collapsed")):
        row = outcomes[(outcomes["arm"] == f"control:{control}") & (outcomes["outcome"] == planted)]
        if len(row):
            label = planted.replace("_", " ")
            assert f"{control}: {int(row['count'].iloc[0])} of {int(row['n'].iloc[0])} {label}" in text


def test_the_controls_sentence_names_what_each_control_received(report_input):
    sentence = findings.control_outcomes(report_input)
    names = [a.removeprefix("control:") for a in tables.arm_order(report_input, "control")]
    assert names and all(f"{n}: " in sentence for n in names)
    table = tables.control_outcomes(report_input)
    assert [r["control"] for r in table["rows"]] == names
    # Every replicate is counted in exactly one outcome column.
    for row in table["rows"]:
        assert sum(int(c) for c in row["counts"] if c.isdigit()) == int(row["n"])


def _with_target(data, arm: str, spec: str):
    arms = data.arms.copy()
    i = arms.index[arms["arm"] == arm][0]
    config = json.loads(arms.at[i, "config_json"] or "{}")
    arms.at[i, "config_json"] = json.dumps({**config, "target": spec})
    return dataclasses.replace(data, arms=arms)


def test_the_default_target_is_the_runs_normal(report_input):
    # Oracle: the fabricated run's target, N(4, 1.25) (conftest.TARGET_MEAN, TARGET_STD), in
    # gancheck.targets' words (mean, sd).
    assert set(arm_words(report_input).values()) == {"N(4, 1.25)"}
    assert target_view.target_text(report_input) == "N(4, 1.25)"


def test_each_arm_s_own_target_is_said(report_input):
    data = _with_target(report_input, "features=raw", "gamma(a=2, scale=2)")
    text = target_view.target_text(data)
    assert "gamma(a=2, scale=2) (features=raw)" in text and "N(4, 1.25) (" in text
    assert "gamma(a=2, scale=2)" in page(data)


def test_methods_and_verdict_read_the_baseline_s_target(report_input):
    base = tables.baseline_name(report_input)
    data = _with_target(report_input, base, "gamma(a=2, scale=2)")
    training = methods(data)["model"][2]
    assert "fresh draws from the target gamma(a=2, scale=2)" in training
    assert "N(4" not in training
    box = verdict(data, "a tolerance")["lines"][0]["text"]
    assert "gamma(a=2, scale=2)" in box


def test_an_arm_that_moves_the_baseline_to_another_target_is_said_as_a_transfer(report_input):
    base = tables.baseline_name(report_input)
    other = next(a for a in tables.arm_order(report_input) if a != base)
    # The other arm becomes the baseline's own configuration on a gamma target.
    arms = report_input.arms.copy()
    base_config = json.loads(arms.loc[arms["arm"] == base, "config_json"].iloc[0])
    arms.loc[arms["arm"] == other, "config_json"] = json.dumps({**base_config, "target": "gamma(a=2, scale=2)"})
    data = dataclasses.replace(report_input, arms=arms)
    lines = {line["key"]: line["text"] for line in verdict(data, "a tolerance")["lines"]}
    assert f"“{other}”" in lines["transfer"]
    assert f"“{other}”" not in lines["necessary"]   # said once, as a transfer
    # Without such an arm there is no transfer line (the fabricated run's arms all change a setting).
    assert "transfer" not in {line["key"] for line in verdict(report_input, "a tolerance")["lines"]}

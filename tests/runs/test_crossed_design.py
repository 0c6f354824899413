"""A design that crosses factors gets effects.csv: main effects and their interaction.

The effects' statistics are tested in tests/stats/test_effects.py; here, that a crossed run
writes them (and a one-factor run does not), with the contract's columns and an `a:b` term, and
that the factorial design's four-factor crossing gets its effects up to the three-way terms.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gancheck.report.collect import write_outputs
from gancheck.runs.driver import run_design
from gancheck.runs.plan import Arm
from tests.runs.conftest import small_config, small_design

RUN = dict(workers=1, compile="no", show_progress=False)


def crossed_arms() -> list[Arm]:
    arms = []
    for hidden in (5, 8):
        for ratio in ((2, 2), (3, 1)):
            levels = {"g_hidden_size": str(hidden), "step_ratio": f"{ratio[0]}:{ratio[1]}"}
            changed = {k: v for k, v in levels.items() if v not in ("5", "2:2")}
            name = ",".join(f"{k}={v}" for k, v in changed.items()) or "seed"
            arms.append(Arm(name, small_config(g_hidden_size=hidden, d_steps=ratio[0], g_steps=ratio[1]),
                            factor="+".join(changed) or "baseline",
                            level=",".join(changed.values()) or "seed", factors=tuple(levels.items())))
    return arms


@pytest.mark.slow
def test_a_crossed_run_writes_effects_with_an_interaction(tmp_path):
    design = small_design(arms=crossed_arms(), seeds=(0, 1, 2))
    run_design(design, tmp_path, **RUN)
    write_outputs(tmp_path, render=False)
    effects = pd.read_csv(tmp_path / "effects.csv")
    assert list(effects.columns) == ["metric", "term", "estimate", "ci_low", "ci_high", "pvalue", "method",
                                     "units", "converged"]
    assert effects["term"].str.contains(":").any()          # the two-way interaction
    assert {"rate:on_target", "ks_statistic"} <= set(effects["metric"])
    assert set(effects.loc[effects["metric"].str.startswith("rate:"), "method"]) <= {"rate-mover-wilson"}


@pytest.mark.slow
def test_a_one_factor_run_has_no_effects_file(tmp_path):
    run_design(small_design(seeds=(0,)), tmp_path, **RUN)
    write_outputs(tmp_path, render=False)
    assert not (tmp_path / "effects.csv").exists()


#: The factorial design's quick preset: each of its four factors at the seed's level and one other.
QUICK_CHANGES = {"features": "raw", "step_ratio": "30:10", "lr_schedule": "constant", "g_hidden_size": "200"}


def test_a_four_factor_crossing_gets_effects_up_to_three_way():
    import itertools
    import json

    from experiments.designs import build_design
    from gancheck.runs.verdicts import factor_effects
    arms = pd.DataFrame(build_design(design="factorial", preset="quick", seeds=[0, 1, 2, 3]).arm_rows())
    gan = arms.loc[arms["role"] == "arm", ["arm", "factors_json"]]
    all_changed = next(a for a, text in gan.itertuples(index=False)
                       if all(json.loads(text)[f] == level for f, level in QUICK_CHANGES.items()))
    keys = pd.DataFrame(list(itertools.product(gan["arm"], range(4))), columns=["arm", "seed"])
    # On target: seeds 0 and 1 of the arm that changes all four factors, no other member.
    on_target = ((keys["arm"] == all_changed) & (keys["seed"] < 2)).astype(float)
    rates = pd.concat([keys.assign(metric="rate:on_target", value=on_target),
                       keys.assign(metric="rate:collapse_flag", value=1 - on_target)], ignore_index=True)
    metrics = keys.assign(metric="ks_statistic", value=np.arange(len(keys)) % 7 / 10)
    effects = factor_effects(arms, metrics, rates)
    rows = effects[effects["metric"] == "rate:on_target"].set_index("term")
    # Each factor's reference is the seed's level, so terms name the other level; four main
    # effects, six two-way and four three-way terms (the four-way one is fitted, not reported).
    mains = [f"{f}[{level}]" for f, level in QUICK_CHANGES.items()]
    expected = {":".join(group) for order in (1, 2, 3) for group in itertools.combinations(mains, order)}
    assert set(rows.index) == expected and len(expected) == 14
    assert set(effects.groupby("metric")["term"].count()) == {14} and effects["converged"].all()
    # By hand, the all-changed cell at 2/4 and every other at 0/4: a main effect is
    # mean(changed cells) - mean(seed-level cells) = 0.5 / 8; a three-way term is 0.5 / 2.
    assert rows.loc["features[raw]", "estimate"] == pytest.approx(0.0625)
    assert rows.loc["step_ratio[30:10]:lr_schedule[constant]:g_hidden_size[200]", "estimate"] == pytest.approx(0.25)
    collapse = effects[effects["metric"] == "rate:collapse_flag"].set_index("term")["estimate"]
    assert collapse["features[raw]"] == pytest.approx(-0.0625)   # 1 - on target, by hand


@pytest.mark.slow
def test_the_factorial_design_runs_end_to_end_with_its_effects_and_page(tmp_path):
    # The quick factorial design (2^4 arms) cut to 2 seeds, 3 epochs, 2 replicates per control
    # and 4 draws, run and written out as experiments.ablate does it.
    import dataclasses

    from experiments.designs import build_design
    design = build_design(design="factorial", preset="quick", seeds=[0, 1], epochs=3)
    design = dataclasses.replace(design, control_reps=2, n_draws=4)
    run_design(design, tmp_path, **RUN)
    write_outputs(tmp_path)
    assert (tmp_path / "index.html").is_file()
    effects = pd.read_csv(tmp_path / "effects.csv")
    terms = set(effects.loc[effects["metric"] == "rate:on_target", "term"])
    assert len(terms) == 14 and "features[raw]:step_ratio[30:10]:lr_schedule[constant]" in terms

"""A design that crosses factors gets effects.csv: main effects and their interaction.

The effects' statistics are tested in tests/stats/test_effects.py; here, that a crossed run
writes them (and a one-factor run does not), with the contract's columns and an `a:b` term.
"""
from __future__ import annotations

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

"""The transfer design (experiments.designs) and runs that carry a target.

Oracles: the fix design's own arms (the transfer design reuses its configs), the seeds the fix
was chosen and checked on (0-19 and 20-39: the published fix and fix-fresh reports), and the
arms' factor levels written out by hand.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from experiments.designs import FIX_ARM, SEED_CONFIG_ARM, TRANSFER_TARGETS, build_design
from gancheck.runs.driver import run_design
from gancheck.runs.plan import plan
from gancheck.runs.verdicts import crossed_factors


def test_the_transfer_design_crosses_the_fix_and_the_seed_config_with_four_targets():
    design = build_design(design="transfer", preset="full")
    fix = {a.name: a.config for a in build_design(design="fix", preset="full").arms}
    arms = {a.name: a for a in design.arms}
    assert len(arms) == 8 and design.baseline == FIX_ARM
    for label, spec in TRANSFER_TARGETS.items():
        for config in (FIX_ARM, SEED_CONFIG_ARM):
            arm = arms[config if not spec else f"{config} on {label}"]
            # the fix design's configs, the target aside; N(4, 1.25) is the fix design's own config
            assert arm.config == fix[config].replace(target=spec)
            assert dict(arm.factors) == {"config": config, "target": label}
    # 20 fresh seeds: the fix was chosen on 0-19 and checked on 20-39; the seed's 2001 epochs.
    assert design.seeds == list(range(40, 60))
    assert {a.config.num_epochs for a in design.arms} == {2001}
    # A full 2 x 4 crossing: the effects (and the config x target interactions) are estimable.
    rows = pd.DataFrame(design.arm_rows())
    assert crossed_factors(rows) == ["config", "target"]


def test_the_non_normal_targets_have_the_seeds_mean():
    # Each target's mean by hand is 4 (gamma: a * scale = 10.24 * 0.390625; t and the equal
    # mixture of 2.5 and 5.5: symmetric about 4).
    for arm in build_design(design="transfer", preset="full").arms:
        assert arm.config.data_target.mean == pytest.approx(4.0, abs=1e-12)


def test_every_arm_of_other_designs_takes_a_target_and_n_4_125_is_the_default():
    default = build_design(design="fix", preset="full")
    same = build_design(design="fix", preset="full", target="norm(loc=4, scale=1.25)")
    assert [a.config.digest() for a in same.arms] == [a.config.digest() for a in default.arms]
    gamma = build_design(design="fix", preset="full", target="gamma(a=2)")
    assert {a.config.target for a in gamma.arms} == {"gamma(a=2)"}
    assert gamma.target_spec == "gamma(a=2)" and gamma.target == pytest.approx((2.0, 2 ** 0.5))
    with pytest.raises(ValueError, match="transfer design sets"):
        build_design(design="transfer", preset="quick", target="gamma(a=2)")


def test_controls_follow_the_baselines_target_and_populations_never_mix_targets():
    design = build_design(design="fix", preset="quick", target="gamma(a=2)")
    tasks = plan(design, set())
    controls = [t for t in tasks if t.kind == "control"]
    assert controls and {t.target_spec for t in controls} == {"gamma(a=2)"}
    transfer = build_design(design="transfer", preset="quick")
    for task in plan(transfer, set()):
        if task.kind == "population":
            assert len({m.config.target for m in task.members}) == 1


@pytest.mark.parametrize("option, value", [("--target", "gamma(a=-1)"), ("--target", "binom(n=3, p=0.5)"),
                                           ("--target", "norm(loc=4, scale=1+1)")])
def test_a_bad_target_is_one_line_and_exit_2(tmp_path, capsys, option, value):
    from experiments.ablate import main
    from gancheck.cli import run_cli
    code = run_cli(main, ["--preset", "quick", "--out", str(tmp_path / "r"), option, value])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--target={value!r}" in err, err
    assert not (tmp_path / "r").exists()


def test_the_transfer_design_refuses_a_target_of_its_own(tmp_path, capsys):
    from experiments.ablate import main
    from gancheck.cli import run_cli
    code = run_cli(main, ["--design", "transfer", "--preset", "quick", "--out", str(tmp_path / "r"),
                          "--target", "gamma(a=2)"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--target" in err, err


@pytest.mark.slow
def test_the_transfer_design_runs_end_to_end_and_judges_each_arm_against_its_target(tmp_path):
    # The quick preset's design, cut to one seed, 3 epochs and 2 replicates of each control, run
    # and written out as experiments.ablate does it.
    import dataclasses
    import sqlite3

    from gancheck.report.collect import write_outputs
    from gancheck.runs.store import STORE_NAME
    design = build_design(design="transfer", preset="quick", seeds=[40], epochs=3)
    design = dataclasses.replace(design, control_reps=2, n_draws=4)
    run_design(design, tmp_path, workers=1, compile="no", show_progress=False)
    write_outputs(tmp_path, render=False)
    outcomes = pd.read_csv(tmp_path / "outcomes.csv")
    assert set(outcomes["arm"]) >= {a.name for a in design.arms}
    # The crossing's effects, with the config x target interactions.
    terms = set(pd.read_csv(tmp_path / "effects.csv")["term"])
    assert "config[seed config]:target[bimodal]" in terms
    # Each arm judged against its own target: the normal-shape tests apply only to the normal
    # arms (and to the controls, built from the baseline's N(4, 1.25)).
    scores = pd.read_csv(tmp_path / "scores.csv")
    with_shapiro = set(scores.loc[scores["test"] == "shapiro", "arm"])
    assert {a.name for a in design.arms if not a.config.target} <= with_shapiro
    assert not {a.name for a in design.arms if a.config.target} & with_shapiro
    # The record stores the baseline's target and each arm's.
    with sqlite3.connect(tmp_path / STORE_NAME) as db:
        record = json.loads(db.execute("SELECT value FROM meta WHERE key = 'provenance'").fetchone()[0])
    assert record["target"] == "norm(loc=4, scale=1.25)"
    assert record["arm_targets"]["fix on skewed"] == TRANSFER_TARGETS["skewed"]
    # Rerunning resumes: nothing is trained again.
    again = run_design(design, tmp_path, workers=1, compile="no", show_progress=False)
    assert again.trained == 0


def test_a_seed_count_starts_at_the_design_s_first_seed():
    from experiments.ablate import AutoSeeds, design_seeds, parse_seeds
    # The transfer design's fresh seeds start at 40 (the fix was chosen on 0-19); the others at 0.
    assert design_seeds("transfer", parse_seeds("3")) == [40, 41, 42]
    assert design_seeds("one-factor", parse_seeds("3")) == [0, 1, 2]
    assert design_seeds("transfer", parse_seeds("5:7")) == [5, 6]   # a range is taken as written
    assert design_seeds("transfer", AutoSeeds(2)) == [40, 41]
    assert design_seeds("fix", None) is None


# -- what the fix's designs say about the seeds it was chosen on ------------------------------------

def test_the_fix_design_says_when_its_seeds_are_the_ones_it_was_chosen_on():
    from experiments.designs import FIX_CHOSEN_ON, build_design
    on_chosen = build_design(design="fix").caveats
    assert len(on_chosen) == 1 and "every seed of this run is among them" in on_chosen[0]
    assert "--seeds 20:40" in on_chosen[0] and list(FIX_CHOSEN_ON) == list(range(20))
    fresh = build_design(design="fix", seeds=list(range(20, 40))).caveats
    assert len(fresh) == 1 and fresh[0].startswith("Every seed of this run is fresh for the fix")
    assert "10 of this run's 20 seeds" in build_design(design="fix", seeds=list(range(10, 30))).caveats[0]
    assert build_design(design="transfer").caveats == fresh  # seeds 40-59
    assert build_design(design="one-factor").caveats == ()

"""Designs and planning: arms change one named thing; tasks are populations, not seeds."""
import json

import pytest

from experiments.designs import FACTORIAL_FACTORS, FACTORS, FIX, PRESETS, REMEDIES, build_design
from gancheck import GANConfig
from gancheck.gan.population import population_shape
from gancheck.runs.plan import Arm, Design, Member, plan


def _changed_fields(cfg: GANConfig, base: GANConfig) -> set[str]:
    a, b = cfg.to_dict(), base.to_dict()
    return {k for k in a if a[k] != b[k]}


def test_default_design_is_full_preset_one_factor_around_the_seed():
    design = build_design()
    base = next(a for a in design.arms if a.name == design.baseline).config
    # The baseline is the seed's config exactly (docs/seed.md), 2001 epochs, >= 20 seeds.
    assert base == GANConfig()
    assert len(design.seeds) >= 20 and design.seeds == list(range(20))
    for arm in design.arms:
        if arm.name == design.baseline:
            continue
        changed = _changed_fields(arm.config, base)
        # One named factor per arm: the step ratio sets two fields, the per-value generator
        # also sets its noise per call (Nag's one number), and the learning-rate regime sets
        # both rates and their schedule.
        allowed = {"step_ratio": {"d_steps", "g_steps"},
                   "generator": {"generator", "g_input_size"},
                   "lr_regime": {"d_learning_rate", "g_learning_rate", "lr_schedule", "lr_min"},
                   }.get(arm.factor, {arm.factor})
        assert changed and changed <= allowed, (arm.name, changed)


def test_design_covers_the_required_levels():
    names = {a.name for a in build_design().arms}
    for level in ("raw", "sorted", "data_sq_diffs", "data_diffs", "moments2"):
        assert f"features={level}" in names
    ratios = [a for a in build_design().arms if a.factor == "step_ratio"]
    assert len(ratios) >= 4  # at least 4 settings around 20:20
    assert all(a.config.d_steps + a.config.g_steps == 40 for a in ratios)  # total held fixed
    assert any(a.config.d_steps > a.config.g_steps for a in ratios)
    assert any(a.config.d_steps < a.config.g_steps for a in ratios)
    for level in ("constant", "cosine_decay", "linear_decay"):
        assert f"lr_schedule={level}" in names
    assert "g_hidden_size=200" in names
    # The remedies, one at a time around the seed.
    for name in ("generator=per_value", "noise=normal", "minibatch_std=on", "instance_noise=1",
                 "g_loss=saturating", "d_learning_rate=4e-4", "g_activation=leaky_relu",
                 "d_activation=leaky_relu"):
        assert name in names


def test_factorial_crosses_every_level():
    design = build_design(design="factorial")
    expected = 1
    for factor in FACTORIAL_FACTORS:
        expected *= len(FACTORS[factor])
    assert len(design.arms) == expected  # 6 * 5 * 4 * 2 = 240 (product of level counts)
    assert len({a.config for a in design.arms}) == expected
    assert sum(a.name == "baseline" for a in design.arms) == 1


def test_remedies_design_crosses_its_levels_around_the_seed():
    design = build_design(design="remedies")
    expected = 1
    for levels in REMEDIES.values():
        expected *= len(levels)
    assert len(design.arms) == len({a.config for a in design.arms}) == expected  # 2 * 2 * 2 = 8
    assert next(a for a in design.arms if a.name == design.baseline).config == GANConfig()
    fix = next(a for a in design.arms if a.name == "generator=per_value,noise=normal,lr_regime=fast_decay").config
    assert (fix.generator, fix.g_input_size, fix.noise) == ("per_value", 1, "normal")
    assert (fix.g_learning_rate, fix.lr_schedule, fix.lr_min) == (2e-3, "linear_decay", 0.0)
    assert fix.num_epochs == 2001 and len(design.seeds) == 20  # the full preset: the seed's budget


def test_fix_design_is_the_fix_the_seed_and_the_fix_less_each_part():
    design = build_design(design="fix")
    arms = {a.name: a for a in design.arms}
    fix = arms[design.baseline]
    assert design.baseline == "fix" and arms["seed config"].config == GANConfig()
    assert (fix.config.generator, fix.config.noise, fix.config.g_activation, fix.config.d_activation) == (
        "per_value", "normal", "elu", "leaky_relu")
    assert len(design.arms) == 2 + len(FIX)  # the fix, the seed, one arm per part of the fix
    seed_levels = dict(arms["seed config"].factors)
    for factor in FIX:
        reverted = arms[f"fix with {factor}={seed_levels[factor]}"]
        # Exactly the fields of that one factor are back at the seed's values.
        changed = _changed_fields(reverted.config, fix.config)
        expected = _changed_fields(GANConfig().replace(**FACTORS[factor][FIX[factor]]), GANConfig())
        assert changed == expected, (factor, changed)
        assert dict(reverted.factors)[factor] == seed_levels[factor]
    assert fix.config.num_epochs == 2001 and design.seeds == list(range(20))


def test_only_full_crossings_get_factorial_effects():
    import pandas as pd

    from gancheck.runs.verdicts import crossed_factors

    def arms_table(design):
        return pd.DataFrame(design.arm_rows())
    assert crossed_factors(arms_table(build_design(design="remedies"))) == list(REMEDIES)
    # The fix design changes several factors per arm, but crosses none of them fully.
    assert crossed_factors(arms_table(build_design(design="fix"))) == []
    assert crossed_factors(arms_table(build_design())) == []  # one factor at a time


def test_seeds_override_and_same_seed_list_in_every_arm():
    design = build_design(preset="quick", seeds=[3, 5, 8])
    assert design.seeds == [3, 5, 8]
    tasks = plan(design, set(), workers=2)
    per_arm: dict[str, set] = {}
    for t in tasks:
        for m in t.members:
            per_arm.setdefault(m.arm, set()).add(m.seed)
    assert all(seeds == {3, 5, 8} for arm, seeds in per_arm.items() if not arm.startswith("control:"))


def test_plan_groups_shape_compatible_members_and_skips_done_work():
    design = build_design(preset="quick")
    tasks = [t for t in plan(design, set(), workers=1) if t.kind == "population"]
    for t in tasks:
        assert all(isinstance(m, Member) for m in t.members)
        assert len({population_shape(m.config) for m in t.members}) == 1
    # The baseline and lr_schedule=constant share a shape, so they train together in one population.
    merged = [t for t in tasks if {"baseline", "lr_schedule=constant"} <= {m.arm for m in t.members}]
    assert merged
    all_members = {(m.arm, m.seed) for t in tasks for m in t.members}
    assert len(all_members) == len(design.arms) * len(design.seeds)
    done = {("baseline", 0), ("features=raw", 1)}
    remaining = {(m.arm, m.seed) for t in plan(design, done, workers=1) for m in t.members}
    assert not done & remaining


def test_blocks_keep_workers_busy_without_tiny_tasks():
    design = Design("d", [Arm("seed", GANConfig(num_epochs=2))], list(range(40)), "seed",
                    controls=(), n_draws=4)
    tasks = plan(design, set(), workers=2)
    sizes = sorted(len(t.members) for t in tasks)
    assert len(tasks) >= 2 * 2 - 1  # at least ~2 blocks per worker (ceil effects aside)
    assert sizes[-1] - sizes[0] <= 1  # even blocks: 40 members in blocks of 10 -> no tail


def test_design_validation_names_the_problem():
    arm = Arm("seed", GANConfig())
    with pytest.raises(ValueError, match="baseline"):
        Design("d", [arm], [0], "nope")
    with pytest.raises(ValueError, match="seeds"):
        Design("d", [arm], [1, 1], "seed")
    with pytest.raises(ValueError, match="control"):
        Design("d", [arm], [0], "seed", controls=("bogus",))
    with pytest.raises(ValueError, match="reserved"):
        Arm("control:x", GANConfig())


def test_arm_rows_record_full_configs():
    design = build_design(preset="quick")
    rows = design.arm_rows()
    arm_rows = [r for r in rows if r["role"] == "arm"]
    assert all(GANConfig.from_dict(json.loads(r["config_json"])) for r in arm_rows)
    assert sum(r["is_baseline"] for r in rows) == 1
    assert PRESETS["quick"].num_epochs < PRESETS["full"].num_epochs == 2001


def test_a_preset_that_leaves_a_factor_out_is_refused():
    # A factor missing from a preset's levels once silently got all its levels; now it is an error,
    # and so is a level the factor does not have.
    from experiments.designs import Preset
    levels = dict(PRESETS["quick"].levels)
    del levels["noise"]
    with pytest.raises(ValueError, match="missing noise"):
        Preset(num_epochs=3, seeds=1, control_reps=1, n_draws=2, levels=levels)
    with pytest.raises(ValueError, match="features='nope'"):
        Preset(num_epochs=3, seeds=1, control_reps=1, n_draws=2, levels={**PRESETS["quick"].levels, "features": ["nope"]})


def test_quick_preset_lists_every_factor():
    assert set(PRESETS["quick"].levels) == set(FACTORS)
    arms = build_design(preset="quick").arms
    # One contrast per factor that lists one, plus the baseline (hand count of the preset's lists).
    assert len(arms) == 1 + sum(len(v) for v in PRESETS["quick"].levels.values())


def test_one_field_factors_come_from_the_field_declaration():
    from gancheck.fields import FIELDS, brought_along
    for f in FIELDS:
        if not f.factor:
            continue
        assert list(FACTORS[f.name]) == list(f.factor), f.name
        for label, value in f.factor.items():
            assert FACTORS[f.name][label] == {**brought_along(f.name, value), f.name: value}
    # The per-value G brings Nag's one noise number per call along (docs/seed.md).
    assert FACTORS["generator"]["per_value"] == {"generator": "per_value", "g_input_size": 1}


def test_costliest_tasks_come_first():
    # A per-value G costs more per member-epoch (the generator registry's cost), so among tasks
    # of equal member-epochs its task is planned first.
    base = GANConfig(num_epochs=2)
    design = Design("d", [Arm("base", base), Arm("pv", base.replace(generator="per_value", g_input_size=1))],
                    [0, 1], "base", controls=(), n_draws=4)
    tasks = plan(design, set(), workers=1)
    assert [t.members[0].arm for t in tasks] == ["pv", "base"]

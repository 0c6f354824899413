"""What is derived from the one declaration of GANConfig's fields (gancheck/fields.py).

Oracles: the lists below are written out by hand from what each field means (which fields
change only a member's data or learning rates, which came after store format 2), and from the
registries' own keys; a derived table that drifts from them fails here.
"""
from __future__ import annotations

import pytest

from gancheck import fields
from gancheck.config import ADDED_FIELDS, PER_MEMBER_FIELDS, ConfigError, GANConfig


def test_per_member_fields_are_the_ones_that_change_only_data_noise_or_rates():
    # By hand: target mean and sd, G's noise distribution, both learning rates and the schedule's
    # settings leave every tensor's shape (and the step functions) alone.
    assert set(PER_MEMBER_FIELDS) == {"data_mean", "data_std", "noise", "d_learning_rate", "g_learning_rate",
                                      "lr_schedule", "lr_min", "cosine_t_max_factor"}


#: The fields of store format 2, as the published full run stored its configs: history, so this
#: list never grows. It had no activations, no g_ema and no target (its data was the seed's
#: N(data_mean, data_std)).
FORMAT_2_FIELDS = {"data_mean", "data_std", "g_input_size", "g_hidden_size", "g_output_size", "generator", "noise",
                   "d_hidden_size", "features", "minibatch_std", "instance_noise", "g_loss", "minibatch_size",
                   "num_epochs", "d_steps", "g_steps", "d_learning_rate", "g_learning_rate", "lr_schedule", "lr_min",
                   "cosine_t_max_factor", "adam_beta1", "adam_beta2", "adam_eps"}


def test_added_fields_are_the_ones_store_format_2_lacked():
    assert set(ADDED_FIELDS) == set(fields.BY_NAME) - FORMAT_2_FIELDS
    assert {"g_activation", "d_activation", "g_ema", "target"} <= set(ADDED_FIELDS)


def test_the_fields_the_published_records_lack_are_left_out_of_the_json_at_their_default():
    # Oracle: the published full run's config records (reports/full/arms.csv, config_json) list
    # every field it knew; one it lacks (the target, and any field declared since) is left out
    # of the JSON at its default, so those records read the same.
    import csv
    import json
    from pathlib import Path
    with open(Path(__file__).resolve().parents[1] / "reports" / "full" / "arms.csv", newline="") as f:
        listed = set.intersection(*(set(json.loads(row["config_json"])) for row in csv.DictReader(f)
                                                             if row["config_json"]))  # controls: none
    assert set(fields.UNLISTED_AT_DEFAULT) == set(fields.BY_NAME) - listed
    assert "target" in fields.UNLISTED_AT_DEFAULT


@pytest.mark.parametrize("spec", ["gamma(a=-1)", "norm(loc=4", "binom(n=5, p=0.5)", "norm(loc=4, scale=1+1)",
                                  "gamma(a=2)\nnorm(loc=0, scale=1)"])
def test_a_bad_target_is_one_line_naming_the_field(spec):
    with pytest.raises(ConfigError) as caught:
        GANConfig(target=spec)
    assert caught.value.field == "target" and caught.value.value == spec
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"GANConfig.target={spec!r}: ")


def test_every_registry_implements_exactly_the_declared_names():
    from gancheck.gan import activations, draws, features, generators, losses, philox_draws, schedules
    declared = {f.name: f.names for f in fields.FIELDS if f.choices}
    assert tuple(features.FEATURE_SETS) == declared["features"]
    assert tuple(generators.GENERATORS) == declared["generator"]
    assert tuple(activations.ACTIVATIONS) == declared["g_activation"] == declared["d_activation"]
    assert tuple(draws.NOISES) == tuple(philox_draws.NOISES) == declared["noise"]
    assert tuple(losses.G_LOSSES) == declared["g_loss"]
    assert tuple(schedules.SCHEDULES) == declared["lr_schedule"]


def test_a_registry_missing_a_declared_name_fails_when_built():
    from gancheck.gan.registry import register
    with pytest.raises(RuntimeError, match="declares uniform, normal"):
        register(fields.NOISES, {"uniform": object()})


def test_every_field_has_a_default_of_its_type_that_passes_its_rule():
    for f in fields.FIELDS:
        assert type(f.default) is f.type, f.name
        assert f.check(f.default) is None, f.name
        assert f.doc and "\n" not in f.doc, f.name


def test_a_bad_value_raises_a_typed_error_naming_the_field():
    with pytest.raises(ConfigError) as caught:
        GANConfig(g_activation="sigmoid")
    assert (caught.value.field, caught.value.value) == ("g_activation", "sigmoid")
    assert isinstance(caught.value, ValueError)  # callers that catch ValueError still do


def test_train_offers_every_allowed_name_of_every_choice_field():
    import argparse

    from gancheck.cli.train import add_parser
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    text = parser._subparsers._group_actions[0].choices["train"].format_help()
    for f in fields.FIELDS:
        if f.flag:
            assert f.flag in text, f.name
            for name in f.names:
                assert name in text, (f.name, name)
    # The activations by name (the help once offered only "relu or leaky_relu").
    assert all(name in text for name in ("relu", "leaky_relu", "elu", "tanh"))


def test_a_choice_brings_along_what_it_needs_unless_told_otherwise():
    from gancheck.cli.train import build_config
    from argparse import Namespace
    unset = {f.name: None for f in fields.FIELDS}
    # Nag's per-value G takes one noise number per call (docs/seed.md) ...
    assert build_config(Namespace(**{**unset, "generator": "per_value"})).g_input_size == 1
    # ... unless --noise-size says otherwise.
    assert build_config(Namespace(**{**unset, "generator": "per_value", "g_input_size": 3})).g_input_size == 3


def test_test_levels_cover_every_choice_of_every_choice_field():
    levels = fields.test_levels()
    for f in fields.FIELDS:
        for name in f.names:
            assert (f.name, name) in levels

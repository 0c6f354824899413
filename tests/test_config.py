"""GANConfig: the seed's defaults, validation of every field, immutability, serialisation, digest.

Oracles: the seed's code as docs/seed.md describes it (cited as "seed.md: <what it says>"),
torch.optim.Adam's own defaults, and the validation rules written out independently in
``expected_invalid_fields`` below. The tables hold the fields that existed when they were
written; every later field gives its own rows, by hand, in its own test module
(tests/field_oracles.py says how), and they join the tables here.
"""
from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import os
import re
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gancheck.config import (ACTIVATIONS, FEATURE_SETS, G_LOSSES, GENERATORS, LR_SCHEDULES, NOISES, GANConfig,
                             validate_config)
from tests.field_oracles import contributed, is_finite_number, is_int, module_path

FIELDS = [f.name for f in dataclasses.fields(GANConfig)]

INT_FIELDS = ("g_input_size", "g_hidden_size", "g_output_size", "d_hidden_size", "minibatch_size",
              "num_epochs", "d_steps", "g_steps", "cosine_t_max_factor")
FLOAT_FIELDS = ("data_mean", "data_std", "d_learning_rate", "g_learning_rate", "lr_min",
                "adam_beta1", "adam_beta2", "adam_eps", "instance_noise", "g_ema")
STR_FIELDS = {"features": FEATURE_SETS, "lr_schedule": LR_SCHEDULES, "generator": GENERATORS,
              "noise": NOISES, "g_loss": G_LOSSES, "g_activation": ACTIVATIONS, "d_activation": ACTIVATIONS}
BOOL_FIELDS = ("minibatch_std",)
#: Free-text fields checked by a parser: the target spec (gancheck.targets).
SPEC_FIELDS = ("target",)
#: Target specs by hand: valid ones, kept as written (already in gancheck.targets' canonical
#: spelling, and not normal, which a config stores as data_mean and data_std), and invalid ones.
GOOD_SPECS = ("", "gamma(a=2)", "t(df=5, loc=4, scale=0.968)",
              "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6), weights=[0.5, 0.5])")
BAD_SPECS = ("gamma(a=-1)", "norm(", "binom(n=5, p=0.5)", "gamma()", "__import__('os')", "gamma(a=1+1)",
             "nosuch(x=1)", " ",
             # Parse, but no member could be judged against them: no finite sd (a Cauchy; Student's t
             # has one only for df > 2), or a mean beyond the 1e12 a run's record is read back with.
             "cauchy()", "t(df=2)", "norm(loc=1e13)")
#: |data_mean| and data_std stay under this: the bound a run's record is read back with (the
#: commands that train refuse the same targets).
TARGET_BOUND = 1e12


def test_the_declaration_states_the_records_bound():
    # fields restates target_dist's bound so that a GANConfig imports no numpy: the two agree.
    from gancheck import fields, target_dist
    assert fields.TARGET_BOUND == target_dist.TARGET_BOUND == TARGET_BOUND


_TABLED = INT_FIELDS + FLOAT_FIELDS + tuple(STR_FIELDS) + BOOL_FIELDS + SPEC_FIELDS
#: Every other field's rows, from its own test module (tests/field_oracles.py).
ORACLES, _UNTESTED = contributed([name for name in FIELDS if name not in _TABLED])
#: Fields whose valid values are stored as floats (an int given is kept as a float).
STORED_AS_FLOAT = FLOAT_FIELDS + tuple(name for name, o in ORACLES.items() if o.kind is float)


def test_field_groups_cover_every_field():
    # Guard for the tables below: a field is in a group here, or gives its rows in its own module.
    assert not _UNTESTED, [f"{name}: no ORACLE in {module_path(name)}" for name in _UNTESTED]
    assert sorted(_TABLED + tuple(ORACLES)) == sorted(FIELDS)


# --------------------------------------------------------------------------- the seed's defaults


def test_defaults_are_the_seed():
    cfg = GANConfig()
    adam = inspect.signature(torch.optim.Adam).parameters
    expected = {
        "data_mean": 4.0,            # seed.md "N(mean=4, std=1.25)"
        "data_std": 1.25,            # seed.md
        "g_input_size": 50,          # seed.md "50 numbers per draw", "Linear(50,H)"
        "g_hidden_size": 5,          # seed.md: undefined in the post, 5 in its notebook
        "g_output_size": 500,        # seed.md "(minibatch, 500)", "Linear(H,500)"
        "d_hidden_size": 10,         # seed.md "Linear(4,10) -> ReLU -> Linear(10,10)"
        "features": "moments",       # seed.md "input = get_moments of each 500-vector"
        "minibatch_size": 10,        # seed.md "minibatch of 10"
        "num_epochs": 2001,          # seed.md "2001 epochs"
        "d_steps": 20,               # seed.md "20 D steps"
        "g_steps": 20,               # seed.md "then 20 G steps"
        "target": "",                # seed.md: the data is N(4, 1.25), i.e. data_mean and data_std
        "d_learning_rate": 1e-4,     # seed.md "Adam, lr 1e-4 for both"
        "g_learning_rate": 1e-4,     # seed.md
        "lr_schedule": "seed_cosine",  # seed.md CosineAnnealingLR stepped every inner step
        "lr_min": 1e-5,              # seed.md "eta_min=1e-5"
        "cosine_t_max_factor": 5,    # seed.md "T_max=d_steps*5 (resp. g_steps*5)"
        # seed.md passes only lr to Adam, so the rest are torch.optim.Adam's defaults.
        "adam_beta1": adam["betas"].default[0],   # 0.9
        "adam_beta2": adam["betas"].default[1],   # 0.999
        "adam_eps": adam["eps"].default,          # 1e-8
        # The remedies, each at the seed's value: seed.md "50 numbers per draw" ->
        # "Linear(H,500)" is one vector per call;  noise "uniform U(0,1)"; D sees each
        # vector's moments only (no batch statistic); no instance noise;  G's loss is
        # BCE(D(G(z)), 1), which is the non-saturating loss (Goodfellow et al. 2014, section 3).
        "generator": "vector",
        "noise": "uniform",
        "minibatch_std": False,
        "instance_noise": 0.0,
        "g_loss": "non_saturating",
        # seed.md: "ReLU" between the layers of both networks.
        "g_activation": "relu",
        "d_activation": "relu",
        # seed.md: the post samples the G it ends with, not an average of its weights.
        "g_ema": 0.0,
        # Later fields: each module's seed_value, cited there.
        **{name: o.seed_value for name, o in ORACLES.items()},
    }
    assert cfg.to_dict() == expected
    assert (cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps) == (0.9, 0.999, 1e-8)  # torch docs
    # seed.md: D's input is the 4 moments, "Linear(4,10)".
    assert cfg.d_input_size == 4


def test_the_seeds_feature_set_and_schedule_are_named():
    assert "moments" in FEATURE_SETS      # seed.md
    assert "seed_cosine" in LR_SCHEDULES  # seed.md


def test_every_registry_lists_the_seeds_level_first():
    # The seed's value is the first level of every factor.
    defaults = GANConfig()
    for name, levels in STR_FIELDS.items():
        assert levels[0] == getattr(defaults, name), name
    # docs/seed.md: vector (the seed's) and per_value (Nag's); uniform (the seed's) and normal.
    assert GENERATORS == ("vector", "per_value") and NOISES == ("uniform", "normal")


@pytest.mark.parametrize(("features", "minibatch_std", "width"), [
    ("moments", False, 4), ("moments2", False, 2), ("raw", False, 500), ("sorted", False, 500),
    ("data_sq_diffs", False, 1000), ("data_diffs", False, 1000), ("moments", True, 5), ("raw", True, 501),
])
def test_d_input_size_is_the_feature_width_plus_the_batch_spread(features, minibatch_std, width):
    # Hand count: 4 moments, mean and std, the 500 values, values plus 500 diffs; +1 for the spread.
    assert GANConfig(features=features, minibatch_std=minibatch_std).d_input_size == width


@pytest.mark.parametrize(("changes", "noise_size"), [
    ({}, 50),                                              # seed.md, 50 noise numbers per vector
    ({"generator": "per_value", "g_input_size": 1}, 500),  # Nag: one noise number per value
    ({"generator": "per_value", "g_input_size": 3}, 1500),
])
def test_noise_size_is_noise_per_call_times_calls(changes, noise_size):
    assert GANConfig(**changes).g_noise_size == noise_size


# ------------------------------------------------------------------------- one bad value per field

BAD_VALUES = [
    # (field, bad value); every other field keeps the seed's default.
    ("data_mean", math.nan), ("data_mean", math.inf), ("data_mean", -math.inf),
    ("data_mean", "4"), ("data_mean", None), ("data_mean", True), ("data_mean", 10 ** 400),
    ("data_mean", 1e12), ("data_mean", -1e300),
    ("data_std", 0.0), ("data_std", -1.25), ("data_std", math.nan), ("data_std", math.inf),
    ("data_std", 1e12),
    ("g_input_size", 0), ("g_input_size", -1), ("g_input_size", 50.0), ("g_input_size", True),
    ("g_input_size", "50"),
    ("g_hidden_size", 0), ("g_hidden_size", -5), ("g_hidden_size", 5.5), ("g_hidden_size", False),
    ("g_output_size", 0), ("g_output_size", 1), ("g_output_size", 2), ("g_output_size", 500.0),
    ("g_output_size", True),
    ("d_hidden_size", 0), ("d_hidden_size", -10), ("d_hidden_size", 10.0),
    ("features", "moment"), ("features", ""), ("features", "MOMENTS"), ("features", None),
    ("features", 4),
    ("minibatch_size", 0), ("minibatch_size", -10), ("minibatch_size", 10.0),
    ("minibatch_size", True),
    ("num_epochs", 0), ("num_epochs", -1), ("num_epochs", 2001.0), ("num_epochs", True),
    ("d_steps", 0), ("d_steps", -20), ("d_steps", 20.0),
    ("g_steps", 0), ("g_steps", -20), ("g_steps", None),
    ("d_learning_rate", 0.0), ("d_learning_rate", -1e-4), ("d_learning_rate", math.nan),
    ("d_learning_rate", math.inf), ("d_learning_rate", True), ("d_learning_rate", "1e-4"),
    ("g_learning_rate", 0), ("g_learning_rate", -1e-4), ("g_learning_rate", math.inf),
    ("g_learning_rate", None),
    ("lr_schedule", "cosine"), ("lr_schedule", ""), ("lr_schedule", None),
    ("lr_min", -1e-6), ("lr_min", 2e-4), ("lr_min", math.nan), ("lr_min", math.inf),
    ("lr_min", True),
    ("cosine_t_max_factor", 0), ("cosine_t_max_factor", -5), ("cosine_t_max_factor", 5.0),
    ("cosine_t_max_factor", True),
    ("adam_beta1", -0.1), ("adam_beta1", 1.0), ("adam_beta1", 1.5), ("adam_beta1", math.nan),
    ("adam_beta2", -0.001), ("adam_beta2", 1.0), ("adam_beta2", math.inf),
    ("adam_eps", 0.0), ("adam_eps", -1e-8), ("adam_eps", math.nan),
    ("generator", "vectors"), ("generator", ""), ("generator", None), ("generator", 1),
    ("noise", "gaussian"), ("noise", "Normal"), ("noise", None),
    ("g_activation", "leaky"), ("g_activation", "ReLU"), ("g_activation", None),
    ("d_activation", "sigmoid"), ("d_activation", ""), ("d_activation", 0),
    ("g_ema", 1.0), ("g_ema", -0.1), ("g_ema", math.nan), ("g_ema", "0.9"),
    ("g_loss", "nonsaturating"), ("g_loss", "wasserstein"), ("g_loss", None),
    ("minibatch_std", 1), ("minibatch_std", 0), ("minibatch_std", "yes"), ("minibatch_std", None),
    ("instance_noise", -0.1), ("instance_noise", math.nan), ("instance_noise", math.inf),
    ("instance_noise", True), ("instance_noise", "0.5"),
    *[("target", spec) for spec in BAD_SPECS], ("target", None), ("target", 4),
    *[(name, v) for name, o in ORACLES.items() for v in o.bad],
]


def message_pattern(field: str, value) -> str:
    # The documented message shape (config._fail): "GANConfig.<field>=<repr(value)>: <why>".
    return "^" + re.escape(f"GANConfig.{field}={value!r}:")


def test_every_field_has_a_bad_value():
    assert {field for field, _ in BAD_VALUES} == set(FIELDS)


@pytest.mark.parametrize(("field", "value"), BAD_VALUES,
                         ids=[f"{f}={str(v)[:12]}" for f, v in BAD_VALUES])
def test_bad_value_raises_value_error_naming_field_and_value(field, value):
    with pytest.raises(ValueError, match=message_pattern(field, value)):
        GANConfig(**{field: value})
    # The same check through replace(), which every ablation arm uses.
    with pytest.raises(ValueError, match=message_pattern(field, value)):
        GANConfig().replace(**{field: value})


def test_learning_rate_below_lr_min_is_reported_on_lr_min():
    # The rule "lr_min <= both learning rates" relates two fields; it names lr_min and its value.
    with pytest.raises(ValueError, match=message_pattern("lr_min", 1e-5)):
        GANConfig(d_learning_rate=1e-6)


@pytest.mark.parametrize(("field", "value"), [
    ("g_output_size", 3),        # the smallest vector with a skew (config: "must be >= 3")
    ("lr_min", 0.0),             # lr_min >= 0
    ("lr_min", 1e-4),            # lr_min == learning rate is allowed ("must not exceed")
    ("adam_beta1", 0.0),         # [0, 1) includes 0
    ("adam_beta2", 0.0),
    ("data_mean", -9.99e11),     # any mean within the record's bound
    ("data_std", 9.99e11),
    ("data_std", 1),             # an int is a finite number
    ("num_epochs", 1),
    ("features", "raw"), ("lr_schedule", "constant"),
    ("generator", "per_value"), ("noise", "normal"), ("g_loss", "saturating"),
    ("minibatch_std", True), ("instance_noise", 0.0), ("instance_noise", 2),
])
def test_boundary_values_are_accepted(field, value):
    assert getattr(GANConfig(**{field: value}), field) == value


def test_an_int_for_a_float_field_is_stored_as_float():
    # GANConfig(data_mean=4) == GANConfig() (4 == 4.0), so they must serialise and digest the same;
    # before the fix the JSON held "4" against "4.0" and the digests differed.
    cfg = GANConfig(data_mean=4, lr_min=0, adam_beta1=0)
    assert type(cfg.data_mean) is float and type(cfg.lr_min) is float
    assert GANConfig(data_mean=4) == GANConfig()
    assert GANConfig(data_mean=4).digest() == GANConfig().digest()


# --------------------------------------------------------------------------- random configs

def expected_invalid_fields(values: dict) -> set:
    """The documented rules, written out independently of gancheck.config.validate_config.

    Counts are integers (not bool) >= 1, g_output_size >= 3; the float fields are finite real
    numbers (int or float, not bool) that a float can hold; data_std, both learning rates and
    adam_eps are > 0; 0 <= lr_min <= each valid learning rate; 0 <= betas, g_ema < 1; features and
    lr_schedule are names from FEATURE_SETS and LR_SCHEDULES, and likewise generator, noise and
    g_loss from theirs; instance_noise >= 0; minibatch_std is a bool.
    """
    bad = set()
    for name in INT_FIELDS:
        v = values[name]
        if not is_int(v) or v < (3 if name == "g_output_size" else 1):
            bad.add(name)
    for name in FLOAT_FIELDS:
        if not is_finite_number(values[name]):
            bad.add(name)
    for name in ("data_std", "d_learning_rate", "g_learning_rate", "adam_eps"):
        if name not in bad and not values[name] > 0:
            bad.add(name)
    for name in ("data_mean", "data_std"):
        if name not in bad and not abs(values[name]) < TARGET_BOUND:
            bad.add(name)
    if "instance_noise" not in bad and not values["instance_noise"] >= 0:
        bad.add("instance_noise")
    for name in BOOL_FIELDS:
        if not isinstance(values[name], bool):
            bad.add(name)
    if "lr_min" not in bad:
        # Compared with the learning rates that are themselves valid (a rate <= 0 is its own error).
        rates = [values[r] for r in ("d_learning_rate", "g_learning_rate") if r not in bad]
        if values["lr_min"] < 0 or any(values["lr_min"] > r for r in rates):
            bad.add("lr_min")
    for name in ("adam_beta1", "adam_beta2", "g_ema"):
        if name not in bad and not 0 <= values[name] < 1:
            bad.add(name)
    for name, allowed in STR_FIELDS.items():
        v = values[name]
        if not isinstance(v, str) or v not in allowed:
            bad.add(name)
    # A target is a valid spec or ""; beside a spec, data_mean and data_std stay at the seed's.
    if not isinstance(values["target"], str) or values["target"] not in GOOD_SPECS:
        bad.add("target")
    elif (values["target"] and not {"data_mean", "data_std"} & bad
          and (values["data_mean"] != 4.0 or values["data_std"] != 1.25)):
        bad.add("target")
    # Later fields: each module's own hand-written rule.
    bad |= {name for name, o in ORACLES.items() if not o.valid(values[name])}
    return bad


# Typical values (all valid by the rules) ...
TYPICAL = {
    **{name: st.integers(3, 600) for name in INT_FIELDS},
    "data_mean": st.one_of(st.floats(-1e3, 1e3), st.integers(-10, 10)),
    "data_std": st.floats(1e-3, 10),
    "d_learning_rate": st.floats(1e-5, 1e-2),
    "g_learning_rate": st.floats(1e-5, 1e-2),
    "lr_min": st.floats(0, 1e-5),
    "adam_beta1": st.floats(0, 0.999),
    "adam_beta2": st.floats(0, 0.9999),
    "adam_eps": st.floats(1e-12, 1e-3),
    "features": st.sampled_from(FEATURE_SETS),
    "lr_schedule": st.sampled_from(LR_SCHEDULES),
    "generator": st.sampled_from(GENERATORS),
    "noise": st.sampled_from(NOISES),
    "g_loss": st.sampled_from(G_LOSSES),
    "g_activation": st.sampled_from(ACTIVATIONS),
    "d_activation": st.sampled_from(ACTIVATIONS),
    "g_ema": st.one_of(st.just(0.0), st.floats(0, 0.9999)),
    "minibatch_std": st.booleans(),
    "instance_noise": st.one_of(st.floats(0, 2), st.just(0)),
    "target": st.just(""),
    **{name: o.typical for name, o in ORACLES.items()},
}
# ... values at and across each rule's boundary (valid and invalid) ...
EDGE_VALUES = {
    **{name: [-1, 0, 1, 2, 3, 10 ** 30, True, False, 5.0] for name in INT_FIELDS},
    "data_mean": [0, -1e308, 1e308, 10 ** 300, 10 ** 400, True, "4", 1e12, -9.99e11],
    "data_std": [0.0, -1.0, 1, 5e-324, math.inf, True, 1e12, 9.99e11],
    "d_learning_rate": [0.0, -1e-4, 1e-6, 1e-5, 1, math.nan, False],
    "g_learning_rate": [0.0, -1e-4, 1e-6, 1e-5, 1, math.inf, True],
    "lr_min": [0, -1e-6, -0.0, 1e-5, 1e-3, math.nan, False],
    "adam_beta1": [0, -0.0, 1.0, 1, -0.1, 0.9999999999999999, False],
    "adam_beta2": [0, 1.0, 1.5, -1e-300, True, math.nan],
    "adam_eps": [0.0, -1e-8, 5e-324, math.inf, True],
    "features": ["moment", "", "Raw", "raw ", "moments2", None, 4],
    "lr_schedule": ["cosine", "", "Constant", "linear_decay", None],
    "generator": ["per_value", "per-value", "", None],
    "noise": ["normal", "gauss", None, 0],
    "g_loss": ["saturating", "Saturating", "", None],
    "g_activation": ["leaky_relu", "Leaky_ReLU", "", None],
    "d_activation": ["leaky_relu", "relu ", 1, None],
    "g_ema": [0, 0.999, 1.0, 1, -0.0, -1e-300, math.inf, True],
    "minibatch_std": [True, False, 1, 0, None, "True"],
    "instance_noise": [0, -0.0, 0.5, -1e-300, math.inf, True, None],
    "target": [*GOOD_SPECS, *BAD_SPECS, None, 0],
    **{name: list(o.edges) for name, o in ORACLES.items()},
}
EDGES = {name: st.sampled_from(values) for name, values in EDGE_VALUES.items()}
# ... or anything at all.
WILD = st.one_of(st.none(), st.booleans(), st.text(max_size=4), st.just(10 ** 400),
                 st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                 st.lists(st.integers(), max_size=1))


@st.composite
def raw_configs(draw):
    # A few fields (often none, often one, so that a single rule decides) take edge or wild
    # values; the rest are typical.
    odd = draw(st.sets(st.sampled_from(FIELDS), max_size=2))
    return {name: draw(st.one_of(EDGES[name], EDGES[name], EDGES[name], WILD) if name in odd
                       else TYPICAL[name])
            for name in FIELDS}


def test_random_configs_accepted_exactly_when_valid():
    outcomes = {"accepted": 0, "refused": 0}

    @settings(max_examples=400, deadline=None)
    @given(values=raw_configs())
    def check(values):
        bad = expected_invalid_fields(values)
        try:
            cfg = GANConfig(**values)
        except ValueError as err:
            outcomes["refused"] += 1
            named = re.match(r"GANConfig\.(\w+)=", str(err))
            assert named, f"message does not name a field: {err}"
            # Something invalid was refused, and the field it names is one of the invalid ones.
            assert bad, f"valid config refused: {values!r}: {err}"
            assert named.group(1) in bad, (named.group(1), bad, str(err))
            assert str(err).startswith(f"GANConfig.{named.group(1)}={values[named.group(1)]!r}:")
        else:
            outcomes["accepted"] += 1
            assert not bad, f"invalid fields {bad} accepted: {values!r}"
            # Accepted values are kept as given, the float fields as float (4 -> 4.0).
            stored = {k: float(v) if k in STORED_AS_FLOAT else v for k, v in values.items()}
            assert cfg.to_dict() == stored
            validate_config(cfg)  # still valid after the float coercion

    check()
    # Both branches must really have been exercised for the two claims to mean anything.
    assert outcomes["accepted"] >= 20 and outcomes["refused"] >= 20, outcomes


EDGE_CASES = [(name, value) for name, values in EDGE_VALUES.items() for value in values]


@pytest.mark.parametrize(("field", "value"), EDGE_CASES,
                         ids=[f"{f}={str(v)[:12]}" for f, v in EDGE_CASES])
def test_every_edge_value_is_judged_by_the_rules(field, value):
    # Each boundary value on its own (the rest the seed's), judged by the independent rules.
    values = GANConfig().to_dict() | {field: value}
    bad = expected_invalid_fields(values)
    if not bad:
        stored = float(value) if field in STORED_AS_FLOAT else value
        assert getattr(GANConfig(**values), field) == stored
        return
    # The bad field is this one, except where a learning rate drops below the seed's lr_min
    # (1e-5): then the cross-field rule reports lr_min (see the test above).
    assert len(bad) == 1
    (named,) = bad
    with pytest.raises(ValueError, match=message_pattern(named, values[named])):
        GANConfig(**values)


# --------------------------------------------------------------------------- frozen, dict, digest


def test_frozen():
    cfg = GANConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_epochs = 5
    assert cfg.num_epochs == 2001  # seed.md, unchanged


ALTERNATIVES = {
    # One different valid value per field, to show every field reaches the dict and the digest.
    "data_mean": 0.0, "data_std": 1.0, "g_input_size": 10, "g_hidden_size": 200,
    "g_output_size": 100, "d_hidden_size": 20, "features": "raw", "minibatch_size": 64,
    "num_epochs": 100, "d_steps": 1, "g_steps": 1, "d_learning_rate": 2e-4,
    "g_learning_rate": 2e-4, "lr_schedule": "constant", "lr_min": 0.0,
    "cosine_t_max_factor": 1, "adam_beta1": 0.5, "adam_beta2": 0.9, "adam_eps": 1e-6,
    "generator": "per_value", "noise": "normal", "g_loss": "saturating", "minibatch_std": True,
    "instance_noise": 0.5, "g_activation": "leaky_relu", "d_activation": "leaky_relu",
    "g_ema": 0.999, "target": "gamma(a=2)",
    **{name: o.alternative for name, o in ORACLES.items()},
}


#: Every field changed at once, but for the target: a target spec excludes a changed data_mean
#: and data_std (its own location and scale say them), so it is changed alone, in TARGETED.
ALL_CHANGED = {k: v for k, v in ALTERNATIVES.items() if k != "target"}
TARGETED = {k: v for k, v in ALTERNATIVES.items() if k not in ("data_mean", "data_std")}


def test_alternatives_cover_every_field():
    assert set(ALTERNATIVES) == set(FIELDS)
    assert set(ALL_CHANGED) | set(TARGETED) == set(FIELDS)


@pytest.mark.parametrize("cfg", [GANConfig(), GANConfig(**ALL_CHANGED), GANConfig(**TARGETED)],
                         ids=["seed", "changed", "targeted"])
def test_to_dict_from_dict_round_trip(cfg):
    assert GANConfig.from_dict(cfg.to_dict()) == cfg
    assert GANConfig.from_dict(json.loads(cfg.to_json())) == cfg  # through JSON text too
    assert GANConfig.from_dict(cfg.to_dict()).digest() == cfg.digest()


def test_from_dict_with_unknown_key_names_it():
    data = GANConfig().to_dict() | {"g_hiden_size": 200}
    with pytest.raises(ValueError, match=r"unknown field 'g_hiden_size'"):
        GANConfig.from_dict(data)


def test_from_dict_validates():
    with pytest.raises(ValueError, match=message_pattern("num_epochs", 0)):
        GANConfig.from_dict({"num_epochs": 0})


def test_digest_is_a_hash_of_every_field():
    for changes in (ALL_CHANGED, TARGETED):
        cfg = GANConfig(**changes)
        # Oracle: sha256 of the sorted-key JSON of all fields, first 16 hex digits (GANConfig.digest);
        # every field differs from the seed's here, the added ones included (the target in TARGETED;
        # in ALL_CHANGED it is at its default, which the digest leaves out like any added field's).
        data = dataclasses.asdict(cfg)
        if not data["target"]:
            del data["target"]
        text = json.dumps(data, sort_keys=True)
        assert cfg.digest() == hashlib.sha256(text.encode()).hexdigest()[:16]
        assert cfg.digest() == GANConfig(**changes).digest()


#: Config digests as the published full run stored them (reports/full/store.sqlite, arms table,
#: written at commit 82ff6c5, before g_activation, d_activation and g_ema existed).
STORED_DIGESTS = {"baseline": "ebcd113ec3abd306", "generator=per_value": "27bdce5792f47713",
                  "lr_regime=fast_decay": "4a6a1dfde87f432c"}


def test_fields_added_later_leave_stored_digests_alone():
    from experiments.designs import build_design
    arms = {arm.name: arm.config for arm in build_design(preset="full").arms}
    for name, digest in STORED_DIGESTS.items():
        assert arms[name].digest() == digest, name
    # A config that sets an added field is still told apart.
    for changes in ({"g_activation": "leaky_relu"}, {"d_activation": "leaky_relu"}, {"g_ema": 0.999},
                    {"target": "gamma(a=2)"}):
        assert GANConfig(**changes).digest() != GANConfig().digest()


def test_a_normal_target_is_the_seeds_own_form():
    # One law, one config: N(4, 1.25) as a spec is the seed's config (same digest, so its stored
    # members are reused), and another normal becomes data_mean and data_std.
    assert GANConfig(target="norm(loc=4, scale=1.25)") == GANConfig()
    assert GANConfig(target="norm(loc=4, scale=1.25)").digest() == STORED_DIGESTS["baseline"]
    other = GANConfig(target="norm(loc=3, scale=2)")
    assert (other.target, other.data_mean, other.data_std) == ("", 3.0, 2.0)
    # Another spelling of one law is one config: gancheck.targets' canonical spec.
    assert GANConfig(target="gamma( scale=1, a=2 )") == GANConfig(target="gamma(a=2, scale=1)")


def test_the_target_is_not_listed_in_the_json_at_its_default():
    # The published run records' config_json (reports/full/arms.csv) has no "target" key; the
    # JSON's values are to_dict's. (That a default config's JSON reads exactly as those records
    # do is test_published_config_records_read_the_same's.)
    listed = json.loads(GANConfig().to_json())
    assert "target" not in listed and listed.items() <= GANConfig().to_dict().items()
    assert json.loads(GANConfig(target="gamma(a=2)").to_json())["target"] == "gamma(a=2)"


def test_published_config_records_read_the_same():
    # Oracle: the published full run's arms.csv, written before the target field existed.
    import pandas as pd

    from experiments.designs import build_design
    from pathlib import Path
    published = pd.read_csv(Path(__file__).resolve().parents[1] / "reports" / "full" / "arms.csv")
    stored = dict(zip(published["arm"], published["config_json"]))
    for arm in build_design(preset="full").arms:
        assert arm.config.to_json() == stored[arm.name], arm.name


def test_data_target_is_the_law_the_data_follows():
    from gancheck.targets import parse
    assert GANConfig().data_target == parse("norm(loc=4, scale=1.25)")   # seed.md: N(4, 1.25)
    # gamma(a=2) has mean a = 2 and variance a = 2 (its textbook moments).
    law = GANConfig(target="gamma(a=2)").data_target
    assert (law.family, law.mean, law.std) == ("gamma", 2.0, math.sqrt(2.0))


def test_digest_is_stable_across_processes():
    # Stable across interpreter runs, whatever the string-hash seed.
    code = "from gancheck.config import GANConfig; print(GANConfig().digest())"
    digests = set()
    for hash_seed in ("0", "12345"):
        env = os.environ | {"PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, check=True)
        digests.add(out.stdout.strip())
    assert digests == {GANConfig().digest()}


def test_digest_changes_when_any_field_changes():
    base = GANConfig()
    digests = {"<seed>": base.digest()}
    for name, value in ALTERNATIVES.items():
        changed = base.replace(**{name: value})
        assert changed != base
        digests[name] = changed.digest()
    # Every single-field change gives a digest different from the seed's and from each other's.
    assert len(set(digests.values())) == len(digests), digests


#: Every arm's config digest in each full design, as computed by the code before the fields were
#: declared in one module (commit 8e7a843): the sha256 of the sorted JSON list of (arm, digest)
#: pairs, first 16 hex digits, with the arm then named "seed" called "baseline" (in the fix
#: design, whose baseline is the fix, "seed config").
DESIGN_DIGESTS = {"one-factor": "4b7647b24a71fdf2", "factorial": "3c1ad662074c5cbd",
                  "remedies": "33df53bbc5f35b86", "fix": "b650c501d97d094a"}


@pytest.mark.parametrize("design", list(DESIGN_DIGESTS))
def test_every_arms_digest_is_unchanged_so_stores_resume(design):
    from experiments.designs import build_design
    pairs = sorted((arm.name, arm.config.digest()) for arm in build_design(design=design, preset="full").arms)
    assert hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16] == DESIGN_DIGESTS[design]


def test_a_digest_does_not_depend_on_the_arm_name():
    # The digest hashes the config alone: renaming an arm (seed -> baseline) cannot change it.
    from experiments.designs import BASELINE, build_design
    from gancheck.runs.plan import Arm
    base = next(a for a in build_design(preset="full").arms if a.name == BASELINE)
    assert Arm("seed", base.config).config.digest() == base.config.digest() == STORED_DIGESTS["baseline"]

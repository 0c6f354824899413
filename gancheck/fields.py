"""Every GANConfig field, declared once: the one place to add or change a field.

Each Field says what the field is (one line), its type, its default (the seed's value), the rule
its value must satisfy, the option of ``python -m gancheck train`` that sets it, whether members
of one population may differ in it, whether it came after store format 2, and the levels the
ablation designs and the tests try. GANConfig, its validation, train's options and help, the
population trainer's per-member fields, the digest's added fields, the one-field factors of the
designs and the trainers' test levels are all read from FIELDS.

A field that names an implementation (features, generator, activations, noise, G's loss,
learning-rate schedule) lists its allowed names here as Choices, the seed's first, each with a
one-line description and the shape facts a config needs without torch. The implementations
register under exactly these names in gancheck/gan (``gancheck.gan.registry``), with their own
properties (cost, whether compiling pays), so nothing else names an entry.

A field that transforms what D sees (after its features, such as dropout on them) is implemented
once, as the entry under its name in gancheck.gan.d_input.TRANSFORMS, which both trainers apply.
A field added after the published runs is declared ``added=True, listed_at_default=False``: at its
default it leaves stored digests and published config records as they were. Its tests live in one
module, tests/**/test_<field>.py, which also gives its hand-written rows for the config tests
(tests/field_oracles.py).

This module imports nothing but the standard library, and gancheck.targets (numpy; scipy once a
spec is checked) when a target spec is checked: building a GANConfig never loads torch.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Mapping


@dataclass(frozen=True)
class Choice:
    """One allowed name of a choice field.

    ``width(n)``: features per n-vector (feature sets). ``calls(n)``: G's calls per n-vector
    (generator kinds). ``sets``: other fields this choice brings along unless told otherwise
    (Nag's per-value G takes one noise number per call)."""
    name: str
    description: str
    width: Callable[[int], int] | None = None
    calls: Callable[[int], int] | None = None
    sets: Mapping[str, object] = field(default_factory=dict)


class ConfigError(ValueError):
    """A GANConfig field's value breaks its rule; ``field`` names it (for CLIs to name their option)."""

    def __init__(self, field: str, value, why: str):
        super().__init__(f"GANConfig.{field}={value!r}: {why}")
        self.field, self.value, self.why = field, value, why


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (math.isfinite(10**400) raises)
        return False


def at_least(low) -> Callable[[object], str | None]:
    return lambda v: None if v >= low else f"must be >= {low}"


def above(low) -> Callable[[object], str | None]:
    return lambda v: None if v > low else f"must be > {low}"


def in_unit_interval(v) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


@functools.lru_cache(maxsize=256)
def parse_target(spec: str):
    """gancheck.targets.parse, once per spec (configs are built many times over in a design)."""
    from gancheck.targets import parse
    return parse(spec)


@functools.lru_cache(maxsize=256)
def normal_target(mean: float, std: float):
    from gancheck.targets import normal
    return normal(mean, std)


def target_of(target: str, data_mean: float, data_std: float):
    """The Target a config's real data follows: its spec, or N(data_mean, data_std) if none."""
    return parse_target(target) if target else normal_target(data_mean, data_std)


def target_spec(v) -> str | None:
    """Why ``v`` is not a usable target spec ("" is: the seed's N(data_mean, data_std))."""
    if v == "":
        return None
    try:
        law = parse_target(v)
    except ValueError as exc:   # gancheck.targets.TargetError: its reason, on one line
        return " ".join(str(getattr(exc, "why", exc)).split())
    # What no member could be judged against is refused here, as the commands refuse it, rather
    # than after training.
    from gancheck.targets import judging_refusal
    return judging_refusal(law)


#: The bound a run's record is read back with, gancheck.target_dist.TARGET_BOUND, restated here
#: so that building a GANConfig imports no numpy (tests/test_config.py checks the two agree).
TARGET_BOUND = 1e12


def within_target_bound(v) -> str | None:
    # As every command that trains already refuses: a data_std of 1e300 would train, then no
    # report could read its record.
    return None if abs(v) < TARGET_BOUND else f"must lie within +-{TARGET_BOUND:g}"


def _target_alone(values: Mapping) -> str | None:
    # A target spec states its own location and scale; a data_mean or data_std beside it would
    # be silently ignored, so it is refused instead.
    if values["target"] and (values["data_mean"] != SEED_VALUES["data_mean"]
                             or values["data_std"] != SEED_VALUES["data_std"]):
        return ("a target spec sets its own location and scale: leave data_mean and data_std at the "
                "seed's 4.0 and 1.25")
    return None


def _lr_min_within_rates(values: Mapping) -> str | None:
    # The schedules decay from each learning rate down to lr_min, so it cannot exceed either.
    if values["lr_min"] > min(values["d_learning_rate"], values["g_learning_rate"]):
        return "must not exceed d_learning_rate or g_learning_rate"
    return None


@dataclass(frozen=True)
class Field:
    """One GANConfig field (see the module's docstring).

    ``rules``: checks of a value of the right type, each returning why it fails or None.
    ``relation``: a check against the other fields' values, run once every field is valid alone.
    ``flag``: train's option ("" for none). ``per_member``: members of one population may differ
    in it (it is not part of the population's shape). ``added``: it came after store format 2, so
    the digest leaves it out at its default. ``listed_at_default``: False leaves it out of the
    config's JSON (GANConfig.to_json, the run records' config_json) at its default, so that the
    records of runs made before it existed read the same, byte for byte. ``factor``: the one-factor design's levels, label ->
    value, the default's first (empty: not a factor). ``test_levels``: values other than the
    default that the trainers' tests run at (choice fields: every choice; see test_levels)."""
    name: str
    type: type
    default: object
    doc: str
    rules: tuple[Callable[[object], str | None], ...] = ()
    choices: tuple[Choice, ...] = ()
    relation: Callable[[Mapping], str | None] | None = None
    flag: str = ""
    per_member: bool = False
    added: bool = False
    listed_at_default: bool = True
    factor: Mapping[str, object] = field(default_factory=dict)
    test_levels: tuple = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.choices)

    def choice(self, name: str) -> Choice:
        return next(c for c in self.choices if c.name == name)

    def check(self, value) -> str | None:
        """Why ``value`` is not allowed on its own, or None."""
        if self.type is bool:
            return None if isinstance(value, bool) else "must be True or False"
        if self.type is str and self.choices:
            if not isinstance(value, str) or value not in self.names:
                return f"must be one of {', '.join(self.names)}"
            return None
        if self.type is str:
            if not isinstance(value, str):
                return "must be a string"
            return next((why for why in (rule(value) for rule in self.rules) if why), None)
        # numbers.Real and Integral take numpy's scalars (np.int64(200), np.float32(1e-3)) too;
        # True is an int to Python, and numpy's bool_ is no number here either.
        if (isinstance(value, bool) or type(value).__name__ in ("bool", "bool_")
                or not isinstance(value, numbers.Real if self.type is float else numbers.Integral)):
            return "must be a finite number" if self.type is float else "must be an integer"
        if self.type is float and not _finite(value):
            return "must be a finite number"
        for rule in self.rules:
            why = rule(value)
            if why:
                return why
        return None


def _choices(*entries: Choice) -> tuple[Choice, ...]:
    return entries


FEATURE_SETS = _choices(
    Choice("moments", "the seed's 4: mean, std, skew, excess kurtosis", width=lambda n: 4),
    Choice("moments2", "mean and std only", width=lambda n: 2),
    Choice("raw", "the n values", width=lambda n: n),
    Choice("sorted", "the values sorted (the empirical quantile function)", width=lambda n: n),
    Choice("data_sq_diffs", "the values and (x - mean)^2, as the seed's source", width=lambda n: 2 * n),
    Choice("data_diffs", "the values and (x - mean)", width=lambda n: 2 * n),
)

GENERATORS = _choices(
    Choice("vector", "the seed's: g_input_size noise numbers -> one n-vector", calls=lambda n: 1),
    Choice("per_value", "Dev Nag's: g_input_size noise numbers (his: 1) -> one value, the same G for all n",
           calls=lambda n: n, sets={"g_input_size": 1}),
)

ACTIVATIONS = _choices(
    Choice("relu", "the seed's ReLU"),
    Choice("leaky_relu", "leaky ReLU, slope 0.2 below 0 (DCGAN's D)"),
    Choice("elu", "ELU, alpha 1: smooth, linear above 0"),
    Choice("tanh", "tanh (the activation the seed stores for G and never applies)"),
)

NOISES = _choices(
    Choice("uniform", "the seed's U(0, 1)"),
    Choice("normal", "N(0, 1)"),
)

G_LOSSES = _choices(
    Choice("non_saturating", "the seed's: BCE(D(G(z)), 1) = -log D(G(z))"),
    Choice("saturating", "minimax: -BCE(D(G(z)), 0) = log(1 - D(G(z)))"),
)

LR_SCHEDULES = _choices(
    Choice("seed_cosine", "the seed's CosineAnnealingLR(T_max=5*steps), never restarted: cycles every 10 epochs"),
    Choice("constant", "the base rate throughout"),
    Choice("cosine_decay", "one cosine decay from the base rate to lr_min over the run"),
    Choice("linear_decay", "one linear decay from the base rate to lr_min over the run"),
)

_POSITIVE = (at_least(1),)

#: Every GANConfig field, in the config's reading order: target, G, D, training, optimiser.
FIELDS: tuple[Field, ...] = (
    # The real data's law: a spec (gancheck.targets) or, by default, the seed's N(data_mean,
    # data_std). A normal spec is stored as data_mean and data_std (GANConfig), so one law has one
    # config and one digest. Part of a population's shape: every member of one draws from one law.
    Field("target", str, "", "the target the real data is drawn from, a spec such as gamma(a=2) "
          "(default: N(data_mean, data_std))", (target_spec,), relation=_target_alone, flag="--target",
          added=True, listed_at_default=False,
          # one target per way the trainer draws it (gancheck.gan.target_draws): a quantile table, a
          # mixture of normals
          test_levels=("t(df=5, loc=4, scale=0.968)", "mixture(norm(loc=2.5, scale=0.6), norm(loc=5.5, scale=0.6))")),
    Field("data_mean", float, 4.0, "mean of the target N(mean, std) the real data is drawn from",
          (within_target_bound,), per_member=True),
    Field("data_std", float, 1.25, "sd of the target", (above(0), within_target_bound), per_member=True),
    Field("g_input_size", int, 50, "noise numbers per call of G", _POSITIVE, flag="--noise-size"),
    # The blog never defines it; the notebook it came from ran with 5 (docs/seed.md).
    Field("g_hidden_size", int, 5, "G's hidden units per layer", _POSITIVE, flag="--hidden",
          factor={"5": 5, "200": 200}),
    # The moments need at least 3 values per vector to have a skew; the seed uses 500.
    Field("g_output_size", int, 500, "values per generated vector", (at_least(3),)),
    Field("generator", str, "vector", "how G makes a vector from noise", choices=GENERATORS,
          flag="--generator", factor={"vector": "vector", "per_value": "per_value"}),
    Field("g_activation", str, "relu", "G's hidden activation", choices=ACTIVATIONS, flag="--g-activation",
          added=True, factor={"relu": "relu", "leaky_relu": "leaky_relu", "elu": "elu"}),
    Field("noise", str, "uniform", "G's noise distribution", choices=NOISES, flag="--noise", per_member=True,
          factor={"uniform": "uniform", "normal": "normal"}),
    Field("d_hidden_size", int, 10, "D's hidden units per layer", _POSITIVE),
    Field("features", str, "moments", "what D sees of each vector", choices=FEATURE_SETS, flag="--features",
          factor={c.name: c.name for c in FEATURE_SETS}),
    Field("d_activation", str, "relu", "D's hidden activation", choices=ACTIVATIONS, flag="--d-activation",
          added=True, factor={"relu": "relu", "leaky_relu": "leaky_relu"}),
    Field("minibatch_std", bool, False, "append the minibatch's spread across its vectors to D's features",
          flag="--minibatch-std", factor={"off": False, "on": True}, test_levels=(True,)),
    Field("instance_noise", float, 0.0, "sd of N(0, sd^2) noise added to all D sees, annealed linearly to 0",
          (at_least(0),), flag="--instance-noise", factor={"0": 0.0, "1": 1.0}, test_levels=(0.5,)),
    Field("g_loss", str, "non_saturating", "G's loss", choices=G_LOSSES, flag="--g-loss",
          factor={"non_saturating": "non_saturating", "saturating": "saturating"}),
    Field("g_ema", float, 0.0, "decay of the moving average of G's weights that is sampled (0: the last G)",
          (in_unit_interval,), flag="--g-ema", added=True, test_levels=(0.9,)),
    Field("minibatch_size", int, 10, "vectors per minibatch", _POSITIVE),
    Field("num_epochs", int, 2001, "training epochs", _POSITIVE, flag="--epochs"),
    Field("d_steps", int, 20, "D steps per epoch", _POSITIVE),
    Field("g_steps", int, 20, "G steps per epoch", _POSITIVE),
    Field("d_learning_rate", float, 1e-4, "D's learning rate", (above(0),), flag="--d-lr", per_member=True,
          factor={"1e-4": 1e-4, "4e-4": 4e-4}),
    Field("g_learning_rate", float, 1e-4, "G's learning rate", (above(0),), flag="--g-lr", per_member=True),
    Field("lr_schedule", str, "seed_cosine", "learning-rate schedule", choices=LR_SCHEDULES,
          flag="--lr-schedule", per_member=True, factor={c.name: c.name for c in LR_SCHEDULES}),
    Field("lr_min", float, 1e-5, "the schedule's floor", (at_least(0),), relation=_lr_min_within_rates,
          flag="--lr-min", per_member=True),
    Field("cosine_t_max_factor", int, 5, "the seed's cosine schedule: T_max = this x steps per epoch",
          _POSITIVE, per_member=True),
    # Adam as torch.optim.Adam's defaults: the seed passes only the learning rate.
    Field("adam_beta1", float, 0.9, "Adam's beta1", (in_unit_interval,)),
    Field("adam_beta2", float, 0.999, "Adam's beta2", (in_unit_interval,)),
    Field("adam_eps", float, 1e-8, "Adam's eps", (above(0),)),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

#: Fields members of one population may differ in; every other field is part of the shape.
PER_MEMBER_FIELDS = tuple(f.name for f in FIELDS if f.per_member)

#: Fields added after store format 2 was published: GANConfig.digest leaves them out at the default.
ADDED_FIELDS = tuple(f.name for f in FIELDS if f.added)

#: Fields left out of the config's JSON at their default (Field.listed_at_default).
UNLISTED_AT_DEFAULT = tuple(f.name for f in FIELDS if not f.listed_at_default)

#: The seed's value of every field.
SEED_VALUES = {f.name: f.default for f in FIELDS}


def choices(name: str) -> tuple[Choice, ...]:
    """The Choices of the choice field ``name``."""
    return BY_NAME[name].choices


def check_values(values: Mapping) -> None:
    """Raise ConfigError for the first field whose value breaks its rule, alone or related."""
    for f in FIELDS:
        why = f.check(values[f.name])
        if why:
            raise ConfigError(f.name, values[f.name], why)
    for f in FIELDS:
        why = f.relation(values) if f.relation else None
        if why:
            raise ConfigError(f.name, values[f.name], why)


def brought_along(name: str, value) -> dict:
    """The other fields a choice sets unless told otherwise (e.g. per_value: one noise number)."""
    f = BY_NAME[name]
    return dict(f.choice(value).sets) if f.choices and isinstance(value, str) and value in f.names else {}


def one_field_factors() -> dict[str, dict[str, dict]]:
    """The one-field factors of the designs: field -> {level: {field: value}}, the seed's first,
    each choice with the fields it brings along."""
    return {f.name: {label: {**brought_along(f.name, value), f.name: value} for label, value in f.factor.items()}
            for f in FIELDS if f.factor}


def test_levels() -> list[tuple[str, object]]:
    """(field, value) pairs the trainers' tests run at, one field changed at a time: every choice
    of every choice field, and each other field's declared test levels."""
    return [(f.name, v) for f in FIELDS for v in (f.names if f.choices else f.test_levels)]

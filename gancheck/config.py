"""GANConfig: the whole experiment as one frozen, validated dataclass.

Its fields are declared in gancheck/fields.py (type, default, rule, option, role); this module
turns that declaration into the dataclass. Defaults reproduce the seed (docs/seed.md) exactly;
every quirk of the seed is a named field, so an ablation changes one named thing at a time.
Nothing here imports torch.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from gancheck import fields as _fields
from gancheck.fields import ADDED_FIELDS, PER_MEMBER_FIELDS, SEED_VALUES, UNLISTED_AT_DEFAULT, ConfigError

#: The allowed names of each choice field, the seed's first (gancheck/fields.py).
FEATURE_SETS = tuple(c.name for c in _fields.FEATURE_SETS)
GENERATORS = tuple(c.name for c in _fields.GENERATORS)
ACTIVATIONS = tuple(c.name for c in _fields.ACTIVATIONS)
NOISES = tuple(c.name for c in _fields.NOISES)
G_LOSSES = tuple(c.name for c in _fields.G_LOSSES)
LR_SCHEDULES = tuple(c.name for c in _fields.LR_SCHEDULES)

__all__ = ["GANConfig", "ConfigError", "validate_config", "ADDED_FIELDS", "PER_MEMBER_FIELDS", "FEATURE_SETS",
           "GENERATORS", "ACTIVATIONS", "NOISES", "G_LOSSES", "LR_SCHEDULES"]

_FLOAT_FIELDS = tuple(f.name for f in _fields.FIELDS if f.type is float)
_INT_FIELDS = tuple(f.name for f in _fields.FIELDS if f.type is int)


def _declared(cls):
    """Give ``cls`` the declared fields, in order, with the seed's defaults, as a frozen dataclass."""
    cls.__annotations__ = {f.name: f.type for f in _fields.FIELDS}
    for f in _fields.FIELDS:
        setattr(cls, f.name, f.default)
    cls.__doc__ += "\n\nFields:\n" + "\n".join(f"    {f.name} = {f.default!r}: {f.doc}" for f in _fields.FIELDS)
    return dataclasses.dataclass(frozen=True)(cls)


@_declared
class GANConfig:
    """One GAN setup. ``GANConfig()`` is the seed's setup, value for value."""

    def __post_init__(self) -> None:
        validate_config(self)
        # An int (or numpy float) given for a float field is stored as a plain float, so that
        # configs that compare equal also serialise, and hence digest, identically:
        # GANConfig(data_mean=4) == GANConfig() and both must reuse the same stored members.
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, float(getattr(self, name)))
        for name in _INT_FIELDS:  # numpy's integers too: a plain int serialises as JSON
            object.__setattr__(self, name, int(getattr(self, name)))
        if self.target:
            # One law, one config: a normal spec is the seed's own form, N(data_mean, data_std)
            # (so GANConfig(target="norm(loc=4, scale=1.25)") == GANConfig(), and reuses its stored
            # members); any other spec is kept in its canonical spelling.
            law = _fields.parse_target(self.target)
            if law.is_normal:
                # its loc and scale as written (its moments through scipy may differ in the last bit)
                params = dict(law.params)
                mean, std = float(params.get("loc", 0.0)), float(params.get("scale", 1.0))
                for name, value in (("target", ""), ("data_mean", mean), ("data_std", std)):
                    object.__setattr__(self, name, value)
            else:
                object.__setattr__(self, "target", law.spec)

    @property
    def data_target(self):
        """The gancheck.targets.Target the real data is drawn from (and members are judged
        against): the target spec's, or N(data_mean, data_std)."""
        return _fields.target_of(self.target, self.data_mean, self.data_std)

    @property
    def d_input_size(self) -> int:
        """D's input width: the feature set's width, plus one for the batch spread."""
        return _fields.BY_NAME["features"].choice(self.features).width(self.g_output_size) + int(self.minibatch_std)

    @property
    def g_noise_size(self) -> int:
        """Noise numbers per output vector: g_input_size per call of G, times the calls."""
        return _fields.BY_NAME["generator"].choice(self.generator).calls(self.g_output_size) * self.g_input_size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The fields as JSON; a field declared unlisted at its default (the target) is left out
        there, so the config records of runs made before it existed stay byte for byte."""
        data = self.to_dict()
        for name in UNLISTED_AT_DEFAULT:
            if data[name] == SEED_VALUES[name]:
                del data[name]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "GANConfig":
        unknown = sorted(set(data) - set(_fields.BY_NAME))
        if unknown:
            raise ValueError(f"GANConfig: unknown field {unknown[0]!r}")
        return cls(**data)

    def replace(self, **changes) -> "GANConfig":
        return dataclasses.replace(self, **changes)

    def digest(self) -> str:
        """A short hash of every field: a stored member is reused only for an identical config.

        A field added after members were first stored (ADDED_FIELDS) enters the hash only when it
        differs from the seed's value, which every earlier config had implicitly: adding a field
        leaves every stored member findable, and a member that sets it is still told apart."""
        data = self.to_dict()
        for name in ADDED_FIELDS:
            if data[name] == SEED_VALUES[name]:
                del data[name]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def validate_config(cfg: GANConfig) -> None:
    """Check every field; raise ConfigError (a ValueError) naming the first bad field and its value."""
    _fields.check_values({name: getattr(cfg, name) for name in _fields.BY_NAME})

"""GANConfig: the whole experiment as one frozen, validated dataclass.

Defaults reproduce the seed document (../shared/seed, summarised in SUMMARY.md) exactly; every
quirk of the seed is a named field, so an ablation changes one named thing at a time.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, fields

from gancheck.gan.losses import G_LOSSES as _G_LOSSES

#: Learning-rate schedules (see gancheck/gan/schedules.py).
LR_SCHEDULES = ("seed_cosine", "constant", "cosine_decay", "linear_decay")

#: G's losses (gancheck/gan/losses.py), the seed's first.
G_LOSSES = tuple(_G_LOSSES)

#: Names read from the registries that hold each level's implementation, the seed's first:
#: FEATURE_SETS (gancheck/gan/features.py), GENERATORS (gancheck/gan/generators.py), NOISES
#: (gancheck/gan/draws.py). Those modules need torch, which this module must not import (scoring
#: never loads torch), so the names are read on first use.
_LAZY_REGISTRIES = {"FEATURE_SETS": ("gancheck.gan.features", "FEATURE_SETS"),
                    "ACTIVATIONS": ("gancheck.gan.activations", "ACTIVATIONS"),
                    "GENERATORS": ("gancheck.gan.generators", "GENERATORS"),
                    "NOISES": ("gancheck.gan.draws", "NOISES")}


def _registry(name: str) -> dict:
    import importlib
    module, attribute = _LAZY_REGISTRIES[name]
    return getattr(importlib.import_module(module), attribute)


def __getattr__(name: str):
    if name in _LAZY_REGISTRIES:
        return tuple(_registry(name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class GANConfig:
    """One GAN setup. ``GANConfig()`` is the seed's setup, value for value."""

    # Target distribution of the real data: N(4, 1.25), drawn fresh every D step.
    data_mean: float = 4.0
    data_std: float = 1.25
    # Generator: Linear(50,H) -> ReLU -> Linear(H,H) -> ReLU -> Linear(H,500). The seed stores
    # tanh as G's activation but never applies it, so G's output is linear (kept: see DESIGN.md).
    g_input_size: int = 50
    # The blog never defines g_hidden_size; its notebook ran with 5 (DESIGN.md, "Decisions").
    g_hidden_size: int = 5
    g_output_size: int = 500
    # How G makes a vector (gancheck/gan/generators.py): "vector", the seed's, maps g_input_size
    # noise numbers to the whole 500-vector; "per_value", Dev Nag's original, maps g_input_size
    # noise numbers (Nag: 1) to one value, with the same weights for each of the 500 values. So
    # g_input_size is always the noise numbers per call of G.
    generator: str = "vector"
    # G's hidden activation (gancheck/gan/activations.py: relu, leaky_relu, elu, tanh; the seed's
    # ReLU first). Where all of a ReLU G's units are off, a whole interval of noise maps to one
    # value: an atom; the fix's G is the smooth ELU.
    g_activation: str = "relu"
    # G's noise: the seed's U(0, 1), or N(0, 1) (with which a per-value G with one noise number
    # can represent the target exactly, as an affine map).
    noise: str = "uniform"
    # Discriminator: features(x) -> Linear(F,10) -> ReLU -> Linear(10,10) -> ReLU -> Linear(10,1) -> sigmoid.
    d_hidden_size: int = 10
    # The seed's D sees only the 4 moments of each 500-vector.
    features: str = "moments"
    # D's hidden activation (the same registry): the seed's ReLU, or e.g. leaky ReLU, whose
    # units cannot die (a dead ReLU D says 0.5 to everything and G stops learning).
    d_activation: str = "relu"
    # Append the minibatch's spread (progressive GANs' minibatch std, gancheck/gan/features.py) to
    # D's features, so that D sees across the batch's draws; the seed's D sees one vector at a time.
    minibatch_std: bool = False
    # Instance noise (Sonderby et al. 2017): N(0, sd^2) added to every value D sees, real and
    # fake, with sd annealed linearly from this value at the first epoch to 0 at the last. 0: none.
    instance_noise: float = 0.0
    # G's loss (gancheck/gan/losses.py): the seed's BCE(D(G(z)), 1) is the non-saturating one.
    g_loss: str = "non_saturating"
    # G as sampled and exported: the seed's last iterate (0), or an exponential moving average
    # of G's weights, updated after every G step with this decay (Yazici et al. 2019, "The
    # unusual effectiveness of averaging in GAN training"): an oscillation about the target is
    # averaged out. Training itself, and its history, use the live weights.
    g_ema: float = 0.0
    minibatch_size: int = 10
    num_epochs: int = 2001
    d_steps: int = 20
    g_steps: int = 20
    d_learning_rate: float = 1e-4
    g_learning_rate: float = 1e-4
    # The seed's CosineAnnealingLR(T_max=steps*5, eta_min=1e-5), stepped before every inner step
    # and never restarted: the rate cycles between 1e-4 and 1e-5 every 10 epochs.
    lr_schedule: str = "seed_cosine"
    lr_min: float = 1e-5
    cosine_t_max_factor: int = 5
    # Adam as torch.optim.Adam's defaults (the seed passes only lr).
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8

    def __post_init__(self) -> None:
        validate_config(self)
        # An int (or numpy float) given for a float field is stored as a plain float, so that
        # configs that compare equal also serialise, and hence digest, identically:
        # GANConfig(data_mean=4) == GANConfig() and both must reuse the same stored members.
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def d_input_size(self) -> int:
        return _registry("FEATURE_SETS")[self.features].width(self.g_output_size) + int(self.minibatch_std)

    @property
    def g_noise_size(self) -> int:
        """Noise numbers per output vector: g_input_size per call of G, times the calls."""
        return _registry("GENERATORS")[self.generator].noise_size(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "GANConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
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
            if data[name] == _SEED_VALUES[name]:
                del data[name]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


#: Fields added after store format 2 (gancheck/runs/store.py) was published: see GANConfig.digest.
ADDED_FIELDS = ("g_activation", "d_activation", "g_ema")
_SEED_VALUES = {f.name: f.default for f in fields(GANConfig)}


#: Fields that take a finite real number (ints are accepted and stored as float).
_FLOAT_FIELDS = ("data_mean", "data_std", "d_learning_rate", "g_learning_rate", "lr_min",
                 "adam_beta1", "adam_beta2", "adam_eps", "instance_noise", "g_ema")


def _is_finite_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (math.isfinite(10**400) raises)
        return False


def _fail(name: str, value, why: str) -> None:
    raise ValueError(f"GANConfig.{name}={value!r}: {why}")


def validate_config(cfg: GANConfig) -> None:
    """Check every field; raise ValueError naming the first bad field and its value."""
    positive_ints = ("g_input_size", "g_hidden_size", "g_output_size", "d_hidden_size",
                     "minibatch_size", "num_epochs", "d_steps", "g_steps", "cosine_t_max_factor")
    for name in positive_ints:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(name, value, "must be an integer")
        if value < 1:
            _fail(name, value, "must be >= 1")
    # get_moments needs at least 3 values per vector to have a skew; the seed uses 500.
    if cfg.g_output_size < 3:
        _fail("g_output_size", cfg.g_output_size, "must be >= 3")
    for name in _FLOAT_FIELDS:
        value = getattr(cfg, name)
        if not _is_finite_number(value):
            _fail(name, value, "must be a finite number")
    for name in ("data_std", "d_learning_rate", "g_learning_rate", "adam_eps"):
        if getattr(cfg, name) <= 0:
            _fail(name, getattr(cfg, name), "must be > 0")
    if cfg.lr_min < 0:
        _fail("lr_min", cfg.lr_min, "must be >= 0")
    if cfg.lr_min > min(cfg.d_learning_rate, cfg.g_learning_rate):
        _fail("lr_min", cfg.lr_min, "must not exceed d_learning_rate or g_learning_rate")
    for name in ("adam_beta1", "adam_beta2", "g_ema"):
        if not 0 <= getattr(cfg, name) < 1:
            _fail(name, getattr(cfg, name), "must be in [0, 1)")
    if cfg.instance_noise < 0:
        _fail("instance_noise", cfg.instance_noise, "must be >= 0")
    if not isinstance(cfg.minibatch_std, bool):
        _fail("minibatch_std", cfg.minibatch_std, "must be True or False")
    names = {"features": _registry("FEATURE_SETS"), "generator": _registry("GENERATORS"),
             "g_activation": _registry("ACTIVATIONS"), "d_activation": _registry("ACTIVATIONS"),
             "noise": _registry("NOISES"), "g_loss": G_LOSSES, "lr_schedule": LR_SCHEDULES}
    for name, allowed in names.items():
        value = getattr(cfg, name)
        if not isinstance(value, str) or value not in allowed:
            _fail(name, value, f"must be one of {', '.join(allowed)}")

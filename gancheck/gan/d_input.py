"""Transforms of D's input: what happens to D's features (the feature set's values, and the batch
spread) after they are computed and before D's first layer, such as dropout on them.

A transform belongs to one GANConfig field (gancheck/fields.py) and is one entry of TRANSFORMS
under that field's name: nothing else in the trainers names it. Both trainers apply every active
transform, in the registry's order, at the three places D sees a batch: the real batches of the
D steps, G's batches in the D steps, and G's batches in the G steps.

- ``reference(x, u, cfg)``: the transform in plain differentiable torch, which the reference
  trainer (gancheck.gan.reference) runs; the oracle of the tests.
- ``forward(x, u, cfg) -> (y, context)`` and ``backward(context, grad) -> grad``: the population
  trainer's pair (it differentiates by hand), the same values as ``reference`` and the gradient
  autograd takes through it.
- ``active(cfg)``: whether the config asks for it. At the field's default it must be False: the
  trainers then skip the transform entirely, so every config that does not use it trains exactly
  as before the field existed (same steps, same draws, same numbers).

``u`` holds U[0, 1) draws shaped like ``x``, the member's own: Philox values keyed by the
member's seed (gancheck.gan.philox), on a stream of the transform's own (``stream_id``), at the
epoch's counter. They depend on (seed, field, epoch) only, never on the other members of a batch
nor on the draw stream ("torch" or "philox") the rest of the member's inputs come from; an
inactive transform draws nothing. A transform keeps D's input width (GANConfig.d_input_size).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from gancheck import fields
from gancheck.config import GANConfig
from gancheck.gan.philox import STREAMS, member_keys, uniform


@dataclass(frozen=True)
class Transform:
    """One transform of D's input (see the module's docstring)."""
    active: Callable[[GANConfig], bool]
    reference: Callable[[torch.Tensor, torch.Tensor, GANConfig], torch.Tensor]
    forward: Callable
    backward: Callable


#: Every transform of D's input, under the name of the field that asks for it, in the order
#: they are applied. The population and reference trainers' equivalence tests run every field's
#: declared test levels (gancheck.fields.test_levels), so a transform is checked draw for draw.
TRANSFORMS: dict[str, Transform] = {}



def stream_id(name: str) -> int:
    """The Philox stream (counter word 2) of the transform of field ``name``: CRC-32 of the name
    with the top bit set. gancheck.gan.philox.STREAMS numbers its own streams from 0, so the two
    never meet, and a transform's draws do not move when another is added or removed."""
    return zlib.crc32(name.encode()) | 0x80000000


def _checked(transforms: dict[str, Transform]) -> dict[str, Transform]:
    for name in transforms:
        if name not in fields.BY_NAME:
            raise RuntimeError(f"D-input transform {name!r}: gancheck/fields.py declares no such field")
    ids = [stream_id(name) for name in transforms]
    if len(set(ids)) != len(ids) or set(ids) & set(STREAMS.values()):
        raise RuntimeError("D-input transforms: two Philox streams coincide; rename a field")
    return transforms


def active(cfg: GANConfig) -> tuple[str, ...]:
    """The names of the transforms ``cfg`` asks for, in the order they are applied."""
    return tuple(name for name, t in _checked(TRANSFORMS).items() if t.active(cfg))


@dataclass(frozen=True)
class DInputDraws:
    """One epoch's draws of the active transforms, one tensor per transform, each
    (S, steps, minibatch, d_input_size): for the real batches and G's batches of the D steps,
    and G's batches of the G steps."""
    real: tuple[torch.Tensor, ...]
    d: tuple[torch.Tensor, ...]
    g: tuple[torch.Tensor, ...]

    def step(self, part: str, k: int) -> tuple[torch.Tensor, ...]:
        """The (S, minibatch, d_input_size) draws of step ``k`` of ``part`` ("real", "d", "g")."""
        return tuple(u[:, k] for u in getattr(self, part))


def epoch_draws(cfg: GANConfig, names: Sequence[str], keys: torch.Tensor, epoch: int,
                dtype=torch.float32) -> DInputDraws:
    """Epoch ``epoch``'s draws of the transforms ``names`` for the members of Philox ``keys``
    (S, 2) (philox.member_keys of their seeds); ``cfg``: any member's config (a shape)."""
    m, F = cfg.minibatch_size, cfg.d_input_size
    parts = (cfg.d_steps, cfg.d_steps, cfg.g_steps)
    drawn = [uniform(keys, stream_id(name), epoch, (sum(parts), m, F), dtype).split(parts, dim=1)
             for name in names]
    return DInputDraws(*(tuple(d[i] for d in drawn) for i in range(3)))


def member_draws(cfg: GANConfig, names: Sequence[str], seed: int, epoch: int, dtype=torch.float32) -> DInputDraws:
    """epoch_draws of one member, by its seed (the reference trainer's)."""
    return epoch_draws(cfg, names, member_keys([seed]), epoch, dtype)


def reference(names: Sequence[str], x: torch.Tensor, draws: Sequence[torch.Tensor], cfg: GANConfig) -> torch.Tensor:
    """Every transform of ``names`` applied to D's input ``x``, differentiably."""
    for name, u in zip(names, draws):
        x = TRANSFORMS[name].reference(x, u, cfg)
    return x


def forward(names: Sequence[str], x: torch.Tensor, draws: Sequence[torch.Tensor], cfg: GANConfig) -> tuple[torch.Tensor, list]:
    """reference's values, and the contexts ``backward`` needs."""
    contexts = []
    for name, u in zip(names, draws):
        x, ctx = TRANSFORMS[name].forward(x, u, cfg)
        contexts.append(ctx)
    return x, contexts


def backward(names: Sequence[str], contexts: list, grad: torch.Tensor) -> torch.Tensor:
    """d loss / d (the features before the transforms), from d loss / d (D's input)."""
    for name, ctx in reversed(list(zip(names, contexts))):
        grad = TRANSFORMS[name].backward(ctx, grad)
    return grad

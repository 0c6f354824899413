"""Every training and sampling draw of a member from Philox (gancheck.gan.philox): the "philox"
draw stream, the counterpart of gancheck.gan.draws' per-member torch generators (the "torch" stream).

A member's values are a pure function of (its seed's key, the philox.STREAMS id, the epoch, the
index), so any set of members draws together in one batched call, on whatever device holds
their keys, and each gets exactly what it would get alone. What each stream holds:

- ``real``: the real batches of an epoch's D steps, N(0, 1) as (d_steps, minibatch, n), then
  scaled to N(data_mean, data_std), or mapped to a non-normal target's law
  (gancheck.gan.target_draws);
- ``real_pick``: a mixture target's component picks, U(0, 1) of the real batches' shape (drawn
  only for a mixture);
- ``d_noise`` / ``g_noise``: G's noise in the D / G steps, (steps, minibatch, g_noise_size),
  from the member's noise distribution (cfg.noise);
- ``instance_real`` / ``instance_d`` / ``instance_g``: instance noise (drawn only when the
  config has it), N(0, 1) scaled by the epoch's sd, added to the real batches and to G's batches;
- ``sample``: the noise that samples the trained G, (n_draws, g_noise_size), at step 0.

Initial weights stay on the member's torch generator (draws.initial_parameters): drawn once per
member on the host, a few thousand numbers, so both streams start a member from the same weights.
"""
from __future__ import annotations

from typing import Sequence

import torch

from gancheck import fields
from gancheck.config import GANConfig
from gancheck.gan.draws import EpochDraws
from gancheck.gan.philox import STREAMS, normal, uniform
from gancheck.gan.registry import register
from gancheck.gan.target_draws import RealLaw

#: G's noise distributions (GANConfig.noise), drawn by Philox.
NOISES = register(fields.NOISES, {"uniform": uniform, "normal": normal})
_NOISE_INDEX = {name: i for i, name in enumerate(NOISES)}


def member_columns(configs: Sequence[GANConfig], device, dtype) -> dict[str, torch.Tensor]:
    """The per-member settings the draws need, as (S, 1, 1, 1) tensors on ``device``: data_mean,
    data_std, and noise_kind (the position of cfg.noise in NOISES)."""
    def column(values, kind):
        return torch.tensor(values, dtype=kind, device=device).view(-1, 1, 1, 1)
    return {"data_mean": column([c.data_mean for c in configs], dtype),
            "data_std": column([c.data_std for c in configs], dtype),
            "noise_kind": column([_NOISE_INDEX[c.noise] for c in configs], torch.int64)}


def _noise(kinds: frozenset, noise_kind: torch.Tensor, keys, stream: str, step, shape, dtype):
    if len(kinds) == 1:
        (kind,) = kinds
        return NOISES[kind](keys, STREAMS[stream], step, shape, dtype)
    # Members of several kinds: each member takes its own kind's values (every kind is drawn for all).
    out = None
    for kind in sorted(kinds, key=_NOISE_INDEX.get):
        values = NOISES[kind](keys, STREAMS[stream], step, shape, dtype)
        out = values if out is None else torch.where(noise_kind == _NOISE_INDEX[kind], values, out)
    return out


def draw_epoch(cfg: GANConfig, keys: torch.Tensor, columns: dict[str, torch.Tensor], kinds: frozenset,
               step: torch.Tensor, instance_sd: torch.Tensor, dtype=torch.float32,
               law: RealLaw | None = None) -> EpochDraws:
    """One epoch's draws of the members of ``keys`` (S, 2), with leading dimension S.

    ``cfg``: any member's config (the shape fields); ``columns``: member_columns of these members;
    ``kinds``: the set of their cfg.noise; ``step``: the epoch, a 0-d int64 tensor; ``instance_sd``:
    the epoch's instance noise sd, a 0-d tensor (unused without instance noise); ``law``:
    target_draws.real_law(cfg) on the keys' device (None: the seed's normal target).
    """
    m, n, w = cfg.minibatch_size, cfg.g_output_size, cfg.g_noise_size
    real = normal(keys, STREAMS["real"], step, (cfg.d_steps, m, n), dtype)
    if law is None:
        real = real * columns["data_std"] + columns["data_mean"]
    else:
        pick = uniform(keys, STREAMS["real_pick"], step, (cfg.d_steps, m, n), dtype) if law.needs_pick else None
        real = law.apply(real, pick)
    d_noise = _noise(kinds, columns["noise_kind"], keys, "d_noise", step, (cfg.d_steps, m, w), dtype)
    g_noise = _noise(kinds, columns["noise_kind"], keys, "g_noise", step, (cfg.g_steps, m, w), dtype)
    if cfg.instance_noise <= 0:
        return EpochDraws(real, d_noise, g_noise)
    instance = {name: normal(keys, STREAMS[f"instance_{name}"], step, (steps, m, n), dtype) * instance_sd
                for name, steps in (("real", cfg.d_steps), ("d", cfg.d_steps), ("g", cfg.g_steps))}
    return EpochDraws(real + instance["real"], d_noise, g_noise, instance["d"], instance["g"])


def sample_noise(configs: Sequence[GANConfig], keys: torch.Tensor, n_draws: int, dtype=torch.float32) -> torch.Tensor:
    """(S, n_draws, g_noise_size): the noise that samples each member's trained G."""
    cfg = configs[0]
    columns = member_columns(configs, keys.device, dtype)
    kinds = frozenset(c.noise for c in configs)
    return _noise(kinds, columns["noise_kind"][:, :, :, 0], keys, "sample", 0, (n_draws, cfg.g_noise_size), dtype)

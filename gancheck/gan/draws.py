"""Every random draw a member makes, as a function of (config, seed) only.

Each member owns three torch.Generator streams derived from its seed: one for initial weights,
one for training draws (real data and noise), one for the noise used to sample the trained
generator. A member's draws therefore never depend on which other members share its
population, nor on its position there, nor on the device it trains on (draws are made on the
CPU and then moved).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from gancheck import fields
from gancheck.config import GANConfig
from gancheck.gan.generators import generator_kind, layer_shapes
from gancheck.gan.registry import register
from gancheck.gan.schedules import instance_noise_sd
from gancheck.gan.target_draws import real_law

_STREAMS = {"init": 0, "train": 1, "sample": 2}

#: G's noise distributions, the seed's first: each fills a tensor in place from a generator.
NOISES: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = register(fields.NOISES, {
    "uniform": lambda out, gen: torch.rand(out.shape, generator=gen, dtype=out.dtype, out=out),
    "normal": lambda out, gen: torch.randn(out.shape, generator=gen, dtype=out.dtype, out=out),
})


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: must be a non-negative integer")
    return int(seed)


def member_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one of a member's streams, seeded through numpy's SeedSequence
    so that nearby seeds give unrelated streams."""
    state = np.random.SeedSequence(check_seed(seed), spawn_key=(_STREAMS[stream],)).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def generator_shapes(cfg: GANConfig) -> list[tuple[int, int]]:
    return generator_kind(cfg).shapes(cfg)


def discriminator_shapes(cfg: GANConfig) -> list[tuple[int, int]]:
    return layer_shapes(cfg.d_input_size, cfg.d_hidden_size, 1)


def init_linear_layers(shapes, generator: torch.Generator, dtype=torch.float32) -> list[torch.Tensor]:
    """nn.Linear's default initialisation, drawn from ``generator``.

    nn.Linear uses kaiming_uniform_(a=sqrt(5)) for the weight and U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for the bias; both reduce to U(-b, b) with b = 1/sqrt(fan_in). Returns [W1, b1, W2, b2, ...],
    each weight in nn.Linear's (out, in) layout.
    """
    tensors = []
    for fan_in, fan_out in shapes:
        bound = 1.0 / fan_in ** 0.5
        for shape in ((fan_out, fan_in), (fan_out,)):
            u = torch.rand(shape, generator=generator, dtype=torch.float64)
            tensors.append(((2 * u - 1) * bound).to(dtype))
    return tensors


def initial_parameters(cfg: GANConfig, seed: int, dtype=torch.float32) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The member's initial G and D parameters, in nn.Linear layout."""
    gen = member_generator(seed, "init")
    return (init_linear_layers(generator_shapes(cfg), gen, dtype),
            init_linear_layers(discriminator_shapes(cfg), gen, dtype))


@dataclass
class EpochDraws:
    """One member's random inputs for one epoch, in the order the seed's loop consumes them.

    With instance noise (cfg.instance_noise > 0) ``real`` already carries its share, and the
    fake batches' shares are ``d_fake_noise`` and ``g_fake_noise``, scaled to the epoch's sd.
    """
    real: torch.Tensor      # (d_steps, minibatch, n): the target's draws (cfg.data_target), one block per D step
    d_noise: torch.Tensor   # (d_steps, minibatch, g_noise_size): G's input in D steps
    g_noise: torch.Tensor   # (g_steps, minibatch, g_noise_size): G's input in G steps
    d_fake_noise: torch.Tensor | None = None  # (d_steps, minibatch, n): added to G's batch in D steps
    g_fake_noise: torch.Tensor | None = None  # (g_steps, minibatch, n): added to G's batch in G steps


def empty_draws(cfg: GANConfig, dtype=torch.float32, lead: tuple = ()) -> EpochDraws:
    """Uninitialised tensors of one epoch's draws, with leading dimensions ``lead`` (members)."""
    m, n, w = cfg.minibatch_size, cfg.g_output_size, cfg.g_noise_size
    make = lambda steps, width: torch.empty(*lead, steps, m, width, dtype=dtype)  # noqa: E731
    instance = cfg.instance_noise > 0
    return EpochDraws(real=make(cfg.d_steps, n), d_noise=make(cfg.d_steps, w), g_noise=make(cfg.g_steps, w),
                      d_fake_noise=make(cfg.d_steps, n) if instance else None,
                      g_fake_noise=make(cfg.g_steps, n) if instance else None)


def draw_epoch(cfg: GANConfig, generator: torch.Generator, dtype=torch.float32, out: EpochDraws | None = None,
               *, epoch: int = 0) -> EpochDraws:
    """Draw epoch ``epoch``'s real data and noise from a member's training stream.

    Pass ``out`` to fill preallocated (contiguous) tensors in place, as the population trainer
    does for each member's slice of its stacked buffers; the values are the same either way.
    The seed's draws come first, in the seed's order; instance noise (only when asked for, so
    the seed's stream is unchanged without it) comes after them. A non-normal target maps the
    real batch's standard normals to its law (gancheck.gan.target_draws); a mixture's component
    picks are drawn right after them.
    """
    if out is None:
        out = empty_draws(cfg, dtype)
    # The seed draws real data in float64 with numpy and casts to float32; we draw N(0,1) in the
    # working dtype with torch (a named choice: same distribution, one library for all streams).
    torch.randn(out.real.shape, generator=generator, dtype=dtype, out=out.real)
    law = real_law(cfg, dtype)
    if law is None:
        out.real.mul_(cfg.data_std).add_(cfg.data_mean)
    else:
        pick = torch.rand(out.real.shape, generator=generator, dtype=dtype) if law.needs_pick else None
        out.real.copy_(law.apply(out.real, pick))
    noise = NOISES[cfg.noise]
    noise(out.d_noise, generator)
    noise(out.g_noise, generator)
    if cfg.instance_noise > 0:
        sd = instance_noise_sd(cfg, epoch)
        out.real.add_(torch.randn(out.real.shape, generator=generator, dtype=dtype).mul_(sd))
        for t in (out.d_fake_noise, out.g_fake_noise):
            torch.randn(t.shape, generator=generator, dtype=dtype, out=t).mul_(sd)
    return out


def sample_noise(cfg: GANConfig, seed: int, n_draws: int, dtype=torch.float32) -> torch.Tensor:
    """The noise used to sample a trained generator: (n_draws, g_noise_size), from the 'sample' stream."""
    out = torch.empty(n_draws, cfg.g_noise_size, dtype=dtype)
    return NOISES[cfg.noise](out, member_generator(seed, "sample"))

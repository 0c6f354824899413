"""Every random draw a member makes, as a function of (config, seed) only.

Each member owns three torch.Generator streams derived from its seed: one for initial weights,
one for training draws (real data and noise), one for the noise used to sample the trained
generator. A member's draws therefore never depend on which other members share its
population, nor on its position there, nor on the device it trains on (draws are made on the
CPU and then moved).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gancheck.config import GANConfig

_STREAMS = {"init": 0, "train": 1, "sample": 2}


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r}: must be a non-negative integer")
    return int(seed)


def member_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one of a member's streams, seeded through numpy's SeedSequence
    so that nearby seeds give unrelated streams."""
    state = np.random.SeedSequence(check_seed(seed), spawn_key=(_STREAMS[stream],)).generate_state(1, np.uint64)
    return torch.Generator().manual_seed(int(state[0]))


def layer_shapes(in_size: int, hidden: int, out_size: int) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of the three Linear layers both of the seed's networks use."""
    return [(in_size, hidden), (hidden, hidden), (hidden, out_size)]


def generator_shapes(cfg: GANConfig) -> list[tuple[int, int]]:
    return layer_shapes(cfg.g_input_size, cfg.g_hidden_size, cfg.g_output_size)


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
    """One member's random inputs for one epoch, in the order the seed's loop consumes them."""
    real: torch.Tensor      # (d_steps, minibatch, n): N(data_mean, data_std), one block per D step
    d_noise: torch.Tensor   # (d_steps, minibatch, g_input): U(0, 1), G's input in D steps
    g_noise: torch.Tensor   # (g_steps, minibatch, g_input): U(0, 1), G's input in G steps


def draw_epoch(cfg: GANConfig, generator: torch.Generator, dtype=torch.float32, out: EpochDraws | None = None) -> EpochDraws:
    """Draw one epoch of real data and noise from a member's training stream.

    Pass ``out`` to fill preallocated (contiguous) tensors in place, as the population trainer
    does for each member's slice of its stacked buffers; the values are the same either way.
    """
    m = cfg.minibatch_size
    if out is None:
        out = EpochDraws(real=torch.empty(cfg.d_steps, m, cfg.g_output_size, dtype=dtype),
                         d_noise=torch.empty(cfg.d_steps, m, cfg.g_input_size, dtype=dtype),
                         g_noise=torch.empty(cfg.g_steps, m, cfg.g_input_size, dtype=dtype))
    # The seed draws real data in float64 with numpy and casts to float32; we draw N(0,1) in the
    # working dtype with torch (a named choice: same distribution, one library for all streams).
    torch.randn(out.real.shape, generator=generator, dtype=dtype, out=out.real)
    out.real.mul_(cfg.data_std).add_(cfg.data_mean)
    torch.rand(out.d_noise.shape, generator=generator, dtype=dtype, out=out.d_noise)
    torch.rand(out.g_noise.shape, generator=generator, dtype=dtype, out=out.g_noise)
    return out


def sample_noise(cfg: GANConfig, seed: int, n_draws: int, dtype=torch.float32) -> torch.Tensor:
    """The noise used to sample a trained generator: (n_draws, g_input), from the 'sample' stream."""
    return torch.rand(n_draws, cfg.g_input_size, generator=member_generator(seed, "sample"), dtype=dtype)

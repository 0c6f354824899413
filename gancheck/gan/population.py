"""Train S members at once as stacked tensors: one batched step trains them all.

Members are (config, seed) pairs whose configs share a shape (``population_shape``); they may
differ in target, learning rates and schedule. Each member's parameters live in row s of one
flat (S, P) tensor per network, so a step is a handful of batched matmuls and one Adam update.

Exactness against the seed's loop (tests/gan/test_population.py checks it against
gancheck.gan.reference, draw for draw):
- Members' losses are *summed*, so each member's gradient is exactly its own.
- G does not change during the D steps, so G's outputs for all D steps of an epoch are computed
  in one batch (the seed recomputes them step by step: same values).
- Real data never depends on the parameters, so its features are computed once per epoch.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gancheck.config import GANConfig
from gancheck.gan.draws import (EpochDraws, check_seed, discriminator_shapes, draw_epoch,
                                generator_shapes, initial_parameters, member_generator, sample_noise)
from gancheck.gan.features import discriminator_features
from gancheck.gan.result import TrainResult
from gancheck.gan.schedules import epoch_learning_rates

#: Fields members of one population may differ in; every other field is part of the shape.
PER_MEMBER_FIELDS = ("data_mean", "data_std", "d_learning_rate", "g_learning_rate",
                     "lr_schedule", "lr_min", "cosine_t_max_factor")


def population_shape(cfg: GANConfig) -> tuple:
    """Configs with equal shapes can train together in one population."""
    return tuple((f.name, getattr(cfg, f.name)) for f in fields(cfg) if f.name not in PER_MEMBER_FIELDS)


class StackedMLP:
    """Three stacked Linear layers (ReLU between) whose parameters are rows of one flat tensor."""

    def __init__(self, shapes: Sequence[tuple[int, int]], members: int, device, dtype):
        self.shapes = list(shapes)
        self.sizes = [n for fan_in, fan_out in self.shapes for n in (fan_in * fan_out, fan_out)]
        self.flat = torch.zeros(members, sum(self.sizes), device=device, dtype=dtype)

    def load_member(self, s: int, tensors: Sequence[torch.Tensor]) -> None:
        """Set member s from nn.Linear-layout tensors [W1, b1, ...] (W stored transposed here)."""
        parts = [t.t().reshape(-1) if t.ndim == 2 else t for t in tensors]
        self.flat[s] = torch.cat(parts).to(self.flat)

    def export_member(self, s: int) -> list[np.ndarray]:
        out = []
        for (fan_in, fan_out), (w, b) in zip(self.shapes, self._split(self.flat[s:s + 1].detach())):
            out += [w[0].t().cpu().numpy().copy(), b[0, 0].cpu().numpy().copy()]
        return out

    def _split(self, flat: torch.Tensor):
        chunks = torch.split(flat, self.sizes, dim=1)
        return [(chunks[2 * i].view(-1, fan_in, fan_out), chunks[2 * i + 1].view(-1, 1, fan_out))
                for i, (fan_in, fan_out) in enumerate(self.shapes)]

    def forward(self, x: torch.Tensor, flat: torch.Tensor | None = None) -> torch.Tensor:
        """x: (S, B, in) -> (S, B, out). Pass ``flat`` to differentiate through a leaf copy."""
        layers = self._split(self.flat if flat is None else flat)
        for i, (w, b) in enumerate(layers):
            x = torch.baddbmm(b, x, w)
            if i < len(layers) - 1:
                x = torch.relu(x)
        return x


class StackedAdam:
    """torch.optim.Adam's update, row by row, with a learning rate per member."""

    def __init__(self, params: torch.Tensor, beta1: float, beta2: float, eps: float):
        self.params, self.beta1, self.beta2, self.eps = params, beta1, beta2, eps
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self.step_count = 0

    @torch.no_grad()
    def step(self, grad: torch.Tensor, lr: torch.Tensor) -> None:
        """lr: (S, 1) learning rate of each member for this step."""
        self.step_count += 1
        self.exp_avg.lerp_(grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        bias_correction1 = 1 - self.beta1 ** self.step_count
        bias_correction2_sqrt = math.sqrt(1 - self.beta2 ** self.step_count)
        denom = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        self.params.addcdiv_(self.exp_avg * (lr / bias_correction1), denom, value=-1.0)

    @torch.no_grad()
    def reset_members(self, mask: torch.Tensor) -> None:
        for t in (self.params, self.exp_avg, self.exp_avg_sq):
            t[mask] = 0.0


def _bce(p: torch.Tensor, target: float) -> torch.Tensor:
    """Per-member BCELoss (mean over the minibatch), the same kernel as nn.BCELoss.

    The kernel refuses NaN input; a member whose D output is NaN has already diverged (its
    output statistics are non-finite and it is flagged at the end of the epoch), so its NaNs
    are replaced here only to keep the shared kernel call alive for the others.
    """
    p = torch.where(torch.isnan(p), 0.5, p)
    return F.binary_cross_entropy(p, torch.full_like(p, target), reduction="none").mean(dim=(1, 2))


@dataclass
class Population:
    """Members that share a shape, and the settings they train with."""
    configs: list[GANConfig]
    seeds: list[int]

    def __post_init__(self):
        if not self.configs or len(self.configs) != len(self.seeds):
            raise ValueError(f"Population: need equally many configs and seeds, got {len(self.configs)} and {len(self.seeds)}")
        for seed in self.seeds:
            check_seed(seed)
        shape = population_shape(self.configs[0])
        for cfg in self.configs[1:]:
            if population_shape(cfg) != shape:
                raise ValueError("Population: configs differ in a shape field; group them with runs.plan first")

    @property
    def shape(self) -> GANConfig:
        return self.configs[0]


def train_population(population: Population, *, n_draws: int = 0, device="cpu", dtype=torch.float32,
                     on_epoch: Callable[[int], None] | None = None) -> list[TrainResult]:
    """Train every member of ``population``; return one TrainResult per member, in order.

    ``on_epoch(members)`` is called after every epoch (for progress bars). A member whose
    parameters or losses turn non-finite is recorded as diverged at that epoch; it is reset to
    zeros and ignored from then on, and the others train on unaffected.
    """
    start = time.perf_counter()
    device = torch.device(device)
    cfg, S = population.shape, len(population.seeds)
    m, E = cfg.minibatch_size, cfg.num_epochs
    G = StackedMLP(generator_shapes(cfg), S, device, dtype)
    D = StackedMLP(discriminator_shapes(cfg), S, device, dtype)
    for s, (member_cfg, seed) in enumerate(zip(population.configs, population.seeds)):
        g_init, d_init = initial_parameters(member_cfg, seed, dtype)
        G.load_member(s, g_init)
        D.load_member(s, d_init)
    g_adam = StackedAdam(G.flat, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps)
    d_adam = StackedAdam(D.flat, cfg.adam_beta1, cfg.adam_beta2, cfg.adam_eps)
    streams = [member_generator(seed, "train") for seed in population.seeds]
    # Draws are made on the CPU (per-member generators), then moved: same numbers on every device.
    buffers = EpochDraws(real=torch.empty(S, cfg.d_steps, m, cfg.g_output_size, dtype=dtype),
                         d_noise=torch.empty(S, cfg.d_steps, m, cfg.g_input_size, dtype=dtype),
                         g_noise=torch.empty(S, cfg.g_steps, m, cfg.g_input_size, dtype=dtype))
    history = torch.full((E, S, 4), float("nan"), dtype=torch.float64)
    diverged_at = np.full(S, -1)
    alive = torch.ones(S, dtype=torch.bool, device=device)
    features = lambda x: discriminator_features(x, cfg.features)  # noqa: E731

    for epoch in range(E):
        for s, member_cfg in enumerate(population.configs):
            draw_epoch(member_cfg, streams[s], dtype,
                       out=EpochDraws(buffers.real[s], buffers.d_noise[s], buffers.g_noise[s]))
        real, d_noise, g_noise = (t.to(device, non_blocking=True) for t in
                                  (buffers.real, buffers.d_noise, buffers.g_noise))
        d_lr, g_lr = _epoch_rates(population.configs, epoch, device, dtype)
        with torch.no_grad():
            real_features = features(real)                               # (S, d_steps, m, F)
            fake = G.forward(d_noise.view(S, cfg.d_steps * m, -1))
            fake_features = features(fake).view(S, cfg.d_steps, m, -1)  # G is fixed during D steps
        for k in range(cfg.d_steps):
            d_flat = D.flat.detach().requires_grad_(True)
            decision = torch.sigmoid(D.forward(torch.cat((real_features[:, k], fake_features[:, k]), dim=1), d_flat))
            d_loss = _bce(decision[:, :m], 1.0) + _bce(decision[:, m:], 0.0)
            (grad,) = torch.autograd.grad(d_loss.sum(), d_flat)
            d_adam.step(grad, d_lr[k])
        d_frozen = D.flat.detach()
        for k in range(cfg.g_steps):
            g_flat = G.flat.detach().requires_grad_(True)
            g_fake = G.forward(g_noise[:, k], g_flat)
            g_loss = _bce(torch.sigmoid(D.forward(features(g_fake), d_frozen)), 1.0)
            (grad,) = torch.autograd.grad(g_loss.sum(), g_flat)
            g_adam.step(grad, g_lr[k])
        with torch.no_grad():
            flat_out = g_fake.detach().reshape(S, -1)
            stats = torch.stack((flat_out.mean(dim=1), flat_out.std(dim=1), d_loss.detach(), g_loss.detach()), dim=1)
            finite = (torch.isfinite(stats).all(dim=1) & torch.isfinite(G.flat).all(dim=1)
                      & torch.isfinite(D.flat).all(dim=1))
            newly_dead = alive & ~finite
            alive &= finite
            # A member's history ends (NaN) at the epoch it diverged, as in the reference loop.
            history[epoch] = torch.where(alive[:, None], stats, torch.nan).double().cpu()
            if newly_dead.any():
                diverged_at[newly_dead.cpu().numpy()] = epoch
                for adam in (g_adam, d_adam):
                    adam.reset_members(~alive)
        if on_epoch is not None:
            on_epoch(S)

    samples = _sample(G, population, n_draws, device, dtype) if n_draws else [None] * S
    wall = (time.perf_counter() - start) / S
    return [TrainResult(config=population.configs[s], seed=population.seeds[s],
                        status="done" if diverged_at[s] < 0 else "diverged",
                        diverged_epoch=None if diverged_at[s] < 0 else int(diverged_at[s]),
                        history=history[:, s].numpy().copy(), generator=G.export_member(s),
                        samples=samples[s], wall_s=wall)
            for s in range(S)]


def _epoch_rates(configs: Sequence[GANConfig], epoch: int, device, dtype):
    """(steps, S, 1) learning rates of every member for every inner step of this epoch."""
    rates = [epoch_learning_rates(c, epoch) for c in configs]
    d = np.stack([r[0] for r in rates], axis=1)[..., None]
    g = np.stack([r[1] for r in rates], axis=1)[..., None]
    return torch.as_tensor(d, device=device, dtype=dtype), torch.as_tensor(g, device=device, dtype=dtype)


@torch.no_grad()
def _sample(G: StackedMLP, population: Population, n_draws: int, device, dtype) -> list[np.ndarray]:
    noise = torch.stack([sample_noise(c, seed, n_draws, dtype)
                         for c, seed in zip(population.configs, population.seeds)]).to(device)
    out = G.forward(noise).double().cpu().numpy()
    return [out[s].copy() for s in range(out.shape[0])]

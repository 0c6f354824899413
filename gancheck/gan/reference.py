"""The seed's training loop for one member, written plainly: the oracle for tests and benchmarks.

Step by step as in the seed: nn.Module networks, torch.optim.Adam, a scheduler stepped *before*
each optimiser step, BCELoss, D trained on real then fake (the fake batch is not detached, as in
the seed: G's stray gradients are zeroed before G's own step, so they change nothing), and for
the seed's 4-moment D the seed's own get_moments, one vector at a time with float powers
(a feature set's ``seed_code``, gancheck.gan.moments.seed_get_moments). Only the random draws come from gancheck.gan.draws,
so that the population trainer can be checked against this loop draw for draw.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from torch import nn

from gancheck.config import GANConfig
from gancheck.gan import d_input
from gancheck.gan.activations import ACTIVATIONS
from gancheck.gan.draws import draw_epoch, generator_shapes, initial_parameters, member_generator, sample_noise
from gancheck.gan.features import FEATURE_SETS, discriminator_input
from gancheck.gan.generators import generator_kind
from gancheck.gan.losses import G_LOSSES
from gancheck.gan.result import TrainResult
from gancheck.gan.schedules import SCHEDULES, learning_rates


class Generator(nn.Module):
    """The seed's G: Linear -> ReLU -> Linear -> ReLU -> Linear (``activation`` for the ReLUs)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, activation: str):
        super().__init__()
        self.map1 = nn.Linear(input_size, hidden_size)
        self.map2 = nn.Linear(hidden_size, hidden_size)
        self.map3 = nn.Linear(hidden_size, output_size)
        self.relu = ACTIVATIONS[activation].module()
        # The seed stores f=tanh here and never applies it: the output layer stays linear.

    def forward(self, x):
        return self.map3(self.relu(self.map2(self.relu(self.map1(x)))))


class Discriminator(Generator):
    """The seed's D: the same three layers as G, then a sigmoid."""

    def forward(self, x):
        return torch.sigmoid(super().forward(x))


def _load(module: nn.Module, tensors: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for param, value in zip(module.parameters(), tensors):
            param.copy_(value)


def _scheduler(optimizer, cfg: GANConfig, base_lr: float, steps: int):
    own = SCHEDULES[cfg.lr_schedule].torch_scheduler
    if own is not None:  # the seed's schedule, run by the seed's own torch scheduler
        return own(optimizer, cfg, steps)
    # Other schedules are ablations, not the seed: express them through the same pure function
    # the population uses (LambdaLR multiplies the base rate by the lambda).
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: float(learning_rates(cfg, base_lr, steps, np.array([step]))[0]) / base_lr
        if step > 0 else 1.0)


class _Diverged(Exception):
    """A non-finite value reached BCELoss, which would refuse it: the run has diverged."""


def _bce(criterion, decision: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if not torch.isfinite(decision).all():
        raise _Diverged
    return criterion(decision, target)


def _seen(fake: torch.Tensor, instance_noise: torch.Tensor | None, k: int) -> torch.Tensor:
    """G's batch as D sees it: with the step's instance noise added, if any."""
    return fake if instance_noise is None else fake + instance_noise[k]


def build_reference(cfg: GANConfig, seed: int, dtype=torch.float32) -> tuple[Generator, Discriminator]:
    """G (one call's network: the generator kind maps noise to vectors with it) and D."""
    (g_in, hidden), _, (_, g_out) = generator_shapes(cfg)
    g = Generator(g_in, hidden, g_out, cfg.g_activation).to(dtype)
    d = Discriminator(cfg.d_input_size, cfg.d_hidden_size, 1, cfg.d_activation).to(dtype)
    g_init, d_init = initial_parameters(cfg, seed, dtype)
    _load(g, g_init)
    _load(d, d_init)
    return g, d


def train_reference(cfg: GANConfig, seed: int, *, n_draws: int = 0, dtype=torch.float32,
                    batched_moments: bool = False) -> TrainResult:
    """Train one member exactly as the seed's loop does; sample ``n_draws`` outputs at the end.

    ``batched_moments``: compute the seed's 4 moments with gancheck's batched get_moments instead
    of the seed's own per-vector code: the same values to rounding, 2.3x the speed of the whole
    loop (benchmarks/throughput.py times both). Other feature sets are the ablations' own
    (gancheck.gan.features) either way.
    """
    start = time.perf_counter()
    G, D = build_reference(cfg, seed, dtype)
    criterion = nn.BCELoss()
    adam = dict(betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps)
    d_optimizer = torch.optim.Adam(D.parameters(), lr=cfg.d_learning_rate, **adam)
    g_optimizer = torch.optim.Adam(G.parameters(), lr=cfg.g_learning_rate, **adam)
    d_scheduler = _scheduler(d_optimizer, cfg, cfg.d_learning_rate, cfg.d_steps)
    g_scheduler = _scheduler(g_optimizer, cfg, cfg.g_learning_rate, cfg.g_steps)
    seed_moments = None if batched_moments else FEATURE_SETS[cfg.features].seed_code
    transforms = d_input.active(cfg)  # D's input transforms (gancheck.gan.d_input), if any

    def features(x, part, k):
        seen = discriminator_input(x, cfg.features, cfg.minibatch_std, seed_moments)
        if not transforms:
            return seen
        return d_input.reference(transforms, seen, [u[0] for u in extra.step(part, k)], cfg)

    kind, n = generator_kind(cfg), cfg.g_output_size
    generate = lambda noise: kind.reference(G, noise, n)  # noqa: E731
    g_loss = G_LOSSES[cfg.g_loss]
    m = cfg.minibatch_size
    ones, zeros = torch.ones(m, 1, dtype=dtype), torch.zeros(m, 1, dtype=dtype)
    stream = member_generator(seed, "train")
    g_average = [p.detach().clone() for p in G.parameters()] if cfg.g_ema > 0 else None
    history = np.full((cfg.num_epochs, 4), np.nan)
    diverged_epoch = None
    with warnings.catch_warnings():
        # The seed calls scheduler.step() before optimizer.step(); torch warns about that order.
        # Reproducing the order is the point, so this one warning is expected here.
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
        for epoch in range(cfg.num_epochs):
            draws = draw_epoch(cfg, stream, dtype, epoch=epoch)
            extra = d_input.member_draws(cfg, transforms, seed, epoch, dtype) if transforms else None
            try:
                for k in range(cfg.d_steps):
                    d_scheduler.step()
                    D.zero_grad()
                    d_real_error = _bce(criterion, D(features(draws.real[k], "real", k)), ones)
                    d_real_error.backward()
                    d_fake_error = _bce(criterion, D(features(_seen(generate(draws.d_noise[k]), draws.d_fake_noise, k), "d", k)),
                                        zeros)
                    d_fake_error.backward()
                    d_optimizer.step()
                for k in range(cfg.g_steps):
                    g_scheduler.step()
                    G.zero_grad()
                    g_fake_data = generate(draws.g_noise[k])
                    decision = D(features(_seen(g_fake_data, draws.g_fake_noise, k), "g", k))
                    if g_loss.sign > 0:  # the seed's: BCE against ones
                        g_error = _bce(criterion, decision, torch.full_like(decision, g_loss.target))
                    else:
                        g_error = -_bce(criterion, decision, torch.full_like(decision, g_loss.target))
                    g_error.backward()
                    g_optimizer.step()
                    if g_average is not None:
                        for average, p in zip(g_average, G.parameters()):
                            average.lerp_(p.detach(), 1 - cfg.g_ema)
                history[epoch] = (g_fake_data.mean().item(), g_fake_data.std().item(),
                                  (d_real_error + d_fake_error).item(), g_error.item())
                if not (np.isfinite(history[epoch]).all()
                        and all(torch.isfinite(p).all() for p in [*G.parameters(), *D.parameters()])):
                    raise _Diverged
            except _Diverged:
                diverged_epoch = epoch
                history[epoch:] = np.nan
                break
    if g_average is not None:  # the moving average is the G that is exported and sampled
        _load(G, g_average)
    generator = [p.detach().cpu().numpy().copy() for p in G.parameters()]
    samples = None
    if n_draws:
        with torch.no_grad():
            samples = generate(sample_noise(cfg, seed, n_draws, dtype)).double().numpy()
    return TrainResult(config=cfg, seed=seed, status="diverged" if diverged_epoch is not None else "done",
                       diverged_epoch=diverged_epoch, history=history, generator=generator,
                       samples=samples, wall_s=time.perf_counter() - start)

"""Learning-rate schedules: one registry of pure functions of the optimiser step.

``step`` counts scheduler.step() calls. The seed calls scheduler.step() *before* each
optimiser step, so the first update already uses the rate at step 1, not the base rate.
The names are declared in gancheck/fields.py (the seed's first).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from gancheck import fields
from gancheck.gan.registry import register

if TYPE_CHECKING:
    from gancheck.config import GANConfig


@dataclass(frozen=True)
class Schedule:
    """rates(cfg, base_lr, total_steps, t_max, step) -> the rate at each (1-based, float64) step;
    ``torch_scheduler(optimizer, cfg, steps_per_epoch)``: the seed's own torch scheduler where
    the reference trainer should run it rather than this closed form (None: LambdaLR on rates)."""
    rates: Callable[..., np.ndarray]
    torch_scheduler: Callable | None = None


def _cosine(base_lr, lo, period, step):
    return lo + (base_lr - lo) * (1 + np.cos(np.pi * step / period)) / 2


def _seed_cosine_torch(optimizer, cfg: "GANConfig", steps_per_epoch: int):
    import torch
    return torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=steps_per_epoch * cfg.cosine_t_max_factor, eta_min=cfg.lr_min)


SCHEDULES: dict[str, Schedule] = register(fields.LR_SCHEDULES, {
    # Closed form of torch's CosineAnnealingLR; past T_max the cosine keeps going, so the rate
    # climbs back: a period of 2*T_max steps (tests/gan/test_schedules.py checks it against torch).
    "seed_cosine": Schedule(lambda base_lr, lo, total, t_max, step: _cosine(base_lr, lo, t_max, step),
                            _seed_cosine_torch),
    "constant": Schedule(lambda base_lr, lo, total, t_max, step: np.full_like(step, base_lr)),
    "cosine_decay": Schedule(lambda base_lr, lo, total, t_max, step: _cosine(base_lr, lo, total, step)),
    "linear_decay": Schedule(lambda base_lr, lo, total, t_max, step: base_lr - (base_lr - lo) * step / total),
})


def learning_rates(cfg: "GANConfig", base_lr: float, steps_per_epoch: int, step: np.ndarray) -> np.ndarray:
    """Learning rate at each scheduler step (1-based, float64) for one optimiser of ``cfg``.

    seed_cosine: the seed's CosineAnnealingLR(T_max=5*steps), never restarted, so it cycles
    every 10 epochs; constant; cosine_decay / linear_decay: one decay from the base rate to
    lr_min over the whole run.
    """
    step = np.asarray(step, dtype=np.float64)
    try:
        schedule = SCHEDULES[cfg.lr_schedule]
    except KeyError:
        raise ValueError(f"lr_schedule={cfg.lr_schedule!r}: unknown schedule") from None
    return schedule.rates(base_lr, cfg.lr_min, cfg.num_epochs * steps_per_epoch,
                          steps_per_epoch * cfg.cosine_t_max_factor, step)


def epoch_learning_rates(cfg: "GANConfig", epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """The D and G learning rates for every inner step of ``epoch`` (0-based)."""
    d = epoch * cfg.d_steps + np.arange(1, cfg.d_steps + 1)
    g = epoch * cfg.g_steps + np.arange(1, cfg.g_steps + 1)
    return (learning_rates(cfg, cfg.d_learning_rate, cfg.d_steps, d),
            learning_rates(cfg, cfg.g_learning_rate, cfg.g_steps, g))


def instance_noise_sd(cfg: "GANConfig", epoch: int) -> float:
    """The instance noise's sd at ``epoch`` (0-based): cfg.instance_noise at the first epoch,
    falling linearly to 0 at the last."""
    return cfg.instance_noise * (1.0 - epoch / max(cfg.num_epochs - 1, 1))


class RateTable:
    """Learning rates of every member, computed once per distinct config and epoch (seeds of an
    arm share them) and spread to the members by one index: no per-member work per epoch."""

    def __init__(self, configs: Sequence[GANConfig]):
        distinct = list(dict.fromkeys(configs))
        self.configs = distinct
        position = {c: i for i, c in enumerate(distinct)}
        self.index = np.array([position[c] for c in configs])

    def epoch(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(steps, S) learning rates of every member for every inner step of ``epoch``, D's and G's."""
        rates = [epoch_learning_rates(c, epoch) for c in self.configs]
        return tuple(np.stack([r[i] for r in rates], axis=1)[:, self.index] for i in (0, 1))

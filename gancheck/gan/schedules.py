"""Learning-rate schedules as pure functions of the optimiser step.

``step`` counts scheduler.step() calls. The seed calls scheduler.step() *before* each
optimiser step, so the first update already uses the rate at step 1, not the base rate.
"""
from __future__ import annotations

import numpy as np

from gancheck.config import GANConfig

def learning_rates(cfg: GANConfig, base_lr: float, steps_per_epoch: int, step: np.ndarray) -> np.ndarray:
    """Learning rate at each scheduler step (1-based, float64) for one optimiser of ``cfg``.

    seed_cosine: the seed's CosineAnnealingLR(T_max=5*steps), never restarted, so it cycles
    every 10 epochs; constant; cosine_decay / linear_decay: one decay from the base rate to
    lr_min over the whole run.
    """
    step = np.asarray(step, dtype=np.float64)
    lo = cfg.lr_min
    if cfg.lr_schedule == "constant":
        return np.full_like(step, base_lr)
    if cfg.lr_schedule == "seed_cosine":
        # Closed form of torch's CosineAnnealingLR; past T_max the cosine keeps going, so the rate
        # climbs back: a period of 2*T_max steps (tests/gan/test_schedules.py checks it against torch).
        t_max = steps_per_epoch * cfg.cosine_t_max_factor
        return lo + (base_lr - lo) * (1 + np.cos(np.pi * step / t_max)) / 2
    total = cfg.num_epochs * steps_per_epoch
    if cfg.lr_schedule == "cosine_decay":
        return lo + (base_lr - lo) * (1 + np.cos(np.pi * step / total)) / 2
    if cfg.lr_schedule == "linear_decay":
        return base_lr - (base_lr - lo) * step / total
    raise ValueError(f"lr_schedule={cfg.lr_schedule!r}: unknown schedule")


def epoch_learning_rates(cfg: GANConfig, epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """The D and G learning rates for every inner step of ``epoch`` (0-based)."""
    d = epoch * cfg.d_steps + np.arange(1, cfg.d_steps + 1)
    g = epoch * cfg.g_steps + np.arange(1, cfg.g_steps + 1)
    return (learning_rates(cfg, cfg.d_learning_rate, cfg.d_steps, d),
            learning_rates(cfg, cfg.g_learning_rate, cfg.g_steps, g))


def instance_noise_sd(cfg: GANConfig, epoch: int) -> float:
    """The instance noise's sd at ``epoch`` (0-based): cfg.instance_noise at the first epoch,
    falling linearly to 0 at the last."""
    return cfg.instance_noise * (1.0 - epoch / max(cfg.num_epochs - 1, 1))

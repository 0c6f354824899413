import numpy as np
import pytest
import torch

from gancheck import GANConfig
from gancheck.gan.schedules import learning_rates


def test_seed_cosine_matches_torch_cosine_annealing():
    # Oracle: torch's CosineAnnealingLR(T_max=20*5, eta_min=1e-5) stepped before each update,
    # as the seed does, over 3 full periods (600 steps).
    cfg = GANConfig()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.d_learning_rate)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)
    torch_rates = []
    for _ in range(600):
        opt.step()
        sched.step()
        torch_rates.append(opt.param_groups[0]["lr"])
    ours = learning_rates(cfg, cfg.d_learning_rate, 20, np.arange(1, 601))
    assert np.allclose(ours, torch_rates, rtol=1e-9, atol=0)
    # Period = 2*T_max = 200 steps = 10 epochs of 20 steps (docs/seed.md): back at 1e-4 at step 200.
    assert ours[199] == pytest.approx(1e-4) and ours[99] == pytest.approx(1e-5)


@pytest.mark.parametrize("schedule", ["cosine_decay", "linear_decay"])
def test_single_decays_end_at_lr_min(schedule):
    cfg = GANConfig(lr_schedule=schedule, num_epochs=10)
    rates = learning_rates(cfg, 1e-4, 20, np.arange(1, 201))
    assert rates[-1] == pytest.approx(1e-5)  # by construction: step = total -> lr_min
    assert np.all(np.diff(rates) <= 0)

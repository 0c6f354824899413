"""The seed's get_moments, batched over leading dimensions and differentiable."""
from __future__ import annotations

import torch

#: The seed divides by (std + 0.001) so that a constant vector does not divide by zero.
ZSCORE_EPS = 0.001


def get_moments(x: torch.Tensor) -> torch.Tensor:
    """Mean, population std, skew and excess kurtosis over the last dimension.

    Computed as the seed computes them: ``z = (x - mean) / (std + 0.001)``, ``skew = mean(z**3)``,
    ``kurtosis = mean(z**4) - 3``. ``x`` has shape (..., n) and a floating dtype; the result has
    shape (..., 4) and the dtype of ``x``. A constant row gives exactly (c, 0, 0, -3) with a finite
    gradient.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"get_moments: x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"get_moments: x must have a floating dtype, got {x.dtype}")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"get_moments: x must have a non-empty last dimension, got shape {tuple(x.shape)}")
    mean = x.mean(dim=-1, keepdim=True)
    # The rounded sum of n copies of c, divided by n, is often c +- 1 ulp (c = 0.1, n = 7 in
    # float32), which would leave a constant row with std ~1e-8 and skew ~1e-16 instead of the
    # documented (c, 0, 0, -3). On constant rows take the value c itself; the gradient still flows
    # through the mean (value - value.detach() is exactly 0), so d mean / dx stays 1/n.
    first = x[..., :1]
    # Only constant rows with a finite mean take the straight-through form: mean - mean.detach()
    # is NaN where the mean is infinite (a row holding inf, or 3e38 three times, whose float32
    # sum overflows), and the seed's mean is inf there.
    constant = (x == first).all(dim=-1, keepdim=True) & mean.isfinite()
    mean = torch.where(constant, first.detach() + (mean - mean.detach()), mean)
    diffs = x - mean
    sq = diffs * diffs
    var = sq.mean(dim=-1, keepdim=True)
    # sqrt has an infinite derivative at 0; the seed's torch.pow(var, 0.5) does too. Where var == 0
    # we route the gradient through a safe value so a collapsed generator still gets finite
    # gradients (the forward value is unchanged: std = 0 exactly there).
    zero = var == 0
    std = torch.where(zero, torch.zeros_like(var), torch.where(zero, torch.ones_like(var), var).sqrt())
    # z = diffs / (std + eps) as the seed has it, by one reciprocal and products rather than n
    # divisions and float powers (aten::pow on floats was most of a training step). z first, not
    # mean(diffs**3) / (std + eps)**3: where the variance overflows (values near float32's
    # limit) std is inf, z is 0 and the seed's skew and kurtosis are 0 and -3, where diffs**3
    # would overflow too and give NaN.
    z = diffs * (1.0 / (std + ZSCORE_EPS))
    z2 = z * z
    skew = (z2 * z).mean(dim=-1, keepdim=True)
    kurtosis = (z2 * z2).mean(dim=-1, keepdim=True) - 3.0
    return torch.cat((mean, std, skew, kurtosis), dim=-1)


def seed_get_moments(ds: torch.Tensor) -> torch.Tensor:
    """The seed's get_moments as the blog post writes it: one vector at a time, float powers.

    Kept verbatim (only the comments are dropped) for the reference trainer
    (gancheck.gan.reference), which is the seed's loop: the oracle of the equivalence tests and
    the baseline of benchmarks/throughput.py (about 15 member-epochs/s on one core here). Same
    values as get_moments to rounding; ``ds`` is (rows, n). The population trainer uses
    get_moments' formulas, batched.
    """
    finals = []
    for d in ds:
        mean = torch.mean(d)
        diffs = d - mean
        var = torch.mean(torch.pow(diffs, 2.0))
        std = torch.pow(var, 0.5)
        zscores = diffs / (std + 0.001)
        skews = torch.mean(torch.pow(zscores, 3.0))
        kurtoses = torch.mean(torch.pow(zscores, 4.0)) - 3.0
        final = torch.cat((mean.reshape(1,), std.reshape(1,), skews.reshape(1,), kurtoses.reshape(1,)))
        finals.append(final)
    return torch.stack(finals)

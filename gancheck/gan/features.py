"""What the discriminator sees of each 500-vector: the seed's 4 moments, or an ablation's alternative."""
from __future__ import annotations

import torch

from gancheck.gan.moments import get_moments

#: Human-readable meaning of each feature set, shown in reports.
FEATURE_DESCRIPTIONS = {
    "moments": "the seed's 4 moments (mean, std, skew, excess kurtosis)",
    "moments2": "mean and std only",
    "raw": "the raw 500 values",
    "sorted": "the 500 values sorted (the empirical quantile function)",
    "data_sq_diffs": "raw values plus (x - mean)^2, as in the seed's own source (gan-in-50-lines)",
    "data_diffs": "raw values plus (x - mean)",
}


def _with_diffs(x: torch.Tensor, exponent: float) -> torch.Tensor:
    # The source's decorate_with_diffs takes the mean from `data.data`, i.e. outside autograd;
    # we keep that (named choice), using each vector's own mean rather than row 0's, which is
    # what the source computes for its one-row batches.
    mean = x.detach().mean(dim=-1, keepdim=True)
    diffs = x - mean
    return torch.cat((x, diffs * diffs if exponent == 2.0 else diffs), dim=-1)


def discriminator_features(x: torch.Tensor, features: str) -> torch.Tensor:
    """Map vectors (..., n) to the discriminator's input (..., F) for the named feature set."""
    if features == "moments":
        return get_moments(x)
    if features == "moments2":
        return get_moments(x)[..., :2]
    if features == "raw":
        return x
    if features == "sorted":
        return torch.sort(x, dim=-1).values
    if features == "data_sq_diffs":
        return _with_diffs(x, 2.0)
    if features == "data_diffs":
        return _with_diffs(x, 1.0)
    raise ValueError(f"features={features!r}: unknown feature set")

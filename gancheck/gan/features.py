"""What the discriminator sees of each 500-vector: the seed's 4 moments, or an ablation's alternative."""
from __future__ import annotations

import numpy as np
import torch

from gancheck.gan.moments import get_moments
from gancheck.gan.moments_grad import moments_backward, moments_forward
from gancheck.gan.workspace import Workspace, get_buffer

def _with_diffs(x: torch.Tensor, exponent: float) -> torch.Tensor:
    # The source's decorate_with_diffs takes the mean from `data.data`, i.e. outside autograd;
    # we keep that (named choice), using each vector's own mean rather than row 0's, which is
    # what the source computes for its one-row batches.
    mean = x.detach().mean(dim=-1, keepdim=True)
    diffs = x - mean
    return torch.cat((x, diffs * diffs if exponent == 2.0 else diffs), dim=-1)


def discriminator_features(x: torch.Tensor, features: str) -> torch.Tensor:
    """Map vectors (..., n) to the discriminator's input (..., F) for the named feature set.

    moments: the seed's 4 (mean, std, skew, excess kurtosis); moments2: mean and std only;
    raw: the 500 values; sorted: the values sorted (the empirical quantile function);
    data_sq_diffs / data_diffs: the values plus (x - mean)^2 or (x - mean), the inputs of the
    seed's own source (gan-in-50-lines).
    """
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


# --------------------------------------------------------------------------- explicit backward
# The population trainer differentiates by hand (no autograd graph per step): each feature set's
# forward keeps what its backward needs. Values equal discriminator_features' and gradients
# equal autograd's through it (tests/gan/test_population_fast.py checks every set in float64).

def features_forward(x: torch.Tensor, features: str, *, branch_free: bool = False, keep: bool = True,
                     ws: Workspace | None = None):
    """discriminator_features(x, features) and a context for features_backward.

    ``branch_free`` is moments_forward's, and makes "sorted" use torch.sort (for compiled graphs).
    ``keep=False``: no backward will follow (the context may be None). With a workspace ``ws``
    the big results live in its "features.*" / "moments.*" tensors.
    """
    if features in ("moments", "moments2"):
        return moments_forward(x, 4 if features == "moments" else 2, branch_free=branch_free, ws=ws)
    if features == "raw":
        return x, None
    if features == "sorted":
        if branch_free or x.device.type != "cpu" or x.requires_grad:
            return torch.sort(x, dim=-1)
        return _sort_cpu(x, keep, ws)
    if features in ("data_sq_diffs", "data_diffs"):
        # The mean is outside autograd, as in _with_diffs.
        diffs = torch.sub(x, x.mean(dim=-1, keepdim=True), out=get_buffer(ws, "features.diffs", x.shape, x))
        part = diffs * diffs if features == "data_sq_diffs" else diffs
        out = get_buffer(ws, "features.cat", (*x.shape[:-1], 2 * x.shape[-1]), x)
        return torch.cat((x, part), dim=-1, out=out), diffs
    raise ValueError(f"features={features!r}: unknown feature set")


def _sort_cpu(x: torch.Tensor, indices: bool, ws: Workspace | None):
    """torch.sort(x, dim=-1) by numpy, whose vectorised sort was ~50x faster than torch.sort on
    this CPU for values alone (217 us against 11.6 ms for 640 rows of 500) and ~6x for indices.

    Sorted values are unique whatever the algorithm. numpy's fast argsort is not stable, so rows
    with a tie (equal neighbours after sorting; ~1 row in 70 of G's float32 output) are sorted
    again by torch: the indices, and so the gradient's routing, are always torch's.
    """
    if not indices:
        values = torch.empty_like(x) if ws is None else ws.get("features.sorted", x.shape, x)
        values.copy_(x).numpy().sort(axis=-1)  # in place: nothing allocated
        return values, None
    array = x.numpy()
    order = np.argsort(array, axis=-1)
    values = np.take_along_axis(array, order, axis=-1)
    values, order = torch.from_numpy(values), torch.from_numpy(order)
    ties = (values[..., 1:] == values[..., :-1]).any(dim=-1)
    if bool(ties.any()):
        values[ties], order[ties] = torch.sort(x[ties], dim=-1)
    return values, order


def features_backward(ctx, grad: torch.Tensor, features: str, *, ws: Workspace | None = None) -> torch.Tensor:
    """d loss / d x from d loss / d features, given features_forward's context."""
    if features in ("moments", "moments2"):
        return moments_backward(ctx, grad, ws=ws)
    if features == "raw":
        return grad
    if features == "sorted":
        # sort's backward scatters each gradient back to where its value came from.
        out = torch.zeros_like(grad) if ws is None else ws.get("features.grad", grad.shape, grad).zero_()
        return out.scatter_(-1, ctx, grad)
    n = grad.shape[-1] // 2
    out = get_buffer(ws, "features.grad", (*grad.shape[:-1], n), grad)
    if features == "data_sq_diffs":
        # (x - m)**2 with m constant: 2 (x - m) g, added to the raw part's gradient.
        return torch.addcmul(grad[..., :n], ctx, grad[..., n:], value=2.0, out=out)
    if features == "data_diffs":
        return torch.add(grad[..., :n], grad[..., n:], out=out)
    raise ValueError(f"features={features!r}: unknown feature set")

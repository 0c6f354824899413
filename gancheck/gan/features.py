"""What the discriminator sees of each 500-vector: one registry of feature sets, plus the
minibatch spread that lets D see across the draws of a batch.

A feature set is one entry of FEATURE_SETS, under a name gancheck/fields.py declares (with its
width, which GANConfig.d_input_size reads): its definition in plain differentiable torch (what
the reference trainer runs, and the oracle of the tests), and the population trainer's forward
and hand-written backward. The tests (tests/gan/test_population_fast.py,
tests/gan/test_population.py) are parametrised over it, so a new entry cannot skip them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from gancheck import fields
from gancheck.gan.moments import get_moments, seed_get_moments
from gancheck.gan.moments_grad import moments_backward, moments_forward
from gancheck.gan.registry import register
from gancheck.gan.workspace import Workspace, get_buffer

#: Added to each coordinate's variance before the square root in minibatch_std, as progressive
#: GANs do (Karras et al. 2018): a collapsed batch (variance 0) still has a finite gradient.
MINIBATCH_STD_EPS = 1e-8

#: The longest row of int64 keys numpy sorts at its fast pace (see _argsort_packed).
SORT_CHUNK = 256


@dataclass(frozen=True)
class FeatureSet:
    """One discriminator feature set.

    reference(x): (..., n) -> (..., F), differentiable by autograd. forward(x, *, branch_free, keep, ws) -> (values, context); backward(context, grad,
    *, ws) -> d loss / d x. ``branch_free``: no data-dependent branch (for compiled graphs);
    ``keep=False``: no backward will follow (the context may be None); ``ws``: a Workspace whose
    "features.*" / "moments.*" tensors hold the big results. ``seed_code``: the seed's own code
    for this set, one vector at a time, which the reference trainer runs instead of
    ``reference`` (same values to rounding). ``compile_pays``: its compiled step was measured
    faster than the eager one (see gancheck.gan.engine for the figures). ``cost``: added to the
    relative cost of a member-epoch (gancheck.runs.cost_model, which gives the measurements).
    """
    reference: Callable[[torch.Tensor], torch.Tensor]
    forward: Callable
    backward: Callable
    seed_code: Callable[[torch.Tensor], torch.Tensor] | None = None
    compile_pays: bool = False
    cost: float = 0.0


def _with_diffs(x: torch.Tensor, exponent: float) -> torch.Tensor:
    # The source's decorate_with_diffs takes the mean from `data.data`, i.e. outside autograd;
    # we keep that (named choice), using each vector's own mean rather than row 0's, which is
    # what the source computes for its one-row batches.
    mean = x.detach().mean(dim=-1, keepdim=True)
    diffs = x - mean
    return torch.cat((x, diffs * diffs if exponent == 2.0 else diffs), dim=-1)


# --------------------------------------------------------------------------- explicit backward
# The population trainer differentiates by hand (no autograd graph per step): each feature set's
# forward keeps what its backward needs. Values equal the reference's and gradients equal
# autograd's through it (tests/gan/test_population_fast.py checks every set in float64).

def _moments(order: int):
    def forward(x, *, branch_free=False, keep=True, ws=None):
        return moments_forward(x, order, branch_free=branch_free, ws=ws)

    def backward(ctx, grad, *, ws=None):
        return moments_backward(ctx, grad, ws=ws)
    return forward, backward


def _raw_forward(x, *, branch_free=False, keep=True, ws=None):
    return x, None


def _raw_backward(ctx, grad, *, ws=None):
    return grad


def _sorted_forward(x, *, branch_free=False, keep=True, ws=None):
    if branch_free or x.device.type != "cpu" or x.requires_grad:
        return torch.sort(x, dim=-1)
    return _sort_cpu(x, keep, ws)


def _sorted_backward(ctx, grad, *, ws=None):
    # sort's backward scatters each gradient back to where its value came from.
    out = torch.zeros_like(grad) if ws is None else ws.get("features.grad", grad.shape, grad).zero_()
    return out.scatter_(-1, ctx, grad)


def _diffs_forward(squared: bool):
    def forward(x, *, branch_free=False, keep=True, ws=None):
        # The mean is outside autograd, as in _with_diffs.
        diffs = torch.sub(x, x.mean(dim=-1, keepdim=True), out=get_buffer(ws, "features.diffs", x.shape, x))
        part = diffs * diffs if squared else diffs
        out = get_buffer(ws, "features.cat", (*x.shape[:-1], 2 * x.shape[-1]), x)
        return torch.cat((x, part), dim=-1, out=out), diffs
    return forward


def _diffs_backward(squared: bool):
    def backward(ctx, grad, *, ws=None):
        n = grad.shape[-1] // 2
        out = get_buffer(ws, "features.grad", (*grad.shape[:-1], n), grad)
        if squared:
            # (x - m)**2 with m constant: 2 (x - m) g, added to the raw part's gradient.
            return torch.addcmul(grad[..., :n], ctx, grad[..., n:], value=2.0, out=out)
        return torch.add(grad[..., :n], grad[..., n:], out=out)
    return backward


#: Every discriminator feature set, the seed's first.
FEATURE_SETS: dict[str, FeatureSet] = register(fields.FEATURE_SETS, {
    "moments": FeatureSet(get_moments, *_moments(4), seed_code=seed_get_moments, compile_pays=True),
    "moments2": FeatureSet(lambda x: get_moments(x)[..., :2], *_moments(2), compile_pays=True),
    "raw": FeatureSet(lambda x: x, _raw_forward, _raw_backward),
    "sorted": FeatureSet(lambda x: torch.sort(x, dim=-1).values, _sorted_forward, _sorted_backward, cost=2.7),
    "data_sq_diffs": FeatureSet(lambda x: _with_diffs(x, 2.0), _diffs_forward(True), _diffs_backward(True),
                                cost=2.5),
    "data_diffs": FeatureSet(lambda x: _with_diffs(x, 1.0), _diffs_forward(False), _diffs_backward(False),
                             cost=2.0),
})


def feature_set(features: str) -> FeatureSet:
    try:
        return FEATURE_SETS[features]
    except (KeyError, TypeError):
        raise ValueError(f"features={features!r}: unknown feature set") from None


def discriminator_features(x: torch.Tensor, features: str) -> torch.Tensor:
    """Map vectors (..., n) to the named feature set's (..., F), differentiably (the reference's)."""
    return feature_set(features).reference(x)


def features_forward(x: torch.Tensor, features: str, *, branch_free: bool = False, keep: bool = True,
                     ws: Workspace | None = None):
    """The named feature set's values and a context for features_backward (see FeatureSet)."""
    return feature_set(features).forward(x, branch_free=branch_free, keep=keep, ws=ws)


def features_backward(ctx, grad: torch.Tensor, features: str, *, ws: Workspace | None = None) -> torch.Tensor:
    """d loss / d x from d loss / d features, given features_forward's context."""
    return feature_set(features).backward(ctx, grad, ws=ws)


# --------------------------------------------------------------------------- across the batch
# Every feature set looks at one vector at a time, so a generator that ignores its noise looks
# as good to D as one that uses it. The minibatch spread (progressive GANs' "minibatch standard
# deviation") shows D how much the batch's vectors differ: for each coordinate j of the n-vector,
# the standard deviation of x[:, j] over the batch's m vectors, averaged over j, appended to
# every vector's features. A vector G that emits one fixed vector scores 0 on it; m independent
# N(4, 1.25) vectors score about 1.25. O(m n) per batch, the cost of one mean.

def minibatch_std(x: torch.Tensor) -> torch.Tensor:
    """(..., m, n) -> (..., m, 1): the batch's mean per-coordinate spread, differentiable."""
    diffs = x - x.mean(dim=-2, keepdim=True)
    spread = torch.sqrt((diffs * diffs).mean(dim=-2, keepdim=True) + MINIBATCH_STD_EPS)
    return spread.mean(dim=-1, keepdim=True).expand(*x.shape[:-1], 1)


def discriminator_input(x: torch.Tensor, features: str, with_minibatch_std: bool,
                        feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """D's input for a batch (..., m, n), differentiably: the feature set's features of each
    vector, then the batch spread if asked. ``feature_fn`` replaces the registry's (the seed's
    own per-vector get_moments, in the reference)."""
    feats = (feature_fn or feature_set(features).reference)(x)
    return torch.cat((feats, minibatch_std(x)), dim=-1) if with_minibatch_std else feats


@dataclass
class InputContext:
    features: object
    diffs: torch.Tensor | None = None    # (..., m, n): x minus its batch mean per coordinate
    spread: torch.Tensor | None = None   # (..., 1, n): sqrt(var + eps) per coordinate


def input_forward(x: torch.Tensor, features: str, with_minibatch_std: bool, *, branch_free: bool = False,
                  keep: bool = True, ws: Workspace | None = None):
    """discriminator_input's values for a batch (..., m, n), and a context for input_backward."""
    feats, ctx = features_forward(x, features, branch_free=branch_free, keep=keep, ws=ws)
    if not with_minibatch_std:
        return feats, InputContext(ctx)
    diffs = x - x.mean(dim=-2, keepdim=True)
    spread = torch.sqrt((diffs * diffs).mean(dim=-2, keepdim=True) + MINIBATCH_STD_EPS)
    column = spread.mean(dim=-1, keepdim=True).expand(*x.shape[:-1], 1)
    return torch.cat((feats, column), dim=-1), InputContext(ctx, diffs, spread)


def input_backward(ctx: InputContext, grad: torch.Tensor, features: str, with_minibatch_std: bool, *,
                   ws: Workspace | None = None) -> torch.Tensor:
    """d loss / d x from d loss / d (D's input), given input_forward's context.

    The spread's share: with d = x - batch mean, s_j = sqrt(mean_i d_ij^2 + eps) and the
    column's gradient g summed over the m rows it was copied to, d loss / d x_ij =
    g d_ij / (n m s_j) (the batch mean's own term is sum_i d_ij = 0).
    """
    if not with_minibatch_std:
        return features_backward(ctx.features, grad, features, ws=ws)
    m, n = ctx.diffs.shape[-2], ctx.diffs.shape[-1]
    total = grad[..., -1:].sum(dim=-2, keepdim=True)
    out = features_backward(ctx.features, grad[..., :-1], features, ws=ws)
    # Out of place: a feature set's backward may return a view of ``grad`` (raw does).
    return torch.addcdiv(out, ctx.diffs * (total / (n * m)), ctx.spread)


def _sort_cpu(x: torch.Tensor, indices: bool, ws: Workspace | None):
    """torch.sort(x, dim=-1) by numpy, whose vectorised sort was ~50x faster than torch.sort on
    this CPU for values alone (217 us against 11.6 ms for 640 rows of 500) and ~6x for indices.

    With indices, float32 rows are sorted as packed 64-bit keys (_argsort_packed, 2x faster than
    np.argsort on 200 rows of 500); other dtypes take np.argsort. Why the result is torch's, bit
    for bit:
    - The sorted values are unique whatever the algorithm, and so is the order of a row without
      ties. Rows with a tie (equal neighbours after sorting by ``==``, so -0.0 next to +0.0
      counts; ~1 row in 70 of G's float32 output) are sorted again by torch.
    - A row with a NaN takes np.argsort (NaNs last), as it always has: the packed keys would put
      the NaNs whose sign bit is set first.
    """
    if not indices:
        values = torch.empty_like(x) if ws is None else ws.get("features.sorted", x.shape, x)
        values.copy_(x).numpy().sort(axis=-1)  # in place: nothing allocated
        return values, None
    array = x.numpy()
    packed = x.dtype == torch.float32
    order = _argsort_packed(x, ws) if packed else torch.from_numpy(np.argsort(array, axis=-1))
    values = torch.gather(x, -1, order, out=get_buffer(ws, "features.sorted_values", x.shape, x))
    sorted_array = values.numpy()
    if packed:
        # The keys put each NaN at one end or the other (by its sign bit).
        nan = torch.as_tensor(np.isnan(sorted_array[..., 0]) | np.isnan(sorted_array[..., -1]))
        if bool(nan.any()):
            order[nan] = torch.from_numpy(np.argsort(array[nan.numpy()], axis=-1))
            values[nan] = torch.gather(x[nan], -1, order[nan])
    ties = torch.as_tensor(np.equal(sorted_array[..., 1:], sorted_array[..., :-1]).any(axis=-1))
    if bool(ties.any()):
        values[ties], order[ties] = torch.sort(x[ties], dim=-1)
    return values, order


def _argsort_packed(x: torch.Tensor, ws: Workspace | None) -> torch.Tensor:
    """An int64 order that sorts each float32 row: any order of equal values, NaNs at both ends.

    Each value's bits become an int32 with the floats' order (a negative float grows as its
    magnitude bits shrink, so those 31 bits are flipped); the key is that int32 above the
    column, and numpy sorts int64 keys much faster than it argsorts float32.
    """
    bits = x.view(torch.int32)
    ordered = torch.bitwise_right_shift(bits, 31, out=get_buffer(ws, "features.sort_bits", x.shape, x, torch.int32))
    ordered.bitwise_and_(0x7FFFFFFF).bitwise_xor_(bits)
    keys = (torch.empty(x.shape, dtype=torch.int64) if ws is None
            else ws.get("features.sort_keys", x.shape, x, torch.int64))
    keys.copy_(ordered).bitwise_left_shift_(32).bitwise_or_(torch.arange(x.shape[-1]))
    rows = keys.numpy()
    # numpy sorts up to 256 int64s with a SIMD network but longer rows ~5x slower a key (2.4 on
    # this CPU), so chunks of 256 are sorted and their runs merged by timsort (kind="stable").
    for start in range(0, rows.shape[-1], SORT_CHUNK):
        rows[..., start:start + SORT_CHUNK].sort(axis=-1)
    if rows.shape[-1] > SORT_CHUNK:
        rows.sort(axis=-1, kind="stable")
    return keys.bitwise_and_(0xFFFFFFFF)



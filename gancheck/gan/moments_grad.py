"""get_moments with its backward written out: the population trainer's fast path.

``moments_forward`` computes the same values as gancheck.gan.moments.get_moments (to rounding:
the same formulas, in the same order) and keeps what ``moments_backward`` needs; the backward
is the closed form of what autograd computes through get_moments, one polynomial in the
centred values per element instead of a dozen autograd nodes:

    d loss / d x_i = k + d_i * (a + d_i * (b + d_i * c)),    d_i = x_i - mean,

with a, b, c, k per vector (see moments_backward). tests/gan/test_population_fast.py checks
values and gradients against get_moments and torch.autograd in float64, constant rows included.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gancheck.gan.moments import ZSCORE_EPS
from gancheck.gan.workspace import Workspace, get_buffer


@dataclass
class MomentsContext:
    """What the backward needs; every tensor but ``diffs`` is (..., 1)."""
    diffs: torch.Tensor
    var: torch.Tensor
    std: torch.Tensor
    inv: torch.Tensor
    third: torch.Tensor   # mean(diffs**3)
    fourth: torch.Tensor  # mean(diffs**4)
    order: int


def _constant_rows_exact(x: torch.Tensor) -> torch.Tensor:
    """Rows whose values are all equal (the test get_moments applies), without a branch."""
    return x.amax(dim=-1, keepdim=True) == x.amin(dim=-1, keepdim=True)


def _may_be_constant(var: torch.Tensor, mean: torch.Tensor, n: int) -> torch.Tensor:
    """Rows that *could* be constant, from statistics already computed (no pass over the data).

    A constant row c has mean = c + delta with |delta| <= n * u * |c| (the worst-case rounding of
    a sum of n terms, then a division), hence var = delta**2 <= (n * u * |mean|)**2 to first
    order; the factor 2 covers the rounding of var itself. Every constant row passes this test;
    the few others that pass (a spread of a few ulps) are then checked exactly.
    """
    bound = (2 * n * torch.finfo(var.dtype).eps) * mean.abs()
    return var <= bound * bound


def moments_forward(x: torch.Tensor, order: int = 4, *, branch_free: bool = False,
                    ws: Workspace | None = None) -> tuple[torch.Tensor, MomentsContext]:
    """get_moments(x)[..., :order] (order 2 or 4) and the context for moments_backward.

    Constant rows get get_moments' exact (c, 0, 0, -3). ``branch_free`` finds them with an
    exact max == min test on every row (what a compiled graph wants: it fuses into the mean's
    pass); otherwise rows are screened with _may_be_constant and only if one passes are they
    checked exactly (what eager mode wants: the exact test costs more than the moments).
    With a workspace ``ws``, the centred values and the scratch live in its "moments.*" tensors.
    """
    n = x.shape[-1]
    mean = x.mean(dim=-1, keepdim=True)
    first = x[..., :1]
    if branch_free:
        mean = torch.where(_constant_rows_exact(x), first, mean)
    diffs = torch.sub(x, mean, out=get_buffer(ws, "moments.diffs", x.shape, x))
    sq = torch.mul(diffs, diffs, out=get_buffer(ws, "moments.sq", x.shape, x))
    var = sq.mean(dim=-1, keepdim=True)
    if not branch_free:
        maybe = _may_be_constant(var, mean, n)
        if bool(maybe.any()):
            # Check only the screened rows; a constant row's centred values are exactly 0.
            constant = torch.zeros_like(maybe)
            rows = maybe[..., 0]
            constant[rows] = (x[rows] == first[rows]).all(dim=-1, keepdim=True)
            mean = torch.where(constant, first, mean)
            diffs.masked_fill_(constant, 0.0)
            sq.masked_fill_(constant, 0.0)
            var = var.masked_fill(constant, 0.0)
    std = var.sqrt()  # 0 exactly where var == 0; the backward routes no gradient through it there
    inv = 1.0 / (std + ZSCORE_EPS)
    if order == 2:
        return torch.cat((mean, std), dim=-1), MomentsContext(diffs, var, std, inv, var, var, 2)
    inv2 = inv * inv
    third = torch.mul(sq, diffs, out=get_buffer(ws, "moments.scratch", x.shape, x)).mean(dim=-1, keepdim=True)
    # sum(sq * sq) as a squared 2-norm: one pass, no product written out (equal to rounding).
    fourth = torch.linalg.vector_norm(sq, dim=-1, keepdim=True).square_().div_(n)
    skew = third * (inv2 * inv)
    kurtosis = fourth * (inv2 * inv2) - 3.0
    return (torch.cat((mean, std, skew, kurtosis), dim=-1),
            MomentsContext(diffs, var, std, inv, third, fourth, 4))


def moments_backward(ctx: MomentsContext, grad: torch.Tensor, *, ws: Workspace | None = None) -> torch.Tensor:
    """d loss / d x from d loss / d features (..., order), as autograd computes it through get_moments.

    With A3 = mean(d**3), A4 = mean(d**4), s = std, v = var, inv = 1 / (s + 0.001):
      gA3 = g_skew * inv**3,  gA4 = g_kurt * inv**4,
      g_s = g_std - inv**2 * (3 g_skew A3 inv**2 + 4 g_kurt A4 inv**3),
      g_v = g_s / (2 s)  (0 where v == 0, as get_moments routes it),
      d loss / d d_i = (2 g_v d_i + 3 gA3 d_i**2 + 4 gA4 d_i**3) / n,
    and the mean's share, (g_mean - sum_i d loss / d d_i) / n, uses sum_i d_i = 0, sum d_i**2 = n v,
    sum d_i**3 = n A3. With a workspace the result is its "moments.grad" tensor.
    """
    n = ctx.diffs.shape[-1]
    d, inv = ctx.diffs, ctx.inv
    g_mean, g_std = grad[..., 0:1], grad[..., 1:2]
    inv2 = inv * inv
    if ctx.order == 4:
        g_skew, g_kurt = grad[..., 2:3], grad[..., 3:4]
        g_third = g_skew * (inv2 * inv)
        g_fourth = g_kurt * (inv2 * inv2)
        g_inv = (3.0 * g_skew * ctx.third) * inv2 + (4.0 * g_kurt * ctx.fourth) * (inv2 * inv)
        g_std = g_std - g_inv * inv2
    zero = ctx.var == 0
    g_var = torch.where(zero, 0.0, g_std / (2.0 * torch.where(zero, 1.0, ctx.std)))
    a = g_var * (2.0 / n)
    k = g_mean * (1.0 / n)
    # Horner's rule. An op with two per-vector (broadcast) operands is ~10x slower than one with
    # one on the CPU (addcmul(b, d, c) measured 262 us against 25 us), so each op has at most one.
    out = get_buffer(ws, "moments.grad", d.shape, d)
    if ctx.order == 2:
        return torch.mul(d, a, out=out).add_(k)
    b = g_third * (3.0 / n)
    c = g_fourth * (4.0 / n)
    k = k - b * ctx.var - c * ctx.third
    out = torch.mul(d, c, out=out).add_(b)
    out = torch.addcmul(a, d, out, out=out)
    return torch.addcmul(k, d, out, out=out)

"""Stacked three-layer MLPs with an explicit backward pass, BCE on a sigmoid, and Adam.

S members' parameters live in rows of one flat (S, P) tensor per network. Forward passes keep
what their backward needs; backward passes write parameter gradients straight into the rows
of a flat (S, P) gradient buffer. Every formula is the one torch's autograd applies
(threshold_backward for ReLU, binary_cross_entropy_backward, sigmoid_backward), in the same
order, so a member's gradient equals the reference loop's to rounding
(tests/gan/test_population_fast.py checks each against torch.autograd in float64).
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch

from gancheck.gan.activations import RELU, Activation

#: torch's binary_cross_entropy clamps (1 - p) * p below at this value in its backward: 1e-12 as
#: a C float (9.99999996e-13), whatever the tensor's dtype.
BCE_EPSILON = float(np.float32(1e-12))


class StackedMLP:
    """Three stacked Linear layers (ReLU between) whose parameters are rows of one flat tensor.

    Weights are stored transposed, (fan_in, fan_out), so a layer is ``baddbmm(b, x, W)``.
    """

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
        for w, b in self.layers(self.flat[s:s + 1].detach()):
            out += [w[0].t().cpu().numpy().copy(), b[0, 0].cpu().numpy().copy()]
        return out

    def layers(self, flat: torch.Tensor | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(W, b) views of ``flat`` (default: the parameters): W (S, in, out), b (S, 1, out)."""
        return layer_views(self.flat if flat is None else flat, self.shapes)


def layer_views(flat: torch.Tensor, shapes: Sequence[tuple[int, int]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(W, b) views of the rows of a flat (S, P) tensor laid out as StackedMLP's parameters."""
    sizes = [n for fan_in, fan_out in shapes for n in (fan_in * fan_out, fan_out)]
    chunks = torch.split(flat, sizes, dim=1)
    return [(chunks[2 * i].view(-1, fan_in, fan_out), chunks[2 * i + 1].view(-1, 1, fan_out))
            for i, (fan_in, fan_out) in enumerate(shapes)]


def stacked_matmul(a: torch.Tensor, b: torch.Tensor, *, fused: bool = False,
                   out: torch.Tensor | None = None) -> torch.Tensor:
    """(S, B, K) @ (S, K, N) for stacked members.

    Eager: torch.bmm. ``fused``: the same sum written as a broadcast product reduced over K,
    which a compiled graph turns into one loop fused with its neighbours; bmm would stay an
    external call that loops over the S members one small GEMM at a time (on the CPU that was
    most of a compiled step). Equal to rounding.
    """
    if fused:
        return (a.unsqueeze(-1) * b.unsqueeze(1)).sum(dim=2)
    return torch.bmm(a, b, out=out)


def mlp_forward(layers, x: torch.Tensor, keep: bool = False, *, fused: bool = False,
                out: torch.Tensor | None = None, activation: Activation = RELU):
    """x: (S, B, in) -> (S, B, out). With ``keep``, also return the layer inputs for mlp_backward.
    ``out`` receives the output (a workspace tensor), if given; ``fused`` as in stacked_matmul;
    ``activation`` between layers (gancheck.gan.activations; the seed's ReLU by default)."""
    inputs = []
    for i, (w, b) in enumerate(layers):
        inputs.append(x)
        last = i == len(layers) - 1
        if fused:
            x = stacked_matmul(x, w, fused=True) + b
        elif last and out is not None:
            x = torch.baddbmm(b, x, w, out=out)
        else:
            x = torch.bmm(x, w).add_(b)  # faster than baddbmm's broadcast bias for narrow layers
        if not last:
            x = activation.forward(x)
    return (x, inputs) if keep else x


def mlp_backward(layers, inputs: list[torch.Tensor], grad: torch.Tensor, grad_layers=None, *,
                 param_grads: bool = True, input_grad: bool = False, fused: bool = False,
                 input_grad_out: torch.Tensor | None = None,
                 activation: Activation = RELU) -> tuple[list, torch.Tensor | None]:
    """Backward of mlp_forward (with the same ``activation``). ``grad``: d loss / d output, (S, B, out).

    Returns ([(gW, gb) per layer], d loss / d input). Parameter gradients are written into
    ``grad_layers`` (the layers() views of a gradient buffer) when given, else allocated; with
    ``param_grads=False`` they are skipped (G's steps need only D's input gradient). The input
    gradient is computed only with ``input_grad`` (into ``input_grad_out`` if given).
    """
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        x = inputs[i]
        if param_grads:
            gw, gb = grad_layers[i] if grad_layers is not None else (None, None)
            grads.append((_weight_grad(x, grad, fused, gw), torch.sum(grad, dim=1, keepdim=True, out=gb)))
        if i == 0 and not input_grad:
            return grads[::-1], None
        grad = stacked_matmul(grad, w.transpose(1, 2), fused=fused, out=input_grad_out if i == 0 else None)
        if i > 0:
            grad = activation.backward(grad, x)  # from the activation's output, as saved
    return grads[::-1], grad


def mlp_forward_columns(layers, xt: torch.Tensor, keep: bool = False, activation: Activation = RELU):
    """mlp_forward with the batch as columns: xt (S, in, B) -> (S, out, B), the transpose of
    mlp_forward(layers, xt^T) (equal to rounding).

    For narrow layers over a long batch, as a per-value G's (5 hidden units, 5,000 calls a step):
    with rows of 5 every elementwise pass (bias, ReLU and its backward) is a loop of 5, and was
    most of the step; here it runs along the batch, and the matmuls are real GEMMs.
    """
    inputs = []
    for i, (w, b) in enumerate(layers):
        inputs.append(xt)
        xt = torch.bmm(w.transpose(1, 2), xt).add_(b.transpose(1, 2))
        if i < len(layers) - 1:
            xt = activation.forward_(xt)  # in place: backward needs only the output
    return (xt, inputs) if keep else xt


def mlp_backward_columns(layers, inputs: list[torch.Tensor], grad: torch.Tensor, grad_layers=None,
                         activation: Activation = RELU) -> list:
    """Parameter gradients of mlp_forward_columns from d loss / d output, (S, out, B); written
    into ``grad_layers`` (a gradient buffer's layers() views) when given."""
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        w, _ = layers[i]
        x = inputs[i]
        gw, gb = grad_layers[i] if grad_layers is not None else (None, None)
        weight = torch.bmm(x, grad.transpose(1, 2))                      # (S, in, out)
        bias = grad.sum(dim=2).unsqueeze(1)                              # (S, 1, out)
        grads.append((weight if gw is None else gw.copy_(weight), bias if gb is None else gb.copy_(bias)))
        if i > 0:
            grad = activation.backward(torch.bmm(w, grad), x)
    return grads[::-1]


#: Weight gradients of at least this many values a member (G's 200 x 200 and 200 x 500 layers at
#: H = 200) are written by bmm straight into the gradient buffer. Its rows are strided by the
#: member, so bmm runs one GEMM a member there instead of MKL's batched call: the same bits at
#: these sizes (tests/gan/test_wide_generator.py; not at D's 10-wide layers), and it saves the
#: product's copy, 8 MB a G step at 20 members (2 cores, 1 thread: 1.45x on the 200 x 500
#: layer, 1.1x on 200 x 200). Smaller products lose (one GEMM call a member costs more than the
#: copy: 0.3x on D's layers). CPU only: a GPU's batched GEMM with a strided output was neither
#: measured nor checked for bits.
DIRECT_WEIGHT_GRAD_VALUES = 32_768


def _weight_grad(x: torch.Tensor, grad: torch.Tensor, fused: bool, out: torch.Tensor | None) -> torch.Tensor:
    """x^T @ grad, (S, in, out), into ``out`` if given.

    Eager: the GEMM runs in whichever orientation has the wider result (grad^T @ x, transposed,
    when in > out: 10x faster for G's first layer), and the result is copied into the gradient
    buffer's view rather than written there by bmm(out=), which is slow for strided outputs,
    except for big products in the plain orientation (DIRECT_WEIGHT_GRAD_VALUES)."""
    if fused:
        return stacked_matmul(x.transpose(1, 2), grad, fused=True)
    if x.shape[2] > grad.shape[2]:
        product = torch.bmm(grad.transpose(1, 2), x).transpose(1, 2)
    elif out is not None and out.device.type == "cpu" and x.shape[2] * grad.shape[2] >= DIRECT_WEIGHT_GRAD_VALUES:
        return torch.bmm(x.transpose(1, 2), grad, out=out)
    else:
        product = torch.bmm(x.transpose(1, 2), grad)
    return product if out is None else out.copy_(product)


def flatten_grads(grads: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """mlp_backward's per-layer gradients as one (S, P) tensor, in StackedMLP's flat layout."""
    return torch.cat([g.reshape(g.shape[0], -1) for pair in grads for g in pair], dim=1)


def bce_sigmoid_backward(p: torch.Tensor, target: torch.Tensor, count: int) -> torch.Tensor:
    """d/d logit of BCELoss(mean over ``count`` items)(sigmoid(logit), target), as autograd chains it:
    binary_cross_entropy_backward, then sigmoid_backward."""
    one_minus = 1 - p
    grad_p = (p - target).div_(torch.clamp_min(one_minus * p, BCE_EPSILON)).div_(count)
    return grad_p.mul_(one_minus).mul_(p)


@functools.lru_cache(maxsize=None)
def fused_adam_supported(device_type: str) -> bool:
    """Whether torch._fused_adam_ (torch.optim.Adam(fused=True)'s kernel) runs on this device type.

    It is a private torch function (on the CPU since torch 2.4); without it StackedAdam falls back
    to its own batched update."""
    try:
        p, g, m, v = (torch.zeros(1, device=device_type) for _ in range(4))
        torch._fused_adam_([p], [g], [m], [v], [], [torch.ones((), device=device_type)], lr=1e-3, beta1=0.9,
                           beta2=0.999, weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False)
        return True
    except (AttributeError, RuntimeError, NotImplementedError, TypeError):
        return False


class StackedAdam:
    """torch.optim.Adam's update for stacked members, each with its own learning rate.

    Fused (the default where torch has the kernel): members whose rates agree over the epoch
    form runs of contiguous rows, and each run is one call to torch._fused_adam_ with its rate:
    one pass over the tensors, and the same numbers as torch.optim.Adam (the trainer sorts
    members by their rate settings, so a run is usually the whole block). Otherwise, one batched
    update with a rate column: torch computes ``param -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)``,
    this the same quantity as ``(lr * sqrt(bc2) / bc1) * m / (sqrt(v) + eps * sqrt(bc2))``.
    """

    def __init__(self, params: torch.Tensor, beta1: float, beta2: float, eps: float, *, fused: bool | None = None):
        self.params, self.beta1, self.beta2, self.eps = params, beta1, beta2, eps
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self.grad = torch.zeros_like(params)  # where eager steps write their gradients
        self._scratch = torch.empty_like(params)
        self.fused = fused_adam_supported(params.device.type) if fused is None else fused
        self._step = torch.zeros((), dtype=torch.float32, device=params.device)  # the fused kernel's count
        self._count = 0

    def begin_epoch(self, lr: np.ndarray) -> None:
        """Set the rates for the next ``len(lr)`` steps: ``lr`` is (steps, S), float64."""
        self._lr = lr
        if self.fused:
            change = np.flatnonzero((lr[:, 1:] != lr[:, :-1]).any(axis=0)) + 1
            bounds = [0, *change.tolist(), lr.shape[1]]
            self._runs = list(zip(bounds[:-1], bounds[1:]))
            return
        steps = np.arange(self._count + 1, self._count + 1 + lr.shape[0], dtype=np.float64)
        bc2_sqrt = np.sqrt(1 - self.beta2 ** steps)
        like = dict(dtype=self.params.dtype, device=self.params.device)
        self._scale = torch.as_tensor(lr * (bc2_sqrt / (1 - self.beta1 ** steps))[:, None], **like)[..., None]
        self._eps = torch.as_tensor(self.eps * bc2_sqrt, **like)[:, None, None]

    @torch.no_grad()
    def step(self, grad: torch.Tensor, k: int) -> None:
        """Apply ``grad`` (S, P) as step ``k`` of the epoch (0-based). ``grad`` is used as scratch."""
        self._count += 1
        if not self.fused:
            adam_update(self.params, grad, self.exp_avg, self.exp_avg_sq, self._scratch,
                        self._scale[k], self._eps[k], self.beta1, self.beta2)
            return
        self._step.fill_(self._count)
        for lo, hi in self._runs:
            torch._fused_adam_([self.params[lo:hi]], [grad[lo:hi]], [self.exp_avg[lo:hi]], [self.exp_avg_sq[lo:hi]],
                               [], [self._step], lr=float(self._lr[k, lo]), beta1=self.beta1, beta2=self.beta2,
                               weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)

    @torch.no_grad()
    def reset_members(self, mask: torch.Tensor) -> None:
        """Zero the rows of the members where ``mask`` (S,) is True (a masked fill: no host sync)."""
        for t in (self.params, self.exp_avg, self.exp_avg_sq):
            t.masked_fill_(mask[:, None], 0.0)


def adam_update(params, grad, exp_avg, exp_avg_sq, scratch, step_scale: torch.Tensor, eps: torch.Tensor,
                beta1: float, beta2: float) -> None:
    """One Adam step in place, 7 passes, no allocation: ``grad`` and ``scratch`` are overwritten.
    step_scale: (S, 1), lr * sqrt(bc2) / bc1 per member; eps: (1, 1), eps * sqrt(bc2)."""
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = torch.sqrt(exp_avg_sq, out=scratch).add_(eps)
    params.addcdiv_(torch.mul(exp_avg, step_scale, out=grad), denom, value=-1.0)

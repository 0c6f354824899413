"""The discriminator's hidden activation: one registry, the seed's first.

Each entry holds the forward the stacked trainer applies, its hand-written backward, and the
nn.Module the reference trainer uses, so both trainers read the same entry
(tests/gan/test_population.py checks every entry against autograd in float64).

- ``relu`` (the seed's): a hidden unit whose input stays below 0 on every real and fake batch
  passes no gradient, and never recovers. D has 10 units a layer; once a whole layer is dead,
  D says 0.5 to everything and G stops learning wherever it stands. In the remedies report's
  best arm, the seeds whose mean froze far from 4 for their last 1,000 epochs had every unit
  of D's second layer dead (docs/findings.md).
- ``leaky_relu``: slope LEAKY_SLOPE below 0 (Maas et al. 2013), as DCGAN's discriminator
  (Radford et al. 2016): no unit's gradient is ever exactly 0, so D cannot die.
- ``elu`` and ``tanh``: smooth. A per-value G of one normal number built from (leaky) ReLUs is
  piecewise linear, and its density spikes where a piece is nearly flat; an ELU G has no kinks,
  and was the one whose output Shapiro-Wilk passed in every seed (the fix, docs/findings.md). tanh is
  the activation the seed stores for G and never applies; its bounded output did badly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from gancheck import fields
from gancheck.gan.registry import register

#: DCGAN's slope (Radford et al. 2016, section 3).
LEAKY_SLOPE = 0.2


@dataclass(frozen=True)
class Activation:
    """forward(x) -> y; forward_(x): the same, in place (where the pre-activation is not kept);
    backward(grad, y) -> d loss / d x from the *output* y (the stacked trainer keeps layer
    outputs, not pre-activations; each entry's derivative is a function of y: for the ReLUs,
    y > 0 exactly where x > 0); module() -> the reference's nn.Module. ``compile_pays_in_d``:
    a compiled step with this activation in D was measured faster than the eager one (the
    seed's shape otherwise, 20 members, one thread: leaky ReLU 394 -> 725 member-epochs/s)."""
    forward: Callable[[torch.Tensor], torch.Tensor]
    forward_: Callable[[torch.Tensor], torch.Tensor]
    backward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    module: Callable[[], nn.Module]
    compile_pays_in_d: bool = False


ACTIVATIONS: dict[str, Activation] = register(fields.ACTIVATIONS, {
    "relu": Activation(
        torch.relu, torch.relu_,
        # threshold_backward is ReLU's backward as autograd computes it (NaN passes through).
        lambda grad, y: torch.ops.aten.threshold_backward(grad, y, 0), nn.ReLU, compile_pays_in_d=True),
    "leaky_relu": Activation(
        lambda x: torch.nn.functional.leaky_relu(x, LEAKY_SLOPE),
        lambda x: torch.nn.functional.leaky_relu_(x, LEAKY_SLOPE),
        lambda grad, y: torch.ops.aten.leaky_relu_backward(grad, y, LEAKY_SLOPE, True),
        lambda: nn.LeakyReLU(LEAKY_SLOPE), compile_pays_in_d=True),
    # Smooth ones: a network of them has no kinks, so a G of one normal number has no density
    # spikes where a piece's slope is small (what the fix's wrong-shape seeds show).
    # ELU (Clevert et al. 2016), alpha 1.
    "elu": Activation(
        torch.nn.functional.elu, torch.nn.functional.elu_,
        # d elu / dx = 1 above 0, y + 1 below: elu_backward from the result.
        lambda grad, y: torch.ops.aten.elu_backward(grad, 1.0, 1.0, 1.0, True, y), nn.ELU),
    "tanh": Activation(torch.tanh, torch.tanh_, torch.ops.aten.tanh_backward, nn.Tanh),
})

#: The seed's activation: G's always, D's by default.
RELU = ACTIVATIONS["relu"]

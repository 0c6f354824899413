"""How G turns noise into an n-vector: one registry of generator kinds.

Both of the seed's networks are the same three Linear layers (ReLU between, none after). A kind
says how many times G is called per output vector and how many values each call emits:

- ``vector`` (the seed): one call per vector, g_input_size noise numbers in, all n values out.
  D judges each vector by its features, so nothing rewards G for varying its output with its
  noise: one fixed vector with the right moments is a resting point.
- ``per_value`` (Dev Nag's original, which the seed adapts): one call per value, g_input_size
  noise numbers in (Nag's: 1), one value out, the same weights for all n values. The n values of
  a vector are then n independent draws from one distribution, which is the target's form.

So for every kind ``g_input_size`` is the noise numbers per call of G, and a vector takes
``calls(n) * g_input_size`` noise numbers. The population trainer and the reference trainer both
run a kind through GeneratorKind's methods, so the tests parametrised over GENERATORS
(tests/gan/test_population.py) cover every kind. The kinds' names, and how many calls each
makes per vector, are declared in gancheck/fields.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from gancheck import fields
from gancheck.gan.activations import RELU, Activation
from gancheck.gan.registry import register
from gancheck.gan.stacked import mlp_backward, mlp_backward_columns, mlp_forward, mlp_forward_columns

if TYPE_CHECKING:
    import torch

    from gancheck.config import GANConfig


def layer_shapes(in_size: int, hidden: int, out_size: int) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of the three Linear layers both of the seed's networks use."""
    return [(in_size, hidden), (hidden, hidden), (hidden, out_size)]


#: torch multiplies stacked matrices by BLAS where contraction x rows x columns is at least
#: this, and by a loop of its own below it (aten's bmm; the seed's 5x5 layer at 10 rows).
BLAS_FROM = 400


@dataclass(frozen=True)
class GeneratorKind:
    """One way of making an n-vector from noise with G's three layers.

    calls(n): G's calls per n-vector (n must be a multiple of it; declared in gancheck/fields.py);
    each call takes g_input_size noise numbers and emits n / calls(n) values. ``cost``: added to
    the relative cost of a member-epoch (gancheck.runs.cost_model, which gives the measurements).
    ``compile_pays_with``: G's activations with which this kind's compiled step was measured
    faster than the eager one.
    """
    name: str
    cost: float = 0.0
    compile_pays_with: frozenset = frozenset()

    @property
    def calls(self) -> Callable[[int], int]:
        return fields.BY_NAME["generator"].choice(self.name).calls

    def values_per_call(self, n: int) -> int:
        return n // self.calls(n)

    def noise_size(self, cfg: "GANConfig") -> int:
        """Noise numbers per output vector."""
        return self.calls(cfg.g_output_size) * cfg.g_input_size

    def shapes(self, cfg: "GANConfig") -> list[tuple[int, int]]:
        return layer_shapes(cfg.g_input_size, cfg.g_hidden_size, self.values_per_call(cfg.g_output_size))

    def batches_d_steps(self, cfg: "GANConfig") -> bool:
        """Whether eager D steps should make all of an epoch's fake batches in one forward pass
        (G does not change during the D steps). Worth it where each of G's layers is a BLAS GEMM
        at one minibatch (see BLAS_FROM): a GEMM of all the batches' rows reads each weight once,
        not once per D step (the 200-wide G: 3x faster a forward pass). BLAS gives a row the same
        bits whatever the rows beside it; torch's own loop for small products does not, so
        narrower Gs (the seed's) keep one forward per D step, and their numbers."""
        m = cfg.minibatch_size
        return not self._columns(cfg.g_output_size) and all(
            fan_in * fan_out * m >= BLAS_FROM for fan_in, fan_out in self.shapes(cfg))

    def _as_calls(self, t: "torch.Tensor", n: int) -> "torch.Tensor":
        """(S, B, calls * width) -> (S, B * calls, width): one row per call of G."""
        calls = self.calls(n)
        return t.reshape(t.shape[0], t.shape[1] * calls, t.shape[2] // calls)

    def _columns(self, n: int) -> bool:
        """Whether G runs with its calls as columns (stacked.mlp_forward_columns): for one value
        per call, where rows would be a few hidden units wide and the calls many. Compiled steps
        too: the matmuls stay bmm calls and the elementwise passes between them fuse (a per-value
        G, 20 members: 180 member-epochs/s eager, 288 compiled this way, 88 compiled as rows)."""
        return self.values_per_call(n) == 1

    def forward(self, layers, noise: "torch.Tensor", n: int, *, keep: bool = False, fused: bool = False,
                out: "torch.Tensor | None" = None, activation: Activation = RELU):
        """Stacked members' vectors (S, B, n) from their noise (S, B, noise_size); with ``keep``,
        also what backward needs. ``out`` (S, B, n) receives the vectors, if given (rows only).
        ``activation``: G's hidden activation (gancheck.gan.activations; backward takes the same)."""
        S, B = noise.shape[:2]
        calls = self._as_calls(noise, n)
        if self._columns(n):
            result = mlp_forward_columns(layers, calls.transpose(1, 2).contiguous(), keep, activation)
        else:
            result = mlp_forward(layers, calls, keep, fused=fused, out=None if out is None else self._as_calls(out, n),
                                 activation=activation)
        x, saved = result if keep else (result, None)
        x = x.reshape(S, B, n)  # columns: (S, 1, B * n), one value per call, in call order
        return (x, saved) if keep else x

    def backward(self, layers, saved, grad: "torch.Tensor", grad_layers=None, *, fused: bool = False,
                 activation: Activation = RELU):
        """Parameter gradients from d loss / d vectors (S, B, n), as mlp_backward returns them."""
        n = grad.shape[-1]
        if self._columns(n):
            return mlp_backward_columns(layers, saved, grad.reshape(grad.shape[0], 1, -1), grad_layers, activation)
        grads, _ = mlp_backward(layers, saved, self._as_calls(grad, n), grad_layers, fused=fused,
                                activation=activation)
        return grads

    def reference(self, module, noise: "torch.Tensor", n: int) -> "torch.Tensor":
        """An nn.Module G (of shapes(cfg)) on noise (..., noise_size) -> (..., n), by autograd."""
        calls = self.calls(n)
        lead = noise.shape[:-1]
        return module(noise.reshape(*lead, calls, noise.shape[-1] // calls)).reshape(*lead, n)


#: Every generator kind, the seed's first. Compiled steps measured (20 members, one process, median
#: member-epochs/s eager -> compiled over 150 to 300 epochs): the seed's vector G with ReLU (see
#: gancheck.gan.engine), leaky ReLU 411 -> 786, but not ELU (406 -> 392); a per-value G (its calls
#: as columns) with ReLU 180 -> 288, and ELU in the fix's configuration (normal noise, leaky D,
#: fast decay) 130 -> 223. Other pairs (tanh, a leaky per-value G) were not measured.
GENERATORS: dict[str, GeneratorKind] = register(fields.GENERATORS, {
    "vector": GeneratorKind("vector", compile_pays_with=frozenset({"relu", "leaky_relu"})),
    "per_value": GeneratorKind("per_value", cost=4.2, compile_pays_with=frozenset({"relu", "elu"})),
})


def generator_kind(cfg: "GANConfig") -> GeneratorKind:
    return GENERATORS[cfg.generator]

"""Train S members at once as stacked tensors: one batched step trains them all.

Members are (config, seed) pairs whose configs share a shape (``population_shape``); they may
differ in target, learning rates and schedule. Each member's parameters live in row s of one
flat (S, P) tensor per network, so a step is a handful of batched matmuls and one Adam update.

Exactness against the seed's loop (tests/gan/test_population.py checks it against
gancheck.gan.reference, draw for draw; tests/gan/test_population_fast.py checks each fast path
against its oracle):
- Each member's gradient is exactly its own: every operation is row-wise in the member axis.
- Gradients are written out by hand (gancheck.gan.stacked, gancheck.gan.moments_grad,
  features_backward): the formulas autograd applies, without building a graph every step.
- Real data never depends on the parameters, so its features are computed as soon as it is
  drawn (gancheck.gan.feed). G does not change during the D steps; the seed regenerates its
  batch each D step, and so does this (same values), while the batch is still in cache, except
  where G is wide enough that one forward pass over all the D steps' batches is faster
  (GeneratorKind.batches_d_steps; the same bits).

Speed (benchmarks/throughput.py; figures in docs/performance.md):
- Members train in blocks of ``block_size`` (64 on the CPU): a block's per-step tensors stay in
  cache, and memory does not grow with the population. Members never interact, but a member's
  last bits depend on its block and its place in it: torch's batched kernels split their work by
  position (a scalar tail in vectorised sigmoid and log, GEMM panels), so of 20 members in one
  block and in blocks of 7 and 13, the 7th and all of the second block differ; a run resumes in
  its recorded blocks (gancheck.runs.blocks). Members are sorted by their learning-rate
  settings so that one fused Adam call (torch's own kernel) updates many of them.
- Big per-step intermediates live in reused workspaces (gancheck.gan.workspace): no page faults.
- ``draw_threads`` draws the next epoch on background threads while this one trains.
- ``compile=True`` runs the same step functions through torch.compile (fused loops instead of
  one pass per operation). Optional: it needs a C++ compiler and costs compile time on first use.

Draw streams (``draws``, chosen by gancheck.gan.engine.resolve_draws and returned in each
TrainResult.draw_stream): "torch" feeds a block from each member's torch generator on the host
(gancheck.gan.feed.EpochFeed); "philox" draws the block in batched calls on the training device
(feed.PhiloxFeed), the same numbers on every device. The two streams give different numbers.

Training modes (gancheck.gan.device.resolve_mode): "host", the CPU's, and "device", the GPU's:
one block of the whole population, and the history and divergence flags kept on the device, so
that nothing waits for the device until the population is done. The device mode runs on the CPU
too (mode="device", or $GANCHECK_TRAINING_MODE=device), which is how the suite covers it.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields
from typing import Callable, Sequence

import numpy as np
import torch

from gancheck.config import PER_MEMBER_FIELDS, GANConfig
from gancheck.gan import d_input, philox_draws
from gancheck.gan.activations import ACTIVATIONS
from gancheck.gan.device import resolve_mode
from gancheck.gan.draws import (check_seed, discriminator_shapes, generator_shapes, initial_parameters,
                                sample_noise)
from gancheck.gan.engine import allow_recompiles, check_draws, resolve_draws
from gancheck.gan.epoch_record import record_epoch
from gancheck.gan.feed import EpochFeed, PhiloxFeed
from gancheck.gan.philox import member_keys
from gancheck.gan.features import input_backward, input_forward
from gancheck.gan.generators import generator_kind
from gancheck.gan.losses import G_LOSSES
from gancheck.gan.result import TrainResult
from gancheck.gan.schedules import RateTable
from gancheck.gan.subnormals import subnormals_flushed
from gancheck.gan.stacked import (StackedAdam, StackedMLP, bce_sigmoid_backward, flatten_grads, layer_views,
                                  mlp_backward, mlp_forward)
from gancheck.gan.workspace import Workspace, get_buffer

#: Members per block on the CPU: large enough to amortise per-operation overhead, small enough
#: that one step's (block, minibatch, 500) tensors stay in a core's L2 cache.
CPU_BLOCK_SIZE = 64


def parameter_bytes(cfg: GANConfig, members: int, dtype=torch.float32) -> int:
    """A lower bound on the memory training ``members`` of ``cfg``'s shape needs: each network's
    parameters, gradient, two Adam moments and one scratch copy for the members of one CPU block,
    and every member's trained G, which is kept for its result. Activations come on top."""
    params = lambda shapes: sum(fan_in * fan_out + fan_out for fan_in, fan_out in shapes)  # noqa: E731
    g, d = params(generator_shapes(cfg)), params(discriminator_shapes(cfg))
    itemsize = torch.empty((), dtype=dtype).element_size()
    return itemsize * (5 * (g + d) * min(members, CPU_BLOCK_SIZE) + g * members)


def population_shape(cfg: GANConfig) -> tuple:
    """Configs with equal shapes can train together in one population."""
    return tuple((f.name, getattr(cfg, f.name)) for f in fields(cfg) if f.name not in PER_MEMBER_FIELDS)


@dataclass
class Population:
    """Members that share a shape, and the settings they train with."""
    configs: list[GANConfig]
    seeds: list[int]

    def __post_init__(self):
        if not self.configs or len(self.configs) != len(self.seeds):
            raise ValueError(f"Population: need equally many configs and seeds, got {len(self.configs)} and {len(self.seeds)}")
        for seed in self.seeds:
            check_seed(seed)
        shape = population_shape(self.configs[0])
        for cfg in self.configs[1:]:
            if population_shape(cfg) != shape:
                raise ValueError("Population: configs differ in a shape field; group them with runs.plan first")

    @property
    def shape(self) -> GANConfig:
        return self.configs[0]


@dataclass(frozen=True)
class StepFunctions:
    """The trainer's per-step work as functions of tensors only (so torch.compile can take them).

    real_features(real) -> the features of real batches (..., minibatch, n), before D's input
    transforms (gancheck.gan.d_input), which the trainer applies per epoch.
    d_step(g_flat, d_flat, d_grad, real, noise, target, fake_noise, d_draws) -> (D's gradient, D's
    output on [real; fake]).
    g_step(g_flat, g_grad, d_flat, noise, fake_noise, g_draws) -> (G's gradient, G's output, D's
    output on it).
    ``fake_noise``: instance noise added to G's batch before D sees it, or None. ``d_draws`` /
    ``g_draws``: the step's draws of the active D-input transforms (DInputDraws.step), or None
    when none is active.
    d_fakes(g_flat, noise) -> G's batches for every D step of an epoch at once, (S, d_steps,
    minibatch, n), from noise (S, d_steps, minibatch, g_noise_size); None where each D step makes
    its own (GeneratorKind.batches_d_steps). d_step then takes its batch as ``fake``.
    Neither updates parameters (StackedAdam does). Eager steps write the gradient into the buffer
    they are given and return it; graph-form steps return a new tensor (a compiled graph that
    writes into views of its inputs splits).
    """
    real_features: Callable
    d_step: Callable
    g_step: Callable
    d_fakes: Callable | None = None


def make_steps(cfg: GANConfig, *, compile: bool = False, graph_form: bool | None = None,
               branch_free: bool | None = None) -> StepFunctions:
    """The step functions for configs of ``cfg``'s shape; ``compile`` wraps them in torch.compile.

    ``graph_form`` (default: ``compile``) writes the steps the way a compiled graph wants them:
    no data-dependent branch (the constant-row test fuses into the mean's pass), matmuls it can
    fuse (stacked_matmul), gradients returned rather than written into views, no workspaces.
    The same values either way; tests run the graph form eagerly too. The eager form writes its
    big intermediates into workspaces (one for the trainer's thread, one per thread computing
    real features). ``branch_free`` (default: the graph form's choice) alone drops the
    data-dependent branch, whose test waits for the device: the device mode's eager steps.
    """
    g_shapes, d_shapes = generator_shapes(cfg), discriminator_shapes(cfg)
    m, n, features, spread = cfg.minibatch_size, cfg.g_output_size, cfg.features, cfg.minibatch_std
    kind, loss = generator_kind(cfg), G_LOSSES[cfg.g_loss]
    g_activation, d_activation = ACTIVATIONS[cfg.g_activation], ACTIVATIONS[cfg.d_activation]
    transforms = d_input.active(cfg)  # none: the steps are exactly those before transforms existed
    fused = compile if graph_form is None else graph_form
    branch_free = fused if branch_free is None else branch_free
    ws = None if fused else Workspace()
    real_ws = threading.local()

    def gradient(grads, buffer):
        return flatten_grads(grads) if fused else buffer

    def d_features(x, keep, workspace):
        return input_forward(x, features, spread, branch_free=branch_free, keep=keep, ws=workspace)

    def real_features(real):
        if not fused and not hasattr(real_ws, "ws"):
            real_ws.ws = Workspace()
        return d_features(real, False, None if fused else real_ws.ws)[0]

    def d_fakes(g_flat, noise):
        S, steps = noise.shape[:2]
        fakes = kind.forward(layer_views(g_flat, g_shapes), noise.reshape(S, steps * m, -1), n,
                             activation=g_activation, out=get_buffer(ws, "d.fakes", (S, steps * m, n), g_flat))
        return fakes.view(S, steps, m, n)

    def d_step(g_flat, d_flat, d_grad, real, noise, target, fake_noise=None, d_draws=None, fake=None):
        S = g_flat.shape[0]
        d_layers = layer_views(d_flat, d_shapes)
        if fake is None:
            # The seed regenerates G's batch at every D step (G is fixed meanwhile: same values).
            fake = kind.forward(layer_views(g_flat, g_shapes), noise, n, fused=fused, activation=g_activation,
                                out=get_buffer(ws, "d.fake", (S, m, n), g_flat))
        if fake_noise is not None:
            fake = fake + fake_noise
        fake_features = d_features(fake, False, ws)[0]
        if transforms:
            fake_features = d_input.forward(transforms, fake_features, d_draws, cfg)[0]
        inputs = torch.cat((real, fake_features), dim=1)
        logit, saved = mlp_forward(d_layers, inputs, keep=True, fused=fused, activation=d_activation)
        p = torch.sigmoid(logit)
        grads, _ = mlp_backward(d_layers, saved, bce_sigmoid_backward(p, target, m),
                                None if fused else layer_views(d_grad, d_shapes), fused=fused,
                                activation=d_activation)
        return gradient(grads, d_grad), p

    def g_step(g_flat, g_grad, d_flat, noise, fake_noise=None, g_draws=None):
        S = g_flat.shape[0]
        g_layers, d_layers = layer_views(g_flat, g_shapes), layer_views(d_flat, d_shapes)
        fake, g_saved = kind.forward(g_layers, noise, n, keep=True, fused=fused, activation=g_activation,
                                     out=get_buffer(ws, "g.fake", (S, m, n), g_flat))
        seen = fake if fake_noise is None else fake + fake_noise  # d seen / d fake = 1
        feats, feats_saved = d_features(seen, True, ws)
        if transforms:
            feats, transforms_saved = d_input.forward(transforms, feats, g_draws, cfg)
        logit, d_saved = mlp_forward(d_layers, feats, keep=True, fused=fused, activation=d_activation)
        p = torch.sigmoid(logit)
        upstream = bce_sigmoid_backward(p, loss.target, m)
        if loss.sign < 0:
            upstream = upstream.neg_()
        _, grad = mlp_backward(d_layers, d_saved, upstream, param_grads=False,
                               input_grad=True, fused=fused, activation=d_activation,
                               input_grad_out=get_buffer(ws, "g.feature_grad", feats.shape, feats))
        if transforms:
            grad = d_input.backward(transforms, transforms_saved, grad)
        grad = input_backward(feats_saved, grad, features, spread, ws=ws)
        grads = kind.backward(g_layers, g_saved, grad, None if fused else layer_views(g_grad, g_shapes),
                              fused=fused, activation=g_activation)
        return gradient(grads, g_grad), fake, p

    steps = StepFunctions(real_features, d_step, g_step, d_fakes if not fused and kind.batches_d_steps(cfg) else None)
    if compile:
        allow_recompiles()
        steps = StepFunctions(*(torch.compile(f, dynamic=False) for f in (real_features, d_step, g_step)))
    return steps


def _rate_key(cfg: GANConfig) -> tuple:
    """Members with equal keys have equal learning rates at every step."""
    return (cfg.lr_schedule, cfg.g_learning_rate, cfg.d_learning_rate, cfg.lr_min, cfg.cosine_t_max_factor)


def train_population(population: Population, *, n_draws: int = 0, device="cpu", dtype=torch.float32,
                     on_epoch: Callable[[int], None] | None = None, block_size: int | None = None,
                     draw_threads: int = 0, compile: bool = False, fused_adam: bool | None = None,
                     draws: str | None = None, mode: str | None = None) -> list[TrainResult]:
    """Train every member of ``population``; return one TrainResult per member, in order.

    ``on_epoch(members)`` is called after every epoch of every block (for progress bars). A member
    whose parameters or losses turn non-finite is recorded as diverged at that epoch; it is reset
    to zeros and ignored from then on, and the others train on unaffected.

    Speed settings (none changes a member's numbers beyond rounding):
    ``block_size``: members trained side by side (default CPU_BLOCK_SIZE on the CPU, all of them
    in device mode). ``draw_threads``: with the torch stream, draw the next epoch on this many
    background threads while this one trains (worth it when cores are free; 0 draws in turn).
    ``compile``: run the steps (and Philox draws) through torch.compile. ``fused_adam``: use
    torch's fused Adam kernel (default: where it exists).

    ``draws``: "torch" or "philox" (default: engine.resolve_draws(device type, compile)); this
    changes the numbers, and each result records it. ``mode``: "host" or "device" (default:
    device.resolve_mode); changes nothing beyond rounding.
    """
    device = torch.device(device)
    S = len(population.seeds)
    mode = resolve_mode(mode, device)
    draws = check_draws(resolve_draws(device.type, compile) if draws is None else draws)
    if block_size is None:
        block_size = CPU_BLOCK_SIZE if mode == "host" else S
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size={block_size!r}: must be a positive integer")
    # Members with equal rates side by side, so that a fused Adam call covers many of them.
    order = sorted(range(S), key=lambda s: _rate_key(population.configs[s]))
    blocks = -(-S // block_size)
    # Equal blocks (sizes differ by at most one): fewer shapes for a compiled step to meet.
    bounds = np.linspace(0, S, blocks + 1).round().astype(int)
    steps = make_steps(population.shape, compile=compile, branch_free=True if mode == "device" else None)
    results: list[TrainResult | None] = [None] * S
    with subnormals_flushed():  # gancheck.gan.subnormals: a dead unit's Adam moments are slow otherwise
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            members = order[lo:hi]
            block = Population([population.configs[s] for s in members], [population.seeds[s] for s in members])
            trained = _train_block(block, steps, n_draws=n_draws, device=device, dtype=dtype, on_epoch=on_epoch,
                                   draw_threads=draw_threads, fused_adam=fused_adam, draws=draws,
                                   on_device=mode == "device", compile=compile)
            for s, result in zip(members, trained):
                results[s] = result
    return results


def _train_block(population: Population, steps: StepFunctions, *, n_draws: int, device, dtype,
                 on_epoch, draw_threads: int, fused_adam: bool | None, draws: str, on_device: bool,
                 compile: bool) -> list[TrainResult]:
    start = time.perf_counter()
    cfg, S = population.shape, len(population.seeds)
    m, E = cfg.minibatch_size, cfg.num_epochs
    # Initial weights from each member's torch generator, loaded on the host, moved in one copy.
    G = StackedMLP(generator_shapes(cfg), S, "cpu", dtype)
    D = StackedMLP(discriminator_shapes(cfg), S, "cpu", dtype)
    for s, (member_cfg, seed) in enumerate(zip(population.configs, population.seeds)):
        g_init, d_init = initial_parameters(member_cfg, seed, dtype)
        G.load_member(s, g_init)
        D.load_member(s, d_init)
    G.flat, D.flat = G.flat.to(device), D.flat.to(device)
    adam = dict(beta1=cfg.adam_beta1, beta2=cfg.adam_beta2, eps=cfg.adam_eps, fused=fused_adam)
    g_adam, d_adam = StackedAdam(G.flat, **adam), StackedAdam(D.flat, **adam)
    # G's moving average (cfg.g_ema), from its initial weights; what is sampled and exported.
    g_average = G.flat.clone() if cfg.g_ema > 0 else None
    if draws == "philox":
        feed = PhiloxFeed(population.configs, population.seeds, epochs=E, dtype=dtype, device=device,
                          real_features=steps.real_features, feature_size=cfg.d_input_size, compile=compile)
    else:
        feed = EpochFeed(population.configs, population.seeds, epochs=E, dtype=dtype, device=device,
                         real_features=steps.real_features, feature_size=cfg.d_input_size,
                         host_features=device.type == "cpu", threads=draw_threads)
    # D's targets for [real; fake]: BCELoss(real, 1) + BCELoss(fake, 0).
    target = torch.cat((torch.ones(1, m, 1), torch.zeros(1, m, 1)), dim=1).to(device, dtype)
    # Kept where the block trains and read once at the end (in device mode nothing waits per epoch).
    history = torch.full((E, S, 4), float("nan"), dtype=torch.float64, device=device)
    diverged_at = torch.full((S,), -1, dtype=torch.int64, device=device)
    alive = torch.ones(S, dtype=torch.bool, device=device)
    rates = RateTable(population.configs)
    # D's input transforms (gancheck.gan.d_input): none for most configs, which then skip them.
    transforms = d_input.active(cfg)
    keys = member_keys(population.seeds, device) if transforms else None

    try:
        with torch.no_grad():
            for epoch in range(E):
                inputs = feed.next()
                real = inputs.real if inputs.featurised else steps.real_features(inputs.real)
                extra = d_input.epoch_draws(cfg, transforms, keys, epoch, dtype) if transforms else None
                if extra is not None:
                    real = d_input.forward(transforms, real, extra.real, cfg)[0]
                d_lr, g_lr = rates.epoch(epoch)
                d_adam.begin_epoch(d_lr)
                g_adam.begin_epoch(g_lr)
                step_real, d_noise, g_noise = (_by_step(t, compile) for t in (real, inputs.d_noise, inputs.g_noise))
                # Instance noise is as big as G's output: a copy would cost more than a graph.
                d_fake_noise, g_fake_noise = _by_step(inputs.d_fake_noise, False), _by_step(inputs.g_fake_noise, False)
                fakes = None if steps.d_fakes is None else steps.d_fakes(G.flat, inputs.d_noise)
                for k in range(cfg.d_steps):
                    grad, d_out = steps.d_step(G.flat, D.flat, d_adam.grad, step_real[k], d_noise[k], target,
                                               _step(d_fake_noise, k), _draws(extra, "d", k),
                                               fake=None if fakes is None else fakes[:, k])
                    d_adam.step(grad, k)
                for k in range(cfg.g_steps):
                    grad, g_fake, g_out = steps.g_step(G.flat, g_adam.grad, D.flat, g_noise[k],
                                                       _step(g_fake_noise, k), _draws(extra, "g", k))
                    g_adam.step(grad, k)
                    if g_average is not None:
                        g_average.lerp_(G.flat, 1 - cfg.g_ema)
                record_epoch(epoch, g_fake, d_out, g_out, G, D, (g_adam, d_adam), alive, history, diverged_at,
                           G_LOSSES[cfg.g_loss], on_device)
                if g_average is not None:
                    # A diverged member's average took its non-finite weights: reset it as its G is.
                    g_average.masked_fill_(~alive[:, None], 0.0)
                if on_epoch is not None:
                    on_epoch(S)
    finally:
        feed.close()

    if g_average is not None:
        G.flat = g_average
    samples = _sample(G, population, n_draws, dtype, draws) if n_draws else [None] * S
    history, diverged_at = history.cpu(), diverged_at.cpu().numpy()
    G.flat = G.flat.cpu()  # one copy, then each member's parameters are views of it
    wall = (time.perf_counter() - start) / S
    return [TrainResult(config=population.configs[s], seed=population.seeds[s],
                        status="done" if diverged_at[s] < 0 else "diverged",
                        diverged_epoch=None if diverged_at[s] < 0 else int(diverged_at[s]),
                        history=history[:, s].numpy().copy(), generator=G.export_member(s),
                        samples=samples[s], wall_s=wall, draw_stream=draws)
            for s in range(S)]


def _by_step(inputs: torch.Tensor | None, contiguous: bool):
    """(S, steps, ...) epoch inputs as a sequence of per-step (S, ...) tensors. ``contiguous``
    (compiled steps): each step's tensor is copied out whole, so that a compiled step sees the
    same strides whatever the number of steps, and arms that differ only in their step ratio
    share its graphs (its strides would otherwise be part of each graph's key)."""
    if inputs is None:
        return None
    if not contiguous:
        return inputs.unbind(1)
    return inputs.transpose(0, 1).contiguous()


def _step(noise, k: int) -> torch.Tensor | None:
    return None if noise is None else noise[k]


def _draws(extra: d_input.DInputDraws | None, part: str, k: int):
    return None if extra is None else extra.step(part, k)


@torch.no_grad()
def _sample(G: StackedMLP, population: Population, n_draws: int, dtype, draws: str) -> list[np.ndarray]:
    device = G.flat.device
    if draws == "philox":
        noise = philox_draws.sample_noise(population.configs, member_keys(population.seeds, device), n_draws, dtype)
    else:
        noise = torch.stack([sample_noise(c, seed, n_draws, dtype)
                             for c, seed in zip(population.configs, population.seeds)]).to(device)
    cfg = population.shape
    out = generator_kind(cfg).forward(G.layers(), noise, cfg.g_output_size,
                                      activation=ACTIVATIONS[cfg.g_activation]).double().cpu().numpy()
    return [out[s].copy() for s in range(out.shape[0])]

"""The population trainer's fast paths, each against its plain oracle.

Oracles: gancheck.gan.moments.get_moments and gancheck.gan.features.discriminator_features
differentiated by torch.autograd; nn.BCELoss on a sigmoid; torch.optim.Adam; the reference loop
(gancheck.gan.reference). Everything is compared in float64, where the only differences are the
order of summations, so 1e-12 (absolute, on values of order 1) leaves ~10^4 ulps of headroom.
"""
from __future__ import annotations

import functools
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from gancheck import GANConfig, fields
from gancheck.config import FEATURE_SETS
from gancheck.gan import population as population_module
from gancheck.gan.draws import draw_epoch, member_generator
from gancheck.gan.feed import EpochFeed
from gancheck.config import GENERATORS
from gancheck.gan.features import (discriminator_features, discriminator_input, features_backward, features_forward,
                                   input_backward, input_forward, minibatch_std)
from gancheck.gan.generators import GENERATORS as GENERATORS_REGISTRY
from gancheck.gan.moments import get_moments
from gancheck.gan.moments_grad import _may_be_constant, moments_backward, moments_forward
from gancheck.gan.population import Population, make_steps, train_population
from gancheck.gan.reference import train_reference
from gancheck.gan.stacked import (StackedAdam, StackedMLP, bce_sigmoid_backward, flatten_grads,
                                  fused_adam_supported, mlp_backward, mlp_forward, stacked_matmul)
from gancheck.gan.workspace import Workspace

F64 = torch.float64
TOL = 1e-12


def _max_diff(a, b):
    return max(float(np.abs(np.asarray(x) - np.asarray(y)).max()) for x, y in zip(a, b))


def _data(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=F64) * 1.25 + 4.0


def _autograd(fn, x, upstream):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    (grad,) = torch.autograd.grad((out * upstream).sum(), x)
    return out.detach(), grad


# --------------------------------------------------------------------------- moments


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("branch_free", [False, True])
@pytest.mark.parametrize("workspace", [False, True])
def test_moments_forward_backward_match_get_moments_autograd(order, branch_free, workspace):
    x = _data((3, 5, 40))
    x[1, 2] = 2.5          # a constant row: exactly (c, 0, 0, -3), gradient through the mean only
    x[2, 4] = 0.0          # constant zero row
    x[0, 3, 7] += 1e-13    # screened as possibly constant, but not constant
    x[0, 3, :7] = x[0, 3, 8:15] = 4.0
    upstream = _data((3, 5, order), seed=1)
    expected, expected_grad = _autograd(lambda t: get_moments(t)[..., :order], x, upstream)
    ws = Workspace() if workspace else None
    values, ctx = moments_forward(x, order, branch_free=branch_free, ws=ws)
    grad = moments_backward(ctx, upstream, ws=ws)
    assert torch.abs(values - expected).max() < TOL
    assert torch.abs(grad - expected_grad).max() < TOL
    assert values[1, 2].tolist() == [2.5, 0.0, 0.0, -3.0][:order]
    assert values[2, 4].tolist() == [0.0, 0.0, 0.0, -3.0][:order]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("value", [0.1, -7.3, 4.0, 1e-30, 3e7, 123456.789])
@pytest.mark.parametrize("n", [3, 7, 500, 4096])
def test_every_constant_row_passes_the_screen(dtype, value, n):
    # _may_be_constant's bound: a sum of n equal terms is off by at most n*u*|c| (Higham, §4.2).
    x = torch.full((2, n), value, dtype=dtype)
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean).square().mean(dim=-1, keepdim=True)
    assert _may_be_constant(var, mean, n).all()
    values, _ = moments_forward(x, 4)
    assert values[0].tolist() == [float(torch.tensor(value, dtype=dtype)), 0.0, 0.0, -3.0]


def test_ordinary_rows_are_not_screened():
    x = _data((50, 500))
    mean = x.mean(dim=-1, keepdim=True)
    var = (x - mean).square().mean(dim=-1, keepdim=True)
    assert not _may_be_constant(var, mean, 500).any()


# --------------------------------------------------------------------------- features


@pytest.mark.parametrize("features", FEATURE_SETS)
@pytest.mark.parametrize("workspace", [False, True])
def test_features_forward_backward_match_autograd(features, workspace):
    x = _data((2, 3, 30))
    width = discriminator_features(x, features).shape[-1]
    upstream = _data((2, 3, width), seed=2)
    expected, expected_grad = _autograd(lambda t: discriminator_features(t, features), x, upstream)
    ws = Workspace() if workspace else None
    for branch_free in (False, True):
        values, ctx = features_forward(x, features, branch_free=branch_free, ws=ws)
        grad = features_backward(ctx, upstream, features, ws=ws)
        assert torch.abs(values - expected).max() < TOL
        assert torch.abs(grad - expected_grad).max() < TOL


@pytest.mark.parametrize("features", FEATURE_SETS)
def test_minibatch_spread_forward_backward_match_autograd(features):
    # Oracle: discriminator_input (features, then the batch spread) differentiated by autograd.
    # Batches of m = 4 vectors; one batch is a fixed vector repeated (spread 0: sqrt(eps) = 1e-4).
    x = _data((2, 3, 4, 30))
    x[1, 2] = x[1, 2, 0]
    width = discriminator_input(x, features, True).shape[-1]
    upstream = _data((2, 3, 4, width), seed=2)
    expected, expected_grad = _autograd(lambda t: discriminator_input(t, features, True), x, upstream)
    for branch_free in (False, True):
        values, ctx = input_forward(x, features, True, branch_free=branch_free, ws=Workspace())
        grad = input_backward(ctx, upstream, features, True, ws=Workspace())
        assert torch.abs(values - expected).max() < TOL
        assert torch.abs(grad - expected_grad).max() < TOL
    # Hand computation: a repeated vector has spread sqrt(0 + 1e-8) = 1e-4 in every row.
    assert torch.allclose(values[1, 2, :, -1], torch.full((4,), 1e-4, dtype=F64), rtol=1e-12, atol=0)


def test_minibatch_spread_of_independent_normal_vectors_is_their_sd():
    # m = 1000 independent N(4, 1.25) vectors: each coordinate's population sd is 1.25 times
    # sqrt((m-1)/m) in expectation (to O(1/m)); averaged over 50 coordinates the noise is ~0.004.
    x = _data((1000, 50), seed=3)
    assert abs(float(minibatch_std(x)[0, 0]) - 1.25) < 0.02


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("fused", [False, True])
def test_generator_kinds_forward_backward_match_autograd(generator, fused):
    # Oracle: the reference's nn.Linear stack applied through GeneratorKind.reference, by autograd.
    cfg = GANConfig(generator=generator, g_input_size=2, g_output_size=12, g_hidden_size=3)
    kind = GENERATORS_REGISTRY[generator]
    S, B = 2, 5
    mlp = StackedMLP(kind.shapes(cfg), S, "cpu", F64)
    mlp.flat.copy_(_data(mlp.flat.shape, seed=3) - 4.0)
    noise = _data((S, B, cfg.g_noise_size), seed=4) - 4.0
    upstream = _data((S, B, 12), seed=5)
    out, saved = kind.forward(mlp.layers(), noise, 12, keep=True, fused=fused)
    grads = kind.backward(mlp.layers(), saved, upstream, fused=fused)
    for s in range(S):
        params = [torch.as_tensor(t).requires_grad_(True) for t in mlp.export_member(s)]
        module = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(),
                               nn.Linear(3, kind.values_per_call(12))).to(F64)
        with torch.no_grad():
            for p, value in zip(module.parameters(), params):
                p.copy_(value)
        expected = kind.reference(module, noise[s], 12)
        assert torch.abs(expected - out[s]).max() < TOL
        expected_grads = torch.autograd.grad((expected * upstream[s]).sum(), list(module.parameters()))
        member = StackedMLP(mlp.shapes, 1, "cpu", F64)
        member.load_member(0, expected_grads)
        assert torch.abs(member.flat[0] - flatten_grads([(gw[s:s + 1], gb[s:s + 1]) for gw, gb in grads])[0]).max() < TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sorted_features_on_the_cpu_are_torch_sort_exactly_ties_included(dtype):
    # Oracle: torch.sort (what discriminator_features and the reference use). Values rounded to
    # quarters give rows full of ties, where numpy's unstable argsort alone would differ.
    x = (_data((4, 6, 50)) * 4).round() / 4
    x[0] = _data((6, 50), seed=9)  # tie-free rows take the numpy path throughout
    x = x.to(dtype)
    expected = torch.sort(x, dim=-1)
    values, order = features_forward(x, "sorted")
    assert torch.equal(values, expected.values) and torch.equal(order, expected.indices)
    for ws in (None, Workspace()):
        values, _ = features_forward(x, "sorted", keep=False, ws=ws)
        assert torch.equal(values, expected.values)


def test_unknown_feature_set_is_refused():
    with pytest.raises(ValueError, match="features"):
        features_forward(torch.zeros(2, 3), "nope")
    with pytest.raises(ValueError, match="features"):
        features_backward(None, torch.zeros(2, 6), "nope")


# --------------------------------------------------------------------------- MLP, BCE, Adam


def _reference_mlp(mlp: StackedMLP, s: int, x: torch.Tensor):
    """Member s as the seed's nn.Linear stack (ReLU between, none after)."""
    tensors = [torch.as_tensor(t) for t in mlp.export_member(s)]
    out = x
    for i in range(0, len(tensors), 2):
        out = nn.functional.linear(out, tensors[i], tensors[i + 1])
        if i < len(tensors) - 2:
            out = torch.relu(out)
    return out


@pytest.mark.parametrize("fused", [False, True])
def test_mlp_forward_backward_match_autograd(fused):
    S, B = 3, 6
    mlp = StackedMLP([(4, 10), (10, 10), (10, 2)], S, "cpu", F64)
    mlp.flat.copy_(_data(mlp.flat.shape, seed=3) - 4.0)
    x = _data((S, B, 4), seed=4) - 4.0
    upstream = _data((S, B, 2), seed=5)
    out, saved = mlp_forward(mlp.layers(), x, keep=True, fused=fused)
    grad_buffer = torch.zeros_like(mlp.flat)
    views = None if fused else mlp.layers(grad_buffer)
    grads, input_grad = mlp_backward(mlp.layers(), saved, upstream, views, input_grad=True, fused=fused)
    flat_grad = flatten_grads(grads) if fused else grad_buffer
    for s in range(S):
        params = [torch.as_tensor(t).requires_grad_(True) for t in mlp.export_member(s)]
        xs = x[s].clone().requires_grad_(True)
        h = xs
        for i in range(0, 6, 2):
            h = nn.functional.linear(h, params[i], params[i + 1])
            h = torch.relu(h) if i < 4 else h
        assert torch.abs(h - out[s]).max() < TOL
        gx, *gp = torch.autograd.grad((h * upstream[s]).sum(), [xs, *params])
        assert torch.abs(gx - input_grad[s]).max() < TOL
        member = StackedMLP(mlp.shapes, 1, "cpu", F64)
        member.load_member(0, gp)
        assert torch.abs(member.flat[0] - flat_grad[s]).max() < TOL


def test_mlp_backward_can_skip_parameter_gradients():
    mlp = StackedMLP([(3, 4), (4, 4), (4, 1)], 2, "cpu", F64)
    mlp.flat.copy_(_data(mlp.flat.shape) - 4.0)
    _, saved = mlp_forward(mlp.layers(), _data((2, 5, 3)), keep=True)
    grads, input_grad = mlp_backward(mlp.layers(), saved, torch.ones(2, 5, 1, dtype=F64),
                                     param_grads=False, input_grad=True)
    assert grads == [] and input_grad.shape == (2, 5, 3)


def test_stacked_matmul_fused_equals_bmm():
    a, b = _data((4, 7, 5)), _data((4, 5, 9), seed=1)
    assert torch.abs(stacked_matmul(a, b, fused=True) - torch.bmm(a, b)).max() < 1e-12 * 100


@pytest.mark.parametrize("target", [0.0, 1.0])
def test_bce_sigmoid_backward_matches_autograd_including_saturation(target):
    # Logits of +-40 saturate the float64 sigmoid's (1 - p) * p below BCELoss's 1e-12 clamp, and
    # +-800 make p exactly 0 or 1: autograd's chain then gives 0, which the closed form must too.
    logits = torch.tensor([[[-800.0], [-40.0], [-3.0], [0.0], [2.0], [40.0], [800.0]]], dtype=F64)
    z = logits.clone().requires_grad_(True)
    p = torch.sigmoid(z)
    loss = nn.BCELoss()(p, torch.full_like(p, target))
    (expected,) = torch.autograd.grad(loss, z)
    got = bce_sigmoid_backward(torch.sigmoid(logits), target, logits.shape[1])
    assert torch.equal(torch.isfinite(got), torch.isfinite(expected))
    assert torch.abs(got - expected).max() < 1e-15


@pytest.mark.parametrize("fused", [False, True])
def test_stacked_adam_matches_torch_optim_with_a_rate_per_member(fused):
    if fused and not fused_adam_supported("cpu"):
        pytest.skip("torch has no fused Adam kernel on the CPU")
    S, P, steps = 5, 7, 12
    init = _data((S, P)) - 4.0
    rates = np.array([1e-3, 1e-3, 5e-4, 5e-4, 2e-3])  # three runs of equal rates
    adam = StackedAdam(init.clone(), 0.9, 0.999, 1e-8, fused=fused)
    references = []
    for s in range(S):
        p = init[s].clone().requires_grad_(True)
        references.append((p, torch.optim.Adam([p], lr=rates[s])))
    g = torch.Generator().manual_seed(7)
    for epoch in range(2):
        scale = 1.0 + 0.1 * np.arange(steps)[:, None]  # rates that change from step to step
        adam.begin_epoch(rates[None, :] * scale)
        for k in range(steps):
            grad = torch.randn(S, P, generator=g, dtype=F64)
            for s, (p, opt) in enumerate(references):
                for group in opt.param_groups:
                    group["lr"] = float(rates[s] * scale[k, 0])
                p.grad = grad[s].clone()
                opt.step()
            adam.step(grad.clone(), k)
    for s, (p, _) in enumerate(references):
        assert torch.abs(adam.params[s] - p.detach()).max() < TOL


def test_stacked_adam_reset_members_zeroes_state():
    adam = StackedAdam(torch.ones(3, 4, dtype=F64), 0.9, 0.999, 1e-8)
    adam.begin_epoch(np.full((1, 3), 1e-3))
    adam.step(torch.ones(3, 4, dtype=F64), 0)
    adam.reset_members(torch.tensor([False, True, False]))
    for t in (adam.params, adam.exp_avg, adam.exp_avg_sq):
        assert (t[1] == 0).all() and (t[0] != 0).all()


# --------------------------------------------------------------------------- workspace, feed


def test_workspace_reuses_a_name_until_its_shape_changes():
    ws, like = Workspace(), torch.zeros(1)
    a = ws.get("x", (2, 3), like)
    assert ws.get("x", (2, 3), like) is a
    assert ws.get("x", (3, 2), like) is not a
    assert ws.get("y", (3, 2), like, torch.int64).dtype == torch.int64


@pytest.mark.parametrize("threads", [0, 1, 2, 3])
def test_feed_gives_each_member_its_own_draws(threads):
    cfg = GANConfig(num_epochs=3)
    seeds = [3, 1, 4, 1, 5]
    feed = EpochFeed([cfg] * 5, seeds, epochs=3, dtype=torch.float32, device="cpu",
                     real_features=lambda r: get_moments(r), feature_size=4, host_features=True,
                     threads=threads)
    streams = [member_generator(seed, "train") for seed in seeds]
    try:
        for _ in range(3):
            inputs = feed.next()
            for s, stream in enumerate(streams):
                draws = draw_epoch(cfg, stream)
                assert torch.equal(inputs.d_noise[s], draws.d_noise)
                assert torch.equal(inputs.g_noise[s], draws.g_noise)
                assert torch.equal(inputs.real[s], get_moments(draws.real))
        with pytest.raises(ValueError, match="epochs"):
            feed.next()
    finally:
        feed.close()
        feed.close()


def test_feed_can_leave_real_data_raw():
    cfg = GANConfig(num_epochs=1)
    feed = EpochFeed([cfg], [2], epochs=1, dtype=torch.float32, device="cpu", real_features=None,
                     feature_size=4, host_features=False)
    inputs = feed.next()
    assert not inputs.featurised
    assert torch.equal(inputs.real[0], draw_epoch(cfg, member_generator(2, "train")).real)


def test_feed_rejects_bad_thread_counts():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="threads"):
            EpochFeed([GANConfig()], [0], epochs=1, dtype=torch.float32, device="cpu", real_features=None,
                      feature_size=4, host_features=False, threads=bad)


# --------------------------------------------------------------------------- the trainer's settings


def _train(configs, seeds, **kwargs):
    return train_population(Population(configs, seeds), n_draws=2, dtype=F64, **kwargs)


def _assert_same(results_a, results_b, tol=TOL):
    for a, b in zip(results_a, results_b):
        assert (a.seed, a.config, a.status) == (b.seed, b.config, b.status)
        assert _max_diff(a.generator, b.generator) < tol
        assert np.abs(a.history - b.history).max() < tol
        assert np.abs(a.samples - b.samples).max() < tol


def test_blocks_draw_threads_and_adam_kernels_change_no_member():
    # Mixed rates (sorted into runs internally) and an order that the sort must undo.
    base = GANConfig(num_epochs=2)
    configs = [base.replace(g_learning_rate=3e-4), base, base.replace(lr_schedule="constant"), base,
               base.replace(g_learning_rate=3e-4)]
    seeds = [5, 6, 7, 8, 9]
    one_block = _train(configs, seeds, block_size=5)
    for kwargs in ({"block_size": 1}, {"block_size": 2}, {"draw_threads": 2}, {"fused_adam": False}):
        _assert_same(one_block, _train(configs, seeds, **kwargs))
    assert [r.seed for r in one_block] == seeds


def test_block_size_is_checked():
    for bad in (0, -3, 2.0, True):
        with pytest.raises(ValueError, match="block_size"):
            train_population(Population([GANConfig(num_epochs=1)], [0]), block_size=bad)


GRAPH_LEVELS = ([{"features": f} for f in FEATURE_SETS] + [{"generator": g} for g in GENERATORS]
                + [{"minibatch_std": True, "instance_noise": 0.5, "g_loss": "saturating", "noise": "normal",
                    "g_activation": "leaky_relu", "d_activation": "leaky_relu"},
                   {"generator": "per_value", "g_input_size": 1, "g_activation": "leaky_relu"}]
                # every other field's declared test levels (gancheck/fields.py), a new one's included
                + [{name: level} for name, level in fields.test_levels() if not fields.BY_NAME[name].choices])


@pytest.mark.parametrize("changes", GRAPH_LEVELS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_graph_form_steps_match_the_reference(changes, monkeypatch):
    # The form a compiled graph runs (branch-free constant rows, fused matmuls, gradients as
    # values), run eagerly: same oracle and tolerance as test_population's equivalence test.
    monkeypatch.setattr(population_module, "make_steps", functools.partial(make_steps, graph_form=True))
    cfg = GANConfig(num_epochs=2, **changes)
    ref = train_reference(cfg, 11, n_draws=2, dtype=F64)
    (member,) = _train([cfg], [11])
    _assert_same([ref], [member])


def test_graph_form_steps_record_divergence_like_eager(monkeypatch):
    good = GANConfig(num_epochs=3)
    bad = good.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    eager = train_population(Population([bad, good], [0, 1]))
    monkeypatch.setattr(population_module, "make_steps", functools.partial(make_steps, graph_form=True))
    graph = train_population(Population([bad, good], [0, 1]))
    assert [r.status for r in graph] == [r.status for r in eager] == ["diverged", "done"]
    assert graph[0].diverged_epoch == eager[0].diverged_epoch
    assert _max_diff(graph[1].generator, eager[1].generator) < 1e-5


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="torch.compile on the CPU needs a C++ compiler")
def test_compiled_steps_match_the_reference_whatever_the_company():
    # torch.compile's own path (inductor C++ kernels): optional, so skipped without a compiler.
    # First compile takes ~15-60 s on 2 cores (inductor caches it on disk for later runs).
    # A compiled graph is specialised to its block size, so a member is also trained in a
    # block of three (each shape its own kernels) and must not notice.
    cfg = GANConfig(num_epochs=2)
    ref = train_reference(cfg, 11, n_draws=2, dtype=F64)
    # The reference draws from the member's torch generators: the same stream, asked for by name
    # (compiled CPU steps draw from Philox by default, engine.resolve_draws).
    (member,) = _train([cfg], [11], compile=True, draws="torch")
    _assert_same([ref], [member])
    _assert_same([member], _train([cfg] * 3, [10, 11, 12], compile=True, draws="torch")[1:2])
    # The remedies that --compile auto compiles as well (engine._measured_shape), all at once.
    remedies = cfg.replace(minibatch_std=True, instance_noise=0.5, g_activation="leaky_relu",
                           d_activation="leaky_relu")
    _assert_same([train_reference(remedies, 11, n_draws=2, dtype=F64)],
                 _train([remedies], [11], compile=True, draws="torch"))
    # And the fix's per-value G, its calls as columns in the compiled graph.
    fix = cfg.replace(generator="per_value", g_input_size=1, noise="normal", g_activation="elu",
                      d_activation="leaky_relu")
    _assert_same([train_reference(fix, 11, n_draws=2, dtype=F64)], _train([fix], [11], compile=True, draws="torch"))


# --------------------------------------------------------------------------- the benchmark script


@pytest.mark.slow
def test_throughput_benchmark_prints_the_documented_json():
    # A smoke test of benchmarks/throughput.py (a script, not a timed test): keys and shapes only.
    import json
    import subprocess
    import sys
    from pathlib import Path

    import os

    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "throughput.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}
    # Two worker processes (the default on a 2-core machine, and the path the figures use), eager
    # to keep it short: compiling is covered by the compiled-steps test above.
    out = subprocess.run([sys.executable, str(script), "--members", "1,3", "--epochs", "1", "--repeats", "1",
                          "--features", "moments,raw", "--workers", "2", "--compile", "no", "--json",
                          "--draws", "torch,philox"],
                         check=True, capture_output=True, text=True, env=env).stdout  # this checkout's gancheck
    report = json.loads(out)
    assert report["device"].startswith("cpu") and report["reference_member_epochs_per_s"] > 0
    assert report["batched_reference_member_epochs_per_s"] > 0  # the moments D's second baseline
    assert all("speedup_vs_batched_reference" in row for row in report["population"])
    assert "batched_reference_member_epochs_per_s" not in report["by_features"]["raw"]
    assert [row["members"] for row in report["population"]] == [1, 3]
    assert report["settings"]["workers"] == 2 and report["settings"]["compiled"] == {"moments": False, "raw": False}
    assert set(report["by_features"]) == {"moments", "raw"}
    assert report["settings"]["draws"] == {"moments": ["torch", "philox"], "raw": ["torch", "philox"]}
    assert all(row["philox_over_torch"] > 0 for row in report["population"])
    for result in report["by_features"].values():
        for row in result["population"]:
            assert row["member_epochs_per_s"] > 0 and row["peak_rss_mb"] > 0


def test_feed_draws_instance_noise_and_per_value_noise_epoch_by_epoch():
    # Oracle: draw_epoch on each member's own stream, epoch by epoch (instance noise anneals).
    cfg = GANConfig(num_epochs=3, generator="per_value", g_input_size=1, noise="normal", instance_noise=1.0)
    seeds = [2, 7]
    feed = EpochFeed([cfg] * 2, seeds, epochs=3, dtype=torch.float32, device="cpu", real_features=None,
                     feature_size=4, host_features=False, threads=1)
    streams = [member_generator(seed, "train") for seed in seeds]
    try:
        for epoch in range(3):
            inputs = feed.next()
            for s, stream in enumerate(streams):
                draws = draw_epoch(cfg, stream, epoch=epoch)
                for name in ("real", "d_noise", "g_noise", "d_fake_noise", "g_fake_noise"):
                    assert torch.equal(getattr(inputs, name)[s], getattr(draws, name)), (epoch, name)
    finally:
        feed.close()


@pytest.mark.parametrize(("activation", "passes"), [("relu", False), ("leaky_relu", True)])
def test_a_dead_layer_passes_gradient_only_when_leaky(activation, passes):
    # Why the fix uses leaky ReLU (gancheck.gan.activations): with every unit of D's second
    # layer below 0 on its inputs, a ReLU D's input gradient is exactly 0 (G learns nothing);
    # a leaky one still passes slope 0.2 of it. Oracle: torch.autograd on the same network.
    from gancheck.gan.activations import ACTIVATIONS
    from gancheck.gan.stacked import layer_views, mlp_backward, mlp_forward
    shapes = [(4, 10), (10, 10), (10, 1)]
    flat = torch.randn(1, sum(i * o + o for i, o in shapes), dtype=F64, generator=torch.Generator().manual_seed(0))
    layers = layer_views(flat, shapes)
    with torch.no_grad():
        layers[1][1].fill_(-1e3)  # second layer's biases: every unit off, whatever its input
    x = torch.randn(1, 8, 4, dtype=F64, requires_grad=True)
    act = ACTIVATIONS[activation]
    out, saved = mlp_forward(layers, x.detach(), keep=True, activation=act)
    _, grad = mlp_backward(layers, saved, torch.ones_like(out), param_grads=False, input_grad=True, activation=act)
    reference = torch.nn.Sequential(torch.nn.Linear(4, 10), act.module(), torch.nn.Linear(10, 10), act.module(),
                                    torch.nn.Linear(10, 1)).to(F64)
    with torch.no_grad():
        for linear, (w, b) in zip(reference[::2], layers):
            linear.weight.copy_(w[0].T)
            linear.bias.copy_(b[0, 0])
    reference(x[0]).sum().backward()
    assert torch.allclose(grad[0], x.grad[0], rtol=0, atol=1e-12)
    assert bool((grad.abs() > 0).any()) is passes

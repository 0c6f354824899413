"""The wide G's fast paths change no bit: each is checked against the path it replaced.

Oracles: the eager trainer's former code (bmm into a fresh tensor, then a copy; isfinite), run
on the same inputs, and a trainer with the fast path switched off.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gancheck import GANConfig
from gancheck.gan import epoch_record
from gancheck.gan import stacked
from gancheck.gan.draws import generator_shapes
from gancheck.gan.generators import GENERATORS, GeneratorKind
from gancheck.gan.population import Population, train_population
from gancheck.gan.stacked import StackedMLP, layer_views


def _wide_gradient_buffer(members: int, dtype):
    """A (S, P) gradient buffer of a 200-wide G and its layer views, as the trainer has them."""
    shapes = generator_shapes(GANConfig(g_hidden_size=200))
    flat = StackedMLP(shapes, members, "cpu", dtype).flat
    return shapes, layer_views(flat, shapes)


@pytest.mark.parametrize("members", [1, 3, 20])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weight_gradients_written_in_place_are_the_copied_products(members, dtype):
    shapes, views = _wide_gradient_buffer(members, dtype)
    gen = torch.Generator().manual_seed(members)
    direct = 0
    for (fan_in, fan_out), (gw, _) in zip(shapes, views):
        # A hidden layer's output (ReLU: many exact zeros) and an upstream gradient, minibatch 10.
        x = torch.randn(members, 10, fan_in, generator=gen, dtype=dtype).relu_()
        grad = torch.randn(members, 10, fan_out, generator=gen, dtype=dtype) * 1e-3
        before = torch.bmm(x.transpose(1, 2), grad)  # the former path: a fresh product, then a copy
        got = stacked._weight_grad(x, grad, False, gw)
        assert got.data_ptr() == gw.data_ptr()
        assert torch.equal(gw, before)
        direct += fan_in * fan_out >= stacked.DIRECT_WEIGHT_GRAD_VALUES
    assert direct == 2  # 200 x 200 and 200 x 500 take the in-place path; 50 x 200 still copies


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_finite_rows_is_isfinite_all(value):
    gen = torch.Generator().manual_seed(0)
    t = torch.randn(5, 1003, generator=gen) * 1e30  # large finite values stay finite
    # Positions in a vector loop's body and in its tail, in every row.
    for row, col in ((0, 0), (1, 17), (2, 500), (3, 1001), (4, 1002)):
        u = t.clone()
        u[row, col] = value
        expected = torch.isfinite(u).all(dim=1)
        assert expected.tolist() == [r != row for r in range(5)]
        assert torch.equal(epoch_record.finite_rows(u), expected)
    assert epoch_record.finite_rows(t).all()


def _digest(results):
    return [(r.status, r.diverged_epoch, r.history.tobytes(), [p.tobytes() for p in r.generator], r.samples.tobytes())
            for r in results]


@pytest.fixture
def one_thread():
    # As a run's workers train (two threads contend on a loaded 2-core machine: 10x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_wide_generator_trains_the_same_bits_without_the_fast_paths(monkeypatch, one_thread):
    cfg = GANConfig(g_hidden_size=200, num_epochs=3)
    population = Population([cfg] * 3, [11, 12, 13])
    fast = _digest(train_population(population, n_draws=100))
    monkeypatch.setattr(stacked, "DIRECT_WEIGHT_GRAD_VALUES", np.iinfo(np.int64).max)
    monkeypatch.setattr(epoch_record, "finite_rows", lambda t: torch.isfinite(t).all(dim=1))
    monkeypatch.setattr(GeneratorKind, "batches_d_steps", lambda kind, cfg: False)
    assert _digest(train_population(population, n_draws=100)) == fast


# By hand: G's layers are (50, H), (H, H), (H, 500); the narrowest product is H * H * minibatch.
@pytest.mark.parametrize("changes, batched", [
    (dict(g_hidden_size=200), True),                         # the one-factor design's wide G
    (dict(), False),                                         # the seed: 5 * 5 * 10 = 250 < 400
    (dict(g_hidden_size=6), False),                          # 6 * 6 * 10 = 360 < 400
    (dict(g_hidden_size=6, minibatch_size=12), True),        # 6 * 6 * 12 = 432
    (dict(g_hidden_size=200, generator="per_value"), False),  # calls as columns: one forward per D step
])
def test_d_steps_share_one_forward_pass_only_where_every_layer_is_blas(changes, batched):
    cfg = GANConfig(**changes)
    assert GENERATORS[cfg.generator].batches_d_steps(cfg) is batched


def test_wide_generator_benchmark_times_every_variant():
    # A smoke test of benchmarks/wide_generator.py (a script, not a timed test): one line per
    # variant, in order, and a bad option refused in one line.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = root / "benchmarks" / "wide_generator.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}
    out = subprocess.run([sys.executable, str(script), "--hidden", "5", "--members", "3", "--epochs", "1",
                          "--rounds", "2", "--blocks", "3,2", "--fast-paths", "off,on"],
                         check=True, capture_output=True, text=True, env=env).stdout
    lines = out.strip().splitlines()
    assert [line.split(":")[0].split() for line in lines] == [
        ["block", b, "fast", "paths", p] for b in ("3", "2") for p in ("off", "on")]
    bad = subprocess.run([sys.executable, str(script), "--fast-paths", "maybe"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--fast-paths='maybe'" in bad.stderr

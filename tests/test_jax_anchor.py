"""benchmarks/jax_anchor.py, the JAX speed anchor, runs and trains the seed's shapes.

jax is an optional extra (bench); where it is absent (CI) the test skips.
"""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="the JAX anchor needs jax: pip install -c constraints.txt -e '.[bench]'")

from gancheck import GANConfig  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def _quick_compile():
    # XLA reads its flags when JAX first compiles, which is in this module's test. Without
    # optimising the generated code the two compilations take a third of the time (about 4 s
    # instead of 12 here); the test checks shapes and finiteness, not speed.
    before = os.environ.get("XLA_FLAGS")
    os.environ["XLA_FLAGS"] = " ".join(filter(None, (before, "--xla_backend_optimization_level=0")))
    yield
    if before is None:
        del os.environ["XLA_FLAGS"]
    else:
        os.environ["XLA_FLAGS"] = before


def _anchor():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "jax_anchor.py"
    spec = importlib.util.spec_from_file_location("jax_anchor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_members_two_epochs_train_the_seeds_shapes():
    anchor = _anchor()
    cfg = GANConfig()  # oracle for every size below: the seed's configuration
    members, epochs = 2, 2
    g, d, history = anchor.train(anchor.member_keys(members), epochs)
    # nn.Linear's layers, stored (in, out), one stack per member: 50 -> 5 -> 5 -> 500 and 4 -> 10 -> 10 -> 1.
    g_sizes = [cfg.g_input_size, cfg.g_hidden_size, cfg.g_hidden_size, cfg.g_output_size]
    d_sizes = [cfg.d_input_size, cfg.d_hidden_size, cfg.d_hidden_size, 1]
    for layers, sizes in ((g, g_sizes), (d, d_sizes)):
        assert [(w.shape, b.shape) for w, b in layers] == [((members, i, o), (members, o))
                                                           for i, o in zip(sizes[:-1], sizes[1:])]
    leaves = jax.tree.leaves((g, d, history))
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in leaves)
    assert history.shape == (members, epochs, 4)  # the seed's history row per epoch
    # Training moved every layer of both networks away from where it started (Adam's first steps
    # move each parameter by about the learning rate, 1e-4, far above float32 rounding here).
    start = anchor.initial(anchor.member_keys(members))
    for before, after in zip(jax.tree.leaves(start), jax.tree.leaves((g, d))):
        assert before.shape == after.shape and not np.allclose(before, after, rtol=0, atol=1e-6)
    # One member's G maps a minibatch of noise to (minibatch, 500).
    member = jax.tree.map(lambda leaf: leaf[0], g)
    noise = jax.random.uniform(jax.random.key(1), (cfg.minibatch_size, cfg.g_input_size))
    assert anchor.generate(member, noise).shape == (cfg.minibatch_size, cfg.g_output_size)

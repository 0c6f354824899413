"""The draw streams and the device training mode (the GPU's way), exercised on the CPU.

What differs on CUDA (one block of the whole population, Philox draws made on the device,
history and divergence kept there, no host synchronisation per step) runs here under
mode="device"; the tests marked ``cuda`` run the same path on a GPU (benchmarks/gpu_check.sh).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gancheck import GANConfig, fields
from gancheck.gan import philox
from gancheck.gan.device import MODE_VARIABLE, resolve_mode
from gancheck.gan.engine import DRAW_STREAMS, resolve_draws
from gancheck.gan.feed import PhiloxFeed
from gancheck.gan.population import Population, train_population

F64 = torch.float64
#: Equal to rounding: the two modes run the same float64 formulas in a different order of blocks
#: and with the constant-row test written branch-free (test_population_fast's tolerance).
TOL = 1e-12
FIELDS = ("real", "d_noise", "g_noise", "d_fake_noise", "g_fake_noise")


def _feed(configs, seeds, epochs, chunk=None, dtype=torch.float32, device="cpu"):
    # Identity features: the feed's real batches are the raw draws, comparable value by value.
    return PhiloxFeed(configs, seeds, epochs=epochs, dtype=dtype, device=device, real_features=lambda r: r,
                      feature_size=configs[0].g_output_size, chunk=chunk)


def _epochs(feed, epochs):
    """Every epoch's inputs, copied (the feed reuses its buffers)."""
    drawn = []
    for _ in range(epochs):
        inputs = feed.next()
        drawn.append({name: getattr(inputs, name).clone() for name in FIELDS if getattr(inputs, name) is not None})
    return drawn


# --------------------------------------------------------------------------- the philox feed

MIXED = GANConfig(num_epochs=3, instance_noise=0.5, minibatch_size=4, g_output_size=20, d_steps=2, g_steps=3)


def test_philox_feed_gives_each_member_its_own_stream_values():
    # Oracle: philox.normal / philox.uniform called on the member's key directly, stream by
    # stream (philox_draws' documented layout), scaled by the member's own settings.
    configs = [MIXED, MIXED.replace(noise="normal", data_mean=-1.0, data_std=3.0)]
    seeds = [4, 9]
    drawn = _epochs(_feed(configs, seeds, 3), 3)
    m, n, w = MIXED.minibatch_size, MIXED.g_output_size, MIXED.g_noise_size
    for epoch in range(3):
        sd = MIXED.instance_noise * (1 - epoch / 2)  # schedules.instance_noise_sd: linear to 0
        for s, (cfg, seed) in enumerate(zip(configs, seeds)):
            key = philox.member_keys([seed])
            draw = lambda stream, shape, f=philox.normal: f(key, philox.STREAMS[stream], epoch, shape)[0]  # noqa: E731
            noise = philox.normal if cfg.noise == "normal" else philox.uniform
            real = draw("real", (2, m, n)) * cfg.data_std + cfg.data_mean + draw("instance_real", (2, m, n)) * sd
            expected = {"real": real, "d_noise": draw("d_noise", (2, m, w), noise),
                        "g_noise": draw("g_noise", (3, m, w), noise),
                        "d_fake_noise": draw("instance_d", (2, m, n)) * sd,
                        "g_fake_noise": draw("instance_g", (3, m, n)) * sd}
            for name, value in expected.items():
                assert torch.equal(drawn[epoch][name][s], value), (epoch, s, name)


def test_a_member_draws_the_same_alone_in_a_block_of_three_and_in_any_chunk():
    configs = [MIXED, MIXED.replace(noise="normal"), MIXED.replace(data_mean=2.0)]
    seeds = [11, 12, 13]
    together = _epochs(_feed(configs, seeds, 2), 2)
    one_chunk = _epochs(_feed(configs[::-1], seeds[::-1], 2, chunk=3), 2)
    for s in range(3):
        alone = _epochs(_feed(configs[s:s + 1], seeds[s:s + 1], 2, chunk=1), 2)
        for epoch in range(2):
            for name in FIELDS:
                assert torch.equal(alone[epoch][name][0], together[epoch][name][s]), (s, epoch, name)
                assert torch.equal(one_chunk[epoch][name][2 - s], together[epoch][name][s]), (s, epoch, name)


def test_members_that_draw_alike_are_drawn_once_and_each_gets_its_own_values():
    # Three arms on seeds 5 and 6, one of them on normal noise: four distinct draws among six
    # members (oracle: each member's feed alone). Members of other targets never share.
    configs = [MIXED, MIXED, MIXED.replace(lr_schedule="constant"), MIXED.replace(lr_schedule="constant"),
               MIXED.replace(noise="normal"), MIXED.replace(noise="normal", data_mean=2.0)]
    seeds = [5, 6, 5, 6, 5, 5]
    feed = _feed(configs, seeds, 2)
    (chunk,) = feed._chunks
    assert chunk.keys.shape[0] == 4 and chunk.inverse.tolist() == [0, 1, 0, 1, 2, 3]
    together = _epochs(feed, 2)
    for s in range(len(seeds)):
        alone = _epochs(_feed(configs[s:s + 1], seeds[s:s + 1], 2), 2)
        for epoch in range(2):
            for name in FIELDS:
                assert torch.equal(alone[epoch][name][0], together[epoch][name][s]), (s, epoch, name)
    # In chunks, members share only within their chunk: [5, 6, 5] draws 2 rows, [6, 5, 5] 3.
    assert [c.keys.shape[0] for c in _feed(configs, seeds, 2, chunk=3)._chunks] == [2, 3]


@pytest.mark.slow
def test_philox_feed_compiled_draws_equal_eager_draws_and_ignore_the_company():
    pytest.importorskip("torch._inductor")
    from gancheck.gan.engine import compiler_available
    if not compiler_available():
        pytest.skip("torch.compile on the CPU needs a C++ compiler")
    cfg = GANConfig(num_epochs=2, minibatch_size=4, g_output_size=20, d_steps=2, g_steps=2)
    make = lambda compile: PhiloxFeed([cfg] * 3, [1, 2, 3], epochs=2, dtype=torch.float32, device="cpu",  # noqa: E731
                                      real_features=lambda r: r, feature_size=20, compile=compile)
    eager, compiled = _epochs(make(False), 2), _epochs(make(True), 2)
    alone = _epochs(PhiloxFeed([cfg], [2], epochs=2, dtype=torch.float32, device="cpu", real_features=lambda r: r,
                               feature_size=20, compile=True), 2)
    for epoch in range(2):
        for name in ("real", "d_noise", "g_noise"):  # compiled, every value bit for bit
            assert torch.equal(alone[epoch][name][0], compiled[epoch][name][1]), (epoch, name)
    for epoch in range(2):
        assert torch.equal(eager[epoch]["d_noise"], compiled[epoch]["d_noise"])  # uniforms: exact
        # normals: the compiled log/cos/sin may round differently in the last bit
        assert torch.allclose(eager[epoch]["real"], compiled[epoch]["real"], rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- the choices

def test_the_draw_stream_is_a_function_of_device_and_compile_only():
    assert resolve_draws("cuda", False) == resolve_draws("cuda", True) == "philox"
    assert resolve_draws("cpu", False) == "torch"
    assert resolve_draws("cpu", True) in DRAW_STREAMS


def test_the_training_mode_follows_the_device_and_the_test_switch(monkeypatch):
    monkeypatch.delenv(MODE_VARIABLE, raising=False)
    assert resolve_mode(None, torch.device("cpu")) == "host"
    assert resolve_mode(None, torch.device("cuda")) == "device"
    assert resolve_mode("device", torch.device("cpu")) == "device"
    monkeypatch.setenv(MODE_VARIABLE, "device")
    assert resolve_mode(None, torch.device("cpu")) == "device"
    for bad in ("gpu", "Host"):
        with pytest.raises(ValueError, match="mode"):
            resolve_mode(bad, torch.device("cpu"))


def test_bad_draw_stream_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="draws"):
        train_population(Population([GANConfig(num_epochs=1)], [0]), draws="numpy")


# --------------------------------------------------------------------------- training the device's way

def _train(configs, seeds, **kwargs):
    return train_population(Population(configs, seeds), n_draws=3, dtype=F64, **kwargs)


def _assert_same(a_results, b_results, tol=TOL):
    for a, b in zip(a_results, b_results):
        assert (a.seed, a.config, a.status, a.diverged_epoch, a.draw_stream) == \
               (b.seed, b.config, b.status, b.diverged_epoch, b.draw_stream)
        assert max(float(np.abs(x - y).max()) for x, y in zip(a.generator, b.generator)) < tol
        assert np.array_equal(np.isnan(a.history), np.isnan(b.history))
        assert np.nanmax(np.abs(a.history - b.history)) < tol
        assert np.abs(a.samples - b.samples).max() < tol


BASE = GANConfig(num_epochs=3)
CONFIGS = [BASE.replace(g_learning_rate=3e-4), BASE, BASE.replace(noise="normal"), BASE.replace(data_mean=1.0)]


@pytest.mark.parametrize("draws", DRAW_STREAMS)
def test_the_device_mode_trains_every_member_as_the_host_mode(draws):
    host = _train(CONFIGS, [5, 6, 7, 8], draws=draws, mode="host", block_size=2)
    device = _train(CONFIGS, [5, 6, 7, 8], draws=draws, mode="device")
    _assert_same(host, device)
    assert [r.draw_stream for r in device] == [draws] * 4


FIELD_LEVELS = [(name, level) for name, level in fields.test_levels() if not fields.BY_NAME[name].choices]


@pytest.mark.parametrize(("name", "level"), FIELD_LEVELS, ids=[f"{n}={v}" for n, v in FIELD_LEVELS])
def test_the_device_mode_trains_each_fields_test_level_as_the_host_mode(name, level):
    # Every field's declared test level (gancheck/fields.py), a new one's included, on the
    # device's way (its draws, branch-free steps) against the host's, 2 epochs.
    cfg = GANConfig(num_epochs=2, **{name: level})
    _assert_same(_train([cfg], [5], draws="philox", mode="host"), _train([cfg], [5], draws="philox", mode="device"))


def test_with_philox_a_member_trains_the_same_alone_and_in_a_block_of_three():
    (alone,) = _train(CONFIGS[2:3], [7], draws="philox", mode="device")
    together = _train(CONFIGS[1:4], [6, 7, 8], draws="philox", mode="device")
    _assert_same([alone], together[1:2])


def test_the_streams_differ_and_each_result_says_which_it_used():
    torch_result, = _train([BASE], [5], draws="torch")
    philox_result, = _train([BASE], [5], draws="philox")
    assert (torch_result.draw_stream, philox_result.draw_stream) == ("torch", "philox")
    assert np.abs(torch_result.history - philox_result.history).max() > 1e-6


@pytest.mark.parametrize("feature_set", ["moments", "sorted"])
def test_the_device_mode_records_divergence_like_the_host_mode(feature_set):
    good = GANConfig(num_epochs=3, features=feature_set)
    bad = good.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    kwargs = dict(draws="philox", n_draws=2)
    host = train_population(Population([bad, good], [0, 1]), mode="host", **kwargs)
    device = train_population(Population([bad, good], [0, 1]), mode="device", **kwargs)
    assert [r.status for r in device] == [r.status for r in host] == ["diverged", "done"]
    assert device[0].diverged_epoch == host[0].diverged_epoch
    assert np.array_equal(np.isnan(device[0].history), np.isnan(host[0].history))
    assert max(float(np.abs(x - y).max()) for x, y in zip(host[1].generator, device[1].generator)) < 1e-5


class _HostWaitCalled(AssertionError):
    pass


def test_the_device_mode_never_waits_for_the_device_inside_the_epoch_loop(monkeypatch):
    # On a GPU each of these calls waits for the device (the cuda test below checks with torch's
    # own sync debug mode). Here they are made to fail while epochs 2 to E train: from the first
    # epoch's end (warm-up: workspaces, first calls) to the last epoch's.
    epochs = 4
    state = {"epochs_done": 0}

    def on_epoch(members):
        state["epochs_done"] += 1

    def guard(name):
        original = getattr(torch.Tensor, name)

        def guarded(self, *args, **kwargs):
            if 1 <= state["epochs_done"] < epochs:
                raise _HostWaitCalled(f"Tensor.{name} inside the epoch loop")
            return original(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, guarded)

    for name in ("__bool__", "item", "tolist", "numpy", "cpu"):
        guard(name)
    cfg = GANConfig(num_epochs=epochs, minibatch_std=True)
    bad = cfg.replace(g_learning_rate=1e8, lr_schedule="constant", lr_min=0.0)
    results = train_population(Population([cfg, bad], [1, 2]), mode="device", draws="philox", on_epoch=on_epoch)
    assert state["epochs_done"] == epochs and results[1].status == "diverged"


# --------------------------------------------------------------------------- on a GPU (benchmarks/gpu_check.sh)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.cuda
@needs_cuda
def test_philox_words_and_uniforms_are_the_same_bits_on_cuda_and_normals_agree_to_rounding():
    keys = philox.member_keys(range(64))
    words_cpu = philox.random_words(keys, philox.STREAMS["real"], 7, 1000)
    assert torch.equal(words_cpu, philox.random_words(keys.cuda(), philox.STREAMS["real"], 7, 1000).cpu())
    for dtype in (torch.float32, torch.float64):
        u = philox.uniform(keys, 2, 3, (10, 50), dtype)
        assert torch.equal(u, philox.uniform(keys.cuda(), 2, 3, (10, 50), dtype).cpu())
        z = philox.normal(keys, 1, 3, (20, 10, 50), dtype)
        # log, cos and sin differ by an ulp or so between CPU and CUDA libraries: a few ulps of
        # |z| <= 5.8 (float32) or 8.6 (float64), philox's module docstring.
        tol = 1e-5 if dtype == torch.float32 else 1e-13
        assert torch.allclose(z, philox.normal(keys.cuda(), 1, 3, (20, 10, 50), dtype).cpu(), rtol=tol, atol=tol)


@pytest.mark.cuda
@needs_cuda
def test_a_population_trains_on_cuda_as_on_the_cpu_without_waiting_for_the_device():
    # float64, so that the CPU-CUDA difference is rounding only (draws agree to an ulp, see above).
    configs, seeds = CONFIGS, [5, 6, 7, 8]
    cpu = _train(configs, seeds, draws="philox", mode="device")
    done = []

    def on_epoch(members):
        # From the first epoch's end to the last's, any host synchronisation raises (torch's check).
        done.append(members)
        torch.cuda.set_sync_debug_mode("error" if len(done) < BASE.num_epochs else "default")
    try:
        cuda = train_population(Population(configs, seeds), n_draws=3, dtype=F64, device="cuda", on_epoch=on_epoch)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for a, b in zip(cpu, cuda):
        assert b.draw_stream == "philox" and a.status == b.status
        assert max(float(np.abs(x - y).max()) for x, y in zip(a.generator, b.generator)) < 1e-6

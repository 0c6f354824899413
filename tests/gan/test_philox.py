"""Philox4x32-10 draws: bit-exact against published known answers, exact conversions, statistics.

Oracles:
- Random123's known-answer vectors (tests/kat_vectors of the Random123 distribution,
  github.com/DEShawResearch/random123, the "philox4x32 7/10" and "philox4x64 10" lines) for the
  raw words;
- numpy.random.Philox, which is Philox4x64-10 (numpy offers no 4x32): it checks the plain-int
  reference below bit for bit at 64-bit words, and the reference at 32-bit words is then the
  oracle for the torch code on thousands of random inputs;
- scipy.stats (kstest, chisquare, pearsonr) for the statistical checks, each with a power control:
  the same check on Philox cut to a few rounds must reject.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from gancheck.gan import philox
from gancheck.gan.philox import member_keys, normal, random_words, uniform

# (rounds, counter, key, expected), copied from Random123's tests/kat_vectors.
KAT_4X32 = [
    (7, (0, 0, 0, 0), (0, 0), (0x5F6FB709, 0x0D893F64, 0x4F121F81, 0x4F730A48)),
    (7, (0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x5207DDC2, 0x45165E59, 0x4D8EE751, 0x8C52F662)),
    (7, (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0x4DFCCABA, 0x190A87F0, 0xC47362BA, 0xB6B5242A)),
    (10, (0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (10, (0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (10, (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
KAT_4X64 = [
    ((0, 0, 0, 0), (0, 0),
     (0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B)),
    ((2 ** 64 - 1,) * 4, (2 ** 64 - 1,) * 2,
     (0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0)),
    ((0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
     (0x452821E638D01377, 0xBE5466CF34E90C6C),
     (0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6)),
]
# Multipliers and key increments of Random123's philox.h, by word size.
CONSTANTS = {32: (0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85),
             64: (0xD2E7470EE14C6C93, 0xCA5A826395121157, 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B)}


def reference_philox(counter, key, *, bits: int, rounds: int = 10) -> tuple[int, ...]:
    """Philox4xW-R in Python integers, written from Salmon et al. (2011), independently of the
    torch code (which never forms a 64-bit product)."""
    mask = (1 << bits) - 1
    m0, m1, w0, w1 = CONSTANTS[bits]
    c, k = list(counter), list(key)
    for r in range(rounds):
        if r:
            k = [(k[0] + w0) & mask, (k[1] + w1) & mask]
        p0, p1 = m0 * c[0], m1 * c[2]
        c = [(p1 >> bits) ^ c[1] ^ k[0], p1 & mask, (p0 >> bits) ^ c[3] ^ k[1], p0 & mask]
    return tuple(c)


def torch_philox(counters, keys, rounds: int = 10) -> np.ndarray:
    """philox.philox4x32 on rows of (n, 4) counters and (n, 2) keys -> (n, 4) words."""
    c = torch.as_tensor(np.asarray(counters, dtype=np.int64))
    k = torch.as_tensor(np.asarray(keys, dtype=np.int64))
    return torch.stack(philox.philox4x32(c.unbind(1), k.unbind(1), rounds=rounds), dim=1).numpy()


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Draw on one thread, as population workers do (runs.execute.single_thread): two threads
    contending on a loaded 2-core machine made the 10^6-value draws 20x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- bit-exactness -------------------------------------------------------------------------

@pytest.mark.parametrize("rounds, counter, key, expected", KAT_4X32)
def test_torch_philox4x32_gives_random123_known_answers(rounds, counter, key, expected):
    assert tuple(torch_philox([counter], [key], rounds)[0]) == expected


@pytest.mark.parametrize("rounds, counter, key, expected", KAT_4X32)
def test_reference_gives_random123_known_answers_at_32_bits(rounds, counter, key, expected):
    assert reference_philox(counter, key, bits=32, rounds=rounds) == expected


@pytest.mark.parametrize("counter, key, expected", KAT_4X64)
def test_reference_gives_random123_known_answers_at_64_bits(counter, key, expected):
    assert reference_philox(counter, key, bits=64) == expected


def test_reference_at_64_bits_equals_numpy_philox():
    # numpy's Philox is Philox4x64-10; it adds 1 to its 256-bit counter before each block.
    rng = np.random.default_rng(20240516)
    for _ in range(50):
        counter = [int(x) for x in rng.integers(0, 2 ** 64, size=4, dtype=np.uint64)]
        key = [int(x) for x in rng.integers(0, 2 ** 64, size=2, dtype=np.uint64)]
        raw = np.random.Philox(counter=np.array(counter, np.uint64), key=np.array(key, np.uint64)).random_raw(8)
        whole = sum(word << (64 * i) for i, word in enumerate(counter))
        for block in range(2):
            nxt = (whole + 1 + block) % 2 ** 256
            words = [(nxt >> (64 * i)) & (2 ** 64 - 1) for i in range(4)]
            assert tuple(int(x) for x in raw[4 * block:4 * block + 4]) == reference_philox(words, key, bits=64)


def test_torch_philox4x32_equals_reference_on_random_inputs():
    rng = np.random.default_rng(7)
    counters = rng.integers(0, 2 ** 32, size=(2000, 4))
    keys = rng.integers(0, 2 ** 32, size=(2000, 2))
    edges = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]   # sign and carry boundaries of int32/int64
    counters[:25] = np.array(edges)[rng.integers(0, 5, size=(25, 4))]
    keys[:25] = np.array(edges)[rng.integers(0, 5, size=(25, 2))]
    expected = [reference_philox(c, k, bits=32) for c, k in zip(counters.tolist(), keys.tolist())]
    np.testing.assert_array_equal(torch_philox(counters, keys), np.array(expected))


def test_random_words_use_the_counter_layout_block_step_stream_0():
    keys = member_keys([0, 5, 99])
    words = random_words(keys, stream=3, step=2 ** 32 - 1, n_blocks=5)
    assert words.shape == (3, 4, 5) and words.dtype == torch.int64
    for s, key in enumerate(keys.tolist()):
        for b in range(5):
            assert tuple(words[s, :, b].tolist()) == reference_philox((b, 2 ** 32 - 1, 3, 0), key, bits=32)


# ---- conversions ---------------------------------------------------------------------------

def _reference_words(key, stream, step, n_blocks):
    return [reference_philox((b, step, stream, 0), key, bits=32) for b in range(n_blocks)]


def test_uniform_float32_is_top_24_bits_in_segment_layout():
    keys = member_keys([1, 2])
    values = uniform(keys, 4, 9, (2, 5))               # n = 10 -> B = 3 blocks, 4 segments
    assert values.shape == (2, 2, 5) and values.dtype == torch.float32
    for s, key in enumerate(keys.tolist()):
        words = _reference_words(key, 4, 9, 3)
        expected = [(words[i % 3][i // 3] >> 8) / 2 ** 24 for i in range(10)]
        assert values[s].flatten().tolist() == expected   # exact: k * 2^-24 is a float32


def test_uniform_float64_is_top_53_bits_of_word_pairs():
    keys = member_keys([3])
    values = uniform(keys, 0, 0, 7, torch.float64)      # n = 7 -> B = 4 blocks, 2 segments
    words = _reference_words(keys[0].tolist(), 0, 0, 4)
    expected = [(((words[i % 4][2 * (i // 4)] << 32) | words[i % 4][2 * (i // 4) + 1]) >> 11) / 2 ** 53
                for i in range(7)]
    assert values[0].tolist() == expected


def test_normal_is_box_muller_of_the_uniform_pairs():
    keys = member_keys([4, 8])
    # float32 tolerance: float32 angle 2 pi u is off by up to 4e-7, times a radius up to 5.8.
    for dtype, per_block, tol in ((torch.float32, 4, 1e-5), (torch.float64, 2, 1e-12)):
        z = normal(keys, 1, 2, 12, dtype).double()
        u = uniform(keys, 1, 2, 12, dtype).double()     # the same counters, the same uniforms
        seg = u.unflatten(1, (per_block, 12 // per_block))     # (S, segment, block)
        radius = torch.sqrt(-2 * torch.log(1 - seg[:, 0::2]))
        angle = 2 * math.pi * seg[:, 1::2]
        expected = torch.stack((radius * torch.cos(angle), radius * torch.sin(angle)), dim=2).flatten(1)
        torch.testing.assert_close(z, expected, rtol=tol, atol=tol)


def test_uniforms_reach_0_and_stop_short_of_1_and_normals_stay_finite():
    zeros, ones = torch.zeros(1, 1, dtype=torch.int64), torch.full((1, 1), 2 ** 32 - 1)
    for dtype, top in ((torch.float32, 1 - 2.0 ** -24), (torch.float64, 1 - 2.0 ** -53)):
        assert [u.item() for u in philox._uniform_segments([zeros] * 4, dtype)] == [0.0] * (4 if dtype == torch.float32 else 2)
        highest = philox._uniform_segments([ones] * 4, dtype)
        assert all(u.item() == top and u.dtype == dtype for u in highest)
        # u1 at its largest gives the largest radius, sqrt(-2 log(2^-24)) = 5.768 in float32
        # (hand computation: sqrt(48 ln 2)); log(0) never occurs.
        radius = abs(philox._box_muller(highest[:1] + [torch.zeros(1, 1, dtype=dtype)])[0].item())
        bits = 24 if dtype == torch.float32 else 53
        assert radius == pytest.approx(math.sqrt(2 * bits * math.log(2)), rel=1e-6)


def test_shapes_dtypes_and_devices():
    keys = member_keys([1, 2, 3])
    assert uniform(keys, 0, 0, ()).shape == (3,)
    assert uniform(keys, 0, 0, (0, 4)).shape == (3, 0, 4)
    assert normal(keys, 0, 0, (2, 3, 5), torch.float64).dtype == torch.float64
    assert normal(keys, 0, 0, 7).shape == (3, 7)
    assert uniform(keys, 0, 0, 5).device == keys.device


def test_a_draw_of_n_values_never_reuses_a_counter_of_another_stream_or_step():
    keys = member_keys([10])
    draws = [uniform(keys, stream, step, 64) for stream in range(3) for step in range(3)]
    values = torch.cat(draws, dim=1)
    # 9 x 64 float32 values from 24 random bits each: a repeat has probability ~ 576^2 / 2^25 = 0.01
    # if they are independent, and 1 if two draws shared counters.
    assert len(set(values.flatten().tolist())) >= values.numel() - 1


# ---- a member's draws depend on its seed only ---------------------------------------------

@pytest.mark.parametrize("draw", [uniform, normal])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_members_draw_the_same_alone_together_and_in_any_order(draw, dtype):
    seeds = [11, 7, 3]
    together = draw(member_keys(seeds), 2, 5, (3, 7), dtype)
    for i, seed in enumerate(seeds):
        assert torch.equal(draw(member_keys([seed]), 2, 5, (3, 7), dtype)[0], together[i])
    reordered = draw(member_keys(seeds[::-1]), 2, 5, (3, 7), dtype)
    assert torch.equal(reordered.flip(0), together)


def test_member_keys_are_the_seed_sequence_state():
    keys = member_keys([0, 1, 12345])
    for seed, key in zip([0, 1, 12345], keys.tolist()):
        expected = np.random.SeedSequence(seed, spawn_key=(philox.KEY_SPAWN,)).generate_state(2, np.uint32)
        assert key == expected.tolist()
    assert keys.dtype == torch.int64 and keys.shape == (3, 2)
    assert len({tuple(k) for k in member_keys(range(2000)).tolist()}) == 2000


# ---- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("call, field", [
    (lambda k: uniform(k, -1, 0, 3), "stream"),
    (lambda k: uniform(k, 2 ** 32, 0, 3), "stream"),
    (lambda k: normal(k, 0, 1.5, 3), "step"),
    (lambda k: uniform(k, 0, True, 3), "step"),
    (lambda k: uniform(k, 0, 0, (2, -1)), "shape"),
    (lambda k: uniform(k, 0, 0, 3, torch.float16), "dtype"),
    (lambda k: uniform(k.to(torch.int32), 0, 0, 3), "keys"),
    (lambda k: uniform(k[0], 0, 0, 3), "keys"),
    (lambda k: random_words(k, 0, 0, 2 ** 32 + 1), "n_blocks"),
    (lambda k: member_keys([-1]), "seed"),
    (lambda k: member_keys([2.0]), "seed"),
])
def test_bad_input_is_a_value_error_naming_the_field(call, field):
    with pytest.raises(ValueError, match=f"^{field}="):
        call(member_keys([1, 2]))


# ---- compiled (inductor) equals eager ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not __import__("gancheck.gan.engine", fromlist=["x"]).compiler_available(),
                    reason="torch.compile on the CPU needs a C++ compiler")
def test_compiled_draws_equal_eager_draws():
    # Guards the workaround in philox._words: without it inductor's arange folding gave wrong
    # words from block 3 on. Words and uniforms are bit-exact; normals go through log, cos and
    # sin, whose vectorised compiled versions may differ from eager ones by float rounding.
    keys = member_keys(range(5))

    def draws(keys):
        return random_words(keys, 1, 7, 37), normal(keys, 3, 7, (4, 25))

    (words, z), (eager_words, eager_z) = torch.compile(draws)(keys), draws(keys)
    assert torch.equal(words, eager_words)
    torch.testing.assert_close(z, eager_z, rtol=1e-6, atol=1e-6)


# ---- statistics ----------------------------------------------------------------------------

def _pair_chisquare_pvalue(u: np.ndarray, bins: int = 16) -> float:
    """Chi-square of 2-D bins of consecutive non-overlapping pairs (u[2i], u[2i+1]) of each row."""
    counts = np.histogram2d(u[:, 0::2].ravel(), u[:, 1::2].ravel(), bins=bins, range=[[0, 1], [0, 1]])[0]
    return stats.chisquare(counts.ravel()).pvalue


def _adjacent_rows_pvalue(x: np.ndarray) -> float:
    """KS against U(0, 1) of the Pearson p-values of rows r and r + 1: uniform if the rows are
    uncorrelated (each p is exact under independent normal-ish rows at this n)."""
    pvalues = [stats.pearsonr(x[r], x[r + 1]).pvalue for r in range(len(x) - 1)]
    return stats.kstest(pvalues, "uniform").pvalue


@pytest.fixture
def weakened(monkeypatch):
    """Cut Philox to a few rounds inside uniform/normal: the power control of each check."""
    full = philox.philox4x32
    return lambda rounds: monkeypatch.setattr(philox, "philox4x32", functools.partial(full, rounds=rounds))


ALPHA = 1e-3   # fixed seeds make each check deterministic; 1e-3 keeps a false alarm rare.


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ks_of_a_million_uniforms_and_normals(dtype, weakened):
    keys = member_keys(range(100))
    u = uniform(keys, 0, 0, 10_000, dtype).numpy().ravel()
    z = normal(keys, 1, 0, 10_000, dtype).numpy().ravel()
    assert stats.kstest(u, "uniform").pvalue > ALPHA
    assert stats.kstest(z, "norm").pvalue > ALPHA
    weakened(2)   # power control: 2 rounds are visibly non-uniform
    assert stats.kstest(uniform(keys, 0, 0, 10_000, dtype).numpy().ravel(), "uniform").pvalue < ALPHA


@pytest.mark.slow
def test_consecutive_pairs_fill_2d_bins_evenly(weakened):
    keys = member_keys(range(100))
    assert _pair_chisquare_pvalue(uniform(keys, 0, 3, 10_000).numpy()) > ALPHA
    # The pair Box-Muller uses: segment 0 and segment 1 of the same blocks.
    u = uniform(keys, 0, 3, 10_000).numpy().reshape(100, 4, 2500)
    within = np.stack((u[:, 0], u[:, 1]), axis=-1).reshape(100, -1)
    assert _pair_chisquare_pvalue(within) > ALPHA
    weakened(4)   # power control: measured p < 1e-300 at 4 rounds, 1e-3 at 5, 0.5 at 6, 0.63 at 10
    assert _pair_chisquare_pvalue(uniform(keys, 0, 3, 10_000).numpy()) < ALPHA


@pytest.mark.slow
def test_adjacent_members_streams_and_steps_are_uncorrelated(weakened):
    keys = member_keys(range(200))
    z = normal(keys, 1, 0, 5_000).numpy()
    assert _adjacent_rows_pvalue(z) > ALPHA                             # members s, s + 1
    by_stream = np.stack([normal(keys[:1], stream, 0, 5_000)[0].numpy() for stream in range(200)])
    assert _adjacent_rows_pvalue(by_stream) > ALPHA                     # streams k, k + 1
    by_step = np.stack([uniform(keys[:1], 2, step, 5_000)[0].numpy() for step in range(200)])
    assert _adjacent_rows_pvalue(by_step) > ALPHA                       # steps t, t + 1
    weakened(2)   # power control: at 2 rounds adjacent members' draws are correlated
    assert _adjacent_rows_pvalue(uniform(keys, 2, 0, 5_000).numpy()) < ALPHA

"""Counter-based draws: Philox4x32-10 in torch integer operations, for a whole population at once.

Every value a member draws is a pure function of (member key, stream, step, index), so a
population draws in one batched call on whatever device its keys live on, and a member's values
never depend on which other members share the call, on their order, or on the device.

Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3",
SC'11; the Random123 library) maps a 128-bit counter and a 64-bit key to 128 random bits. It is
the generator behind cuRAND's and torch's CUDA draws. Here each 32-bit word is held in an int64
tensor (torch 2.13 has no shift or add for uint32), and each 32x32 -> 64-bit product of a round is
formed without signed overflow (see _mulhilo), so the bits are the same on any device or compiler.

Counter layout, per member (its key: 2 words from its seed, see ``member_keys``):

    counter = (block, step, stream, 0)

``block`` numbers the 128-bit blocks of one draw, ``step`` is the training step (the epoch),
``stream`` names what is drawn (``STREAMS``). A draw of n values (C order over ``shape``) uses
blocks 0 .. B - 1, B = ceil(n / per_block), and per_block values of each block: 4 for float32
(one word each), 2 for float64 (two words each). Values are laid out by segment: value i is
value i // B of block i % B, so that each of a block's values is written to a contiguous run
(this is what lets a compiled kernel store whole vectors). Counter word 3 is left 0, reserved
(e.g. for a sub-step or more stream bits). A distinct (stream, step) never reuses a counter.

Conversions are exact where they can be: uniforms are k * 2^-24 (float32, from the top 24 bits
of a word) or k * 2^-53 (float64, top 53 bits of two words, numpy's convention), in [0, 1): 0 is
possible, 1 is not. Normals use Box-Muller on pairs, with 1 - u in (0, 1] inside the log so that
log(0) never occurs; the largest |z| is sqrt(2 * 24 * ln 2) = 5.77 in float32 (a tail of
probability 8e-9 is cut) and 8.57 in float64. Raw words and uniforms are the same bits on every
device; normals go through log, cos and sin, whose float implementations differ by an ulp or so
between CPU and CUDA libraries, so normals agree across devices to within float rounding only.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from gancheck.gan.draws import check_seed

MASK32 = 0xFFFFFFFF
#: Philox4x32 round multipliers and Weyl key increments (Random123, philox.h).
PHILOX_M0, PHILOX_M1 = 0xD2511F53, 0xCD9E8D57
PHILOX_W0, PHILOX_W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10

#: SeedSequence spawn key of a member's Philox key. draws.member_generator uses 0, 1, 2 for its
#: torch generators; 3 keeps the Philox key unrelated to those seeds.
KEY_SPAWN = 3

#: Stream ids (counter word 2): the single definition of what each stream draws. Part of the
#: reproducibility contract: renumbering changes every draw, so new streams take new numbers.
#: "init" is reserved (initial weights stay on the member's torch generator, draws.initial_parameters);
#: the instance-noise streams are drawn only when a config asks for instance noise, "real_pick"
#: (a mixture target's component picks) only for a mixture target. Ids from 2^31 up belong to the
#: transforms of D's input, one each (gancheck.gan.d_input.stream_id).
STREAMS = {"init": 0, "real": 1, "d_noise": 2, "g_noise": 3, "sample": 4,
           "instance_real": 5, "instance_d": 6, "instance_g": 7, "real_pick": 8}

_DTYPES = (torch.float32, torch.float64)


def member_keys(seeds: Sequence[int], device: torch.device | str | None = None) -> torch.Tensor:
    """(S, 2) int64 Philox keys, one row of two 32-bit words per seed.

    Each key is numpy's SeedSequence(seed, spawn_key=(KEY_SPAWN,)) state, computed on the host
    once per member: nearby seeds give unrelated keys, as in draws.member_generator.
    """
    seeds = [check_seed(seed) for seed in seeds]
    words = [np.random.SeedSequence(seed, spawn_key=(KEY_SPAWN,)).generate_state(2, np.uint32)
             for seed in seeds]
    keys = np.array(words, dtype=np.int64).reshape(len(seeds), 2)
    return torch.from_numpy(keys).to(device)


def _mulhilo(a: torch.Tensor, multiplier: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32-bit words of a * multiplier, for 32-bit a held in int64.

    a * m overflows int64 when m >= 2^31, so write m = (m - 2^32) + 2^32: p = a * (m - 2^32)
    fits in int64 (|m - 2^32| < 2^31), has the low word of a * m, and a * m = p + a * 2^32.
    No intermediate overflows, so the result is exact on every device and compiler.
    """
    p = a * (multiplier - 2 ** 32)
    return (p >> 32) + a, p & MASK32


def philox4x32(counter: Sequence[torch.Tensor], key: Sequence[torch.Tensor],
               rounds: int = ROUNDS) -> tuple[torch.Tensor, ...]:
    """Philox4x32-R of 4 counter words and 2 key words (int64 tensors holding 32-bit values,
    broadcast against each other). Returns the 4 output words, as Random123's philox4x32_R."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(rounds):
        if r:  # Random123 bumps the key before every round but the first
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        hi0, lo0 = _mulhilo(c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _check_keys(keys) -> None:
    if not isinstance(keys, torch.Tensor) or keys.dtype != torch.int64 or keys.dim() != 2 \
            or keys.shape[1] != 2:
        raise ValueError(f"keys={keys!r}: must be an (S, 2) int64 tensor (see member_keys)")


def _check_word(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= MASK32:
        raise ValueError(f"{name}={value!r}: must be an integer in [0, 2^32)")
    return int(value)


def _check_step(step):
    """An int step is checked here; a 0-d int64 tensor (so that a compiled caller does not
    recompile for every step) is taken as it is: its caller keeps it in [0, 2^32)."""
    if isinstance(step, torch.Tensor):
        if step.dtype != torch.int64 or step.dim() != 0:
            raise ValueError(f"step={step!r}: a tensor step must be a 0-d int64 tensor")
        return step
    return _check_word("step", step)


def _check_shape(shape) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0 for d in shape):
        raise ValueError(f"shape={shape!r}: must be non-negative integers")
    return tuple(int(d) for d in shape)


def _check_dtype(dtype) -> None:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype={dtype!r}: must be torch.float32 or torch.float64")


def random_words(keys: torch.Tensor, stream: int, step: int, n_blocks: int) -> torch.Tensor:
    """(S, 4, n_blocks) raw 32-bit words (int64): [s, j, b] is word j of Philox4x32-10 of
    counter (b, step, stream, 0) under member s's key."""
    _check_keys(keys)
    stream, step = _check_word("stream", stream), _check_step(step)
    if n_blocks - 1 > MASK32:
        raise ValueError(f"n_blocks={n_blocks!r}: at most 2^32 blocks per draw")
    return torch.stack(_words(keys, stream, step, n_blocks), dim=1)


def _words(keys, stream, step, n_blocks) -> list[torch.Tensor]:
    # The mask changes no value: it keeps inductor from folding block * multiplier into an
    # arange whose step it multiplies in 32-bit int (torch 2.13's Vectorized<int64_t>::arange
    # overflows from the 4th lane on), which gave wrong words from block 3 on when compiled.
    block = (torch.arange(n_blocks, dtype=torch.int64, device=keys.device) & MASK32).unsqueeze(0)
    fixed = [word.to(keys.device).reshape(1, 1) if isinstance(word, torch.Tensor)
             else torch.full((1, 1), word, dtype=torch.int64, device=keys.device) for word in (step, stream, 0)]
    words = philox4x32((block, *fixed), (keys[:, 0:1], keys[:, 1:2]))
    return list(torch.broadcast_tensors(*words))


def _uniform_segments(words: list[torch.Tensor], dtype: torch.dtype) -> list[torch.Tensor]:
    """4 (S, B) words -> exact dyadic uniforms in [0, 1): 4 segments of k * 2^-24 for float32
    (top 24 bits of each word), 2 of k * 2^-53 for float64 (top 53 bits of the 64-bit integers
    w0 * 2^32 + w1 and w2 * 2^32 + w3, numpy's convention)."""
    if dtype == torch.float32:
        return [(w >> 8).to(torch.float32) * 2.0 ** -24 for w in words]
    return [((hi << 21) | (lo >> 11)).to(torch.float64) * 2.0 ** -53
            for hi, lo in (words[0:2], words[2:4])]


def _box_muller(segments: list[torch.Tensor]) -> list[torch.Tensor]:
    """Pairs of uniform segments (u1, u2) -> pairs of normal segments (r cos t, r sin t),
    r = sqrt(-2 log(1 - u1)), t = 2 pi u2. 1 - u1 is in (0, 1] and exact, so log(0) never occurs."""
    normals = []
    for u1, u2 in zip(segments[0::2], segments[1::2]):
        radius = torch.sqrt(-2.0 * torch.log(1.0 - u1))
        angle = (2.0 * math.pi) * u2
        normals += [radius * torch.cos(angle), radius * torch.sin(angle)]
    return normals


def _draw(keys, stream, step, shape, dtype, convert) -> torch.Tensor:
    _check_keys(keys)
    stream, step = _check_word("stream", stream), _check_step(step)
    shape = _check_shape(shape)
    _check_dtype(dtype)
    n = math.prod(shape)
    per_block = 4 if dtype == torch.float32 else 2
    n_blocks = -(-n // per_block)
    if n_blocks - 1 > MASK32:
        raise ValueError(f"shape={shape!r}: at most 2^32 blocks ({per_block * 2 ** 32} values) per draw")
    segments = convert(_uniform_segments(_words(keys, stream, step, n_blocks), dtype))
    return torch.cat(segments, dim=1)[:, :n].reshape(keys.shape[0], *shape)


def uniform(keys: torch.Tensor, stream: int, step: int | torch.Tensor, shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(S, *shape) U[0, 1) values: k * 2^-24 (float32) or k * 2^-53 (float64), 0 possible, 1 not."""
    return _draw(keys, stream, step, shape, dtype, lambda segments: segments)


def normal(keys: torch.Tensor, stream: int, step: int | torch.Tensor, shape, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(S, *shape) standard normals, by Box-Muller on pairs of ``uniform`` segments."""
    return _draw(keys, stream, step, shape, dtype, _box_muller)

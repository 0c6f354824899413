"""Each epoch's random inputs for a block of members, from one of two draw streams.

``EpochFeed`` ("torch" stream) draws member by member from each member's own torch generator
(gancheck.gan.draws.draw_epoch), on the host. ``PhiloxFeed`` ("philox" stream) draws whole
chunks of members at once with gancheck.gan.philox_draws, on the training device. Either way a
member's numbers depend only on (config, seed). Two things make EpochFeed cheaper than drawing
everything and moving it:

- **Real features on the host.** Real data never depends on the parameters, so on the CPU a
  member's real batch is turned into discriminator features right after it is drawn, while it
  is still in cache (FEATURE_CHUNK members at a time); only the features (4 numbers per
  vector for the seed) are kept, not the
  100,000 real values per member-epoch. On another device the real data is moved there and
  the trainer computes the features itself (``host_features=False``; the same function).
- **A background thread.** Drawing does not depend on training either, so with ``thread=True``
  the next epoch is drawn while the current one trains (two sets of buffers, used in turn).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from gancheck.config import GANConfig
from gancheck.gan import philox_draws
from gancheck.gan.draws import EpochDraws, draw_epoch, empty_draws, member_generator
from gancheck.gan.philox import member_keys
from gancheck.gan.schedules import instance_noise_sd
from gancheck.gan.subnormals import flush_subnormals
from gancheck.gan.target_draws import real_law


#: Members whose real data is drawn, then turned into features, together: few enough that the
#: data (400 kB a member for the seed) is still in cache, enough to amortise each call.
FEATURE_CHUNK = 8


@dataclass
class EpochInputs:
    """One epoch's inputs for S members, on the training device.

    ``real`` is (S, d_steps, minibatch, F): features of the real batches when the feed computed
    them (``featurised``), else the raw real data (F = n)."""
    real: torch.Tensor
    d_noise: torch.Tensor   # (S, d_steps, minibatch, g_noise_size)
    g_noise: torch.Tensor   # (S, g_steps, minibatch, g_noise_size)
    featurised: bool
    d_fake_noise: torch.Tensor | None = None  # (S, d_steps, minibatch, n): instance noise, if any
    g_fake_noise: torch.Tensor | None = None  # (S, g_steps, minibatch, n)


class EpochFeed:
    """Iterates over epochs: ``next()`` returns the next epoch's EpochInputs.

    ``real_features`` maps real data (members, d_steps, minibatch, n) to features
    (members, d_steps, minibatch, F); it is used when ``host_features`` and must be safe to call
    from several threads at once. Buffers are reused: a returned EpochInputs is valid until the
    next call to ``next()``.

    ``threads``: 0 draws each epoch when it is asked for; n >= 1 draws the next epoch on n
    background threads (members split between them) while the current one trains.
    """

    def __init__(self, configs: Sequence[GANConfig], seeds: Sequence[int], *, epochs: int, dtype, device,
                 real_features: Callable[[torch.Tensor], torch.Tensor], feature_size: int,
                 host_features: bool, threads: int = 0):
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads={threads!r}: must be a non-negative integer")
        cfg = configs[0]
        S, m = len(seeds), cfg.minibatch_size
        self.configs, self.dtype, self.device = list(configs), dtype, torch.device(device)
        self.real_features, self.host_features = real_features, host_features
        self.streams = [member_generator(seed, "train") for seed in seeds]
        self.epochs = epochs
        # Members split into one contiguous range per thread, each with its own scratch.
        parts = max(1, min(threads, S))
        self._ranges = [(S * i // parts, S * (i + 1) // parts) for i in range(parts)]
        self._scratch = [torch.empty(min(hi - lo, FEATURE_CHUNK), cfg.d_steps, m, cfg.g_output_size, dtype=dtype)
                         for lo, hi in self._ranges]
        self._sets = []
        for _ in range(2 if threads else 1):
            draws = empty_draws(cfg, dtype, (S,))
            real = torch.empty(S, cfg.d_steps, m, feature_size, dtype=dtype) if host_features else draws.real
            self._sets.append(EpochInputs(real, draws.d_noise, draws.g_noise, host_features,
                                          draws.d_fake_noise, draws.g_fake_noise))
        # Draw threads flush subnormals as the training thread does (gancheck.gan.subnormals).
        self._pool = (ThreadPoolExecutor(parts, thread_name_prefix="gancheck-draws", initializer=flush_subnormals)
                      if threads else None)
        self._pending: list[Future] = []
        self._turn = 0

    def _fill(self, turn: int, part: int) -> None:
        """Draw members of range ``part`` for epoch ``turn`` into that epoch's buffers."""
        buffers, scratch = self._sets[turn % len(self._sets)], self._scratch[part]
        lo_part, hi_part = self._ranges[part]
        chunk = scratch.shape[0]
        member = lambda t, s: None if t is None else t[s]  # noqa: E731
        for lo in range(lo_part, hi_part, chunk):
            hi = min(lo + chunk, hi_part)
            for s in range(lo, hi):
                real = scratch[s - lo] if self.host_features else buffers.real[s]
                draw_epoch(self.configs[s], self.streams[s], self.dtype, epoch=turn,
                           out=EpochDraws(real, buffers.d_noise[s], buffers.g_noise[s],
                                          member(buffers.d_fake_noise, s), member(buffers.g_fake_noise, s)))
            if self.host_features:
                buffers.real[lo:hi] = self.real_features(scratch[:hi - lo])

    def _submit(self, turn: int) -> list[Future]:
        return [self._pool.submit(self._fill, turn, part) for part in range(len(self._ranges))]

    def next(self) -> EpochInputs:
        if self._turn >= self.epochs:
            raise ValueError(f"EpochFeed: all {self.epochs} epochs were drawn already")
        if self._pool is None:
            self._fill(self._turn, 0)
        else:
            for future in self._pending or self._submit(self._turn):
                future.result()
            self._pending = self._submit(self._turn + 1) if self._turn + 1 < self.epochs else []
        buffers = self._sets[self._turn % len(self._sets)]
        self._turn += 1
        if self.device.type == "cpu":
            return buffers
        move = lambda t: None if t is None else t.to(self.device, non_blocking=True)  # noqa: E731
        return EpochInputs(move(buffers.real), move(buffers.d_noise), move(buffers.g_noise), buffers.featurised,
                           move(buffers.d_fake_noise), move(buffers.g_fake_noise))

    def close(self) -> None:
        """Stop the background threads; draws already under way are finished and dropped."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool, self._pending = None, []


#: Off the CPU, members drawn in one Philox call: up to this many values in the call's biggest
#: draw (its int64 words and temporaries take ~30 bytes a value: ~4 GB), few enough calls that
#: launching them costs little against the epoch's training.
DEVICE_DRAW_VALUES = 2 ** 27


def _what_each_draws(seeds: Sequence[int], columns: dict[str, torch.Tensor]) -> list[tuple]:
    """What each member's draws are a function of: its seed and its philox_draws.member_columns
    (its target's location and scale, its noise), on the host. Arms of one population share
    seeds, so a population often holds the same draws several times."""
    values = {name: column.reshape(-1).tolist() for name, column in sorted(columns.items())}
    return [(seed, *(column[s] for column in values.values())) for s, seed in enumerate(seeds)]


@dataclass
class _Chunk:
    """Members lo .. hi - 1 of a PhiloxFeed, drawn in one call: the keys and columns of the rows
    drawn, and, where members of the chunk draw the same numbers, which row each member takes."""
    lo: int
    hi: int
    keys: torch.Tensor
    columns: dict[str, torch.Tensor]
    kinds: frozenset
    inverse: torch.Tensor | None  # None: one row per member

    @classmethod
    def of(cls, configs: Sequence[GANConfig], draws: Sequence[tuple], lo: int, hi: int, keys: torch.Tensor,
           columns: dict[str, torch.Tensor]) -> "_Chunk":
        """``draws``: what each member's draws depend on (_what_each_draws); members
        with equal ones share a row."""
        first: dict[tuple, int] = {}
        for s in range(lo, hi):
            first.setdefault(draws[s], s)
        kinds = frozenset(configs[s].noise for s in first.values())
        if len(first) == hi - lo:
            return cls(lo, hi, keys[lo:hi], {name: c[lo:hi] for name, c in columns.items()}, kinds, None)
        rows = torch.tensor(list(first.values()), device=keys.device)
        row_of = {key: i for i, key in enumerate(first)}
        inverse = torch.tensor([row_of[draws[s]] for s in range(lo, hi)], device=keys.device)
        return cls(lo, hi, keys[rows], {name: c[rows] for name, c in columns.items()}, kinds, inverse)

    def put(self, target: torch.Tensor, values: torch.Tensor) -> None:
        """Write the chunk's drawn ``values`` (one per row) into its members' part of ``target``."""
        if self.inverse is None:
            target[self.lo:self.hi] = values
        else:
            torch.index_select(values, 0, self.inverse, out=target[self.lo:self.hi])


class PhiloxFeed:
    """Iterates over epochs like EpochFeed, drawing with Philox on the training device.

    Members are drawn ``chunk`` at a time (on the CPU: the whole block; elsewhere: as many as
    DEVICE_DRAW_VALUES allows); members of a chunk that draw the same numbers (the same seed,
    target and noise) are drawn once, and the features of their real data computed once. Real
    data is always turned into features here (``featurised``). A member's values do not depend
    on its chunk (philox_draws), so neither on its company nor on the device, bit
    for bit for uniforms; normals to within the float rounding of log, cos and sin across devices.
    No host synchronisation: the epoch travels to the draws as a device tensor. ``compile`` runs
    the draws through torch.compile (one graph per number of rows drawn). A returned EpochInputs is valid
    until the next call to ``next()``.
    """

    def __init__(self, configs: Sequence[GANConfig], seeds: Sequence[int], *, epochs: int, dtype, device,
                 real_features: Callable[[torch.Tensor], torch.Tensor], feature_size: int,
                 chunk: int | None = None, compile: bool = False):
        cfg = self.cfg = configs[0]
        S, m, w, n = len(seeds), cfg.minibatch_size, cfg.g_noise_size, cfg.g_output_size
        self.device, self.dtype, self.epochs, self.real_features = torch.device(device), dtype, epochs, real_features
        self.keys = member_keys(seeds, self.device)
        host_columns = philox_draws.member_columns(configs, "cpu", dtype)
        self.columns = {name: column.to(self.device) for name, column in host_columns.items()}
        self.law = real_law(cfg, dtype, self.device)  # the target is part of the shape: one for all
        if chunk is None:
            # On the CPU the whole block in one call: one compiled graph per block size rather
            # than one per chunk size (a 20-member block in chunks of 8 compiled two of each),
            # and measured as fast (0.27 to 0.29 ms a member-epoch for the seed's shape at 20
            # and 47 members, against 0.30 and 0.31 in chunks of 8). A member's values do not
            # depend on its chunk, bit for bit.
            per_member = cfg.d_steps * m * max(n, w)
            chunk = S if self.device.type == "cpu" else max(1, DEVICE_DRAW_VALUES // per_member)
        draws = _what_each_draws(seeds, host_columns)
        self._chunks = [_Chunk.of(configs, draws, lo, min(lo + chunk, S), self.keys, self.columns)
                        for lo in range(0, S, chunk)]
        if compile:
            from gancheck.gan.engine import allow_recompiles
            allow_recompiles()
        self._draw = torch.compile(philox_draws.draw_epoch, dynamic=False) if compile else philox_draws.draw_epoch
        like = dict(dtype=dtype, device=self.device)
        instance = cfg.instance_noise > 0
        self._inputs = EpochInputs(
            real=torch.empty(S, cfg.d_steps, m, feature_size, **like),
            d_noise=torch.empty(S, cfg.d_steps, m, w, **like), g_noise=torch.empty(S, cfg.g_steps, m, w, **like),
            featurised=True,
            d_fake_noise=torch.empty(S, cfg.d_steps, m, n, **like) if instance else None,
            g_fake_noise=torch.empty(S, cfg.g_steps, m, n, **like) if instance else None)
        # Every epoch's step and instance-noise sd, made on the host once: none is copied per epoch.
        self._steps = torch.arange(epochs, dtype=torch.int64, device=self.device)
        self._sds = torch.tensor([instance_noise_sd(cfg, e) for e in range(epochs)], **like)
        self._turn = 0

    def next(self) -> EpochInputs:
        if self._turn >= self.epochs:
            raise ValueError(f"PhiloxFeed: all {self.epochs} epochs were drawn already")
        step, sd, out = self._steps[self._turn], self._sds[self._turn], self._inputs
        for chunk in self._chunks:
            draws = self._draw(self.cfg, chunk.keys, chunk.columns, chunk.kinds, step, sd, self.dtype, self.law)
            chunk.put(out.real, self.real_features(draws.real))
            chunk.put(out.d_noise, draws.d_noise)
            chunk.put(out.g_noise, draws.g_noise)
            if out.d_fake_noise is not None:
                chunk.put(out.d_fake_noise, draws.d_fake_noise)
                chunk.put(out.g_fake_noise, draws.g_fake_noise)
        self._turn += 1
        return out

    def close(self) -> None:
        """Nothing runs in the background; for EpochFeed's interface."""

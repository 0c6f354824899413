"""Member-epochs per second of a wide G (the one-factor design's H = 200 arm), A against B in one process.

    python benchmarks/wide_generator.py [--hidden 200] [--members 20] [--epochs 10] [--rounds 4]
                                        [--blocks 20,5,4] [--fast-paths on,off]

Every variant (each block size x each fast-path setting) trains the same population once per
round, in alternating order (the second round runs them backwards, and so on), one torch thread
and glibc set up as a run's worker sets them (gancheck.runs.workers.single_thread); a variant's
figure is its median of CPU seconds over the rounds, and each ratio is against the first
variant, from the same rounds. ``--fast-paths off`` switches off the eager trainer's wide-G
paths (weight gradients written in place, gancheck.gan.stacked.DIRECT_WEIGHT_GRAD_VALUES; the
per-epoch finite check in two reductions, epoch_record.finite_rows; the D steps' batches made in
one forward pass, GeneratorKind.batches_d_steps): what the trainer did before them, with the
same bits. A block size other than the population's changes bits (see
gancheck.gan.population), so it is timed here only to show what it would buy.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from gancheck import GANConfig
from gancheck.gan import epoch_record
from gancheck.gan import stacked
from gancheck.gan.generators import GeneratorKind
from gancheck.gan.population import Population, train_population
from gancheck.runs.workers import single_thread


def _fast_paths(on: bool, saved=(stacked.DIRECT_WEIGHT_GRAD_VALUES, epoch_record.finite_rows,
                                 GeneratorKind.batches_d_steps)) -> None:
    stacked.DIRECT_WEIGHT_GRAD_VALUES = saved[0] if on else np.iinfo(np.int64).max
    epoch_record.finite_rows = saved[1] if on else (lambda t: torch.isfinite(t).all(dim=1))
    GeneratorKind.batches_d_steps = saved[2] if on else (lambda kind, cfg: False)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=200, help="G's hidden size (default 200)")
    parser.add_argument("--members", type=int, default=20, help="population size (default 20, an arm's seeds)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per timed run (default 10)")
    parser.add_argument("--rounds", type=int, default=4, help="timed rounds (default 4)")
    parser.add_argument("--blocks", default="", help="block sizes, comma-separated (default: the trainer's)")
    parser.add_argument("--fast-paths", default="on", help="on, off or both as on,off (default on)")
    args = parser.parse_args(argv)
    blocks = [int(b) for b in args.blocks.split(",")] if args.blocks else [None]
    paths = args.fast_paths.split(",")
    if any(p not in ("on", "off") for p in paths):
        parser.error(f"--fast-paths={args.fast_paths!r}: each must be on or off")
    single_thread()
    cfg = GANConfig(g_hidden_size=args.hidden, num_epochs=args.epochs)
    population = Population([cfg] * args.members, list(range(args.members)))
    train_population(Population([cfg], [0]))  # warm-up: first calls, allocator
    variants = [(b, p) for b in blocks for p in paths]
    cpu = {v: [] for v in variants}
    for r in range(args.rounds):
        for block, path in variants if r % 2 == 0 else variants[::-1]:
            _fast_paths(path == "on")
            start = time.process_time()
            train_population(population, block_size=block)
            cpu[block, path].append(time.process_time() - start)
    _fast_paths(True)
    first = statistics.median(cpu[variants[0]])
    member_epochs = args.members * args.epochs
    for block, path in variants:
        s = statistics.median(cpu[block, path])
        print(f"block {block or 'default':>7}  fast paths {path:3}: {1000 * s / member_epochs:6.2f} ms a member-epoch, "
              f"{member_epochs / s:6.1f} member-epochs/s, speed-up over the first {first / s:.3f} "
              f"(CPU s per round: {', '.join(f'{x:.2f}' for x in cpu[block, path])})")


if __name__ == "__main__":
    main()
